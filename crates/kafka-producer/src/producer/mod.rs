//! The producer state machine; see [`Producer`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_wire::compression::Compressor;
use kafka_wire::frame::{decode_response_lenient, encode_request_vectored, LenientResponse};
use kafka_wire::header::ResponseHeader;
use kafka_wire::messages::api_versions;
use kafka_wire::messages::api_versions::ApiVersionsRequest;
use kafka_wire::messages::init_producer_id::InitProducerIdRequest;
use kafka_wire::messages::metadata::{MetadataRequest, MetadataResponse};
use kafka_wire::messages::produce::{ProduceRequest, ProduceResponse};
use kafka_wire::record::{HeaderRef, BATCH_HEADER_LEN};
use kafka_wire::{ByteStr, ErrorClass, ErrorCode, Request, VectoredSink};

mod batch;
mod broker;
mod idempotence;
mod metadata;
mod partition;
mod pool;
mod timer;

pub use self::batch::increment_sequence;
use self::batch::{estimate, Batch, BatchData, Val};
use self::broker::{choose_versions, produce_request, Brokers, ConnState, InFlight, Kind};
use self::idempotence::{IdAnswer, Idempotence};
use self::metadata::{read_topic, PendingRecord, Schedule, TopicAnswer, TopicState, Topics};
use self::partition::PartitionBuffer;
use self::pool::BatchPool;
use self::timer::{backoff, min_time, passed};
use crate::config::{Acks, ProducerConfig};
use crate::error::{AppendError, AuthError, DeliveryError, FatalError};
use crate::partitioner::{self, Choice, Modulus, Rng};
use crate::{
    BadResponse, BatchResult, ConnId, ConnectRequest, DeliveryId, DeliveryReport, Event, Now,
    RecordRef, Transmit,
};

/// Bytes reserved in a request for everything but the batches.
const REQUEST_OVERHEAD: usize = 256;
/// Per-topic and per-partition bytes of a Produce request around a batch.
const PER_BATCH_OVERHEAD: usize = 32;
/// Errors after which the batch was certainly not written.
fn not_written(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::KafkaStorageError
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
            | ErrorCode::ThrottlingQuotaExceeded
            | ErrorCode::UnknownTopicId
    )
}

/// Errors that say the metadata is stale.
fn refresh_metadata(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::KafkaStorageError
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
            | ErrorCode::UnknownTopicId
            | ErrorCode::NetworkException
    )
}

/// What applying one topic of a Metadata response led to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Applied {
    /// The topic's partitions are known for the first time.
    ready: bool,
    /// Ask again: soon (incomplete, a transient fault, a partition without
    /// a leader) or later (the topic does not exist yet).
    retry: Option<Retry>,
    /// The producer failed.
    fatal: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// After `retry.backoff.ms`.
    Soon,
    /// After `retry.backoff.max.ms`.
    Later,
}

/// A sans-IO, idempotent, batching Kafka producer.
///
/// # Call order
///
/// The driver owns the sockets and the clock and loops:
///
/// 1. Inputs, as they happen:
///    [`append`](Self::append) records;
///    [`handle_connected`](Self::handle_connected) when a connection asked
///    for by [`poll_connect`](Self::poll_connect) is up (TCP, and TLS / SASL
///    done); [`handle_frame`](Self::handle_frame) for each complete response
///    frame (size prefix stripped, `kafka_wire::frame::FrameSplitter` finds
///    them); [`handle_disconnected`](Self::handle_disconnected) when a
///    connection fails or closes (or its connect attempt fails);
///    [`handle_auth_failure`](Self::handle_auth_failure) instead when it
///    failed authentication (SASL refused, TLS certificate not verified);
///    [`handle_timeout`](Self::handle_timeout) when the instant from
///    [`poll_timeout`](Self::poll_timeout) is reached;
///    [`flush`](Self::flush) to send everything without lingering.
/// 2. Outputs, after any input, until each returns `None`:
///    [`poll_transmit`](Self::poll_transmit) (write the chunks, in order, to
///    the connection), [`poll_connect`](Self::poll_connect) (open a
///    connection), [`poll_close`](Self::poll_close) (close a connection the
///    producer gave up on; no `handle_disconnected` is needed for it),
///    [`poll_event`](Self::poll_event) (delivery reports and state changes).
/// 3. Sleep until [`poll_timeout`](Self::poll_timeout), or until I/O.
///
/// `now` must not go backwards. The producer connects to a bootstrap broker
/// at once (to learn the cluster and, with idempotence, its producer id).
#[derive(Debug)]
pub struct Producer {
    config: ProducerConfig,
    client_id: ByteStr,
    rng: Rng,
    /// Batch limits, compression and the buffers batches reuse.
    pool: BatchPool,
    /// The topics appended to, their partitions and waiting records.
    topics: Topics,
    parts: Vec<PartitionBuffer>,
    /// The brokers, their connections and requests in flight.
    brokers: Brokers,
    next_delivery: u64,
    events: VecDeque<Event>,
    /// When to ask for metadata.
    metadata: Schedule,
    id: Idempotence,
    buffered: usize,
    in_flight_bytes: usize,
    flushing: bool,
    fatal: Option<FatalError>,
}

impl Producer {
    /// A producer for `config`, checked first. `now` starts its clock.
    pub fn new(config: ProducerConfig, now: Instant) -> Result<Self, crate::ConfigError> {
        config.validate()?;
        let max_batch = config.message_max_bytes.saturating_sub(REQUEST_OVERHEAD);
        let batch_limit = config.batch_size.min(max_batch).max(BATCH_HEADER_LEN + 1);
        let compressor =
            Compressor::new(config.compression, config.compression_level).map_err(|e| {
                crate::ConfigError::InvalidValue {
                    key: "compression.type".to_owned(),
                    reason: e.to_string(),
                }
            })?;
        let id = Idempotence::new(config.enable_idempotence);
        let brokers = Brokers::new(&config.bootstrap_servers);
        let mut p = Self {
            client_id: ByteStr::from(config.client_id.clone()),
            rng: Rng::new(config.rng_seed),
            pool: BatchPool::new(
                batch_limit,
                max_batch,
                config.batch_num_messages,
                config.linger,
                config.buffer_memory,
                compressor,
            ),
            config,
            topics: Topics::new(),
            parts: Vec::new(),
            brokers,
            next_delivery: 0,
            events: VecDeque::new(),
            metadata: Schedule::new(),
            id,
            buffered: 0,
            in_flight_bytes: 0,
            flushing: false,
            fatal: None,
        };
        p.maintain(now);
        Ok(p)
    }

    // -----------------------------------------------------------------
    // Inputs
    // -----------------------------------------------------------------

