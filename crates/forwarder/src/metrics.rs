//! The forwarder's own metrics, served by `GET /metrics` after the HTTP
//! front end's: events per topic, dead letters, the produce latency, the
//! bytes the producers hold, the broker connection states and the broker
//! responses that were odd or unusable.
//!
//! Each worker owns a [`WorkerMetrics`] of relaxed atomics that only it
//! writes; a scrape sums every worker's values. Topics and brokers are
//! registered once per worker under a mutex (cold); the sink keeps the
//! counters it uses, so the hot path takes no lock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ingest_http::metrics::{header, histogram, label, lock, Histogram, Workers};

/// Upper bounds of the produce-latency histogram, in microseconds.
const LATENCY_BUCKETS_US: [u64; 12] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    5_000_000,
];

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

/// The state of one worker's connection to a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The forwarder metrics of one worker. Written by that worker only.
#[derive(Debug)]
pub struct WorkerMetrics {
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
            produce_latency: Histogram::new(&LATENCY_BUCKETS_US),
            bytes_in_flight: AtomicI64::new(0),
            kafka_responses: Default::default(),
            topics: Mutex::new(Vec::new()),
            brokers: Mutex::new(Vec::new()),
        }
    }

    /// Records the time from a request's first record handed to the
    /// producer until all its records settled.
    pub fn observe_produce_latency(&self, latency: Duration) {
        self.produce_latency
            .observe(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Sets the bytes the worker's producer holds.
    pub fn set_bytes_in_flight(&self, bytes: i64) {
        self.bytes_in_flight.store(bytes, Relaxed);
    }

    /// Sets this worker's counts of broker responses that carried bytes
    /// after their end, and of responses that could not be used.
    pub fn set_kafka_responses(&self, trailing_bytes: u64, unusable: u64) {
        self.kafka_responses[0].store(trailing_bytes, Relaxed);
        self.kafka_responses[1].store(unusable, Relaxed);
    }

    /// The counters of `topic`, registered on first use. Takes a lock:
    /// keep the result.
    pub fn topic(&self, topic: &str) -> Arc<TopicCounters> {
        let mut topics = lock(&self.topics);
        if let Some((_, c)) = topics.iter().find(|(t, _)| &**t == topic) {
            return c.clone();
        }
        let c = Arc::new(TopicCounters::default());
        topics.push((Arc::from(topic), c.clone()));
        c
    }

    /// The connection-state gauge of `broker` (e.g. its address list),
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

/// All workers' forwarder metrics; encodes their sum.
#[derive(Debug, Default)]
pub struct Registry {
    workers: Workers<WorkerMetrics>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers one more worker and returns its metrics.
    pub fn add_worker(&self) -> Arc<WorkerMetrics> {
        self.workers.add(WorkerMetrics::new())
    }

    /// Appends the sum over workers to `out`, in the Prometheus text format.
    pub fn encode_into(&self, out: &mut String) {
        let workers = self.workers.all();
        let mut topics: BTreeMap<Arc<str>, [u64; 3]> = BTreeMap::new();
        let mut brokers: BTreeMap<Arc<str>, [u64; 3]> = BTreeMap::new();
        let mut in_flight = 0i64;
        let mut kafka_responses = [0u64; 2];
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
                if let Some(slot) = acc.get_mut(g.0.load(Relaxed) as usize) {
                    *slot += 1;
                }
            }
            in_flight += w.bytes_in_flight.load(Relaxed);
            for (acc, c) in kafka_responses.iter_mut().zip(&w.kafka_responses) {
                *acc += c.load(Relaxed);
            }
            w.produce_latency.add_into(&mut latency.0, &mut latency.1);
        }
        encode_topics(out, &topics);
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
        encode_brokers(out, &brokers);
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

fn encode_topics(out: &mut String, topics: &BTreeMap<Arc<str>, [u64; 3]>) {
    let families = [
        (
            "forwarder_events_in_total",
            "Events routed to a topic and handed to the producer.",
        ),
        ("forwarder_events_out_total", "Events persisted to a topic."),
        (
            "forwarder_events_dead_lettered_total",
            "Events dead-lettered, by the topic they were meant for.",
        ),
    ];
    for (i, (name, help)) in families.into_iter().enumerate() {
        header(out, name, help, "counter");
        for (t, v) in topics {
            out.push_str(name);
            out.push_str("{topic=");
            label(out, t);
            let _ = writeln!(out, "}} {}", v[i]);
        }
    }
}

fn encode_brokers(out: &mut String, brokers: &BTreeMap<Arc<str>, [u64; 3]>) {
    header(
        out,
        "forwarder_broker_connections",
        "Worker connections to each broker, by state.",
        "gauge",
    );
    for (b, counts) in brokers {
        for ((_, state), n) in BROKER_STATES.iter().zip(counts) {
            out.push_str("forwarder_broker_connections{broker=");
            label(out, b);
            let _ = writeln!(out, ",state=\"{state}\"}} {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_workers_and_encodes_text_format() {
        let reg = Registry::new();
        let a = reg.add_worker();
        let b = reg.add_worker();
        a.topic("events").events_in.fetch_add(3, Relaxed);
        a.topic("events").events_out.fetch_add(2, Relaxed);
        b.topic("events").events_in.fetch_add(4, Relaxed);
        b.topic("we\"ird").dead_lettered.fetch_add(1, Relaxed);
        a.observe_produce_latency(Duration::from_millis(3));
        a.set_bytes_in_flight(100);
        b.set_bytes_in_flight(50);
        a.broker("1").set(BrokerState::Up);
        b.broker("1").set(BrokerState::Connecting);
        a.set_kafka_responses(2, 1);
        b.set_kafka_responses(3, 0);

        let mut text = String::new();
        reg.encode_into(&mut text);
        for line in [
            "forwarder_events_in_total{topic=\"events\"} 7",
            "forwarder_events_out_total{topic=\"events\"} 2",
            "forwarder_events_dead_lettered_total{topic=\"we\\\"ird\"} 1",
            "forwarder_produce_latency_seconds_bucket{le=\"0.0025\"} 0",
            "forwarder_produce_latency_seconds_bucket{le=\"0.005\"} 1",
            "forwarder_bytes_in_flight 150",
            "forwarder_broker_connections{broker=\"1\",state=\"up\"} 1",
            "forwarder_broker_connections{broker=\"1\",state=\"connecting\"} 1",
            "forwarder_broker_connections{broker=\"1\",state=\"down\"} 0",
            "forwarder_kafka_responses_total{kind=\"trailing_bytes\"} 5",
            "forwarder_kafka_responses_total{kind=\"unusable\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = l.rsplit_once(' ').unwrap();
            assert!(v.parse::<f64>().is_ok(), "{l}");
        }
    }
}
