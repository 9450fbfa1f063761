//! A validating, allocation-free JSON scanner that reports byte ranges.
//!
//! JSON pass-through needs the event's original bytes and the positions of a
//! few members, not a value tree. The scanner walks the input once, checks it
//! against the RFC 8259 grammar (the caller checks UTF-8 for the whole body
//! first) and hands out [`Val`]s: the kind and the byte range of a value.
//! String contents are skipped eight bytes at a time (SWAR).
//!
//! Nesting is limited to [`MAX_DEPTH`] so hostile input cannot exhaust the
//! stack.
//!
//! # References
//! - RFC 8259, The JavaScript Object Notation (JSON) Data Interchange Format.

use std::fmt;

/// Deepest nesting of arrays and objects accepted.
pub(crate) const MAX_DEPTH: u32 = 128;

/// Why input is not JSON: what was wrong, and at which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset into the scanned input.
    pub offset: usize,
    /// What the scanner expected or found.
    pub what: &'static str,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

impl std::error::Error for ScanError {}

/// The kind of a scanned JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    #[default]
    Null,
}

/// A scanned value: its kind and byte range (strings include their quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Val {
    pub kind: Kind,
    pub start: u32,
    pub end: u32,
    /// For strings: the contents hold at least one backslash escape.
    /// For objects and arrays: at least one member or element.
    pub flag: bool,
}

impl Val {
    /// The bytes of the value as written.
    pub fn raw<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    /// For a string, the contents between the quotes (still escaped).
    pub fn str_body<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start as usize + 1..(self.end as usize).saturating_sub(1))
            .unwrap_or_default()
    }

    pub fn is_string(&self) -> bool {
        self.kind == Kind::String
    }

    /// A string with an escape.
    pub fn escaped(&self) -> bool {
        self.kind == Kind::String && self.flag
    }

    /// An object or array with no members or elements.
    #[cfg(test)]
    pub fn is_empty_container(&self) -> bool {
        matches!(self.kind, Kind::Object | Kind::Array) && !self.flag
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in each byte that is `"`, `\\` or below
/// 0x20, plus possibly in bytes after the first such byte (borrows only
/// travel upwards), so the lowest set bit marks the first special byte.
#[inline]
fn special_mask(w: u64) -> u64 {
    // `(x - 0x01..) & !x & 0x80..` flags zero bytes of x; `"`, `\\` and 0x20
    // have no high bit, so `!x`'s high bits are `!w`'s for all three terms.
    let quote = (w ^ (LO * u64::from(b'"'))).wrapping_sub(LO);
    let backslash = (w ^ (LO * u64::from(b'\\'))).wrapping_sub(LO);
    let control = w.wrapping_sub(LO * 0x20);
    (quote | backslash | control) & !w & HI
}

/// A cursor over JSON text. Positions are `u32`; callers keep inputs below 4 GiB.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
    error: ScanError,
}

/// A scan failed; [`Scanner::error`] says why. A zero-sized error keeps the
/// hot `Result<Val, Stop>` in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stop;

