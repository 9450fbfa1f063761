//! One partition's buffer: its open batch, the sealed batches behind it
//! (in flight first, then queued), and its sequence numbers. It appends,
//! seals, picks the next batch to send and takes batches out with their
//! outcome; the producer accounts for the bytes and reports.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_wire::record::{restamp, ProducerFields, BATCH_HEADER_LEN};

use super::batch::increment_sequence;
use super::batch::{Batch, BatchData, Val};
use super::idempotence::Idempotence;
use super::pool::BatchPool;
use super::timer::min_time;
use crate::error::AppendError;
use crate::{ConnId, DeliveryId, Now, RecordRef};

/// A producer id and epoch.
pub(super) type Identity = (i64, i16);

#[derive(Debug)]
pub(super) struct PartitionBuffer {
    /// The topic's index in the producer's topics.
    pub(super) topic: usize,
    pub(super) index: i32,
    pub(super) leader: Option<i32>,
    pub(super) open: Option<Batch>,
    /// Closed batches, oldest first: in flight ones, then queued ones.
    pub(super) queue: VecDeque<Batch>,
    pub(super) next_seq: i32,
    pub(super) next_ack_seq: i32,
    /// Batches in flight, and the connection they went out on.
    inflight: usize,
    inflight_conn: Option<ConnId>,
    /// Counts the batches opened here (the sticky partitioner's check that
    /// the batch it chose is still open).
    pub(super) gen: u64,
    /// Bytes of the last batch closed here: the next batch's buffer starts
    /// that large, so a busy partition does not regrow (and copy) its
    /// buffer from `INITIAL_BATCH_CAPACITY` for every batch.
    last_batch_bytes: usize,
    /// Records in the last batch closed, to size the next batch's list of
    /// delivery ids once instead of growing it a doubling at a time.
    last_batch_count: usize,
}

impl PartitionBuffer {
    pub(super) fn new(topic: usize, index: i32) -> Self {
        PartitionBuffer {
            topic,
            index,
            leader: None,
            open: None,
            queue: VecDeque::new(),
            next_seq: 0,
            next_ack_seq: 0,
            inflight: 0,
            inflight_conn: None,
            gen: 0,
            last_batch_bytes: 0,
            last_batch_count: 0,
        }
    }

    /// Whether it holds any batch.
    pub(super) fn has_data(&self) -> bool {
        self.open.is_some() || !self.queue.is_empty()
    }

    /// Whether a record of `size` bytes still fits the open batch `b`.
    #[inline]
    pub(super) fn fits(b: &Batch, size: usize, pool: &BatchPool) -> bool {
        b.bytes + size <= pool.batch_limit && (b.count as usize) < pool.max_records
    }

    /// Appends a record to the open batch, or to a new one when it does not
    /// fit (closing the full one). Returns the bytes added.
    #[inline]
    pub(super) fn append(
        &mut self,
        id: DeliveryId,
        r: &RecordRef<'_>,
        v: Val<'_>,
        now: impl Now,
        pool: &mut BatchPool,
    ) -> Result<usize, AppendError> {
        if let Some(added) = self.append_to_open(id, r, v, pool)? {
            return Ok(added);
        }
        self.open_batch(id, r, v, now.now(), pool)
    }

    /// Appends to the open batch if the record fits (the size is computed
    /// once, by the append that checks it against the room left); closes
    /// the batch when it does not, or once it is full.
    #[inline]
    fn append_to_open(
        &mut self,
        id: DeliveryId,
        r: &RecordRef<'_>,
        v: Val<'_>,
        pool: &BatchPool,
    ) -> Result<Option<usize>, AppendError> {
        let (limit, max_n) = (pool.batch_limit, pool.max_records);
        let Some(open) = self.open.as_mut() else {
            return Ok(None);
        };
        let mut added = None;
        if let BatchData::Building(b) = &mut open.data {
            if (open.count as usize) < max_n && open.bytes <= limit {
                // `open.bytes` is the builder's length.
                let max_len = b.len() + (limit - open.bytes);
                added = v.append_within(b, max_len, r)?;
            }
        }
        let Some(size) = added else {
            self.close_open();
            return Ok(None);
        };
        open.ids.push(id);
        open.count += 1;
        open.bytes += size;
        if open.bytes >= limit || open.count as usize >= max_n {
            self.close_open();
        }
        Ok(Some(size))
    }

