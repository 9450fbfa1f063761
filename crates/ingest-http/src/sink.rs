//! What the front end hands requests to, and what it expects back.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// The endpoint a request was posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /v1/batch`: `{"batch": [...]}`.
    Batch,
    /// `POST /v1/import`: RudderStack's and Segment's alias of batch.
    Import,
    /// `POST /v1/track`, `/v1/identify`, ...: one event of that type.
    Event(EventType),
}

/// The event type a `/v1/<type>` path names: the Segment and RudderStack
/// tracking API's six.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// `track`.
    Track,
    /// `identify`.
    Identify,
    /// `page`.
    Page,
    /// `screen`.
    Screen,
    /// `group`.
    Group,
    /// `alias`.
    Alias,
}

impl EventType {
    /// Each type with its name and the path it is posted to.
    const TABLE: [(EventType, &'static str, &'static str); 6] = [
        (EventType::Track, "track", "/v1/track"),
        (EventType::Identify, "identify", "/v1/identify"),
        (EventType::Page, "page", "/v1/page"),
        (EventType::Screen, "screen", "/v1/screen"),
        (EventType::Group, "group", "/v1/group"),
        (EventType::Alias, "alias", "/v1/alias"),
    ];

    /// The type's name, as in an event's `type` (`"track"`, ...).
    pub fn as_str(self) -> &'static str {
        Self::TABLE[self as usize].1
    }

    /// The path events of this type are posted to.
    pub fn path(self) -> &'static str {
        Self::TABLE[self as usize].2
    }

    /// Parses a type name; case-sensitive, as Segment is.
    pub fn from_bytes(name: &[u8]) -> Option<EventType> {
        Self::TABLE
            .iter()
            .find(|(_, n, _)| n.as_bytes() == name)
            .map(|(t, _, _)| *t)
    }
}

impl Endpoint {
    /// Parses a request path (without query). A trailing `/` is ignored.
    pub fn from_path(path: &[u8]) -> Option<Endpoint> {
        let path = path.strip_suffix(b"/").unwrap_or(path);
        let name = path.strip_prefix(b"/v1/")?;
        Some(match name {
            b"batch" => Endpoint::Batch,
            b"import" => Endpoint::Import,
            other => Endpoint::Event(EventType::from_bytes(other)?),
        })
    }

    /// The path this endpoint is served at.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Batch => "/v1/batch",
            Endpoint::Import => "/v1/import",
            Endpoint::Event(ty) => ty.path(),
        }
    }

    /// Whether the body holds many events (`batch`, `import`).
    pub fn is_batch(self) -> bool {
        matches!(self, Endpoint::Batch | Endpoint::Import)
    }
}

/// One authenticated, complete, decompressed ingest request.
///
/// The body is passed on as sent: the front end does not parse JSON (the
/// sink's router validates, counts and routes the events). For the
/// single-event endpoints, the sink implies `type` from
/// [`IngestRequest::endpoint`] when the body has no top-level `type`.
/// A single-event body has been checked against
/// [`crate::HttpConfig::max_event_bytes`]; the events of a batch are for
/// the sink to check against [`IngestRequest::max_event_bytes`], answering
/// [`Status::TooLarge`] with the event's index.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IngestRequest {
    /// Where it was posted.
    pub endpoint: Endpoint,
    /// The request body after gunzip: one event, or `{"batch": [...]}`.
    pub body: Bytes,
    /// The source named by the write key, if any.
    pub source: Option<Arc<str>>,
    /// When the last byte of the request was received (becomes `receivedAt`).
    pub received: SystemTime,
    /// Events in the body when the endpoint says so (`Some(1)` for the
    /// single-event endpoints); `None` for a batch, whose events only the
    /// sink counts.
    pub events: Option<usize>,
    /// The largest event the sink may accept, in bytes (the front end's
    /// [`crate::HttpConfig::max_event_bytes`]).
    pub max_event_bytes: usize,
}

