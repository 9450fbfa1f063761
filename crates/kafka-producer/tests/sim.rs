//! Deterministic simulation: the producer against a model cluster in virtual
//! time, with a seeded generator driving latencies, connection drops (before
//! and after the broker applied a request), broker restarts, leader moves,
//! garbage frames and injected error codes. Every run checks that each
//! record has exactly one outcome that agrees with the broker's logs, that
//! nothing is duplicated and that order holds within each partition.

#[path = "sim/broker.rs"]
mod broker;
#[path = "sim/harness.rs"]
mod harness;

use std::time::Duration;

use broker::Injection;
use harness::{codes, sim_auth_error, Chaos, Script, Sim, Spec};
use kafka_producer::{AppendError, DeliveryError, FatalError, Outcome, RecordRef};
use kafka_wire::ErrorCode;

const TOPICS: &[(&str, i32)] = &[("a", 3), ("b", 2)];

fn cluster_topics(sim: &mut Sim) {
    for (t, n) in TOPICS {
        sim.cluster.create_topic(t, *n as usize);
    }
}

fn explicit(sim: &mut Sim, n: usize, topic: &str, partition: i32, at_ms: u64) {
    let at = sim.at(at_ms);
    sim.workload.push_back((
        at,
        Spec {
            n,
            topic: topic.into(),
            partition: Some(partition),
            key: None,
        },
    ));
}

/// Retriable trouble only: with idempotence and time to retry, every record
/// must be persisted exactly once, in order.
#[test]
fn seeds_retriable_chaos_everything_persisted() {
    for seed in 0..200u64 {
        let mut sim = Sim::new(
            seed,
            3,
            &[
                ("linger.ms", "2"),
                ("batch.num.messages", "4"),
                ("delivery.timeout.ms", "600000"),
                ("request.timeout.ms", "2000"),
            ],
        );
        cluster_topics(&mut sim);
        sim.cluster.dup_error = seed % 2 == 0;
        sim.cluster.refuse_bumps = seed % 3 == 0;
        sim.latency_ms = (1, 1 + seed % 40);
        sim.chaos = Chaos {
            until: Duration::from_secs(3),
            every: Duration::from_millis(150),
            drop_conn: true,
            restart: true,
            move_leader: true,
            garbage: seed % 5 == 0,
            inject_prob: 0.15,
            inject: codes(
                &[
                    ErrorCode::NotLeaderOrFollower,
                    ErrorCode::LeaderNotAvailable,
                    ErrorCode::NotEnoughReplicas,
                    ErrorCode::KafkaStorageError,
                    ErrorCode::UnknownTopicOrPartition,
                    ErrorCode::NetworkException,
                    ErrorCode::RequestTimedOut,
                ],
                &[
                    ErrorCode::NotEnoughReplicasAfterAppend,
                    ErrorCode::RequestTimedOut,
                ],
            ),
        };
        sim.random_workload(60, 2500, TOPICS);
        sim.run(Duration::from_secs(600));
        assert!(sim.fatal.is_none(), "seed {seed}: {:?}", sim.fatal);
        sim.check(true, true);
    }
}

