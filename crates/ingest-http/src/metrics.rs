//! A small metrics registry with a Prometheus text encoder, for the HTTP
//! front end's own figures: responses by status, events and bytes per
//! request. An application adds its own families after these through
//! [`crate::EventSink::encode_metrics`], with the text helpers here
//! ([`header`], [`label`], [`histogram`], [`Histogram`]).
//!
//! Each worker owns a [`WorkerMetrics`] of relaxed atomics that only it
//! writes; a scrape sums every worker's values.
//!
//! # References
//! - Prometheus text exposition format 0.0.4

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

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

/// A histogram with fixed buckets; values and sum are integers.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Histogram {
    /// A histogram with these bucket upper bounds (and `+Inf`).
    pub fn new(bounds: &'static [u64]) -> Self {
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

    /// Adds this histogram's bucket counts and sum to `counts` (one per
    /// bound, then `+Inf`) and `sum`: for summing workers.
    pub fn add_into(&self, counts: &mut [u64], sum: &mut u64) {
        for (acc, c) in counts.iter_mut().zip(self.counts.iter()) {
            *acc += c.load(Relaxed);
        }
        *sum += self.sum.load(Relaxed);
    }
}

/// The HTTP metrics of one worker. Written by that worker only.
#[derive(Debug)]
pub struct WorkerMetrics {
    statuses: [AtomicU64; STATUSES.len()],
    batch_events: Histogram,
    request_bytes: Histogram,
}

impl WorkerMetrics {
    fn new() -> Self {
        WorkerMetrics {
            statuses: Default::default(),
            batch_events: Histogram::new(&BATCH_BUCKETS),
            request_bytes: Histogram::new(&BYTES_BUCKETS),
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
}

/// Locks a registry's mutex, whether or not a panic poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every worker's part of a registry: each worker writes its own `T`, a
/// scrape reads them all.
#[derive(Debug)]
pub struct Workers<T> {
    workers: Mutex<Vec<Arc<T>>>,
}

impl<T> Default for Workers<T> {
    fn default() -> Self {
        Workers {
            workers: Mutex::new(Vec::new()),
        }
    }
}

impl<T> Workers<T> {
    /// Registers one more worker's metrics and returns them.
    pub fn add(&self, worker: T) -> Arc<T> {
        let w = Arc::new(worker);
        lock(&self.workers).push(w.clone());
        w
    }

    /// Every worker's metrics, as registered so far.
    pub fn all(&self) -> Vec<Arc<T>> {
        lock(&self.workers).clone()
    }
}

/// All workers' HTTP metrics; encodes their sum.
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

    /// The sum over workers, in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        self.encode_into(&mut out);
        out
    }

    /// Appends the sum over workers to `out`.
    pub fn encode_into(&self, out: &mut String) {
        let workers = self.workers.all();
        let mut statuses = [0u64; STATUSES.len()];
        let mut batch = (vec![0; BATCH_BUCKETS.len() + 1], 0);
        let mut bytes = (vec![0; BYTES_BUCKETS.len() + 1], 0);
        for w in &workers {
            for (acc, c) in statuses.iter_mut().zip(&w.statuses) {
                *acc += c.load(Relaxed);
            }
            w.batch_events.add_into(&mut batch.0, &mut batch.1);
            w.request_bytes.add_into(&mut bytes.0, &mut bytes.1);
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
    }
}

/// Writes a family's `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Writes a label value, quoted and escaped.
pub fn label(out: &mut String, value: &str) {
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

/// Writes a histogram family from summed bucket `counts` (one per bound,
/// then `+Inf`) and `sum`, dividing bounds and sum by `divisor` (1e6 for
/// microseconds as seconds).
pub fn histogram(
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
        a.record_status(200);
        b.record_status(200);
        b.record_status(299);
        a.observe_batch(3);
        b.observe_batch(1000);
        b.observe_batch(5000);

        let text = reg.encode();
        for line in [
            "forwarder_http_responses_total{status=\"200\",reason=\"OK\"} 2",
            "forwarder_http_responses_total{status=\"other\"} 1",
            "forwarder_request_events_bucket{le=\"5\"} 1",
            "forwarder_request_events_bucket{le=\"1000\"} 2",
            "forwarder_request_events_bucket{le=\"+Inf\"} 3",
            "forwarder_request_events_sum 6003",
            "forwarder_request_events_count 3",
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

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        label(&mut out, "we\"ird\\\n");
        assert_eq!(out, r#""we\"ird\\\n""#);
    }
}
