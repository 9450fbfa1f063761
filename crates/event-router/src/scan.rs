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
//! The same loop reports every value in a container to a [`Sink`] for a
//! caller that indexes it (the Avro view's builder).
//! Nesting is limited to [`MAX_DEPTH`].
//!
//! # References
//! - RFC 8259, The JavaScript Object Notation (JSON) Data Interchange Format.

use std::fmt;
use std::num::NonZeroU64;

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
#[repr(u8)]
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
///
/// Held as two words: the range (`start` in the low half, `end` in the
/// high) and the kind with the flag. A value is then passed and returned in
/// two registers, and when it does go through memory it is written and read
/// back whole. As four fields (12 bytes) it was returned through memory,
/// written a field at a time and read back a word at a time: loads the CPU
/// cannot forward from the pending stores, each a stall.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Val {
    range: u64,
    /// `kind + 1` in the low byte (never zero, so `Option<Val>` needs no
    /// extra word), the flag in bit 8.
    tag: NonZeroU64,
}

impl Default for Val {
    fn default() -> Self {
        Self::new(Kind::default(), 0, 0, false)
    }
}

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Val")
            .field("kind", &self.kind())
            .field("start", &self.start())
            .field("end", &self.end())
            .field("flag", &self.flag())
            .finish()
    }
}

impl Val {
    /// A value of `kind` over bytes `start..end`. `flag`: for strings, the
    /// contents hold at least one backslash escape; for objects and arrays,
    /// at least one member or element.
    #[inline(always)]
    pub fn new(kind: Kind, start: u32, end: u32, flag: bool) -> Self {
        let tag = (kind as u64 + 1) | (u64::from(flag) << 8);
        Self {
            range: u64::from(start) | (u64::from(end) << 32),
            tag: NonZeroU64::new(tag).unwrap_or(NonZeroU64::MIN),
        }
    }

    #[inline(always)]
    pub fn kind(&self) -> Kind {
        match self.tag.get() & 0xff {
            1 => Kind::Object,
            2 => Kind::Array,
            3 => Kind::String,
            4 => Kind::Number,
            5 => Kind::True,
            6 => Kind::False,
            _ => Kind::Null,
        }
    }

    #[inline(always)]
    pub fn start(&self) -> u32 {
        self.range as u32
    }

    #[inline(always)]
    pub fn end(&self) -> u32 {
        (self.range >> 32) as u32
    }

    /// For strings: the contents hold at least one backslash escape. For
    /// objects and arrays: at least one member or element.
    #[inline(always)]
    pub fn flag(&self) -> bool {
        self.tag.get() & 0x100 != 0
    }

