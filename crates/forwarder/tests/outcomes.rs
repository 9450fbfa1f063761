//! What a request is answered when some of its records can never be
//! written: against a real broker (Tansu), read back with librdkafka.
//!
//! A record refused for good (a partition the topic does not have, a
//! topic that does not exist, a broker's MESSAGE_TOO_LARGE, INVALID_RECORD,
//! TOPIC_AUTHORIZATION_FAILED, or CORRUPT_MESSAGE twice) dead-letters its
//! event, which the response lists in `errors`; the rest of the request is
//! written and answered 200. A partition the topic lacks is replaced by
//! `default_partition` when one is set. A dead letter that cannot be
//! written answers 503. The broker errors are injected in librdkafka's
//! mock cluster.

mod common;

use common::{consume, header, request, Forwarder};
use forwarder_e2e::broker::{Broker, Storage};
use forwarder_e2e::mock::MockCluster;
use serde_json::{json, Value};

fn config(bootstrap: &str, router_extra: &str) -> String {
    format!(
        r#"workers = 2

[ingest]
listen = "127.0.0.1:{{PORT}}"
write_keys = [{{ key = "k" }}]

[kafka]
"bootstrap.servers" = "{bootstrap}"
"linger.ms" = 2

[router]
default_topic = "events"
multi_topic = true
dlq_topic = "events-dlq"
partition_field = "properties.partition"
{router_extra}
"#
    )
}

fn event(id: &str, extra: Value) -> Value {
    let mut e = json!({"type": "track", "event": "E", "userId": "u", "messageId": id});
    if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            e.insert(k.clone(), v.clone());
        }
    }
    e
}

/// Posts `batch` and returns the parsed 200 answer (panics otherwise).
fn post(port: u16, batch: &[Value]) -> Value {
    let body = json!({ "batch": batch }).to_string();
    let (status, text) =
        request(port, "POST", "/v1/batch", Some("k"), body.as_bytes(), &[]).expect("request");
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).expect("JSON answer")
}

fn by_message_id<'a>(records: &'a [Value], id: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| {
            let v = r["v"].as_str().unwrap_or_default();
            let value: Value = serde_json::from_str(v).unwrap_or(Value::Null);
            value["messageId"] == id
                || value["event"]
                    .as_str()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    .is_some_and(|e| e["messageId"] == id)
        })
        .collect()
}

