//! Parsers for the textual forms events carry: RFC 3339 timestamps, dates,
//! times of day, UUIDs and decimal numbers.
//!
//! All parsers work on bytes, allocate nothing (except the decimal digit
//! buffer), and return `None` on anything malformed.

/// Nanoseconds in one day.
const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD` to days since the Unix epoch.
pub(crate) fn parse_date(s: &[u8]) -> Option<i64> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let year = i64::from(digits(&s[0..4])?);
    let month = digits(&s[5..7])?;
    let day = digits(&s[8..10])?;
    let max_day = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > max_day {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `HH:MM:SS[.fraction]` to nanoseconds since midnight. `max_second` is 59
/// for a time of day and 60 inside a timestamp (leap second, counted as the
/// first second of the next minute).
fn parse_clock(s: &[u8], max_second: u32) -> Option<i64> {
    if s.len() < 8 || s[2] != b':' || s[5] != b':' {
        return None;
    }
    let hour = digits(&s[0..2])?;
    let minute = digits(&s[3..5])?;
    let second = digits(&s[6..8])?;
    if hour > 23 || minute > 59 || second > max_second {
        return None;
    }
    let mut nanos = 0i64;
    let rest = &s[8..];
    if !rest.is_empty() {
        let frac = rest.strip_prefix(b".")?;
        if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Digits past nanoseconds are truncated.
        let mut scale = 100_000_000i64;
        for d in frac.iter().take(9) {
            nanos += i64::from(d - b'0') * scale;
            scale /= 10;
        }
    }
    let secs = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Some(secs * 1_000_000_000 + nanos)
}

/// `HH:MM:SS[.fraction]` to nanoseconds since midnight.
pub(crate) fn parse_time_of_day(s: &[u8]) -> Option<i64> {
    parse_clock(s, 59)
}

/// A parsed timestamp: the wall clock as written, and the offset if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp {
    /// Nanoseconds since 1970-01-01T00:00:00 of the wall clock as written.
    pub(crate) wall_nanos: i128,
    /// Offset from UTC in seconds (`Z` is 0); `None` when absent.
    pub(crate) offset_secs: Option<i32>,
}

impl Timestamp {
    /// Nanoseconds since the Unix epoch; a missing offset is taken as UTC.
    pub(crate) fn utc_nanos(self) -> i128 {
        self.wall_nanos - i128::from(self.offset_secs.unwrap_or(0)) * 1_000_000_000
    }
}

/// RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`; also accepts a
/// lowercase `t`/`z`, a space as the separator, `+HHMM`, and no offset.
pub(crate) fn parse_timestamp(s: &[u8]) -> Option<Timestamp> {
    if let Some(ts) = parse_timestamp_utc(s) {
        return Some(ts);
    }
    parse_timestamp_any(s)
}

/// [`parse_timestamp`] without the fast path.
fn parse_timestamp_any(s: &[u8]) -> Option<Timestamp> {
    if s.len() < 19 || !matches!(s[10], b'T' | b't' | b' ') {
        return None;
    }
    let days = parse_date(&s[..10])?;
    let rest = &s[11..];
    // The clock ends at the first offset character after the seconds.
    let clock_end = rest
        .iter()
        .enumerate()
        .skip(8)
        .find(|(_, c)| matches!(c, b'Z' | b'z' | b'+' | b'-'))
        .map_or(rest.len(), |(i, _)| i);
    let (clock, zone) = rest.split_at(clock_end);
    let nanos_of_day = parse_clock(clock, 60)?;
    let offset_secs = match zone {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (hh, mm) = match tail {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
                _ => return None,
            };
            let hours = digits(&hh)?;
            let minutes = digits(&mm)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let secs = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => return None,
    };
    Some(Timestamp {
        wall_nanos: i128::from(days) * NANOS_PER_DAY + i128::from(nanos_of_day),
        offset_secs,
    })
}

/// The common forms, `YYYY-MM-DDTHH:MM:SS[.sss]` followed by `Z` (what
/// JavaScript's `toISOString` writes) or by `+HH:MM`/`-HH:MM`, in one pass;
/// `None` for anything else, which [`parse_timestamp`] then reads in full.
#[inline]
fn parse_timestamp_utc(s: &[u8]) -> Option<Timestamp> {
    let (s, offset_secs) = match s {
        [rest @ .., b'Z'] => (rest, 0),
        [rest @ .., sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            // At most 86,340: fits.
            let secs = (hours * 3600 + minutes * 60) as i32;
            (rest, if *sign == b'-' { -secs } else { secs })
        }
        _ => return None,
    };
    let (head, millis) = match s {
        head if head.len() == 19 => (head, 0),
        [head @ .., b'.', a, b, c] if head.len() == 19 => {
            (head, two(*a, *b)? * 10 + two(b'0', *c)?)
        }
        _ => return None,
    };
    if head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b'T'
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    let year = two(head[0], head[1])? * 100 + two(head[2], head[3])?;
    let (month, day) = (two(head[5], head[6])?, two(head[8], head[9])?);
    let (hour, minute, second) = (
        two(head[11], head[12])?,
        two(head[14], head[15])?,
        two(head[17], head[18])?,
    );
    let max_day = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(i64::from(year)) => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > max_day || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = i64::from(hour * 3600 + minute * 60 + second);
    let nanos_of_day = secs * 1_000_000_000 + i64::from(millis) * 1_000_000;
    Some(Timestamp {
        wall_nanos: i128::from(days) * NANOS_PER_DAY + i128::from(nanos_of_day),
        offset_secs: Some(offset_secs),
    })
}

