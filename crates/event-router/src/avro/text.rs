//! Parsers for the textual forms events carry: UUIDs and decimal numbers,
//! and (from [`crate::time`]) RFC 3339 timestamps, dates and times of day.
//!
//! All parsers work on bytes, allocate nothing (except the decimal digit
//! buffer), and return `None` on anything malformed.

pub(crate) use crate::time::{digits, parse_date, parse_time_of_day, parse_timestamp};

/// Parses a canonical UUID, `8-4-4-4-12` hex digits (either case).
/// Whether `s` is a canonical UUID, as [`parse_uuid`] reads it, without
/// building its bytes: four dashes in place and a table lookup per digit.
pub(crate) fn is_uuid(s: &[u8]) -> bool {
    const HEX: [bool; 256] = {
        let mut table = [false; 256];
        let mut c = 0;
        while c < 256 {
            table[c] = (c as u8).is_ascii_hexdigit();
            c += 1;
        }
        table
    };
    let [a @ .., b'-', b0, b1, b2, b3, b'-', c0, c1, c2, c3, b'-', d0, d1, d2, d3, b'-', e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11] =
        s
    else {
        return false;
    };
    a.len() == 8
        && a.iter()
            .chain([b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3])
            .chain([e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11])
            .all(|&c| HEX[usize::from(c)])
}

pub(crate) fn parse_uuid(s: &[u8]) -> Option<[u8; 16]> {
    if s.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = 0usize;
    for (i, &c) in s.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        let byte = out.get_mut(nibbles / 2)?;
        *byte = (*byte << 4) | v;
        nibbles += 1;
    }
    Some(out)
}

/// Why a decimal could not be scaled or sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// Not a decimal number.
    Syntax,
    /// More fractional digits than the scale, and they are not all zero.
    Inexact,
    /// More significant digits than the precision.
    Precision,
}

/// Largest accepted exponent magnitude in a decimal string; far beyond any
/// precision that fits a Kafka record, and keeps the digit buffer bounded.
const MAX_EXPONENT: i64 = 4096;

/// Whether [`decimal_to_twos_complement`] reads the exponent of `s`, if
/// any (it takes up to six exponent digits): a JSON number's text is then
/// read exactly as written.
pub(crate) fn decimal_syntax_ok(s: &[u8]) -> bool {
    match s.iter().position(|c| matches!(c, b'e' | b'E')) {
        None => true,
        Some(i) => {
            let exp = &s[i + 1..];
            let digits = exp
                .strip_prefix(b"-")
                .or(exp.strip_prefix(b"+"))
                .unwrap_or(exp);
            (1..=6).contains(&digits.len())
        }
    }
}

