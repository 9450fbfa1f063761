//! Record batch v2 (magic 2): an encoder that writes records straight into
//! the batch buffer and back-fills the header, and a lazy, zero-copy view.
//!
//! ```text
//! offset  field
//!  0      baseOffset            i64
//!  8      batchLength           i32   bytes after this field
//! 12      partitionLeaderEpoch  i32
//! 16      magic                 i8    = 2
//! 17      crc                   u32   CRC-32C of bytes 21..end
//! 21      attributes            i16
//! 23      lastOffsetDelta       i32
//! 27      baseTimestamp         i64
//! 35      maxTimestamp          i64
//! 43      producerId            i64
//! 51      producerEpoch         i16
//! 53      baseSequence          i32
//! 57      recordCount           i32
//! 61      records...
//! ```
//!
//! Each record is `length varint, attributes i8, timestampDelta varlong,
//! offsetDelta varint, key (varint length, -1 = null), value (same), header
//! count varint, headers (key varint length + bytes, value varint length +
//! bytes, -1 = null)`.
//!
//! The encoder computes each record's size arithmetically, so it writes the
//! length prefix first and never encodes into a temporary buffer; the batch
//! header is reserved up front and back-filled when the batch is sealed.
//!
//! # References
//! - Kafka protocol guide / documentation, "Record Batch":
//!   <https://kafka.apache.org/documentation/#recordbatch>
//! - KIP-98 (idempotent producer fields), KIP-32 (timestamps), KIP-82 (headers)

use std::mem::MaybeUninit;

use bytes::{BufMut, Bytes, BytesMut};

use crate::compression::{Compressor, Decompressor};
use crate::crc::{crc32c, crc32c_append, crc32c_concat};
use crate::error::DecodeError;
use crate::primitives::{
    read_uvarint, read_uvarlong, varint_len, varlong_len, zigzag_decode32, zigzag_decode64,
    zigzag_encode32, zigzag_encode64,
};

/// The codec of attribute bits 0–2, defined in [`crate::compression`].
pub use crate::compression::Compression;

/// Size of the batch header, up to the first record.
pub const BATCH_HEADER_LEN: usize = 61;
/// The magic byte of record batch v2.
pub const MAGIC_V2: i8 = 2;
/// Bytes before `batchLength` counts (baseOffset and batchLength).
pub const LOG_OVERHEAD: usize = 12;

const OFF_BASE_OFFSET: usize = 0;
const OFF_LENGTH: usize = 8;
const OFF_LEADER_EPOCH: usize = 12;
const OFF_MAGIC: usize = 16;
const OFF_CRC: usize = 17;
const OFF_ATTRIBUTES: usize = 21;
const OFF_LAST_OFFSET_DELTA: usize = 23;
const OFF_BASE_TIMESTAMP: usize = 27;
const OFF_MAX_TIMESTAMP: usize = 35;
const OFF_PRODUCER_ID: usize = 43;
const OFF_PRODUCER_EPOCH: usize = 51;
const OFF_BASE_SEQUENCE: usize = 53;
const OFF_RECORD_COUNT: usize = 57;

/// Timestamp type, attribute bit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker when appending.
    LogAppendTime,
}

/// The attributes field of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Attributes(pub i16);

impl Attributes {
    /// The compression codec (bits 0–2).
    pub const fn compression(self) -> Compression {
        Compression::from_bits((self.0 & 0x07) as u8)
    }
    /// The timestamp type (bit 3).
    pub const fn timestamp_type(self) -> TimestampType {
        if self.0 & 0x08 != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// Whether the batch is part of a transaction (bit 4).
    pub const fn is_transactional(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// Whether the batch holds control records (bit 5).
    pub const fn is_control(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// Whether the base timestamp is a delete horizon (bit 6, KIP-534).
    pub const fn has_delete_horizon(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// These attributes with another compression codec.
    pub const fn with_compression(self, c: Compression) -> Self {
        Self((self.0 & !0x07) | (c.bits() as i16 & 0x07))
    }
    /// These attributes with the transactional bit set or cleared.
    pub const fn with_transactional(self, on: bool) -> Self {
        if on {
            Self(self.0 | 0x10)
        } else {
            Self(self.0 & !0x10)
        }
    }
}

/// The idempotence fields of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerFields {
    /// The producer id, or -1 without idempotence.
    pub producer_id: i64,
    /// The producer epoch, or -1.
    pub producer_epoch: i16,
    /// The sequence number of the first record, or -1.
    pub base_sequence: i32,
}

impl ProducerFields {
    /// The fields of a non-idempotent batch.
    pub const NONE: Self = Self {
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
    };
}

impl Default for ProducerFields {
    fn default() -> Self {
        Self::NONE
    }
}

/// A record header to write: a string key and an optional value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// The header key (UTF-8 by convention; not checked).
    pub key: &'a [u8],
    /// The header value, or null.
    pub value: Option<&'a [u8]>,
}

impl<'a> HeaderRef<'a> {
    /// A header with a value.
    pub fn new(key: &'a str, value: &'a [u8]) -> Self {
        Self {
            key: key.as_bytes(),
            value: Some(value),
        }
    }
}

#[inline]
fn bytes_field_len(b: Option<&[u8]>) -> usize {
    len_field_len(b.map(<[u8]>::len))
}

/// The size of a bytes field of `n` bytes (`None`: null).
#[inline]
fn len_field_len(n: Option<usize>) -> usize {
    match n {
        None => 1,
        Some(n) => varint_len(n as i32) + n,
    }
}

/// The total length of a value given as parts (saturating: parts may
/// repeat a slice).
#[inline]
fn parts_len(parts: &[&[u8]]) -> usize {
    parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()))
}

