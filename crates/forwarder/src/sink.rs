//! The worker's [`EventSink`]: routes a request body, hands every record
//! to the worker's producer and settles the request once every record has
//! an outcome.
//!
//! A request is answered 200 only when every record it produced (dead
//! letters included) is persisted. A record the broker or the producer
//! refuses for good (a partition or topic that does not exist, a record
//! too large, an authorization failure; see `refused_kind`) would fail
//! again on every resend: its event is dead-lettered, listed in `errors`,
//! and the rest of the request still answered 200. A partition the topic
//! does not have is first replaced by `default_partition`, when one is
//! set. Anything else — a record not persisted or possibly persisted, the
//! producer's buffer full, no broker yet, no outcome within
//! `ingest.request_timeout_ms`, a dead letter not persisted — is a 503
//! with `Retry-After`: the SDKs retry, so an event may be written twice but
//! an event answered 2xx is never lost.
//!
//! A worker that has not reached a broker yet still takes requests; they
//! wait for the broker up to `ingest.request_timeout_ms`.
//!
//! Records are sent detached: outcomes come per batch, in the producer's
//! delivery reports, counted against the requests' delivery-id ranges
//! (`settle::Table`) and against the topics' counters.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use event_router::{DlqReason, Outcome as RouteOutcome, Routed, Router};
use ingest_http::{Endpoint, EventError, EventSink, IngestOutcome, IngestRequest, Status};
use kafka_net::{
    AppendError, BatchResult, DeliveryError, DeliveryId, DeliveryReport, ErrorCode, HeaderRef,
    Producer, RecordRef,
};

use crate::config::BatchMode;
use crate::metrics::{BrokerGauge, BrokerState, Registry, TopicCounters, WorkerMetrics};
use crate::settle::{Key, Refused, RefusedKind, Settled as Outcomes, Table};

/// Settings of one worker's sink.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// `events` or `batch`.
    pub batch_mode: BatchMode,
    /// `Retry-After` sent with 503s.
    pub retry_after: Duration,
    /// Longest wait for a request's records before answering 503.
    pub request_timeout: Duration,
    /// `/ready` turns 503 once records have waited this long with none
    /// persisted.
    pub ready_stall: Duration,
    /// Header carrying a write key's source name.
    pub source_header: String,
    /// Header naming a dead letter's intended topic.
    pub dlq_topic_header: String,
    /// Header carrying a dead letter's reason code.
    pub dlq_reason_header: String,
    /// Label of the broker-state gauge (the bootstrap servers).
    pub broker_label: String,
}

/// One worker's sink. Not `Send`: used from its worker's thread only.
pub struct Sink {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("batch_mode", &self.inner.options.batch_mode)
            .finish_non_exhaustive()
    }
}

struct Inner {
    router: RefCell<Router>,
    routed: RefCell<Routed>,
    producer: Rc<Producer>,
    options: SinkOptions,
    books: Rc<Books>,
    registry: Arc<Registry>,
}

/// What the delivery handler and the requests share.
struct Books {
    metrics: Arc<WorkerMetrics>,
    /// This worker's counters per topic, so the hot path takes no lock.
    topics: RefCell<HashMap<Box<str>, Arc<TopicCounters>>>,
    broker: Arc<BrokerGauge>,
    /// A record was persisted once: the broker has been reached.
    reached: Cell<bool>,
    /// When the producer was last seen holding no record.
    idle_at: Cell<Instant>,
    /// When `/ready` turned 503 for records waiting with none persisted.
    stalled_at: Cell<Option<Instant>>,
    /// The requests waiting for outcomes.
    table: RefCell<Table>,
    /// Dead letters without an outcome yet, by delivery id: the counters of
    /// the topic each was meant for (counted when it is persisted).
    dead_letters: RefCell<BTreeMap<u64, Arc<TopicCounters>>>,
}

impl Books {
    fn counters(&self, topic: &str) -> Arc<TopicCounters> {
        counters_of(&self.metrics, &mut self.topics.borrow_mut(), topic)
    }