impl<'a> Scanner<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self::at(buf, 0)
    }

    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Self {
            buf,
            pos,
            error: ScanError {
                offset: 0,
                what: "",
            },
        }
    }

    #[cold]
    fn err(&mut self, what: &'static str) -> Stop {
        self.error = ScanError {
            offset: self.pos,
            what,
        };
        Stop
    }

    /// Why the last scan failed.
    pub fn error(&self) -> ScanError {
        self.error
    }

    #[inline]
    pub fn skip_ws(&mut self) {
        if let Some(b' ' | b'\n' | b'\r' | b'\t') = self.buf.get(self.pos) {
            self.skip_ws_slow();
        }
    }

    /// Pretty-printed input: skips runs of spaces eight at a time.
    #[cold]
    fn skip_ws_slow(&mut self) {
        let buf = self.buf;
        let mut pos = self.pos;
        loop {
            while let Some(chunk) = buf.get(pos..).and_then(|b| b.first_chunk::<8>()) {
                if *chunk != [b' '; 8] {
                    break;
                }
                pos += 8;
            }
            match buf.get(pos) {
                Some(b' ' | b'\n' | b'\r' | b'\t') => pos += 1,
                _ => break,
            }
        }
        self.pos = pos;
    }

    /// Expects the end of input after optional whitespace.
    pub fn finish(&mut self) -> Result<(), Stop> {
        self.skip_ws();
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.err("trailing characters after JSON value"))
        }
    }

    /// Scans one value (after optional whitespace), validating all of it.
    ///
    /// Scalars are scanned inline; containers go through an out-of-line call
    /// (the only recursion).
    #[inline(always)]
    pub fn value(&mut self, depth: u32) -> Result<Val, Stop> {
        match self.peek_byte() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{' | b'[') => self.container(depth),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true", Kind::True),
            Some(b'f') => self.literal(b"false", Kind::False),
            Some(b'n') => self.literal(b"null", Kind::Null),
            Some(_) => Err(self.err("expected a JSON value")),
        }
    }

    #[inline(never)]
    fn container(&mut self, depth: u32) -> Result<Val, Stop> {
        if self.buf.get(self.pos) == Some(&b'{') {
            self.object(depth, |_, _| Ok(()))
        } else {
            self.array(depth, |_| Ok(()))
        }
    }

    /// Scans an object at the cursor (after optional whitespace), calling
    /// `member(key, value)` for each member in order.
    #[inline(always)]
    pub fn object<F>(&mut self, depth: u32, mut member: F) -> Result<Val, Stop>
    where
        F: FnMut(Val, Val) -> Result<(), Stop>,
    {
        self.object_with(depth, |s, key| {
            let value = s.value(depth + 1)?;
            member(key, value)
        })
    }

    /// Scans an object at the cursor, calling `member(scanner, key)` with the
    /// cursor after each `:`; `member` must scan exactly one value (at depth
    /// `depth + 1`).
    #[inline(always)]
    pub fn object_with<F>(&mut self, depth: u32, mut member: F) -> Result<Val, Stop>
    where
        F: FnMut(&mut Self, Val) -> Result<(), Stop>,
    {
        self.skip_ws();
        let start = self.pos;
        if self.buf.get(self.pos) != Some(&b'{') {
            return Err(self.err("expected an object"));
        }
        if depth >= MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.pos += 1;
        self.skip_ws();
        let mut any = false;
        if self.buf.get(self.pos) == Some(&b'}') {
            self.pos += 1;
        } else {
            loop {
                if self.peek_byte() != Some(b'"') {
                    return Err(self.err("expected a string key"));
                }
                let key = self.string()?;
                if self.peek_byte() != Some(b':') {
                    return Err(self.err("expected `:`"));
                }
                self.pos += 1;
                member(self, key)?;
                any = true;
                match self.peek_byte() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("expected `,` or `}`")),
                }
            }
        }
        Ok(Val {
            kind: Kind::Object,
            start: start as u32,
            end: self.pos as u32,
            flag: any,
        })
    }

    /// Scans an array at the cursor, calling `element(value)` for each element.
    pub fn array<F>(&mut self, depth: u32, mut element: F) -> Result<Val, Stop>
    where
        F: FnMut(Val) -> Result<(), Stop>,
    {
        self.array_with(depth, |s| {
            let v = s.value(depth + 1)?;
            element(v)
        })
    }

    /// Scans an array at the cursor, calling `element(scanner)` before each
    /// element; `element` must scan exactly one value (at depth `depth + 1`).
    pub fn array_with<F>(&mut self, depth: u32, mut element: F) -> Result<Val, Stop>
    where
        F: FnMut(&mut Self) -> Result<(), Stop>,
    {
        self.skip_ws();
        let start = self.pos;
        if self.buf.get(self.pos) != Some(&b'[') {
            return Err(self.err("expected an array"));
        }
        if depth >= MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.pos += 1;
        self.skip_ws();
        let mut any = false;
        if self.buf.get(self.pos) == Some(&b']') {
            self.pos += 1;
        } else {
            loop {
                element(self)?;
                any = true;
                match self.peek_byte() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("expected `,` or `]`")),
                }
            }
        }
        Ok(Val {
            kind: Kind::Array,
            start: start as u32,
            end: self.pos as u32,
            flag: any,
        })
    }

    /// The next non-whitespace byte, without consuming it.
    pub fn peek(&mut self) -> Option<u8> {
        self.peek_byte()
    }

    /// Skips whitespace and returns the byte at the cursor; one load and one
    /// compare when there is no whitespace (minified JSON).
    #[inline(always)]
    fn peek_byte(&mut self) -> Option<u8> {
        match self.buf.get(self.pos) {
            Some(b' ' | b'\n' | b'\r' | b'\t') => {
                self.skip_ws_slow();
                self.buf.get(self.pos).copied()
            }
            other => other.copied(),
        }
    }

    #[inline(always)]
    fn string(&mut self) -> Result<Val, Stop> {
        let buf = self.buf;
        let start = self.pos;
        let mut pos = start + 1;
        let mut escaped = false;
        loop {
            while let Some(chunk) = buf.get(pos..).and_then(|b| b.first_chunk::<8>()) {
                let mask = special_mask(u64::from_le_bytes(*chunk));
                if mask != 0 {
                    pos += (mask.trailing_zeros() / 8) as usize;
                    break;
                }
                pos += 8;
            }
            match buf.get(pos) {
                None => {
                    self.pos = pos;
                    return Err(self.err("unterminated string"));
                }
                Some(b'"') => {
                    self.pos = pos + 1;
                    return Ok(Val {
                        kind: Kind::String,
                        start: start as u32,
                        end: self.pos as u32,
                        flag: escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos = pos;
                    self.escape()?;
                    pos = self.pos;
                }
                Some(0..=0x1f) => {
                    self.pos = pos;
                    return Err(self.err("control character in string"));
                }
                Some(_) => pos += 1,
            }
        }
    }

    /// At a backslash: validates one escape, including surrogate pairs.
    fn escape(&mut self) -> Result<(), Stop> {
        match self.buf.get(self.pos + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 2;
                Ok(())
            }
            Some(b'u') => {
                let unit = self.hex4(self.pos + 2)?;
                self.pos += 6;
                if (0xDC00..0xE000).contains(&unit) {
                    return Err(self.err("lone low surrogate"));
                }
                if (0xD800..0xDC00).contains(&unit) {
                    if self.buf.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(self.err("lone high surrogate"));
                    }
                    let low = self.hex4(self.pos + 2)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.err("lone high surrogate"));
                    }
                    self.pos += 6;
                }
                Ok(())
            }
            _ => Err(self.err("invalid escape")),
        }
    }

    fn hex4(&mut self, at: usize) -> Result<u32, Stop> {
        let Some(digits) = self.buf.get(at..at + 4) else {
            return Err(self.err("truncated \\u escape"));
        };
        let value = digits
            .iter()
            .try_fold(0u32, |acc, &c| Some(acc * 16 + (c as char).to_digit(16)?));
        value.ok_or_else(|| self.err("invalid \\u escape"))
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while let Some(b'0'..=b'9') = self.buf.get(self.pos) {
            self.pos += 1;
        }
        self.pos - from
    }

    #[inline(always)]
    fn number(&mut self) -> Result<Val, Stop> {
        let start = self.pos;
        if self.buf.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.buf.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.buf.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("invalid number fraction"));
            }
        }
        if let Some(b'e' | b'E') = self.buf.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.buf.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number exponent"));
            }
        }
        Ok(Val {
            kind: Kind::Number,
            start: start as u32,
            end: self.pos as u32,
            flag: false,
        })
    }

    fn literal(&mut self, word: &'static [u8], kind: Kind) -> Result<Val, Stop> {
        let start = self.pos;
        if self.buf.get(self.pos..self.pos + word.len()) != Some(word) {
            return Err(self.err("invalid literal"));
        }
        self.pos += word.len();
        Ok(Val {
            kind,
            start: start as u32,
            end: self.pos as u32,
            flag: false,
        })
    }
}