/// The size of a record's body (after its length prefix).
#[inline]
fn record_body_len(
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value_len: Option<usize>,
    headers: &[HeaderRef<'_>],
) -> usize {
    let mut n = 1 // attributes
        + varlong_len(timestamp_delta)
        + varint_len(offset_delta)
        + bytes_field_len(key)
        + len_field_len(value_len)
        + varint_len(headers.len() as i32);
    for h in headers {
        n += varint_len(h.key.len() as i32) + h.key.len() + bytes_field_len(h.value);
    }
    n
}

/// Why a record could not be appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// A key, value or header is larger than a record field can hold.
    #[error("record field too large ({0} bytes)")]
    FieldTooLarge(usize),
    /// The batch already holds `i32::MAX` records.
    #[error("batch is full")]
    BatchFull,
}

/// Writes one record batch v2 into an owned buffer.
///
/// Call [`Self::append`] for each record, then [`Self::seal`] to back-fill
/// the header and CRC and get the batch as `Bytes`. The buffer can come from a
/// pool: pass a cleared `BytesMut` with enough capacity to avoid growth.
#[derive(Debug)]
pub struct BatchBuilder {
    buf: BytesMut,
    attributes: Attributes,
    base_timestamp: i64,
    max_timestamp: i64,
    count: i32,
    /// Whether the records' checksum is kept as they are written.
    running_crc: bool,
    /// The CRC-32C of the records from the header's end up to `crc_end`.
    records_crc: u32,
    crc_end: usize,
}

impl BatchBuilder {
    /// Starts a batch in `buf` (cleared first) with no compression.
    pub fn new(mut buf: BytesMut) -> Self {
        buf.clear();
        buf.reserve(BATCH_HEADER_LEN);
        buf.put_bytes(0, BATCH_HEADER_LEN);
        Self {
            buf,
            attributes: Attributes::default(),
            base_timestamp: 0,
            max_timestamp: -1,
            count: 0,
            running_crc: true,
            records_crc: 0,
            crc_end: BATCH_HEADER_LEN,
        }
    }

    /// Whether to checksum the records as they are written, a few KiB at a
    /// time while they are still in the cache (the default), rather than in
    /// one pass when the batch is sealed. A batch that will be sealed
    /// compressed (see [`Self::seal_compressed`]) is checksummed over its
    /// compressed bytes, so the running checksum would be wasted work.
    pub fn set_running_crc(&mut self, on: bool) {
        self.running_crc = on;
    }

    /// Takes the records written since the last step into the running
    /// checksum.
    #[inline(never)]
    fn crc_step(&mut self) {
        let steps = (self.buf.len() - self.crc_end) / CRC_STEP;
        let end = self.crc_end + steps * CRC_STEP;
        self.records_crc = crc32c_append(self.records_crc, &self.buf[self.crc_end..end]);
        self.crc_end = end;
    }

    /// The CRC-32C of the whole records section, when it was kept running.
    fn records_crc(&self) -> Option<u32> {
        self.running_crc
            .then(|| crc32c_append(self.records_crc, &self.buf[self.crc_end..]))
    }

