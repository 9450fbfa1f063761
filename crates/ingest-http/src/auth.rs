//! HTTP Basic authentication with the write key as the user name.
//!
//! Segment and RudderStack SDKs send `Authorization: Basic base64(key:)`.
//! The password is ignored. A value without a colon is taken as the key.
//!
//! # References
//! - RFC 7617, The 'Basic' HTTP Authentication Scheme
//! - RFC 4648 §4, base64 alphabet

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// The write key carried by an `Authorization` header value, or `None`
/// when the value is not `Basic <base64>`.
pub(crate) fn basic_user(value: &[u8]) -> Option<Vec<u8>> {
    let value = trim(value);
    let scheme_end = value.iter().position(|&b| b == b' ' || b == b'\t')?;
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64_decode(trim(rest))?;
    let user_end = decoded
        .iter()
        .position(|&b| b == b':')
        .unwrap_or(decoded.len());
    let mut user = decoded;
    user.truncate(user_end);
    Some(user)
}

/// The index of the first of `keys` equal to `presented`, compared in
/// constant time: every key is compared byte for byte over its whole
/// length, with no early exit on a match or a mismatch, so the time taken
/// tells nothing of which key matched or of how much of one a guess got
/// right (only the number and lengths of the configured keys show).
pub(crate) fn find_key<'k>(
    keys: impl IntoIterator<Item = &'k [u8]>,
    presented: &[u8],
) -> Option<usize> {
    let mut found = u64::MAX;
    for (i, key) in keys.into_iter().enumerate() {
        let take = ct_eq(key, presented) & found.ct_eq(&u64::MAX);
        found.conditional_assign(&(i as u64), take);
    }
    usize::try_from(found).ok().filter(|_| found != u64::MAX)
}

/// `key == presented`, in time that depends on the lengths alone.
fn ct_eq(key: &[u8], presented: &[u8]) -> Choice {
    let same_len = (key.len() as u64).ct_eq(&(presented.len() as u64));
    let mut diff = 0u8;
    for (i, k) in key.iter().enumerate() {
        diff |= k ^ presented.get(i).copied().unwrap_or(!k);
    }
    same_len & diff.ct_eq(&0)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn sextet(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    } as u32)
}

/// Standard (or URL-safe) base64, padding optional. `None` on bad input.
pub(crate) fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = match s {
        [rest @ .., b'=', b'='] => rest,
        [rest @ .., b'='] => rest,
        _ => s,
    };
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | sextet(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            2 => out.push((acc >> 4) as u8),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
pub(crate) fn base64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_decode(enc.as_bytes()).unwrap(), plain.as_bytes());
            assert_eq!(base64_encode(plain.as_bytes()), enc);
        }
        assert_eq!(base64_decode(b"Zm9vY"), None);
        assert_eq!(base64_decode(b"Zm9v!A=="), None);
    }

    #[test]
    fn keys_are_found_by_full_comparison() {
        let keys: [&[u8]; 4] = [b"alpha", b"beta", b"alphabet", b""];
        let find = |k: &[u8]| find_key(keys.iter().copied(), k);
        assert_eq!(find(b"alpha"), Some(0));
        assert_eq!(find(b"beta"), Some(1));
        assert_eq!(find(b"alphabet"), Some(2));
        assert_eq!(find(b""), Some(3));
        for miss in [
            &b"alph"[..],
            b"alphA",
            b"alphab",
            b"alphabets",
            b"bet",
            b"\0",
        ] {
            assert_eq!(find(miss), None, "{miss:?}");
        }
        // A repeated key: the first wins.
        let twice: [&[u8]; 2] = [b"k", b"k"];
        assert_eq!(find_key(twice.iter().copied(), b"k"), Some(0));
        assert_eq!(find_key(std::iter::empty::<&[u8]>(), b"k"), None);
    }

    #[test]
    fn user_is_the_part_before_the_colon() {
        let v = format!("Basic {}", base64_encode(b"key1:"));
        assert_eq!(basic_user(v.as_bytes()).unwrap(), b"key1");
        let v = format!("basic  {} ", base64_encode(b"key2:secret:x"));
        assert_eq!(basic_user(v.as_bytes()).unwrap(), b"key2");
        let v = format!("Basic {}", base64_encode(b"nocolon"));
        assert_eq!(basic_user(v.as_bytes()).unwrap(), b"nocolon");
        assert_eq!(basic_user(b"Bearer abc"), None);
        assert_eq!(basic_user(b"Basic"), None);
        assert_eq!(basic_user(b""), None);
    }
}