/// Validates a whole document: UTF-8, one JSON value, nothing after it.
pub(crate) fn validate(buf: &[u8]) -> Result<Val, ScanError> {
    if let Err(e) = std::str::from_utf8(buf) {
        return Err(ScanError {
            offset: e.valid_up_to(),
            what: "invalid UTF-8",
        });
    }
    let mut s = Scanner::new(buf);
    let v = s.value(0).map_err(|_| s.error())?;
    s.finish().map_err(|_| s.error())?;
    Ok(v)
}

/// Finds the last member named `name` of the object `obj` (already validated).
/// Keys with escapes are decoded into `scratch` to compare.
pub(crate) fn member(buf: &[u8], obj: Val, name: &[u8], scratch: &mut Vec<u8>) -> Option<Val> {
    if obj.kind != Kind::Object || !obj.flag {
        return None;
    }
    let mut found = None;
    let mut s = Scanner::at(buf, obj.start as usize);
    let _ = s.object(0, |k, v| {
        if key_is(buf, k, name, scratch) {
            found = Some(v);
        }
        Ok(())
    });
    found
}

/// Whether the string `key` equals `name` once unescaped.
#[inline]
pub(crate) fn key_is(buf: &[u8], key: Val, name: &[u8], scratch: &mut Vec<u8>) -> bool {
    if key.escaped() {
        scratch.clear();
        unescape_into(key.str_body(buf), scratch);
        scratch.as_slice() == name
    } else {
        key.str_body(buf) == name
    }
}

