//! Virtual-time driver: the producer, the cluster model and a network with
//! latency, connection drops, broker restarts, leader moves and garbage.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_producer::{
    AuthError, AuthErrorKind, ConnId, DeliveryId, Event, FatalError, Outcome, Producer,
    ProducerConfig, RecordRef,
};
use kafka_wire::header::RequestHeader;
use kafka_wire::ErrorCode;

use super::broker::{Cluster, Injection, ProduceCtx};

/// splitmix64: the test's own seeded generator.
#[derive(Debug, Clone)]
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// One record of the workload.
#[derive(Debug, Clone)]
pub struct Spec {
    pub n: usize,
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
}

impl Spec {
    pub fn value(&self) -> Vec<u8> {
        format!("r{}", self.n).into_bytes()
    }
}

/// A scripted fault: applied to the next `times` Produce partitions that
/// match.
#[derive(Debug, Clone)]
pub struct Script {
    pub topic: String,
    pub partition: i32,
    pub injection: Injection,
    pub times: usize,
}

/// Random faults and their rates.
#[derive(Debug, Clone, Default)]
pub struct Chaos {
    /// Until when (virtual time since start) chaos runs.
    pub until: Duration,
    /// Mean interval between chaos actions.
    pub every: Duration,
    pub drop_conn: bool,
    pub restart: bool,
    pub move_leader: bool,
    pub garbage: bool,
    /// Injected per Produce partition, with this probability each.
    pub inject_prob: f64,
    pub inject: Vec<Injection>,
}

#[derive(Debug)]
struct SimConn {
    node: i32,
    to_broker: VecDeque<(Instant, Bytes)>,
    to_client: VecDeque<(Instant, Bytes, bool)>,
    garbage_next: bool,
    produce_outstanding: usize,
    produce_answered: bool,
}

pub struct Sim {
    pub p: Producer,
    pub cluster: Cluster,
    pub now: Instant,
    pub start: Instant,
    rng: TestRng,
    conns: BTreeMap<ConnId, SimConn>,
    connecting: Vec<(Instant, ConnId, Option<i32>)>,
    pub outcomes: HashMap<DeliveryId, (Outcome, Instant)>,
    pub appended: Vec<(Spec, DeliveryId, Instant)>,
    pub workload: VecDeque<(Instant, Spec)>,
    pub fatal: Option<FatalError>,
    pub down_until: Vec<Option<Instant>>,
    pub latency_ms: (u64, u64),
    pub chaos: Chaos,
    next_chaos: Option<Instant>,
    pub scripts: Vec<Script>,
    pub closes: usize,
    pub connects: Vec<(String, u16)>,
    pub max_outstanding: usize,
    pub max_outstanding_before_answer: usize,
    pub produce_versions: Vec<i16>,
    pub identities: Vec<(i64, i16)>,
    /// Brokers that refuse to authenticate new connections (existing
    /// ones stay up): each attempt is reported with `handle_auth_failure`.
    pub refuse_auth: Vec<bool>,
    /// Connection attempts refused that way.
    pub auth_refusals: usize,
    /// Responses the producer could not use, and ones with trailing bytes.
    pub bad_responses: Vec<kafka_producer::BadResponse>,
    pub trailing_bytes: usize,
    /// Every response is garbage.
    pub garble_all: bool,
}

/// The error the simulated brokers refuse authentication with.
pub fn sim_auth_error(node: i32) -> AuthError {
    AuthError {
        kind: AuthErrorKind::Sasl(ErrorCode::SaslAuthenticationFailed),
        broker: format!("{}:{}", Cluster::host(node), Cluster::port(node)),
        message: "SASL SCRAM-SHA-256 authentication failed (check sasl.username and \
                  sasl.password): invalid credentials"
            .to_owned(),
    }
}

