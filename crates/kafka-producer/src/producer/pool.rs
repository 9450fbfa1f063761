//! Where batches get their buffers and their limits: the batch size, the
//! compression codec, and the finished buffers kept for reuse.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_wire::compression::Compressor;
use kafka_wire::record::{BatchBuilder, Compression, ProducerFields};

use super::batch::{initial_batch_capacity, BatchData, INITIAL_BATCH_CAPACITY};

/// Batch buffers kept to start new batches with, at most: their capacities
/// together also stay within `buffer.memory` (see [`BatchPool::keep_spare`]).
const MAX_SPARE_BUFFERS: usize = 64;

/// The limits every batch is built to, and the buffers batches reuse.
#[derive(Debug)]
pub(super) struct BatchPool {
    /// Largest batch that accumulates (`batch.size`, within a request).
    pub(super) batch_limit: usize,
    /// Largest batch a request can carry (`message.max.bytes` less overhead).
    pub(super) max_batch: usize,
    /// `batch.num.messages`.
    pub(super) max_records: usize,
    /// `linger.ms`.
    pub(super) linger: Duration,
    /// `buffer.memory`: the spare buffers stay within it too.
    buffer_memory: usize,
    /// Compresses batches as they are sealed (`compression.type`).
    compressor: Compressor,
    /// Builder buffers left by compressed seals, reused for new batches.
    pub(super) spare_buffers: Vec<BytesMut>,
    /// The capacities of `spare_buffers`, summed.
    pub(super) spare_bytes: usize,
    next_uid: u64,
}

impl BatchPool {
    pub(super) fn new(
        batch_limit: usize,
        max_batch: usize,
        max_records: usize,
        linger: Duration,
        buffer_memory: usize,
        compressor: Compressor,
    ) -> Self {
        BatchPool {
            batch_limit,
            max_batch,
            max_records,
            linger,
            buffer_memory,
            compressor,
            spare_buffers: Vec::new(),
            spare_bytes: 0,
            next_uid: 0,
        }
    }

    /// A unique id for a new batch.
    pub(super) fn next_uid(&mut self) -> u64 {
        let uid = self.next_uid;
        self.next_uid += 1;
        uid
    }

    /// A builder for a new batch of a partition whose last batch was
    /// `last_batch_bytes` long: a spare buffer if one is kept.
    pub(super) fn builder(&mut self, last_batch_bytes: usize) -> BatchBuilder {
        let capacity = initial_batch_capacity(self.batch_limit, last_batch_bytes);
        let mut builder = match self.spare_buffers.pop() {
            Some(mut buf) => {
                self.spare_bytes -= buf.capacity();
                // Empty: growing it copies nothing.
                buf.reserve(capacity);
                BatchBuilder::new(buf)
            }
            None => BatchBuilder::with_capacity(capacity),
        };
        builder.set_attributes(Default::default());
        // A compressed batch is checksummed over its compressed bytes.
        builder.set_running_crc(self.compressor.codec() == Compression::None);
        builder
    }

    /// Seals `builder`, compressed if configured; its buffer is kept when
    /// compression left it free.
    pub(super) fn seal(&mut self, builder: BatchBuilder, fields: ProducerFields) -> Bytes {
        let sealed = builder.seal_compressed(fields, &mut self.compressor);
        if sealed.spare.capacity() > 0 {
            self.keep_spare(sealed.spare);
        }
        sealed.batch
    }

    /// Keeps a finished batch's buffer to build a later batch in, when
    /// nothing else holds it any more (the driver has dropped its copy of
    /// the request): a fresh allocation of a large buffer costs a page fault
    /// per page touched, more than the records written into it.
    pub(super) fn recycle(&mut self, data: BatchData) {
        if self.spare_buffers.len() >= MAX_SPARE_BUFFERS {
            return;
        }
        let buf = match data {
            BatchData::Sealed(bytes) => match bytes.try_into_mut() {
                Ok(buf) => buf,
                Err(_) => return,
            },
            BatchData::Building(_) => return,
        };
        if buf.capacity() >= INITIAL_BATCH_CAPACITY {
            let mut buf = buf;
            buf.clear();
            self.keep_spare(buf);
        }
    }

    /// Keeps an empty buffer for a later batch, while the spares stay within
    /// `MAX_SPARE_BUFFERS` and, together, within `buffer.memory`: so a
    /// producer that has filled its budget once reuses that memory instead
    /// of faulting in fresh pages, and holds at most twice the budget.
    pub(super) fn keep_spare(&mut self, buf: BytesMut) {
        let cap = buf.capacity();
        if self.spare_buffers.len() < MAX_SPARE_BUFFERS
            && self.spare_bytes + cap <= self.buffer_memory
        {
            self.spare_bytes += cap;
            self.spare_buffers.push(buf);
        }
    }
}