    /// The producer's report of one batch (or of records that never
    /// reached one).
    fn on_report(&self, report: &DeliveryReport) {
        let failure = match &report.result {
            BatchResult::Persisted { .. } => {
                self.reached.set(true);
                self.broker.set(BrokerState::Up);
                self.counters(&report.topic)
                    .events_out
                    .fetch_add(report.ids.len() as u64, RELAXED);
                None
            }
            BatchResult::NotPersisted(e) => {
                if let Some(kind) = refused_kind(e) {
                    self.settle_dead_letters(&report.ids, false);
                    let message = e.to_string();
                    self.table.borrow_mut().report_refused(
                        &report.ids,
                        &report.topic,
                        kind,
                        &message,
                    );
                    return;
                }
                self.broker.set(BrokerState::Down);
                Some(format!("not persisted: {e}"))
            }
            BatchResult::PossiblyPersisted(e) => {
                self.broker.set(BrokerState::Down);
                Some(format!("possibly not persisted: {e}"))
            }
            other => Some(format!("not persisted: {other:?}")),
        };
        self.settle_dead_letters(&report.ids, failure.is_none());
        self.table
            .borrow_mut()
            .report(&report.ids, failure.as_deref());
    }

    /// Counts the persisted dead letters among `ids` and forgets them all.
    fn settle_dead_letters(&self, ids: &[DeliveryId], persisted: bool) {
        let mut dead = self.dead_letters.borrow_mut();
        if dead.is_empty() {
            return;
        }
        for id in ids {
            if let Some(meant_for) = dead.remove(&id.0) {
                if persisted {
                    meant_for.dead_lettered.fetch_add(1, RELAXED);
                }
            }
        }
    }
}

/// One request's records, until each has an outcome.
struct Waiting {
    books: Rc<Books>,
    key: Key,
    done: bool,
}

impl Future for Waiting {
    type Output = Outcomes;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcomes> {
        let this = &mut *self;
        let outcome = this.books.table.borrow_mut().poll(this.key, cx.waker());
        if outcome.is_ready() {
            this.done = true;
        }
        outcome
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.done {
            self.books.table.borrow_mut().forget(self.key);
        }
    }
}

/// What the record of one delivery id carries: the index of the routed
/// record, and of the event in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Carried {
    record: u32,
    event: u32,
}

impl Carried {
    /// No record (an id given out, then the record refused).
    const NONE: Carried = Carried {
        record: u32::MAX,
        event: u32::MAX,
    };
    /// A dead letter made for a refused record.
    const DEAD_LETTER: Carried = Carried {
        record: u32::MAX - 1,
        event: u32::MAX,
    };
    /// The whole body as one record (batch mode).
    const WHOLE_BODY: Carried = Carried {
        record: u32::MAX - 2,
        event: 0,
    };
}

/// A request some of whose records were refused for good: what it takes
/// to resend or dead-letter them.
struct Refusing<'a> {
    /// The body as routed.
    body: &'a Bytes,
    received: SystemTime,
    timestamp: i64,
    source: Option<&'a str>,
    /// The first delivery id of the request.
    first: u64,
    /// What each id carries, by its offset from `first`.
    carried: &'a [Carried],
}

impl Refused {
    /// The response's entry for this refusal of event `event`.
    fn event_error(&self, event: u32) -> EventError {
        EventError {
            index: event as usize,
            code: self.kind.code().into(),
            message: format!("{} ({})", self.message, self.topic),
        }
    }
}

/// Whether a failed outcome would fail again for the same record: then
/// its event is dead-lettered instead of the request answered 503. Only
/// records the broker or producer refused without writing qualify; a
/// record possibly persisted never does.
fn refused_kind(e: &DeliveryError) -> Option<RefusedKind> {
    match e {
        DeliveryError::UnknownTopic => Some(RefusedKind::UnknownTopic),
        DeliveryError::UnknownPartition { .. } => Some(RefusedKind::UnknownPartition),
        DeliveryError::Broker(code) => refused_code(*code),
        _ => None,
    }
}

/// [`refused_kind`] for a broker error code.
fn refused_code(code: ErrorCode) -> Option<RefusedKind> {
    match code {
        ErrorCode::MessageTooLarge | ErrorCode::RecordListTooLarge => Some(RefusedKind::TooLarge),
        ErrorCode::InvalidRecord | ErrorCode::CorruptMessage | ErrorCode::InvalidTimestamp => {
            Some(RefusedKind::InvalidRecord)
        }
        ErrorCode::InvalidTopicException => Some(RefusedKind::InvalidTopic),
        ErrorCode::TopicAuthorizationFailed => Some(RefusedKind::TopicAuthorization),
        _ => None,
    }
}