impl Sim {
    pub fn new(seed: u64, nodes: usize, props: &[(&str, &str)]) -> Self {
        let bootstrap = (0..nodes as i32)
            .map(|i| format!("{}:{}", Cluster::host(i), Cluster::port(i)))
            .collect::<Vec<_>>()
            .join(",");
        let mut all: Vec<(&str, &str)> = vec![("bootstrap.servers", &bootstrap)];
        all.extend_from_slice(props);
        let mut cfg = ProducerConfig::from_properties(all).expect("config");
        cfg.rng_seed = seed;
        let now = Instant::now();
        Self {
            p: Producer::new(cfg, now).expect("producer"),
            cluster: Cluster::new(nodes),
            now,
            start: now,
            rng: TestRng::new(seed ^ 0xA5A5),
            conns: BTreeMap::new(),
            connecting: Vec::new(),
            outcomes: HashMap::new(),
            appended: Vec::new(),
            workload: VecDeque::new(),
            fatal: None,
            down_until: vec![None; nodes],
            latency_ms: (1, 20),
            chaos: Chaos::default(),
            next_chaos: None,
            scripts: Vec::new(),
            closes: 0,
            connects: Vec::new(),
            max_outstanding: 0,
            max_outstanding_before_answer: 0,
            produce_versions: Vec::new(),
            identities: Vec::new(),
            refuse_auth: vec![false; nodes],
            auth_refusals: 0,
            bad_responses: Vec::new(),
            trailing_bytes: 0,
            garble_all: false,
        }
    }

    /// The next response on each open connection to `node` is garbage:
    /// the producer breaks the connection, leaving what it carried in
    /// doubt.
    pub fn garble_next_response(&mut self, node: i32) {
        for c in self.conns.values_mut().filter(|c| c.node == node) {
            c.garbage_next = true;
        }
    }

    pub fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// Adds `count` random records over the first `spread_ms` ms: keyed,
    /// keyless and explicit-partition records over the cluster's topics.
    pub fn random_workload(&mut self, count: usize, spread_ms: u64, topics: &[(&str, i32)]) {
        let mut times: Vec<u64> = (0..count).map(|_| self.rng.below(spread_ms + 1)).collect();
        times.sort_unstable();
        for (n, t) in times.into_iter().enumerate() {
            let (topic, parts) = topics[self.rng.below(topics.len() as u64) as usize];
            let (partition, key) = match self.rng.below(3) {
                0 => (
                    None,
                    Some(format!("key{}", self.rng.below(20)).into_bytes()),
                ),
                1 => (None, None),
                _ => (Some(self.rng.below(parts as u64) as i32), None),
            };
            let at = self.at(t);
            self.workload.push_back((
                at,
                Spec {
                    n,
                    topic: topic.to_owned(),
                    partition,
                    key,
                },
            ));
        }
    }

    fn latency(&mut self) -> Duration {
        let (lo, hi) = self.latency_ms;
        Duration::from_millis(lo + self.rng.below(hi - lo + 1))
    }

    fn node_up(&self, node: i32) -> bool {
        self.down_until
            .get(node as usize)
            .is_some_and(|d| d.is_none_or(|t| t <= self.now))
    }