/// The retriable chaos run again with each compression codec: batches are
/// compressed once when sealed, re-sent byte-identical on retries and
/// re-stamped after epoch bumps; the model broker decompresses them.
#[test]
#[cfg(feature = "compression")]
fn seeds_compressed_chaos_everything_persisted() {
    for (i, codec) in ["gzip", "snappy", "lz4", "zstd"].into_iter().enumerate() {
        let mut compressed = 0;
        for seed in 0..25u64 {
            let mut sim = Sim::new(
                seed + 1000 * i as u64,
                3,
                &[
                    ("compression.type", codec),
                    ("linger.ms", "20"),
                    ("batch.num.messages", "40"),
                    ("delivery.timeout.ms", "600000"),
                    ("request.timeout.ms", "2000"),
                ],
            );
            cluster_topics(&mut sim);
            sim.cluster.refuse_bumps = seed % 3 == 0;
            sim.latency_ms = (1, 1 + seed % 40);
            sim.chaos = Chaos {
                until: Duration::from_secs(3),
                every: Duration::from_millis(150),
                drop_conn: true,
                restart: true,
                move_leader: true,
                inject_prob: 0.15,
                inject: codes(
                    &[
                        ErrorCode::NotLeaderOrFollower,
                        ErrorCode::NotEnoughReplicas,
                        ErrorCode::NetworkException,
                    ],
                    &[ErrorCode::RequestTimedOut],
                ),
                ..Default::default()
            };
            // Dense enough for batches of tens of records, which compress.
            sim.random_workload(400, 200, TOPICS);
            sim.run(Duration::from_secs(600));
            assert!(sim.fatal.is_none(), "{codec} seed {seed}: {:?}", sim.fatal);
            sim.check(true, true);
            let bits = kafka_wire::record::Compression::from_name(codec)
                .unwrap()
                .bits();
            compressed += sim.cluster.codecs.get(&bits).copied().unwrap_or(0);
            // Only this codec, or none where compression did not help.
            assert!(
                sim.cluster.codecs.keys().all(|&b| b == bits || b == 0),
                "{codec}: {:?}",
                sim.cluster.codecs
            );
        }
        assert!(compressed > 25, "{codec}: {compressed} compressed batches");
    }
}

/// Every error code of the table, including the ones that fail records or
/// the producer, plus short delivery timeouts: outcomes must still agree
/// with the logs, with no duplicates and order kept.
#[test]
fn seeds_all_errors_outcomes_agree_with_logs() {
    let mut fatal_runs = 0;
    let mut failed_records = 0;
    for seed in 0..120u64 {
        let mut sim = Sim::new(
            seed,
            3,
            &[
                ("linger.ms", "3"),
                ("batch.num.messages", "3"),
                (
                    "delivery.timeout.ms",
                    if seed % 2 == 0 { "1500" } else { "60000" },
                ),
                ("request.timeout.ms", "1000"),
            ],
        );
        cluster_topics(&mut sim);
        sim.cluster.dup_error = seed % 2 == 1;
        sim.cluster.refuse_bumps = seed % 4 == 0;
        sim.latency_ms = (1, 30);
        sim.chaos = Chaos {
            until: Duration::from_secs(3),
            every: Duration::from_millis(200),
            drop_conn: true,
            restart: true,
            move_leader: true,
            garbage: true,
            inject_prob: 0.1,
            inject: codes(
                &[
                    ErrorCode::NotLeaderOrFollower,
                    ErrorCode::MessageTooLarge,
                    ErrorCode::InvalidRecord,
                    ErrorCode::UnknownProducerId,
                    ErrorCode::InvalidProducerEpoch,
                    ErrorCode::OutOfOrderSequenceNumber,
                    ErrorCode::TopicAuthorizationFailed,
                    ErrorCode::UnknownServerError,
                    ErrorCode::CorruptMessage,
                ],
                &[ErrorCode::NotEnoughReplicasAfterAppend],
            ),
        };
        sim.random_workload(40, 2500, TOPICS);
        sim.run(Duration::from_secs(600));
        sim.check(true, false);
        fatal_runs += usize::from(sim.fatal.is_some());
        failed_records += sim
            .outcomes
            .values()
            .filter(|(o, _)| !matches!(o, Outcome::Persisted { .. }))
            .count();
    }
    // The faults did reach the outcome paths.
    assert!(fatal_runs > 0 && fatal_runs < 120, "{fatal_runs}");
    assert!(failed_records > 0);
}

/// Without idempotence (acks=1): retries may duplicate, but every record
/// has one outcome and persisted ones are in the log where reported.
#[test]
fn seeds_non_idempotent_outcomes_agree_with_logs() {
    for seed in 0..50u64 {
        let mut sim = Sim::new(
            seed,
            2,
            &[
                ("acks", "1"),
                ("linger.ms", "1"),
                ("batch.num.messages", "5"),
                ("request.timeout.ms", "1000"),
            ],
        );
        cluster_topics(&mut sim);
        sim.chaos = Chaos {
            until: Duration::from_secs(2),
            every: Duration::from_millis(200),
            drop_conn: true,
            move_leader: true,
            inject_prob: 0.1,
            inject: codes(
                &[ErrorCode::NotLeaderOrFollower],
                &[ErrorCode::RequestTimedOut],
            ),
            ..Default::default()
        };
        sim.random_workload(40, 1500, TOPICS);
        sim.run(Duration::from_secs(600));
        sim.check(false, false);
        assert!(
            sim.identities.is_empty(),
            "no InitProducerId without idempotence"
        );
    }
}

