//! End to end against a three-broker cluster (librdkafka's mock cluster,
//! `forwarder_e2e::mock`): clients post batches of Segment events to the
//! `forwarder` binary while a partition leader moves and a broker goes
//! down and comes back. Read back with librdkafka to the end of every
//! partition, every event of every request answered 200 is in Kafka
//! exactly once, in its key's partition, and each key's events are in the
//! order they were posted.
//!
//! The mock writes every batch an idempotent producer sends (it
//! deduplicates transactional producers only), so the broker is taken down
//! while the forwarder is stopped (SIGSTOP) and has had every request it
//! sent answered: a broker that dies between writing a batch and answering
//! would leave a duplicate that a real broker deduplicates.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{consume, header, Forwarder, KeepAlive};
use forwarder_e2e::mock::MockCluster;
use kafka_wire::murmur2::partition_for_key;
use serde_json::{json, Value};

const BROKERS: u32 = 3;
const PARTITIONS: u32 = 6;
const CLIENTS: usize = 4;
const EVENTS_PER_BATCH: usize = 50;
/// Distinct `userId`s per client (keys are client-specific, so each key's
/// events are posted in one order).
const USERS_PER_CLIENT: usize = 13;

fn config(bootstrap: &str, engine: &str) -> String {
    format!(
        r#"workers = 2

[log]
format = "json"

[ingest]
listen = "127.0.0.1:{{PORT}}"
write_keys = [{{ key = "seg-key", source = "segment-web" }}]

[kafka]
"bootstrap.servers" = "{bootstrap}"
"io.engine" = "{engine}"
"linger.ms" = 2
"retry.backoff.ms" = 20
"retry.backoff.max.ms" = 200
"reconnect.backoff.ms" = 20
"reconnect.backoff.max.ms" = 200

[router]
default_topic = "events"
"#
    )
}

/// What one client posted: the message ids of the batches answered 200
/// and of the others, each in posting order.
#[derive(Debug, Default)]
struct Posted {
    ok: Vec<String>,
    failed: Vec<String>,
}

/// A client posting batches on a keep-alive connection until `stop`;
/// event `i` of batch `n` of client `c` is `c{c}-b{n}-e{i}`, of user
/// `c{c}-u{i % USERS_PER_CLIENT}`.
fn client(
    port: u16,
    c: usize,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
) -> JoinHandle<Posted> {
    std::thread::spawn(move || {
        let mut posted = Posted::default();
        let mut conn = None;
        for n in 0.. {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let ids: Vec<String> = (0..EVENTS_PER_BATCH)
                .map(|i| format!("c{c}-b{n}-e{i}"))
                .collect();
            let events: Vec<Value> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    json!({"type": "track", "event": "Mock Load", "messageId": id,
                           "userId": format!("c{c}-u{}", i % USERS_PER_CLIENT),
                           "properties": {"n": n, "i": i}})
                })
                .collect();
            let body = json!({ "batch": events }).to_string();
            if conn.is_none() {
                conn = KeepAlive::connect(port).ok();
            }
            let answer = match conn.as_mut() {
                Some(k) => k.post("/v1/batch", "seg-key", body.as_bytes()),
                None => Err(std::io::Error::other("no connection")),
            };
            match answer {
                Ok((200, _, _)) => {
                    posted.ok.extend(ids);
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                other => {
                    eprintln!("client {c} batch {n}: {other:?}");
                    posted.failed.extend(ids);
                    conn = None;
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        posted
    })
}

fn wait_for(answered: &AtomicUsize, n: usize, fwd: &Forwarder) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "only {} requests answered 200, waiting for {n}:\n{}",
            answered.load(Ordering::SeqCst),
            fwd.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(fwd: &Forwarder, sig: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(fwd.pid().to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig}");
}

#[test]
fn leader_moves_and_a_broker_restart_lose_and_duplicate_nothing_answered_200() {
    for engine in forwarder_e2e::engines() {
        eprintln!("io.engine = {}", engine.name());
        run_on(engine.name());
    }
}

fn run_on(engine: &str) {
    let started = Instant::now();
    let cluster = MockCluster::start(BROKERS);
    cluster.create_topic("events", PARTITIONS, BROKERS);
    for p in 0..PARTITIONS {
        cluster.set_leader("events", p as i32, (p % BROKERS) as i32 + 1);
    }
    let fwd = Forwarder::start(&config(cluster.bootstrap(), engine));
    fwd.wait_ready();

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| client(fwd.port, c, stop.clone(), answered.clone()))
        .collect();

    wait_for(&answered, 20, &fwd);
    // Partition 0 from broker 1 to 2, partition 4 from 2 to 3.
    cluster.set_leader("events", 0, 2);
    cluster.set_leader("events", 4, 3);
    let moved_at = answered.load(Ordering::SeqCst);
    wait_for(&answered, moved_at + 40, &fwd);

    // Broker 1 (first in the bootstrap list, leader of partition 3 now)
    // goes down while the forwarder is stopped and every request it sent
    // has been answered.
    signal(&fwd, "STOP");
    std::thread::sleep(Duration::from_millis(300));
    cluster.down(1);
    signal(&fwd, "CONT");
    let down_at = answered.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(800));
    cluster.up(1);
    wait_for(&answered, down_at + 40, &fwd);
    stop.store(true, Ordering::SeqCst);

    let posted: Vec<Posted> = clients
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    let log = consume(cluster.bootstrap(), &["events"], &[]);
    check(&posted, &log);
    let ok: usize = posted.iter().map(|p| p.ok.len()).sum();
    let failed: usize = posted.iter().map(|p| p.failed.len()).sum();
    eprintln!(
        "{engine}: {ok} events answered 200 ({} requests; {down_at} before the broker went \
         down), {failed} in requests answered otherwise, {} records in Kafka; {:.1?}",
        answered.load(Ordering::SeqCst),
        log.len(),
        started.elapsed()
    );
}