#[test]
fn events_refused_for_good_are_dead_lettered_and_the_rest_answered_200() {
    let broker = Broker::start(Storage::Memory);
    broker.create_topic("events", 6);
    broker.create_topic("events-dlq", 1);
    let mut fwd = Forwarder::start(&config(&broker.addr(), ""));
    fwd.wait_ready();
    // Several rounds: the first requests of each worker meet topics whose
    // partitions are not known yet (refused after the metadata arrives),
    // later ones are refused as they are appended.
    for round in 0..4 {
        let batch = [
            event(
                &format!("ok-a-{round}"),
                json!({"properties": {"partition": 1}}),
            ),
            event(
                &format!("p99-{round}"),
                json!({"properties": {"partition": 99}}),
            ),
            event(
                &format!("nt-{round}"),
                json!({"integrations": {"Kafka": {"topic": "no-such-topic"}}}),
            ),
            event(&format!("ok-b-{round}"), json!({})),
        ];
        let answer = post(fwd.port, &batch);
        assert_eq!(answer["accepted"], 2, "{answer}");
        assert_eq!(answer["dead_lettered"], 2, "{answer}");
        let errors = answer["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 2, "{answer}");
        assert_eq!(errors[0]["index"], 1);
        assert_eq!(errors[0]["code"], "unknown_partition");
        assert_eq!(errors[1]["index"], 2);
        assert_eq!(errors[1]["code"], "unknown_topic");
    }
    fwd.terminate();
    let records = consume(&broker.addr(), &["events", "events-dlq"], &[]);
    for round in 0..4 {
        for ok in ["ok-a", "ok-b"] {
            let found = by_message_id(&records, &format!("{ok}-{round}"));
            assert_eq!(found.len(), 1, "{ok}-{round}");
            assert_eq!(found[0]["t"], "events");
        }
        let p99 = by_message_id(&records, &format!("p99-{round}"));
        assert_eq!(p99.len(), 1, "p99-{round}: {p99:?}");
        assert_eq!(p99[0]["t"], "events-dlq");
        assert_eq!(header(p99[0], "dlq_reason"), Some("unknown_partition"));
        assert_eq!(header(p99[0], "dlq_topic"), Some("events"));
        let dead: Value = serde_json::from_str(p99[0]["v"].as_str().unwrap()).unwrap();
        assert!(
            dead["error"].as_str().unwrap().contains("partition 99"),
            "{dead}"
        );
        let nt = by_message_id(&records, &format!("nt-{round}"));
        assert_eq!(nt.len(), 1, "nt-{round}");
        assert_eq!(nt[0]["t"], "events-dlq");
        assert_eq!(header(nt[0], "dlq_reason"), Some("unknown_topic"));
        assert_eq!(header(nt[0], "dlq_topic"), Some("no-such-topic"));
    }
}

#[test]
fn a_partition_the_topic_lacks_falls_back_to_default_partition() {
    let broker = Broker::start(Storage::Memory);
    broker.create_topic("events", 6);
    broker.create_topic("events-dlq", 1);
    let mut fwd = Forwarder::start(&config(&broker.addr(), "default_partition = 2"));
    fwd.wait_ready();
    for round in 0..4 {
        let batch = [
            event(
                &format!("p99-{round}"),
                json!({"properties": {"partition": 99}}),
            ),
            event(
                &format!("p4-{round}"),
                json!({"properties": {"partition": 4}}),
            ),
        ];
        let answer = post(fwd.port, &batch);
        assert_eq!(answer["accepted"], 2, "{answer}");
        assert_eq!(answer["dead_lettered"], 0, "{answer}");
    }
    fwd.terminate();
    let records = consume(&broker.addr(), &["events", "events-dlq"], &[]);
    for round in 0..4 {
        let p99 = by_message_id(&records, &format!("p99-{round}"));
        assert_eq!(p99.len(), 1);
        assert_eq!((&p99[0]["t"], &p99[0]["p"]), (&json!("events"), &json!(2)));
        let p4 = by_message_id(&records, &format!("p4-{round}"));
        assert_eq!((&p4[0]["t"], &p4[0]["p"]), (&json!("events"), &json!(4)));
    }
    assert!(records.iter().all(|r| r["t"] == "events"));
}

/// The Produce API key.
const PRODUCE: i16 = 0;

#[test]
fn broker_refusals_dead_letter_the_event_and_a_refused_dead_letter_answers_503() {
    let mock = MockCluster::start(3);
    mock.create_topic("events", 3, 1);
    mock.create_topic("events-dlq", 1, 1);
    let config = config(mock.bootstrap(), "").replace("workers = 2", "workers = 1");
    let mut fwd = Forwarder::start(&config);
    fwd.wait_ready();
    // (codes injected into the next Produce requests, the reason code)
    let cases: [(&[i16], &str); 5] = [
        (&[10], "message_too_large"),
        (&[87], "invalid_record"),
        (&[29], "topic_authorization_failed"),
        (&[2, 2], "invalid_record"),
        (&[17], "invalid_topic"),
    ];
    for (i, (codes, reason)) in cases.iter().enumerate() {
        mock.push_errors(PRODUCE, codes);
        let answer = post(fwd.port, &[event(&format!("refused-{i}"), json!({}))]);
        assert_eq!(answer["dead_lettered"], 1, "case {i}: {answer}");
        assert_eq!(answer["accepted"], 0, "case {i}: {answer}");
        assert_eq!(answer["errors"][0]["code"], *reason, "case {i}: {answer}");
    }
    // CORRUPT_MESSAGE once is retried and written.
    mock.push_errors(PRODUCE, &[2]);
    let answer = post(fwd.port, &[event("corrupt-once", json!({}))]);
    assert_eq!(
        (answer["accepted"].clone(), answer["dead_lettered"].clone()),
        (json!(1), json!(0))
    );

    // The dead letter refused as well: 503, and the client resends.
    mock.push_errors(PRODUCE, &[29, 29]);
    let body = json!({ "batch": [event("dlq-refused", json!({}))] }).to_string();
    let (status, text) = request(
        fwd.port,
        "POST",
        "/v1/batch",
        Some("k"),
        body.as_bytes(),
        &[],
    )
    .expect("request");
    assert_eq!(status, 503, "{text}");
    assert!(
        text.contains("dead-letter topic did not take a record"),
        "{text}"
    );
    // The mock's Metadata responses carry a byte after their end: ignored,
    // and counted.
    let (_, metrics) = request(fwd.port, "GET", "/metrics", None, b"", &[]).expect("metrics");
    let trailing = metrics
        .lines()
        .find_map(|l| l.strip_prefix("forwarder_kafka_responses_total{kind=\"trailing_bytes\"} "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("trailing_bytes counter");
    assert!(trailing > 0, "{metrics}");
    fwd.terminate();

    let records = consume(mock.bootstrap(), &["events", "events-dlq"], &[]);
    for (i, (_, reason)) in cases.iter().enumerate() {
        let found = by_message_id(&records, &format!("refused-{i}"));
        assert_eq!(found.len(), 1, "case {i}: {found:?}");
        assert_eq!(found[0]["t"], "events-dlq");
        assert_eq!(header(found[0], "dlq_reason"), Some(*reason));
        assert_eq!(header(found[0], "dlq_topic"), Some("events"));
    }
    assert_eq!(by_message_id(&records, "corrupt-once")[0]["t"], "events");
    assert!(by_message_id(&records, "dlq-refused").is_empty());
}