/// Decodes the contents of a validated JSON string into UTF-8 bytes.
pub(crate) fn unescape_into(body: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < body.len() {
        let Some(rel) = body[i..].iter().position(|&c| c == b'\\') else {
            out.extend_from_slice(&body[i..]);
            return;
        };
        out.extend_from_slice(&body[i..i + rel]);
        i += rel;
        let Some(&c) = body.get(i + 1) else { return };
        i += 2;
        let byte = match c {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex = |at: usize| -> u32 {
                    body.get(at..at + 4)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .unwrap_or(0xFFFD)
                };
                let mut cp = hex(i);
                i += 4;
                if (0xD800..0xDC00).contains(&cp) && body.get(i..i + 2) == Some(b"\\u") {
                    let low = hex(i + 2);
                    if (0xDC00..0xE000).contains(&low) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                        i += 6;
                    }
                }
                let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let mut tmp = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                continue;
            }
            other => other,
        };
        out.push(byte);
    }
}

/// Appends `text` as a JSON string literal (with quotes), escaping as needed.
/// Invalid UTF-8 becomes U+FFFD, so the output is always valid JSON.
pub(crate) fn write_json_string(text: &[u8], out: &mut Vec<u8>) {
    write_json_string_limited(text, out, usize::MAX);
}

