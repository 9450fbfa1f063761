//! Our producer against a three-broker cluster (librdkafka's mock cluster,
//! [`forwarder_e2e::mock`]): one topic of six partitions whose leaders are
//! spread over the brokers, deterministic keyed records, and a fault made
//! mid-stream: a leader moved, a broker down and up again, Produce errors
//! injected, an answer delayed past `request.timeout.ms`. librdkafka reads
//! every partition back to its end (CRC checks on); every record must be
//! reported persisted and be in the log exactly once, each key's records
//! in order.
//!
//! The mock writes whatever an idempotent producer sends (it checks
//! sequences for transactional producers only), so the faults are made
//! where a correct producer cannot make it write a batch twice or out of
//! order:
//!
//! - the broker is taken down while the producer is held still and every
//!   request it sent has been answered (a broker that dies after writing a
//!   batch but before answering would otherwise leave a duplicate that a
//!   real broker deduplicates);
//! - error injection and delayed answers run with one request in flight
//!   per connection: a later batch of the same partition pipelined behind
//!   a failed one would be written ahead of it, where a real broker refuses
//!   it with OUT_OF_ORDER_SEQUENCE_NUMBER.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use forwarder_e2e::mock::{api, code, MockCluster};
use forwarder_e2e::workload::{produce_paced, Pace, RunResult, TopicSpec, Workload};
use forwarder_e2e::{deps, engines, seed, verify};
use kafka_net::Engine;

const BROKERS: u32 = 3;
const PARTITIONS: u32 = 6;
const RECORDS: usize = 4_000;

/// About 4,000 records a second: a run lasts about a second, long enough
/// for the faults to land among records in flight.
const PACE: Pace = Pace {
    records: 40,
    pause: Duration::from_millis(10),
};

/// A run that has not finished by then is stuck.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Settings that let every record outlive the faults.
const PROPS: &[(&str, &str)] = &[
    ("linger.ms", "5"),
    ("delivery.timeout.ms", "60000"),
    ("request.timeout.ms", "5000"),
    ("retry.backoff.ms", "20"),
    ("retry.backoff.max.ms", "200"),
    ("reconnect.backoff.ms", "20"),
    ("reconnect.backoff.max.ms", "200"),
];

/// The leader of partition `p` at the start.
fn first_leader(p: u32) -> i32 {
    (p % BROKERS) as i32 + 1
}

/// A fresh cluster with one topic whose leaders are spread over the
/// brokers, and the workload of a run on it.
fn setup(scenario: &str, engine: Engine, seed: u64) -> (Arc<MockCluster>, Workload) {
    let cluster = MockCluster::start(BROKERS);
    let topic = format!("{scenario}-{}", engine.name().replace('_', ""));
    cluster.create_topic(&topic, PARTITIONS, BROKERS);
    for p in 0..PARTITIONS {
        cluster.set_leader(&topic, p as i32, first_leader(p));
    }
    let w = Workload {
        topics: vec![TopicSpec {
            name: topic,
            partitions: PARTITIONS,
        }],
        records: RECORDS,
        keys_per_topic: 200,
        seed,
        base_ts: 1_700_000_000_000,
    };
    (Arc::new(cluster), w)
}

/// Runs the producer on its own thread with `extra` settings, calling
/// `after_send(id)` there once record `id` was sent; panics if the run
/// does not end within [`RUN_LIMIT`], naming how many outcomes arrived.
fn run(
    engine: Engine,
    cluster: &MockCluster,
    extra: &[(&'static str, &'static str)],
    w: &Workload,
    pace: Option<Pace>,
    after_send: impl FnMut(usize) + Send + 'static,
) -> RunResult {
    let mut props: Vec<(String, String)> =
        vec![("bootstrap.servers".into(), cluster.bootstrap().into())];
    for (k, v) in PROPS.iter().chain(extra) {
        props.retain(|(key, _)| key != k);
        props.push(((*k).into(), (*v).into()));
    }
    let progress = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let (w2, counter) = (w.clone(), progress.clone());
    let mut after_send = after_send;
    std::thread::spawn(move || {
        let props: Vec<(&str, &str)> = props
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let plan = w2.plan();
        let result = produce_paced(
            engine,
            &props,
            &w2,
            &plan,
            pace,
            Some(&counter),
            &mut after_send,
        );
        let _ = tx.send(result);
    });
    rx.recv_timeout(RUN_LIMIT).unwrap_or_else(|_| {
        panic!(
            "{}: {} of {} outcomes after {RUN_LIMIT:?}",
            engine.name(),
            progress.load(Ordering::Relaxed),
            w.records
        )
    })
}

