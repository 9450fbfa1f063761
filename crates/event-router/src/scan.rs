//! A validating, allocation-free JSON scanner that reports byte ranges.
//!
//! JSON pass-through needs the event's original bytes and the positions of a
//! few members, not a value tree. The scanner walks the input once, checks it
//! against the RFC 8259 grammar and hands out [`Val`]s: the kind and the byte
//! range of a value.
//!
//! String contents are skipped 16 bytes at a time with SSE2 on x86_64 (eight
//! at a time with SWAR elsewhere), stopping at `"`, `\\`, control bytes and
//! bytes of 0x80 and above. UTF-8 is checked only there: outside strings the
//! grammar admits ASCII alone, so a document the scanner accepts is valid
//! UTF-8 without a separate pass over it (see [`Scanner::new`]).
//!
//! Values the caller only skips (nested objects and arrays) are scanned by
//! one loop with an explicit stack of open containers, not by recursion.
//! Nesting is limited to [`MAX_DEPTH`].
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
/// 0x20 (and, when `HIGH`, at or above 0x80), plus possibly in bytes after
/// the first such byte (borrows only travel upwards), so the lowest set bit
/// marks the first special byte.
#[inline(always)]
fn special_mask<const HIGH: bool>(w: u64) -> u64 {
    // `(x - 0x01..) & !x & 0x80..` flags zero bytes of x; `"`, `\\` and 0x20
    // have no high bit, so `!x`'s high bits are `!w`'s for all three terms.
    let quote = (w ^ (LO * u64::from(b'"'))).wrapping_sub(LO);
    let backslash = (w ^ (LO * u64::from(b'\\'))).wrapping_sub(LO);
    let control = w.wrapping_sub(LO * 0x20);
    let ascii = (quote | backslash | control) & !w & HI;
    if HIGH {
        ascii | (w & HI)
    } else {
        ascii
    }
}

/// Whether the scanner stops at `c` inside a string: `"`, `\\`, a control
/// byte, or (when `high`) a byte that is not ASCII.
#[inline(always)]
fn is_special(c: u8, high: bool) -> bool {
    c == b'"' || c == b'\\' || c < 0x20 || (high && c >= 0x80)
}