#[test]
fn message_too_large_fails_only_its_batch() {
    let mut sim = Sim::new(1, 1, &[("linger.ms", "0")]);
    cluster_topics(&mut sim);
    sim.scripts.push(Script {
        topic: "a".into(),
        partition: 0,
        injection: Injection::Before(ErrorCode::MessageTooLarge),
        times: 1,
    });
    // Spaced so each record has its own batch (metadata is known by then).
    for n in 0..6 {
        explicit(&mut sim, n, "a", (n % 2) as i32, 500 + 100 * n as u64);
    }
    sim.run(Duration::from_secs(60));
    sim.check(true, false);
    assert_eq!(
        sim.outcome_of(0),
        &Outcome::NotPersisted(DeliveryError::Broker(ErrorCode::MessageTooLarge))
    );
    for n in 1..6 {
        assert!(
            matches!(sim.outcome_of(n), Outcome::Persisted { .. }),
            "{n}: {:?}",
            sim.outcome_of(n)
        );
    }
}

#[test]
fn retry_after_lost_ack_is_deduplicated() {
    for dup_error in [false, true] {
        let mut sim = Sim::new(2, 1, &[("linger.ms", "0")]);
        cluster_topics(&mut sim);
        sim.cluster.dup_error = dup_error;
        sim.scripts.push(Script {
            topic: "a".into(),
            partition: 1,
            injection: Injection::After(ErrorCode::RequestTimedOut),
            times: 1,
        });
        explicit(&mut sim, 0, "a", 1, 0);
        explicit(&mut sim, 1, "a", 1, 100);
        sim.run(Duration::from_secs(60));
        sim.check(true, true);
        let log = &sim.cluster.topics["a"][1].log;
        assert_eq!(log.len(), 2);
        // DUPLICATE_SEQUENCE_NUMBER: persisted, offset unknown; a broker that
        // remembers the batch answers with its offset.
        let want = if dup_error { -1 } else { 0 };
        assert_eq!(
            sim.outcome_of(0),
            &Outcome::Persisted {
                partition: 1,
                offset: want
            }
        );
    }
}

#[test]
fn head_of_line_out_of_order_sequence_is_fatal() {
    let mut sim = Sim::new(3, 1, &[("linger.ms", "0")]);
    cluster_topics(&mut sim);
    sim.scripts.push(Script {
        topic: "a".into(),
        partition: 0,
        injection: Injection::Before(ErrorCode::OutOfOrderSequenceNumber),
        times: 1,
    });
    explicit(&mut sim, 0, "a", 0, 0);
    explicit(&mut sim, 1, "a", 1, 0);
    sim.run(Duration::from_secs(60));
    sim.check(true, false);
    assert!(matches!(
        sim.fatal,
        Some(FatalError::Idempotence {
            code: ErrorCode::OutOfOrderSequenceNumber,
            ..
        })
    ));
    assert!(matches!(
        sim.outcome_of(0),
        Outcome::PossiblyPersisted(DeliveryError::Fatal(_))
            | Outcome::NotPersisted(DeliveryError::Fatal(_))
    ));
    let r = RecordRef {
        topic: "a",
        partition: None,
        key: None,
        value: Some(b"x"),
        headers: &[],
        timestamp: 0,
    };
    assert!(matches!(
        sim.p.append(r, sim.now),
        Err(AppendError::Fatal(_))
    ));
}

