//! The HTTP/1.1 front end: Segment / RudderStack tracking API in, events
//! handed to an [`EventSink`], responses out once every event is settled.
//!
//! - [`Connection`]: the sans-IO connection state machine (keep-alive,
//!   pipelining, chunked bodies, `Expect: 100-continue`, gzip, limits,
//!   Basic auth with write keys, routing of the endpoints below).
//! - [`server`]: the tokio (epoll) driver, one listener per worker with
//!   `SO_REUSEPORT`.
//! - [`metrics`]: per-worker counters and a Prometheus text encoder.
//!
//! Endpoints:
//!
//! | method | path | answer |
//! | --- | --- | --- |
//! | POST | `/v1/batch`, `/v1/import` | `{"batch":[...]}` to the sink |
//! | POST | `/v1/track`, `/v1/identify`, `/v1/page`, `/v1/screen`, `/v1/group`, `/v1/alias` | one event to the sink, which implies `type` from the path when missing |
//! | GET | `/health` | 200 while the process runs |
//! | GET | `/ready` | 200 once [`EventSink::ready`], else 503 |
//! | GET | `/metrics` | Prometheus text |
//!
//! Ingest responses: 200 `{"accepted":N,"dead_lettered":M,"errors":[...]}`
//! once every event is persisted or dead-lettered; 503 with `Retry-After`
//! when the sink cannot persist them; 401 without a known write key; 413
//! over a size limit; 400 on malformed input (then the connection closes).
//!
//! # References
//! - Segment HTTP Tracking API; RudderStack HTTP API (data plane)
//! - RFC 9110, RFC 9112 (HTTP/1.1), RFC 7617 (Basic), RFC 1952 (gzip)
#![deny(unsafe_code)]

mod auth;
mod chunked;
mod config;
mod conn;
pub mod metrics;
mod response;
pub mod server;
mod sink;

pub use config::{
    HttpConfig, WriteKey, DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_PIPELINED,
    DEFAULT_MAX_REQUEST_BYTES,
};
pub use conn::{Connection, Event, Reply, RequestId, RespondError, MIN_READ};
pub use sink::{Endpoint, EventError, EventSink, EventType, IngestOutcome, IngestRequest, Status};
