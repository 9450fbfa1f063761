//! The protocol's primitive types: fixed-width integers, zig-zag varints,
//! unsigned varints, strings and bytes (classic, nullable and compact),
//! arrays, tagged fields and UUIDs.
//!
//! Decoding reads from a `Bytes` and advances it; strings and byte fields come
//! out as views into the input (no copy). Every read checks the remaining
//! length first and never allocates from a length prefix beyond what remains.
//!
//! Encoding writes to a [`Sink`], which is a `BytesMut`, a `Vec<u8>` or a
//! [`VectoredSink`] (that keeps large shared payloads, such as sealed record
//! batches, as separate chunks for `writev`).
//!
//! # References
//! - Kafka protocol guide, "Protocol Primitive Types":
//!   <https://kafka.apache.org/protocol#protocol_types>
//! - KIP-482 (flexible versions, compact types, tagged fields)

use std::fmt;
use std::ops::{Deref, Range};

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};

// ---------------------------------------------------------------------------
// Sinks
// ---------------------------------------------------------------------------

/// Somewhere encoded bytes go.
///
/// Only [`Sink::put_slice`] is required; the rest are big-endian helpers.
/// [`Sink::put_shared`] lets a sink keep a refcounted payload without copying.
pub trait Sink {
    /// Appends bytes.
    fn put_slice(&mut self, src: &[u8]);

    /// Appends a shared payload. The default copies; a vectored sink keeps a
    /// reference instead.
    fn put_shared(&mut self, src: &Bytes) {
        self.put_slice(src);
    }

    /// Bytes written so far.
    fn written(&self) -> usize;