    /// Drains the producer's outputs.
    pub fn pump(&mut self) {
        loop {
            let mut did = false;
            while let Some(t) = self.p.poll_transmit(self.now) {
                did = true;
                let mut buf = BytesMut::new();
                for c in &t.chunks {
                    buf.extend_from_slice(c);
                }
                let mut frame = buf.freeze();
                let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                assert_eq!(size as usize, frame.len() - 4, "size prefix");
                let _ = frame.split_to(4);
                let (key, version) = RequestHeader::peek_key_version(&frame).unwrap();
                let lat = self.latency();
                let now = self.now;
                let conn = self
                    .conns
                    .get_mut(&t.conn)
                    .unwrap_or_else(|| panic!("transmit on unknown connection {:?}", t.conn));
                if key == 0 {
                    self.produce_versions.push(version);
                    conn.produce_outstanding += 1;
                    self.max_outstanding = self.max_outstanding.max(conn.produce_outstanding);
                    if !conn.produce_answered {
                        self.max_outstanding_before_answer = self
                            .max_outstanding_before_answer
                            .max(conn.produce_outstanding);
                    }
                }
                let at = conn
                    .to_broker
                    .back()
                    .map_or(now + lat, |(t, _)| (*t).max(now + lat));
                conn.to_broker.push_back((at, frame));
            }
            while let Some(c) = self.p.poll_connect() {
                did = true;
                self.connects.push((c.host.clone(), c.port));
                let node = c
                    .host
                    .strip_prefix("broker")
                    .and_then(|n| n.parse::<i32>().ok())
                    .filter(|n| (*n as usize) < self.cluster.nodes && Cluster::port(*n) == c.port);
                let lat = self.latency();
                self.connecting.push((self.now + lat, c.conn, node));
            }
            while let Some(c) = self.p.poll_close() {
                did = true;
                self.closes += 1;
                self.conns.remove(&c);
                self.connecting.retain(|(_, id, _)| *id != c);
            }
            while let Some(e) = self.p.poll_event() {
                did = true;
                self.on_event(e);
            }
            if !did {
                break;
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Delivery(r) => {
                for (id, o) in r.outcomes() {
                    let prev = self.outcomes.insert(id, (o, self.now));
                    assert!(prev.is_none(), "second outcome for {id:?}");
                }
            }
            Event::Fatal(f) => self.fatal = Some(f),
            Event::ProducerId { producer_id, epoch } => self.identities.push((producer_id, epoch)),
            Event::BadResponse(b) => self.bad_responses.push(b),
            Event::TrailingBytes { .. } => self.trailing_bytes += 1,
            _ => {}
        }
    }

    fn kill(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.p.handle_disconnected(conn, self.now);
    }

    fn next_time(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut take = |x: Instant| t = Some(t.map_or(x, |a: Instant| a.min(x)));
        if let Some(x) = self.p.poll_timeout() {
            take(x.max(self.now));
        }
        for (x, _, _) in &self.connecting {
            take(*x);
        }
        for c in self.conns.values() {
            if let Some((x, _)) = c.to_broker.front() {
                take(*x);
            }
            if let Some((x, _, _)) = c.to_client.front() {
                take(*x);
            }
        }
        if let Some((x, _)) = self.workload.front() {
            take(*x);
        }
        if let Some(x) = self.next_chaos {
            take(x);
        }
        for d in self.down_until.iter().flatten() {
            if *d > self.now {
                take(*d);
            }
        }
        t
    }

    fn chaos_step(&mut self) {
        let until = self.start + self.chaos.until;
        if self.now >= until || self.chaos.every.is_zero() {
            self.next_chaos = None;
            return;
        }
        match self.next_chaos {
            None => {
                let d = self.rng.below(self.chaos.every.as_millis() as u64 * 2 + 1);
                self.next_chaos = Some(self.now + Duration::from_millis(d));
                return;
            }
            Some(t) if t > self.now => return,
            Some(_) => {}
        }
        let d = self.rng.below(self.chaos.every.as_millis() as u64 * 2 + 1);
        self.next_chaos = Some(self.now + Duration::from_millis(d));
        let mut actions = Vec::new();
        if self.chaos.drop_conn {
            actions.push(0);
        }
        if self.chaos.restart {
            actions.push(1);
        }
        if self.chaos.move_leader {
            actions.push(2);
        }
        if self.chaos.garbage {
            actions.push(3);
        }
        if actions.is_empty() {
            return;
        }
        match actions[self.rng.below(actions.len() as u64) as usize] {
            0 => {
                let ids: Vec<ConnId> = self.conns.keys().copied().collect();
                if !ids.is_empty() {
                    let c = ids[self.rng.below(ids.len() as u64) as usize];
                    self.kill(c);
                }
            }
            1 => {
                let node = self.rng.below(self.cluster.nodes as u64) as i32;
                let down = Duration::from_millis(100 + self.rng.below(2000));
                self.down_until[node as usize] = Some(self.now + down);
                let ids: Vec<ConnId> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.node == node)
                    .map(|(id, _)| *id)
                    .collect();
                for c in ids {
                    self.kill(c);
                }
            }
            2 => {
                let topics: Vec<String> = self.cluster.topics.keys().cloned().collect();
                if topics.is_empty() {
                    return;
                }
                let t = &topics[self.rng.below(topics.len() as u64) as usize];
                let nodes = self.cluster.nodes as u64;
                let n = self.cluster.topics[t].len() as u64;
                let i = self.rng.below(n) as usize;
                let leader = self.rng.below(nodes) as i32;
                if let Some(p) = self.cluster.topics.get_mut(t).and_then(|ps| ps.get_mut(i)) {
                    p.leader = leader;
                }
            }
            _ => {
                let ids: Vec<ConnId> = self.conns.keys().copied().collect();
                if !ids.is_empty() {
                    let c = ids[self.rng.below(ids.len() as u64) as usize];
                    if let Some(sc) = self.conns.get_mut(&c) {
                        sc.garbage_next = true;
                    }
                }
            }
        }
    }

