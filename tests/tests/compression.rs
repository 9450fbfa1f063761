//! Every compression codec end to end: batches compressed by our producer are
//! stored by the broker and read back by librdkafka (which decompresses them
//! and checks CRCs): every record exactly once, in order, intact.

use forwarder_e2e::broker::{Broker, Storage};
use forwarder_e2e::workload::{produce, TopicSpec, Workload};
use forwarder_e2e::{engines, seed, verify};

#[test]
fn every_codec_is_read_back_by_librdkafka() {
    let seed = seed("every_codec_is_read_back_by_librdkafka");
    let engine = engines()[0];
    let broker = Broker::start(Storage::Memory);
    let addr = broker.addr();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("compressed-{codec}");
        let topics = vec![TopicSpec {
            name: topic.clone(),
            partitions: 3,
        }];
        broker.create_topic(&topic, 3);
        let w = Workload {
            topics,
            records: 20_000,
            keys_per_topic: 50,
            seed,
            base_ts: 1_700_000_000_000,
        };
        let plan = w.plan();
        let run = produce(
            engine,
            &[
                ("bootstrap.servers", addr.as_str()),
                ("compression.type", codec),
            ],
            &w,
            &plan,
            None,
        );
        let log = verify::consume(&addr, &[topic.as_str()]);
        let s = verify::check(&w, &plan, &run.outcomes, &log);
        eprintln!("{codec} on {engine:?}: {s:?} in {:?}", run.elapsed);
        assert_eq!(s.persisted, w.records, "{codec}: persisted");
        assert_eq!(s.consumed, w.records, "{codec}: consumed");
    }
}