/// Every event answered 200 is in the log once, in its key's partition,
/// and each key's events are in posting order; events of requests
/// answered otherwise are there at most once; nothing else is.
fn check(posted: &[Posted], log: &[Value]) {
    // (client, batch, event) of every id, and whether it was answered 200.
    let mut posted_ids: HashMap<&str, bool> = HashMap::new();
    for p in posted {
        posted_ids.extend(p.ok.iter().map(|id| (id.as_str(), true)));
        posted_ids.extend(p.failed.iter().map(|id| (id.as_str(), false)));
    }
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, (u64, u64)> = HashMap::new();
    // key -> (batch, event) of its last event answered 200, in log order.
    let mut last: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
    let mut sorted: Vec<&Value> = log.iter().collect();
    sorted.sort_by_key(|r| (r["p"].as_u64(), r["o"].as_u64()));
    for r in sorted {
        let (p, o) = (
            r["p"].as_u64().expect("partition"),
            r["o"].as_u64().expect("offset"),
        );
        let Some(id) = header(r, "message_id") else {
            errors.push(format!("[{p}] @{o}: no message_id: {r}"));
            continue;
        };
        let Some(&ok) = posted_ids.get(id) else {
            errors.push(format!("[{p}] @{o}: {id} was never posted"));
            continue;
        };
        if let Some(first) = seen.insert(id, (p, o)) {
            errors.push(format!("[{p}] @{o}: {id} duplicated (first at {first:?})"));
            continue;
        }
        let key = r["k"].as_str().unwrap_or_default().to_owned();
        let want = u64::from(partition_for_key(key.as_bytes(), PARTITIONS));
        if p != want {
            errors.push(format!("[{p}] @{o}: {id} of key {key} belongs to [{want}]"));
        }
        if !ok {
            continue;
        }
        let v: Value = serde_json::from_str(r["v"].as_str().unwrap_or("null")).unwrap_or_default();
        let at = (
            v["properties"]["n"].as_u64().unwrap_or(u64::MAX),
            v["properties"]["i"].as_u64().unwrap_or(u64::MAX),
        );
        if let Some(&(n, i, lp, lo)) = last.get(&key) {
            if (n, i) >= at {
                errors.push(format!(
                    "[{p}] @{o}: {id} of key {key} after batch {n} event {i} at [{lp}] @{lo}: \
                     order broken"
                ));
            }
        }
        last.insert(key, (at.0, at.1, p, o));
    }
    let missing: Vec<&str> = posted
        .iter()
        .flat_map(|p| p.ok.iter())
        .map(String::as_str)
        .filter(|id| !seen.contains_key(id))
        .collect();
    if !missing.is_empty() {
        errors.push(format!(
            "{} events answered 200 are not in Kafka, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        ));
    }
    assert!(
        errors.is_empty(),
        "{} problem(s), first ones:\n{}",
        errors.len(),
        errors[..errors.len().min(20)].join("\n")
    );
}