/// [`refused_kind`] for a record the producer refused at once.
fn append_refused_kind(e: &AppendError) -> Option<RefusedKind> {
    match e {
        AppendError::RecordTooLarge { .. } => Some(RefusedKind::TooLarge),
        AppendError::UnknownPartition { .. } => Some(RefusedKind::UnknownPartition),
        AppendError::InvalidTopic => Some(RefusedKind::InvalidTopic),
        AppendError::Topic(code) => refused_code(*code),
        AppendError::Record(_) => Some(RefusedKind::InvalidRecord),
        _ => None,
    }
}

impl Inner {
    /// The future of the outcomes of ids `first..=last` (`count` records).
    fn wait_for(&self, first: DeliveryId, last: DeliveryId, count: u64) -> Waiting {
        Waiting {
            books: self.books.clone(),
            key: self.books.table.borrow_mut().register(first, last, count),
            done: false,
        }
    }

    /// The 503 reason when records had no outcome in time, with what the
    /// producer last saw go wrong.
    fn not_settled(&self, timeout: Duration) -> String {
        let mut reason = format!("records not settled within {} ms", timeout.as_millis());
        let health = self.producer.health();
        if let Some(auth) = &health.auth_failure {
            reason.push_str(&format!("; {auth}"));
        }
        if let Some(bad) = &health.bad_response {
            reason.push_str(&format!("; {bad}"));
        }
        reason
    }

    /// Sends the dead letter of an event whose record was refused for good:
    /// `text` is the event's original text.
    fn send_dead_letter(
        &self,
        text: &[u8],
        refusal: &Refused,
        source: Option<&str>,
    ) -> Result<DeliveryId, kafka_net::Error> {
        let router = self.router.borrow();
        let value =
            event_router::dead_letter_value(text, &refusal.message, router.message_max_bytes());
        let mut headers = vec![
            HeaderRef {
                key: self.options.dlq_reason_header.as_bytes(),
                value: Some(refusal.kind.code().as_bytes()),
            },
            HeaderRef {
                key: self.options.dlq_topic_header.as_bytes(),
                value: Some(refusal.topic.as_bytes()),
            },
        ];
        if let Some(src) = source {
            headers.push(HeaderRef {
                key: self.options.source_header.as_bytes(),
                value: Some(src.as_bytes()),
            });
        }
        let record = RecordRef {
            topic: router.dlq_topic(),
            partition: None,
            key: None,
            value: Some(&value),
            headers: &headers,
            timestamp: millis(SystemTime::now()),
        };
        let id = self.producer.send_detached(record)?;
        self.books
            .counters(router.dlq_topic())
            .events_in
            .fetch_add(1, RELAXED);
        self.books
            .dead_letters
            .borrow_mut()
            .insert(id.0, self.books.counters(&refusal.topic));
        Ok(id)
    }

