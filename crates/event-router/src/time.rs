//! RFC 3339 timestamps with millisecond precision, without a clock.
//!
//! The router never reads the clock: the caller passes `now` in. This module
//! formats it as `YYYY-MM-DDTHH:MM:SS.mmmZ` and parses the timestamps clients
//! send (`timestamp`, `sentAt`) for clock-skew correction.
//!
//! # References
//! - RFC 3339, section 5.6 (grammar).
//! - Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms"
//!   (`days_from_civil`, `civil_from_days`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of a timestamp written by [`format_millis`].
pub(crate) const FORMATTED_LEN: usize = 24;

/// Milliseconds since the Unix epoch (negative before 1970), saturating.
pub(crate) fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |m| -m),
    }
}

/// Writes `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ`. Years outside 0..=9999 are clamped.
pub(crate) fn format_millis(ms: i64) -> [u8; FORMATTED_LEN] {
    // 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z
    const MIN: i64 = -62_167_219_200_000;
    const MAX: i64 = 253_402_300_799_999;
    let ms = ms.clamp(MIN, MAX);
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1000;
    let milli = rem % 1000;
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    put_digits(&mut out[0..4], y);
    put_digits(&mut out[5..7], m);
    put_digits(&mut out[8..10], d);
    put_digits(&mut out[11..13], hh);
    put_digits(&mut out[14..16], mm);
    put_digits(&mut out[17..19], ss);
    put_digits(&mut out[20..23], milli);
    out
}

fn put_digits(dst: &mut [u8], mut v: i64) {
    for slot in dst.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Parses an RFC 3339 date-time (`T`, `t` or a space as separator; any number
/// of fraction digits, truncated to milliseconds; `Z` or a numeric offset) into
/// milliseconds since the Unix epoch.
pub(crate) fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    fn num(s: &[u8], from: usize, len: usize) -> Option<i64> {
        let digits = s.get(from..from + len)?;
        digits.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    }
    if s.len() < 20
        || s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b'T' | b't' | b' ')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(s, 0, 4)?, num(s, 5, 2)?, num(s, 8, 2)?);
    let (h, mi, sec) = (num(s, 11, 2)?, num(s, 14, 2)?, num(s, 17, 2)?);
    if !(1..=12).contains(&mo) || !(1..=days_in_month(y, mo)).contains(&d) {
        return None;
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(c) = s.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(c - b'0');
            }
            i += 1;
        }
        match i - start {
            0 => return None,
            1 => millis *= 100,
            2 => millis *= 10,
            _ => {}
        }
    }
    let offset_minutes = match s.get(i)? {
        b'Z' | b'z' if s.len() == i + 1 => 0,
        sign @ (b'+' | b'-') if s.len() == i + 6 && s[i + 3] == b':' => {
            let (oh, om) = (num(s, i + 1, 2)?, num(s, i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
    Some(secs * 1000 + millis)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(&format_millis(0), b"1970-01-01T00:00:00.000Z");
        assert_eq!(
            &format_millis(1_655_881_275_656),
            b"2022-06-22T07:01:15.656Z"
        );
        assert_eq!(&format_millis(951_782_400_001), b"2000-02-29T00:00:00.001Z");
        assert_eq!(&format_millis(-1), b"1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let cases: &[(&str, Option<i64>)] = &[
            ("2022-06-22T12:31:15.656+05:30", Some(1_655_881_275_656)),
            ("2022-06-22T07:01:15.656Z", Some(1_655_881_275_656)),
            ("2022-06-22T07:01:15Z", Some(1_655_881_275_000)),
            ("2022-06-22T07:01:15.6Z", Some(1_655_881_275_600)),
            ("2022-06-22T07:01:15.656789123Z", Some(1_655_881_275_656)),
            ("2022-06-22 07:01:15.656z", Some(1_655_881_275_656)),
            ("2022-06-22T02:01:15.656-05:00", Some(1_655_881_275_656)),
            ("2022-02-30T00:00:00Z", None),
            ("2022-06-22T07:01:15.Z", None),
            ("2022-06-22T07:01:15", None),
            ("2022-06-22T07:01:15+0530", None),
            ("not a date at all....", None),
            ("2022-06-22T24:01:15Z", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_rfc3339(s.as_bytes()), *want, "{s}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(ms in -62_000_000_000_000i64..253_000_000_000_000) {
            let s = format_millis(ms);
            prop_assert_eq!(parse_rfc3339(&s), Some(ms));
        }

        #[test]
        fn parse_never_panics(s in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_rfc3339(&s);
        }
    }
}
