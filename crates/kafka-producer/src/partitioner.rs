//! Partition choice: Java-compatible murmur2, librdkafka's `consistent`
//! (CRC-32) family, random, round robin and the sticky partitioner.
//!
//! A record with a null key is sticky (KIP-480) under every partitioner but
//! `random` and `round_robin`, as in librdkafka's `rd_kafka_msg_partitioner`;
//! `consistent_random` also treats an empty key as no key. Hashing an empty
//! key with `consistent` gives `crc32("") = 0`, so partition 0.
//!
//! # References
//! - `org.apache.kafka.clients.producer.internals.BuiltInPartitioner` (KIP-794)
//! - KIP-480 (sticky partitioner)
//! - librdkafka `src/rdkafka_msg.c`: `rd_kafka_msg_partitioner_consistent`,
//!   `_consistent_random`, `_murmur2_random`, `rd_kafka_msg_sticky_partition`

use kafka_wire::murmur2::{murmur2, to_positive};

use crate::config::Partitioner;

/// What the partitioner decided for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    /// This partition.
    Fixed(u32),
    /// The topic's sticky partition.
    Sticky,
    /// A fresh random partition.
    Random,
    /// The topic's next round-robin partition.
    RoundRobin,
}

/// Decides how to place a keyed or keyless record among `n > 0` partitions
/// (the count as a precomputed [`Modulus`]).
#[inline]
pub(crate) fn choose(p: Partitioner, key: Option<&[u8]>, n: Modulus) -> Choice {
    match p {
        Partitioner::Random => Choice::Random,
        Partitioner::RoundRobin => Choice::RoundRobin,
        Partitioner::Consistent => match key {
            None => Choice::Sticky,
            Some(k) => Choice::Fixed(n.reduce(crc32(k))),
        },
        Partitioner::ConsistentRandom => match key {
            None | Some([]) => Choice::Sticky,
            Some(k) => Choice::Fixed(n.reduce(crc32(k))),
        },
        Partitioner::Murmur2 | Partitioner::Murmur2Random => match key {
            None => Choice::Sticky,
            Some(k) => Choice::Fixed(n.reduce(to_positive(murmur2(k)))),
        },
    }
}

/// `x % n` for a fixed `n`, by a multiplication instead of a division
/// (Lemire, Kaser and Kurz, "Faster remainder by direct computation",
/// 2019): exact for every `u32` `x`. `n == 0` gives 0, as
/// `partition_for_key` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Modulus {
    n: u32,
    /// `ceil(2^64 / n)`, wrapped (0 for `n` of 0 or 1).
    m: u64,
}

impl Modulus {
    pub(crate) fn new(n: u32) -> Self {
        let m = match n {
            0 => 0,
            n => (u64::MAX / u64::from(n)).wrapping_add(1),
        };
        Self { n, m }
    }

    /// The modulus.
    #[inline]
    pub(crate) fn n(self) -> u32 {
        self.n
    }

    #[inline]
    pub(crate) fn reduce(self, x: u32) -> u32 {
        let low = self.m.wrapping_mul(u64::from(x));
        ((u128::from(low) * u128::from(self.n)) >> 64) as u32
    }
}

