//! Kafka topic name sanitising, as Keen does it.
//!
//! Legal topic characters are ASCII letters, digits, `.`, `_` and `-`; names
//! are at most 249 characters and may not be `.` or `..`. Each illegal
//! character (not byte) becomes `_`, then the name is cut at 249 characters,
//! so `$my collection$ %` becomes `_my_collection___`.
//!
//! # References
//! - Kafka `org.apache.kafka.common.internals.Topic` (legal characters, 249).
//! - Keen, "Kafka Outbound Cluster: Topic name".

/// Longest legal topic name.
pub const MAX_TOPIC_LEN: usize = 249;

fn legal(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')
}

/// Whether `name` is already a legal topic name.
pub fn is_legal(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOPIC_LEN
        && name != b"."
        && name != b".."
        && name.iter().all(|&c| legal(c))
}

/// Appends the sanitised form of `name` to `out`. `name` should not be empty.
pub fn sanitize_into(name: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if out.len() - start == MAX_TOPIC_LEN {
                return;
            }
            match u8::try_from(c) {
                Ok(b) if legal(b) => out.push(b),
                _ => out.push(b'_'),
            }
        }
        for _ in chunk.invalid() {
            if out.len() - start == MAX_TOPIC_LEN {
                return;
            }
            out.push(b'_');
        }
    }
    let written = &mut out[start..];
    if written == b"." || written == b".." {
        written.fill(b'_');
    }
}

/// Sanitises `buf[start..]` in place (UTF-8 text), as [`sanitize_into`]
/// would; the result is never longer than the input.
pub fn sanitize_tail(buf: &mut Vec<u8>, start: usize) {
    let mut write = start;
    for read in start..buf.len() {
        let c = buf[read];
        let out = match c {
            // A continuation byte: part of a character already replaced.
            0x80..=0xBF => continue,
            c if legal(c) => c,
            _ => b'_',
        };
        if write - start == MAX_TOPIC_LEN {
            break;
        }
        buf[write] = out;
        write += 1;
    }
    buf.truncate(write);
    let written = &mut buf[start..];
    if written == b"." || written == b".." {
        written.fill(b'_');
    }
}

/// The sanitised form of `name` as a `String`.
pub fn sanitize(name: &str) -> String {
    let mut out = Vec::with_capacity(name.len().min(MAX_TOPIC_LEN));
    sanitize_into(name.as_bytes(), &mut out);
    // Only ASCII is ever written.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_like_keen() {
        let cases: &[(&str, &str)] = &[
            ("$my collection$ %", "_my_collection___"),
            ("purchases", "purchases"),
            ("a.b_c-D9", "a.b_c-D9"),
            ("café", "caf_"),
            ("日本", "__"),
            ("a/b:c", "a_b_c"),
            (".", "_"),
            ("..", "__"),
            ("...", "..."),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), *want, "{input}");
            assert!(is_legal(want.as_bytes()));
        }
        assert!(!is_legal(b"$my collection$ %"));
        assert!(!is_legal(b""));
    }

    proptest::proptest! {
        #[test]
        fn in_place_matches_copying(name in "\\PC{0,300}", prefix in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4)) {
            let mut copy = Vec::new();
            sanitize_into(name.as_bytes(), &mut copy);
            let mut buf = prefix.clone();
            buf.extend_from_slice(name.as_bytes());
            sanitize_tail(&mut buf, prefix.len());
            proptest::prop_assert_eq!(&buf[..prefix.len()], &prefix[..]);
            proptest::prop_assert_eq!(&buf[prefix.len()..], &copy[..]);
        }
    }

    #[test]
    fn cuts_at_249_characters() {
        let long = "x".repeat(300);
        assert_eq!(sanitize(&long).len(), MAX_TOPIC_LEN);
        let wide = "é".repeat(300);
        assert_eq!(sanitize(&wide), "_".repeat(MAX_TOPIC_LEN));
        assert!(is_legal("y".repeat(249).as_bytes()));
        assert!(!is_legal("y".repeat(250).as_bytes()));
    }
}