    /// Opens a batch with the record. A new batch takes any record up to
    /// the largest batch (which the caller's estimate already checked). An
    /// empty batch is never left behind: on an error the builder is
    /// dropped.
    fn open_batch(
        &mut self,
        id: DeliveryId,
        r: &RecordRef<'_>,
        v: Val<'_>,
        now: Instant,
        pool: &mut BatchPool,
    ) -> Result<usize, AppendError> {
        let mut builder = pool.builder(self.last_batch_bytes);
        let size = match v.append_within(&mut builder, pool.max_batch, r)? {
            Some(size) => size,
            None => {
                return Err(AppendError::RecordTooLarge {
                    size: v.size_in(&builder, r) + BATCH_HEADER_LEN,
                    max: pool.max_batch,
                })
            }
        };
        self.gen += 1;
        let mut ids = Vec::with_capacity(self.last_batch_count.clamp(1, 1 << 16));
        ids.push(id);
        let bytes = BATCH_HEADER_LEN + size;
        self.open = Some(Batch {
            uid: pool.next_uid(),
            data: BatchData::Building(builder),
            ids,
            count: 1,
            bytes,
            created: now,
            linger_until: now + pool.linger,
            gen: self.gen,
            identity: None,
            base_seq: -1,
            in_flight: None,
            sends: 0,
            not_before: None,
            in_doubt: false,
            ever_in_doubt: false,
            last_error: None,
        });
        if bytes >= pool.batch_limit || 1 >= pool.max_records {
            self.close_open();
        }
        Ok(bytes)
    }

    /// Moves the open batch to the queue (an open batch always holds a
    /// record).
    pub(super) fn close_open(&mut self) {
        if let Some(b) = self.open.take() {
            self.last_batch_bytes = b.bytes;
            self.last_batch_count = b.count as usize;
            self.queue.push_back(b);
        }
    }

    /// Closes the open batch if its linger passed (or at once, `flushing`).
    pub(super) fn close_lingered(&mut self, now: Instant, flushing: bool) {
        if self
            .open
            .as_ref()
            .is_some_and(|b| flushing || b.linger_until <= now)
        {
            self.close_open();
        }
    }

    /// Seals the batch at `qi` if it is still being built: the base
    /// sequence is assigned here (under `identity`, with idempotence), and
    /// from now on the bytes never change (except through a re-stamp after
    /// a new producer id or epoch).
    pub(super) fn seal(&mut self, qi: usize, identity: Option<Identity>, pool: &mut BatchPool) {
        let next_seq = self.next_seq;
        let Some(b) = self.queue.get_mut(qi) else {
            return;
        };
        if matches!(b.data, BatchData::Sealed(_)) {
            return;
        }
        let data = std::mem::replace(&mut b.data, BatchData::Sealed(Bytes::new()));
        let BatchData::Building(builder) = data else {
            return;
        };
        let fields = match identity {
            Some((pid, epoch)) => {
                b.identity = Some((pid, epoch));
                b.base_seq = next_seq;
                self.next_seq = increment_sequence(next_seq, b.count);
                ProducerFields {
                    producer_id: pid,
                    producer_epoch: epoch,
                    base_sequence: next_seq,
                }
            }
            None => ProducerFields::NONE,
        };
        // Compressed (if configured) here, once: retries re-send these bytes.
        b.data = BatchData::Sealed(pool.seal(builder, fields));
    }

    /// The index of the next batch that may go to `node` on `cid`, if any.
    pub(super) fn sendable(&self, node: i32, cid: ConnId, id: &Idempotence) -> Option<usize> {
        if self.leader != Some(node) {
            return None;
        }
        if self.inflight_conn.is_some_and(|c| c != cid) {
            // Responses from the old leader first (ordering across sinks).
            return None;
        }
        let qi = self.queue.iter().position(|b| b.in_flight.is_none())?;
        if self
            .queue
            .iter()
            .skip(qi + 1)
            .any(|b| b.in_flight.is_some())
        {
            // A retry waits for the batches behind it to come back.
            return None;
        }
        let b = &self.queue[qi];
        if b.not_before.is_some() {
            return None;
        }
        id.may_send(b).then_some(qi)
    }

    /// Marks the batch at `qi` as sent on `cid`; returns its bytes.
    pub(super) fn sent(&mut self, qi: usize, cid: ConnId) -> usize {
        let b = &mut self.queue[qi];
        b.in_flight = Some(cid);
        b.sends += 1;
        self.inflight += 1;
        self.inflight_conn = Some(cid);
        b.bytes
    }

    /// The index of batch `uid` in flight on `conn`.
    pub(super) fn find_in_flight(&self, uid: u64, conn: ConnId) -> Option<usize> {
        self.queue
            .iter()
            .position(|b| b.uid == uid && b.in_flight == Some(conn))
    }

    /// Marks the batch at `qi` as no longer in flight; returns the bytes
    /// that left flight (0 if it was not in flight).
    pub(super) fn land(&mut self, qi: usize) -> usize {
        let b = &mut self.queue[qi];
        if b.in_flight.take().is_none() {
            return 0;
        }
        self.inflight -= 1;
        if self.inflight == 0 {
            self.inflight_conn = None;
        }
        b.bytes
    }

