//! Deterministic keyed records over a few topics, and a producer run that
//! sends them through `kafka-net` and collects every outcome.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use kafka_net::{Delivery, Engine, HeaderRef, NetConfig, Outcome, Producer, RecordRef, Runtime};

/// A topic and its partition count.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    /// The name.
    pub name: String,
    /// Partitions.
    pub partitions: u32,
}

/// One planned record: which topic, which key, and its sequence number
/// among the records of that key.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    /// Index into [`Workload::topics`].
    pub topic: u8,
    /// Key number (the key is [`Workload::key`]).
    pub key: u32,
    /// 0, 1, 2, ... per (topic, key), in send order.
    pub seq: u32,
}

/// `records` keyed records spread over `topics`; record `id` carries its
/// id and sequence in its value and headers.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The topics.
    pub topics: Vec<TopicSpec>,
    /// Number of records.
    pub records: usize,
    /// Distinct keys per topic.
    pub keys_per_topic: u32,
    /// Seed of the key choice and value lengths.
    pub seed: u64,
    /// Timestamp of record 0 (record `id` has `base_ts + id`).
    pub base_ts: i64,
}

/// SplitMix64: a small seeded generator for the tests.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

impl Workload {
    /// Topic, key and sequence of every record, in send order.
    pub fn plan(&self) -> Vec<Planned> {
        let mut rng = SplitMix(self.seed);
        let t = self.topics.len();
        let mut next_seq = vec![0u32; t * self.keys_per_topic as usize];
        (0..self.records)
            .map(|id| {
                let topic = id % t;
                let key = rng.below(u64::from(self.keys_per_topic)) as u32;
                let slot = &mut next_seq[topic * self.keys_per_topic as usize + key as usize];
                let seq = *slot;
                *slot += 1;
                Planned {
                    topic: topic as u8,
                    key,
                    seq,
                }
            })
            .collect()
    }

    /// The key of key number `k`.
    pub fn key(k: u32) -> String {
        format!("key-{k:06}")
    }

    /// Writes record `id`'s value into `out`: `"{seq}|{id}|"` and a filler
    /// of 0 to 119 bytes that depends on the seed and the id.
    pub fn value_into(&self, id: usize, p: &Planned, out: &mut Vec<u8>) {
        use std::io::Write;
        out.clear();
        let _ = write!(out, "{}|{}|", p.seq, id);
        let len = SplitMix(self.seed ^ (id as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)).below(120);
        out.extend((0..len).map(|j| b'a' + ((id as u64 + j) % 26) as u8));
    }

    /// Record `id`'s create time.
    pub fn timestamp(&self, id: usize) -> i64 {
        self.base_ts + id as i64
    }

    /// Record `id`'s headers: `id` (decimal), `run` (the seed in hex) and
    /// `nil` (a null value).
    pub fn headers(&self, id: usize) -> [(String, Option<String>); 3] {
        [
            ("id".to_owned(), Some(id.to_string())),
            ("run".to_owned(), Some(format!("{:x}", self.seed))),
            ("nil".to_owned(), None),
        ]
    }
}

/// What a producer run returns.
#[derive(Debug)]
pub struct RunResult {
    /// Outcome of record `id` at index `id`.
    pub outcomes: Vec<Outcome>,
    /// Wall time from the producer's start to `close` returning.
    pub elapsed: Duration,
}

/// Sends every planned record through a `kafka-net` producer on `engine`
/// (its own runtime on the calling thread), with `send_wait`, and returns
/// the outcomes. `progress` counts records whose outcome arrived.
pub fn produce(
    engine: Engine,
    props: &[(&str, &str)],
    w: &Workload,
    plan: &[Planned],
    progress: Option<&AtomicUsize>,
) -> RunResult {
    produce_with(engine, props, w, plan, progress, &mut |_| {})
}

/// As [`produce`], calling `after_send(id)` on the producer's thread once
/// record `id` was handed to the producer (a test can stop the world
/// there: the runtime waits while it runs).
pub fn produce_with(
    engine: Engine,
    props: &[(&str, &str)],
    w: &Workload,
    plan: &[Planned],
    progress: Option<&AtomicUsize>,
    after_send: &mut dyn FnMut(usize),
) -> RunResult {
    produce_paced(engine, props, w, plan, None, progress, after_send)
}

/// A sending rate: after every `records` records, the sender sleeps
/// `pause` (the producer runs meanwhile), so that a run lasts long enough
/// for a test to change the cluster under it.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Records sent between pauses.
    pub records: usize,
    /// Length of each pause.
    pub pause: Duration,
}

/// As [`produce_with`], sending at `pace` (`None`: as fast as the
/// producer takes records).
pub fn produce_paced(
    engine: Engine,
    props: &[(&str, &str)],
    w: &Workload,
    plan: &[Planned],
    pace: Option<Pace>,
    progress: Option<&AtomicUsize>,
    after_send: &mut dyn FnMut(usize),
) -> RunResult {
    let rt = Runtime::new(engine).expect("runtime");
    rt.block_on(async {
        let start = Instant::now();
        let cfg = NetConfig::from_properties(props.iter().copied()).expect("config");
        let producer =
            Producer::with_security(cfg.producer, &cfg.security, engine).expect("producer");
        assert_eq!(producer.engine(), engine);
        let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.len()];
        let mut pending: VecDeque<(usize, Delivery)> = VecDeque::new();
        let mut value = Vec::new();
        let reap = |pending: &mut VecDeque<(usize, Delivery)>,
                    outcomes: &mut Vec<Option<Outcome>>| {
            while let Some((id, d)) = pending.front_mut() {
                let mut cx = Context::from_waker(Waker::noop());
                match Pin::new(d).poll(&mut cx) {
                    Poll::Ready(o) => {
                        outcomes[*id] = Some(o.expect("driver alive"));
                        pending.pop_front();
                        if let Some(p) = progress {
                            p.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Poll::Pending => break,
                }
            }
        };
        for (id, p) in plan.iter().enumerate() {
            let topic = &w.topics[p.topic as usize].name;
            let key = Workload::key(p.key);
            w.value_into(id, p, &mut value);
            let hs = w.headers(id);
            let headers: Vec<HeaderRef<'_>> = hs
                .iter()
                .map(|(k, v)| HeaderRef {
                    key: k.as_bytes(),
                    value: v.as_deref().map(str::as_bytes),
                })
                .collect();
            let d = producer
                .send_wait(RecordRef {
                    topic,
                    partition: None,
                    key: Some(key.as_bytes()),
                    value: Some(&value),
                    headers: &headers,
                    timestamp: w.timestamp(id),
                })
                .await
                .unwrap_or_else(|e| panic!("send record {id}: {e}"));
            pending.push_back((id, d));
            after_send(id);
            if let Some(pace) = pace.filter(|p| id % p.records.max(1) == p.records.max(1) - 1) {
                reap(&mut pending, &mut outcomes);
                tokio::time::sleep(pace.pause).await;
            } else if id % 512 == 511 {
                reap(&mut pending, &mut outcomes);
                tokio::task::yield_now().await;
            }
        }
        for (id, d) in pending {
            outcomes[id] = Some(d.await.expect("driver alive"));
            if let Some(p) = progress {
                p.fetch_add(1, Ordering::Relaxed);
            }
        }
        producer.close().await;
        RunResult {
            outcomes: outcomes
                .into_iter()
                .map(|o| o.expect("every record has an outcome"))
                .collect(),
            elapsed: start.elapsed(),
        }
    })
}
