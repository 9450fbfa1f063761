//! Errors of the producer layer.

use kafka_wire::ErrorCode;

/// Why [`crate::Producer::append`] refused a record. A refused record has no
/// [`crate::DeliveryId`] and gets no outcome: the caller still owns it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// `buffer.memory` is spent: try again after deliveries free some.
    #[error("producer buffer is full")]
    BufferFull,
    /// The record cannot fit in a request of `message.max.bytes`.
    #[error("record of about {size} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge {
        /// The record's encoded size (an upper bound).
        size: usize,
        /// The largest batch a request may carry.
        max: usize,
    },
    /// An explicit partition the topic does not have.
    #[error("partition {partition} does not exist (topic has {partitions})")]
    UnknownPartition {
        /// The partition asked for.
        partition: i32,
        /// The topic's partition count.
        partitions: u32,
    },
    /// The topic name is empty.
    #[error("empty topic name")]
    InvalidTopic,
    /// The broker refused the topic permanently (for example
    /// TOPIC_AUTHORIZATION_FAILED or INVALID_TOPIC_EXCEPTION).
    #[error("topic unavailable: {0}")]
    Topic(ErrorCode),
    /// The record could not be encoded.
    #[error("record cannot be encoded: {0}")]
    Record(#[from] kafka_wire::record::AppendError),
    /// The producer hit a fatal error and takes no more records.
    #[error("producer failed: {0}")]
    Fatal(FatalError),
}

/// Why a record was not (or may not have been) persisted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The broker answered with this error for the record's batch.
    #[error("broker error {0}")]
    Broker(ErrorCode),
    /// `delivery.timeout.ms` passed before an outcome was known; the last
    /// error seen for the batch, if any.
    #[error("delivery timed out (last error: {last_error:?})")]
    TimedOut {
        /// The last broker or transport error for the batch.
        last_error: Option<ErrorCode>,
    },
    /// The topic does not exist: two Metadata responses in a row said so
    /// (the first ask and one refresh), and `allow.auto.create.topics` is
    /// off. Records for it fail at once instead of at
    /// `delivery.timeout.ms`; a topic created later is used from the next
    /// Metadata response that has it.
    #[error("topic does not exist")]
    UnknownTopic,
    /// The record named a partition the topic does not have (found when
    /// the topic's partitions became known after the record was appended).
    #[error("partition {partition} does not exist (topic has {partitions})")]
    UnknownPartition {
        /// The partition asked for.
        partition: i32,
        /// The topic's partition count.
        partitions: u32,
    },
    /// The producer failed fatally.
    #[error("producer failed: {0}")]
    Fatal(FatalError),
    /// The broker the record was waiting for refused to authenticate the
    /// connection, or the connection could not authenticate the broker
    /// (see [`crate::Producer::handle_auth_failure`]).
    #[error("{0}")]
    Authentication(AuthError),
}

/// A connection that failed authentication: SASL refused the credentials
/// or the mechanism, or TLS certificate verification failed (the broker's
/// certificate, or the broker refusing ours). Such a failure recurs on
/// every attempt until a setting or a certificate changes, so the records
/// waiting for that broker fail at once instead of at `delivery.timeout.ms`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("authentication with {broker} failed: {message}")]
pub struct AuthError {
    /// What failed.
    pub kind: AuthErrorKind,
    /// The broker, as `host:port`.
    pub broker: String,
    /// The explanation, naming the setting to check. Never holds a secret.
    pub message: String,
}

/// The class of an [`AuthError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// SASL failed with this code: SASL_AUTHENTICATION_FAILED (58) for
    /// refused credentials (or a SCRAM exchange the broker could not
    /// prove), UNSUPPORTED_SASL_MECHANISM (33), ILLEGAL_SASL_STATE (34).
    Sasl(ErrorCode),
    /// The TLS handshake failed on a certificate: the broker's was not
    /// verified (unknown CA, wrong name, expired), or the broker refused
    /// ours or required one.
    TlsCertificate,
}

/// An error after which the producer cannot go on. Every record held is
/// reported, new appends are refused; create a new producer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FatalError {
    /// A broker error of the fatal class (cluster authorisation, fencing,
    /// unsupported version, ...).
    #[error("fatal broker error {code} in {context}")]
    Broker {
        /// The error code.
        code: ErrorCode,
        /// Which request or rule raised it.
        context: &'static str,
    },
    /// The broker and this producer disagree about a partition's sequence
    /// (librdkafka's idempotence rules make this fatal: ordering and
    /// exactly-once can no longer be guaranteed).
    #[error("idempotence state lost: {code} for {topic} [{partition}]")]
    Idempotence {
        /// OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID or
        /// INVALID_PRODUCER_EPOCH.
        code: ErrorCode,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// The broker supports no version of an API this producer needs.
    #[error("broker supports no usable version of api key {api_key}")]
    NoCommonVersion {
        /// The API key.
        api_key: i16,
    },
}
