//! The HTTP/1.1 connection state machine: bytes in, requests out,
//! responses in, bytes out. No sockets, no clock, no runtime.
//!
//! # Call order
//!
//! ```text
//! let mut conn = Connection::new(config);
//! loop {
//!     read into conn.recv_buffer(), then conn.handle_received(now)
//!         (or conn.handle_input(bytes, now); conn.handle_eof() at end of stream)
//!     until both return None {
//!         while let Some(event) = conn.poll_event() {
//!             hand it on; later conn.respond(event.id(), reply)
//!         }
//!         while let Some(bytes) = conn.poll_transmit() { write all of it }
//!     }
//!     if conn.is_finished() { close the socket }
//!     read again only while conn.wants_read()
//! }
//! ```
//!
//! # Rules
//!
//! - Requests are parsed in order; a request's body is read in full before
//!   the next head is parsed. Up to [`HttpConfig::max_pipelined`] requests
//!   may await their response; beyond that, input stays buffered.
//! - Responses leave in request order, whatever order replies arrive in.
//! - `100 Continue` is queued (in order) for a request that asked for it,
//!   passed every head check and whose body has not fully arrived; it is
//!   withdrawn if the body arrives before it could be sent.
//! - Malformed framing or heads get 400 (431, 501, 505 where more precise)
//!   with `connection: close`, and nothing after them is parsed.
//! - Rejections that leave framing intact (401, 404, 405; 400 and 413 for a
//!   body that does not gunzip within the limit; 413 for an event over its
//!   limit) read and drop the body and keep the connection, unless the
//!   client is waiting for `100 Continue`, in which case it closes.
//! - `poll_event` resumes parsing of input that waited for earlier
//!   responses to leave, so the driver loops over `poll_event` and
//!   `poll_transmit` until neither yields anything.
//!
//! # References
//! - RFC 9112 (HTTP/1.1 message syntax), RFC 9110 §10.1.1 (`Expect`)

use std::collections::VecDeque;
use std::io::Read as _;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Buf, Bytes, BytesMut};

use crate::auth;
use crate::chunked::{ChunkError, ChunkedDecoder};
use crate::config::HttpConfig;
use crate::metrics::{WorkerMetrics, CONTENT_TYPE};
use crate::response::{self, Response, CONTINUE};
use crate::sink::{Endpoint, IngestOutcome, IngestRequest};

/// The least spare room [`Connection::recv_buffer`] offers a read, except
/// while less than this is left of a `Content-Length` body: then room for
/// exactly the rest of it.
pub const MIN_READ: usize = 16 * 1024;

/// Most headers accepted in one request head.
const MAX_HEADERS: usize = 64;

/// Identifies a request of one connection, for [`Connection::respond`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u64);

/// Something the connection needs answered by its driver.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// An authenticated ingest request; answer with [`Reply::Ingest`].
    Ingest {
        /// The request's id.
        id: RequestId,
        /// The request.
        request: IngestRequest,
    },
    /// `GET /ready`; answer with [`Reply::Ready`].
    Ready {
        /// The request's id.
        id: RequestId,
    },
    /// `GET /metrics`; answer with [`Reply::Metrics`].
    Metrics {
        /// The request's id.
        id: RequestId,
    },
}

impl Event {
    /// The id to answer with.
    pub fn id(&self) -> RequestId {
        match self {
            Event::Ingest { id, .. } | Event::Ready { id } | Event::Metrics { id } => *id,
        }
    }
}

/// The driver's answer to an [`Event`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Reply {
    /// The outcome of an ingest request.
    Ingest(IngestOutcome),
    /// Whether the worker is ready (200), or why not (503).
    Ready(Result<(), String>),
    /// The metrics text.
    Metrics(String),
}

/// Why [`Connection::respond`] refused a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError {
    /// No request with that id awaits a reply (already answered, or the
    /// connection dropped it).
    #[error("no request {0:?} awaits a reply")]
    UnknownRequest(RequestId),
}

