//! RFC 3339 timestamps, dates and times of day, without a clock: the one
//! parser of the crate.
//!
//! The router never reads the clock: the caller passes `now` in. This module
//! formats it as `YYYY-MM-DDTHH:MM:SS.mmmZ`, parses the timestamps clients
//! send (`timestamp`, `sentAt`) for clock-skew correction, and the dates,
//! times and timestamps the Avro encoder reads.
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
/// of fraction digits, truncated to milliseconds; `Z` or a numeric offset
/// `+HH:MM`) into milliseconds since the Unix epoch. The stricter form of
/// [`parse_timestamp`], which the Avro encoder reads.
pub(crate) fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    let zoned = matches!(s, [.., b'Z' | b'z'] | [.., b'+' | b'-', _, _, b':', _, _]);
    if !zoned || s.len() < 20 {
        return None;
    }
    let ts = parse_timestamp(s)?;
    i64::try_from(ts.utc_nanos().div_euclid(1_000_000)).ok()
}

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

pub(crate) fn digits(s: &[u8]) -> Option<u32> {
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
}