    /// Settles the records of a request refused for good: a partition the
    /// topic does not have is replaced by `default_partition` (when set)
    /// and the record sent again; every other refused record, and a resent
    /// one refused again, becomes a dead letter. Returns the response's
    /// entries for the dead-lettered events, or the 503 reason when a
    /// resend or a dead letter is not persisted.
    async fn dead_letter_refused(
        &self,
        req: &Refusing<'_>,
        refused: Vec<Refused>,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<EventError>, String> {
        let default_partition = self.router.borrow().default_partition();
        let mut pending: Vec<(Refused, Carried)> = refused
            .into_iter()
            .map(|r| {
                let at = r.id.saturating_sub(req.first) as usize;
                let c = req.carried.get(at).copied().unwrap_or(Carried::NONE);
                (r, c)
            })
            .collect();
        let mut dead = Vec::new();
        let mut routed: Option<Routed> = None;
        for round in 0..2 {
            // (id, what it carries, the refusal it dead-letters, if one)
            let mut sends: Vec<(DeliveryId, Carried, Option<Refused>)> = Vec::new();
            for (r, c) in pending.drain(..) {
                if c == Carried::DEAD_LETTER || c == Carried::NONE {
                    return Err(format!(
                        "dead-letter topic did not take a record: {}",
                        r.message
                    ));
                }
                let resend = round == 0
                    && r.kind == RefusedKind::UnknownPartition
                    && c != Carried::WHOLE_BODY;
                if let (true, Some(p)) = (resend, default_partition) {
                    let routed = routed.get_or_insert_with(|| {
                        let mut out = Routed::new();
                        self.router
                            .borrow_mut()
                            .route(req.body.clone(), req.received, &mut out);
                        out
                    });
                    if let Some(record) = routed.record(c.record as usize) {
                        let id = self
                            .resend(&record, p, req)
                            .map_err(|e| format!("producer refused a record: {e}"))?;
                        sends.push((id, c, None));
                        continue;
                    }
                }
                let text = if c == Carried::WHOLE_BODY {
                    &req.body[..]
                } else {
                    event_router::event_text(req.body, c.event as usize).unwrap_or_default()
                };
                let id = self
                    .send_dead_letter(text, &r, req.source)
                    .map_err(|e| format!("dead-letter topic not written: {e}"))?;
                sends.push((id, c, Some(r)));
            }
            let (Some(first), Some(last)) = (sends.first(), sends.last()) else {
                break;
            };
            let waiting = self.wait_for(first.0, last.0, sends.len() as u64);
            let settled = tokio::time::timeout_at(deadline, waiting)
                .await
                .map_err(|_| self.not_settled(self.options.request_timeout))?;
            if let Some(failure) = settled.failure {
                return Err(failure);
            }
            for (id, c, refusal) in sends {
                let again = settled.refused.iter().find(|r| r.id == id.0);
                match (refusal, again) {
                    (Some(r), None) => dead.push(r.event_error(c.event)),
                    (Some(_), Some(again)) => {
                        return Err(format!(
                            "dead-letter topic did not take a record: {}",
                            again.message
                        ))
                    }
                    (None, Some(again)) => pending.push((again.clone(), c)),
                    (None, None) => {}
                }
            }
        }
        Ok(dead)
    }

    /// Sends a routed record again, to partition `partition`.
    fn resend(
        &self,
        record: &event_router::Record<'_>,
        partition: i32,
        req: &Refusing<'_>,
    ) -> Result<DeliveryId, kafka_net::Error> {
        let parts: Vec<&[u8]> = record.value_chunks().collect();
        let mut headers: Vec<HeaderRef<'_>> = record
            .headers()
            .map(|(key, value)| HeaderRef { key, value })
            .collect();
        if let Some(src) = req.source {
            headers.push(HeaderRef {
                key: self.options.source_header.as_bytes(),
                value: Some(src.as_bytes()),
            });
        }
        let r = RecordRef {
            topic: record.topic(),
            partition: Some(partition),
            key: record.key(),
            value: None,
            headers: &headers,
            timestamp: req.timestamp,
        };
        self.producer.send_parts_detached(r, &parts)
    }
}

/// Counts one request's `events_in` per topic, looking a topic up only
/// when it differs from the previous record's.
struct InCounts {
    last: Option<(Box<str>, Arc<TopicCounters>, u64)>,
}

impl InCounts {
    fn add(&mut self, books: &Books, topic: &str) {
        if let Some((name, _, n)) = &mut self.last {
            if **name == *topic {
                *n += 1;
                return;
            }
        }
        self.flush();
        self.last = Some((topic.into(), books.counters(topic), 1));
    }