#[derive(Debug)]
enum Slot {
    /// Awaiting the driver's reply.
    Pending {
        id: RequestId,
        head_only: bool,
        keep_alive: bool,
        http10: bool,
        ingest_events: Option<usize>,
    },
    /// `100 Continue` for request `id`.
    Continue(RequestId),
    /// A serialised response; `close` ends the connection after it.
    Ready { bytes: Vec<u8>, close: bool },
}

#[derive(Debug)]
enum Framing {
    Length(usize),
    Chunked(ChunkedDecoder),
}

#[derive(Debug)]
struct IngestHead {
    endpoint: Endpoint,
    source: Option<Arc<str>>,
    gzip: bool,
    keep_alive: bool,
    http10: bool,
}

#[derive(Debug)]
enum Target {
    Ingest(IngestHead),
    Discard,
}

#[derive(Debug)]
struct BodyState {
    id: RequestId,
    framing: Framing,
    target: Target,
    buf: BytesMut,
}

#[derive(Debug)]
enum State {
    Head,
    Body(BodyState),
    /// Nothing more is parsed.
    Closed,
}

/// What a head asked for, extracted before the input is advanced.
#[derive(Debug, Default)]
struct HeadInfo {
    method: Method,
    path: Vec<u8>,
    http10: bool,
    content_length: Option<usize>,
    chunked: bool,
    keep_alive: bool,
    expect_continue: bool,
    gzip: bool,
    authorization: Option<Vec<u8>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Method {
    #[default]
    Other,
    Get,
    Head,
    Post,
}

/// A head that cannot be accepted: answered, then the connection closes.
type Reject = Response;

fn fatal(status: u16, message: &str) -> Reject {
    Response::error(status, message, "")
}

/// One HTTP/1.1 server connection. See the module documentation.
#[derive(Debug)]
pub struct Connection {
    config: Arc<HttpConfig>,
    metrics: Option<Arc<WorkerMetrics>>,
    input: BytesMut,
    /// Bytes of `input` already searched for the end of a head.
    scanned: usize,
    state: State,
    slots: VecDeque<Slot>,
    events: VecDeque<Event>,
    next_id: u64,
    eof: bool,
    shutting_down: bool,
    /// When the buffered input was received.
    received: SystemTime,
}

impl Connection {
    /// A connection with the given settings.
    pub fn new(config: Arc<HttpConfig>) -> Self {
        Connection {
            config,
            metrics: None,
            input: BytesMut::new(),
            scanned: 0,
            state: State::Head,
            slots: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
            eof: false,
            shutting_down: false,
            received: SystemTime::UNIX_EPOCH,
        }
    }

    /// Counts response statuses and request sizes into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<WorkerMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The buffer to read socket data into (append only), followed by
    /// [`Connection::handle_received`]. Reading straight into it lets a
    /// `Content-Length` body become the request's `Bytes` without a copy.
    ///
    /// The buffer comes with spare capacity: while a `Content-Length` body
    /// is being received, room for the rest of it, so that a large body
    /// arrives in one allocation instead of being moved each time the
    /// buffer grows; otherwise at least [`MIN_READ`] bytes.
    pub fn recv_buffer(&mut self) -> &mut BytesMut {
        let body_left = match &self.state {
            State::Body(BodyState {
                framing: Framing::Length(remaining),
                target: Target::Ingest(_),
                ..
            }) => remaining.saturating_sub(self.input.len()),
            _ => 0,
        };
        // Room for exactly the rest of the body, not `MIN_READ`: near the
        // end of a body a larger reservation would move (copy) everything
        // received so far. The read after the body gets `MIN_READ` again.
        self.input
            .reserve(if body_left > 0 { body_left } else { MIN_READ });
        &mut self.input
    }

    /// Processes bytes appended to [`Connection::recv_buffer`], received at `now`.
    pub fn handle_received(&mut self, now: SystemTime) {
        self.received = now;
        self.process(now);
    }