    /// Appends a record. Its bytes are written once, into its partition's
    /// open batch; before the topic's partition count is known the record
    /// is copied into a small per-topic pending queue and placed when the
    /// Metadata response arrives (so all records of a topic keep their
    /// order). Returns the id its outcome will carry.
    ///
    /// `now` is the time or a clock to read it from ([`Now`]): the clock is
    /// read only when the record opens a batch or waits for metadata, so a
    /// driver passing `Instant::now` pays for one clock read per batch, not
    /// per record.
    #[inline]
    pub fn append(&mut self, r: RecordRef<'_>, now: impl Now) -> Result<DeliveryId, AppendError> {
        self.append_val(r, Val::One(r.value), now)
    }

    /// As [`Self::append`], with the value given as parts written one after
    /// the other (never null; `r.value` is not used): a value assembled from
    /// pieces is copied once, straight into the batch, without being joined
    /// first.
    pub fn append_parts(
        &mut self,
        r: RecordRef<'_>,
        value_parts: &[&[u8]],
        now: impl Now,
    ) -> Result<DeliveryId, AppendError> {
        self.append_val(r, Val::Parts(value_parts), now)
    }

    fn append_val(
        &mut self,
        r: RecordRef<'_>,
        v: Val<'_>,
        now: impl Now,
    ) -> Result<DeliveryId, AppendError> {
        if let Some(f) = &self.fatal {
            return Err(AppendError::Fatal(f.clone()));
        }
        if r.topic.is_empty() {
            return Err(AppendError::InvalidTopic);
        }
        let est = estimate(&r, v);
        if est + BATCH_HEADER_LEN > self.pool.max_batch {
            return Err(AppendError::RecordTooLarge {
                size: est + BATCH_HEADER_LEN,
                max: self.pool.max_batch,
            });
        }
        if self.buffered + est > self.config.buffer_memory {
            return Err(AppendError::BufferFull);
        }
        if let Some(p) = r.partition {
            if p < 0 {
                return Err(AppendError::UnknownPartition {
                    partition: p,
                    partitions: 0,
                });
            }
        }
        let ti = self.intern(r.topic);
        if let TopicState::Failed(e) = self.topics[ti].state {
            return Err(AppendError::Topic(e));
        }
        if self.topics[ti].parts.is_empty() {
            let id = self.next_id();
            let copy = |b: Option<&[u8]>| b.map(Bytes::copy_from_slice);
            self.topics[ti].pending.push_back(PendingRecord {
                id,
                partition: r.partition,
                key: copy(r.key),
                value: match v {
                    Val::One(value) => copy(value),
                    Val::Parts(parts) => Some(Bytes::from(parts.concat())),
                },
                headers: r
                    .headers
                    .iter()
                    .map(|h| (Bytes::copy_from_slice(h.key), copy(h.value)))
                    .collect(),
                timestamp: r.timestamp,
                enqueued: now.now(),
                est,
            });
            self.buffered += est;
            self.metadata.wanted = true;
            return Ok(id);
        }
        let (pi, sticky) = self.place(ti, &r, v)?;
        let id = self.next_id();
        self.append_to_part(pi, id, &r, v, now)?;
        if sticky {
            let gen = self.parts[pi].gen;
            let index = self.parts[pi].index as u32;
            self.topics[ti].sticky = Some((index, gen));
        }
        Ok(id)
    }

    /// A connection asked for by [`Self::poll_connect`] is established.
    pub fn handle_connected(&mut self, conn: ConnId, now: Instant) {
        if let Some(c) = self.brokers.conns.get_mut(&conn) {
            if c.state == ConnState::Connecting {
                c.state = ConnState::Negotiating { sent: false };
            }
        }
        self.maintain(now);
    }

    /// One complete response frame, without its size prefix. A frame that
    /// cannot be decoded or answers a request other than the oldest one in
    /// flight on `conn` breaks the connection (it is handed to
    /// [`Self::poll_close`] and treated as a disconnect), is reported as an
    /// [`Event::BadResponse`], and the broker is reconnected after
    /// `reconnect.backoff.ms`. Bytes after a complete response are ignored
    /// and reported as [`Event::TrailingBytes`].
    pub fn handle_frame(&mut self, conn: ConnId, frame: Bytes, now: Instant) {
        if self.fatal.is_some() {
            return;
        }
        let Some(c) = self.brokers.conns.get_mut(&conn) else {
            return;
        };
        let node = c.node;
        let corr = match ResponseHeader::peek_correlation_id(&frame) {
            Ok(corr) => corr,
            Err(e) => return self.bad_response(conn, (-1, -1), e.to_string(), now),
        };
        let inflight = match c.in_flight.pop_front() {
            Some(f) if f.corr == corr => f,
            Some(f) => {
                let (api, expected) = (f.kind.api(), f.corr);
                c.in_flight.push_front(f);
                let error = format!("correlation id {corr}, expected {expected}");
                return self.bad_response(conn, api, error, now);
            }
            None => {
                let error = format!("correlation id {corr} answers no request in flight");
                return self.bad_response(conn, (-1, -1), error, now);
            }
        };
        let api = inflight.kind.api();
        let result = match &inflight.kind {
            Kind::ApiVersions { version } => self.on_api_versions(conn, frame, *version),
            Kind::Metadata { version } => self.on_metadata(frame, *version, now),
            Kind::InitProducerId { version, bump } => {
                self.on_init_producer_id(frame, *version, *bump, now)
            }
            Kind::Produce { version, batches } => {
                self.on_produce(conn, frame, *version, batches, now)
            }
        };
        match result {
            Ok(trailing) => {
                if trailing > 0 {
                    self.events.push_back(Event::TrailingBytes {
                        broker: self.brokers.name(node),
                        api_key: api.0,
                        version: api.1,
                        bytes: trailing,
                    });
                }
                // A broker is healthy once it answers more than ApiVersions:
                // until then its reconnect backoff keeps growing.
                if api.0 != api_versions::API_KEY {
                    self.brokers.healthy(node);
                }
            }
            Err(error) => {
                // Put it back so the disconnect accounts for it.
                if let Some(c) = self.brokers.conns.get_mut(&conn) {
                    c.in_flight.push_front(inflight);
                }
                return self.bad_response(conn, api, error, now);
            }
        }
        self.maintain(now);
    }

    /// A connection closed or failed (or its connect attempt did). Requests
    /// in flight on it are lost: their batches are retried, and are possibly
    /// persisted until a later answer settles them.
    pub fn handle_disconnected(&mut self, conn: ConnId, now: Instant) {
        self.drop_conn(conn, now);
        self.maintain(now);
    }