/// The position of the first byte at or after `pos` that is `"`, `\\`, below
/// 0x20 or (when `HIGH`) at or above 0x80; `buf.len()` if there is none.
/// Eight bytes at a time, portable.
#[inline(always)]
fn find_special_swar<const HIGH: bool>(buf: &[u8], mut pos: usize) -> usize {
    while let Some(chunk) = buf.get(pos..).and_then(|b| b.first_chunk::<8>()) {
        let mask = special_mask::<HIGH>(u64::from_le_bytes(*chunk));
        if mask != 0 {
            return pos + (mask.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    let tail = buf.get(pos..).unwrap_or_default();
    match tail.iter().position(|&c| is_special(c, HIGH)) {
        Some(i) => pos + i,
        None => buf.len(),
    }
}

/// [`find_special_swar`] with `HIGH`, sixteen bytes at a time (SSE2 is part of
/// the x86_64 baseline, so no run-time detection is needed).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn find_special_sse2(buf: &[u8], mut pos: usize) -> usize {
    while let Some(chunk) = buf.get(pos..).and_then(|b| b.first_chunk::<16>()) {
        let mask = sse2::special_mask(chunk);
        if mask != 0 {
            return pos + mask.trailing_zeros() as usize;
        }
        pos += 16;
    }
    // Fewer than 16 bytes left: pad with a byte that is not special.
    let tail = buf.get(pos..).unwrap_or_default();
    let mut chunk = [b' '; 16];
    chunk[..tail.len()].copy_from_slice(tail);
    let mask = sse2::special_mask(&chunk);
    if mask != 0 {
        pos + mask.trailing_zeros() as usize
    } else {
        buf.len()
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// Bit `i` is set when `chunk[i]` is `"`, `\\`, below 0x20 or at or above
    /// 0x80.
    #[inline(always)]
    pub(super) fn special_mask(chunk: &[u8; 16]) -> u32 {
        // SAFETY: SSE2 is enabled on every x86_64 target, so the intrinsics
        // are available; the unaligned load reads exactly the 16 bytes of
        // `chunk`.
        unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // A signed compare: bytes 0x80..=0xFF are negative, so this flags
            // both control bytes and bytes that are not ASCII.
            let low_or_high = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
            let any = _mm_or_si128(_mm_or_si128(quote, backslash), low_or_high);
            _mm_movemask_epi8(any) as u32
        }
    }
}

/// The first byte at or after `pos` where a string scan must stop: `"`,
/// `\\`, a control byte or a byte that is not ASCII; `buf.len()` if none.
#[inline(always)]
fn find_special(buf: &[u8], pos: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        find_special_sse2(buf, pos)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        find_special_swar::<true>(buf, pos)
    }
}

/// The common case of a short string: when the first special byte (see
/// [`find_special`]) among the 16 bytes at `pos` is a `"`, `Ok` with its
/// position; otherwise `Err` with a position before which no byte is special.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn quick_close(buf: &[u8], pos: usize) -> Result<usize, usize> {
    let Some(chunk) = buf.get(pos..pos + 16).and_then(|b| b.first_chunk::<16>()) else {
        return Err(pos);
    };
    let mask = sse2::special_mask(chunk);
    if mask == 0 {
        return Err(pos + 16);
    }
    let i = mask.trailing_zeros() as usize & 15;
    if chunk[i] == b'"' {
        Ok(pos + i)
    } else {
        Err(pos + i)
    }
}