    /// Appends one byte.
    fn put_u8(&mut self, v: u8) {
        self.put_slice(&[v]);
    }
    /// Appends an `i8`.
    fn put_i8(&mut self, v: i8) {
        self.put_slice(&v.to_be_bytes());
    }
    /// Appends a boolean as one byte.
    fn put_bool(&mut self, v: bool) {
        self.put_u8(u8::from(v));
    }
    /// Appends a big-endian `i16`.
    fn put_i16(&mut self, v: i16) {
        self.put_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian `u16`.
    fn put_u16(&mut self, v: u16) {
        self.put_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian `i32`.
    fn put_i32(&mut self, v: i32) {
        self.put_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian `u32`.
    fn put_u32(&mut self, v: u32) {
        self.put_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian `i64`.
    fn put_i64(&mut self, v: i64) {
        self.put_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian IEEE-754 `f64`.
    fn put_f64(&mut self, v: f64) {
        self.put_slice(&v.to_be_bytes());
    }
}

impl Sink for BytesMut {
    fn put_slice(&mut self, src: &[u8]) {
        self.extend_from_slice(src);
    }
    fn written(&self) -> usize {
        self.len()
    }
}

impl Sink for Vec<u8> {
    fn put_slice(&mut self, src: &[u8]) {
        self.extend_from_slice(src);
    }
    fn written(&self) -> usize {
        self.len()
    }
}

/// A sink that copies small fields into one buffer and keeps shared payloads
/// of at least `threshold` bytes as their own chunks, ready for `writev`.
///
/// Nothing is frozen until [`VectoredSink::finish`], so a length slot at the
/// start of the owned buffer can still be back-filled.
#[derive(Debug)]
pub struct VectoredSink {
    head: BytesMut,
    parts: Vec<Part>,
    owned_from: usize,
    written: usize,
    threshold: usize,
}

#[derive(Debug)]
enum Part {
    Owned(Range<usize>),
    Shared(Bytes),
}

impl VectoredSink {
    /// Payloads this long or longer are kept by reference by default.
    pub const DEFAULT_THRESHOLD: usize = 512;

    /// A sink with the default threshold.
    pub fn new() -> Self {
        Self::with_threshold(Self::DEFAULT_THRESHOLD)
    }

    /// A sink that keeps shared payloads of `threshold` bytes or more by reference.
    pub fn with_threshold(threshold: usize) -> Self {
        Self {
            head: BytesMut::new(),
            parts: Vec::new(),
            owned_from: 0,
            written: 0,
            threshold,
        }
    }

    /// The owned buffer, for back-filling slots written earlier (offsets count
    /// owned bytes only; shared chunks are not in it).
    pub fn owned_mut(&mut self) -> &mut [u8] {
        &mut self.head[..]
    }

    /// Freezes the owned bytes and returns the chunks in order.
    pub fn finish(mut self) -> Vec<Bytes> {
        self.close_owned();
        let head = self.head.freeze();
        self.parts
            .into_iter()
            .map(|p| match p {
                Part::Owned(r) => head.slice(r),
                Part::Shared(b) => b,
            })
            .collect()
    }

    fn close_owned(&mut self) {
        let end = self.head.len();
        if end > self.owned_from {
            self.parts.push(Part::Owned(self.owned_from..end));
            self.owned_from = end;
        }
    }
}

impl Default for VectoredSink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for VectoredSink {
    fn put_slice(&mut self, src: &[u8]) {
        self.head.extend_from_slice(src);
        self.written += src.len();
    }

    fn put_shared(&mut self, src: &Bytes) {
        if src.len() < self.threshold {
            self.put_slice(src);
            return;
        }
        self.close_owned();
        self.parts.push(Part::Shared(src.clone()));
        self.written += src.len();
    }

    fn written(&self) -> usize {
        self.written
    }
}

// ---------------------------------------------------------------------------
// ByteStr: a UTF-8 view into shared bytes
// ---------------------------------------------------------------------------

/// An immutable UTF-8 string backed by [`Bytes`], so decoding a string is a
/// refcount bump rather than a copy.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteStr(Bytes);

impl ByteStr {
    /// Wraps bytes that are checked to be UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    /// A string from a static literal, without allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // The invariant of the type: the bytes were checked at construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives up the wrapper.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for ByteStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ByteStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<&'static str> for ByteStr {
    fn from(s: &'static str) -> Self {
        Self::from_static(s)
    }
}

impl From<String> for ByteStr {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

// ---------------------------------------------------------------------------
// Tagged fields
// ---------------------------------------------------------------------------

/// A tagged field this codec has no name for, kept verbatim so it round-trips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTaggedField {
    /// The tag.
    pub tag: u32,
    /// The field's bytes.
    pub data: Bytes,
}

/// Unknown tagged fields of one structure, in tag order.
pub type UnknownTaggedFields = Vec<RawTaggedField>;

/// Reads a tagged-field section. `known` is called for each field with its
/// tag and a buffer holding exactly its bytes; it returns `Ok(true)` when it
/// consumed the field (it must then read all of it), `Ok(false)` to keep it as
/// unknown.
pub fn get_tagged_fields<F>(
    buf: &mut Bytes,
    unknown: &mut UnknownTaggedFields,
    mut known: F,
) -> Result<(), DecodeError>
where
    F: FnMut(u32, &mut Bytes) -> Result<bool, DecodeError>,
{
    let n = get_uvarint(buf)? as usize;
    if n > buf.remaining() {
        return Err(DecodeError::InvalidLength {
            what: "tagged fields",
            len: n as i64,
        });
    }
    let mut last: Option<u32> = None;
    for _ in 0..n {
        let tag = get_uvarint(buf)?;
        if last.is_some_and(|l| tag <= l) {
            return Err(DecodeError::Invalid {
                what: "tagged fields",
                reason: "tags not in strictly increasing order",
            });
        }
        last = Some(tag);
        let size = get_uvarint(buf)? as usize;
        let mut data = take(buf, size, "tagged field")?;
        if known(tag, &mut data)? {
            if data.has_remaining() {
                return Err(DecodeError::TrailingBytes {
                    what: "tagged field",
                    left: data.remaining(),
                });
            }
        } else {
            unknown.push(RawTaggedField { tag, data });
        }
    }
    Ok(())
}

/// Skips a tagged-field section, keeping every field as unknown.
pub fn get_unknown_tagged_fields(buf: &mut Bytes) -> Result<UnknownTaggedFields, DecodeError> {
    let mut unknown = Vec::new();
    get_tagged_fields(buf, &mut unknown, |_, _| Ok(false))?;
    Ok(unknown)
}

/// Writes a tagged-field section holding only `unknown`.
pub fn put_unknown_tagged_fields<S: Sink + ?Sized>(sink: &mut S, unknown: &[RawTaggedField]) {
    put_uvarint(sink, unknown.len() as u32);
    for f in unknown {
        put_uvarint(sink, f.tag);
        put_uvarint(sink, f.data.len() as u32);
        sink.put_slice(&f.data);
    }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

#[inline]
fn need(buf: &Bytes, n: usize, what: &'static str) -> Result<(), DecodeError> {
    if buf.remaining() < n {
        Err(DecodeError::Truncated {
            what,
            needed: n - buf.remaining(),
        })
    } else {
        Ok(())
    }
}

/// Splits off exactly `n` bytes, without copying.
#[inline]
pub fn take(buf: &mut Bytes, n: usize, what: &'static str) -> Result<Bytes, DecodeError> {
    need(buf, n, what)?;
    Ok(buf.split_to(n))
}

macro_rules! get_fixed {
    ($name:ident, $t:ty, $get:ident) => {
        #[doc = concat!("Reads a big-endian `", stringify!($t), "`.")]
        #[inline]
        pub fn $name(buf: &mut Bytes) -> Result<$t, DecodeError> {
            need(buf, std::mem::size_of::<$t>(), stringify!($t))?;
            Ok(buf.$get())
        }
    };
}

get_fixed!(get_i8, i8, get_i8);
get_fixed!(get_u8, u8, get_u8);
get_fixed!(get_i16, i16, get_i16);
get_fixed!(get_u16, u16, get_u16);
get_fixed!(get_i32, i32, get_i32);
get_fixed!(get_u32, u32, get_u32);
get_fixed!(get_i64, i64, get_i64);
get_fixed!(get_f64, f64, get_f64);

/// Reads a boolean (any non-zero byte is true).
#[inline]
pub fn get_bool(buf: &mut Bytes) -> Result<bool, DecodeError> {
    Ok(get_u8(buf)? != 0)
}

/// Reads a 16-byte UUID.
#[inline]
pub fn get_uuid(buf: &mut Bytes) -> Result<[u8; 16], DecodeError> {
    need(buf, 16, "uuid")?;
    let mut out = [0u8; 16];
    buf.copy_to_slice(&mut out);
    Ok(out)
}

/// Reads an unsigned varint of at most 5 bytes (32 bits) from a slice,
/// returning the value and the bytes it took.
#[inline]
pub fn read_uvarint(src: &[u8]) -> Result<(u32, usize), DecodeError> {
    let mut value: u32 = 0;
    for i in 0..5 {
        let Some(&b) = src.get(i) else {
            return Err(DecodeError::Truncated {
                what: "varint",
                needed: 1,
            });
        };
        if i == 4 && b > 0x0f {
            return Err(DecodeError::VarintTooLong);
        }
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(DecodeError::VarintTooLong)
}

/// Reads an unsigned varlong of at most 10 bytes (64 bits) from a slice,
/// returning the value and the bytes it took.
#[inline]
pub fn read_uvarlong(src: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let Some(&b) = src.get(i) else {
            return Err(DecodeError::Truncated {
                what: "varlong",
                needed: 1,
            });
        };
        if i == 9 && b > 0x01 {
            return Err(DecodeError::VarintTooLong);
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(DecodeError::VarintTooLong)
}

/// Reads an unsigned varint (32 bits).
#[inline]
pub fn get_uvarint(buf: &mut Bytes) -> Result<u32, DecodeError> {
    let (v, n) = read_uvarint(buf)?;
    buf.advance(n);
    Ok(v)
}

/// Reads an unsigned varlong (64 bits).
#[inline]
pub fn get_uvarlong(buf: &mut Bytes) -> Result<u64, DecodeError> {
    let (v, n) = read_uvarlong(buf)?;
    buf.advance(n);
    Ok(v)
}

/// Reads a zig-zag varint (`i32`).
#[inline]
pub fn get_varint(buf: &mut Bytes) -> Result<i32, DecodeError> {
    get_uvarint(buf).map(zigzag_decode32)
}

/// Reads a zig-zag varlong (`i64`).
#[inline]
pub fn get_varlong(buf: &mut Bytes) -> Result<i64, DecodeError> {
    get_uvarlong(buf).map(zigzag_decode64)
}

/// Zig-zag decoding of a 32-bit value.
#[inline]
pub fn zigzag_decode32(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Zig-zag decoding of a 64-bit value.
#[inline]
pub fn zigzag_decode64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Zig-zag encoding of a 32-bit value.
#[inline]
pub fn zigzag_encode32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Zig-zag encoding of a 64-bit value.
#[inline]
pub fn zigzag_encode64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn to_str(b: Bytes, what: &'static str) -> Result<ByteStr, DecodeError> {
    ByteStr::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8 { what })
}

/// Reads a length for a string/bytes field: `None` for null (-1 or, compact, 0).
fn get_len(
    buf: &mut Bytes,
    flexible: bool,
    wide: bool,
    what: &'static str,
) -> Result<Option<usize>, DecodeError> {
    let len: i64 = if flexible {
        i64::from(get_uvarint(buf)?) - 1
    } else if wide {
        i64::from(get_i32(buf)?)
    } else {
        i64::from(get_i16(buf)?)
    };
    if len < -1 {
        return Err(DecodeError::InvalidLength { what, len });
    }
    if len == -1 {
        return Ok(None);
    }
    let len = len as usize;
    need(buf, len, what)?;
    Ok(Some(len))
}

/// Reads a nullable string (`NULLABLE_STRING`, or `COMPACT_NULLABLE_STRING`
/// when `flexible`).
pub fn get_nullable_string(
    buf: &mut Bytes,
    flexible: bool,
) -> Result<Option<ByteStr>, DecodeError> {
    match get_len(buf, flexible, false, "string")? {
        None => Ok(None),
        Some(n) => to_str(buf.split_to(n), "string").map(Some),
    }
}

/// Reads a string (`STRING`, or `COMPACT_STRING` when `flexible`); null is an error.
pub fn get_string(buf: &mut Bytes, flexible: bool) -> Result<ByteStr, DecodeError> {
    get_nullable_string(buf, flexible)?.ok_or(DecodeError::InvalidLength {
        what: "string",
        len: -1,
    })
}

/// Reads nullable bytes (`NULLABLE_BYTES`, or `COMPACT_NULLABLE_BYTES` when
/// `flexible`).
pub fn get_nullable_bytes(buf: &mut Bytes, flexible: bool) -> Result<Option<Bytes>, DecodeError> {
    match get_len(buf, flexible, true, "bytes")? {
        None => Ok(None),
        Some(n) => Ok(Some(buf.split_to(n))),
    }
}

/// Reads bytes (`BYTES`, or `COMPACT_BYTES` when `flexible`); null is an error.
pub fn get_bytes(buf: &mut Bytes, flexible: bool) -> Result<Bytes, DecodeError> {
    get_nullable_bytes(buf, flexible)?.ok_or(DecodeError::InvalidLength {
        what: "bytes",
        len: -1,
    })
}

/// Reads an array length (`ARRAY` or `COMPACT_ARRAY`): `None` for null.
///
/// The length is checked against the remaining input on the rule that every
/// element takes at least one byte, so a caller may reserve that many.
pub fn get_nullable_array_len(
    buf: &mut Bytes,
    flexible: bool,
) -> Result<Option<usize>, DecodeError> {
    let len: i64 = if flexible {
        i64::from(get_uvarint(buf)?) - 1
    } else {
        i64::from(get_i32(buf)?)
    };
    if len < -1 || len > buf.remaining() as i64 {
        return Err(DecodeError::InvalidLength { what: "array", len });
    }
    Ok(if len == -1 { None } else { Some(len as usize) })
}

/// Reads an array length where null is read as empty.
pub fn get_array_len(buf: &mut Bytes, flexible: bool) -> Result<usize, DecodeError> {
    Ok(get_nullable_array_len(buf, flexible)?.unwrap_or(0))
}

/// Most bytes an array decoder reserves up front; beyond it the vector grows
/// as elements actually decode.
const MAX_PREALLOC_BYTES: usize = 64 * 1024;

/// The capacity to reserve for `n` elements of `T` with `remaining` input
/// bytes: at most one element per remaining byte, and at most
/// [`MAX_PREALLOC_BYTES`] worth of `T`, so a forged count cannot make a large
/// element type reserve many times the size of the input.
fn cautious_capacity<T>(n: usize, remaining: usize) -> usize {
    n.min(remaining)
        .min(MAX_PREALLOC_BYTES / std::mem::size_of::<T>().max(1))
}

/// Reads an array of `n` elements with `f`, reserving at most what the
/// remaining input can hold.
pub fn get_array<T, F>(buf: &mut Bytes, flexible: bool, mut f: F) -> Result<Vec<T>, DecodeError>
where
    F: FnMut(&mut Bytes) -> Result<T, DecodeError>,
{
    let n = get_array_len(buf, flexible)?;
    let mut out = Vec::with_capacity(cautious_capacity::<T>(n, buf.remaining()));
    for _ in 0..n {
        out.push(f(buf)?);
    }
    Ok(out)
}

/// Reads a nullable array of elements with `f`.
pub fn get_nullable_array<T, F>(
    buf: &mut Bytes,
    flexible: bool,
    mut f: F,
) -> Result<Option<Vec<T>>, DecodeError>
where
    F: FnMut(&mut Bytes) -> Result<T, DecodeError>,
{
    let Some(n) = get_nullable_array_len(buf, flexible)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(cautious_capacity::<T>(n, buf.remaining()));
    for _ in 0..n {
        out.push(f(buf)?);
    }
    Ok(Some(out))
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// Bytes an unsigned varint of `v` takes.
#[inline]
pub const fn uvarint_len(v: u32) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// Bytes an unsigned varlong of `v` takes.
#[inline]
pub const fn uvarlong_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Bytes a zig-zag varint of `v` takes.
#[inline]
pub const fn varint_len(v: i32) -> usize {
    uvarint_len(((v << 1) ^ (v >> 31)) as u32)
}

/// Bytes a zig-zag varlong of `v` takes.
#[inline]
pub const fn varlong_len(v: i64) -> usize {
    uvarlong_len(((v << 1) ^ (v >> 63)) as u64)
}

/// Writes an unsigned varint into `dst`, returning the bytes written.
/// `dst` must hold at least [`uvarint_len`] bytes.
#[inline]
pub fn write_uvarint(dst: &mut [u8], mut v: u32) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        dst[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    dst[i] = v as u8;
    i + 1
}

/// Writes an unsigned varlong into `dst`, returning the bytes written.
/// `dst` must hold at least [`uvarlong_len`] bytes.
#[inline]
pub fn write_uvarlong(dst: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        dst[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    dst[i] = v as u8;
    i + 1
}

/// Appends an unsigned varint.
#[inline]
pub fn put_uvarint<S: Sink + ?Sized>(sink: &mut S, v: u32) {
    let mut tmp = [0u8; 5];
    let n = write_uvarint(&mut tmp, v);
    sink.put_slice(&tmp[..n]);
}

/// Appends an unsigned varlong.
#[inline]
pub fn put_uvarlong<S: Sink + ?Sized>(sink: &mut S, v: u64) {
    let mut tmp = [0u8; 10];
    let n = write_uvarlong(&mut tmp, v);
    sink.put_slice(&tmp[..n]);
}

/// Appends a zig-zag varint.
#[inline]
pub fn put_varint<S: Sink + ?Sized>(sink: &mut S, v: i32) {
    put_uvarint(sink, zigzag_encode32(v));
}

/// Appends a zig-zag varlong.
#[inline]
pub fn put_varlong<S: Sink + ?Sized>(sink: &mut S, v: i64) {
    put_uvarlong(sink, zigzag_encode64(v));
}

/// Appends a UUID.
#[inline]
pub fn put_uuid<S: Sink + ?Sized>(sink: &mut S, v: &[u8; 16]) {
    sink.put_slice(v);
}

fn put_len<S: Sink + ?Sized>(
    sink: &mut S,
    len: Option<usize>,
    flexible: bool,
    wide: bool,
    what: &'static str,
) -> Result<(), EncodeError> {
    match len {
        None => {
            if flexible {
                put_uvarint(sink, 0);
            } else if wide {
                sink.put_i32(-1);
            } else {
                sink.put_i16(-1);
            }
        }
        Some(n) => {
            if flexible {
                let v = u32::try_from(n + 1).map_err(|_| EncodeError::TooLong { what, len: n })?;
                put_uvarint(sink, v);
            } else if wide {
                let v = i32::try_from(n).map_err(|_| EncodeError::TooLong { what, len: n })?;
                sink.put_i32(v);
            } else {
                let v = i16::try_from(n).map_err(|_| EncodeError::TooLong { what, len: n })?;
                sink.put_i16(v);
            }
        }
    }
    Ok(())
}

/// Appends a string (`STRING`, or `COMPACT_STRING` when `flexible`).
pub fn put_string<S: Sink + ?Sized>(
    sink: &mut S,
    s: &str,
    flexible: bool,
) -> Result<(), EncodeError> {
    put_len(sink, Some(s.len()), flexible, false, "string")?;
    sink.put_slice(s.as_bytes());
    Ok(())
}

/// Appends a nullable string.
pub fn put_nullable_string<S: Sink + ?Sized>(
    sink: &mut S,
    s: Option<&str>,
    flexible: bool,
) -> Result<(), EncodeError> {
    match s {
        None => put_len(sink, None, flexible, false, "string"),
        Some(s) => put_string(sink, s, flexible),
    }
}

/// Appends bytes (`BYTES`, or `COMPACT_BYTES` when `flexible`). Payloads are
/// handed to [`Sink::put_shared`], so a vectored sink keeps large ones by
/// reference.
pub fn put_bytes<S: Sink + ?Sized>(
    sink: &mut S,
    b: &Bytes,
    flexible: bool,
) -> Result<(), EncodeError> {
    put_len(sink, Some(b.len()), flexible, true, "bytes")?;
    sink.put_shared(b);
    Ok(())
}

/// Appends nullable bytes.
pub fn put_nullable_bytes<S: Sink + ?Sized>(
    sink: &mut S,
    b: Option<&Bytes>,
    flexible: bool,
) -> Result<(), EncodeError> {
    match b {
        None => put_len(sink, None, flexible, true, "bytes"),
        Some(b) => put_bytes(sink, b, flexible),
    }
}

/// Appends an array length (`ARRAY` or `COMPACT_ARRAY`); `None` writes null.
pub fn put_array_len<S: Sink + ?Sized>(
    sink: &mut S,
    len: Option<usize>,
    flexible: bool,
) -> Result<(), EncodeError> {
    match len {
        None => {
            if flexible {
                put_uvarint(sink, 0);
            } else {
                sink.put_i32(-1);
            }
        }
        Some(n) => {
            if flexible {
                let v = u32::try_from(n + 1).map_err(|_| EncodeError::TooLong {
                    what: "array",
                    len: n,
                })?;
                put_uvarint(sink, v);
            } else {
                let v = i32::try_from(n).map_err(|_| EncodeError::TooLong {
                    what: "array",
                    len: n,
                })?;
                sink.put_i32(v);
            }
        }
    }
    Ok(())
}

/// Appends an array, each element written by `f`.
pub fn put_array<S, T, F>(
    sink: &mut S,
    items: &[T],
    flexible: bool,
    mut f: F,
) -> Result<(), EncodeError>
where
    S: Sink + ?Sized,
    F: FnMut(&mut S, &T) -> Result<(), EncodeError>,
{
    put_array_len(sink, Some(items.len()), flexible)?;
    for item in items {
        f(sink, item)?;
    }
    Ok(())
}

/// Appends a nullable array, each element written by `f`.
pub fn put_nullable_array<S, T, F>(
    sink: &mut S,
    items: Option<&[T]>,
    flexible: bool,
    f: F,
) -> Result<(), EncodeError>
where
    S: Sink + ?Sized,
    F: FnMut(&mut S, &T) -> Result<(), EncodeError>,
{
    match items {
        None => put_array_len(sink, None, flexible),
        Some(items) => put_array(sink, items, flexible, f),
    }
}

/// Writes one tagged field whose body is produced by `f` into a sized slot.
///
/// Tagged bodies are small (a few fields); the body is encoded into a small
/// scratch `Vec` to learn its size, since the size precedes it as a varint.
pub fn put_tagged_field<S, F>(sink: &mut S, tag: u32, f: F) -> Result<(), EncodeError>
where
    S: Sink + ?Sized,
    F: FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
{
    let mut body = Vec::new();
    f(&mut body)?;
    put_uvarint(sink, tag);
    put_uvarint(sink, body.len() as u32);
    sink.put_slice(&body);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varint_known_values() {
        // Values from the protocol guide's zig-zag table.
        for (v, enc) in [
            (0i32, &[0x00u8][..]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-2, &[0x03]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out, enc, "encoding {v}");
            assert_eq!(varint_len(v), enc.len());
            let mut b = Bytes::copy_from_slice(enc);
            assert_eq!(get_varint(&mut b).unwrap(), v);
            assert!(b.is_empty());
        }
    }

    #[test]
    fn varint_rejects_overlong() {
        let mut b = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(get_uvarint(&mut b), Err(DecodeError::VarintTooLong));
        let mut b = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x1f]);
        assert_eq!(get_uvarint(&mut b), Err(DecodeError::VarintTooLong));
        let mut b = Bytes::from_static(&[0x80]);
        assert!(matches!(
            get_uvarint(&mut b),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn huge_array_length_is_refused_without_allocating() {
        let mut b = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
        assert!(matches!(
            get_array(&mut b, false, get_i8),
            Err(DecodeError::InvalidLength { .. })
        ));
        let mut b = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(get_array(&mut b, true, get_i8).is_err());
    }

    #[test]
    fn array_reservation_is_bounded_for_large_elements() {
        assert_eq!(cautious_capacity::<u8>(10, 3), 3);
        assert_eq!(
            cautious_capacity::<u8>(1 << 30, 1 << 30),
            MAX_PREALLOC_BYTES
        );
        assert_eq!(cautious_capacity::<[u8; 1024]>(1 << 20, 1 << 20), 64);
        assert_eq!(cautious_capacity::<()>(5, 100), 5);
    }

    #[test]
    fn vectored_sink_keeps_large_payloads_by_reference() {
        let payload = Bytes::from(vec![7u8; 1000]);
        let mut s = VectoredSink::new();
        s.put_i32(0);
        put_bytes(&mut s, &payload, false).unwrap();
        s.put_i16(5);
        let total = s.written();
        s.owned_mut()[..4].copy_from_slice(&(total as i32 - 4).to_be_bytes());
        let chunks = s.finish();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].as_ptr(), payload.as_ptr());
        let flat: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(flat.len(), total);
        assert_eq!(&flat[..4], &(total as i32 - 4).to_be_bytes());
    }

    proptest! {
        #[test]
        fn varlong_round_trip(v: i64) {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            prop_assert_eq!(out.len(), varlong_len(v));
            let mut b = Bytes::from(out);
            prop_assert_eq!(get_varlong(&mut b).unwrap(), v);
        }

        #[test]
        fn varint_round_trip(v: i32) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            prop_assert_eq!(out.len(), varint_len(v));
            let mut b = Bytes::from(out);
            prop_assert_eq!(get_varint(&mut b).unwrap(), v);
        }

        #[test]
        fn strings_round_trip(s in ".{0,40}", n in proptest::option::of(".{0,10}"), flexible: bool) {
            let mut out = Vec::new();
            put_string(&mut out, &s, flexible).unwrap();
            put_nullable_string(&mut out, n.as_deref(), flexible).unwrap();
            let mut b = Bytes::from(out);
            let got = get_string(&mut b, flexible).unwrap();
            prop_assert_eq!(got.as_str(), s.as_str());
            prop_assert_eq!(get_nullable_string(&mut b, flexible).unwrap().map(|s| s.to_string()), n);
            prop_assert!(b.is_empty());
        }

        #[test]
        fn primitives_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64), flexible: bool) {
            let b = Bytes::from(data);
            let _ = get_string(&mut b.clone(), flexible);
            let _ = get_nullable_bytes(&mut b.clone(), flexible);
            let _ = get_array(&mut b.clone(), flexible, get_i32);
            let _ = get_unknown_tagged_fields(&mut b.clone());
            let _ = get_varlong(&mut b.clone());
        }
    }
}