#[test]
fn unknown_producer_id_bumps_epoch_or_takes_fresh_id() {
    for refuse in [false, true] {
        let mut sim = Sim::new(4, 1, &[("linger.ms", "0")]);
        cluster_topics(&mut sim);
        sim.cluster.refuse_bumps = refuse;
        sim.scripts.push(Script {
            topic: "a".into(),
            partition: 2,
            injection: Injection::Before(ErrorCode::UnknownProducerId),
            times: 1,
        });
        for n in 0..4 {
            explicit(&mut sim, n, "a", 2, 0);
        }
        sim.run(Duration::from_secs(60));
        sim.check(true, true);
        assert!(sim.fatal.is_none());
        if refuse {
            assert_eq!(sim.cluster.bumps, 0);
            assert_eq!(sim.cluster.fresh_ids, 2);
            assert_ne!(sim.identities[0].0, sim.identities[1].0);
        } else {
            assert_eq!(sim.cluster.bumps, 1);
            assert_eq!(sim.identities, [(1000, 0), (1000, 1)]);
        }
    }
}

#[test]
fn permanent_failure_mid_partition_drains_and_resequences() {
    // Three batches in flight on one partition; the first fails permanently,
    // the ones behind it get OUT_OF_ORDER_SEQUENCE_NUMBER, are re-stamped
    // after a new epoch and persisted.
    let mut sim = Sim::new(5, 1, &[("linger.ms", "0"), ("batch.num.messages", "1")]);
    cluster_topics(&mut sim);
    sim.latency_ms = (20, 20);
    sim.scripts.push(Script {
        topic: "b".into(),
        partition: 0,
        injection: Injection::Before(ErrorCode::InvalidRecord),
        times: 1,
    });
    // A first success on the connection lifts the in-flight limit to 5.
    explicit(&mut sim, 0, "b", 1, 0);
    for n in 1..9 {
        explicit(&mut sim, n, "b", 0, 500 + n as u64);
    }
    sim.run(Duration::from_secs(60));
    sim.check(true, false);
    assert_eq!(
        sim.outcome_of(1),
        &Outcome::NotPersisted(DeliveryError::Broker(ErrorCode::InvalidRecord))
    );
    for n in (0..9).filter(|n| *n != 1) {
        assert!(matches!(sim.outcome_of(n), Outcome::Persisted { .. }));
    }
    assert!(
        sim.max_outstanding > 1,
        "pipelined: {}",
        sim.max_outstanding
    );
    // The gap was closed by a new epoch, and sequences restarted at 0.
    assert_eq!(sim.cluster.bumps, 1);
    assert_eq!(sim.identities.last(), Some(&(1000, 1)));
}

/// A topic the cluster does not have fails its records once a Metadata
/// refresh confirms it is missing: a permanent outcome, not a timeout.
#[test]
fn unknown_topic_fails_after_one_metadata_refresh() {
    let mut sim = Sim::new(6, 1, &[("delivery.timeout.ms", "60000")]);
    cluster_topics(&mut sim);
    for at_ms in [0, 10_000] {
        let at = sim.at(at_ms);
        sim.workload.push_back((
            at,
            Spec {
                n: at_ms as usize,
                topic: "nope".into(),
                partition: None,
                key: Some(b"k".to_vec()),
            },
        ));
    }
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.outcomes.len(), 2);
    for (o, when) in sim.outcomes.values() {
        assert_eq!(o, &Outcome::NotPersisted(DeliveryError::UnknownTopic));
        // Long before delivery.timeout.ms: a few metadata round trips.
        assert!(
            *when - sim.start < Duration::from_secs(30),
            "{:?}",
            *when - sim.start
        );
    }
    assert!(!sim.cluster.topics.contains_key("nope"));
}

/// A partition the topic does not have, named before the topic's
/// partitions are known, is reported as such.
#[test]
fn unknown_partition_named_before_metadata_is_reported() {
    let mut sim = Sim::new(6, 1, &[]);
    cluster_topics(&mut sim);
    explicit(&mut sim, 0, "b", 99, 0);
    sim.run(Duration::from_secs(60));
    let (o, _) = sim.outcomes.values().next().unwrap();
    assert_eq!(
        o,
        &Outcome::NotPersisted(DeliveryError::UnknownPartition {
            partition: 99,
            partitions: 2
        })
    );
}