    /// Appends `data` received at `now` and processes it.
    pub fn handle_input(&mut self, data: &[u8], now: SystemTime) {
        if !matches!(self.state, State::Closed) {
            self.input.extend_from_slice(data);
        }
        self.received = now;
        self.process(now);
    }

    /// The peer closed its sending side. A request cut short is dropped;
    /// complete ones still get their responses.
    pub fn handle_eof(&mut self) {
        self.eof = true;
        self.state = State::Closed;
        self.input = BytesMut::new();
    }

    /// Stop taking requests (graceful shutdown): requests already parsed
    /// are answered, the last with `connection: close`.
    pub fn handle_shutdown(&mut self) {
        self.shutting_down = true;
        if matches!(self.state, State::Head) {
            self.state = State::Closed;
            self.input = BytesMut::new();
        }
    }

    /// The next request for the driver. Also resumes parsing of buffered
    /// input that waited for pipelined responses to be answered.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            self.process(self.received);
        }
        self.events.pop_front()
    }

    /// Answers request `id`. Its response (and any after it that are ready)
    /// become available from [`Connection::poll_transmit`].
    pub fn respond(&mut self, id: RequestId, reply: Reply) -> Result<(), RespondError> {
        let pos = self
            .slots
            .iter()
            .position(|s| matches!(s, Slot::Pending { id: p, .. } if *p == id))
            .ok_or(RespondError::UnknownRequest(id))?;
        let Some(Slot::Pending {
            head_only,
            keep_alive,
            http10,
            ingest_events,
            ..
        }) = self.slots.get(pos)
        else {
            return Err(RespondError::UnknownRequest(id));
        };
        let (head_only, keep_alive, http10, ingest_events) =
            (*head_only, *keep_alive, *http10, *ingest_events);
        let mut r = match reply {
            Reply::Ingest(outcome) => {
                if let Some(m) = &self.metrics {
                    m.observe_batch(
                        ingest_events.unwrap_or(outcome.accepted + outcome.dead_lettered),
                    );
                }
                response::ingest(&outcome, self.config.retry_after)
            }
            Reply::Ready(Ok(())) => Response::json(200, "{\"ready\":true}".into()),
            Reply::Ready(Err(reason)) => {
                let mut body = String::from("{\"ready\":false,\"reason\":");
                response::json_str(&mut body, &reason);
                body.push('}');
                let mut r = Response::json(503, body);
                r.retry_after = Some(self.config.retry_after.as_secs().max(1));
                r
            }
            Reply::Metrics(text) => {
                let mut r = Response::json(200, text);
                r.content_type = CONTENT_TYPE;
                r
            }
        };
        r.head_only = head_only;
        let last = self.is_last_request(pos);
        let close = !keep_alive || (self.shutting_down && last);
        let bytes = self.serialise(&r, close, http10 && !close);
        if let Some(slot) = self.slots.get_mut(pos) {
            *slot = Slot::Ready { bytes, close };
        }
        if close {
            // Nothing after a closing response is sent.
            self.slots.truncate(pos + 1);
            self.close_input();
        }
        Ok(())
    }

    /// Bytes to send: every response that is ready, in request order.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let mut out = Vec::new();
        while let Some(slot) = self.slots.front() {
            match slot {
                Slot::Pending { .. } => break,
                Slot::Continue(_) => out.extend_from_slice(CONTINUE),
                Slot::Ready { bytes, close } => {
                    out.extend_from_slice(bytes);
                    if *close {
                        self.slots.clear();
                        self.close_input();
                        break;
                    }
                }
            }
            self.slots.pop_front();
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    /// Whether the driver should read more input.
    pub fn wants_read(&self) -> bool {
        !matches!(self.state, State::Closed) && self.input.len() < self.read_limit()
    }

    /// Whether the connection is done: no more input will be parsed and
    /// every response has been taken by [`Connection::poll_transmit`].
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Closed) && self.slots.is_empty()
    }

    /// Requests awaiting a reply from the driver.
    pub fn pending_replies(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Pending { .. }))
            .count()
    }

    /// Whether nothing is under way: no partial request buffered and no
    /// response owed (the connection is idle between requests).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head) && self.input.is_empty() && self.slots.is_empty()
    }

    fn read_limit(&self) -> usize {
        self.config
            .max_head_bytes
            .saturating_add(self.config.max_request_bytes)
            .saturating_add(64 * 1024)
    }

    fn is_last_request(&self, pos: usize) -> bool {
        matches!(self.state, State::Closed)
            && !self
                .slots
                .iter()
                .skip(pos + 1)
                .any(|s| !matches!(s, Slot::Continue(_)))
    }

    fn close_input(&mut self) {
        self.state = State::Closed;
        self.input = BytesMut::new();
    }

    fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn serialise(&self, r: &Response, close: bool, keep_alive_header: bool) -> Vec<u8> {
        if let Some(m) = &self.metrics {
            m.record_status(r.status);
        }
        let mut out = Vec::with_capacity(128 + r.body.len());
        r.write(close, keep_alive_header, &mut out);
        out
    }

    /// Queues a final response that needs no reply from the driver.
    fn push_response(&mut self, r: Response, close: bool, http10: bool) {
        let close = close || self.shutting_down;
        let bytes = self.serialise(&r, close, http10 && !close);
        self.slots.push_back(Slot::Ready { bytes, close });
        if close {
            self.close_input();
        }
    }

    fn process(&mut self, now: SystemTime) {
        loop {
            match &mut self.state {
                State::Closed => return,
                State::Head => {
                    if self.shutting_down {
                        self.close_input();
                        return;
                    }
                    // RFC 9112 §2.2: empty lines before a request line are ignored.
                    let blank = self.input.iter().take_while(|&&b| b == b'\r' || b == b'\n');
                    let blank = blank.count();
                    self.input.advance(blank);
                    self.scanned = self.scanned.saturating_sub(blank);
                    if self.input.is_empty() || self.slots.len() >= self.config.max_pipelined.max(1)
                    {
                        return;
                    }
                    if !self.head_complete() {
                        if self.input.len() > self.config.max_head_bytes {
                            let r = Response::error(431, "request head too large", "");
                            self.push_response(r, true, false);
                        }
                        return;
                    }
                    if !self.parse_head() {
                        return;
                    }
                }
                State::Body(body) => {
                    let done = match &mut body.framing {
                        Framing::Length(remaining) => {
                            if matches!(body.target, Target::Discard) {
                                let n = (*remaining).min(self.input.len());
                                self.input.advance(n);
                                *remaining -= n;
                                if *remaining > 0 {
                                    return;
                                }
                                None
                            } else if self.input.len() >= *remaining {
                                Some(self.input.split_to(*remaining).freeze())
                            } else {
                                return;
                            }
                        }
                        Framing::Chunked(dec) => {
                            let out = match body.target {
                                Target::Ingest(_) => Some(&mut body.buf),
                                Target::Discard => None,
                            };
                            match dec.feed(&self.input, out) {
                                Ok((n, done)) => {
                                    self.input.advance(n);
                                    if !done {
                                        return;
                                    }
                                    Some(std::mem::take(&mut body.buf).freeze())
                                }
                                Err(e) => {
                                    let r = match e {
                                        ChunkError::TooLarge(limit) => {
                                            Response::too_large("request body", limit, None)
                                        }
                                        e => Response::error(400, &e.to_string(), ""),
                                    };
                                    let id = body.id;
                                    self.withdraw_continue(id);
                                    self.push_response(r, true, false);
                                    return;
                                }
                            }
                        }
                    };
                    let State::Body(body) = std::mem::replace(&mut self.state, State::Head) else {
                        return;
                    };
                    self.withdraw_continue(body.id);
                    if let (Target::Ingest(head), Some(bytes)) = (body.target, done) {
                        self.finish_ingest(body.id, head, bytes, now);
                    }
                }
            }
        }
    }

    /// Check-then-parse: whether `input` holds a blank line ending a head.
    fn head_complete(&mut self) -> bool {
        let start = self.scanned.saturating_sub(2).min(self.input.len());
        let found = blank_line(&self.input[start..]);
        if !found {
            self.scanned = self.input.len();
        }
        found
    }

    /// Parses a head known to be complete; `false` when nothing was consumed.
    fn parse_head(&mut self) -> bool {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let parsed = req.parse(&self.input);
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                self.scanned = self.input.len();
                if self.input.len() > self.config.max_head_bytes {
                    let r = Response::error(431, "request head too large", "");
                    self.push_response(r, true, false);
                }
                return false;
            }
            Err(httparse::Error::TooManyHeaders) => {
                self.push_response(Response::error(431, "too many headers", ""), true, false);
                return true;
            }
            Err(e) => {
                let msg = format!("malformed request head: {e}");
                self.push_response(Response::error(400, &msg, ""), true, false);
                return true;
            }
        };
        if len > self.config.max_head_bytes {
            self.push_response(
                Response::error(431, "request head too large", ""),
                true,
                false,
            );
            return true;
        }
        let info = head_info(&req);
        self.input.advance(len);
        self.scanned = 0;
        match info {
            Ok(info) => self.on_head(info),
            Err(reject) => self.push_response(reject, true, false),
        }
        true
    }

    fn on_head(&mut self, info: HeadInfo) {
        let http10 = info.http10;
        let framing = if info.chunked {
            Framing::Chunked(ChunkedDecoder::new(
                self.config.max_request_bytes,
                self.config.max_head_bytes,
            ))
        } else {
            let len = info.content_length.unwrap_or(0);
            if len > self.config.max_request_bytes {
                let r = Response::too_large("request body", self.config.max_request_bytes, None);
                self.push_response(r, true, http10);
                return;
            }
            Framing::Length(len)
        };
        let body_pending = match &framing {
            Framing::Length(n) => *n > self.input.len(),
            Framing::Chunked(_) => true,
        };
        let keep_alive = info.keep_alive && !self.shutting_down;

        let route = self.route(&info);
        let id = self.next_id();
        match route {
            Ok(Route::Ingest(head)) => {
                if info.expect_continue && body_pending {
                    self.slots.push_back(Slot::Continue(id));
                }
                self.state = State::Body(BodyState {
                    id,
                    framing,
                    target: Target::Ingest(IngestHead {
                        keep_alive,
                        http10,
                        ..head
                    }),
                    buf: BytesMut::new(),
                });
            }
            Ok(Route::Local(r)) => {
                self.push_response(r, !keep_alive, http10);
                self.discard_body(id, framing, info.expect_continue && body_pending);
            }
            Ok(Route::Ask(event)) => {
                self.slots.push_back(Slot::Pending {
                    id,
                    head_only: info.method == Method::Head,
                    keep_alive,
                    http10,
                    ingest_events: None,
                });
                self.events.push_back(match event {
                    Ask::Ready => Event::Ready { id },
                    Ask::Metrics => Event::Metrics { id },
                });
                self.discard_body(id, framing, info.expect_continue && body_pending);
            }
            Err(r) => {
                let close = !keep_alive || (info.expect_continue && body_pending);
                self.push_response(r, close, http10);
                if !close {
                    self.discard_body(id, framing, false);
                }
            }
        }
    }

    /// Reads and drops the body of a request already answered, or closes
    /// if the client waits for `100 Continue` that will not come.
    fn discard_body(&mut self, id: RequestId, framing: Framing, awaiting_continue: bool) {
        if matches!(self.state, State::Closed) {
            return;
        }
        if awaiting_continue {
            self.close_input();
            return;
        }
        self.state = State::Body(BodyState {
            id,
            framing,
            target: Target::Discard,
            buf: BytesMut::new(),
        });
    }

    fn withdraw_continue(&mut self, id: RequestId) {
        if let Some(pos) = self
            .slots
            .iter()
            .position(|s| matches!(s, Slot::Continue(c) if *c == id))
        {
            self.slots.remove(pos);
        }
    }

    fn route(&self, info: &HeadInfo) -> Result<Route, Response> {
        let path = match info.path.iter().position(|&b| b == b'?') {
            Some(q) => &info.path[..q],
            None => &info.path[..],
        };
        let get = matches!(info.method, Method::Get | Method::Head);
        let local = |r: Response| -> Result<Route, Response> {
            Ok(Route::Local(Response {
                head_only: info.method == Method::Head,
                ..r
            }))
        };
        match path {
            b"/health" | b"/health/" if get => {
                return local(Response::json(200, "{\"status\":\"ok\"}".into()))
            }
            b"/ready" | b"/ready/" if get => return Ok(Route::Ask(Ask::Ready)),
            b"/metrics" | b"/metrics/" if get => return Ok(Route::Ask(Ask::Metrics)),
            b"/health" | b"/health/" | b"/ready" | b"/ready/" | b"/metrics" | b"/metrics/" => {
                let mut r = Response::error(405, "method not allowed", "");
                r.allow = Some("GET, HEAD");
                return Err(r);
            }
            _ => {}
        }
        let Some(endpoint) = Endpoint::from_path(path) else {
            return Err(Response::error(404, "not found", ""));
        };
        if info.method != Method::Post {
            let mut r = Response::error(405, "method not allowed", "");
            r.allow = Some("POST");
            return Err(r);
        }
        let key = info.authorization.as_deref().and_then(auth::basic_user);
        let Some(source) = key.as_deref().and_then(|k| self.config.lookup(k)) else {
            let mut r = Response::error(401, "missing or unknown write key", "");
            r.www_authenticate = true;
            return Err(r);
        };
        Ok(Route::Ingest(IngestHead {
            endpoint,
            source: source.clone(),
            gzip: info.gzip,
            keep_alive: info.keep_alive,
            http10: info.http10,
        }))
    }

    fn finish_ingest(&mut self, id: RequestId, head: IngestHead, raw: Bytes, now: SystemTime) {
        let close = !head.keep_alive;
        let http10 = head.http10;
        let max = self.config.max_request_bytes;
        let body = if head.gzip {
            match gunzip(&raw, max) {
                Ok(b) => b,
                Err(GunzipError::TooLarge) => {
                    let r = Response::too_large("decompressed request body", max, None);
                    self.push_response(r, close, http10);
                    return;
                }
                Err(GunzipError::Corrupt(e)) => {
                    let r = Response::error(400, &format!("invalid gzip body: {e}"), "");
                    self.push_response(r, close, http10);
                    return;
                }
            }
        } else {
            raw
        };
        if let Some(m) = &self.metrics {
            m.observe_request_bytes(body.len());
        }
        // One event's size is its body's. The events of a batch are found
        // by the sink's router, which reads the body anyway; it checks them
        // against `max_event_bytes` (carried on the request).
        let max_event = self.config.max_event_bytes;
        let events = match head.endpoint {
            Endpoint::Event(_) if body.len() > max_event => {
                let r = Response::too_large("event", max_event, Some(0));
                self.push_response(r, close, http10);
                return;
            }
            Endpoint::Event(_) => Some(1),
            _ => None,
        };
        self.slots.push_back(Slot::Pending {
            id,
            head_only: false,
            keep_alive: head.keep_alive,
            http10,
            ingest_events: events,
        });
        self.events.push_back(Event::Ingest {
            id,
            request: IngestRequest {
                endpoint: head.endpoint,
                body,
                source: head.source,
                received: now,
                events,
                max_event_bytes: max_event,
            },
        });
    }
}