    /// The bytes of the value as written.
    pub fn raw<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start() as usize..self.end() as usize)
            .unwrap_or_default()
    }

    /// For a string, the contents between the quotes (still escaped).
    pub fn str_body<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start() as usize + 1..(self.end() as usize).saturating_sub(1))
            .unwrap_or_default()
    }

    pub fn is_string(&self) -> bool {
        self.kind() == Kind::String
    }

    /// A string with an escape.
    pub fn escaped(&self) -> bool {
        self.kind() == Kind::String && self.flag()
    }

    /// An object or array with no members or elements.
    #[cfg(test)]
    pub fn is_empty_container(&self) -> bool {
        matches!(self.kind(), Kind::Object | Kind::Array) && !self.flag()
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
    let Some(chunk) = buf.get(pos..).and_then(|b| b.first_chunk::<16>()) else {
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

/// Whether `c` is whitespace in the JSON grammar.
#[inline(always)]
fn is_ws(c: Option<u8>) -> bool {
    matches!(c, Some(b' ' | b'\n' | b'\r' | b'\t'))
}

/// The first position at or after `pos` that is not whitespace (pretty-printed
/// input: runs of spaces are skipped eight at a time).
#[cold]
#[inline(never)]
fn ws_end(buf: &[u8], mut pos: usize) -> usize {
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
    pos
}

/// The closing quote of the string opened at `start` when it is among the
/// first 47 bytes after it, with nothing before it that needs a closer look
/// (most strings are that short); otherwise `Err` with a position before which
/// no byte is special (see [`quick_close`]).
#[inline(always)]
fn close_quote(buf: &[u8], start: usize) -> Result<usize, usize> {
    // The first block is loaded at the opening quote itself, with that quote
    // masked out: callers have read it, so only the block's end needs a
    // bounds check.
    #[cfg(target_arch = "x86_64")]
    if let Some(chunk) = buf.get(start..).and_then(|b| b.first_chunk::<16>()) {
        let mask = sse2::special_mask(chunk) & !1;
        if mask == 0 {
            return match quick_close(buf, start + 16) {
                Err(next) if next == start + 32 => quick_close(buf, next),
                other => other,
            };
        }
        let i = mask.trailing_zeros() as usize & 15;
        return if chunk[i] == b'"' {
            Ok(start + i)
        } else {
            Err(start + i)
        };
    }
    match quick_close(buf, start + 1) {
        Err(next) if next == start + 17 => match quick_close(buf, next) {
            Err(next) if next == start + 33 => quick_close(buf, next),
            other => other,
        },
        other => other,
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

/// What [`Scanner::container_into`] reports of the values inside the
/// container it scans, in document order. Positions are byte offsets into
/// the scanner's input; string ranges include the quotes.
pub(crate) trait Sink {
    /// An object (`object`) or array opens at the cursor.
    fn open(&mut self, object: bool);
    /// The innermost open object or array closes.
    fn close(&mut self, object: bool);
    /// A string, or an object member's key: `start..end`, and whether its
    /// contents hold a backslash escape.
    fn string(&mut self, start: usize, end: usize, escaped: bool);
    /// A number that passed the grammar. `Err` stops the scan (the sink
    /// says why).
    fn number(&mut self, start: usize, end: usize) -> Result<(), Stop>;
    /// `true`, `false` or `null`.
    fn literal(&mut self, kind: Kind);
}

/// The [`Sink`] of a container that is only validated and skipped.
struct Skip;

impl Sink for Skip {
    #[inline(always)]
    fn open(&mut self, _object: bool) {}
    #[inline(always)]
    fn close(&mut self, _object: bool) {}
    #[inline(always)]
    fn string(&mut self, _start: usize, _end: usize, _escaped: bool) {}
    #[inline(always)]
    fn number(&mut self, _start: usize, _end: usize) -> Result<(), Stop> {
        Ok(())
    }
    #[inline(always)]
    fn literal(&mut self, _kind: Kind) {}
}

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
        self.pos = ws_end(self.buf, self.pos);
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
    /// it (see [`Scanner::walk`]).
    #[inline(never)]
    fn container(&mut self, depth: u32) -> Result<Val, Stop> {
        self.walk(depth, &mut Skip)
    }

    /// Scans the object or array at the cursor (after optional whitespace)
    /// like [`Scanner::value`], reporting each value and key inside it,
    /// itself included, to `sink`.
    #[inline(always)]
    pub(crate) fn container_into<S: Sink>(
        &mut self,
        depth: u32,
        sink: &mut S,
    ) -> Result<Val, Stop> {
        self.skip_ws();
        match self.buf.get(self.pos) {
            Some(b'{' | b'[') => self.walk(depth, sink),
            _ => Err(self.err("expected an object or array")),
        }
    }

    /// The object or array at the cursor: one loop over the whole value,
    /// with the kinds of the open containers kept as bits, instead of a
    /// call per nested value; what is in it goes to `sink` (nothing, for
    /// [`Scanner::container`]).
    ///
    /// The position is kept in a local and stored only before calls that
    /// need it and on return, so the hot path works in registers. Each step
    /// tests the byte that minified JSON has there first (`"` for a key or
    /// value, `,` after a value) and whitespace only when that fails.
    #[inline(always)]
    fn walk<S: Sink>(&mut self, depth: u32, sink: &mut S) -> Result<Val, Stop> {
        let buf = self.buf;
        let start = self.pos;
        let outer = if buf.get(start) == Some(&b'{') {
            Kind::Object
        } else {
            Kind::Array
        };
        // Containers this call may open before reaching the nesting limit.
        let room = MAX_DEPTH.saturating_sub(depth);
        // Bit 0 is the innermost open container (1: object), bit 1 the one
        // around it, and so on; `level` containers are open. `room` keeps
        // `level` at or below 128.
        let mut objects: u128 = 0;
        let mut level: u32 = 0;
        let mut any = false;
        let mut pos = start;
        'value: loop {
            // At a value or whitespace before it; strings, the most common
            // values, first. Scalars are only ever inside an open container,
            // so `level` is at least 1 after one.
            let c = buf.get(pos).copied();
            if c == Some(b'"') {
                pos = self.skip_string(buf, pos, sink)?;
            } else {
                match c {
                    Some(open @ (b'{' | b'[')) => {
                        if level >= room {
                            return Err(self.err_at(pos, "nesting too deep"));
                        }
                        pos += 1;
                        level += 1;
                        let object = open == b'{';
                        sink.open(object);
                        objects = (objects << 1) | u128::from(object);
                        let close = if object { b'}' } else { b']' };
                        if is_ws(buf.get(pos).copied()) {
                            pos = ws_end(buf, pos);
                        }
                        if buf.get(pos) != Some(&close) {
                            any |= level == 1;
                            if object {
                                pos = self.key_at(buf, pos, sink)?;
                            }
                            continue 'value;
                        }
                        sink.close(object);
                        pos += 1;
                        level -= 1;
                        objects >>= 1;
                        if level == 0 {
                            break 'value;
                        }
                    }
                    Some(b'-' | b'0'..=b'9') => {
                        let end = self.number_at(buf, pos)?;
                        if sink.number(pos, end).is_err() {
                            return Err(self.err_at(pos, "number out of range"));
                        }
                        pos = end;
                    }
                    Some(b't') => {
                        pos = self.literal_at(pos, b"true")?;
                        sink.literal(Kind::True);
                    }
                    Some(b'f') => {
                        pos = self.literal_at(pos, b"false")?;
                        sink.literal(Kind::False);
                    }
                    Some(b'n') => {
                        pos = self.literal_at(pos, b"null")?;
                        sink.literal(Kind::Null);
                    }
                    Some(b' ' | b'\n' | b'\r' | b'\t') => {
                        pos = ws_end(buf, pos);
                        continue 'value;
                    }
                    None => return Err(self.err_at(pos, "unexpected end of input")),
                    Some(_) => return Err(self.err_at(pos, "expected a JSON value")),
                }
            }
            // After a value, with `level` >= 1: close containers until a `,`
            // starts the next value.
            loop {
                let c = buf.get(pos).copied();
                let object = objects & 1 != 0;
                if c == Some(b',') {
                    pos += 1;
                    if object {
                        pos = self.key_at(buf, pos, sink)?;
                    }
                    continue 'value;
                }
                if c == Some(if object { b'}' } else { b']' }) {
                    sink.close(object);
                    pos += 1;
                    level -= 1;
                    objects >>= 1;
                    if level == 0 {
                        break 'value;
                    }
                } else if is_ws(c) {
                    pos = ws_end(buf, pos);
                } else if object {
                    return Err(self.err_at(pos, "expected `,` or `}`"));
                } else {
                    return Err(self.err_at(pos, "expected `,` or `]`"));
                }
            }
        }
        self.pos = pos;
        Ok(Val::new(outer, start as u32, pos as u32, any))
    }

    /// [`Scanner::err`] at `pos`.
    #[cold]
    fn err_at(&mut self, pos: usize, what: &'static str) -> Stop {
        self.pos = pos;
        self.err(what)
    }

    /// For [`Scanner::walk`]: skips the string whose opening quote is at
    /// `start` in `buf` (the scanner's input), reports it to `sink` and
    /// returns the position after it.
    #[inline(always)]
    fn skip_string<S: Sink>(
        &mut self,
        buf: &'a [u8],
        start: usize,
        sink: &mut S,
    ) -> Result<usize, Stop> {
        match close_quote(buf, start) {
            Ok(close) => {
                sink.string(start, close + 1, false);
                Ok(close + 1)
            }
            Err(next) => {
                let v = self.string_from(start, next)?;
                sink.string(start, self.pos, v.flag());
                Ok(self.pos)
            }
        }
    }

    /// For [`Scanner::walk`]: an object member's key (reported to `sink`)
    /// and the `:` after it, from `pos` in `buf` (the scanner's input); the
    /// position after the `:`.
    #[inline(always)]
    fn key_at<S: Sink>(
        &mut self,
        buf: &'a [u8],
        mut pos: usize,
        sink: &mut S,
    ) -> Result<usize, Stop> {
        if buf.get(pos) != Some(&b'"') {
            if is_ws(buf.get(pos).copied()) {
                pos = ws_end(buf, pos);
            }
            if buf.get(pos) != Some(&b'"') {
                return Err(self.err_at(pos, "expected a string key"));
            }
        }
        pos = self.skip_string(buf, pos, sink)?;
        if buf.get(pos) != Some(&b':') {
            if is_ws(buf.get(pos).copied()) {
                pos = ws_end(buf, pos);
            }
            if buf.get(pos) != Some(&b':') {
                return Err(self.err_at(pos, "expected `:`"));
            }
        }
        Ok(pos + 1)
    }

    /// For [`Scanner::walk`]: the literal `word` at `pos`; the position
    /// after it.
    #[inline(always)]
    fn literal_at(&mut self, pos: usize, word: &'static [u8]) -> Result<usize, Stop> {
        if self.buf.get(pos..pos + word.len()) != Some(word) {
            return Err(self.err_at(pos, "invalid literal"));
        }
        Ok(pos + word.len())
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
        Ok(Val::new(Kind::Object, start as u32, self.pos as u32, any))
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
        Ok(Val::new(Kind::Array, start as u32, self.pos as u32, any))
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
        match close_quote(self.buf, start) {
            Ok(close) => {
                self.pos = close + 1;
                Ok(Val::new(Kind::String, start as u32, self.pos as u32, false))
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
                    return Ok(Val::new(
                        Kind::String,
                        start as u32,
                        self.pos as u32,
                        escaped,
                    ));
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

    #[inline(always)]
    fn number(&mut self) -> Result<Val, Stop> {
        let start = self.pos;
        self.pos = self.number_at(self.buf, start)?;
        Ok(Val::new(Kind::Number, start as u32, self.pos as u32, false))
    }

    /// The number at `pos` in `buf` (the scanner's input); the position
    /// after it.
    #[inline(always)]
    fn number_at(&mut self, buf: &'a [u8], mut pos: usize) -> Result<usize, Stop> {
        if buf.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match buf.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => pos = digits_end(buf, pos + 1),
            _ => return Err(self.err_at(pos, "invalid number")),
        }
        if buf.get(pos) == Some(&b'.') {
            pos += 1;
            let end = digits_end(buf, pos);
            if end == pos {
                return Err(self.err_at(pos, "invalid number fraction"));
            }
            pos = end;
        }
        if let Some(b'e' | b'E') = buf.get(pos) {
            pos += 1;
            if let Some(b'+' | b'-') = buf.get(pos) {
                pos += 1;
            }
            let end = digits_end(buf, pos);
            if end == pos {
                return Err(self.err_at(pos, "invalid number exponent"));
            }
            pos = end;
        }
        Ok(pos)
    }

    fn literal(&mut self, word: &'static [u8], kind: Kind) -> Result<Val, Stop> {
        let start = self.pos;
        self.pos = self.literal_at(start, word)?;
        Ok(Val::new(kind, start as u32, self.pos as u32, false))
    }
}

/// The first position at or after `pos` that does not hold a digit.
#[inline(always)]
fn digits_end(buf: &[u8], mut pos: usize) -> usize {
    while let Some(b'0'..=b'9') = buf.get(pos) {
        pos += 1;
    }
    pos
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
    if obj.kind() != Kind::Object || !obj.flag() {
        return None;
    }
    let mut found = None;
    let mut s = Scanner::at(buf, obj.start() as usize);
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
        check_close_quote(buf.get(pos..).unwrap_or_default());
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

    /// [`close_quote`] on a string opened before `body`, against
    /// [`first_special`].
    fn check_close_quote(body: &[u8]) {
        let mut buf = vec![b'"'];
        buf.extend_from_slice(body);
        let want = first_special(&buf, 1, true);
        match close_quote(&buf, 0) {
            Ok(close) => {
                assert_eq!(close, want, "{buf:?}");
                assert_eq!(buf[close], b'"');
            }
            Err(next) => {
                assert!((1..=want).contains(&next), "{buf:?}: {next} > {want}");
                // A closing quote within the first 47 bytes, with all 48
                // bytes of the three blocks there, is found.
                let quote_first = want < buf.len() && buf[want] == b'"' && want < 48;
                assert!(!(buf.len() >= 49 && quote_first), "{buf:?}");
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
                    assert_eq!(string.end() as usize, doc.len() - 1);
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
        assert!(a.flag() && a.kind() == Kind::Array);
        assert!(member(buf, obj, b"e", &mut scratch)
            .unwrap()
            .is_empty_container());
        let f = member(buf, obj, b"f", &mut scratch).unwrap();
        assert!(f.is_empty_container() && f.kind() == Kind::Array);
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

    /// The positions of `doc` between two tokens (or at either end), where
    /// JSON admits whitespace.
    fn token_boundaries(doc: &[u8]) -> Vec<usize> {
        let structural = |c: u8| b"{}[]:,".contains(&c);
        let mut in_string = false;
        let mut escaped = false;
        let mut out = vec![0];
        for (i, &c) in doc.iter().enumerate() {
            let was_in_string = in_string;
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == b'"' {
                    in_string = false;
                }
            } else if c == b'"' {
                in_string = true;
            }
            let next = doc.get(i + 1).copied();
            let ends_token = structural(c) || (was_in_string && !in_string);
            if !in_string && (ends_token || next.is_none_or(|n| structural(n) || n == b'"')) {
                out.push(i + 1);
            }
        }
        out
    }

    #[test]
    fn skipped_containers_take_whitespace_at_every_token_boundary() {
        let doc = r#"{"a":{"k":"v","n":-1.5e3,"e":{},"l":[],"t":[true,false,null,"s\"",{"x":[0]}]},"b":[1,{"c":"d"}]}"#;
        for ws in [" ", "\n", "\t\r", "         ", " \n        \t"] {
            for at in token_boundaries(doc.as_bytes()) {
                let text = format!("{}{ws}{}", &doc[..at], &doc[at..]);
                let v = validate(text.as_bytes());
                assert!(v.is_ok(), "{text:?}: {v:?}");
                let mut scratch = Vec::new();
                let a = member(text.as_bytes(), v.unwrap(), b"a", &mut scratch).unwrap();
                assert!(a.kind() == Kind::Object && a.flag(), "{text:?}");
                let raw = a.raw(text.as_bytes());
                assert!(raw.starts_with(b"{") && raw.ends_with(b"}"), "{text:?}");
            }
        }
    }

    #[test]
    fn skipped_containers_report_errors_where_they_are() {
        // (document, what, offset): the error offset is that of the byte
        // that is wrong, after any whitespace before it.
        let cases: [(&[u8], &str, usize); 14] = [
            (br#"[{"b" 1}]"#, "expected `:`", 6),
            (br#"[{"b"  :1,  }]"#, "expected a string key", 12),
            (br#"[{"b":1 2}]"#, "expected `,` or `}`", 8),
            (br#"[[1 , 2 3]]"#, "expected `,` or `]`", 8),
            (br#"[{"b":1]]"#, "expected `,` or `}`", 7),
            (br#"[{ 1:2}]"#, "expected a string key", 3),
            (br#"[[1,]]"#, "expected a JSON value", 4),
            (br#"[[1,  "#, "unexpected end of input", 6),
            (br#"[{"b":"#, "unexpected end of input", 6),
            (br#"[[tru]]"#, "invalid literal", 2),
            (br#"[[-x]]"#, "invalid number", 3),
            (br#"[[1.]]"#, "invalid number fraction", 4),
            (br#"[[1e+]]"#, "invalid number exponent", 5),
            (b"[[\"a\x01\"]]", "control character in string", 4),
        ];
        for (doc, what, offset) in cases {
            let e = validate(doc).unwrap_err();
            assert_eq!((e.what, e.offset), (what, offset), "{doc:?}");
            assert!(serde_json::from_slice::<serde_json::Value>(doc).is_err());
        }
    }

    #[test]
    fn numbers_and_literals_at_the_end_of_input() {
        for text in [
            "[0",
            "[-0",
            "[12",
            "[1.5",
            "[1e5",
            "[1E+5",
            "[-1.25e-3",
            "[true",
            "[null",
            "[false",
            "{\"a\":7",
            "{\"a\":[7",
            "[1.",
            "[1e",
            "[1e-",
            "[-",
            "[tr",
            "[0.0",
        ] {
            // Cut off inside the container: never accepted.
            assert!(validate(text.as_bytes()).is_err(), "{text:?}");
            let closed = if text.starts_with("{\"a\":[") {
                format!("{text}]}}")
            } else if text.starts_with('{') {
                format!("{text}}}")
            } else {
                format!("{text}]")
            };
            assert_eq!(
                validate(closed.as_bytes()).is_ok(),
                serde_json::from_str::<serde_json::Value>(&closed).is_ok(),
                "{closed:?}"
            );
        }
    }

    #[test]
    fn nesting_limit_holds_inside_skipped_containers() {
        let depth = MAX_DEPTH as usize;
        // Objects and arrays alternating, as values of members and elements.
        let nested = |n: usize| {
            let mut open = String::new();
            let mut close = String::new();
            for i in 0..n {
                if i % 2 == 0 {
                    open.push_str("{\"k\": ");
                    close.insert(0, '}');
                } else {
                    open.push_str("[1, ");
                    close.insert(0, ']');
                }
            }
            (open, close)
        };
        let (open, close) = nested(depth);
        assert!(validate(format!("{open}0{close}").as_bytes()).is_ok());
        let (open, close) = nested(depth + 1);
        let e = validate(format!("{open}0{close}").as_bytes()).unwrap_err();
        assert_eq!(e.what, "nesting too deep");
        // The offset is that of the first container beyond the limit.
        let (inner, _) = nested(depth);
        assert_eq!(e.offset, inner.len());
        // A skipped container that starts deeper counts from there.
        let (open, close) = nested(depth - 1);
        let mut s = Scanner::at(open.as_bytes(), 0);
        assert!(s.value(1).is_err());
        let text = format!("{open}0{close}");
        let mut s = Scanner::at(text.as_bytes(), 0);
        assert!(s.value(1).is_ok());
        let mut s = Scanner::at(text.as_bytes(), 0);
        assert!(s.value(2).is_err());
        assert_eq!(s.error().what, "nesting too deep");
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
