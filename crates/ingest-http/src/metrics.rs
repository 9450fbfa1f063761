//! A small metrics registry with a Prometheus text encoder.
//!
//! Each worker owns a [`WorkerMetrics`] of relaxed atomics that only it
//! writes; a scrape sums every worker's values. Topics and brokers are
//! registered once per worker under a mutex (cold); the hot path goes
//! through a [`TopicCache`] of the worker's own, which takes no lock.
//!
//! # References
//! - Prometheus text exposition format 0.0.4

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::response::reason;

/// Content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// HTTP statuses counted, in label order; anything else counts as `other`.
const STATUSES: [u16; 14] = [
    200, 400, 401, 404, 405, 413, 415, 417, 431, 500, 501, 503, 505, 0,
];

/// Upper bounds of the batch-size histogram (events per request).
const BATCH_BUCKETS: [u64; 10] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
/// Upper bounds of the request-size histogram (bytes, decompressed).
const BYTES_BUCKETS: [u64; 8] = [256, 1024, 4096, 16_384, 65_536, 262_144, 524_288, 1_048_576];
/// Upper bounds of the produce-latency histogram, in microseconds.
const LATENCY_BUCKETS_US: [u64; 12] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    5_000_000,
];

/// A histogram with fixed buckets; values and sum are integers.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [u64]) -> Self {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Records one value.
    pub fn observe(&self, v: u64) {
        let i = self.bounds.partition_point(|&b| b < v);
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Relaxed);
        }
        self.sum.fetch_add(v, Relaxed);
    }

    fn add_into(&self, counts: &mut [u64], sum: &mut u64) {
        for (acc, c) in counts.iter_mut().zip(self.counts.iter()) {
            *acc += c.load(Relaxed);
        }
        *sum += self.sum.load(Relaxed);
    }
}

/// Events counted for one topic by one worker.
#[derive(Debug, Default)]
pub struct TopicCounters {
    /// Events routed to the topic and handed to the producer.
    pub events_in: AtomicU64,
    /// Events persisted to the topic.
    pub events_out: AtomicU64,
    /// Events meant for the topic that were dead-lettered.
    pub dead_lettered: AtomicU64,
}

/// The state of one connection to a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokerState {
    /// Not connected.
    Down = 0,
    /// Connecting, TLS or SASL in progress.
    Connecting = 1,
    /// Connected and usable.
    Up = 2,
}

const BROKER_STATES: [(BrokerState, &str); 3] = [
    (BrokerState::Down, "down"),
    (BrokerState::Connecting, "connecting"),
    (BrokerState::Up, "up"),
];

/// One worker's connection state to one broker.
#[derive(Debug)]
pub struct BrokerGauge(AtomicU64);

impl BrokerGauge {
    /// Sets the state.
    pub fn set(&self, state: BrokerState) {
        self.0.store(state as u64, Relaxed);
    }
}

/// The metrics of one worker. Written by that worker only.
#[derive(Debug)]
pub struct WorkerMetrics {
    statuses: [AtomicU64; STATUSES.len()],
    batch_events: Histogram,
    request_bytes: Histogram,
    produce_latency: Histogram,
    bytes_in_flight: AtomicI64,
    /// Broker responses with bytes after their end (ignored), and ones
    /// that could not be used (the connection was closed).
    kafka_responses: [AtomicU64; 2],
    topics: Mutex<Vec<(Arc<str>, Arc<TopicCounters>)>>,
    brokers: Mutex<Vec<(Arc<str>, Arc<BrokerGauge>)>>,
}

impl WorkerMetrics {
    fn new() -> Self {
        WorkerMetrics {
            statuses: Default::default(),
            batch_events: Histogram::new(&BATCH_BUCKETS),
            request_bytes: Histogram::new(&BYTES_BUCKETS),
            produce_latency: Histogram::new(&LATENCY_BUCKETS_US),
            bytes_in_flight: AtomicI64::new(0),
            kafka_responses: Default::default(),
            topics: Mutex::new(Vec::new()),
            brokers: Mutex::new(Vec::new()),
        }
    }