/// The common case of a short string, portable: see the x86_64 version.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn quick_close(buf: &[u8], pos: usize) -> Result<usize, usize> {
    let window = buf.get(..buf.len().min(pos + 16)).unwrap_or_default();
    let i = find_special_swar::<true>(window, pos);
    match window.get(i) {
        Some(b'"') => Ok(i),
        _ => Err(i),
    }
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
    /// A scanner at the start of `buf`. A value it accepts is valid UTF-8:
    /// strings are checked as they are skipped, and the grammar admits no
    /// other bytes above 0x7F.
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

    /// Scans the object or array at the cursor without reporting what is in
    /// it: one loop over the whole value, with the kinds of the open
    /// containers kept as bits, instead of a call per nested value.
    #[inline(never)]
    fn container(&mut self, depth: u32) -> Result<Val, Stop> {
        let start = self.pos;
        let outer = if self.buf.get(start) == Some(&b'{') {
            Kind::Object
        } else {
            Kind::Array
        };
        // Bit 0 is the innermost open container (1: object), bit 1 the one
        // around it, and so on; `level` containers are open. The nesting
        // limit keeps `level` at or below 128.
        let mut objects: u128 = 0;
        let mut level: u32 = 0;
        let mut any = false;
        'value: loop {
            // The cursor is at a value (or whitespace before it). Strings,
            // the most common, are tested first.
            let first = self.peek_byte();
            if first == Some(b'"') {
                self.string()?;
            } else {
                self.container_value(first, depth + level)?;
            }
            if let Some(open @ (b'{' | b'[')) = first {
                self.pos += 1;
                level += 1;
                let object = open == b'{';
                objects = (objects << 1) | u128::from(object);
                let close = if object { b'}' } else { b']' };
                if self.peek_byte() == Some(close) {
                    self.pos += 1;
                    level -= 1;
                    objects >>= 1;
                } else {
                    any |= level == 1;
                    if object {
                        self.key()?;
                    }
                    continue 'value;
                }
            }
            // After a value: close containers until a `,` starts the next.
            loop {
                if level == 0 {
                    return Ok(Val {
                        kind: outer,
                        start: start as u32,
                        end: self.pos as u32,
                        flag: any,
                    });
                }
                let object = objects & 1 != 0;
                match self.peek_byte() {
                    Some(b',') => {
                        self.pos += 1;
                        if object {
                            self.key()?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ if object => return Err(self.err("expected `,` or `}`")),
                    _ => return Err(self.err("expected `,` or `]`")),
                }
                self.pos += 1;
                level -= 1;
                objects >>= 1;
            }
        }
    }

    /// For [`Scanner::container`]: scans a scalar other than a string whose
    /// first byte is `first`; checks the nesting limit for `{` and `[`
    /// (opened by the caller) at depth `depth`.
    #[inline(always)]
    fn container_value(&mut self, first: Option<u8>, depth: u32) -> Result<(), Stop> {
        match first {
            Some(b'{' | b'[') if depth >= MAX_DEPTH => Err(self.err("nesting too deep")),
            Some(b'{' | b'[') => Ok(()),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b't') => self.literal(b"true", Kind::True).map(drop),
            Some(b'f') => self.literal(b"false", Kind::False).map(drop),
            Some(b'n') => self.literal(b"null", Kind::Null).map(drop),
            None => Err(self.err("unexpected end of input")),
            Some(_) => Err(self.err("expected a JSON value")),
        }
    }

    /// An object member's key and the `:` after it.
    #[inline(always)]
    fn key(&mut self) -> Result<Val, Stop> {
        if self.buf.get(self.pos) != Some(&b'"') && self.peek_byte() != Some(b'"') {
            return Err(self.err("expected a string key"));
        }
        let key = self.string()?;
        if self.buf.get(self.pos) != Some(&b':') && self.peek_byte() != Some(b':') {
            return Err(self.err("expected `:`"));
        }
        self.pos += 1;
        Ok(key)
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
                let key = self.key()?;
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

    /// Scans a string at the cursor (a `"`), validating its escapes and the
    /// UTF-8 of its contents.
    #[inline(always)]
    fn string(&mut self) -> Result<Val, Stop> {
        let start = self.pos;
        // Up to three blocks inline: most strings are shorter than 48 bytes.
        let found = match quick_close(self.buf, start + 1) {
            Err(next) if next == start + 17 => match quick_close(self.buf, next) {
                Err(next) if next == start + 33 => quick_close(self.buf, next),
                other => other,
            },
            other => other,
        };
        match found {
            Ok(close) => {
                self.pos = close + 1;
                Ok(Val {
                    kind: Kind::String,
                    start: start as u32,
                    end: self.pos as u32,
                    flag: false,
                })
            }
            Err(pos) => self.string_from(start, pos),
        }
    }

    /// The rest of [`Scanner::string`] for a string opened at `start` whose
    /// bytes before `pos` need no closer look.
    #[inline(never)]
    fn string_from(&mut self, start: usize, mut pos: usize) -> Result<Val, Stop> {
        let buf = self.buf;
        let mut escaped = false;
        loop {
            pos = find_special(buf, pos);
            match buf.get(pos) {
                Some(b'"') => {
                    self.pos = pos + 1;
                    return Ok(Val {
                        kind: Kind::String,
                        start: start as u32,
                        end: self.pos as u32,
                        flag: escaped,
                    });
                }
                Some(b'\\') => escaped = true,
                _ => {}
            }
            self.pos = pos;
            pos = self.string_special()?;
        }
    }

    /// At a special byte inside a string other than its closing quote:
    /// validates an escape or a run of non-ASCII text and returns the
    /// position after it, or fails.
    #[inline(never)]
    fn string_special(&mut self) -> Result<usize, Stop> {
        match self.buf.get(self.pos) {
            Some(b'\\') => {
                self.escape()?;
                Ok(self.pos)
            }
            Some(0x80..=0xff) => self.utf8_run(),
            Some(_) => Err(self.err("control character in string")),
            None => Err(self.err("unterminated string")),
        }
    }

    /// At a byte that is not ASCII inside a string: checks the UTF-8 of the
    /// bytes up to the next `"`, `\\` or control byte (all ASCII, so never
    /// inside a character) and returns that position.
    #[inline(always)]
    fn utf8_run(&mut self) -> Result<usize, Stop> {
        let end = find_special_swar::<false>(self.buf, self.pos);
        let run = self.buf.get(self.pos..end).unwrap_or_default();
        if let Err(e) = std::str::from_utf8(run) {
            self.pos += e.valid_up_to();
            return Err(self.err("invalid UTF-8"));
        }
        Ok(end)
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
    let mut s = Scanner::new(buf);
    match s.value(0).and_then(|v| s.finish().map(|()| v)) {
        Ok(v) => Ok(v),
        Err(Stop) => Err(failure(buf, s.error())),
    }
}

/// The error to report for a document the scanner rejected with `error`:
/// invalid UTF-8 anywhere in it comes first (as if UTF-8 were checked
/// before the grammar), else the scanner's error.
#[cold]
pub(crate) fn failure(buf: &[u8], error: ScanError) -> ScanError {
    match std::str::from_utf8(buf) {
        Ok(_) => error,
        Err(e) => ScanError {
            offset: e.valid_up_to(),
            what: "invalid UTF-8",
        },
    }
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

    /// The first special byte at or after `pos` (or `buf.len()`), byte by byte.
    fn first_special(buf: &[u8], pos: usize, high: bool) -> usize {
        (pos..buf.len())
            .find(|&i| is_special(buf[i], high))
            .unwrap_or(buf.len())
    }

    /// Every string-skipping kernel against [`first_special`].
    fn check_kernels(buf: &[u8], pos: usize) {
        let want = first_special(buf, pos, true);
        assert_eq!(
            find_special_swar::<true>(buf, pos),
            want,
            "{buf:?} at {pos}"
        );
        assert_eq!(
            find_special_swar::<false>(buf, pos),
            first_special(buf, pos, false),
            "{buf:?} at {pos}"
        );
        #[cfg(target_arch = "x86_64")]
        assert_eq!(find_special_sse2(buf, pos), want, "{buf:?} at {pos}");
        assert_eq!(find_special(buf, pos), want, "{buf:?} at {pos}");
        match quick_close(buf, pos) {
            Ok(close) => {
                assert_eq!(close, want, "{buf:?} at {pos}");
                assert_eq!(buf[close], b'"');
            }
            Err(next) => {
                assert!(next <= want, "{buf:?} at {pos}: {next} > {want}");
                assert!(next >= pos.min(buf.len()));
                // A closing quote first among 16 available bytes is found.
                let whole_block = cfg!(not(target_arch = "x86_64")) || pos + 16 <= buf.len();
                let quote_first = want < buf.len() && buf[want] == b'"' && want < pos + 16;
                assert!(!(whole_block && quote_first), "{buf:?} at {pos}");
            }
        }
    }

    #[test]
    fn kernels_find_each_special_byte_at_every_offset_of_a_block() {
        // Specials and near misses: 0x1f/0x20 and 0x7f/0x80 bound the ranges.
        let bytes = [
            b'"', b'\\', 0x00, 0x1f, 0x20, b'!', b'#', b'[', b']', 0x7f, 0x80, 0xc3, 0xff,
        ];
        for len in 0..=70 {
            for at in 0..len {
                for &b in &bytes {
                    let mut buf = vec![b'a'; len];
                    buf[at] = b;
                    for pos in 0..=len.min(at + 1) {
                        check_kernels(&buf, pos);
                    }
                    // A second special after the first: the first must win.
                    if at + 1 < len {
                        buf[at + 1] = b'"';
                        check_kernels(&buf, 0);
                        check_kernels(&buf, at);
                    }
                }
            }
            check_kernels(&vec![b'a'; len], 0);
        }
    }

    /// A JSON document `{"k": "<pad><piece><pad>"}` where the piece starts at
    /// offset `at` of the string, and the string at offset `shift` of the
    /// document, so pieces land at every position of a 16- or 8-byte block.
    fn doc_with(shift: usize, at: usize, piece: &[u8]) -> Vec<u8> {
        let mut doc = Vec::new();
        doc.push(b'[');
        doc.extend(std::iter::repeat_n(b' ', shift));
        doc.push(b'"');
        doc.extend(std::iter::repeat_n(b'x', at));
        doc.extend_from_slice(piece);
        doc.extend(std::iter::repeat_n(b'y', 37 - at % 37));
        doc.extend_from_slice(b"\"]");
        doc
    }

    #[test]
    fn strings_validate_escapes_and_utf8_at_every_offset() {
        let good: [&[u8]; 9] = [
            br#"\""#,
            br"\\",
            br"\/\b\f\n\r\t",
            br"\u00e9",
            br"\ud83d\ude00",
            "é".as_bytes(),
            "€".as_bytes(),
            "😀".as_bytes(),
            "caf\u{e9} \u{1F600}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}".as_bytes(),
        ];
        let bad: [(&[u8], &str); 12] = [
            (b"\x00", "control character in string"),
            (b"\x1f", "control character in string"),
            (b"\n", "control character in string"),
            (br"\x", "invalid escape"),
            (br"\u12G4", "invalid \\u escape"),
            (br"\ud800x", "lone high surrogate"),
            (br"\udc00", "lone low surrogate"),
            (b"\x80", "invalid UTF-8"),
            (b"\xc3(", "invalid UTF-8"),
            (b"\xc0\x80", "invalid UTF-8"),
            (b"\xed\xa0\x80", "invalid UTF-8"),
            (b"\xf4\x90\x80\x80", "invalid UTF-8"),
        ];
        for shift in 0..16 {
            for at in 0..40 {
                for piece in good {
                    let doc = doc_with(shift, at, piece);
                    let v = validate(&doc);
                    assert!(v.is_ok(), "{:?}: {v:?}", String::from_utf8_lossy(&doc));
                    let theirs = serde_json::from_slice::<serde_json::Value>(&doc);
                    assert!(theirs.is_ok());
                    let mut s = Scanner::at(&doc, 1 + shift);
                    let string = s.value(1).unwrap();
                    assert_eq!(string.end as usize, doc.len() - 1);
                    assert_eq!(string.escaped(), piece.starts_with(b"\\"));
                }
                for (piece, what) in bad {
                    let doc = doc_with(shift, at, piece);
                    let e = validate(&doc).unwrap_err();
                    assert_eq!(e.what, what, "{:?}", String::from_utf8_lossy(&doc));
                    let piece_at = 2 + shift + at;
                    assert!(
                        (piece_at..=piece_at + piece.len()).contains(&e.offset),
                        "{e} for {doc:?}"
                    );
                    assert!(serde_json::from_slice::<serde_json::Value>(&doc).is_err());
                }
            }
        }
    }

    #[test]
    fn unterminated_strings_of_every_length_are_rejected() {
        for len in 0..70 {
            for tail in [&b""[..], b"\\", b"\\u12", b"\xc3", b"\\\""] {
                let mut doc = b"\"".to_vec();
                doc.extend(std::iter::repeat_n(b'a', len));
                doc.extend_from_slice(tail);
                let e = validate(&doc).unwrap_err();
                assert!(e.offset <= doc.len(), "{e}");
                doc.push(b'"');
                assert_eq!(
                    validate(&doc).is_ok(),
                    serde_json::from_slice::<serde_json::Value>(&doc).is_ok(),
                    "{doc:?}"
                );
            }
        }
    }

    #[test]
    fn invalid_utf8_is_reported_before_grammar_errors() {
        // As when UTF-8 was checked in a pass before the grammar.
        let e = validate(b"[1,]\"\xff\"").unwrap_err();
        assert_eq!((e.what, e.offset), ("invalid UTF-8", 5));
        let e = validate(b"[1] \xe2\x82").unwrap_err();
        assert_eq!((e.what, e.offset), ("invalid UTF-8", 4));
        let e = validate("[1] é".as_bytes()).unwrap_err();
        assert_eq!(e.what, "trailing characters after JSON value");
        let e = validate("{é:1}".as_bytes()).unwrap_err();
        assert_eq!(e.what, "expected a string key");
    }

    #[test]
    fn skipped_containers_report_ranges_and_emptiness() {
        let buf =
            br#"{"a": [ [], {}, [1, {"b": [true]}], {"c": {"d": null}} ], "e": {}, "f": [ ]}"#;
        let obj = validate(buf).unwrap();
        let mut scratch = Vec::new();
        let a = member(buf, obj, b"a", &mut scratch).unwrap();
        assert_eq!(
            a.raw(buf),
            br#"[ [], {}, [1, {"b": [true]}], {"c": {"d": null}} ]"#
        );
        assert!(a.flag && a.kind == Kind::Array);
        assert!(member(buf, obj, b"e", &mut scratch)
            .unwrap()
            .is_empty_container());
        let f = member(buf, obj, b"f", &mut scratch).unwrap();
        assert!(f.is_empty_container() && f.kind == Kind::Array);
        for bad in [
            &br#"{"a": [ {"b": 1, } ]}"#[..],
            br#"{"a": [ {"b" 1} ]}"#,
            br#"{"a": [ {1: 1} ]}"#,
            br#"{"a": [ [1 2] ]}"#,
            br#"{"a": [ [1], ]}"#,
            br#"{"a": [ {"b": [}] ]}"#,
            br#"{"a": [ {"b": 1]} ]}"#,
            br#"{"a": [ [1}, 2 ]}"#,
            br#"{"a": [ [1, 2"#,
        ] {
            assert!(validate(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        #[test]
        fn special_mask_marks_the_first_special_byte(bytes in any::<[u8; 8]>()) {
            let w = u64::from_le_bytes(bytes);
            for (high, mask) in [(false, special_mask::<false>(w)), (true, special_mask::<true>(w))] {
                let first = bytes.iter().position(|&c| is_special(c, high));
                prop_assert_eq!(first, (mask != 0).then(|| (mask.trailing_zeros() / 8) as usize));
            }
        }

        #[test]
        fn agrees_with_serde_json(s in "[\\[\\]{}\":,0-9a-z\\\\ .eE+-]{0,40}") {
            let ours = validate(s.as_bytes()).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&s).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", s);
        }

        #[test]
        fn kernels_agree_with_a_byte_loop(
            bytes in proptest::collection::vec(
                prop_oneof![
                    8 => Just(b'a'),
                    1 => Just(b'"'),
                    1 => Just(b'\\'),
                    1 => 0u8..0x20,
                    1 => 0x80u8..=0xff,
                    1 => any::<u8>(),
                ],
                0..100,
            ),
            pos in 0usize..100,
        ) {
            check_kernels(&bytes, pos.min(bytes.len()));
        }

        #[test]
        fn strings_agree_with_serde_json(
            body in proptest::collection::vec(
                prop_oneof![
                    6 => Just(b'a'),
                    1 => Just(b'"'),
                    2 => Just(b'\\'),
                    1 => prop::sample::select(&b"u0123456789abcdefABCDEFnrtbf/dD8"[..]),
                    1 => any::<u8>(),
                ],
                0..48,
            ),
            shift in 0usize..16,
        ) {
            let mut doc = vec![b' '; shift];
            doc.push(b'"');
            doc.extend_from_slice(&body);
            doc.push(b'"');
            let ours = validate(&doc).is_ok();
            let theirs = serde_json::from_slice::<serde_json::Value>(&doc).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", doc);
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