/// CORRUPT_MESSAGE is retried once; a second one fails the batch.
#[test]
fn corrupt_message_is_retried_once() {
    for (times, persisted) in [(1, true), (2, false)] {
        let mut sim = Sim::new(21, 1, &[]);
        cluster_topics(&mut sim);
        sim.scripts.push(Script {
            topic: "b".into(),
            partition: 1,
            injection: Injection::Before(ErrorCode::CorruptMessage),
            times,
        });
        explicit(&mut sim, 0, "b", 1, 0);
        sim.run(Duration::from_secs(60));
        let (o, _) = sim.outcomes.values().next().unwrap();
        if persisted {
            assert!(matches!(o, Outcome::Persisted { .. }), "{o:?}");
        } else {
            assert_eq!(
                o,
                &Outcome::NotPersisted(DeliveryError::Broker(ErrorCode::CorruptMessage))
            );
        }
    }
}

#[test]
fn auto_created_topic_receives_records() {
    let mut sim = Sim::new(7, 2, &[("allow.auto.create.topics", "true")]);
    sim.cluster.auto_create_partitions = Some(4);
    sim.random_workload(20, 100, &[("fresh", 4)]);
    sim.run(Duration::from_secs(60));
    sim.check(true, true);
    assert_eq!(sim.cluster.topics["fresh"].len(), 4);
}

#[test]
fn bootstrap_tries_servers_in_turn() {
    let mut sim = Sim::new(8, 2, &[("bootstrap.servers", "nohost:1,broker1:9001")]);
    cluster_topics(&mut sim);
    sim.random_workload(10, 50, TOPICS);
    sim.run(Duration::from_secs(60));
    sim.check(true, true);
    assert_eq!(sim.connects[0], ("nohost".to_owned(), 1));
    assert!(sim.connects.contains(&("broker1".to_owned(), 9001)));
    // The whole cluster was discovered: broker0 leads partitions too.
    assert!(sim.connects.contains(&("broker0".to_owned(), 9000)));
}

#[test]
fn api_versions_negotiates_highest_common() {
    let mut sim = Sim::new(9, 1, &[]);
    cluster_topics(&mut sim);
    // The broker knows ApiVersions only up to v2: it answers our v4 with
    // v0 and UNSUPPORTED_VERSION, and we retry at v2.
    sim.cluster.apis.api_versions_max = 2;
    sim.cluster.apis.produce_max = 7;
    sim.cluster.apis.metadata_max = 5;
    sim.cluster.apis.init_max = 1;
    sim.random_workload(10, 50, TOPICS);
    sim.run(Duration::from_secs(60));
    sim.check(true, true);
    assert!(sim.produce_versions.iter().all(|v| *v == 7));
    let mut sim = Sim::new(9, 1, &[]);
    cluster_topics(&mut sim);
    sim.cluster.apis.produce_max = 13;
    sim.random_workload(5, 50, TOPICS);
    sim.run(Duration::from_secs(60));
    // Capped at 12: topics are named, not identified.
    assert!(sim.produce_versions.iter().all(|v| *v == 12));
}

/// librdkafka's mock cluster knows ApiVersions up to v2, answers our v4 in
/// a form of its own, and appends a byte to its responses: the producer
/// falls back to ApiVersions v0, ignores the trailing bytes, and delivers.
#[test]
fn a_broker_answering_like_librdkafkas_mock_is_reached() {
    let mut sim = Sim::new(9, 3, &[]);
    cluster_topics(&mut sim);
    sim.cluster.mock_quirks = true;
    sim.cluster.apis.api_versions_max = 2;
    sim.random_workload(40, 200, TOPICS);
    sim.run(Duration::from_secs(60));
    sim.check(true, true);
    assert!(sim.bad_responses.is_empty(), "{:?}", sim.bad_responses);
    assert!(sim.trailing_bytes > 0);
    // One connection per broker (plus the bootstrap): the fallback happens
    // on the same connection, not by reconnecting.
    assert!(sim.connects.len() <= 4, "{:?}", sim.connects);
    assert_eq!(sim.closes, 0);
}

