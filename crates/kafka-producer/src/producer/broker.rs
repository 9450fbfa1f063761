//! The brokers and the connections to them: one sink per broker, with its
//! connection, the requests in flight on it (answered in order), the API
//! versions it speaks, and its reconnect backoff.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_wire::messages::api_versions::ApiVersionsResponse;
use kafka_wire::messages::metadata::MetadataResponseBroker;
use kafka_wire::messages::produce::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kafka_wire::messages::{api_versions, init_producer_id, metadata, produce};
use kafka_wire::ByteStr;

use super::timer::{backoff, min_time, passed};
use crate::config::BrokerAddr;
use crate::{ConnId, ConnectRequest};

/// Produce versions above 12 name topics by id; this producer names them.
const PRODUCE_MAX_VERSION: i16 = 12;

/// One broker: where it is, its connection, the partitions it leads.
#[derive(Debug)]
pub(super) struct Broker {
    pub(super) host: String,
    pub(super) port: u16,
    /// The ApiVersions version to open the next connection with: lowered
    /// when the broker cannot answer a higher one.
    pub(super) api_versions_version: i16,
    pub(super) conn: Option<ConnId>,
    /// Connections in a row that ended before the broker answered more
    /// than ApiVersions: the reconnect backoff doubles with each.
    pub(super) failures: u32,
    /// No new connection before this instant.
    pub(super) retry_at: Option<Instant>,
    /// The partitions it leads (indices into the producer's partitions).
    pub(super) parts: Vec<usize>,
    /// Where the next Produce request starts among `parts`.
    pub(super) rr_start: usize,
}

impl Broker {
    pub(super) fn new(host: String, port: u16) -> Self {
        Broker {
            host,
            port,
            api_versions_version: api_versions::MAX_VERSION,
            conn: None,
            failures: 0,
            retry_at: None,
            parts: Vec::new(),
            rr_start: 0,
        }
    }
}

/// A connection's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnState {
    Connecting,
    Negotiating { sent: bool },
    Ready,
}

/// The versions of the APIs a connection speaks.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Versions {
    pub(super) produce: i16,
    pub(super) metadata: i16,
    pub(super) init_producer_id: Option<i16>,
}

/// One connection to a broker.
#[derive(Debug)]
pub(super) struct Connection {
    pub(super) node: i32,
    pub(super) state: ConnState,
    /// The ApiVersions version to ask with.
    pub(super) api_version: i16,
    pub(super) versions: Versions,
    next_corr: i32,
    /// Requests awaiting their response, oldest first.
    pub(super) in_flight: VecDeque<InFlight>,
    pub(super) produce_in_flight: usize,
    /// A Produce request succeeded: up to `max.in.flight` may be in flight.
    pub(super) produce_ok: bool,
}

/// A request awaiting its response.
#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) corr: i32,
    pub(super) deadline: Instant,
    pub(super) kind: Kind,
}

/// What a request in flight asked.
#[derive(Debug)]
pub(super) enum Kind {
    ApiVersions {
        version: i16,
    },
    Metadata {
        version: i16,
    },
    InitProducerId {
        version: i16,
        bump: bool,
    },
    Produce {
        version: i16,
        batches: Vec<(usize, u64)>,
    },
}

impl Kind {
    /// The API key and version of the request.
    pub(super) fn api(&self) -> (i16, i16) {
        match *self {
            Kind::ApiVersions { version } => (api_versions::API_KEY, version),
            Kind::Metadata { version } => (metadata::API_KEY, version),
            Kind::InitProducerId { version, .. } => (init_producer_id::API_KEY, version),
            Kind::Produce { version, .. } => (produce::API_KEY, version),
        }
    }
}

/// The versions to use with a broker that answered ApiVersions with
/// `resp`, or the API key of one it offers no usable version of
/// (InitProducerId counts only with idempotence).
pub(super) fn choose_versions(
    resp: &ApiVersionsResponse,
    idempotent: bool,
) -> Result<Versions, i16> {
    let pick = |key: i16, min: i16, max: i16| -> Option<i16> {
        let (lo, hi) = resp.range(key)?;
        let v = hi.min(max);
        (v >= lo.max(min)).then_some(v)
    };
    let produce = pick(produce::API_KEY, produce::MIN_VERSION, PRODUCE_MAX_VERSION)
        .ok_or(produce::API_KEY)?;
    let metadata = pick(
        metadata::API_KEY,
        metadata::MIN_VERSION,
        metadata::MAX_VERSION,
    )
    .ok_or(metadata::API_KEY)?;
    let init_producer_id = pick(
        init_producer_id::API_KEY,
        init_producer_id::MIN_VERSION,
        init_producer_id::MAX_VERSION,
    );
    if idempotent && init_producer_id.is_none() {
        return Err(init_producer_id::API_KEY);
    }
    Ok(Versions {
        produce,
        metadata,
        init_producer_id,
    })
}

