//! A sans-IO, idempotent, batching Kafka producer.
//!
//! [`Producer`] is a state machine: records go in with
//! [`Producer::append`], bytes and time go in with the `handle_*` calls, and
//! requests, connection wishes, timers and delivery reports come out of the
//! `poll_*` calls. It never touches a socket or reads a clock; the drivers
//! in `kafka-net` are loops around it. See [`Producer`] for the call order
//! and `docs/producer.md` for the design and the error table.
//!
//! Structure (after franz-go): one buffer per partition holding an open
//! batch and the sealed batches behind it, one sink per broker building
//! requests from the ready batches of the partitions it leads. Idempotence
//! follows librdkafka's strict rules: responses applied in order, sealed
//! batches re-sent byte-identical, drain then bump the epoch (or take a
//! fresh producer id) when a sequence gap must be closed.
//!
//! # References
//! - franz-go `pkg/kgo/sink.go`, librdkafka `INTRODUCTION.md` ("Idempotent
//!   Producer") and `src/rdkafka_request.c`
//! - KIP-98 (idempotence), KIP-360 (epoch bump), KIP-480 (sticky
//!   partitioner), KIP-91 (`delivery.timeout.ms`)
#![deny(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod partitioner;
mod producer;

pub use config::{Acks, BrokerAddr, ConfigError, Partitioner, ProducerConfig};
pub use error::{AppendError, AuthError, AuthErrorKind, DeliveryError, FatalError};
pub use kafka_wire::record::HeaderRef;
pub use producer::{increment_sequence, Producer};

use std::time::Instant;

use bytes::Bytes;
use kafka_wire::ByteStr;

/// The time given to [`Producer::append`]: an [`Instant`], or a function
/// that returns one (such as `Instant::now`). The function is called only
/// when the record needs the time: when it opens a new batch (its linger
/// and delivery timeout start then) or waits for its topic's metadata.
/// A record added to an open batch reads no clock.
pub trait Now {
    /// The current time.
    fn now(self) -> Instant;
}

impl Now for Instant {
    fn now(self) -> Instant {
        self
    }
}

impl<F: FnOnce() -> Instant> Now for F {
    fn now(self) -> Instant {
        self()
    }
}

/// A connection the producer asked for, named by the producer. Ids are
/// never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Names one appended record; every id gets exactly one [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub u64);

/// A record to append. The bytes are copied once, into a batch (or, before
/// the topic's partitions are known, into the small pending queue).
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// The topic.
    pub topic: &'a str,
    /// An explicit partition, or `None` to let the partitioner choose.
    pub partition: Option<i32>,
    /// The key, or null.
    pub key: Option<&'a [u8]>,
    /// The value, or null.
    pub value: Option<&'a [u8]>,
    /// Record headers.
    pub headers: &'a [HeaderRef<'a>],
    /// Create time in milliseconds since the Unix epoch.
    pub timestamp: i64,
}

/// The driver should open a TCP connection (and TLS / SASL as configured),
/// then call [`Producer::handle_connected`] or, on failure,
/// [`Producer::handle_disconnected`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The id to use in later calls.
    pub conn: ConnId,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// One whole request frame (size prefix included) to write to `conn`, as
/// chunks for `writev`: sealed batches are shared, not copied.
#[derive(Debug, Clone)]
pub struct Transmit {
    /// The connection.
    pub conn: ConnId,
    /// The frame's bytes, in order.
    pub chunks: Vec<Bytes>,
}

impl Transmit {
    /// Total bytes of the frame.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }

    /// Whether the frame is empty (never, for frames the producer makes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The outcome of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written and acknowledged. `offset` is -1 when it is unknown: with
    /// `acks=0` (reported once the request is handed to the driver, nothing
    /// is known of the broker), or when the broker answered
    /// DUPLICATE_SEQUENCE_NUMBER to a retry, or when a later batch's
    /// acknowledgement proved this one written.
    Persisted {
        /// The partition.
        partition: i32,
        /// The offset, or -1 if unknown.
        offset: i64,
    },
    /// Certainly not written.
    NotPersisted(DeliveryError),
    /// Sent, but no definite answer came back: it may be in the log.
    PossiblyPersisted(DeliveryError),
}

/// The result for all the records of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchResult {
    /// Written from `base_offset` (-1 if unknown).
    Persisted {
        /// The offset of the first record.
        base_offset: i64,
    },
    /// Certainly not written.
    NotPersisted(DeliveryError),
    /// Possibly written.
    PossiblyPersisted(DeliveryError),
}

/// Delivery report for the records of one batch (or of pending records that
/// never reached a partition, then `partition` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The topic.
    pub topic: ByteStr,
    /// The partition, if one was chosen.
    pub partition: Option<i32>,
    /// The records, in offset order.
    pub ids: Vec<DeliveryId>,
    /// What happened to them.
    pub result: BatchResult,
}

impl DeliveryReport {
    /// Each record's id and outcome.
    pub fn outcomes(&self) -> impl Iterator<Item = (DeliveryId, Outcome)> + '_ {
        self.ids.iter().enumerate().map(move |(i, id)| {
            let outcome = match &self.result {
                BatchResult::Persisted { base_offset } => Outcome::Persisted {
                    partition: self.partition.unwrap_or(-1),
                    offset: if *base_offset < 0 {
                        -1
                    } else {
                        base_offset + i as i64
                    },
                },
                BatchResult::NotPersisted(e) => Outcome::NotPersisted(e.clone()),
                BatchResult::PossiblyPersisted(e) => Outcome::PossiblyPersisted(e.clone()),
            };
            (*id, outcome)
        })
    }
}

/// Something the application (or driver) should know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Outcomes of a batch of records.
    Delivery(DeliveryReport),
    /// A Metadata response was applied.
    MetadataUpdated {
        /// Brokers known.
        brokers: usize,
        /// Topics whose partitions are known.
        topics_ready: usize,
    },
    /// A producer id and epoch were obtained (idempotence).
    ProducerId {
        /// The producer id.
        producer_id: i64,
        /// The epoch.
        epoch: i16,
    },
    /// The producer failed; every held record has been reported.
    Fatal(FatalError),
    /// A broker's response could not be used (it did not decode, or
    /// answered another request than the oldest in flight): the
    /// connection was closed, its requests are retried, and the broker is
    /// reconnected after `reconnect.backoff.ms`, doubling up to
    /// `reconnect.backoff.max.ms`. Drivers log it as a warning.
    BadResponse(BadResponse),
    /// A response carried bytes after its last field, which were ignored
    /// (as the Java client and librdkafka ignore them). Drivers count it
    /// and log it at debug.
    TrailingBytes {
        /// The broker, as `host:port`.
        broker: String,
        /// The API key of the response.
        api_key: i16,
        /// The version it was read at.
        version: i16,
        /// Bytes ignored.
        bytes: usize,
    },
}

/// A broker response the producer could not use; see [`Event::BadResponse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadResponse {
    /// The broker, as `host:port`.
    pub broker: String,
    /// The API key of the request it answered (-1 if unknown).
    pub api_key: i16,
    /// The version of that request (-1 if unknown).
    pub version: i16,
    /// What was wrong with it.
    pub error: String,
}

impl std::fmt::Display for BadResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let api = kafka_wire::messages::api_name(self.api_key);
        write!(
            f,
            "unusable {api} v{} response from broker {}: {}",
            self.version, self.broker, self.error
        )
    }
}

/// The README's examples, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