/// A broker whose responses never decode is retried after a growing
/// backoff, never in a tight loop, and every attempt is reported.
#[test]
fn undecodable_responses_reconnect_with_backoff() {
    let mut sim = Sim::new(
        13,
        1,
        &[
            ("reconnect.backoff.ms", "100"),
            ("reconnect.backoff.max.ms", "2000"),
            ("delivery.timeout.ms", "29000"),
        ],
    );
    cluster_topics(&mut sim);
    sim.garble_all = true;
    sim.random_workload(5, 10, TOPICS);
    sim.run(Duration::from_secs(30));
    for (o, _) in sim.outcomes.values() {
        assert!(
            matches!(o, Outcome::NotPersisted(DeliveryError::TimedOut { .. })),
            "{o:?}"
        );
    }
    // 100 ms doubling to 2 s: at most about 20 attempts in 30 s.
    assert!(sim.connects.len() <= 25, "{} connects", sim.connects.len());
    assert!(sim.connects.len() >= 5, "{} connects", sim.connects.len());
    assert!(!sim.bad_responses.is_empty());
    let b = &sim.bad_responses[0];
    assert_eq!(b.broker, "broker0:9000");
    assert!(
        b.to_string().contains("response from broker broker0:9000"),
        "{b}"
    );
}

#[test]
fn acks_zero_reports_persisted_without_offset() {
    let mut sim = Sim::new(10, 2, &[("acks", "0")]);
    cluster_topics(&mut sim);
    sim.random_workload(30, 200, TOPICS);
    sim.run(Duration::from_secs(60));
    sim.check(false, true);
    for (o, _) in sim.outcomes.values() {
        assert!(matches!(o, Outcome::Persisted { offset: -1, .. }));
    }
}

#[test]
fn garbage_frame_breaks_the_connection_and_retries() {
    let mut sim = Sim::new(11, 1, &[]);
    cluster_topics(&mut sim);
    sim.chaos = Chaos {
        until: Duration::from_secs(1),
        every: Duration::from_millis(50),
        garbage: true,
        ..Default::default()
    };
    sim.random_workload(30, 900, TOPICS);
    sim.run(Duration::from_secs(120));
    sim.check(true, true);
    assert!(sim.closes > 0);
}

#[test]
fn one_request_in_flight_until_first_success() {
    let mut sim = Sim::new(12, 1, &[("linger.ms", "0"), ("batch.num.messages", "1")]);
    cluster_topics(&mut sim);
    sim.latency_ms = (50, 50);
    for n in 0..30 {
        explicit(&mut sim, n, "b", 1, n as u64);
    }
    sim.run(Duration::from_secs(60));
    sim.check(true, true);
    assert_eq!(sim.max_outstanding_before_answer, 1);
    assert_eq!(sim.max_outstanding, 5);
}

#[test]
fn flush_sends_without_lingering() {
    let mut sim = Sim::new(13, 1, &[("linger.ms", "60000")]);
    cluster_topics(&mut sim);
    explicit(&mut sim, 0, "a", 0, 0);
    // Without flush the record would wait a minute.
    sim.run_until_appended();
    sim.p.flush(sim.now);
    sim.run(Duration::from_secs(5));
    sim.check(true, true);
}

fn auth_failed(o: &Outcome, node: i32) -> bool {
    matches!(o, Outcome::NotPersisted(DeliveryError::Authentication(e)) if *e == sim_auth_error(node))
}