/// A Produce request carrying `batches` (topic index and name, partition,
/// sealed batch), grouped by topic in the order they come.
pub(super) fn produce_request<'a>(
    acks: i16,
    timeout_ms: i32,
    batches: impl IntoIterator<Item = (usize, &'a ByteStr, i32, Bytes)>,
) -> ProduceRequest {
    let mut topic_data: Vec<(usize, TopicProduceData)> = Vec::new();
    for (topic, name, index, bytes) in batches {
        let data = PartitionProduceData {
            index,
            records: Some(bytes),
            unknown_tagged_fields: Vec::new(),
        };
        match topic_data.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, t)) => t.partition_data.push(data),
            None => topic_data.push((
                topic,
                TopicProduceData {
                    name: name.clone(),
                    partition_data: vec![data],
                    ..Default::default()
                },
            )),
        }
    }
    ProduceRequest {
        transactional_id: None,
        acks,
        timeout_ms,
        topic_data: topic_data.into_iter().map(|(_, t)| t).collect(),
        unknown_tagged_fields: Vec::new(),
    }
}

/// Every broker known (bootstrap servers with negative ids, then the
/// cluster's from Metadata) and every connection.
#[derive(Debug)]
pub(super) struct Brokers {
    pub(super) nodes: BTreeMap<i32, Broker>,
    pub(super) conns: BTreeMap<ConnId, Connection>,
    next_conn: u64,
    connects: VecDeque<ConnectRequest>,
    closes: VecDeque<ConnId>,
    control_cursor: usize,
    /// Where the next round of Produce requests starts among the ready
    /// brokers.
    pub(super) node_cursor: usize,
}

impl Brokers {
    pub(super) fn new(bootstrap: &[BrokerAddr]) -> Self {
        let mut nodes = BTreeMap::new();
        for (i, b) in bootstrap.iter().enumerate() {
            // Bootstrap brokers get negative ids (as in librdkafka), ascending
            // in list order so they are tried in turn.
            nodes.insert(i32::MIN + i as i32, Broker::new(b.host.clone(), b.port));
        }
        Brokers {
            nodes,
            conns: BTreeMap::new(),
            next_conn: 0,
            connects: VecDeque::new(),
            closes: VecDeque::new(),
            control_cursor: 0,
            node_cursor: 0,
        }
    }

    /// A connection to open.
    pub(super) fn poll_connect(&mut self) -> Option<ConnectRequest> {
        self.connects.pop_front()
    }

    /// A connection given up on, to close.
    pub(super) fn poll_close(&mut self) -> Option<ConnId> {
        self.closes.pop_front()
    }

    /// A node as `host:port`.
    pub(super) fn name(&self, node: i32) -> String {
        self.nodes.get(&node).map_or_else(
            || format!("node {node}"),
            |n| format!("{}:{}", n.host, n.port),
        )
    }

    /// Asks for a connection to `node`.
    pub(super) fn connect(&mut self, node: i32) {
        let Some(n) = self.nodes.get_mut(&node) else {
            return;
        };
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        n.conn = Some(conn);
        self.connects.push_back(ConnectRequest {
            conn,
            host: n.host.clone(),
            port: n.port,
        });
        self.conns.insert(
            conn,
            Connection {
                node,
                state: ConnState::Connecting,
                api_version: n.api_versions_version,
                versions: Versions::default(),
                next_corr: 1,
                in_flight: VecDeque::new(),
                produce_in_flight: 0,
                produce_ok: false,
            },
        );
    }

    /// Opens a control connection (for Metadata and InitProducerId) when
    /// none is open or opening: to a known broker if one is free, else to
    /// a bootstrap server, in turn.
    pub(super) fn connect_control(&mut self) {
        if !self.conns.is_empty() {
            return;
        }
        let free = |want_known: bool| -> Vec<i32> {
            self.nodes
                .iter()
                .filter(|(id, n)| {
                    (**id >= 0) == want_known && n.conn.is_none() && n.retry_at.is_none()
                })
                .map(|(id, _)| *id)
                .collect()
        };
        let mut list = free(true);
        if list.is_empty() {
            list = free(false);
        }
        if list.is_empty() {
            return;
        }
        let pick = list[self.control_cursor % list.len()];
        self.control_cursor = self.control_cursor.wrapping_add(1);
        self.connect(pick);
    }

    /// Connects to every known broker that leads a partition for which
    /// `waits(partition, broker)` says data waits, and has no connection
    /// nor a backoff running.
    pub(super) fn connect_leaders(&mut self, waits: impl Fn(usize, i32) -> bool) {
        let wanted: Vec<i32> = self
            .nodes
            .iter()
            .filter(|(id, n)| {
                **id >= 0
                    && n.conn.is_none()
                    && n.retry_at.is_none()
                    && n.parts.iter().any(|&pi| waits(pi, **id))
            })
            .map(|(id, _)| *id)
            .collect();
        for node in wanted {
            self.connect(node);
        }
    }

