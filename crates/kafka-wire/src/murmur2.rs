//! murmur2 exactly as Kafka's Java client computes it, so keyed records land
//! on the partitions Java producers would choose.
//!
//! The Java client reads little-endian 4-byte blocks with seed `0x9747b28c`,
//! folds in the 1–3 trailing bytes, and the default partitioner takes
//! `toPositive(h) % n` where `toPositive(h) = h & 0x7fffffff` (not `abs`).
//!
//! # References
//! - `org.apache.kafka.common.utils.Utils#murmur2` and `#toPositive`
//! - `BuiltInPartitioner#partitionForKey` (KIP-794)

const SEED: u32 = 0x9747_b28c;
const M: u32 = 0x5bd1_e995;
const R: u32 = 24;

/// The Java client's `Utils.murmur2(key)`, as the signed value Java returns.
#[inline]
pub fn murmur2(data: &[u8]) -> i32 {
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        if let Some(&b) = tail.get(2) {
            h ^= u32::from(b) << 16;
        }
        if let Some(&b) = tail.get(1) {
            h ^= u32::from(b) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Java's `Utils.toPositive`: clears the sign bit.
#[inline]
pub const fn to_positive(h: i32) -> u32 {
    (h & 0x7fff_ffff) as u32
}

/// The partition the Java client's default partitioner picks for a key:
/// `toPositive(murmur2(key)) % partitions`. Returns 0 when `partitions` is 0.
#[inline]
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    match partitions {
        0 => 0,
        n => to_positive(murmur2(key)) % n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of Kafka's `UtilsTest.testMurmur2`.
    const JAVA_VECTORS: &[(&[u8], i32)] = &[
        (b"21", -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        (b"abc", 479_470_107),
    ];

    #[test]
    fn matches_kafka_utils_test() {
        for (key, want) in JAVA_VECTORS {
            assert_eq!(murmur2(key), *want, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn to_positive_is_not_abs() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), 0x7fff_ffff);
        // -790332482 & 0x7fffffff = 1357151166
        assert_eq!(to_positive(murmur2(b"foobar")), 1_357_151_166);
        assert_eq!(partition_for_key(b"foobar", 50), 1_357_151_166 % 50);
        assert_eq!(partition_for_key(b"foobar", 0), 0);
    }
}