const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32` and librdkafka's
/// `rd_crc32`).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = CRC32_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

/// A small deterministic generator (xorshift64*), seeded by configuration so
/// runs are reproducible; not for anything secret.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        ((self.next_u64() >> 32) % u64::from(n.max(1))) as u32
    }
}

/// Picks a random partition among `available` (partitions with a leader),
/// or among all `n` when none is available, avoiding `avoid` when there is
/// another choice (the sticky partitioner switches away from the partition
/// whose batch just closed).
pub(crate) fn random_partition(
    rng: &mut Rng,
    n: u32,
    available: &[u32],
    avoid: Option<u32>,
) -> u32 {
    let pick_from = |rng: &mut Rng, len: u32, at: &dyn Fn(u32) -> u32| -> u32 {
        let first = at(rng.below(len));
        match avoid {
            Some(a) if first == a && len > 1 => {
                // Skip over `avoid` by drawing among the others.
                let i = rng.below(len - 1);
                let cand = at(i);
                if cand == a {
                    at(len - 1)
                } else {
                    cand
                }
            }
            _ => first,
        }
    };
    if available.is_empty() {
        pick_from(rng, n.max(1), &|i| i)
    } else {
        pick_from(rng, available.len() as u32, &|i| available[i as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_is_the_remainder() {
        for n in [
            1u32,
            2,
            3,
            6,
            7,
            8,
            12,
            100,
            1 << 20,
            u32::MAX - 1,
            u32::MAX,
        ] {
            let m = Modulus::new(n);
            for x in [
                0u32,
                1,
                2,
                n - 1,
                n,
                n.wrapping_add(1),
                0x7fff_ffff,
                u32::MAX - 1,
                u32::MAX,
            ] {
                assert_eq!(m.reduce(x), x % n, "{x} % {n}");
            }
        }
        assert_eq!(Modulus::new(0).reduce(12345), 0);
    }

    proptest::proptest! {
        #[test]
        fn modulus_agrees_with_the_division(x in proptest::prelude::any::<u32>(), n in 1u32..) {
            proptest::prop_assert_eq!(Modulus::new(n).reduce(x), x % n);
        }

        #[test]
        fn keyed_choice_is_java_murmur2(key in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), n in 1u32..512) {
            proptest::prop_assert_eq!(
                choose(Partitioner::Murmur2, Some(&key), Modulus::new(n)),
                Choice::Fixed(kafka_wire::murmur2::partition_for_key(&key, n))
            );
        }
    }

    #[test]
    fn crc32_matches_zlib_check_values() {
        // The standard check value and zlib.crc32 results.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn consistent_semantics() {
        assert_eq!(
            choose(
                Partitioner::Consistent,
                Some(b"123456789"),
                Modulus::new(10)
            ),
            Choice::Fixed(0xCBF4_3926 % 10)
        );
        // Empty key hashes (crc 0); null key is sticky.
        assert_eq!(
            choose(Partitioner::Consistent, Some(b""), Modulus::new(7)),
            Choice::Fixed(0)
        );
        assert_eq!(
            choose(Partitioner::Consistent, None, Modulus::new(7)),
            Choice::Sticky
        );
        // consistent_random: empty and null keys are both sticky.
        assert_eq!(
            choose(Partitioner::ConsistentRandom, Some(b""), Modulus::new(7)),
            Choice::Sticky
        );
        assert_eq!(
            choose(Partitioner::ConsistentRandom, None, Modulus::new(7)),
            Choice::Sticky
        );
        assert_eq!(
            choose(Partitioner::ConsistentRandom, Some(b"a"), Modulus::new(7)),
            Choice::Fixed(0xE8B7_BE43 % 7)
        );
    }

    #[test]
    fn murmur2_matches_java_vectors() {
        // Kafka UtilsTest vectors: murmur2("21") = -973932308, etc.
        for (key, h) in [
            (&b"21"[..], -973_932_308i32),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"abc", 479_470_107),
        ] {
            let want = (h & 0x7fff_ffff) as u32 % 12;
            assert_eq!(
                choose(Partitioner::Murmur2Random, Some(key), Modulus::new(12)),
                Choice::Fixed(want)
            );
            assert_eq!(
                choose(Partitioner::Murmur2, Some(key), Modulus::new(12)),
                Choice::Fixed(want)
            );
        }
        // An empty key is hashed by murmur2_random (Java hashes it too).
        assert!(matches!(
            choose(Partitioner::Murmur2Random, Some(b""), Modulus::new(12)),
            Choice::Fixed(_)
        ));
        assert_eq!(
            choose(Partitioner::Murmur2Random, None, Modulus::new(12)),
            Choice::Sticky
        );
    }

    #[test]
    fn random_and_round_robin_ignore_keys() {
        assert_eq!(
            choose(Partitioner::Random, Some(b"k"), Modulus::new(3)),
            Choice::Random
        );
        assert_eq!(
            choose(Partitioner::RoundRobin, Some(b"k"), Modulus::new(3)),
            Choice::RoundRobin
        );
    }

    #[test]
    fn random_partition_avoids_and_prefers_available() {
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            let p = random_partition(&mut rng, 4, &[], Some(2));
            assert!(p < 4 && p != 2);
            let p = random_partition(&mut rng, 8, &[1, 5], Some(1));
            assert_eq!(p, 5);
            let p = random_partition(&mut rng, 1, &[], Some(0));
            assert_eq!(p, 0);
        }
        // Every partition is reachable.
        let mut seen = [false; 5];
        for _ in 0..1000 {
            seen[random_partition(&mut rng, 5, &[], None) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