    /// The ready connection with the fewest requests in flight.
    pub(super) fn ready_conn(&self) -> Option<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| c.state == ConnState::Ready)
            .min_by_key(|(_, c)| c.in_flight.len())
            .map(|(id, _)| *id)
    }

    /// A connection that must send ApiVersions, with the version to ask at
    /// (marked as sent).
    pub(super) fn next_negotiation(&mut self) -> Option<(ConnId, i16)> {
        let (cid, c) = self
            .conns
            .iter_mut()
            .find(|(_, c)| c.state == ConnState::Negotiating { sent: false })?;
        c.state = ConnState::Negotiating { sent: true };
        Some((*cid, c.api_version))
    }

    /// The known brokers with a ready connection.
    pub(super) fn ready_sinks(&self) -> Vec<(i32, ConnId)> {
        self.nodes
            .iter()
            .filter(|(id, _)| **id >= 0)
            .filter_map(|(id, n)| {
                let c = n.conn?;
                (self.conns.get(&c)?.state == ConnState::Ready).then_some((*id, c))
            })
            .collect()
    }

    /// Whether `cid` may take another Produce request: one until the first
    /// succeeds, then `max_in_flight`.
    pub(super) fn may_produce(&self, cid: ConnId, max_in_flight: usize) -> bool {
        self.conns.get(&cid).is_some_and(|c| {
            let cap = if c.produce_ok { max_in_flight } else { 1 };
            c.produce_in_flight < cap
        })
    }

    /// Registers a request sent on `cid` awaiting a response by `deadline`;
    /// returns its correlation id.
    pub(super) fn next_corr(&mut self, cid: ConnId) -> Option<i32> {
        let c = self.conns.get_mut(&cid)?;
        let corr = c.next_corr;
        c.next_corr = c.next_corr.wrapping_add(1) & i32::MAX;
        Some(corr)
    }

    /// The broker of `node` answered more than ApiVersions: healthy.
    pub(super) fn healthy(&mut self, node: i32) {
        if let Some(n) = self.nodes.get_mut(&node) {
            n.failures = 0;
        }
    }

    /// The connections whose oldest request is past its deadline.
    pub(super) fn late(&self, now: Instant) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| c.in_flight.front().is_some_and(|f| f.deadline <= now))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Gives up on `conn`: the driver is asked to close it.
    pub(super) fn close(&mut self, conn: ConnId) {
        if self.conns.contains_key(&conn) {
            self.closes.push_back(conn);
        }
    }

    /// Forgets `conn` (closed or failed) and starts its broker's reconnect
    /// backoff; returns it, with the requests that were in flight on it.
    pub(super) fn remove(
        &mut self,
        conn: ConnId,
        now: Instant,
        reconnect: (Duration, Duration),
    ) -> Option<Connection> {
        let c = self.conns.remove(&conn)?;
        if let Some(n) = self.nodes.get_mut(&c.node) {
            if n.conn == Some(conn) {
                n.conn = None;
            }
            n.failures += 1;
            n.retry_at = Some(now + backoff(reconnect.0, reconnect.1, n.failures));
        }
        Some(c)
    }

    /// Adds or updates the brokers a Metadata response lists.
    pub(super) fn update(&mut self, brokers: &[MetadataResponseBroker]) {
        for b in brokers {
            let Ok(port) = u16::try_from(b.port) else {
                continue;
            };
            if b.node_id < 0 {
                continue;
            }
            let host = b.host.as_str().to_owned();
            self.nodes
                .entry(b.node_id)
                .and_modify(|n| {
                    n.host.clone_from(&host);
                    n.port = port;
                })
                .or_insert_with(|| Broker::new(host, port));
        }
    }

    /// Sets the partitions each broker leads, from `(partition, leader)`.
    pub(super) fn assign(&mut self, leaders: impl Iterator<Item = (usize, Option<i32>)>) {
        for n in self.nodes.values_mut() {
            n.parts.clear();
        }
        for (pi, leader) in leaders {
            if let Some(n) = leader.and_then(|l| self.nodes.get_mut(&l)) {
                n.parts.push(pi);
            }
        }
    }

    /// Known brokers (not bootstrap servers).
    pub(super) fn known(&self) -> usize {
        self.nodes.keys().filter(|id| **id >= 0).count()
    }

    /// Clears the reconnect backoffs that passed.
    pub(super) fn tick(&mut self, now: Instant) {
        for n in self.nodes.values_mut() {
            passed(&mut n.retry_at, now);
        }
    }

    /// The next request deadline or reconnect time.
    pub(super) fn timer(&self) -> Option<Instant> {
        let mut t = None;
        for c in self.conns.values() {
            if let Some(f) = c.in_flight.front() {
                min_time(&mut t, f.deadline);
            }
        }
        for n in self.nodes.values() {
            if let Some(r) = n.retry_at {
                min_time(&mut t, r);
            }
        }
        t
    }
}