/// Two ASCII digits as a number.
#[inline]
fn two(a: u8, b: u8) -> Option<u32> {
    let (a, b) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'));
    (a < 10 && b < 10).then(|| u32::from(a) * 10 + u32::from(b))
}

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
    fn dates() {
        assert_eq!(parse_date(b"1970-01-01"), Some(0));
        assert_eq!(parse_date(b"1969-12-31"), Some(-1));
        assert_eq!(parse_date(b"2000-03-01"), Some(11_017));
        assert_eq!(parse_date(b"2024-02-29"), Some(19_782));
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"1900-02-29"), None);
        assert_eq!(parse_date(b"2023-13-01"), None);
        assert_eq!(parse_date(b"2023-1-01"), None);
        assert_eq!(parse_date(b"0000-01-01"), Some(-719_528));
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp(b"2022-06-22T12:31:19.002+05:30").unwrap();
        assert_eq!(t.offset_secs, Some(19_800));
        assert_eq!(t.utc_nanos(), 1_655_881_279_002_000_000);
        let z = parse_timestamp(b"2022-01-20T13:39:21.032Z").unwrap();
        assert_eq!(z.utc_nanos(), 1_642_685_961_032_000_000);
        assert_eq!(
            parse_timestamp(b"2022-01-20 13:39:21.032123456789z")
                .unwrap()
                .utc_nanos(),
            1_642_685_961_032_123_456
        );
        assert_eq!(
            parse_timestamp(b"1969-12-31T23:59:59.999-0000")
                .unwrap()
                .utc_nanos(),
            -1_000_000
        );
        let local = parse_timestamp(b"2022-01-20T13:39:21").unwrap();
        assert_eq!(local.offset_secs, None);
        for bad in [
            &b"2022-01-20T13:39"[..],
            b"2022-01-20T24:00:00Z",
            b"2022-01-20T13:39:21.Z",
            b"2022-01-20T13:39:21+5:30",
            b"2022-01-20X13:39:21Z",
            b"2022-01-20T13:39:21Zjunk",
        ] {
            assert_eq!(
                parse_timestamp(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time_of_day(b"00:00:00"), Some(0));
        assert_eq!(parse_time_of_day(b"23:59:59.5"), Some(86_399_500_000_000));
        assert_eq!(parse_time_of_day(b"23:59:60"), None);
        assert_eq!(parse_time_of_day(b"12:00"), None);
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
        /// The fast path reads its form as the full parser does, and
        /// declines (rather than misreads) anything near it.
        #[test]
        fn utc_fast_path_agrees_with_the_full_parser(
            s in "[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9x]{1,4})?([Zz+x]|[+-][0-2][0-9]:?[0-6][0-9])?",
            year in 0u32..10_000,
            month in 0u32..14,
            day in 0u32..33,
            hms in (0u32..25, 0u32..61, 0u32..62),
            millis in proptest::option::of(0u32..1000),
            offset in proptest::option::of((proptest::bool::ANY, 0u32..25, 0u32..61)),
        ) {
            let zone = offset.map_or("Z".to_string(), |(minus, h, m)| {
                format!("{}{h:02}:{m:02}", if minus { '-' } else { '+' })
            });
            let built = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{}{zone}",
                hms.0, hms.1, hms.2,
                millis.map_or(String::new(), |m| format!(".{m:03}")),
            );
            for text in [s.as_bytes(), built.as_bytes()] {
                if let Some(fast) = parse_timestamp_utc(text) {
                    proptest::prop_assert_eq!(Some(fast), parse_timestamp_any(text));
                }
                proptest::prop_assert_eq!(parse_timestamp(text), parse_timestamp_any(text));
            }
            let valid = (1..=12).contains(&month) && (1..=28).contains(&day) && hms.0 < 24 && hms.1 < 60 && hms.2 <= 60
                && offset.is_none_or(|(_, h, m)| h < 24 && m < 60);
            if valid {
                proptest::prop_assert!(parse_timestamp_utc(built.as_bytes()).is_some());
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
