//! A small run through each engine: everything arrives intact.

use forwarder_e2e::broker::{Broker, Storage};
use forwarder_e2e::workload::{produce, TopicSpec, Workload};
use forwarder_e2e::{engines, seed, verify};

#[test]
fn small_run_through_each_engine() {
    let seed = seed("small_run_through_each_engine");
    for engine in engines() {
        let broker = Broker::start(Storage::Memory);
        let topics = vec![
            TopicSpec {
                name: "s1".into(),
                partitions: 3,
            },
            TopicSpec {
                name: "s2".into(),
                partitions: 5,
            },
        ];
        for t in &topics {
            broker.create_topic(&t.name, t.partitions);
        }
        let w = Workload {
            topics,
            records: 20_000,
            keys_per_topic: 100,
            seed,
            base_ts: 1_700_000_000_000,
        };
        let plan = w.plan();
        let addr = broker.addr();
        let run = produce(
            engine,
            &[("bootstrap.servers", addr.as_str())],
            &w,
            &plan,
            None,
        );
        let log = verify::consume(&addr, &["s1", "s2"]);
        let s = verify::check(&w, &plan, &run.outcomes, &log);
        eprintln!("{engine:?}: {s:?} in {:?}", run.elapsed);
        assert_eq!(s.persisted, w.records);
        assert_eq!(s.consumed, w.records);
    }
}