    /// A connection failed authentication: the broker refused the SASL
    /// credentials or mechanism, or the TLS handshake failed on a
    /// certificate (usually during the set-up step, before
    /// [`Self::handle_connected`]; also accepted after it).
    ///
    /// The connection is treated as disconnected (requests in flight on
    /// it are in doubt, and it is retried after `reconnect.backoff.ms`,
    /// doubling up to `reconnect.backoff.max.ms`, so that a credential or
    /// certificate fixed on the broker's side recovers). Unlike a
    /// disconnect, the records waiting for that broker fail at once
    /// instead of at `delivery.timeout.ms`, with
    /// [`DeliveryError::Authentication`]: the batches of the partitions it
    /// leads (`NotPersisted` if never sent, `PossiblyPersisted` if a send
    /// was in doubt; sequence gaps are rewound or closed by a new epoch as
    /// for any failed batch), and, when no other connection is set up,
    /// the records still waiting for metadata (a bootstrap broker, or
    /// nothing known yet). Records appended afterwards wait for the next
    /// attempt, at most `reconnect.backoff.max.ms` away, and fail with it
    /// if it is refused too.
    pub fn handle_auth_failure(&mut self, conn: ConnId, error: AuthError, now: Instant) {
        if self.fatal.is_some() {
            return;
        }
        let Some(node) = self.brokers.conns.get(&conn).map(|c| c.node) else {
            // Already given up on (`poll_close`): nothing waits on it.
            return;
        };
        self.drop_conn(conn, now);
        self.fail_unauthenticated(node, &error);
        self.maintain(now);
    }

