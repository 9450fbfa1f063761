//! A sans-IO, zero-copy codec for the Kafka protocol, as much of it as a
//! producer needs: primitives, framing, request and response headers, record
//! batch v2 (encoder and view), the producer's APIs, error codes and the Java
//! client's murmur2 partitioner.
//!
//! Nothing here touches a socket or a clock: bytes come in as [`bytes::Bytes`]
//! and go out through a [`Sink`]. Decoders never panic on input and never
//! allocate from a length prefix beyond the bytes that remain.
//!
//! # References
//! - The Kafka protocol guide: <https://kafka.apache.org/protocol>
//! - The message schemas: `clients/src/main/resources/common/message/*.json`
//!   in the Apache Kafka repository
//! - KIP-98 (idempotence, record batch v2), KIP-482 (flexible versions)
#![deny(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

pub mod compression;
pub mod crc;
pub mod error;
pub mod error_code;
pub mod frame;
pub mod header;
pub mod messages;
pub mod murmur2;
pub mod primitives;
pub mod record;

pub use error::{DecodeError, EncodeError};
pub use error_code::{ErrorClass, ErrorCode};

pub use primitives::{ByteStr, Sink, VectoredSink};

use bytes::Bytes;

/// A value that can be written at a protocol version.
pub trait Encode {
    /// Writes `self` as `version` lays it out. Fields the version does not
    /// have are skipped.
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError>;
}

/// A value that can be read at a protocol version.
pub trait Decode: Sized {
    /// Reads a value as `version` lays it out, advancing `buf` past it.
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError>;
}

/// A top-level request or response body of one API.
pub trait Message: Encode + Decode {
    /// The API key.
    const API_KEY: i16;
    /// The lowest version supported.
    const MIN_VERSION: i16;
    /// The highest version supported.
    const MAX_VERSION: i16;
    /// The first flexible version (KIP-482), or `i16::MAX` if none.
    const FLEXIBLE_MIN: i16;

    /// Whether `version` is flexible.
    fn is_flexible(version: i16) -> bool {
        version >= Self::FLEXIBLE_MIN
    }

    /// Whether `version` is within the supported range.
    fn supports(version: i16) -> bool {
        (Self::MIN_VERSION..=Self::MAX_VERSION).contains(&version)
    }

    /// Decodes a whole buffer, refusing bytes left over.
    fn decode_exact(mut buf: Bytes, version: i16) -> Result<Self, DecodeError> {
        let v = Self::decode(&mut buf, version)?;
        if !buf.is_empty() {
            return Err(DecodeError::TrailingBytes {
                what: "message",
                left: buf.len(),
            });
        }
        Ok(v)
    }
}

/// A request body, paired with its response.
pub trait Request: Message {
    /// The response body type.
    type Response: Message;
}

/// The request header version for an API at a version: 2 when flexible, else 1.
pub fn request_header_version(flexible: bool) -> i16 {
    if flexible {
        2
    } else {
        1
    }
}

/// The response header version for an API at a version: 1 when flexible,
/// else 0. ApiVersions responses always use 0, so a client that does not yet
/// know the broker's versions can read them (KIP-511).
pub fn response_header_version(api_key: i16, flexible: bool) -> i16 {
    if flexible && api_key != messages::api_versions::API_KEY {
        1
    } else {
        0
    }
}

pub(crate) fn check_version(
    api_key: i16,
    min: i16,
    max: i16,
    version: i16,
) -> Result<(), EncodeError> {
    if (min..=max).contains(&version) {
        Ok(())
    } else {
        Err(EncodeError::UnsupportedVersion { api_key, version })
    }
}

pub(crate) fn check_decode_version(
    api_key: i16,
    min: i16,
    max: i16,
    version: i16,
) -> Result<(), DecodeError> {
    if (min..=max).contains(&version) {
        Ok(())
    } else {
        Err(DecodeError::UnsupportedVersion { api_key, version })
    }
}

/// The README's examples, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
