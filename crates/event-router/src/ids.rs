//! `messageId` generation: UUID v4 from a seeded, non-cryptographic RNG.
//!
//! Message ids only need to be unique, not unpredictable, so the router owns
//! a fast wyrand generator seeded once by the caller: no system call per
//! event, and tests are reproducible.
//!
//! # References
//! - RFC 9562, section 5.4 (UUID version 4).
//! - Wang Yi, wyhash / wyrand.

/// wyrand: 64-bit state, one multiply per output.
#[derive(Debug, Clone)]
pub(crate) struct WyRand(u64);

impl WyRand {
    pub fn new(seed: u64) -> Self {
        WyRand(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// Appends a random UUID v4 in its 36-character hyphenated form.
    pub fn write_uuid_v4(&mut self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hi = self.next_u64();
        let lo = self.next_u64();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push(b'-');
            }
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_version_4_variant_1() {
        let mut rng = WyRand::new(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let mut out = Vec::new();
            rng.write_uuid_v4(&mut out);
            assert_eq!(out.len(), 36);
            let s = String::from_utf8(out).unwrap();
            let parts: Vec<&str> = s.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'));
            assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn same_seed_same_ids() {
        let (mut a, mut b) = (WyRand::new(42), WyRand::new(42));
        let (mut x, mut y) = (Vec::new(), Vec::new());
        a.write_uuid_v4(&mut x);
        b.write_uuid_v4(&mut y);
        assert_eq!(x, y);
    }
}