    /// Forgets every batch in flight (the producer failed).
    pub(super) fn clear_in_flight(&mut self) {
        self.inflight = 0;
        self.inflight_conn = None;
    }

    /// Takes out a batch that will not be written (or whose fate is
    /// unknown), keeping the sequence numbers consistent: its sequence
    /// numbers leave a gap, closed by a rewind when nothing follows it (the
    /// batch's identity is `current`), else by a drain and a new epoch —
    /// the returned flag says a reset is needed.
    pub(super) fn take_failed(
        &mut self,
        qi: usize,
        idempotent: bool,
        current: Identity,
    ) -> Option<(Batch, bool)> {
        let b = self.queue.remove(qi)?;
        let Some(identity) = b.identity.filter(|_| idempotent) else {
            return Some((b, false));
        };
        let later = self
            .queue
            .iter()
            .skip(qi)
            .any(|x| x.identity == Some(identity));
        if !b.in_doubt {
            // Later batches cannot have been written past the gap.
            for x in self.queue.iter_mut().skip(qi) {
                if x.identity == Some(identity) {
                    x.in_doubt = false;
                }
            }
        }
        let reset = b.in_doubt || later;
        if !reset && identity == current {
            self.next_seq = b.base_seq;
        }
        Some((b, reset))
    }

    /// Takes out a batch the broker accepted, with the earlier batches of
    /// the same identity left in doubt, which its acceptance proves were
    /// written.
    pub(super) fn take_succeeded(
        &mut self,
        qi: usize,
        idempotent: bool,
    ) -> Option<(Batch, Vec<Batch>)> {
        let b = self.queue.remove(qi)?;
        let mut proven = Vec::new();
        if idempotent && b.identity.is_some() {
            self.next_ack_seq = increment_sequence(b.base_seq, b.count);
            let mut i = 0;
            while i < self.queue.len().min(qi) {
                let x = &self.queue[i];
                if x.identity == b.identity && x.in_flight.is_none() && x.in_doubt {
                    if let Some(x) = self.queue.remove(i) {
                        proven.push(x);
                    }
                } else {
                    i += 1;
                }
            }
        }
        Some((b, proven))
    }

    /// A new producer id or epoch: sequences restart at 0 and sealed
    /// batches are re-stamped in order. Batches in doubt are taken out and
    /// returned: one may be in the log under the old identity, and the
    /// broker could not deduplicate a re-send under the new one.
    pub(super) fn restamp(&mut self, identity: Identity) -> Vec<Batch> {
        let (pid, epoch) = identity;
        self.next_seq = 0;
        self.next_ack_seq = 0;
        let mut failed = Vec::new();
        let mut qi = 0;
        while qi < self.queue.len() {
            let b = &mut self.queue[qi];
            if b.in_doubt {
                if let Some(b) = self.queue.remove(qi) {
                    failed.push(b);
                }
                continue;
            }
            b.ever_in_doubt = false;
            if let BatchData::Sealed(bytes) = &b.data {
                let fields = ProducerFields {
                    producer_id: pid,
                    producer_epoch: epoch,
                    base_sequence: self.next_seq,
                };
                if let Some(new) = restamp(bytes, fields) {
                    b.data = BatchData::Sealed(new);
                    b.identity = Some(identity);
                    b.base_seq = self.next_seq;
                    self.next_seq = increment_sequence(self.next_seq, b.count);
                }
            }
            qi += 1;
        }
        failed
    }

    /// Takes out the open batch if it has outlived `delivery_timeout`.
    pub(super) fn take_expired_open(&mut self, now: Instant, dt: Duration) -> Option<Batch> {
        if self.open.as_ref().is_some_and(|b| b.created + dt <= now) {
            self.open.take()
        } else {
            None
        }
    }

    /// The index of the first queued batch not in flight that has outlived
    /// `delivery_timeout`, from `from` on.
    pub(super) fn next_expired(&self, from: usize, now: Instant, dt: Duration) -> Option<usize> {
        (from..self.queue.len()).find(|&qi| {
            let b = &self.queue[qi];
            b.in_flight.is_none() && b.created + dt <= now
        })
    }

    /// When something of this partition waits on time: linger, expiry,
    /// retry backoff.
    pub(super) fn timer(&self, dt: Duration, flushing: bool) -> Option<Instant> {
        let mut t = None;
        if let Some(b) = &self.open {
            min_time(&mut t, if flushing { b.created } else { b.linger_until });
            min_time(&mut t, b.created + dt);
        }
        for b in self.queue.iter().filter(|b| b.in_flight.is_none()) {
            min_time(&mut t, b.created + dt);
            if let Some(nb) = b.not_before {
                min_time(&mut t, nb);
            }
        }
        t
    }
}