    fn deliver_due(&mut self) {
        // Connection attempts.
        let due: Vec<(Instant, ConnId, Option<i32>)> = self
            .connecting
            .iter()
            .filter(|(t, _, _)| *t <= self.now)
            .copied()
            .collect();
        self.connecting.retain(|(t, _, _)| *t > self.now);
        for (_, conn, node) in due {
            match node.filter(|n| self.node_up(*n)) {
                Some(node) if self.refuse_auth[node as usize] => {
                    self.auth_refusals += 1;
                    self.p
                        .handle_auth_failure(conn, sim_auth_error(node), self.now);
                }
                Some(node) => {
                    self.conns.insert(
                        conn,
                        SimConn {
                            node,
                            to_broker: VecDeque::new(),
                            to_client: VecDeque::new(),
                            garbage_next: false,
                            produce_outstanding: 0,
                            produce_answered: false,
                        },
                    );
                    self.p.handle_connected(conn, self.now);
                }
                None => self.p.handle_disconnected(conn, self.now),
            }
        }
        // Requests reaching brokers, responses reaching the client.
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            loop {
                let now = self.now;
                let Some(c) = self.conns.get_mut(&id) else {
                    break;
                };
                match c.to_broker.front() {
                    Some((t, _)) if *t <= now => {}
                    _ => break,
                }
                let Some((_, frame)) = c.to_broker.pop_front() else {
                    break;
                };
                let node = c.node;
                let inject_on = now < self.start + self.chaos.until;
                let (prob, list) = (self.chaos.inject_prob, self.chaos.inject.clone());
                let rng = &mut self.rng;
                let scripts = &mut self.scripts;
                let mut inject = |ctx: &ProduceCtx| -> Option<Injection> {
                    if let Some(s) = scripts.iter_mut().find(|s| {
                        s.times > 0 && s.topic == ctx.topic && s.partition == ctx.partition
                    }) {
                        s.times -= 1;
                        return Some(s.injection);
                    }
                    if inject_on && !list.is_empty() && rng.chance(prob) {
                        return Some(list[rng.below(list.len() as u64) as usize]);
                    }
                    None
                };
                let is_produce = RequestHeader::peek_key_version(&frame)
                    .map(|(k, _)| k == 0)
                    .unwrap_or(false);
                let resp = self.cluster.handle(node, frame, &mut inject);
                let lat = self.latency();
                let Some(c) = self.conns.get_mut(&id) else {
                    break;
                };
                if let Some(resp) = resp {
                    let at = c
                        .to_client
                        .back()
                        .map_or(now + lat, |(t, _, _)| (*t).max(now + lat));
                    let resp = if c.garbage_next || self.garble_all {
                        c.garbage_next = false;
                        Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3])
                    } else {
                        resp
                    };
                    c.to_client.push_back((at, resp, is_produce));
                } else if is_produce {
                    c.produce_outstanding = c.produce_outstanding.saturating_sub(1);
                }
            }
            loop {
                let now = self.now;
                let Some(c) = self.conns.get_mut(&id) else {
                    break;
                };
                match c.to_client.front() {
                    Some((t, _, _)) if *t <= now => {}
                    _ => break,
                }
                let Some((_, frame, produce)) = c.to_client.pop_front() else {
                    break;
                };
                if produce {
                    c.produce_outstanding = c.produce_outstanding.saturating_sub(1);
                    c.produce_answered = true;
                }
                self.p.handle_frame(id, frame, now);
            }
        }
    }

    /// Lets frames still in transit arrive (requests that need no answer,
    /// with acks=0).
    fn drain_network(&mut self) {
        loop {
            let next = self
                .conns
                .values()
                .flat_map(|c| c.to_broker.front().map(|x| x.0))
                .min();
            let Some(next) = next else { return };
            self.now = self.now.max(next);
            self.deliver_due();
            self.pump();
        }
    }

    /// Runs until the workload is appended (and metadata known), without
    /// waiting for outcomes.
    pub fn run_until_appended(&mut self) {
        for _ in 0..10_000 {
            self.pump();
            while self.workload.front().is_some_and(|(t, _)| *t <= self.now) {
                let Some((_, spec)) = self.workload.pop_front() else {
                    break;
                };
                let value = spec.value();
                let r = RecordRef {
                    topic: &spec.topic,
                    partition: spec.partition,
                    key: spec.key.as_deref(),
                    value: Some(&value),
                    headers: &[],
                    timestamp: 0,
                };
                let id = self.p.append(r, self.now).expect("append");
                self.appended.push((spec, id, self.now));
            }
            if self.workload.is_empty() {
                return;
            }
            let Some(next) = self.next_time() else { return };
            self.now = self.now.max(next);
            self.deliver_due();
        }
    }

    /// Runs until every appended record has an outcome and the workload is
    /// done, or `limit` of virtual time passes (then panics).
    pub fn run(&mut self, limit: Duration) {
        let deadline = self.start + limit;
        loop {
            self.pump();
            // Workload due now.
            while self.workload.front().is_some_and(|(t, _)| *t <= self.now) {
                let Some((_, spec)) = self.workload.pop_front() else {
                    break;
                };
                let value = spec.value();
                let r = RecordRef {
                    topic: &spec.topic,
                    partition: spec.partition,
                    key: spec.key.as_deref(),
                    value: Some(&value),
                    headers: &[],
                    timestamp: 1_700_000_000_000 + spec.n as i64,
                };
                match self.p.append(r, self.now) {
                    Ok(id) => self.appended.push((spec, id, self.now)),
                    Err(kafka_producer::AppendError::BufferFull) => {
                        let at = self.now + Duration::from_millis(10);
                        self.workload.push_front((at, spec));
                        break;
                    }
                    Err(kafka_producer::AppendError::Fatal(_)) => {}
                    Err(e) => panic!("append refused: {e}"),
                }
            }
            self.pump();
            let done = self.workload.is_empty()
                && self.outcomes.len() == self.appended.len()
                && self.p.is_idle();
            if done {
                self.drain_network();
                return;
            }
            self.chaos_step();
            let Some(next) = self.next_time() else {
                panic!(
                    "stuck at {:?}: {} of {} outcomes",
                    self.now - self.start,
                    self.outcomes.len(),
                    self.appended.len()
                );
            };
            assert!(
                next <= deadline,
                "not done after {limit:?}: {} of {} outcomes, fatal {:?}",
                self.outcomes.len(),
                self.appended.len(),
                self.fatal
            );
            self.now = self.now.max(next);
            for d in self.down_until.iter_mut() {
                if d.is_some_and(|t| t <= self.now) {
                    *d = None;
                }
            }
            self.deliver_due();
            if self.p.poll_timeout().is_some_and(|t| t <= self.now) {
                self.p.handle_timeout(self.now);
            }
        }
    }

    /// Checks outcomes against the logs. `idempotent`: no duplicates and
    /// order within partitions. `all_persisted`: every record persisted.
    pub fn check(&self, idempotent: bool, all_persisted: bool) {
        // Where each record landed.
        let mut found: HashMap<Vec<u8>, Vec<(String, i32, i64)>> = HashMap::new();
        for (topic, parts) in &self.cluster.topics {
            for (i, p) in parts.iter().enumerate() {
                for s in &p.log {
                    found.entry(s.value.clone()).or_default().push((
                        topic.clone(),
                        i as i32,
                        s.offset,
                    ));
                }
            }
        }
        assert_eq!(
            self.outcomes.len(),
            self.appended.len(),
            "every record gets exactly one outcome"
        );
        for (spec, id, _) in &self.appended {
            let (outcome, _) = self
                .outcomes
                .get(id)
                .unwrap_or_else(|| panic!("no outcome for {spec:?}"));
            let places = found.get(&spec.value()).cloned().unwrap_or_default();
            if idempotent {
                assert!(places.len() <= 1, "{spec:?} written {} times", places.len());
            }
            match outcome {
                Outcome::Persisted { partition, offset } => {
                    assert!(!places.is_empty(), "{spec:?} persisted but not in the log");
                    assert!(
                        places
                            .iter()
                            .all(|(t, p, _)| *t == spec.topic && p == partition),
                        "{spec:?} reported in partition {partition}, found {places:?}"
                    );
                    if *offset >= 0 {
                        assert!(
                            places.iter().any(|(_, _, o)| o == offset),
                            "{spec:?} reported at {offset}, found {places:?}"
                        );
                    }
                    if let Some(p) = spec.partition {
                        assert_eq!(*partition, p);
                    }
                    if let Some(k) = &spec.key {
                        let n = self.cluster.topics[&spec.topic].len() as u32;
                        assert_eq!(
                            *partition as u32,
                            kafka_wire::murmur2::partition_for_key(k, n),
                            "keyed record on the murmur2 partition"
                        );
                    }
                }
                Outcome::NotPersisted(e) => {
                    assert!(
                        places.is_empty(),
                        "{spec:?} reported not persisted ({e}) but found at {places:?}"
                    );
                    assert!(!all_persisted, "{spec:?} not persisted: {e}");
                }
                Outcome::PossiblyPersisted(e) => {
                    assert!(!all_persisted, "{spec:?} possibly persisted: {e}");
                }
            }
        }
        if idempotent {
            // Order within each partition: record numbers only increase.
            let num =
                |v: &[u8]| -> usize { std::str::from_utf8(&v[1..]).unwrap().parse().unwrap() };
            for (topic, parts) in &self.cluster.topics {
                for (i, p) in parts.iter().enumerate() {
                    let ns: Vec<usize> = p.log.iter().map(|s| num(&s.value)).collect();
                    assert!(
                        ns.windows(2).all(|w| w[0] < w[1]),
                        "order broken in {topic} [{i}]: {ns:?}"
                    );
                }
            }
        }
    }

    pub fn outcome_of(&self, n: usize) -> &Outcome {
        let (_, id, _) = self
            .appended
            .iter()
            .find(|(s, _, _)| s.n == n)
            .expect("appended");
        &self.outcomes[id].0
    }
}

/// Shorthand for an error code injection list.
pub fn codes(before: &[ErrorCode], after: &[ErrorCode]) -> Vec<Injection> {
    before
        .iter()
        .map(|c| Injection::Before(*c))
        .chain(after.iter().map(|c| Injection::After(*c)))
        .collect()
}