    /// Counts one response status (the connection does this).
    pub fn record_status(&self, status: u16) {
        let i = STATUSES
            .iter()
            .position(|&s| s == status)
            .unwrap_or(STATUSES.len() - 1);
        if let Some(c) = self.statuses.get(i) {
            c.fetch_add(1, Relaxed);
        }
    }

    /// Records the number of events of one settled request.
    pub fn observe_batch(&self, events: usize) {
        self.batch_events.observe(events as u64);
    }

    /// Records the decompressed size of one request body.
    pub fn observe_request_bytes(&self, bytes: usize) {
        self.request_bytes.observe(bytes as u64);
    }

    /// Records the time from append to acknowledgement of one batch.
    pub fn observe_produce_latency(&self, latency: Duration) {
        self.produce_latency
            .observe(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Adds to (or with a negative value, subtracts from) the bytes in flight.
    pub fn add_bytes_in_flight(&self, delta: i64) {
        self.bytes_in_flight.fetch_add(delta, Relaxed);
    }

    /// Sets the bytes in flight.
    pub fn set_bytes_in_flight(&self, bytes: i64) {
        self.bytes_in_flight.store(bytes, Relaxed);
    }

    /// Sets this worker's counts of broker responses that carried bytes
    /// after their end, and of responses that could not be used.
    pub fn set_kafka_responses(&self, trailing_bytes: u64, unusable: u64) {
        self.kafka_responses[0].store(trailing_bytes, Relaxed);
        self.kafka_responses[1].store(unusable, Relaxed);
    }

    /// The counters of `topic`, registered on first use. Takes a lock: keep
    /// the result (or use a [`TopicCache`]).
    pub fn topic(&self, topic: &str) -> Arc<TopicCounters> {
        let mut topics = lock(&self.topics);
        if let Some((_, c)) = topics.iter().find(|(t, _)| &**t == topic) {
            return c.clone();
        }
        let c = Arc::new(TopicCounters::default());
        topics.push((Arc::from(topic), c.clone()));
        c
    }

    /// The connection-state gauge of `broker` (e.g. its node id or address),
    /// registered on first use, initially down.
    pub fn broker(&self, broker: &str) -> Arc<BrokerGauge> {
        let mut brokers = lock(&self.brokers);
        if let Some((_, g)) = brokers.iter().find(|(b, _)| &**b == broker) {
            return g.clone();
        }
        let g = Arc::new(BrokerGauge(AtomicU64::new(BrokerState::Down as u64)));
        brokers.push((Arc::from(broker), g.clone()));
        g
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A worker's lock-free view of its topic counters.
#[derive(Debug)]
pub struct TopicCache {
    worker: Arc<WorkerMetrics>,
    topics: HashMap<Box<str>, Arc<TopicCounters>>,
}

impl TopicCache {
    /// A cache over `worker`'s topics.
    pub fn new(worker: Arc<WorkerMetrics>) -> Self {
        TopicCache {
            worker,
            topics: HashMap::new(),
        }
    }

    /// The counters of `topic`; registers it on first sight.
    pub fn topic(&mut self, topic: &str) -> &TopicCounters {
        if !self.topics.contains_key(topic) {
            let c = self.worker.topic(topic);
            self.topics.insert(topic.into(), c);
        }
        match self.topics.get(topic) {
            Some(c) => c,
            None => unreachable_counters(),
        }
    }
}

fn unreachable_counters() -> &'static TopicCounters {
    static EMPTY: TopicCounters = TopicCounters {
        events_in: AtomicU64::new(0),
        events_out: AtomicU64::new(0),
        dead_lettered: AtomicU64::new(0),
    };
    &EMPTY
}

/// All workers' metrics; encodes their sum.
#[derive(Debug, Default)]
pub struct Registry {
    workers: Mutex<Vec<Arc<WorkerMetrics>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers one more worker and returns its metrics.
    pub fn add_worker(&self) -> Arc<WorkerMetrics> {
        let w = Arc::new(WorkerMetrics::new());
        lock(&self.workers).push(w.clone());
        w
    }

    /// The sum over workers, in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        self.encode_into(&mut out);
        out
    }

    /// Appends the sum over workers to `out`.
    pub fn encode_into(&self, out: &mut String) {
        let workers = lock(&self.workers).clone();

        let mut topics: BTreeMap<Arc<str>, [u64; 3]> = BTreeMap::new();
        let mut brokers: BTreeMap<Arc<str>, [u64; 3]> = BTreeMap::new();
        let mut statuses = [0u64; STATUSES.len()];
        let mut in_flight = 0i64;
        let mut kafka_responses = [0u64; 2];
        let mut batch = (vec![0; BATCH_BUCKETS.len() + 1], 0);
        let mut bytes = (vec![0; BYTES_BUCKETS.len() + 1], 0);
        let mut latency = (vec![0; LATENCY_BUCKETS_US.len() + 1], 0);
        for w in &workers {
            for (t, c) in lock(&w.topics).iter() {
                let acc = topics.entry(t.clone()).or_default();
                acc[0] += c.events_in.load(Relaxed);
                acc[1] += c.events_out.load(Relaxed);
                acc[2] += c.dead_lettered.load(Relaxed);
            }
            for (b, g) in lock(&w.brokers).iter() {
                let acc = brokers.entry(b.clone()).or_default();
                let s = g.0.load(Relaxed) as usize;
                if let Some(slot) = acc.get_mut(s) {
                    *slot += 1;
                }
            }
            for (acc, c) in statuses.iter_mut().zip(&w.statuses) {
                *acc += c.load(Relaxed);
            }
            in_flight += w.bytes_in_flight.load(Relaxed);
            for (acc, c) in kafka_responses.iter_mut().zip(&w.kafka_responses) {
                *acc += c.load(Relaxed);
            }
            w.batch_events.add_into(&mut batch.0, &mut batch.1);
            w.request_bytes.add_into(&mut bytes.0, &mut bytes.1);
            w.produce_latency.add_into(&mut latency.0, &mut latency.1);
        }

        for (i, (name, help)) in [
            (
                "forwarder_events_in_total",
                "Events routed to a topic and handed to the producer.",
            ),
            ("forwarder_events_out_total", "Events persisted to a topic."),
            (
                "forwarder_events_dead_lettered_total",
                "Events dead-lettered, by the topic they were meant for.",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            header(out, name, help, "counter");
            for (t, v) in &topics {
                out.push_str(name);
                out.push_str("{topic=");
                label(out, t);
                let _ = writeln!(out, "}} {}", v[i]);
            }
        }

        header(
            out,
            "forwarder_http_responses_total",
            "HTTP responses by status.",
            "counter",
        );
        for (s, v) in STATUSES.iter().zip(statuses) {
            if *s == 0 {
                let _ = writeln!(
                    out,
                    "forwarder_http_responses_total{{status=\"other\"}} {v}"
                );
            } else {
                let _ = writeln!(
                    out,
                    "forwarder_http_responses_total{{status=\"{s}\",reason=\"{}\"}} {v}",
                    reason(*s)
                );
            }
        }

        histogram(
            out,
            "forwarder_request_events",
            "Events per settled ingest request.",
            &BATCH_BUCKETS,
            &batch,
            1.0,
        );
        histogram(
            out,
            "forwarder_request_body_bytes",
            "Decompressed size of ingest request bodies.",
            &BYTES_BUCKETS,
            &bytes,
            1.0,
        );
        histogram(
            out,
            "forwarder_produce_latency_seconds",
            "Time from append to broker acknowledgement, per batch.",
            &LATENCY_BUCKETS_US,
            &latency,
            1e6,
        );

        header(
            out,
            "forwarder_bytes_in_flight",
            "Record bytes buffered or in flight.",
            "gauge",
        );
        let _ = writeln!(out, "forwarder_bytes_in_flight {in_flight}");

        header(
            out,
            "forwarder_broker_connections",
            "Worker connections to each broker, by state.",
            "gauge",
        );
        for (b, counts) in &brokers {
            for ((_, state), n) in BROKER_STATES.iter().zip(counts) {
                out.push_str("forwarder_broker_connections{broker=");
                label(out, b);
                let _ = writeln!(out, ",state=\"{state}\"}} {n}");
            }
        }

        header(
            out,
            "forwarder_kafka_responses_total",
            "Broker responses read with bytes after their end (ignored), and ones \
             that could not be used (the connection was closed and retried).",
            "counter",
        );
        for (kind, n) in ["trailing_bytes", "unusable"].iter().zip(kafka_responses) {
            let _ = writeln!(
                out,
                "forwarder_kafka_responses_total{{kind=\"{kind}\"}} {n}"
            );
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn label(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    bounds: &[u64],
    (counts, sum): &(Vec<u64>, u64),
    divisor: f64,
) {
    header(out, name, help, "histogram");
    let mut cumulative = 0;
    for (b, c) in bounds.iter().zip(counts.iter()) {
        cumulative += c;
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{}\"}} {cumulative}",
            *b as f64 / divisor
        );
    }
    cumulative += counts.last().copied().unwrap_or(0);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {}", *sum as f64 / divisor);
    let _ = writeln!(out, "{name}_count {cumulative}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_workers_and_encodes_text_format() {
        let reg = Registry::new();
        let a = reg.add_worker();
        let b = reg.add_worker();
        let mut cache = TopicCache::new(a.clone());
        cache.topic("events").events_in.fetch_add(3, Relaxed);
        cache.topic("events").events_out.fetch_add(2, Relaxed);
        b.topic("events").events_in.fetch_add(4, Relaxed);
        b.topic("we\"ird").dead_lettered.fetch_add(1, Relaxed);
        a.record_status(200);
        b.record_status(200);
        b.record_status(299);
        a.observe_batch(3);
        b.observe_batch(1000);
        b.observe_batch(5000);
        a.observe_produce_latency(Duration::from_millis(3));
        a.add_bytes_in_flight(100);
        b.add_bytes_in_flight(50);
        a.broker("1").set(BrokerState::Up);
        b.broker("1").set(BrokerState::Connecting);

        let text = reg.encode();
        for line in [
            "forwarder_events_in_total{topic=\"events\"} 7",
            "forwarder_events_out_total{topic=\"events\"} 2",
            "forwarder_events_dead_lettered_total{topic=\"we\\\"ird\"} 1",
            "forwarder_http_responses_total{status=\"200\",reason=\"OK\"} 2",
            "forwarder_http_responses_total{status=\"other\"} 1",
            "forwarder_request_events_bucket{le=\"5\"} 1",
            "forwarder_request_events_bucket{le=\"1000\"} 2",
            "forwarder_request_events_bucket{le=\"+Inf\"} 3",
            "forwarder_request_events_sum 6003",
            "forwarder_request_events_count 3",
            "forwarder_produce_latency_seconds_bucket{le=\"0.0025\"} 0",
            "forwarder_produce_latency_seconds_bucket{le=\"0.005\"} 1",
            "forwarder_bytes_in_flight 150",
            "forwarder_broker_connections{broker=\"1\",state=\"up\"} 1",
            "forwarder_broker_connections{broker=\"1\",state=\"connecting\"} 1",
            "forwarder_broker_connections{broker=\"1\",state=\"down\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Every sample line is `name{labels} value` or `name value`.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = l.rsplit_once(' ').unwrap();
            assert!(v.parse::<f64>().is_ok(), "{l}");
        }
    }
}