/// Parses `[-+]digits[.digits][e[-+]digits]` and returns the unscaled value
/// for `scale` as big-endian two's-complement bytes of minimal length.
/// Nothing is rounded: digits that the scale cannot hold must be zeros.
pub(crate) fn decimal_to_twos_complement(
    s: &[u8],
    precision: usize,
    scale: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecimalError> {
    if let Some(done) = short_decimal(s, precision, scale, out) {
        return done;
    }
    decimal_any(s, precision, scale, out)
}

/// [`decimal_to_twos_complement`] without the fast path.
fn decimal_any(
    s: &[u8],
    precision: usize,
    scale: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecimalError> {
    let (negative, body) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    let (mantissa, exponent) = match body.iter().position(|c| matches!(c, b'e' | b'E')) {
        Some(i) => {
            let exp = &body[i + 1..];
            let (neg, exp_digits) = match exp {
                [b'-', rest @ ..] => (true, rest),
                [b'+', rest @ ..] => (false, rest),
                _ => (false, exp),
            };
            if exp_digits.is_empty() || exp_digits.len() > 6 {
                return Err(DecimalError::Syntax);
            }
            let e = i64::from(digits(exp_digits).ok_or(DecimalError::Syntax)?);
            if e > MAX_EXPONENT {
                return Err(DecimalError::Precision);
            }
            (&body[..i], if neg { -e } else { e })
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|&c| c == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &mantissa[..0]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(DecimalError::Syntax);
    }
    if !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
        return Err(DecimalError::Syntax);
    }
    // value = digits * 10^-(frac_len - exponent); we want digits * 10^scale.
    let input_scale = i64::try_from(frac_part.len()).map_err(|_| DecimalError::Syntax)? - exponent;
    let scale_i = i64::try_from(scale).map_err(|_| DecimalError::Precision)?;
    let all = || int_part.iter().chain(frac_part).copied();
    // Leading zeros count towards neither precision nor value.
    let leading = all().take_while(|&d| d == b'0').count();
    let significant = int_part.len() + frac_part.len() - leading;
    let (keep, pad) = if input_scale > scale_i {
        let drop = usize::try_from(input_scale - scale_i).map_err(|_| DecimalError::Syntax)?;
        let keep = significant.saturating_sub(drop);
        if all().skip(leading + keep).any(|d| d != b'0') {
            return Err(DecimalError::Inexact);
        }
        (keep, 0)
    } else if significant == 0 {
        (0, 0)
    } else {
        let pad = usize::try_from(scale_i - input_scale).map_err(|_| DecimalError::Precision)?;
        (significant, pad)
    };
    if keep.saturating_add(pad) > precision {
        return Err(DecimalError::Precision);
    }
    let kept = || all().skip(leading).take(keep);
    if keep + pad <= 38 {
        // Fits i128 (10^38 < 2^127): no allocation.
        let mut magnitude = kept().fold(0u128, |acc, d| acc * 10 + u128::from(d - b'0'));
        for _ in 0..pad {
            magnitude *= 10;
        }
        let magnitude = magnitude as i128;
        write_i128(if negative { -magnitude } else { magnitude }, out);
    } else {
        let digits: Vec<u8> = kept().chain(std::iter::repeat_n(b'0', pad)).collect();
        write_twos_complement(negative && keep > 0, &digits, out);
    }
    Ok(())
}

/// [`decimal_to_twos_complement`] for the common case, in one pass: no
/// exponent and at most 19 digits. `None` leaves anything else (including
/// malformed text) to the general path.
#[inline]
fn short_decimal(
    s: &[u8],
    precision: usize,
    scale: usize,
    out: &mut Vec<u8>,
) -> Option<Result<(), DecimalError>> {
    let (negative, body) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    let mut value = 0u64;
    let mut digits = 0usize;
    let mut frac_len = None;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 19 {
                    return None;
                }
                value = value * 10 + u64::from(c - b'0');
                if let Some(f) = frac_len.as_mut() {
                    *f += 1;
                }
            }
            b'.' if frac_len.is_none() => frac_len = Some(0usize),
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    let frac_len = frac_len.unwrap_or(0);
    let (value, pad) = if frac_len > scale {
        // Digits the scale cannot hold must be zeros.
        let unit = 10u64.checked_pow(u32::try_from(frac_len - scale).ok()?)?;
        if value % unit != 0 {
            return Some(Err(DecimalError::Inexact));
        }
        (value / unit, 0)
    } else if value == 0 {
        (0, 0)
    } else {
        (value, scale - frac_len)
    };
    let significant = if value == 0 {
        0
    } else {
        value.ilog10() as usize + 1
    };
    if significant.saturating_add(pad) > precision {
        return Some(Err(DecimalError::Precision));
    }
    let magnitude = u128::from(value).checked_mul(10u128.checked_pow(u32::try_from(pad).ok()?)?)?;
    let magnitude = i128::try_from(magnitude).ok()?;
    write_i128(if negative { -magnitude } else { magnitude }, out);
    Some(Ok(()))
}

/// Minimal big-endian two's complement of `v`: as many bytes as its
/// significant bits and a sign bit need.
fn write_i128(v: i128, out: &mut Vec<u8>) {
    let magnitude_bits = 128 - (v ^ (v >> 127)).leading_zeros() as usize;
    let len = (magnitude_bits + 1).div_ceil(8);
    let bytes = v.to_be_bytes();
    out.extend_from_slice(&bytes[bytes.len() - len..]);
}

/// Writes the ASCII decimal `digits` (no leading zeros; empty means zero),
/// negated if `negative`, as minimal big-endian two's complement.
fn write_twos_complement(negative: bool, digits: &[u8], out: &mut Vec<u8>) {
    // Little-endian base 2^32 limbs, filled nine decimal digits at a time.
    let mut limbs: Vec<u32> = Vec::with_capacity(digits.len() / 9 + 1);
    for chunk in digits.chunks(9) {
        let mut mul = 1u64;
        let mut add = 0u64;
        for &d in chunk {
            mul *= 10;
            add = add * 10 + u64::from(d - b'0');
        }
        let mut carry = add;
        for limb in &mut limbs {
            let v = u64::from(*limb) * mul + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            limbs.push(carry as u32);
        }
    }
    // Big-endian magnitude with one spare leading zero byte for the sign.
    let mut bytes = Vec::with_capacity(limbs.len() * 4 + 1);
    bytes.push(0u8);
    for limb in limbs.iter().rev() {
        bytes.extend_from_slice(&limb.to_be_bytes());
    }
    if negative {
        let mut carry = true;
        for b in bytes.iter_mut().rev() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    // Strip redundant sign bytes.
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str, precision: usize, scale: usize) -> Result<Vec<u8>, DecimalError> {
        let mut out = Vec::new();
        decimal_to_twos_complement(s.as_bytes(), precision, scale, &mut out).map(|()| out)
    }

    #[test]
    fn uuids() {
        let u = parse_uuid(b"4bb69e26-b5a6-446a-a140-dbb6263369c9").unwrap();
        assert_eq!(u[0], 0x4b);
        assert_eq!(u[15], 0xc9);
        assert!(parse_uuid(b"4BB69E26-B5A6-446A-A140-DBB6263369C9").is_some());
        assert!(parse_uuid(b"4bb69e26b5a6446aa140dbb6263369c9").is_none());
        assert!(parse_uuid(b"4bb69e26-b5a6-446a-a140-dbb6263369cg").is_none());
        assert!(parse_uuid(b"4bb69e26-b5a6-446a-a140_dbb6263369c9").is_none());
        // The check without bytes agrees, for every byte at every place.
        let valid = b"4bb69e26-b5a6-446a-a140-dbb6263369c9";
        for at in 0..valid.len() {
            for c in 0..=255u8 {
                let mut s = valid.to_vec();
                s[at] = c;
                assert_eq!(is_uuid(&s), parse_uuid(&s).is_some(), "{at} {c}");
            }
        }
        for len in 0..40 {
            let s = vec![b'a'; len];
            assert_eq!(is_uuid(&s), parse_uuid(&s).is_some(), "{len}");
            let mut s = valid.to_vec();
            s.resize(len, b'0');
            assert_eq!(is_uuid(&s), parse_uuid(&s).is_some(), "{len}");
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(dec("0", 5, 2), Ok(vec![0]));
        assert_eq!(dec("-0.00", 5, 2), Ok(vec![0]));
        assert_eq!(dec("1.27", 5, 2), Ok(vec![127]));
        assert_eq!(dec("1.28", 5, 2), Ok(vec![0, 128]));
        assert_eq!(dec("-1.28", 5, 2), Ok(vec![0x80]));
        assert_eq!(dec("-1.29", 5, 2), Ok(vec![0xFF, 0x7F]));
        assert_eq!(dec("19.99", 4, 2), Ok(vec![0x07, 0xCF]));
        assert_eq!(dec("19.990", 4, 2), Ok(vec![0x07, 0xCF]));
        assert_eq!(dec("1.999e1", 4, 2), Ok(vec![0x07, 0xCF]));
        assert_eq!(dec("2E-2", 4, 2), Ok(vec![2]));
        assert_eq!(dec("19.995", 10, 2), Err(DecimalError::Inexact));
        assert_eq!(dec("199.99", 4, 2), Err(DecimalError::Precision));
        assert_eq!(dec("00012.5", 4, 2), Ok(vec![0x04, 0xE2]));
        assert_eq!(dec(".5", 4, 1), Ok(vec![5]));
        assert_eq!(dec("5.", 4, 1), Ok(vec![50]));
        for bad in [
            "",
            "-",
            ".",
            "1.2.3",
            "1e",
            "abc",
            "1,5",
            "0x10",
            "1e+1234567",
        ] {
            assert_eq!(dec(bad, 10, 2), Err(DecimalError::Syntax), "{bad}");
        }
        // 2^127 needs 17 bytes.
        let big = dec("170141183460469231731687303715884105728", 39, 0).unwrap();
        assert_eq!(big.len(), 17);
        assert_eq!(big[0], 0);
        assert_eq!(big[1], 0x80);
        let min = dec("-170141183460469231731687303715884105728", 39, 0).unwrap();
        assert_eq!(min.len(), 16);
        assert_eq!(min[0], 0x80);
    }

    #[test]
    fn twos_complement_matches_i128() {
        for v in [
            0i128,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            65_535,
            -65_536,
            i64::MAX.into(),
            i64::MIN.into(),
            i128::MAX,
            i128::MIN + 1,
        ] {
            let mut out = Vec::new();
            let digits = v.unsigned_abs().to_string();
            let digits = digits.trim_start_matches('0');
            write_twos_complement(v < 0, digits.as_bytes(), &mut out);
            let mut direct = Vec::new();
            write_i128(v, &mut direct);
            assert_eq!(direct, out, "{v}");
            let full = v.to_be_bytes();
            let minimal = full.len() - out.len();
            assert_eq!(&full[minimal..], &out[..], "{v}");
            // Minimal: the dropped bytes are pure sign extension.
            if out.len() > 1 {
                let redundant =
                    (out[0] == 0 && out[1] & 0x80 == 0) || (out[0] == 0xFF && out[1] & 0x80 != 0);
                assert!(!redundant, "{v}");
            }
        }
    }

    proptest::proptest! {
        /// The one-pass path reads what it takes as the general one does.
        #[test]
        fn short_decimal_agrees_with_the_general_path(
            s in "[-+]?[0-9]{0,21}(\\.[0-9]{0,21})?",
            precision in 1usize..40,
            scale in 0usize..30,
        ) {
            let scale = scale.min(precision);
            let mut fast = Vec::new();
            if let Some(result) = short_decimal(s.as_bytes(), precision, scale, &mut fast) {
                let mut general = Vec::new();
                let expected = decimal_any(s.as_bytes(), precision, scale, &mut general);
                proptest::prop_assert_eq!(result, expected, "{}", s);
                proptest::prop_assert_eq!(fast, general, "{}", s);
            }
        }
    }
}
