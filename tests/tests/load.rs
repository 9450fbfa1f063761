//! Load: one million keyed records over three topics of 3, 5 and 8
//! partitions, through each engine, read back by librdkafka: every record
//! exactly once, in order per key within its partition, in the partition
//! Java's murmur2 gives its key, headers and timestamps intact.
//!
//! `E2E_LOAD_RECORDS` overrides the count.

use forwarder_e2e::broker::{Broker, Storage};
use forwarder_e2e::workload::{produce, TopicSpec, Workload};
use forwarder_e2e::{engines, seed, verify};
use kafka_net::Engine;

fn records() -> usize {
    std::env::var("E2E_LOAD_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

fn load(engine: Engine, records: usize, seed: u64) {
    let broker = Broker::start(Storage::Memory);
    let prefix = engine.name().replace('_', "");
    let topics: Vec<TopicSpec> = [3u32, 5, 8]
        .iter()
        .enumerate()
        .map(|(i, &partitions)| TopicSpec {
            name: format!("load-{prefix}-{i}"),
            partitions,
        })
        .collect();
    for t in &topics {
        broker.create_topic(&t.name, t.partitions);
    }
    let w = Workload {
        topics,
        records,
        keys_per_topic: 2_000,
        seed,
        base_ts: 1_700_000_000_000,
    };
    let plan = w.plan();
    let addr = broker.addr();
    let run = produce(
        engine,
        &[("bootstrap.servers", addr.as_str()), ("linger.ms", "5")],
        &w,
        &plan,
        None,
    );
    let t = std::time::Instant::now();
    let names: Vec<&str> = w.topics.iter().map(|t| t.name.as_str()).collect();
    let log = verify::consume(&addr, &names);
    let read = t.elapsed();
    let s = verify::check(&w, &plan, &run.outcomes, &log);
    eprintln!(
        "load {}: {records} records produced in {:?}, read back in {read:?}: {s:?}",
        engine.name(),
        run.elapsed
    );
    assert_eq!(s.persisted, records, "every record persisted");
    assert_eq!(s.consumed, records, "every record read back once");
}

#[test]
fn million_keyed_records_through_each_engine() {
    let seed = seed("million_keyed_records_through_each_engine");
    for engine in engines() {
        load(engine, records(), seed);
    }
}
