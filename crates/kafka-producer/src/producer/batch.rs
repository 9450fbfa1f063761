//! A batch of records: built in place, then sealed once and re-sent
//! byte-identical.

use std::time::Instant;

use bytes::Bytes;
use kafka_wire::record::BatchBuilder;
use kafka_wire::ErrorCode;

use crate::{ConnId, DeliveryId, RecordRef};

/// A new batch buffer starts this large (or `batch.size` if smaller) and
/// grows by doubling.
pub(super) const INITIAL_BATCH_CAPACITY: usize = 64 * 1024;
/// The capacity of a new batch buffer: as large as the partition's last
/// batch (rounded up to a power of two), at least `INITIAL_BATCH_CAPACITY`,
/// never more than the batch limit.
pub(super) fn initial_batch_capacity(batch_limit: usize, last_batch_bytes: usize) -> usize {
    let last = last_batch_bytes
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX);
    batch_limit.min(INITIAL_BATCH_CAPACITY.max(last))
}

/// A record's value: [`RecordRef::value`], or parts given to
/// [`Producer::append_parts`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Val<'a> {
    One(Option<&'a [u8]>),
    Parts(&'a [&'a [u8]]),
}

impl Val<'_> {
    #[inline]
    pub(super) fn len(self) -> Option<usize> {
        match self {
            Val::One(v) => v.map(<[u8]>::len),
            Val::Parts(p) => Some(p.iter().fold(0usize, |n, p| n.saturating_add(p.len()))),
        }
    }

    #[inline]
    pub(super) fn size_in(self, b: &BatchBuilder, r: &RecordRef<'_>) -> usize {
        match self {
            Val::One(v) => b.record_size(r.timestamp, r.key, v, r.headers),
            Val::Parts(p) => b.record_size_parts(r.timestamp, r.key, p, r.headers),
        }
    }

    /// Appends to `b` if it stays within `max_len` bytes; the bytes added.
    #[inline]
    pub(super) fn append_within(
        self,
        b: &mut BatchBuilder,
        max_len: usize,
        r: &RecordRef<'_>,
    ) -> Result<Option<usize>, kafka_wire::record::AppendError> {
        match self {
            Val::One(v) => b.append_within(max_len, r.timestamp, r.key, v, r.headers),
            Val::Parts(p) => b.append_parts_within(max_len, r.timestamp, r.key, p, r.headers),
        }
    }
}

/// An upper bound of a record's encoded size (deltas at their widest).
#[inline]
pub(super) fn estimate(r: &RecordRef<'_>, v: Val<'_>) -> usize {
    let field = |b: Option<&[u8]>| 5 + b.map_or(0, <[u8]>::len);
    let mut n = 5 + 1 + 10 + 5 + field(r.key) + 5 + v.len().unwrap_or(0) + 5;
    for h in r.headers {
        n += 5 + h.key.len() + field(h.value);
    }
    n
}

#[derive(Debug)]
pub(super) enum BatchData {
    Building(BatchBuilder),
    Sealed(Bytes),
}

#[derive(Debug)]
pub(super) struct Batch {
    pub(super) uid: u64,
    pub(super) data: BatchData,
    pub(super) ids: Vec<DeliveryId>,
    pub(super) count: i32,
    pub(super) bytes: usize,
    pub(super) created: Instant,
    pub(super) linger_until: Instant,
    pub(super) gen: u64,
    /// Producer id and epoch the batch was sealed with (idempotence).
    pub(super) identity: Option<(i64, i16)>,
    pub(super) base_seq: i32,
    pub(super) in_flight: Option<ConnId>,
    pub(super) sends: u32,
    pub(super) not_before: Option<Instant>,
    /// The last send ended without a definite answer.
    pub(super) in_doubt: bool,
    /// Some send under the current identity ended without a definite answer.
    pub(super) ever_in_doubt: bool,
    pub(super) last_error: Option<ErrorCode>,
}

impl Batch {
    /// Bytes on the wire: the sealed batch (compressed or not), or before
    /// sealing its uncompressed size, which a seal never exceeds.
    pub(super) fn wire_len(&self) -> usize {
        match &self.data {
            BatchData::Sealed(b) => b.len(),
            BatchData::Building(_) => self.bytes,
        }
    }
}

/// Kafka's sequence arithmetic (`DefaultRecordBatch.incrementSequence`):
/// sequences wrap from `i32::MAX` to 0.
pub fn increment_sequence(seq: i32, by: i32) -> i32 {
    if seq > i32::MAX - by {
        by - (i32::MAX - seq) - 1
    } else {
        seq + by
    }
}