    fn flush(&mut self) {
        if let Some((_, counters, n)) = self.last.take() {
            counters.events_in.fetch_add(n, RELAXED);
        }
    }
}

/// The future of one request's outcome.
pub type Settled = Pin<Box<dyn Future<Output = IngestOutcome>>>;

impl Sink {
    /// A sink over the worker's router and producer, counting into
    /// `metrics` (this worker's part of `registry`, which `GET /metrics`
    /// serves).
    pub fn new(
        router: Router,
        producer: Rc<Producer>,
        options: SinkOptions,
        registry: Arc<Registry>,
        metrics: Arc<WorkerMetrics>,
    ) -> Sink {
        let broker = metrics.broker(&options.broker_label);
        broker.set(BrokerState::Connecting);
        let books = Rc::new(Books {
            metrics,
            topics: RefCell::new(HashMap::new()),
            broker,
            reached: Cell::new(false),
            idle_at: Cell::new(Instant::now()),
            stalled_at: Cell::new(None),
            table: RefCell::new(Table::default()),
            dead_letters: RefCell::new(BTreeMap::new()),
        });
        let handler = books.clone();
        producer.on_delivery(move |report| handler.on_report(report));
        Sink {
            inner: Rc::new(Inner {
                router: RefCell::new(router),
                routed: RefCell::new(Routed::new()),
                producer,
                options,
                books,
                registry,
            }),
        }
    }

    fn unavailable(&self, reason: impl Into<std::borrow::Cow<'static, str>>) -> Settled {
        let outcome = IngestOutcome::unavailable(Some(self.inner.options.retry_after), reason);
        Box::pin(std::future::ready(outcome))
    }
}

impl EventSink for Sink {
    type Settled = Settled;