/// Reads the topic back to the end of every partition and checks it
/// against the outcomes: every record persisted, present exactly once,
/// each key's records in order.
fn verify_all_persisted(
    scenario: &str,
    engine: Engine,
    cluster: &MockCluster,
    w: &Workload,
    run: &RunResult,
) {
    let names: Vec<&str> = w.topics.iter().map(|t| t.name.as_str()).collect();
    let log = verify::consume(cluster.bootstrap(), &names);
    // Panics on a lost, duplicated, reordered or altered record, and on an
    // outcome the log contradicts.
    let s = verify::check(w, &w.plan(), &run.outcomes, &log);
    eprintln!(
        "{scenario} {}: produced in {:?}; {s:?}",
        engine.name(),
        run.elapsed
    );
    assert_eq!(
        (s.persisted, s.not_persisted, s.possibly),
        (w.records, 0, 0),
        "every record persisted: {s:?}"
    );
    assert_eq!(s.consumed, w.records, "each record once in the log");
}

#[test]
fn plain_run_over_three_brokers() {
    let seed = seed("plain_run_over_three_brokers");
    for engine in engines() {
        let (cluster, w) = setup("plain", engine, seed);
        let r = run(engine, &cluster, &[], &w, None, |_| {});
        verify_all_persisted("plain", engine, &cluster, &w, &r);
    }
}

#[test]
fn leaders_move_mid_stream() {
    let seed = seed("leaders_move_mid_stream");
    for engine in engines() {
        let (cluster, w) = setup("move", engine, seed);
        let topic = w.topics[0].name.clone();
        let c = cluster.clone();
        let after_send = move |id: usize| {
            if id == RECORDS / 3 {
                // Partitions 0 and 4: from broker 1 to 2, from 2 to 3.
                c.set_leader(&topic, 0, 2);
                c.set_leader(&topic, 4, 3);
            } else if id == 2 * RECORDS / 3 {
                // Partition 0 again, to 3; partition 2 from 3 to 1.
                c.set_leader(&topic, 0, 3);
                c.set_leader(&topic, 2, 1);
            }
        };
        let r = run(engine, &cluster, &[], &w, Some(PACE), after_send);
        verify_all_persisted("move", engine, &cluster, &w, &r);
    }
}

#[test]
fn a_broker_goes_down_and_up_mid_stream() {
    let seed = seed("a_broker_goes_down_and_up_mid_stream");
    for engine in engines() {
        let (cluster, w) = setup("down", engine, seed);
        let c = cluster.clone();
        let after_send = move |id: usize| {
            if id == RECORDS / 4 {
                // Broker 1 (first of the bootstrap list, leader of
                // partitions 0 and 3) goes down once every request sent so
                // far has been answered: the producer is held still here.
                std::thread::sleep(Duration::from_millis(300));
                c.down(1);
            } else if id == 3 * RECORDS / 4 {
                c.up(1);
            }
        };
        let r = run(engine, &cluster, &[], &w, Some(PACE), after_send);
        verify_all_persisted("down", engine, &cluster, &w, &r);
    }
}

#[test]
fn injected_produce_errors_are_retried() {
    use code::{
        NETWORK_EXCEPTION as NET, NOT_ENOUGH_REPLICAS as NER, NOT_LEADER_OR_FOLLOWER as NLF,
        REQUEST_TIMED_OUT as RTO,
    };
    let seed = seed("injected_produce_errors_are_retried");
    for engine in engines() {
        let (cluster, w) = setup("errors", engine, seed);
        let c = cluster.clone();
        let after_send = move |id: usize| {
            // Each answers a whole Produce request, which is not written.
            if id == RECORDS / 5 {
                // The next four requests, whichever broker they reach.
                c.push_errors(api::PRODUCE, &[NLF, RTO, NER, NET]);
            } else if id == RECORDS / 2 {
                // The next requests of each broker, errors in a row.
                c.push_broker_errors(1, api::PRODUCE, &[(NET, 0), (NLF, 0)]);
                c.push_broker_errors(2, api::PRODUCE, &[(RTO, 0), (NER, 0)]);
                c.push_broker_errors(3, api::PRODUCE, &[(NER, 0), (NET, 0), (RTO, 0), (NLF, 0)]);
            }
        };
        let extra = [("max.in.flight.requests.per.connection", "1")];
        let r = run(engine, &cluster, &extra, &w, Some(PACE), after_send);
        for broker in 1..=BROKERS as i32 {
            assert_eq!(
                cluster.broker_errors_left(broker, api::PRODUCE),
                0,
                "every error injected into broker {broker} was answered"
            );
        }
        verify_all_persisted("errors", engine, &cluster, &w, &r);
    }
}