#[derive(Debug)]
enum Ask {
    Ready,
    Metrics,
}

#[derive(Debug)]
enum Route {
    Ingest(IngestHead),
    Local(Response),
    Ask(Ask),
}

/// Extracts what the connection needs from a parsed head, or rejects it.
fn head_info(req: &httparse::Request<'_, '_>) -> Result<HeadInfo, Reject> {
    let mut info = HeadInfo {
        method: match req.method {
            Some("GET") => Method::Get,
            Some("HEAD") => Method::Head,
            Some("POST") => Method::Post,
            _ => Method::Other,
        },
        path: req.path.unwrap_or_default().as_bytes().to_vec(),
        ..HeadInfo::default()
    };
    match req.version {
        Some(1) => {}
        Some(0) => info.http10 = true,
        _ => return Err(fatal(505, "HTTP version not supported")),
    }
    let mut connection_close = false;
    let mut connection_keep_alive = false;
    let mut transfer_encoding = false;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        let value = h.value;
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_length(value).ok_or_else(|| fatal(400, "invalid content-length"))?;
            if info.content_length.is_some_and(|m| m != n) {
                return Err(fatal(400, "conflicting content-length headers"));
            }
            info.content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if transfer_encoding {
                return Err(fatal(
                    501,
                    "only a single chunked transfer coding is supported",
                ));
            }
            transfer_encoding = true;
            if !trim(value).eq_ignore_ascii_case(b"chunked") {
                return Err(fatal(501, "only the chunked transfer coding is supported"));
            }
            info.chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',') {
                let token = trim(token);
                connection_close |= token.eq_ignore_ascii_case(b"close");
                connection_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            if !trim(value).eq_ignore_ascii_case(b"100-continue") {
                return Err(fatal(417, "only 100-continue is supported"));
            }
            info.expect_continue = true;
        } else if name.eq_ignore_ascii_case(b"content-encoding") {
            let v = trim(value);
            if v.eq_ignore_ascii_case(b"gzip") || v.eq_ignore_ascii_case(b"x-gzip") {
                info.gzip = true;
            } else if !(v.is_empty() || v.eq_ignore_ascii_case(b"identity")) {
                return Err(fatal(415, "unsupported content-encoding"));
            }
        } else if name.eq_ignore_ascii_case(b"authorization") {
            info.authorization = Some(value.to_vec());
        }
    }
    if info.chunked && (info.content_length.is_some() || info.http10) {
        return Err(fatal(
            400,
            "transfer-encoding with content-length or HTTP/1.0",
        ));
    }
    if info.http10 {
        info.expect_continue = false;
    }
    info.keep_alive = if info.http10 {
        connection_keep_alive && !connection_close
    } else {
        !connection_close
    };
    Ok(info)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Digits only (RFC 9110 §8.6); `None` on anything else or overflow.
fn parse_length(value: &[u8]) -> Option<usize> {
    let v = trim(value);
    if v.is_empty() || v.len() > 18 {
        return None;
    }
    v.iter().try_fold(0usize, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + usize::from(b - b'0'))
    })
}

#[derive(Debug)]
enum GunzipError {
    TooLarge,
    Corrupt(std::io::Error),
}

/// Decompresses a gzip body (concatenated members allowed), refusing
/// output over `limit` bytes without producing more than `limit + 1`.
fn gunzip(data: &[u8], limit: usize) -> Result<Bytes, GunzipError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit));
    let decoder = flate2::read::MultiGzDecoder::new(data);
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(GunzipError::Corrupt)?;
    if out.len() > limit {
        return Err(GunzipError::TooLarge);
    }
    Ok(Bytes::from(out))
}

/// Whether `buf` holds a blank line (`\n\n` or `\n\r\n`). Looks only at
/// each line feed, and stops at the first blank line: the bytes after a
/// head (a body read with it) are not scanned.
fn blank_line(buf: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', buf).any(|i| {
        let rest = &buf[i + 1..];
        rest.starts_with(b"\n") || rest.starts_with(b"\r\n")
    })
}

#[cfg(test)]
mod tests;
