//! Routes Segment / RudderStack tracking events to Kafka records.
//!
//! Sans-IO: bytes and the receive time go in, records come out; no clock,
//! no runtime, no sockets. See [`Router`] for the call order and the rules,
//! and [`Routed`] for how records point into the request body.
//!
//! ```
//! use bytes::Bytes;
//! use event_router::{Router, RouterConfig, Routed};
//!
//! let mut router = Router::new(&RouterConfig::new("events"), 1).unwrap();
//! let mut out = Routed::new();
//! let body = Bytes::from_static(br#"{"type":"track","event":"Signed Up","userId":"u1"}"#);
//! router.route(body, std::time::SystemTime::UNIX_EPOCH, &mut out);
//! let record = out.record(0).unwrap();
//! assert_eq!(record.topic(), "events");
//! assert_eq!(record.key(), Some(&b"u1"[..]));
//! ```
#![deny(unsafe_code)]

pub mod avro;
mod config;
mod dead_letter;
mod error;
mod ids;
mod output;
mod router;
mod scan;
mod time;
pub mod topic;

pub use config::{
    AvroConfig, AvroSchemaConfig, EventType, HeaderValue, RouterConfig, StaticHeader,
    DEFAULT_MESSAGE_MAX_BYTES,
};
pub use dead_letter::{dead_letter_value, event_text};
pub use error::{ConfigError, DlqReason};
pub use output::{Outcome, Record, Routed, ValueFormat};
pub use router::{Router, RouterStats};
pub use scan::ScanError;

/// The README's examples, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