    fn submit(&self, request: IngestRequest) -> Settled {
        let inner = &self.inner;
        if let Some(e) = inner.producer.fatal_error() {
            return self.unavailable(format!("producer failed: {e}"));
        }
        if inner.producer.buffered_bytes() == 0 {
            inner.books.idle_at.set(Instant::now());
        }
        let (trailing, unusable) = inner.producer.response_counts();
        inner.books.metrics.set_kafka_responses(trailing, unusable);
        let batch_whole = inner.options.batch_mode == BatchMode::Batch
            && matches!(request.endpoint, Endpoint::Batch | Endpoint::Import);
        let mut routed = inner.routed.borrow_mut();
        let mut router = inner.router.borrow_mut();
        router.route(request.body.clone(), request.received, &mut routed);
        if let Endpoint::Event(ty) = request.endpoint {
            // `/v1/track` and friends imply the type. The router finds a
            // missing one in its single pass; only then is the body
            // rewritten and routed again (rare: senders include `type`).
            if lacks_type(&routed) {
                if let Some(body) = imply_type(&request.body, ty.as_str()) {
                    router.route(body, request.received, &mut routed);
                }
            }
        }
        drop(router);
        let timestamp = millis(request.received);

        // The events of a batch over `max_event_bytes`: measured by what is
        // forwarded for each (its record's value). A body within the limit
        // holds no event over it.
        let max_event = request.max_event_bytes;
        if request.body.len() > max_event {
            if let Some(r) = routed.records().find(|r| r.value_len() > max_event) {
                let status = Status::TooLarge {
                    limit: max_event,
                    index: Some(r.event_index()),
                };
                return Box::pin(std::future::ready(IngestOutcome::with_status(status)));
            }
        }

        // Per-event report, in input order.
        let mut accepted = 0;
        let mut dead_lettered = 0;
        let mut errors = Vec::new();
        for (index, o) in routed.outcomes().iter().enumerate() {
            match o {
                RouteOutcome::DeadLettered { reason, .. } => {
                    dead_lettered += 1;
                    errors.push(EventError {
                        index,
                        code: reason.code().into(),
                        message: reason.to_string(),
                    });
                }
                _ => accepted += 1,
            }
        }

        let books = &inner.books;
        // The delivery ids given to this request's records, and for each id
        // (by its offset from the first) the record and event it carries.
        let mut ids: Option<(DeliveryId, DeliveryId, u64)> = None;
        let mut carried: Vec<Carried> = Vec::new();
        let mut sent = |id: DeliveryId, what: Carried| {
            let first = ids.map_or(id, |(first, _, _)| first);
            ids = Some(ids.map_or((id, id, 1), |(first, _, n)| (first, id, n + 1)));
            let at = (id.0 - first.0) as usize;
            if carried.len() <= at {
                carried.resize(at + 1, Carried::NONE);
            }
            carried[at] = what;
        };
        let mut counts = InCounts { last: None };
        let mut refused: Option<kafka_net::Error> = None;
        let mut headers: Vec<HeaderRef<'_>> = Vec::with_capacity(8);
        let source_header = inner.options.source_header.as_bytes();
        let whole_body_record = batch_whole && routed.records().any(|r| !r.is_dead_letter());
        let source = request.source.as_deref();

        if whole_body_record {
            // mParticle's "send as batch": the body is the record, keyed by
            // the first event's key. Invalid events travel inside it.
            let key = routed
                .records()
                .find(|r| !r.is_dead_letter())
                .and_then(|r| r.key());
            let topic = inner.router.borrow().default_topic().to_owned();
            headers.push(HeaderRef {
                key: b"event_type",
                value: Some(b"batch"),
            });
            if let Some(src) = source {
                headers.push(HeaderRef {
                    key: source_header,
                    value: Some(src.as_bytes()),
                });
            }
            let record = RecordRef {
                topic: &topic,
                partition: None,
                key,
                value: Some(&request.body),
                headers: &headers,
                timestamp,
            };
            match inner.producer.send_detached(record) {
                Ok(id) => {
                    sent(id, Carried::WHOLE_BODY);
                    counts.add(books, &topic);
                }
                Err(e) => refused = Some(e),
            }
            accepted += dead_lettered;
            dead_lettered = 0;
            errors.clear();
        } else {
            // Each record's value is its chunks in the routed body and
            // arena, copied once, straight into the batch.
            let mut parts: Vec<&[u8]> = Vec::with_capacity(8);
            let default_partition = inner.router.borrow().default_partition();
            for (index, record) in routed.records().enumerate() {
                let topic = record.topic();
                parts.clear();
                parts.extend(record.value_chunks());
                headers.clear();
                headers.extend(
                    record
                        .headers()
                        .map(|(key, value)| HeaderRef { key, value }),
                );
                if let Some(src) = source {
                    headers.push(HeaderRef {
                        key: source_header,
                        value: Some(src.as_bytes()),
                    });
                }
                let mut r = RecordRef {
                    topic,
                    partition: record.partition(),
                    key: record.key(),
                    value: None,
                    headers: &headers,
                    timestamp,
                };
                let what = Carried {
                    record: index as u32,
                    event: record.event_index() as u32,
                };
                let mut result = inner.producer.send_parts_detached(r, &parts);
                if let (
                    Err(kafka_net::Error::Append(AppendError::UnknownPartition { .. })),
                    Some(p),
                ) = (&result, default_partition)
                {
                    if r.partition != Some(p) {
                        r.partition = Some(p);
                        result = inner.producer.send_parts_detached(r, &parts);
                    }
                }
                let id = match result {
                    Ok(id) => id,
                    Err(kafka_net::Error::Append(e))
                        if !record.is_dead_letter() && append_refused_kind(&e).is_some() =>
                    {
                        // Refused for good: dead-lettered now.
                        let refusal = Refused {
                            id: 0,
                            topic: topic.to_owned(),
                            kind: append_refused_kind(&e).unwrap_or(RefusedKind::InvalidRecord),
                            message: e.to_string(),
                        };
                        let text = event_router::event_text(routed.body(), what.event as usize)
                            .unwrap_or_default();
                        match inner.send_dead_letter(text, &refusal, source) {
                            Ok(id) => {
                                errors.push(refusal.event_error(what.event));
                                accepted -= 1;
                                dead_lettered += 1;
                                sent(id, Carried::DEAD_LETTER);
                                continue;
                            }
                            Err(e) => {
                                refused = Some(e);
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        refused = Some(e);
                        break;
                    }
                };
                let what = if record.is_dead_letter() {
                    Carried::DEAD_LETTER
                } else {
                    what
                };
                sent(id, what);
                counts.add(books, topic);
                if record.is_dead_letter() {
                    let meant_for = record
                        .header(&inner.options.dlq_topic_header)
                        .and_then(|t| std::str::from_utf8(t).ok())
                        .map(|t| books.counters(t));
                    if let Some(m) = meant_for {
                        books.dead_letters.borrow_mut().insert(id.0, m);
                    }
                }
            }
            errors.sort_by_key(|e| e.index);
        }
        counts.flush();
        drop(headers);
        let body = routed.body().clone();
        drop(routed);
        inner
            .books
            .metrics
            .set_bytes_in_flight(inner.producer.buffered_bytes() as i64);

        if let Some(e) = refused {
            // Records already handed over still go out; the client retries
            // the whole request.
            let reason = match e {
                kafka_net::Error::Append(AppendError::BufferFull) => {
                    "producer buffer full".to_owned()
                }
                e => format!("producer refused a record: {e}"),
            };
            tracing::debug!(%reason, "request answered 503");
            return self.unavailable(reason);
        }

        // No record: nothing to wait for.
        let first = ids.map(|(first, _, _)| first.0);
        let waiting = ids.map(|(first, last, count)| inner.wait_for(first, last, count));
        let inner = self.inner.clone();
        let started = Instant::now();
        let received = request.received;
        let source = request.source.clone();
        Box::pin(async move {
            let timeout = inner.options.request_timeout;
            let deadline = tokio::time::Instant::now() + timeout;
            let mut failure = match waiting {
                None => None,
                Some(waiting) => match tokio::time::timeout_at(deadline, waiting).await {
                    Ok(settled) if settled.refused.is_empty() => settled.failure,
                    Ok(settled) if settled.failure.is_some() => settled.failure,
                    Ok(settled) => {
                        let first = first.unwrap_or_default();
                        let request = Refusing {
                            body: &body,
                            received,
                            timestamp,
                            source: source.as_deref(),
                            first,
                            carried: &carried,
                        };
                        match inner
                            .dead_letter_refused(&request, settled.refused, deadline)
                            .await
                        {
                            Ok(dead) => {
                                accepted -= dead.len().min(accepted);
                                dead_lettered += dead.len();
                                errors.extend(dead);
                                errors.sort_by_key(|e| e.index);
                                None
                            }
                            Err(reason) => Some(reason),
                        }
                    }
                    Err(_) => Some(inner.not_settled(timeout)),
                },
            };
            if failure.is_none() && whole_body_record && !errors.is_empty() {
                // The whole body went to the dead-letter topic.
                accepted = 0;
            }
            let metrics = &inner.books.metrics;
            metrics.observe_produce_latency(started.elapsed());
            metrics.set_bytes_in_flight(inner.producer.buffered_bytes() as i64);
            match failure.take() {
                None => IngestOutcome::settled(accepted, dead_lettered, errors),
                Some(reason) => {
                    tracing::debug!(%reason, "request answered 503");
                    IngestOutcome::unavailable(Some(inner.options.retry_after), reason)
                }
            }
        })
    }

    /// The forwarder's metrics, summed over workers.
    fn encode_metrics(&self, out: &mut String) {
        self.inner.registry.encode_into(out);
    }

    /// Ready once the producer holds a producer id from a broker (the
    /// idempotent producer asks for one at start) or a record has been
    /// persisted, unless: the producer failed; the last connection attempt
    /// failed authentication (until one succeeds); or records have waited
    /// `ingest.ready_stall_ms` with none persisted (until a record is
    /// persisted, or, with nothing left waiting, the brokers answer a
    /// Metadata request again).
    fn ready(&self) -> Result<(), String> {
        let inner = &self.inner;
        if let Some(e) = inner.producer.fatal_error() {
            return Err(format!("producer failed: {e}"));
        }
        let health = inner.producer.health();
        let metrics = &inner.books.metrics;
        metrics.set_kafka_responses(health.trailing_bytes_responses, health.bad_responses);
        if let Some(auth) = &health.auth_failure {
            return Err(auth.to_string());
        }
        if !inner.books.reached.get() && inner.producer.producer_identity().0 < 0 {
            return Err("no broker reached yet".to_owned());
        }
        let now = Instant::now();
        let buffered = inner.producer.buffered_bytes();
        let books = &inner.books;
        if buffered == 0 {
            books.idle_at.set(now);
        }
        let after = |t: Option<Instant>, at: Instant| t.is_some_and(|t| t > at);
        if let Some(at) = books.stalled_at.get() {
            let answered = buffered == 0 && after(health.last_metadata, at);
            if !after(health.last_persisted, at) && !answered {
                return Err(self.stall_reason(&health, buffered));
            }
            books.stalled_at.set(None);
        }
        let progress = health
            .last_persisted
            .map_or(books.idle_at.get(), |t| t.max(books.idle_at.get()));
        if buffered > 0 && now.duration_since(progress) >= inner.options.ready_stall {
            books.stalled_at.set(Some(now));
            return Err(self.stall_reason(&health, buffered));
        }
        Ok(())
    }
}

impl Sink {
    fn stall_reason(&self, health: &kafka_net::Health, buffered: usize) -> String {
        let mut reason = format!(
            "no record persisted for {} ms while {buffered} bytes wait",
            self.inner.options.ready_stall.as_millis()
        );
        if let Some(bad) = &health.bad_response {
            reason.push_str(&format!("; {bad}"));
        }
        reason
    }
}

/// Whether `routed` is one event dead-lettered for having no `type`.
fn lacks_type(routed: &Routed) -> bool {
    matches!(
        routed.outcomes(),
        [RouteOutcome::DeadLettered {
            reason: DlqReason::MissingField("type"),
            ..
        }]
    )
}

/// `body` with `"type":"<ty>"` as its first member, when it is an object.
fn imply_type(body: &[u8], ty: &str) -> Option<Bytes> {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let open = body.iter().position(|b| !is_ws(b))?;
    if body[open] != b'{' {
        return None;
    }
    let (head, rest) = body.split_at(open + 1);
    let empty = rest.iter().find(|b| !is_ws(b)) == Some(&b'}');
    let mut out = BytesMut::with_capacity(body.len() + ty.len() + 10);
    out.extend_from_slice(head);
    out.extend_from_slice(b"\"type\":\"");
    out.extend_from_slice(ty.as_bytes());
    out.extend_from_slice(b"\"");
    if !empty {
        out.extend_from_slice(b",");
    }
    out.extend_from_slice(rest);
    Some(out.freeze())
}

fn counters_of(
    metrics: &WorkerMetrics,
    cache: &mut HashMap<Box<str>, Arc<TopicCounters>>,
    topic: &str,
) -> Arc<TopicCounters> {
    if let Some(c) = cache.get(topic) {
        return c.clone();
    }
    let c = metrics.topic(topic);
    cache.insert(topic.into(), c.clone());
    c
}

const RELAXED: std::sync::atomic::Ordering = std::sync::atomic::Ordering::Relaxed;

fn millis(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_the_router_knows_has_its_path() {
        for ty in event_router::EventType::ALL {
            let path = ingest_http::EventType::from_bytes(ty.as_str().as_bytes())
                .unwrap_or_else(|| panic!("no path for {}", ty.as_str()));
            assert_eq!(path.as_str(), ty.as_str());
            assert_eq!(path.path(), format!("/v1/{}", ty.as_str()));
        }
    }

    #[test]
    fn imply_type_adds_a_first_member() {
        let t = |b: &str| imply_type(b.as_bytes(), "track").map(|b| b.to_vec());
        assert_eq!(
            t(r#" {"userId":"u"}"#).as_deref(),
            Some(&br#" {"type":"track","userId":"u"}"#[..])
        );
        assert_eq!(t("{ }").as_deref(), Some(&br#"{"type":"track" }"#[..]));
        assert_eq!(t("{}").as_deref(), Some(&br#"{"type":"track"}"#[..]));
        assert_eq!(t("[1]"), None);
        assert_eq!(t("  "), None);
    }

    #[test]
    fn only_a_missing_type_is_implied() {
        let mut router = Router::new(&event_router::RouterConfig::new("events"), 1).unwrap();
        let mut routed = Routed::new();
        let now = SystemTime::UNIX_EPOCH;
        let mut lacks = |body: &'static str| {
            router.route(Bytes::from_static(body.as_bytes()), now, &mut routed);
            lacks_type(&routed)
        };
        assert!(lacks(r#"{"event":"E","userId":"u"}"#));
        // Only nested: still missing at the top level.
        assert!(lacks(
            r#"{"properties":{"type":"x"},"event":"E","userId":"u"}"#
        ));
        assert!(!lacks(r#"{"type":"identify","userId":"u"}"#));
        assert!(!lacks(r#"{"type":"track","userId":"u"}"#), "other reasons");
        assert!(!lacks("nope"));
        assert!(!lacks(
            r#"{"batch":[{"event":"E","userId":"u"},{"userId":"u"}]}"#
        ));
    }
}