/// Like [`write_json_string`], but writes at most `limit` bytes between the
/// quotes, never splitting a character or an escape. Returns whether `text`
/// was cut short.
pub(crate) fn write_json_string_limited(text: &[u8], out: &mut Vec<u8>, limit: usize) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let start = out.len();
    let mut cut = false;
    'outer: for chunk in text.utf8_chunks() {
        let valid = chunk.valid();
        // Fast path: a whole run that needs no escaping and fits.
        let plain = valid.bytes().all(|c| c >= 0x20 && c != b'"' && c != b'\\');
        if plain && out.len() - start + valid.len() <= limit {
            out.extend_from_slice(valid.as_bytes());
        } else {
            for ch in valid.chars() {
                let mut tmp = [0u8; 6];
                let piece: &[u8] = match ch {
                    '"' => b"\\\"",
                    '\\' => b"\\\\",
                    '\n' => b"\\n",
                    '\r' => b"\\r",
                    '\t' => b"\\t",
                    c if (c as u32) < 0x20 => {
                        let c = c as u8;
                        tmp = [
                            b'\\',
                            b'u',
                            b'0',
                            b'0',
                            HEX[usize::from(c >> 4)],
                            HEX[usize::from(c & 0xf)],
                        ];
                        &tmp
                    }
                    c => c.encode_utf8(&mut tmp).as_bytes(),
                };
                if out.len() - start + piece.len() > limit {
                    cut = true;
                    break 'outer;
                }
                out.extend_from_slice(piece);
            }
        }
        if !chunk.invalid().is_empty() {
            let rep = "\u{FFFD}".as_bytes();
            if out.len() - start + rep.len() > limit {
                cut = true;
                break;
            }
            out.extend_from_slice(rep);
        }
    }
    out.push(b'"');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_rejects_like_rfc_8259() {
        let good = [
            r#"{}"#,
            r#"[]"#,
            r#" {"a" : [1, -0.5e+3, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]} "#,
            r#""just a string""#,
            "0",
            "-12.5E-7",
            "{\"k\":\"caf\u{e9} \u{1F600}\"}",
        ];
        for g in good {
            assert!(validate(g.as_bytes()).is_ok(), "{g}");
        }
        let bad = [
            "",
            "{",
            "{\"a\":1,}",
            "[1,]",
            "{'a':1}",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "1e",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"a\tb\"",
            "{} {}",
            "\"unterminated",
            "{\"a\":1}x",
        ];
        for b in bad {
            assert!(validate(b.as_bytes()).is_err(), "{b:?}");
        }
        assert_eq!(validate(b"\"\xff\"").unwrap_err().what, "invalid UTF-8");
    }

    #[test]
    fn rejects_nesting_beyond_limit() {
        let deep = "[".repeat(MAX_DEPTH as usize + 1) + &"]".repeat(MAX_DEPTH as usize + 1);
        assert_eq!(
            validate(deep.as_bytes()).unwrap_err().what,
            "nesting too deep"
        );
        let ok = "[".repeat(MAX_DEPTH as usize) + &"]".repeat(MAX_DEPTH as usize);
        assert!(validate(ok.as_bytes()).is_ok());
    }

    #[test]
    fn reports_ranges_and_last_member() {
        let buf = br#"{ "a": 1, "b" : "x\ny", "a": [2] , "\u0063": {} }"#;
        let obj = validate(buf).unwrap();
        assert_eq!(obj.raw(buf), &buf[..]);
        let mut scratch = Vec::new();
        let a = member(buf, obj, b"a", &mut scratch).unwrap();
        assert_eq!(a.raw(buf), b"[2]");
        let b = member(buf, obj, b"b", &mut scratch).unwrap();
        assert!(b.escaped());
        assert_eq!(b.str_body(buf), br"x\ny");
        let c = member(buf, obj, b"c", &mut scratch).unwrap();
        assert!(c.is_empty_container());
        assert!(member(buf, obj, b"zz", &mut scratch).is_none());
    }

    #[test]
    fn unescapes_all_escape_forms() {
        let mut out = Vec::new();
        unescape_into(br#"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"#, &mut out);
        assert_eq!(out, "a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1F600}".as_bytes());
    }

    proptest! {
        #[test]
        fn special_mask_marks_the_first_special_byte(bytes in any::<[u8; 8]>()) {
            let first = bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            let mask = special_mask(u64::from_le_bytes(bytes));
            prop_assert_eq!(first, (mask != 0).then(|| (mask.trailing_zeros() / 8) as usize));
        }

        #[test]
        fn agrees_with_serde_json(s in "[\\[\\]{}\":,0-9a-z\\\\ .eE+-]{0,40}") {
            let ours = validate(s.as_bytes()).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&s).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", s);
        }

        #[test]
        fn agrees_with_serde_json_on_generated_json(v in json_value()) {
            let text = serde_json::to_string(&v).unwrap();
            prop_assert!(validate(text.as_bytes()).is_ok());
        }

        #[test]
        fn string_writer_round_trips(text in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut out = Vec::new();
            write_json_string(&text, &mut out);
            let back: String = serde_json::from_slice(&out).unwrap();
            prop_assert_eq!(back, String::from_utf8_lossy(&text).into_owned());
            let v = validate(&out).unwrap();
            let mut un = Vec::new();
            unescape_into(v.str_body(&out), &mut un);
            let want = String::from_utf8_lossy(&text).into_owned().into_bytes();
            prop_assert_eq!(un, want);
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