/// The only broker refuses to authenticate: nothing is known, so every
/// record fails with the authentication error, long before
/// `delivery.timeout.ms` (ten minutes: a timeout would say `TimedOut`).
/// The producer keeps trying, and once the broker accepts, records flow.
#[test]
fn authentication_refused_at_bootstrap_fails_records_at_once_and_recovers() {
    let mut sim = Sim::new(
        21,
        1,
        &[("linger.ms", "0"), ("delivery.timeout.ms", "600000")],
    );
    cluster_topics(&mut sim);
    sim.refuse_auth[0] = true;
    for n in 0..4 {
        explicit(&mut sim, n, "a", (n % 3) as i32, 0);
    }
    // Appended while the broker keeps refusing, after the first refusal.
    explicit(&mut sim, 4, "b", 1, 5_000);
    explicit(&mut sim, 5, "a", 0, 30_000);
    sim.run(Duration::from_secs(900));
    for n in 0..6 {
        assert!(
            auth_failed(sim.outcome_of(n), 0),
            "{n}: {:?}",
            sim.outcome_of(n)
        );
    }
    // Retried with backoff all along, not given up.
    assert!(sim.auth_refusals >= 3, "{} refusals", sim.auth_refusals);
    assert!(sim.fatal.is_none());
    assert!(sim.p.is_idle());
    assert_eq!(sim.p.buffered_bytes(), 0);

    // The broker accepts again: the next records are persisted.
    sim.refuse_auth[0] = false;
    let now_ms = (sim.now - sim.start).as_millis() as u64;
    for n in 6..10 {
        explicit(&mut sim, n, "a", (n % 3) as i32, now_ms + 100);
    }
    sim.run(Duration::from_secs(1_800));
    sim.check(true, false);
    for n in 6..10 {
        assert!(
            matches!(sim.outcome_of(n), Outcome::Persisted { .. }),
            "{n}: {:?}",
            sim.outcome_of(n)
        );
    }
}

/// One broker of two starts refusing authentication: only the partitions
/// it leads fail. A batch it may have written (its response lost with the
/// connection) is possibly persisted, records never sent are not
/// persisted, and sequences stay consistent: once the broker accepts
/// again every partition produces in order, without duplicates.
#[test]
fn authentication_refused_by_a_leader_fails_its_partitions_only() {
    let mut sim = Sim::new(
        22,
        2,
        &[("linger.ms", "0"), ("delivery.timeout.ms", "600000")],
    );
    // Partitions 0 and 2 are led by broker0, partition 1 by broker1.
    sim.cluster.create_topic("a", 3);
    for n in 0..3 {
        explicit(&mut sim, n, "a", n as i32, 0);
    }
    sim.run(Duration::from_secs(60));
    for n in 0..3 {
        assert!(matches!(sim.outcome_of(n), Outcome::Persisted { .. }));
    }

    // broker0 refuses new connections; its current one breaks on the
    // response to the next request, which it wrote.
    sim.refuse_auth[0] = true;
    sim.garble_next_response(0);
    let t = (sim.now - sim.start).as_millis() as u64;
    explicit(&mut sim, 3, "a", 0, t + 100);
    explicit(&mut sim, 4, "a", 1, t + 100);
    // After the refusal.
    explicit(&mut sim, 5, "a", 0, t + 5_000);
    explicit(&mut sim, 6, "a", 2, t + 5_000);
    explicit(&mut sim, 7, "a", 1, t + 5_000);
    sim.run(Duration::from_secs(900));
    assert!(sim.auth_refusals >= 1);
    assert!(
        matches!(
            sim.outcome_of(3),
            Outcome::PossiblyPersisted(DeliveryError::Authentication(e)) if *e == sim_auth_error(0)
        ),
        "{:?}",
        sim.outcome_of(3)
    );
    for n in [5, 6] {
        assert!(
            auth_failed(sim.outcome_of(n), 0),
            "{n}: {:?}",
            sim.outcome_of(n)
        );
    }
    for n in [4, 7] {
        assert!(
            matches!(sim.outcome_of(n), Outcome::Persisted { partition: 1, .. }),
            "{n}: {:?}",
            sim.outcome_of(n)
        );
    }
    // broker0 wrote record 3 before its connection broke.
    assert_eq!(sim.cluster.topics["a"][0].log.len(), 2);

    sim.refuse_auth[0] = false;
    let t = (sim.now - sim.start).as_millis() as u64;
    for n in 8..14 {
        explicit(&mut sim, n, "a", (n % 3) as i32, t + 100 + n as u64);
    }
    sim.run(Duration::from_secs(1_800));
    sim.check(true, false);
    for n in 8..14 {
        assert!(
            matches!(sim.outcome_of(n), Outcome::Persisted { .. }),
            "{n}: {:?}",
            sim.outcome_of(n)
        );
    }
    assert!(sim.fatal.is_none());
}