#[test]
fn an_answer_later_than_the_request_timeout_is_resent() {
    let seed = seed("an_answer_later_than_the_request_timeout_is_resent");
    for engine in engines() {
        let (cluster, w) = setup("late", engine, seed);
        let c = cluster.clone();
        let after_send = move |id: usize| {
            // The next Produce request to broker 2 (and later to broker 3)
            // is not written and answered REQUEST_TIMED_OUT after 1.5 s,
            // past the producer's 1 s request timeout.
            if id == RECORDS / 4 {
                c.push_broker_errors(2, api::PRODUCE, &[(code::REQUEST_TIMED_OUT, 1_500)]);
            } else if id == RECORDS / 2 {
                c.push_broker_errors(3, api::PRODUCE, &[(code::REQUEST_TIMED_OUT, 1_500)]);
            }
        };
        let extra = [
            ("request.timeout.ms", "1000"),
            ("max.in.flight.requests.per.connection", "1"),
        ];
        let started = Instant::now();
        let r = run(engine, &cluster, &extra, &w, Some(PACE), after_send);
        for broker in [2, 3] {
            assert_eq!(
                cluster.broker_errors_left(broker, api::PRODUCE),
                0,
                "broker {broker} answered a request late"
            );
        }
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "the run outlived a request timeout"
        );
        verify_all_persisted("late", engine, &cluster, &w, &r);
    }
}

/// The fixture itself, with librdkafka as the producer: what it sends to
/// the three brokers, with a leader moved on the way, reads back whole.
#[test]
fn the_mock_cluster_holds_what_librdkafka_produces() {
    const SCRIPT: &str = r#"
import sys
from confluent_kafka import Producer
bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
              "partitioner": "murmur2_random", "linger.ms": 5})
failed = []
for i in range(n):
    p.produce(topic, key=f"key-{i % 50}", value=f"{i}|v",
              headers=[("id", str(i))],
              on_delivery=lambda e, m: e and failed.append(e))
    p.poll(0)
    if i == n // 2:
        sys.stdout.write("half\n")
        sys.stdout.flush()
        sys.stdin.readline()
left = p.flush(30)
if left or failed:
    raise SystemExit(f"{left} unflushed, failures: {failed[:3]}")
"#;
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let cluster = MockCluster::start(BROKERS);
    cluster.create_topic("librdkafka", PARTITIONS, BROKERS);
    for p in 0..PARTITIONS {
        cluster.set_leader("librdkafka", p as i32, first_leader(p));
    }
    let n = 2_000;
    let mut child = Command::new(deps::python())
        .args([
            "-c",
            SCRIPT,
            cluster.bootstrap(),
            "librdkafka",
            &n.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the librdkafka producer");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the producer");
    assert_eq!(line.trim(), "half", "the producer stopped half way");
    cluster.set_leader("librdkafka", 1, 1);
    writeln!(child.stdin.take().expect("stdin")).expect("resume the producer");
    let status = child.wait().expect("wait for the producer");
    assert!(status.success(), "librdkafka producer: {status}");

    let log = verify::consume(cluster.bootstrap(), &["librdkafka"]);
    let mut ids: Vec<usize> = log
        .iter()
        .map(|r| {
            r.headers[0]
                .1
                .as_deref()
                .and_then(|v| v.parse().ok())
                .expect("id header")
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((log.len(), ids.len()), (n, n), "each record once");
    let partitions: std::collections::BTreeSet<i32> = log.iter().map(|r| r.partition).collect();
    assert_eq!(
        partitions.len(),
        PARTITIONS as usize,
        "every partition written"
    );
}
