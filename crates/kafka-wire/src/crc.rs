//! CRC-32C (Castagnoli), the record batch checksum.
//!
//! The checksum itself comes from the `crc-fast` crate, which picks the
//! widest carry-less multiply the CPU has at run time (AVX-512 VPCLMULQDQ,
//! else PCLMULQDQ with the SSE4.2 `crc32` instruction, else tables): on a
//! CPU with AVX-512 it runs at 3.7 to 4.3 times the speed of the `crc32`
//! instruction alone (docs/benchmarks.md, "CRC-32C"). This
//! module adds the concatenation rule, so a batch's checksum can be
//! computed over its records while they are still in the cache and joined
//! to the header's when the batch is sealed.
//!
//! The rule: for byte strings `a` and `b`, `crc(a ‖ b) = crc(a)·x^(8·|b|) ⊕
//! crc(b)`, the product taken modulo the CRC polynomial (the register's
//! pre- and post-inversion cancel out). Polynomials are held as the CRC
//! holds them, reflected: bit 31 is the coefficient of x^0 and bit 0 that
//! of x^31.

/// The CRC-32C of `data`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc_fast::crc32_iscsi(data)
}

/// The CRC-32C of `a ‖ data` from `crc = crc32c(a)`: the checksum carried
/// on over more bytes.
#[inline]
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    // The register before the final inversion is the CRC inverted.
    let mut digest =
        crc_fast::Digest::new_with_init_state(crc_fast::CrcAlgorithm::Crc32Iscsi, u64::from(!crc));
    digest.update(data);
    digest.finalize() as u32
}

/// The CRC-32C polynomial, reflected, without its x^32 term.
const POLY: u32 = 0x82F6_3B78;

/// `a · b mod POLY`, both reflected.
const fn mul_mod(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    // Bit 31 of `a` is its x^0 coefficient; each step multiplies `b` by x
    // (a right shift, reduced when the x^31 coefficient moves out).
    let mut bit = 1u32 << 31;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        bit >>= 1;
    }
    product
}

/// `X_POW[k]` is x^(2^k) mod POLY, reflected.
const X_POW: [u32; 64] = {
    let mut table = [0u32; 64];
    table[0] = 1 << 30; // x^1
    let mut k = 1;
    while k < 64 {
        table[k] = mul_mod(table[k - 1], table[k - 1]);
        k += 1;
    }
    table
};

/// x^(8·bytes) mod POLY, reflected: the factor that moves a CRC past
/// `bytes` more bytes.
fn shift_factor(bytes: usize) -> u32 {
    let mut factor = 1u32 << 31; // x^0
    let mut bits = bytes as u64;
    // 8·bytes = 2^3·bytes: bit j of `bytes` contributes x^(2^(j+3)).
    let mut k = 3;
    while bits != 0 && k < X_POW.len() {
        if bits & 1 != 0 {
            factor = mul_mod(X_POW[k], factor);
        }
        bits >>= 1;
        k += 1;
    }
    factor
}

/// The CRC-32C of `a ‖ b` from `crc(a)`, `crc(b)` and `b`'s length.
pub fn crc32c_concat(crc_a: u32, crc_b: u32, len_b: usize) -> u32 {
    if len_b == 0 {
        return crc_a;
    }
    mul_mod(shift_factor(len_b), crc_a) ^ crc_b
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn concatenation_matches_a_single_pass() {
        // The check value of CRC-32C ("123456789" → 0xE3069283), split at
        // every point.
        let data = b"123456789";
        assert_eq!(crc32c::crc32c(data), 0xE306_9283);
        for at in 0..=data.len() {
            let (a, b) = data.split_at(at);
            assert_eq!(
                crc32c_concat(crc32c::crc32c(a), crc32c::crc32c(b), b.len()),
                0xE306_9283,
                "split at {at}"
            );
        }
    }

    #[test]
    fn long_second_parts() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let whole = crc32c::crc32c(&data);
        for at in [0, 1, 40, 4096, 65_536, 299_999, 300_000] {
            let (a, b) = data.split_at(at);
            assert_eq!(
                crc32c_concat(crc32c::crc32c(a), crc32c::crc32c(b), b.len()),
                whole,
                "split at {at}"
            );
        }
    }

    #[test]
    fn check_value_and_appends() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        let data = b"123456789";
        for at in 0..=data.len() {
            let (a, b) = data.split_at(at);
            assert_eq!(crc32c_append(crc32c(a), b), 0xE306_9283, "split at {at}");
        }
        assert_eq!(crc32c_append(0, b""), 0);
    }

    #[test]
    fn every_length_and_alignment_agrees_with_the_crc32c_crate() {
        // Each SIMD path has its own block size and tail handling: cover
        // lengths across several blocks, at every alignment.
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 131 + i / 7) as u8).collect();
        for start in 0..64 {
            for len in (0..600).chain([1023, 1024, 1025, 4095, 4096, 4097, 4900]) {
                let Some(slice) = data.get(start..start + len) else {
                    continue;
                };
                assert_eq!(crc32c(slice), crc32c::crc32c(slice), "{start}+{len}");
                let seed = crc32c::crc32c(&data[..start]);
                assert_eq!(
                    crc32c_append(seed, slice),
                    crc32c::crc32c_append(seed, slice),
                    "append {start}+{len}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn appends_agree_with_the_crc32c_crate(seed in any::<u32>(),
                                               data in proptest::collection::vec(any::<u8>(), 0..70_000)) {
            prop_assert_eq!(crc32c(&data), crc32c::crc32c(&data));
            prop_assert_eq!(crc32c_append(seed, &data), crc32c::crc32c_append(seed, &data));
        }

        #[test]
        fn agrees_with_the_crate(a in proptest::collection::vec(any::<u8>(), 0..200),
                                 b in proptest::collection::vec(any::<u8>(), 0..5000)) {
            let mut joined = a.clone();
            joined.extend_from_slice(&b);
            prop_assert_eq!(
                crc32c_concat(crc32c::crc32c(&a), crc32c::crc32c(&b), b.len()),
                crc32c::crc32c(&joined)
            );
            prop_assert_eq!(
                crc32c_concat(crc32c::crc32c(&a), crc32c::crc32c(&b), b.len()),
                crc32c::crc32c_combine(crc32c::crc32c(&a), crc32c::crc32c(&b), b.len())
            );
        }
    }
}
