//! The driver's errors.

use std::io;

use kafka_producer::{AppendError, ConfigError};

/// What can go wrong in the driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The producer refused the record (buffer full, too large, unknown
    /// partition, failed producer, ...). Nothing was sent and the record
    /// will have no outcome.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// [`crate::Producer::close`] was called.
    #[error("the producer is closed")]
    Closed,
    /// The driver went away before the record's outcome was known (its
    /// runtime was shut down).
    #[error("the driver stopped before the outcome was known")]
    DriverGone,
    /// A producer setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `io.engine` is not one of `auto`, `io_uring`, `epoll`.
    #[error("io.engine: {0:?} is not one of auto, io_uring, epoll")]
    InvalidEngine(String),
    /// `io_uring` was asked for but the kernel (or a seccomp filter)
    /// refuses it.
    #[error("io_uring is unavailable: {0}")]
    IoUringUnavailable(io::Error),
    /// The security settings (`security.protocol`, `ssl.*`, `sasl.*`)
    /// are invalid, or a CA, certificate or key file cannot be used.
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
    /// The runtime could not be created.
    #[error(transparent)]
    Io(#[from] io::Error),
}