impl IngestRequest {
    /// A request, as the connection builds it; for sinks' own tests.
    pub fn new(endpoint: Endpoint, body: Bytes, received: SystemTime) -> Self {
        IngestRequest {
            endpoint,
            body,
            source: None,
            received,
            events: None,
            max_event_bytes: crate::DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

/// How a request ended, which picks the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Every event is persisted at the configured acks, dead-lettered, or
    /// skipped by its `integrations`: 200.
    Settled,
    /// Some event is not persisted (broker unreachable, memory budget
    /// spent, delivery failed): 503 with `Retry-After`. The client retries
    /// the whole request; events already persisted may be sent twice.
    Unavailable {
        /// Sent as `Retry-After` (whole seconds, rounded up; at least 1).
        /// `None`: the configured default.
        retry_after: Option<Duration>,
        /// Why, for the `error` member of the body.
        reason: Cow<'static, str>,
    },
    /// An event is over a size limit the sink enforces: 413.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// The offending event's index, when known.
        index: Option<usize>,
    },
    /// The request cannot be accepted as sent: 400.
    Invalid {
        /// Why.
        reason: Cow<'static, str>,
    },
}

/// One dead-lettered (or failed) event, for the `errors` member of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// The event's index in the request (0 for a single-event body).
    pub index: usize,
    /// A short stable code, e.g. the router's `DlqReason::code()`.
    pub code: Cow<'static, str>,
    /// A human-readable message.
    pub message: String,
}

/// What the sink reports once every event of a request is settled.
///
/// The response body is `{"accepted":N,"dead_lettered":M,"errors":[...]}`
/// (plus `"error"` for statuses other than [`Status::Settled`]), each error
/// `{"index":I,"code":"...","message":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestOutcome {
    /// Events persisted to their topic (skipped events count here too:
    /// they were accepted and deliberately not sent).
    pub accepted: usize,
    /// Events persisted to the dead-letter topic.
    pub dead_lettered: usize,
    /// Why events were dead-lettered or failed, in input order.
    pub errors: Vec<EventError>,
    /// The status.
    pub status: Status,
}

impl IngestOutcome {
    /// Every event settled: 200.
    pub fn settled(accepted: usize, dead_lettered: usize, errors: Vec<EventError>) -> Self {
        IngestOutcome {
            accepted,
            dead_lettered,
            errors,
            status: Status::Settled,
        }
    }

    /// Not (all) persisted: 503 with `Retry-After`.
    pub fn unavailable(
        retry_after: Option<Duration>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        IngestOutcome {
            accepted: 0,
            dead_lettered: 0,
            errors: Vec::new(),
            status: Status::Unavailable {
                retry_after,
                reason: reason.into(),
            },
        }
    }

    /// An outcome with the given status and no counts.
    pub fn with_status(status: Status) -> Self {
        IngestOutcome {
            accepted: 0,
            dead_lettered: 0,
            errors: Vec::new(),
            status,
        }
    }
}

/// What the server hands requests to: one per worker, used from that
/// worker's thread only (`!Send` is fine).
///
/// The future returned by [`EventSink::submit`] must resolve only once every
/// event of the request is persisted at the configured acks, dead-lettered,
/// or known to have failed; the response is written from its output. A
/// sink that cannot take a request now (memory budget spent, no broker)
/// resolves at once with [`Status::Unavailable`].
pub trait EventSink {
    /// The future of one request's outcome. It owns what it needs (it is
    /// spawned as a task of the worker), so it cannot borrow the sink.
    type Settled: Future<Output = IngestOutcome> + 'static;

    /// Routes and enqueues every event of one request.
    fn submit(&self, request: IngestRequest) -> Self::Settled;

    /// Whether the worker can take events, or why not. Answers
    /// `GET /ready`: 200, or 503 with the reason.
    fn ready(&self) -> Result<(), String>;

    /// Appends metrics of the sink's own (Prometheus text format) to the
    /// body of `GET /metrics`, after the registry's. Default: none.
    fn encode_metrics(&self, out: &mut String) {
        let _ = out;
    }
}