    /// Starts a batch in a new buffer of `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::new(BytesMut::with_capacity(capacity.max(BATCH_HEADER_LEN)))
    }

    /// Sets the attributes (the compression bits must say none: this builder
    /// writes records uncompressed).
    pub fn set_attributes(&mut self, attributes: Attributes) {
        self.attributes = attributes.with_compression(Compression::None);
    }

    /// Records appended so far.
    #[inline]
    pub fn count(&self) -> i32 {
        self.count
    }

    /// Whether no record has been appended.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of the batch so far, header included.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The base timestamp: the first record's.
    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// The bytes a record would add to this batch, without writing it.
    #[inline]
    pub fn record_size(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[HeaderRef<'_>],
    ) -> usize {
        self.size_of(timestamp, key, value.map(<[u8]>::len), headers)
    }

    /// As [`Self::record_size`], for a value given as parts written one
    /// after the other (see [`Self::append_parts`]).
    #[inline]
    pub fn record_size_parts(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value_parts: &[&[u8]],
        headers: &[HeaderRef<'_>],
    ) -> usize {
        self.size_of(timestamp, key, Some(parts_len(value_parts)), headers)
    }

    #[inline]
    fn size_of(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value_len: Option<usize>,
        headers: &[HeaderRef<'_>],
    ) -> usize {
        let delta = if self.count == 0 {
            0
        } else {
            timestamp.wrapping_sub(self.base_timestamp)
        };
        let body = record_body_len(delta, self.count, key, value_len, headers);
        varint_len(body as i32) + body
    }

    /// Appends a record: its bytes are written once, straight into the batch.
    /// The first record's timestamp becomes the batch's base timestamp.
    #[inline]
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[HeaderRef<'_>],
    ) -> Result<(), AppendError> {
        self.append_within(usize::MAX, timestamp, key, value, headers)
            .map(|_| ())
    }

    /// As [`Self::append`], but only if the batch, header included, stays
    /// within `max_len` bytes: returns the bytes the record added, or
    /// `None` when it would not fit (nothing is written). The record's size
    /// is computed once, for the check and the encoding both.
    #[inline]
    pub fn append_within(
        &mut self,
        max_len: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[HeaderRef<'_>],
    ) -> Result<Option<usize>, AppendError> {
        let value_len = value.map(<[u8]>::len);
        let parts = value.as_ref().map(std::slice::from_ref);
        self.append_value(max_len, timestamp, key, parts, value_len, headers)
    }

    /// As [`Self::append`], with a (non-null) value given as parts: the
    /// value is their concatenation. Its length is summed up front and each
    /// part is copied once, straight into the batch; the bytes are the same
    /// as [`Self::append`] of the joined value.
    #[inline]
    pub fn append_parts(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value_parts: &[&[u8]],
        headers: &[HeaderRef<'_>],
    ) -> Result<(), AppendError> {
        self.append_parts_within(usize::MAX, timestamp, key, value_parts, headers)
            .map(|_| ())
    }

    /// As [`Self::append_within`], with the value given as parts (see
    /// [`Self::append_parts`]).
    #[inline]
    pub fn append_parts_within(
        &mut self,
        max_len: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value_parts: &[&[u8]],
        headers: &[HeaderRef<'_>],
    ) -> Result<Option<usize>, AppendError> {
        let value_len = Some(parts_len(value_parts));
        self.append_value(
            max_len,
            timestamp,
            key,
            Some(value_parts),
            value_len,
            headers,
        )
    }

    /// Appends a record whose value (`None`: null) is `value` joined, of
    /// `value_len` bytes in all, if the batch stays within `max_len` bytes;
    /// returns the bytes added.
    fn append_value(
        &mut self,
        max_len: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[&[u8]]>,
        value_len: Option<usize>,
        headers: &[HeaderRef<'_>],
    ) -> Result<Option<usize>, AppendError> {
        const MAX_FIELD: usize = i32::MAX as usize / 2;
        let key_len = key.map_or(0, <[u8]>::len);
        let val_len = value_len.unwrap_or(0);
        if key_len > MAX_FIELD || val_len > MAX_FIELD || headers.len() > MAX_FIELD {
            return Err(AppendError::FieldTooLarge(key_len.max(val_len)));
        }
        if self.count == i32::MAX {
            return Err(AppendError::BatchFull);
        }
        let timestamp_delta = if self.count == 0 {
            0
        } else {
            timestamp.wrapping_sub(self.base_timestamp)
        };
        let offset_delta = self.count;
        let body = record_body_len(timestamp_delta, offset_delta, key, value_len, headers);
        if body > MAX_FIELD {
            return Err(AppendError::FieldTooLarge(body));
        }
        let size = varint_len(body as i32) + body;
        if size > max_len.saturating_sub(self.buf.len()) {
            return Ok(None);
        }
        if self.count == 0 {
            self.base_timestamp = timestamp;
        }
        let buf = &mut self.buf;
        buf.reserve(size);
        let start = buf.len();
        let mut w = Spare {
            out: &mut buf.spare_capacity_mut()[..size],
            at: 0,
        };
        w.uvarint(zigzag_encode32(body as i32));
        w.byte(0); // attributes
        w.uvarlong(zigzag_encode64(timestamp_delta));
        w.uvarint(zigzag_encode32(offset_delta));
        w.field(key);
        match value {
            Some(parts) => {
                w.uvarint(zigzag_encode32(val_len as i32));
                for part in parts {
                    w.put(part);
                }
            }
            None => w.byte(0x01),
        }
        w.uvarint(zigzag_encode32(headers.len() as i32));
        for h in headers {
            w.uvarint(zigzag_encode32(h.key.len() as i32));
            w.put(h.key);
            w.field(h.value);
        }
        // The size computed above is what was written: every byte of the
        // reserved `size` is initialised.
        assert_eq!(w.at, size, "record size and encoding disagree");
        #[allow(unsafe_code)]
        // SAFETY: `spare_capacity_mut()[..size]` was written in full (checked
        // just above), so the first `start + size` bytes are initialised.
        unsafe {
            buf.set_len(start + size);
        }
        if self.running_crc && buf.len() - self.crc_end >= CRC_STEP {
            self.crc_step();
        }
        if timestamp > self.max_timestamp || self.count == 0 {
            self.max_timestamp = timestamp;
        }
        self.count += 1;
        Ok(Some(size))
    }

    /// Back-fills the header (base offset 0, partition leader epoch -1) and
    /// the CRC-32C, and returns the finished batch.
    pub fn seal(self, producer: ProducerFields) -> Bytes {
        self.seal_with(0, -1, producer)
    }

    /// Like [`Self::seal`] with an explicit base offset and partition leader
    /// epoch (a broker or a test writes these; a producer sends 0 and -1).
    pub fn seal_with(
        mut self,
        base_offset: i64,
        leader_epoch: i32,
        producer: ProducerFields,
    ) -> Bytes {
        let header = self.header(self.attributes, base_offset, leader_epoch);
        let records_crc = self.records_crc();
        fill_header(&mut self.buf, &header, producer, records_crc);
        self.buf.freeze()
    }

    /// Seals the batch compressed with `compressor`'s codec: the records
    /// section, written uncompressed by [`Self::append`], is compressed once
    /// into a new buffer after a copy of the header, the compression bits
    /// are set, and the header and CRC-32C (over the compressed bytes) are
    /// back-filled. Base offset 0, partition leader epoch -1.
    ///
    /// Returns the batch and this builder's buffer, cleared, to start the
    /// next batch with ([`Self::new`]): a producer that recycles it and
    /// keeps one `Compressor` per worker allocates nothing more per batch
    /// than without compression (the sealed batch's own buffer, which is
    /// sized to the compressed bytes).
    ///
    /// The batch is sealed uncompressed, as by [`Self::seal`], when the
    /// codec is `None`, the batch is empty, compression would not make it
    /// smaller (as librdkafka does), or the codec fails; its attributes
    /// always say which. So a sealed batch is never larger than the
    /// uncompressed one, and the same records and compressor settings give
    /// the same bytes.
    pub fn seal_compressed(
        self,
        producer: ProducerFields,
        compressor: &mut Compressor,
    ) -> SealedBatch {
        let codec = compressor.codec();
        if codec == Compression::None || self.count == 0 {
            return SealedBatch {
                batch: self.seal(producer),
                spare: BytesMut::new(),
            };
        }
        let records = &self.buf[BATCH_HEADER_LEN..];
        match compressor.compress(records) {
            Ok(compressed) if compressed.len() < records.len() => {
                let mut out = BytesMut::with_capacity(BATCH_HEADER_LEN + compressed.len());
                out.put_bytes(0, BATCH_HEADER_LEN);
                out.put_slice(compressed);
                let header = self.header(self.attributes.with_compression(codec), 0, -1);
                fill_header(&mut out, &header, producer, None);
                let mut spare = self.buf;
                spare.clear();
                SealedBatch {
                    batch: out.freeze(),
                    spare,
                }
            }
            _ => SealedBatch {
                batch: self.seal(producer),
                spare: BytesMut::new(),
            },
        }
    }

    fn header(&self, attributes: Attributes, base_offset: i64, leader_epoch: i32) -> HeaderFields {
        HeaderFields {
            base_offset,
            leader_epoch,
            attributes,
            last_offset_delta: (self.count - 1).max(0),
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            count: self.count,
        }
    }
}

/// A batch sealed by [`BatchBuilder::seal_compressed`].
#[derive(Debug)]
pub struct SealedBatch {
    /// The finished batch.
    pub batch: Bytes,
    /// The builder's buffer, cleared, when the batch was written to a new
    /// one (it was compressed); empty (no allocation) otherwise.
    pub spare: BytesMut,
}

/// The header fields a builder back-fills, but the producer fields.
struct HeaderFields {
    base_offset: i64,
    leader_epoch: i32,
    attributes: Attributes,
    last_offset_delta: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    count: i32,
}

/// Back-fills the header of the whole batch in `b` and its CRC, joining the
/// header's checksum to `records_crc` (the records section's) when given.
fn fill_header(b: &mut [u8], h: &HeaderFields, producer: ProducerFields, records_crc: Option<u32>) {
    let batch_length = (b.len() - LOG_OVERHEAD) as i32;
    b[OFF_BASE_OFFSET..OFF_BASE_OFFSET + 8].copy_from_slice(&h.base_offset.to_be_bytes());
    b[OFF_LENGTH..OFF_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    b[OFF_LEADER_EPOCH..OFF_LEADER_EPOCH + 4].copy_from_slice(&h.leader_epoch.to_be_bytes());
    b[OFF_MAGIC] = MAGIC_V2 as u8;
    b[OFF_ATTRIBUTES..OFF_ATTRIBUTES + 2].copy_from_slice(&h.attributes.0.to_be_bytes());
    b[OFF_LAST_OFFSET_DELTA..OFF_LAST_OFFSET_DELTA + 4]
        .copy_from_slice(&h.last_offset_delta.to_be_bytes());
    b[OFF_BASE_TIMESTAMP..OFF_BASE_TIMESTAMP + 8].copy_from_slice(&h.base_timestamp.to_be_bytes());
    b[OFF_MAX_TIMESTAMP..OFF_MAX_TIMESTAMP + 8].copy_from_slice(&h.max_timestamp.to_be_bytes());
    b[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&h.count.to_be_bytes());
    put_producer_fields(b, producer);
    let crc = match records_crc {
        Some(records) => crc32c_concat(
            crc32c(&b[OFF_ATTRIBUTES..BATCH_HEADER_LEN]),
            records,
            b.len() - BATCH_HEADER_LEN,
        ),
        None => crc32c(&b[OFF_ATTRIBUTES..]),
    };
    b[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

fn put_producer_fields(b: &mut [u8], p: ProducerFields) {
    b[OFF_PRODUCER_ID..OFF_PRODUCER_ID + 8].copy_from_slice(&p.producer_id.to_be_bytes());
    b[OFF_PRODUCER_EPOCH..OFF_PRODUCER_EPOCH + 2].copy_from_slice(&p.producer_epoch.to_be_bytes());
    b[OFF_BASE_SEQUENCE..OFF_BASE_SEQUENCE + 4].copy_from_slice(&p.base_sequence.to_be_bytes());
}

/// Writes new producer fields into a sealed batch and recomputes its CRC.
fn write_producer_fields(b: &mut [u8], p: ProducerFields) {
    put_producer_fields(b, p);
    let crc = crc32c(&b[OFF_ATTRIBUTES..]);
    b[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// A copy of a sealed batch with new producer fields and a recomputed CRC:
/// for the rare re-sequencing after an epoch bump or a new producer id.
/// Returns `None` if `batch` is shorter than a batch header.
pub fn restamp(batch: &[u8], producer: ProducerFields) -> Option<Bytes> {
    if batch.len() < BATCH_HEADER_LEN {
        return None;
    }
    let mut copy = BytesMut::from(batch);
    write_producer_fields(&mut copy, producer);
    Some(copy.freeze())
}

/// Bytes of records the running checksum takes in at a time: small enough
/// that they are still in the cache, large enough that the checksum's
/// start-up and tail are a small part of each step.
const CRC_STEP: usize = 3 * 8 * 1024;

/// A writer over the spare capacity reserved for one record.
struct Spare<'a> {
    out: &'a mut [MaybeUninit<u8>],
    at: usize,
}

impl Spare<'_> {
    #[inline(always)]
    fn put(&mut self, s: &[u8]) {
        let dst = &mut self.out[self.at..self.at + s.len()];
        // (`<[MaybeUninit<u8>]>::write_copy_of_slice` is newer than the
        // crate's minimum Rust.)
        #[allow(unsafe_code)]
        // SAFETY: `dst` and `s` are both `s.len()` bytes long (the range
        // above is bounds-checked), and a `&mut` and a `&` slice cannot
        // overlap; writing bytes into `MaybeUninit<u8>` is always valid.
        unsafe {
            std::ptr::copy_nonoverlapping(s.as_ptr(), dst.as_mut_ptr().cast::<u8>(), s.len());
        }
        self.at += s.len();
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.out[self.at].write(b);
        self.at += 1;
    }

    #[inline(always)]
    fn uvarint(&mut self, v: u32) {
        self.uvarlong(u64::from(v));
    }

    #[inline(always)]
    fn uvarlong(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    /// A bytes field: varint length and the bytes, or -1 for null.
    #[inline(always)]
    fn field(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.byte(0x01), // zig-zag(-1)
            Some(b) => {
                self.uvarint(zigzag_encode32(b.len() as i32));
                self.put(b);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The view
// ---------------------------------------------------------------------------

/// A zero-copy view of one record batch v2.
///
/// [`RecordBatch::split`] checks the length and magic; [`Self::verify_crc`]
/// checks the CRC-32C; [`Self::records`] iterates the records lazily (for an
/// uncompressed batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    bytes: Bytes,
}

macro_rules! be {
    ($b:expr, $off:expr, $t:ty) => {{
        const N: usize = std::mem::size_of::<$t>();
        let mut a = [0u8; N];
        a.copy_from_slice(&$b[$off..$off + N]);
        <$t>::from_be_bytes(a)
    }};
}

impl RecordBatch {
    /// Splits one batch off the front of `buf`. Checks that the whole batch
    /// is present, that its length can hold a header, and that the magic is 2.
    pub fn split(buf: &mut Bytes) -> Result<Self, DecodeError> {
        if buf.len() < LOG_OVERHEAD + 5 {
            return Err(DecodeError::Truncated {
                what: "record batch header",
                needed: LOG_OVERHEAD + 5 - buf.len(),
            });
        }
        let magic = buf[OFF_MAGIC] as i8;
        if magic != MAGIC_V2 {
            return Err(DecodeError::UnsupportedMagic(magic));
        }
        let batch_length = be!(buf, OFF_LENGTH, i32);
        let total = i64::from(batch_length) + LOG_OVERHEAD as i64;
        if total < BATCH_HEADER_LEN as i64 {
            return Err(DecodeError::InvalidLength {
                what: "record batch",
                len: i64::from(batch_length),
            });
        }
        let total = total as usize;
        if buf.len() < total {
            return Err(DecodeError::Truncated {
                what: "record batch",
                needed: total - buf.len(),
            });
        }
        Ok(Self {
            bytes: buf.split_to(total),
        })
    }

    /// Views `bytes` as exactly one batch; bytes after it are an error.
    pub fn parse(mut bytes: Bytes) -> Result<Self, DecodeError> {
        let batch = Self::split(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(DecodeError::TrailingBytes {
                what: "record batch",
                left: bytes.len(),
            });
        }
        Ok(batch)
    }

    /// Iterates the batches of a `records` field. A truncated last batch
    /// (which brokers may return to fetches) ends the iteration with an error.
    pub fn iter_all(bytes: Bytes) -> Batches {
        Batches { rest: bytes }
    }

    /// The whole batch.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Checks the stored CRC-32C against the bytes.
    pub fn verify_crc(&self) -> Result<(), DecodeError> {
        let stored = self.crc();
        let computed = crc32c(&self.bytes[OFF_ATTRIBUTES..]);
        if stored == computed {
            Ok(())
        } else {
            Err(DecodeError::CrcMismatch { stored, computed })
        }
    }

    /// `baseOffset`.
    pub fn base_offset(&self) -> i64 {
        be!(self.bytes, OFF_BASE_OFFSET, i64)
    }
    /// `batchLength`.
    pub fn batch_length(&self) -> i32 {
        be!(self.bytes, OFF_LENGTH, i32)
    }
    /// `partitionLeaderEpoch`.
    pub fn partition_leader_epoch(&self) -> i32 {
        be!(self.bytes, OFF_LEADER_EPOCH, i32)
    }
    /// The stored CRC.
    pub fn crc(&self) -> u32 {
        be!(self.bytes, OFF_CRC, u32)
    }
    /// `attributes`.
    pub fn attributes(&self) -> Attributes {
        Attributes(be!(self.bytes, OFF_ATTRIBUTES, i16))
    }
    /// The compression codec.
    pub fn compression(&self) -> Compression {
        self.attributes().compression()
    }
    /// `lastOffsetDelta`.
    pub fn last_offset_delta(&self) -> i32 {
        be!(self.bytes, OFF_LAST_OFFSET_DELTA, i32)
    }
    /// `baseTimestamp`.
    pub fn base_timestamp(&self) -> i64 {
        be!(self.bytes, OFF_BASE_TIMESTAMP, i64)
    }
    /// `maxTimestamp`.
    pub fn max_timestamp(&self) -> i64 {
        be!(self.bytes, OFF_MAX_TIMESTAMP, i64)
    }
    /// `producerId`.
    pub fn producer_id(&self) -> i64 {
        be!(self.bytes, OFF_PRODUCER_ID, i64)
    }
    /// `producerEpoch`.
    pub fn producer_epoch(&self) -> i16 {
        be!(self.bytes, OFF_PRODUCER_EPOCH, i16)
    }
    /// `baseSequence`.
    pub fn base_sequence(&self) -> i32 {
        be!(self.bytes, OFF_BASE_SEQUENCE, i32)
    }
    /// `recordCount` as stored (may disagree with the records: iteration checks).
    pub fn record_count(&self) -> i32 {
        be!(self.bytes, OFF_RECORD_COUNT, i32)
    }
    /// The producer fields.
    pub fn producer_fields(&self) -> ProducerFields {
        ProducerFields {
            producer_id: self.producer_id(),
            producer_epoch: self.producer_epoch(),
            base_sequence: self.base_sequence(),
        }
    }
    /// The bytes after the header: the records, compressed or not.
    pub fn records_bytes(&self) -> Bytes {
        self.bytes.slice(BATCH_HEADER_LEN..)
    }

    /// Iterates the records of an uncompressed batch, lazily and without
    /// copying. A compressed batch is refused here; decompress its
    /// [`Self::records_bytes`] and use [`Records::new`].
    pub fn records(&self) -> Result<Records, DecodeError> {
        match self.compression() {
            Compression::None => Ok(Records::new(self.records_bytes(), self.record_count())),
            c => Err(DecodeError::UnsupportedCompression(c.bits())),
        }
    }

    /// The uncompressed records section: the bytes themselves (no copy) for
    /// an uncompressed batch, else decompressed by `d` (within its size
    /// limit; a codec this build lacks is
    /// [`DecodeError::UnsupportedCompression`]).
    pub fn decompress(&self, d: &mut Decompressor) -> Result<Bytes, DecodeError> {
        match self.compression() {
            Compression::None => Ok(self.records_bytes()),
            c => d.decompress(c, &self.bytes[BATCH_HEADER_LEN..]),
        }
    }

    /// Iterates the records of any batch, compressed or not: like
    /// [`Self::records`] after [`Self::decompress`].
    pub fn records_decompressed(&self, d: &mut Decompressor) -> Result<Records, DecodeError> {
        Ok(Records::new(self.decompress(d)?, self.record_count()))
    }
}

/// Iterator over the batches of a `records` field.
#[derive(Debug)]
pub struct Batches {
    rest: Bytes,
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let r = RecordBatch::split(&mut self.rest);
        if r.is_err() {
            self.rest = Bytes::new();
        }
        Some(r)
    }
}

/// One record, viewing the batch's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Record attributes (unused by Kafka; 0).
    pub attributes: i8,
    /// Timestamp minus the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Offset minus the batch's base offset.
    pub offset_delta: i32,
    /// The key, or null.
    pub key: Option<Bytes>,
    /// The value, or null.
    pub value: Option<Bytes>,
    headers: Bytes,
    header_count: usize,
}

impl Record {
    /// The headers, decoded lazily.
    pub fn headers(&self) -> Headers {
        Headers {
            rest: self.headers.clone(),
            left: self.header_count,
        }
    }

    /// Number of headers.
    pub fn header_count(&self) -> usize {
        self.header_count
    }
}

/// One record header, viewing the batch's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The key.
    pub key: Bytes,
    /// The value, or null.
    pub value: Option<Bytes>,
}

/// Iterator over a record's headers.
#[derive(Debug, Clone)]
pub struct Headers {
    rest: Bytes,
    left: usize,
}

impl Iterator for Headers {
    type Item = Header;
    fn next(&mut self) -> Option<Header> {
        // The record iterator validated the headers section already.
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let key = get_field(&mut self.rest).ok()??;
        let value = get_field(&mut self.rest).ok()?;
        Some(Header { key, value })
    }
}

#[inline]
fn get_var32(buf: &mut Bytes) -> Result<i32, DecodeError> {
    let (v, n) = read_uvarint(buf)?;
    bytes::Buf::advance(buf, n);
    Ok(zigzag_decode32(v))
}

#[inline]
fn get_var64(buf: &mut Bytes) -> Result<i64, DecodeError> {
    let (v, n) = read_uvarlong(buf)?;
    bytes::Buf::advance(buf, n);
    Ok(zigzag_decode64(v))
}

#[inline]
fn get_field(buf: &mut Bytes) -> Result<Option<Bytes>, DecodeError> {
    let len = get_var32(buf)?;
    if len == -1 {
        return Ok(None);
    }
    if len < -1 || len as usize > buf.len() {
        return Err(DecodeError::InvalidLength {
            what: "record field",
            len: i64::from(len),
        });
    }
    Ok(Some(buf.split_to(len as usize)))
}

/// Lazy iterator over the records of an uncompressed records section.
///
/// Yields exactly `record_count` records; a record whose fields do not fill
/// its length exactly, a count that disagrees with the bytes, or bytes left
/// over are errors (after which the iterator ends).
#[derive(Debug, Clone)]
pub struct Records {
    rest: Bytes,
    left: i64,
    failed: bool,
}

impl Records {
    /// Iterates `count` records in `bytes` (an uncompressed records section,
    /// or the decompressed bytes of a compressed batch).
    pub fn new(bytes: Bytes, count: i32) -> Self {
        Self {
            rest: bytes,
            left: i64::from(count),
            failed: false,
        }
    }

    fn next_record(&mut self) -> Result<Record, DecodeError> {
        let len = get_var32(&mut self.rest)?;
        if len < 0 || len as usize > self.rest.len() {
            return Err(DecodeError::InvalidLength {
                what: "record",
                len: i64::from(len),
            });
        }
        let mut r = self.rest.split_to(len as usize);
        if r.is_empty() {
            return Err(DecodeError::Truncated {
                what: "record attributes",
                needed: 1,
            });
        }
        let attributes = r[0] as i8;
        bytes::Buf::advance(&mut r, 1);
        let timestamp_delta = get_var64(&mut r)?;
        let offset_delta = get_var32(&mut r)?;
        let key = get_field(&mut r)?;
        let value = get_field(&mut r)?;
        let header_count = get_var32(&mut r)?;
        if header_count < 0 || header_count as usize > r.len() {
            return Err(DecodeError::InvalidLength {
                what: "record headers",
                len: i64::from(header_count),
            });
        }
        let headers = r.clone();
        for _ in 0..header_count {
            match get_field(&mut r)? {
                Some(_) => {}
                None => {
                    return Err(DecodeError::Invalid {
                        what: "record header",
                        reason: "null header key",
                    })
                }
            }
            get_field(&mut r)?;
        }
        if !r.is_empty() {
            return Err(DecodeError::TrailingBytes {
                what: "record",
                left: r.len(),
            });
        }
        Ok(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
            header_count: header_count as usize,
        })
    }
}

impl Iterator for Records {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.left <= 0 {
            if self.left == 0 && !self.rest.is_empty() {
                self.failed = true;
                return Some(Err(DecodeError::TrailingBytes {
                    what: "record batch",
                    left: self.rest.len(),
                }));
            }
            if self.left < 0 {
                self.failed = true;
                return Some(Err(DecodeError::InvalidLength {
                    what: "record count",
                    len: self.left,
                }));
            }
            return None;
        }
        self.left -= 1;
        let r = self.next_record();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bytes {
        let mut b = BatchBuilder::with_capacity(1024);
        b.append(
            1_000,
            Some(b"k1"),
            Some(b"v1"),
            &[HeaderRef::new("h", b"x")],
        )
        .unwrap();
        b.append(1_005, None, Some(b"v2"), &[]).unwrap();
        b.append(990, Some(b""), None, &[]).unwrap();
        b.seal(ProducerFields {
            producer_id: 7,
            producer_epoch: 1,
            base_sequence: 40,
        })
    }

    #[test]
    fn parts_are_written_as_one_value() {
        let headers = [HeaderRef::new("h", b"x")];
        let cases: [&[&[u8]]; 5] = [
            &[b"{\"a\":", b"1", b"}"],
            &[b"", b"abc", b""],
            &[b"abc"],
            &[b""],
            &[],
        ];
        for parts in cases {
            let joined = parts.concat();
            let mut whole = BatchBuilder::with_capacity(64);
            let mut split = BatchBuilder::with_capacity(64);
            for ts in [1_000, 1_003] {
                let size = split.record_size_parts(ts, Some(b"k"), parts, &headers);
                assert_eq!(
                    size,
                    whole.record_size(ts, Some(b"k"), Some(&joined), &headers)
                );
                whole
                    .append(ts, Some(b"k"), Some(&joined), &headers)
                    .unwrap();
                let before = split.len();
                split.append_parts(ts, Some(b"k"), parts, &headers).unwrap();
                assert_eq!(split.len() - before, size);
            }
            let whole = whole.seal(ProducerFields::NONE);
            let split = split.seal(ProducerFields::NONE);
            assert_eq!(whole, split, "{parts:?}");
            let batch = RecordBatch::parse(split).unwrap();
            batch.verify_crc().unwrap();
            for r in batch.records().unwrap() {
                // No parts is an empty value, not a null one.
                assert_eq!(r.unwrap().value.as_deref(), Some(&joined[..]));
            }
        }
    }

    #[test]
    fn encodes_and_views() {
        let bytes = sample();
        let batch = RecordBatch::parse(bytes.clone()).unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.record_count(), 3);
        assert_eq!(batch.last_offset_delta(), 2);
        assert_eq!(batch.base_timestamp(), 1_000);
        assert_eq!(batch.max_timestamp(), 1_005);
        assert_eq!(batch.producer_id(), 7);
        assert_eq!(batch.producer_epoch(), 1);
        assert_eq!(batch.base_sequence(), 40);
        assert_eq!(batch.batch_length() as usize, bytes.len() - LOG_OVERHEAD);
        let recs: Vec<Record> = batch.records().unwrap().map(Result::unwrap).collect();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(recs[0].headers().collect::<Vec<_>>().len(), 1);
        assert_eq!(recs[1].key, None);
        assert_eq!(recs[1].timestamp_delta, 5);
        assert_eq!(recs[2].timestamp_delta, -10);
        assert_eq!(recs[2].value, None);
        assert_eq!(recs[2].offset_delta, 2);
    }

    #[test]
    fn record_size_predicts_growth() {
        let mut b = BatchBuilder::with_capacity(64);
        for i in 0..300i64 {
            let v = vec![b'x'; (i as usize * 7) % 200];
            let h = [HeaderRef::new("a", b"b")];
            let predicted = b.record_size(i * 1000, Some(b"key"), Some(&v), &h);
            let before = b.len();
            b.append(i * 1000, Some(b"key"), Some(&v), &h).unwrap();
            assert_eq!(b.len() - before, predicted);
        }
    }

    #[test]
    fn append_within_writes_only_what_fits() {
        let headers = [HeaderRef::new("h", b"x")];
        let mut b = BatchBuilder::with_capacity(256);
        let mut plain = BatchBuilder::with_capacity(256);
        for (i, ts) in [1_000i64, 1_002, 999].into_iter().enumerate() {
            let key = [b'k'; 20];
            let value = vec![b'v'; 30 + i];
            let expected = b.record_size(ts, Some(&key), Some(&value), &headers);
            // One byte short: refused, nothing written, nothing counted.
            let before = b.len();
            let short = before + expected - 1;
            assert_eq!(
                b.append_within(short, ts, Some(&key), Some(&value), &headers),
                Ok(None)
            );
            assert_eq!((b.len(), b.count()), (before, i as i32));
            // Exactly enough: written, and the size returned is the growth.
            let added = b
                .append_within(before + expected, ts, Some(&key), Some(&value), &headers)
                .unwrap();
            assert_eq!(added, Some(expected));
            assert_eq!(b.len(), before + expected);
            plain
                .append(ts, Some(&key), Some(&value), &headers)
                .unwrap();
        }
        let p = ProducerFields {
            producer_id: 1,
            producer_epoch: 0,
            base_sequence: 0,
        };
        assert_eq!(b.seal(p), plain.seal(p));
    }

    /// The checksum kept while records are written (in steps of
    /// `CRC_STEP`) gives the same batch as one pass at the seal, for batches
    /// that end before, at and after step boundaries, with records larger
    /// than a step, long keys, null fields and headers.
    #[test]
    fn running_crc_matches_one_pass() {
        let p = ProducerFields {
            producer_id: 9,
            producer_epoch: 3,
            base_sequence: 1_000,
        };
        for records in [0usize, 1, 2, 7, 40, 41, 90, 300] {
            let mut running = BatchBuilder::with_capacity(64);
            let mut once = BatchBuilder::with_capacity(64);
            once.set_running_crc(false);
            let mut expected = Vec::new();
            for i in 0..records {
                // 400 bytes a record, every 13th 40 KB (more than a step).
                let len = if i % 13 == 5 { 40_000 } else { 400 + i % 7 };
                let value: Vec<u8> = (0..len).map(|j| (i * 31 + j) as u8).collect();
                let key = vec![b'k'; i % 100]; // up to 99 bytes
                let key = (i % 11 != 3).then_some(&key[..]);
                let value = (i % 17 != 4).then_some(&value[..]);
                let h = [
                    HeaderRef::new("id", b"x"),
                    HeaderRef {
                        key: b"n",
                        value: None,
                    },
                ];
                let headers = &h[..i % 3];
                let ts = 1_700_000_000_000 + (i as i64 % 5) * 1_000;
                running.append(ts, key, value, headers).unwrap();
                once.append(ts, key, value, headers).unwrap();
                expected.push((key.map(<[u8]>::to_vec), value.map(<[u8]>::to_vec)));
            }
            let running = running.seal(p);
            assert_eq!(running, once.seal(p), "{records} records");
            let batch = RecordBatch::parse(running).unwrap();
            batch.verify_crc().unwrap();
            let got: Vec<_> = batch
                .records()
                .unwrap()
                .map(|r| {
                    let r = r.unwrap();
                    (r.key.map(|k| k.to_vec()), r.value.map(|v| v.to_vec()))
                })
                .collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn crc_detects_corruption() {
        let bytes = sample();
        let mut bad = bytes.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        let batch = RecordBatch::parse(Bytes::from(bad)).unwrap();
        assert!(matches!(
            batch.verify_crc(),
            Err(DecodeError::CrcMismatch { .. })
        ));
    }

    #[test]
    fn restamp_rewrites_producer_fields_and_crc() {
        let bytes = sample();
        let p = ProducerFields {
            producer_id: 99,
            producer_epoch: 3,
            base_sequence: 0,
        };
        let re = RecordBatch::parse(restamp(&bytes, p).unwrap()).unwrap();
        re.verify_crc().unwrap();
        assert_eq!(re.producer_fields(), p);
        assert_eq!(
            re.records_bytes(),
            RecordBatch::parse(bytes).unwrap().records_bytes()
        );
    }

    #[test]
    fn count_mismatch_is_an_error() {
        let bytes = sample();
        let mut bad = bytes.to_vec();
        bad[OFF_RECORD_COUNT + 3] = 2;
        let batch = RecordBatch::parse(Bytes::from(bad)).unwrap();
        let items: Vec<_> = batch.records().unwrap().collect();
        assert!(items.last().unwrap().is_err());
        let mut bad = bytes.to_vec();
        bad[OFF_RECORD_COUNT + 3] = 4;
        let batch = RecordBatch::parse(Bytes::from(bad)).unwrap();
        assert!(batch.records().unwrap().any(|r| r.is_err()));
    }

    #[test]
    fn truncated_batches_are_refused() {
        let bytes = sample();
        for n in 0..bytes.len() {
            let mut b = bytes.slice(..n);
            assert!(RecordBatch::split(&mut b).is_err(), "length {n}");
        }
    }
}
