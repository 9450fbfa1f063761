//! Chaos: connections cut at random points (mid-request and mid-response)
//! by a proxy between producer and broker, and the broker killed and
//! restarted mid-run on persistent storage. The consumer must find no
//! record lost and none duplicated, and agree with every outcome the
//! producer reported. Randomness is seeded; the seed is printed
//! (`E2E_SEED` repeats a run's choices, though not the timing).

use std::sync::atomic::Ordering;
use std::sync::mpsc;

use forwarder_e2e::broker::{free_port, Broker, Storage};
use forwarder_e2e::proxy::{ChaosPlan, ChaosProxy};
use forwarder_e2e::verify::{self, Summary};
use forwarder_e2e::workload::{produce, produce_with, RunResult, TopicSpec, Workload};
use forwarder_e2e::{engines, seed};
use kafka_net::Engine;

/// Records of the run with cut connections (`E2E_CHAOS_RECORDS`
/// overrides).
fn cut_records() -> usize {
    env_count("E2E_CHAOS_RECORDS", 200_000)
}

/// Records of the run with broker restarts (`E2E_RESTART_RECORDS`
/// overrides). Restarts need Tansu's persistent (sqlite) storage, whose
/// read-back looks up each record's headers by scanning every header in
/// the database: quadratic, a few hundred records a second at 20 k. The
/// broker fixture adds the missing index
/// ([`forwarder_e2e::broker::index_headers`]), after which 200 k records
/// read back at several thousand a second.
fn restart_records() -> usize {
    env_count("E2E_RESTART_RECORDS", 200_000)
}

fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Settings that let every record outlive the disruptions.
const PROPS: &[(&str, &str)] = &[
    ("linger.ms", "5"),
    ("delivery.timeout.ms", "600000"),
    ("request.timeout.ms", "10000"),
    ("retry.backoff.ms", "50"),
    ("retry.backoff.max.ms", "500"),
    ("reconnect.backoff.ms", "50"),
    ("reconnect.backoff.max.ms", "1000"),
];

fn workload(tag: &str, engine: Engine, seed: u64, records: usize) -> Workload {
    let prefix = format!("{tag}-{}", engine.name().replace('_', ""));
    Workload {
        topics: [4u32, 6, 3]
            .iter()
            .enumerate()
            .map(|(i, &partitions)| TopicSpec {
                name: format!("{prefix}-{i}"),
                partitions,
            })
            .collect(),
        records,
        keys_per_topic: 500,
        seed,
        base_ts: 1_700_000_000_000,
    }
}

fn props(bootstrap: &str) -> Vec<(&str, &str)> {
    let mut p = vec![("bootstrap.servers", bootstrap)];
    p.extend_from_slice(PROPS);
    p
}

fn verify_run(w: &Workload, run: &RunResult, bootstrap: &str) -> Summary {
    let names: Vec<&str> = w.topics.iter().map(|t| t.name.as_str()).collect();
    let log = verify::consume(bootstrap, &names);
    // Panics on any lost, duplicated, reordered or altered record, and on
    // any outcome the log contradicts.
    verify::check(w, &w.plan(), &run.outcomes, &log)
}

#[test]
fn connections_cut_mid_request_and_mid_response() {
    let seed = seed("connections_cut_mid_request_and_mid_response");
    for engine in engines() {
        let proxy_port = free_port();
        // The broker advertises the proxy, so every connection goes through it.
        let broker = Broker::start_advertising(Storage::Memory, Some(proxy_port));
        let w = workload("cut", engine, seed, cut_records());
        for t in &w.topics {
            broker.create_topic(&t.name, t.partitions);
        }
        let plan = ChaosPlan {
            mean_request_bytes: 512 * 1024,
            mean_response_bytes: 4 * 1024,
            max_cuts: 80,
        };
        let proxy = ChaosProxy::start(proxy_port, broker.port(), seed, plan);
        let bootstrap = format!("127.0.0.1:{proxy_port}");
        let run = produce(engine, &props(&bootstrap), &w, &w.plan(), None);
        proxy.set_chaos(false);
        let (req, resp) = (
            proxy.stats.request_cuts.load(Ordering::Relaxed),
            proxy.stats.response_cuts.load(Ordering::Relaxed),
        );
        let s = verify_run(&w, &run, &bootstrap);
        eprintln!(
            "cuts {}: {req} mid-request, {resp} mid-response, {} connections; \
             produced in {:?}; {s:?}",
            engine.name(),
            proxy.stats.connections.load(Ordering::Relaxed),
            run.elapsed
        );
        assert!(req > 0 && resp > 0, "the proxy cut both directions");
        assert_eq!(s.consumed, s.persisted + s.possibly_found);
    }
}

#[test]
fn broker_killed_and_restarted_mid_run() {
    let seed = seed("broker_killed_and_restarted_mid_run");
    for engine in engines() {
        let broker = Broker::start(Storage::Sqlite);
        let w = workload("restart", engine, seed, restart_records());
        for t in &w.topics {
            broker.create_topic(&t.name, t.partitions);
        }
        let bootstrap = broker.addr();
        let n = w.records;
        // Once a third, then two thirds, of the records were sent, the
        // producer's thread asks for the broker to be killed and waits for
        // the kill only: the producer then runs on (requests in flight
        // lost, reconnects refused) while the broker comes back on the same
        // port and storage.
        let (kill_tx, kill_rx) = mpsc::channel::<()>();
        let (ack_tx, ack_rx) = mpsc::channel::<()>();
        let restarter = std::thread::spawn(move || {
            let mut broker = broker;
            let mut restarts = 0;
            while kill_rx.recv().is_ok() {
                broker.stop();
                let _ = ack_tx.send(());
                broker.start_again();
                restarts += 1;
            }
            (broker, restarts)
        });
        let mut after_send = |id: usize| {
            if id == n / 3 || id == 2 * n / 3 {
                eprintln!("killing the broker after record {id} was sent");
                kill_tx.send(()).expect("restarter alive");
                ack_rx.recv().expect("broker killed");
            }
        };
        let run = produce_with(
            engine,
            &props(&bootstrap),
            &w,
            &w.plan(),
            None,
            &mut after_send,
        );
        drop(kill_tx);
        let (broker, restarts) = restarter.join().expect("restarter thread");
        let s = verify_run(&w, &run, &broker.addr());
        eprintln!(
            "restart {}: {restarts} restarts; produced in {:?}; {s:?}",
            engine.name(),
            run.elapsed
        );
        assert_eq!(restarts, 2, "the broker was restarted twice mid-run");
        assert_eq!(s.consumed, s.persisted + s.possibly_found);
    }
}