    /// The instant from [`Self::poll_timeout`] was reached.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.maintain(now);
    }

    /// Closes every open batch now and keeps `linger.ms` at 0 until all
    /// held records have an outcome.
    pub fn flush(&mut self, now: Instant) {
        self.flushing = true;
        self.maintain(now);
    }

    // -----------------------------------------------------------------
    // Outputs
    // -----------------------------------------------------------------

    /// A connection to open.
    pub fn poll_connect(&mut self) -> Option<ConnectRequest> {
        self.brokers.poll_connect()
    }

    /// A connection the producer gave up on (bad frame, correlation
    /// mismatch, request timeout): close it. Its requests are already
    /// accounted for; a later `handle_disconnected` for it is ignored.
    pub fn poll_close(&mut self) -> Option<ConnId> {
        self.brokers.poll_close()
    }

    /// The next request frame to write, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.maintain(now);
        if self.fatal.is_some() {
            return None;
        }
        // 1. ApiVersions on new connections.
        if let Some((cid, version)) = self.brokers.next_negotiation() {
            let body = ApiVersionsRequest {
                client_software_name: ByteStr::from_static("kafka-producer"),
                client_software_version: ByteStr::from_static(env!("CARGO_PKG_VERSION")),
                ..Default::default()
            };
            return self.send(
                cid,
                &body,
                version,
                Kind::ApiVersions { version },
                now,
                true,
            );
        }
        // 2. Metadata.
        if self.metadata.due() {
            if let Some(cid) = self.ready_conn() {
                let version = self.brokers.conns[&cid].versions.metadata;
                let body = self.topics.request(self.config.allow_auto_create_topics);
                self.metadata.sent(now, self.config.retry_backoff);
                return self.send(cid, &body, version, Kind::Metadata { version }, now, true);
            }
        }
        // 3. InitProducerId.
        if self.id.wants_id() {
            if let Some(cid) = self.ready_conn() {
                if let Some(version) = self.brokers.conns[&cid].versions.init_producer_id {
                    if let Some((body, bump)) = self.id.request(version) {
                        let kind = Kind::InitProducerId { version, bump };
                        return self.send(cid, &body, version, kind, now, true);
                    }
                }
            }
        }
        // 4. Produce, one sink per broker, rotating across brokers.
        let ready = self.brokers.ready_sinks();
        if ready.is_empty() {
            return None;
        }
        let start = self.brokers.node_cursor % ready.len();
        for k in 0..ready.len() {
            let (node, cid) = ready[(start + k) % ready.len()];
            if let Some(t) = self.build_produce(node, cid, now) {
                self.brokers.node_cursor = (start + k + 1) % ready.len();
                return Some(t);
            }
        }
        None
    }

    /// When [`Self::handle_timeout`] should be called next, if anything
    /// waits on time.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.fatal.is_some() {
            return None;
        }
        let mut t = None;
        let dt = self.config.delivery_timeout;
        for topic in self.topics.iter() {
            if let Some(r) = topic.pending.front() {
                min_time(&mut t, r.enqueued + dt);
            }
        }
        for part in &self.parts {
            if let Some(p) = part.timer(dt, self.flushing) {
                min_time(&mut t, p);
            }
        }
        if let Some(b) = self.brokers.timer() {
            min_time(&mut t, b);
        }
        for x in [self.metadata.timer(), self.id.timer()]
            .into_iter()
            .flatten()
        {
            min_time(&mut t, x);
        }
        t
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes of records held (pending, in batches, in flight): what
    /// `buffer.memory` bounds.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Bytes of batches in requests awaiting a response.
    pub fn in_flight_bytes(&self) -> usize {
        self.in_flight_bytes
    }

    /// Whether every appended record has had its outcome reported.
    pub fn is_idle(&self) -> bool {
        self.topics.iter().all(|t| t.pending.is_empty()) && self.parts.iter().all(|p| !p.has_data())
    }

    /// The fatal error, if the producer failed.
    pub fn fatal_error(&self) -> Option<&FatalError> {
        self.fatal.as_ref()
    }

    /// The current producer id and epoch (-1, -1 without one).
    pub fn producer_identity(&self) -> (i64, i16) {
        self.id.identity()
    }

    // -----------------------------------------------------------------
    // Accumulation
    // -----------------------------------------------------------------

    #[inline]
    fn next_id(&mut self) -> DeliveryId {
        let id = DeliveryId(self.next_delivery);
        self.next_delivery += 1;
        id
    }

    #[inline]
    fn intern(&mut self, topic: &str) -> usize {
        let (ti, new) = self.topics.intern(topic);
        if new {
            self.metadata.wanted = true;
        }
        ti
    }

    /// Chooses the partition; the flag says the choice was sticky.
    #[inline]
    fn place(
        &mut self,
        ti: usize,
        r: &RecordRef<'_>,
        v: Val<'_>,
    ) -> Result<(usize, bool), AppendError> {
        let n = self.topics[ti].parts.len() as u32;
        if let Some(p) = r.partition {
            return match self.topics[ti].parts.get(p as usize) {
                Some(&pi) => Ok((pi, false)),
                None => Err(AppendError::UnknownPartition {
                    partition: p,
                    partitions: n,
                }),
            };
        }
        let available = |s: &Self| -> Vec<u32> {
            s.topics[ti]
                .parts
                .iter()
                .enumerate()
                .filter(|(_, &pi)| s.parts[pi].leader.is_some())
                .map(|(i, _)| i as u32)
                .collect()
        };
        if self.topics[ti].modulus.n() != n {
            self.topics[ti].modulus = Modulus::new(n);
        }
        let modulus = self.topics[ti].modulus;
        let index = match partitioner::choose(self.config.partitioner, r.key, modulus) {
            Choice::Fixed(p) => p,
            Choice::RoundRobin => {
                let t = &mut self.topics[ti];
                let p = t.rr_next % n;
                t.rr_next = t.rr_next.wrapping_add(1);
                p
            }
            Choice::Random => {
                let avail = available(self);
                partitioner::random_partition(&mut self.rng, n, &avail, None)
            }
            Choice::Sticky => {
                let current = self.topics[ti].sticky;
                if let Some((p, gen)) = current {
                    if let Some(&pi) = self.topics[ti].parts.get(p as usize) {
                        if let Some(open) = &self.parts[pi].open {
                            let size = match &open.data {
                                BatchData::Building(b) => v.size_in(b, r),
                                BatchData::Sealed(_) => usize::MAX / 2,
                            };
                            if open.gen == gen && PartitionBuffer::fits(open, size, &self.pool) {
                                return Ok((pi, true));
                            }
                        }
                    }
                }
                // KIP-480: the sticky partition's batch closed (or this record
                // would close it): switch to another partition.
                let avail = available(self);
                let p =
                    partitioner::random_partition(&mut self.rng, n, &avail, current.map(|c| c.0));
                let pi = self.topics[ti].parts[p as usize];
                return Ok((pi, true));
            }
        };
        Ok((self.topics[ti].parts[index as usize], false))
    }

    #[inline]
    fn append_to_part(
        &mut self,
        pi: usize,
        id: DeliveryId,
        r: &RecordRef<'_>,
        v: Val<'_>,
        now: impl Now,
    ) -> Result<(), AppendError> {
        self.buffered += self.parts[pi].append(id, r, v, now, &mut self.pool)?;
        Ok(())
    }

    /// Seals the batch at `qi` of partition `pi` (see
    /// [`PartitionBuffer::seal`]).
    fn seal(&mut self, pi: usize, qi: usize) {
        let identity = self.id.enabled().then(|| self.id.identity());
        self.parts[pi].seal(qi, identity, &mut self.pool);
    }

    // -----------------------------------------------------------------
    // Housekeeping
    // -----------------------------------------------------------------

    fn maintain(&mut self, now: Instant) {
        if self.fatal.is_some() {
            return;
        }
        self.check_request_timeouts(now);
        if self.fatal.is_some() {
            return;
        }
        self.expire(now);
        for part in &mut self.parts {
            part.close_lingered(now, self.flushing);
            for b in part.queue.iter_mut() {
                passed(&mut b.not_before, now);
            }
        }
        self.metadata.tick(now);
        self.id.tick(now);
        self.brokers.tick(now);
        self.check_drained();
        self.plan_connections();
        if self.flushing && self.is_idle() {
            self.flushing = false;
        }
    }

    fn check_request_timeouts(&mut self, now: Instant) {
        for cid in self.brokers.late(now) {
            self.break_conn_quiet(cid, now);
        }
    }

    /// Fails records whose `delivery.timeout.ms` passed (except batches in
    /// flight, which wait for their response or request timeout).
    fn expire(&mut self, now: Instant) {
        let dt = self.config.delivery_timeout;
        for ti in 0..self.topics.len() {
            while self.topics[ti]
                .pending
                .front()
                .is_some_and(|r| r.enqueued + dt <= now)
            {
                let Some(r) = self.topics[ti].pending.pop_front() else {
                    break;
                };
                let t = &self.topics[ti];
                let err = match (t.state, t.last_error) {
                    (TopicState::Missing, Some(e)) => DeliveryError::Broker(e),
                    (_, last_error) => DeliveryError::TimedOut { last_error },
                };
                self.buffered -= r.est;
                let topic = t.name.clone();
                self.events.push_back(Event::Delivery(DeliveryReport {
                    topic,
                    partition: None,
                    ids: vec![r.id],
                    result: BatchResult::NotPersisted(err),
                }));
            }
        }
        for pi in 0..self.parts.len() {
            if let Some(b) = self.parts[pi].take_expired_open(now, dt) {
                let err = DeliveryError::TimedOut {
                    last_error: b.last_error,
                };
                self.finish(pi, b, BatchResult::NotPersisted(err));
            }
            let mut from = 0;
            while let Some(qi) = self.parts[pi].next_expired(from, now, dt) {
                let err = DeliveryError::TimedOut {
                    last_error: self.parts[pi].queue[qi].last_error,
                };
                self.remove_failed(pi, qi, err);
                from = qi;
            }
        }
    }

    /// Fails the records waiting for `node`, whose connection failed
    /// authentication (see [`Self::handle_auth_failure`]). Batches in
    /// flight elsewhere are left to their response or their connection's
    /// end.
    fn fail_unauthenticated(&mut self, node: i32, error: &AuthError) {
        let err = DeliveryError::Authentication(error.clone());
        // Records without a leader wait for metadata, from any connection:
        // they fail when no other connection is set up.
        let control = self
            .brokers
            .conns
            .values()
            .all(|c| c.state == ConnState::Connecting);
        for pi in 0..self.parts.len() {
            if !self.parts[pi].has_data() {
                continue;
            }
            let waits = match self.parts[pi].leader {
                Some(leader) => leader == node,
                None => control,
            };
            if !waits {
                continue;
            }
            if let Some(b) = self.parts[pi].open.take() {
                self.finish(pi, b, BatchResult::NotPersisted(err.clone()));
            }
            // Newest first: a batch never sent that nothing follows rewinds
            // the partition's sequence instead of leaving a gap.
            let mut qi = self.parts[pi].queue.len();
            while qi > 0 {
                qi -= 1;
                if self.parts[pi].queue[qi].in_flight.is_none() {
                    self.remove_failed(pi, qi, err.clone());
                }
            }
        }
        if !control {
            return;
        }
        for ti in 0..self.topics.len() {
            while let Some(r) = self.topics[ti].pending.pop_front() {
                self.buffered -= r.est;
                self.events.push_back(Event::Delivery(DeliveryReport {
                    topic: self.topics[ti].name.clone(),
                    partition: None,
                    ids: vec![r.id],
                    result: BatchResult::NotPersisted(err.clone()),
                }));
            }
        }
    }

    fn plan_connections(&mut self) {
        if self.fatal.is_some() {
            return;
        }
        let control_needed =
            (self.metadata.wanted && !self.metadata.in_flight) || self.id.wants_id();
        if control_needed {
            self.brokers.connect_control();
        }
        let parts = &self.parts;
        self.brokers
            .connect_leaders(|pi, node| parts[pi].has_data() && parts[pi].leader == Some(node));
    }

    fn ready_conn(&self) -> Option<ConnId> {
        self.brokers.ready_conn()
    }

    fn break_conn(&mut self, conn: ConnId, now: Instant) {
        self.break_conn_quiet(conn, now);
        self.maintain(now);
    }

    /// A response on `conn` (to a request of `api`: key and version) could
    /// not be used: reports it and breaks the connection.
    fn bad_response(&mut self, conn: ConnId, api: (i16, i16), error: String, now: Instant) {
        let broker = match self.brokers.conns.get(&conn) {
            Some(c) => self.brokers.name(c.node),
            None => return,
        };
        self.events.push_back(Event::BadResponse(BadResponse {
            broker,
            api_key: api.0,
            version: api.1,
            error,
        }));
        self.break_conn(conn, now);
    }

    fn break_conn_quiet(&mut self, conn: ConnId, now: Instant) {
        self.brokers.close(conn);
        self.drop_conn(conn, now);
    }

    fn drop_conn(&mut self, conn: ConnId, now: Instant) {
        let reconnect = (
            self.config.reconnect_backoff,
            self.config.reconnect_backoff_max,
        );
        let Some(c) = self.brokers.remove(conn, now, reconnect) else {
            return;
        };
        let mut had_produce = false;
        for f in c.in_flight {
            match f.kind {
                Kind::ApiVersions { .. } => {}
                Kind::Metadata { .. } => self.metadata.lost(),
                Kind::InitProducerId { bump, .. } => {
                    self.id.request_lost(bump);
                }
                Kind::Produce { batches, .. } => {
                    had_produce = true;
                    for (pi, uid) in batches {
                        let Some(qi) = self.find_in_flight(pi, uid, conn) else {
                            continue;
                        };
                        self.land(pi, qi);
                        let (base, max) =
                            (self.config.retry_backoff, self.config.retry_backoff_max);
                        let b = &mut self.parts[pi].queue[qi];
                        b.in_doubt = true;
                        b.ever_in_doubt = true;
                        b.last_error = Some(ErrorCode::NetworkException);
                        b.not_before = Some(now + backoff(base, max, b.sends));
                    }
                }
            }
        }
        if had_produce || c.node >= 0 {
            // The leader may have moved.
            self.metadata.wanted = true;
        }
    }

    fn find_in_flight(&self, pi: usize, uid: u64, conn: ConnId) -> Option<usize> {
        self.parts.get(pi)?.find_in_flight(uid, conn)
    }

    /// Marks the batch at `qi` as no longer in flight.
    fn land(&mut self, pi: usize, qi: usize) {
        self.in_flight_bytes -= self.parts[pi].land(qi);
    }

    // -----------------------------------------------------------------
    // Outcomes
    // -----------------------------------------------------------------

    fn finish(&mut self, pi: usize, b: Batch, result: BatchResult) {
        self.buffered -= b.bytes;
        let part = &self.parts[pi];
        self.events.push_back(Event::Delivery(DeliveryReport {
            topic: self.topics[part.topic].name.clone(),
            partition: Some(part.index),
            ids: b.ids,
            result,
        }));
        self.pool.recycle(b.data);
    }

    /// Removes a batch that will not be written (or whose fate is unknown)
    /// and reports it; a sequence gap it leaves is closed by a rewind or,
    /// when something may follow it, a drain and a new epoch.
    fn remove_failed(&mut self, pi: usize, qi: usize, err: DeliveryError) {
        let (idempotent, current) = (self.id.enabled(), self.id.identity());
        let Some((b, reset)) = self.parts[pi].take_failed(qi, idempotent, current) else {
            return;
        };
        if reset {
            self.start_reset(true);
        }
        let result = if b.in_doubt {
            BatchResult::PossiblyPersisted(err)
        } else {
            BatchResult::NotPersisted(err)
        };
        self.finish(pi, b, result);
    }

    fn succeed(&mut self, pi: usize, qi: usize, base_offset: i64) {
        let Some((b, proven)) = self.parts[pi].take_succeeded(qi, self.id.enabled()) else {
            return;
        };
        for x in proven {
            self.finish(pi, x, BatchResult::Persisted { base_offset: -1 });
        }
        self.finish(pi, b, BatchResult::Persisted { base_offset });
    }

    fn start_reset(&mut self, bump: bool) {
        self.id.start_reset(bump);
    }

    fn check_drained(&mut self) {
        let in_flight = self.brokers.conns.values().any(|c| c.produce_in_flight > 0);
        let current = Some(self.id.identity());
        let parts = &self.parts;
        self.id.check_drained(in_flight, || {
            parts
                .iter()
                .any(|p| p.queue.iter().any(|b| b.in_doubt && b.identity == current))
        });
    }

    /// A new producer id or epoch: every partition re-stamps its sealed
    /// batches; those in doubt fail (possibly persisted).
    fn restamp_all(&mut self) {
        let identity = self.id.identity();
        for pi in 0..self.parts.len() {
            for b in self.parts[pi].restamp(identity) {
                let err = DeliveryError::TimedOut {
                    last_error: b.last_error,
                };
                self.finish(pi, b, BatchResult::PossiblyPersisted(err));
            }
        }
    }

    fn set_fatal(&mut self, err: FatalError) {
        if self.fatal.is_some() {
            return;
        }
        self.fatal = Some(err.clone());
        let e = DeliveryError::Fatal(err.clone());
        for ti in 0..self.topics.len() {
            let pending: Vec<PendingRecord> = self.topics[ti].pending.drain(..).collect();
            for r in pending {
                self.buffered -= r.est;
                self.events.push_back(Event::Delivery(DeliveryReport {
                    topic: self.topics[ti].name.clone(),
                    partition: None,
                    ids: vec![r.id],
                    result: BatchResult::NotPersisted(e.clone()),
                }));
            }
        }
        for pi in 0..self.parts.len() {
            if let Some(b) = self.parts[pi].open.take() {
                self.finish(pi, b, BatchResult::NotPersisted(e.clone()));
            }
            let queue: Vec<Batch> = self.parts[pi].queue.drain(..).collect();
            for b in queue {
                let result = if b.in_flight.is_some() || b.in_doubt {
                    BatchResult::PossiblyPersisted(e.clone())
                } else {
                    BatchResult::NotPersisted(e.clone())
                };
                self.finish(pi, b, result);
            }
            self.parts[pi].clear_in_flight();
        }
        self.in_flight_bytes = 0;
        self.events.push_back(Event::Fatal(err));
    }

    // -----------------------------------------------------------------
    // Requests
    // -----------------------------------------------------------------

    fn send<R: Request>(
        &mut self,
        cid: ConnId,
        body: &R,
        version: i16,
        kind: Kind,
        now: Instant,
        expect_response: bool,
    ) -> Option<Transmit> {
        let threshold = VectoredSink::DEFAULT_THRESHOLD;
        let deadline = now + self.config.request_timeout;
        let corr = self.brokers.next_corr(cid)?;
        match encode_request_vectored(body, version, corr, Some(&self.client_id), threshold) {
            Ok(chunks) => {
                if expect_response {
                    if let Some(c) = self.brokers.conns.get_mut(&cid) {
                        c.in_flight.push_back(InFlight {
                            corr,
                            deadline,
                            kind,
                        });
                    }
                }
                Some(Transmit { conn: cid, chunks })
            }
            Err(e) => {
                self.set_fatal(FatalError::Broker {
                    code: ErrorCode::InvalidRequest,
                    context: match e {
                        kafka_wire::EncodeError::UnsupportedVersion { .. } => "encode: version",
                        _ => "encode",
                    },
                });
                None
            }
        }
    }

    /// The index of the next batch of partition `pi` that may go to `node`
    /// on `cid`, if any.
    fn sendable(&self, pi: usize, node: i32, cid: ConnId) -> Option<usize> {
        self.parts[pi].sendable(node, cid, &self.id)
    }

    /// The next Produce request to `node` on `cid`: the sendable batch of
    /// each partition it leads, within `message.max.bytes`.
    fn build_produce(&mut self, node: i32, cid: ConnId, now: Instant) -> Option<Transmit> {
        let acks = self.config.acks;
        if acks != Acks::None && !self.brokers.may_produce(cid, self.config.max_in_flight) {
            return None;
        }
        let chosen = self.choose_batches(node, cid);
        if chosen.is_empty() {
            return None;
        }
        let batches: Vec<(usize, u64)> = chosen
            .iter()
            .map(|&(pi, qi)| (pi, self.parts[pi].queue[qi].uid))
            .collect();
        let body = produce_request(
            acks.wire(),
            i32::try_from(self.config.request_timeout.as_millis()).unwrap_or(i32::MAX),
            chosen.iter().filter_map(|&(pi, qi)| {
                let part = &self.parts[pi];
                let BatchData::Sealed(bytes) = &part.queue[qi].data else {
                    return None;
                };
                let topic = &self.topics[part.topic].name;
                Some((part.topic, topic, part.index, bytes.clone()))
            }),
        );
        let version = self.brokers.conns.get(&cid)?.versions.produce;
        let expect = acks != Acks::None;
        let kind = Kind::Produce {
            version,
            batches: batches.clone(),
        };
        let t = self.send(cid, &body, version, kind, now, expect)?;
        if expect {
            self.in_flight(cid, &chosen);
        } else {
            self.written_without_answer(batches);
        }
        Some(t)
    }

    /// The batches a Produce request to `node` on `cid` takes, sealed:
    /// one per partition, starting after the partition the last request
    /// started with, within `message.max.bytes`.
    fn choose_batches(&mut self, node: i32, cid: ConnId) -> Vec<(usize, usize)> {
        let Some(n) = self.brokers.nodes.get_mut(&node) else {
            return Vec::new();
        };
        let parts = n.parts.clone();
        if parts.is_empty() {
            return Vec::new();
        }
        let start = n.rr_start % parts.len();
        n.rr_start = (start + 1) % parts.len();
        let mut chosen: Vec<(usize, usize)> = Vec::new();
        let mut size = REQUEST_OVERHEAD;
        for k in 0..parts.len() {
            let pi = parts[(start + k) % parts.len()];
            let Some(qi) = self.sendable(pi, node, cid) else {
                continue;
            };
            let blen = self.parts[pi].queue[qi].wire_len() + PER_BATCH_OVERHEAD;
            if !chosen.is_empty() && size + blen > self.config.message_max_bytes {
                continue;
            }
            if self.id.may_seal() {
                self.seal(pi, qi);
            }
            if !matches!(self.parts[pi].queue[qi].data, BatchData::Sealed(_)) {
                continue;
            }
            size += blen;
            chosen.push((pi, qi));
        }
        if chosen.is_empty() {
            // Nothing went: the next request starts where this one did.
            if let Some(n) = self.brokers.nodes.get_mut(&node) {
                n.rr_start = start;
            }
        }
        chosen
    }

    /// The `chosen` batches went out on `cid` and await their answer.
    fn in_flight(&mut self, cid: ConnId, chosen: &[(usize, usize)]) {
        if let Some(c) = self.brokers.conns.get_mut(&cid) {
            c.produce_in_flight += 1;
        }
        for &(pi, qi) in chosen {
            self.in_flight_bytes += self.parts[pi].sent(qi, cid);
        }
    }

    /// acks=0: no answer will come; written is all the producer will know.
    fn written_without_answer(&mut self, mut batches: Vec<(usize, u64)>) {
        batches.sort_by_key(|(pi, _)| *pi);
        for (pi, uid) in batches {
            if let Some(qi) = self.parts[pi].queue.iter().position(|b| b.uid == uid) {
                self.succeed(pi, qi, -1);
            }
        }
    }

    // -----------------------------------------------------------------
    // Responses
    // -----------------------------------------------------------------

    /// Applies an ApiVersions response. When the reply to our version
    /// cannot be used (a broker that does not know it may answer in a form
    /// of its own, as librdkafka's mock cluster does), asks again at the
    /// version the broker names for ApiVersions (KIP-511) or else at v0, as
    /// librdkafka does, before giving up on the broker. Returns the bytes
    /// ignored after the response.
    fn on_api_versions(
        &mut self,
        cid: ConnId,
        frame: Bytes,
        version: i16,
    ) -> Result<usize, String> {
        let decoded = decode_response_lenient::<ApiVersionsRequest>(frame.clone(), version)
            .or_else(|e| {
                // KIP-511: a broker that does not know our version answers v0.
                if version > 0 {
                    decode_response_lenient::<ApiVersionsRequest>(frame, 0).map_err(|_| e)
                } else {
                    Err(e)
                }
            });
        let LenientResponse {
            body: resp,
            trailing,
            ..
        } = match decoded {
            Ok(r) => r,
            Err(_) if version > 0 => {
                self.ask_api_versions_again(cid, 0);
                return Ok(0);
            }
            Err(e) => return Err(e.to_string()),
        };
        let code = ErrorCode::from(resp.error_code);
        if code == ErrorCode::UnsupportedVersion {
            if version == 0 {
                return Err("UNSUPPORTED_VERSION for ApiVersions v0".to_owned());
            }
            let named = resp
                .range(api_versions::API_KEY)
                .map(|(_, their_max)| their_max.min(api_versions::MAX_VERSION))
                .filter(|v| (api_versions::MIN_VERSION..version).contains(v));
            self.ask_api_versions_again(cid, named.unwrap_or(0));
            return Ok(trailing);
        }
        if code.is_error() {
            return Err(format!("error {code}"));
        }
        let versions = match choose_versions(&resp, self.id.enabled()) {
            Ok(v) => v,
            Err(api_key) => {
                self.set_fatal(FatalError::NoCommonVersion { api_key });
                return Ok(trailing);
            }
        };
        let node = {
            let Some(c) = self.brokers.conns.get_mut(&cid) else {
                return Ok(trailing);
            };
            c.versions = versions;
            c.state = ConnState::Ready;
            c.node
        };
        if let Some(n) = self.brokers.nodes.get_mut(&node) {
            // The next connection opens with the version that worked, or the
            // broker's own highest if it named one.
            n.api_versions_version = resp
                .range(api_versions::API_KEY)
                .map_or(version, |(_, max)| {
                    max.clamp(version, api_versions::MAX_VERSION)
                });
        }
        Ok(trailing)
    }

    /// Sends ApiVersions again on `cid`, at `version`; the broker's next
    /// connection starts there too.
    fn ask_api_versions_again(&mut self, cid: ConnId, version: i16) {
        let Some(c) = self.brokers.conns.get_mut(&cid) else {
            return;
        };
        c.api_version = version;
        c.state = ConnState::Negotiating { sent: false };
        if let Some(n) = self.brokers.nodes.get_mut(&c.node) {
            n.api_versions_version = version;
        }
    }

    fn on_metadata(&mut self, frame: Bytes, version: i16, now: Instant) -> Result<usize, String> {
        let LenientResponse {
            body: resp,
            trailing,
            ..
        } = decode_response_lenient::<MetadataRequest>(frame, version)
            .map_err(|e| e.to_string())?;
        self.metadata.in_flight = false;
        let code = ErrorCode::from(resp.error_code);
        if code.class() == ErrorClass::Fatal {
            self.set_fatal(FatalError::Broker {
                code,
                context: "metadata",
            });
        } else if code.is_error() {
            self.metadata.wanted = true;
        } else {
            self.apply_metadata(&resp, now);
        }
        Ok(trailing)
    }

    /// Applies a Metadata response: brokers, then each topic appended to,
    /// then the records that waited for a topic now known.
    fn apply_metadata(&mut self, resp: &MetadataResponse, now: Instant) {
        self.brokers.update(&resp.brokers);
        let mut retry: Option<Duration> = None;
        let mut ready_topics = Vec::new();
        for t in &resp.topics {
            let Some(ti) = t.name.as_ref().and_then(|n| self.topics.find(n.as_str())) else {
                continue;
            };
            let nodes = &self.brokers.nodes;
            let answer = read_topic(t, |node| nodes.contains_key(&node));
            let applied = self.apply_topic(ti, answer);
            if applied.fatal {
                return;
            }
            if applied.ready {
                ready_topics.push(ti);
            }
            match applied.retry {
                Some(Retry::Soon) => retry = Some(self.config.retry_backoff),
                Some(Retry::Later) => {
                    retry.get_or_insert(self.config.retry_backoff_max);
                }
                None => {}
            }
        }
        // Topics asked for but absent from the answer: ask again.
        if self.topics.iter().any(|t| t.state == TopicState::Unknown) {
            retry = Some(self.config.retry_backoff);
        }
        self.brokers
            .assign(self.parts.iter().enumerate().map(|(pi, p)| (pi, p.leader)));
        for ti in ready_topics {
            self.drain_pending(ti, now);
        }
        self.metadata
            .answered(now, self.config.metadata_max_age, retry);
        let topics_ready = self
            .topics
            .iter()
            .filter(|t| t.state == TopicState::Ready)
            .count();
        self.events.push_back(Event::MetadataUpdated {
            brokers: self.brokers.known(),
            topics_ready,
        });
    }

    /// Applies what a Metadata response says of topic `ti`.
    fn apply_topic(&mut self, ti: usize, answer: TopicAnswer) -> Applied {
        let retry = |r| Applied {
            retry: Some(r),
            ..Applied::default()
        };
        match answer {
            TopicAnswer::Partitions(leaders) => self.set_partitions(ti, &leaders),
            TopicAnswer::Incomplete => retry(Retry::Soon),
            TopicAnswer::Missing(code) => {
                let topic = &mut self.topics[ti];
                topic.last_error = Some(code);
                topic.missing_answers = topic.missing_answers.saturating_add(1);
                if topic.parts.is_empty() {
                    topic.state = TopicState::Missing;
                    // Asked, and refreshed once: it does not exist.
                    if topic.missing_answers >= 2 && !self.config.allow_auto_create_topics {
                        self.fail_pending(ti, DeliveryError::UnknownTopic);
                    }
                }
                retry(Retry::Later)
            }
            TopicAnswer::Fatal(code) => {
                self.set_fatal(FatalError::Broker {
                    code,
                    context: "metadata",
                });
                Applied {
                    fatal: true,
                    ..Applied::default()
                }
            }
            TopicAnswer::Retriable(code) => {
                self.topics[ti].last_error = Some(code);
                retry(Retry::Soon)
            }
            TopicAnswer::Failed(code) => {
                self.topics[ti].state = TopicState::Failed(code);
                self.topics[ti].last_error = Some(code);
                self.fail_pending(ti, DeliveryError::Broker(code));
                Applied::default()
            }
        }
    }

    /// Topic `ti` has these partitions, led by these brokers (`None`: no
    /// leader now, asked again soon): partition buffers are added for new
    /// partitions, leaders set.
    fn set_partitions(&mut self, ti: usize, leaders: &[Option<i32>]) -> Applied {
        while self.topics[ti].parts.len() < leaders.len() {
            let index = self.topics[ti].parts.len() as i32;
            self.parts.push(PartitionBuffer::new(ti, index));
            let pi = self.parts.len() - 1;
            self.topics[ti].parts.push(pi);
        }
        for (&pi, &leader) in self.topics[ti].parts.iter().zip(leaders) {
            self.parts[pi].leader = leader;
        }
        let topic = &mut self.topics[ti];
        topic.last_error = None;
        topic.missing_answers = 0;
        let ready = topic.state != TopicState::Ready;
        topic.state = TopicState::Ready;
        Applied {
            ready,
            retry: leaders.iter().any(Option::is_none).then_some(Retry::Soon),
            fatal: false,
        }
    }

    /// Fails the records of topic `ti` waiting for its metadata.
    fn fail_pending(&mut self, ti: usize, err: DeliveryError) {
        let pending: Vec<PendingRecord> = self.topics[ti].pending.drain(..).collect();
        for r in pending {
            self.buffered -= r.est;
            self.events.push_back(Event::Delivery(DeliveryReport {
                topic: self.topics[ti].name.clone(),
                partition: r.partition,
                ids: vec![r.id],
                result: BatchResult::NotPersisted(err.clone()),
            }));
        }
    }

    fn drain_pending(&mut self, ti: usize, now: Instant) {
        let pending: Vec<PendingRecord> = self.topics[ti].pending.drain(..).collect();
        for r in pending {
            self.buffered -= r.est;
            let headers: Vec<HeaderRef<'_>> = r
                .headers
                .iter()
                .map(|(k, v)| HeaderRef {
                    key: k,
                    value: v.as_deref(),
                })
                .collect();
            let name = self.topics[ti].name.clone();
            let rec = RecordRef {
                topic: name.as_str(),
                partition: r.partition,
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                headers: &headers,
                timestamp: r.timestamp,
            };
            let v = Val::One(rec.value);
            let placed = self.place(ti, &rec, v).and_then(|(pi, sticky)| {
                self.append_to_part(pi, r.id, &rec, v, now)
                    .map(|()| (pi, sticky))
            });
            match placed {
                Ok((pi, sticky)) => {
                    if sticky {
                        let gen = self.parts[pi].gen;
                        let index = self.parts[pi].index as u32;
                        self.topics[ti].sticky = Some((index, gen));
                    }
                }
                Err(e) => {
                    let err = match e {
                        AppendError::UnknownPartition {
                            partition,
                            partitions,
                        } => DeliveryError::UnknownPartition {
                            partition,
                            partitions,
                        },
                        AppendError::Topic(code) => DeliveryError::Broker(code),
                        _ => DeliveryError::Broker(ErrorCode::UnknownTopicOrPartition),
                    };
                    self.events.push_back(Event::Delivery(DeliveryReport {
                        topic: name.clone(),
                        partition: r.partition,
                        ids: vec![r.id],
                        result: BatchResult::NotPersisted(err),
                    }));
                }
            }
        }
    }

    fn on_init_producer_id(
        &mut self,
        frame: Bytes,
        version: i16,
        bump: bool,
        now: Instant,
    ) -> Result<usize, String> {
        let LenientResponse {
            body: resp,
            trailing,
            ..
        } = decode_response_lenient::<InitProducerIdRequest>(frame, version)
            .map_err(|e| e.to_string())?;
        let code = ErrorCode::from(resp.error_code);
        let identity = (resp.producer_id, resp.producer_epoch);
        let backoff = (self.config.retry_backoff, self.config.retry_backoff_max);
        match self.id.answer(code, identity, bump, now, backoff) {
            IdAnswer::Ready => {
                self.restamp_all();
                let (producer_id, epoch) = self.id.identity();
                self.events
                    .push_back(Event::ProducerId { producer_id, epoch });
            }
            IdAnswer::Fatal(code) => self.set_fatal(FatalError::Broker {
                code,
                context: "InitProducerId",
            }),
            IdAnswer::Ignored | IdAnswer::Retry => {}
        }
        Ok(trailing)
    }

    fn on_produce(
        &mut self,
        cid: ConnId,
        frame: Bytes,
        version: i16,
        batches: &[(usize, u64)],
        now: Instant,
    ) -> Result<usize, String> {
        let LenientResponse {
            body: resp,
            trailing,
            ..
        } = decode_response_lenient::<ProduceRequest>(frame, version).map_err(|e| e.to_string())?;
        let resp: ProduceResponse = resp;
        if let Some(c) = self.brokers.conns.get_mut(&cid) {
            c.produce_in_flight = c.produce_in_flight.saturating_sub(1);
        }
        let mut any_ok = false;
        for &(pi, uid) in batches {
            let Some(part) = self.parts.get(pi) else {
                continue;
            };
            let name = &self.topics[part.topic].name;
            let found = resp
                .responses
                .iter()
                .filter(|t| t.name == *name)
                .flat_map(|t| t.partition_responses.iter())
                .find(|p| p.index == part.index)
                .map(|p| (ErrorCode::from(p.error_code), p.base_offset));
            // A partition missing from the answer is treated as lost.
            let (code, base_offset) = found.unwrap_or((ErrorCode::NetworkException, -1));
            if matches!(code, ErrorCode::None | ErrorCode::DuplicateSequenceNumber) {
                any_ok = true;
            }
            self.apply_batch_result(cid, pi, uid, code, base_offset, now);
            if self.fatal.is_some() {
                return Ok(trailing);
            }
        }
        if any_ok {
            if let Some(c) = self.brokers.conns.get_mut(&cid) {
                c.produce_ok = true;
            }
        }
        Ok(trailing)
    }

    fn apply_batch_result(
        &mut self,
        cid: ConnId,
        pi: usize,
        uid: u64,
        code: ErrorCode,
        base_offset: i64,
        now: Instant,
    ) {
        let Some(qi) = self.find_in_flight(pi, uid, cid) else {
            return;
        };
        self.land(pi, qi);
        let idempotent = self.id.enabled();
        let idem_fatal = |s: &Self, code| FatalError::Idempotence {
            code,
            topic: s.topics[s.parts[pi].topic].name.as_str().to_owned(),
            partition: s.parts[pi].index,
        };
        match code {
            ErrorCode::None => self.succeed(pi, qi, base_offset),
            ErrorCode::DuplicateSequenceNumber if idempotent => self.succeed(pi, qi, -1),
            ErrorCode::OutOfOrderSequenceNumber if idempotent => {
                let part = &self.parts[pi];
                if part.queue[qi].base_seq == part.next_ack_seq {
                    // Head of line: broker and producer disagree.
                    let e = idem_fatal(self, code);
                    self.set_fatal(e);
                } else {
                    // An earlier batch failed: this one was not written.
                    self.parts[pi].queue[qi].in_doubt = false;
                    self.requeue(pi, qi, code, now);
                }
            }
            ErrorCode::UnknownProducerId | ErrorCode::InvalidProducerEpoch if idempotent => {
                let part = &self.parts[pi];
                let safe = part.queue.iter().take(qi).all(|b| !b.in_doubt)
                    && !part.queue[qi].ever_in_doubt;
                if safe {
                    self.parts[pi].queue[qi].in_doubt = false;
                    self.requeue(pi, qi, code, now);
                    self.start_reset(code == ErrorCode::UnknownProducerId);
                } else {
                    let e = idem_fatal(self, code);
                    self.set_fatal(e);
                }
            }
            c if c.class() == ErrorClass::Fatal => self.set_fatal(FatalError::Broker {
                code: c,
                context: "produce",
            }),
            // A batch damaged on the way is sent once more; damaged again,
            // it is the batch itself.
            ErrorCode::CorruptMessage if self.parts[pi].queue[qi].sends < 2 => {
                self.requeue(pi, qi, code, now);
            }
            c if c.class() == ErrorClass::Retriable && c != ErrorCode::CorruptMessage => {
                if !not_written(c) {
                    let b = &mut self.parts[pi].queue[qi];
                    b.in_doubt = true;
                    b.ever_in_doubt = true;
                }
                if refresh_metadata(c) {
                    self.parts[pi].leader = None;
                    self.metadata.wanted = true;
                }
                self.requeue(pi, qi, c, now);
            }
            c => self.remove_failed(pi, qi, DeliveryError::Broker(c)),
        }
    }

    fn requeue(&mut self, pi: usize, qi: usize, code: ErrorCode, now: Instant) {
        let (base, max) = (self.config.retry_backoff, self.config.retry_backoff_max);
        let b = &mut self.parts[pi].queue[qi];
        b.last_error = Some(code);
        b.not_before = Some(now + backoff(base, max, b.sends));
    }
}

#[cfg(test)]
mod tests;
