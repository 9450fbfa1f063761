//! End to end: the `forwarder` binary between the official Segment and
//! RudderStack Python SDKs (or plain HTTP) and a real broker (Tansu), read
//! back with librdkafka (`check.crcs=true`) and fastavro.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{consume, header, request, sdk_send, Forwarder, KeepAlive, Proxy};
use forwarder_e2e::broker::{free_port, Broker, Storage, TempDir};
use kafka_wire::murmur2::partition_for_key;
use serde_json::{json, Value};

const AVRO_SCHEMA: &str = r#"{"type":"record","name":"ProductViewed","fields":[
  {"name":"type","type":"string"},
  {"name":"event","type":"string"},
  {"name":"userId","type":"string"},
  {"name":"messageId","type":"string"},
  {"name":"properties","type":{"type":"record","name":"Props","fields":[
    {"name":"sku","type":"string"},{"name":"price","type":"double"}]}}]}"#;

/// Topics of the routing test and their partition counts.
const TOPICS: [(&str, u32); 6] = [
    ("events", 3),
    ("users", 2),
    ("orders", 4),
    ("special", 1),
    ("avro-products", 2),
    ("events-dlq", 1),
];

fn config(bootstrap: &str, extra_top: &str, extra_kafka: &str, extra_ingest: &str) -> String {
    format!(
        r#"workers = 2
{extra_top}

[log]
format = "json"

[ingest]
listen = "127.0.0.1:{{PORT}}"
write_keys = [{{ key = "seg-key", source = "segment-web" }}, {{ key = "rudder-key" }}]
max_request_bytes = 65536
{extra_ingest}

[kafka]
"bootstrap.servers" = "{bootstrap}"
"linger.ms" = 2
{extra_kafka}

[router]
default_topic = "events"
multi_topic = true
type_topics = {{ identify = "users" }}
track_topics = {{ "Order Completed" = "orders", "Product Viewed" = "avro-products" }}
dlq_topic = "events-dlq"
static_headers = [{{ key = "env", value = "test" }}]

[router.avro]
schemas = [{{ id = "1", schema = '''{AVRO_SCHEMA}''' }}]
track_schemas = {{ "Product Viewed" = "1" }}
"#
    )
}

fn start_broker(advertise: Option<u16>) -> Broker {
    let broker = Broker::start_advertising(Storage::Memory, advertise);
    for (t, n) in TOPICS {
        broker.create_topic(t, n);
    }
    broker
}

fn partitions(topic: &str) -> u32 {
    TOPICS
        .iter()
        .find(|(t, _)| *t == topic)
        .map(|(_, n)| *n)
        .expect("known topic")
}

fn sdk_calls(sdk: &str) -> Value {
    let mut calls = Vec::new();
    for i in 0..5 {
        calls.push(json!({"method": "track", "kwargs": {
            "user_id": format!("{sdk}-u{i}"), "event": "Order Completed",
            "properties": {"orderId": format!("o{i}"), "total": f64::from(i) * 10.5}}}));
    }
    calls.push(json!({"method": "identify", "kwargs": {
        "anonymous_id": format!("{sdk}-anon-1"), "traits": {"plan": "pro"}}}));
    calls.push(json!({"method": "page", "kwargs": {
        "user_id": format!("{sdk}-u0"), "name": "Home", "properties": {"path": "/"}}}));
    calls.push(json!({"method": "track", "kwargs": {
        "user_id": format!("{sdk}-u1"), "event": "Signed Up",
        "integrations": {"Kafka": {"topic": "special"}}}}));
    calls.push(json!({"method": "track", "kwargs": {
        "user_id": format!("{sdk}-u2"), "event": "Product Viewed",
        "properties": {"sku": "sku-1", "price": 9.5}}}));
    calls.push(json!({"method": "track", "kwargs": {
        "anonymous_id": format!("{sdk}-anon-2"), "event": "Clicked"}}));
    Value::Array(calls)
}

/// The topic the routing rules of [`config`] pick for `m`.
fn expected_topic(m: &Value) -> &'static str {
    if m["integrations"]["Kafka"]["topic"] == "special" {
        return "special";
    }
    match (m["type"].as_str(), m["event"].as_str()) {
        (Some("track"), Some("Order Completed")) => "orders",
        (Some("track"), Some("Product Viewed")) => "avro-products",
        (Some("identify"), _) => "users",
        _ => "events",
    }
}

fn key_of(m: &Value) -> String {
    m["userId"]
        .as_str()
        .or_else(|| m["anonymousId"].as_str())
        .expect("an identity")
        .to_owned()
}

/// `io.engine` values to run the routing test with: epoll always,
/// io_uring where the kernel allows it.
fn engines() -> Vec<&'static str> {
    forwarder_e2e::engines()
        .into_iter()
        .map(|e| e.name())
        .collect()
}

#[test]
fn sdk_events_land_on_their_topics_with_keys_headers_enrichment_avro_and_dead_letters() {
    for engine in engines() {
        eprintln!("io.engine = {engine}");
        sdk_events_on(engine);
    }
}

fn sdk_events_on(engine: &str) {
    let broker = start_broker(None);
    let fwd = Forwarder::start(&config(
        &broker.addr(),
        "",
        &format!("\"io.engine\" = \"{engine}\""),
        "",
    ));
    fwd.wait_ready();

    let mut sent: Vec<(String, Value)> = Vec::new();
    for (sdk, key) in [("segment", "seg-key"), ("rudder", "rudder-key")] {
        let msgs = sdk_send(sdk, fwd.port, key, &sdk_calls(sdk));
        assert_eq!(msgs.len(), 10, "{sdk} delivered every call");
        sent.extend(msgs.into_iter().map(|m| (key.to_owned(), m)));
    }

    // Invalid events, over plain HTTP.
    let bad = json!({"batch": [
        {"type": "track", "event": "No Identity", "messageId": "bad-0"},
        {"type": "bogus", "userId": "x", "messageId": "bad-1"},
        {"type": "track", "event": "Fine", "userId": "http-u", "messageId": "good-2"}
    ]});
    let (status, body) = request(
        fwd.port,
        "POST",
        "/v1/batch",
        Some("rudder-key"),
        bad.to_string().as_bytes(),
        &[],
    )
    .expect("post");
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON answer");
    assert_eq!(answer["accepted"], 1, "{body}");
    assert_eq!(answer["dead_lettered"], 2, "{body}");
    let indexes: Vec<_> = answer["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(indexes, [0, 1], "{body}");

    // A single-event endpoint implies the type the body leaves out.
    let untyped = json!({"userId": "implied-u", "messageId": "implied-3"});
    let (status, body) = request(
        fwd.port,
        "POST",
        "/v1/identify",
        Some("rudder-key"),
        untyped.to_string().as_bytes(),
        &[],
    )
    .expect("post");
    assert_eq!(status, 200, "{body}");

    let schema_dir = TempDir::new("avro");
    let schema_path = schema_dir.path().join("product.avsc");
    std::fs::File::create(&schema_path)
        .and_then(|mut f| f.write_all(AVRO_SCHEMA.as_bytes()))
        .expect("schema file");
    let topics: Vec<&str> = TOPICS.iter().map(|(t, _)| *t).collect();
    let log = consume(
        &broker.addr(),
        &topics,
        &[("avro-products", schema_path.as_path())],
    );

    let by_id: HashMap<&str, &Value> = log
        .iter()
        .filter_map(|r| header(r, "message_id").map(|id| (id, r)))
        .collect();
    let mut per_topic: BTreeMap<&str, usize> = BTreeMap::new();
    for (write_key, m) in &sent {
        let id = m["messageId"].as_str().expect("SDK messageId");
        let r = by_id
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in Kafka: {m}"));
        let topic = expected_topic(m);
        *per_topic.entry(topic).or_default() += 1;
        assert_eq!(r["t"], topic, "{m}");
        let key = key_of(m);
        assert_eq!(r["k"], key.as_str(), "{m}");
        let p = partition_for_key(key.as_bytes(), partitions(topic));
        assert_eq!(r["p"], p, "partition of {key} in {topic}");
        assert_eq!(header(r, "event_type"), m["type"].as_str());
        assert_eq!(header(r, "env"), Some("test"));
        let source = (write_key == "seg-key").then_some("segment-web");
        assert_eq!(header(r, "source"), source, "{r}");

        if topic == "avro-products" {
            let decoded = &r["avro"];
            for field in ["type", "event", "userId", "messageId"] {
                assert_eq!(decoded[field], m[field], "Avro {field}");
            }
            assert_eq!(decoded["properties"], m["properties"], "Avro properties");
            continue;
        }
        let value: Value = serde_json::from_str(r["v"].as_str().expect("value")).expect("JSON");
        let obj = value.as_object().expect("object");
        for (k, v) in m.as_object().expect("SDK message") {
            assert_eq!(obj.get(k), Some(v), "member {k} of {id}");
        }
        let extra: BTreeSet<&str> = obj
            .keys()
            .filter(|k| !m.as_object().is_some_and(|o| o.contains_key(*k)))
            .map(String::as_str)
            .collect();
        assert!(extra.contains("receivedAt"), "{id}: enrichment {extra:?}");
        assert!(
            extra.iter().all(|k| ["receivedAt", "sentAt"].contains(k)),
            "{id}: unexpected members {extra:?}"
        );
    }
    // Nothing else, and nothing twice, in the routed topics.
    for (topic, n) in &per_topic {
        let in_kafka = log.iter().filter(|r| r["t"] == *topic).count();
        // The plain-HTTP "Fine" and implied-type events.
        let extra = usize::from(*topic == "events" || *topic == "users");
        assert_eq!(in_kafka, n + extra, "records in {topic}");
    }
    let fine = by_id.get("good-2").expect("valid event of the mixed batch");
    assert_eq!(fine["t"], "events");
    let implied = by_id.get("implied-3").expect("the implied-type event");
    assert_eq!(implied["t"], "users");
    assert_eq!(header(implied, "event_type"), Some("identify"));
    let v: Value = serde_json::from_str(implied["v"].as_str().expect("value")).expect("JSON");
    assert_eq!(v["type"], "identify");

    let dlq: Vec<&Value> = log.iter().filter(|r| r["t"] == "events-dlq").collect();
    assert_eq!(dlq.len(), 2, "{dlq:?}");
    for r in dlq {
        let reason = header(r, "dlq_reason").expect("dlq_reason header");
        assert!(!reason.is_empty());
        let v: Value = serde_json::from_str(r["v"].as_str().expect("value")).expect("JSON");
        assert!(v.get("event").is_some() && v.get("error").is_some(), "{v}");
    }
}

/// One request whose records go to several topics and partitions (so to
/// several batches, each with its own delivery report) and the dead-letter
/// topic: answered 200 once all are persisted, every record is in Kafka,
/// and the per-topic counters count each record once.
#[test]
fn a_request_over_several_batches_is_answered_once_all_are_persisted() {
    let broker = start_broker(None);
    let fwd = Forwarder::start(&config(&broker.addr(), "", "", ""));
    fwd.wait_ready();
    let mut events = Vec::new();
    for i in 0..20 {
        events.push(json!({"type": "track", "event": "Order Completed",
            "userId": format!("o{i}"), "messageId": format!("orders-{i}")}));
        events.push(json!({"type": "identify", "userId": format!("i{i}"),
            "messageId": format!("users-{i}")}));
        events.push(json!({"type": "track", "event": "Clicked",
            "userId": format!("c{i}"), "messageId": format!("events-{i}")}));
    }
    events.push(json!({"type": "track", "event": "No Identity", "messageId": "dlq-0"}));
    events.push(json!({"type": "bogus", "userId": "x", "messageId": "dlq-1"}));
    let (status, body) = request(
        fwd.port,
        "POST",
        "/v1/batch",
        Some("seg-key"),
        json!({ "batch": events }).to_string().as_bytes(),
        &[],
    )
    .expect("post");
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON answer");
    assert_eq!(answer["accepted"], 60, "{body}");
    assert_eq!(answer["dead_lettered"], 2, "{body}");

    let log = consume(
        &broker.addr(),
        &["orders", "users", "events", "events-dlq"],
        &[],
    );
    let mut by_topic: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for r in &log {
        let t = r["t"].as_str().expect("topic").to_owned();
        let p = r["p"].as_u64().expect("partition");
        by_topic.entry(t).or_default().insert(p);
    }
    let ids: BTreeSet<&str> = log.iter().filter_map(|r| header(r, "message_id")).collect();
    for topic in ["orders", "users", "events"] {
        for i in 0..20 {
            let id = format!("{topic}-{i}");
            assert!(ids.contains(id.as_str()), "{id} missing");
        }
        assert!(by_topic[topic].len() > 1, "{topic}: one partition only");
    }
    assert_eq!(log.len(), 62, "{log:?}");

    let (status, metrics) = request(fwd.port, "GET", "/metrics", None, b"", &[]).expect("get");
    assert_eq!(status, 200, "{metrics}");
    let value = |name: &str, topic: &str| -> u64 {
        let prefix = format!("{name}{{topic=\"{topic}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map_or(0, |v| v.trim().parse().expect("a count"))
    };
    for (topic, n) in [
        ("orders", 20),
        ("users", 20),
        ("events", 20),
        ("events-dlq", 2),
    ] {
        assert_eq!(value("forwarder_events_in_total", topic), n, "{metrics}");
        assert_eq!(value("forwarder_events_out_total", topic), n, "{metrics}");
    }
    let dead: u64 = ["orders", "users", "events"]
        .iter()
        .map(|t| value("forwarder_events_dead_lettered_total", t))
        .sum();
    assert_eq!(dead, 2, "{metrics}");
}

#[test]
fn refusals_answer_401_413_and_400() {
    let broker = start_broker(None);
    let fwd = Forwarder::start(&config(&broker.addr(), "", "", ""));
    fwd.wait_ready();
    let event = br#"{"type":"track","event":"E","userId":"u"}"#;

    let (s, _) = request(fwd.port, "POST", "/v1/track", None, event, &[]).expect("post");
    assert_eq!(s, 401, "no write key");
    let (s, _) = request(fwd.port, "POST", "/v1/track", Some("nope"), event, &[]).expect("post");
    assert_eq!(s, 401, "unknown write key");

    let big = format!(
        r#"{{"batch":[{{"type":"track","event":"E","userId":"u","properties":{{"pad":"{}"}}}}]}}"#,
        "x".repeat(70_000)
    );
    let (s, _) = request(
        fwd.port,
        "POST",
        "/v1/batch",
        Some("seg-key"),
        big.as_bytes(),
        &[],
    )
    .expect("post");
    assert_eq!(s, 413, "over ingest.max_request_bytes");

    // One event of a batch over ingest.max_event_bytes (32 KiB), the body
    // within max_request_bytes: 413 naming the event.
    let over = format!(
        r#"{{"batch":[{},{{"type":"track","event":"E","userId":"u","properties":{{"pad":"{}"}}}}]}}"#,
        std::str::from_utf8(event).expect("UTF-8"),
        "x".repeat(40_000)
    );
    let (s, body) = request(
        fwd.port,
        "POST",
        "/v1/batch",
        Some("seg-key"),
        over.as_bytes(),
        &[],
    )
    .expect("post");
    assert_eq!(s, 413, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON answer");
    assert_eq!(answer["index"], 1, "{body}");

    let (s, _) = request(
        fwd.port,
        "POST",
        "/v1/track",
        Some("seg-key"),
        b"not gzip at all",
        &[("Content-Encoding", "gzip")],
    )
    .expect("post");
    assert_eq!(s, 400, "a gzip body that is not gzip");

    let (s, body) =
        request(fwd.port, "POST", "/v1/track", Some("seg-key"), event, &[]).expect("post");
    assert_eq!(s, 200, "{body}");
}

/// Posts batches of 50 events from `clients` keep-alive connections until
/// the server goes away; returns the message ids of every batch answered
/// 200.
fn load(
    port: u16,
    clients: usize,
    answered: Arc<AtomicUsize>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..clients)
        .map(|c| {
            let answered = answered.clone();
            std::thread::spawn(move || {
                let mut ok = Vec::new();
                let Ok(mut conn) = KeepAlive::connect(port) else {
                    return ok;
                };
                for n in 0.. {
                    let ids: Vec<String> = (0..50).map(|i| format!("c{c}-b{n}-e{i}")).collect();
                    let events: Vec<Value> = ids
                        .iter()
                        .enumerate()
                        .map(|(i, id)| {
                            json!({"type": "track", "event": "Load", "messageId": id,
                                   "userId": format!("u{}", i % 17), "properties": {"n": n}})
                        })
                        .collect();
                    let body = json!({ "batch": events }).to_string();
                    match conn.post("/v1/batch", "seg-key", body.as_bytes()) {
                        Ok((200, _, _)) => {
                            ok.extend(ids);
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) | Err(_) => break,
                    }
                }
                ok
            })
        })
        .collect()
}

#[test]
fn sigterm_during_load_loses_nothing_answered_2xx() {
    let broker = start_broker(None);
    let mut fwd = Forwarder::start(&config(&broker.addr(), "", "", ""));
    fwd.wait_ready();
    let answered = Arc::new(AtomicUsize::new(0));
    let clients = load(fwd.port, 4, answered.clone());
    while answered.load(Ordering::SeqCst) < 40 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = fwd.terminate();
    assert!(status.success(), "exit {status}:\n{}", fwd.log());
    let ok: Vec<String> = clients
        .into_iter()
        .flat_map(|h| h.join().expect("client"))
        .collect();
    assert!(ok.len() >= 40 * 50);

    let log = consume(&broker.addr(), &["events"], &[]);
    let in_kafka: BTreeSet<&str> = log.iter().filter_map(|r| header(r, "message_id")).collect();
    let missing: Vec<&String> = ok
        .iter()
        .filter(|id| !in_kafka.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} events answered 200 are not in Kafka, e.g. {:?}",
        missing.len(),
        ok.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!(
        "{} events answered 200, {} records in Kafka",
        ok.len(),
        log.len()
    );
}

#[test]
fn broker_unreachable_answers_503_then_delivers_once_back() {
    let proxy_port = free_port();
    let broker = start_broker(Some(proxy_port));
    let mut proxy = Proxy::start(proxy_port, broker.port());
    let fwd = Forwarder::start(&config(
        &format!("127.0.0.1:{proxy_port}"),
        "",
        "\"request.timeout.ms\" = 2000\n\"reconnect.backoff.max.ms\" = 500",
        "request_timeout_ms = 3000",
    ));
    fwd.wait_ready();
    let batch = |tag: &str| {
        let events: Vec<Value> = (0..20)
            .map(|i| {
                json!({"type": "track", "event": "E", "userId": format!("u{i}"),
                            "messageId": format!("{tag}-{i}")})
            })
            .collect();
        json!({ "batch": events }).to_string()
    };
    let mut conn = KeepAlive::connect(fwd.port).expect("connect");
    let (s, _, body) = conn
        .post("/v1/batch", "seg-key", batch("before").as_bytes())
        .expect("post");
    assert_eq!(s, 200, "{body}");

    proxy.stop();
    let (s, headers, body) = conn
        .post("/v1/batch", "seg-key", batch("during").as_bytes())
        .expect("post");
    assert_eq!(s, 503, "{body}");
    assert!(
        headers.iter().any(|(k, _)| k == "retry-after"),
        "{headers:?}"
    );

    proxy.resume();
    // Retry as an SDK does, until it is accepted.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut c = KeepAlive::connect(fwd.port).expect("connect");
        let (s, _, body) = c
            .post("/v1/batch", "seg-key", batch("during").as_bytes())
            .expect("post");
        if s == 200 {
            break;
        }
        assert_eq!(s, 503, "{body}");
        assert!(
            Instant::now() < deadline,
            "never accepted again:\n{}",
            fwd.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    let log = consume(&broker.addr(), &["events"], &[]);
    let ids: BTreeSet<&str> = log.iter().filter_map(|r| header(r, "message_id")).collect();
    for tag in ["before", "during"] {
        for i in 0..20 {
            let id = format!("{tag}-{i}");
            assert!(ids.contains(id.as_str()), "{id} missing");
        }
    }
}

#[test]
fn batch_mode_sends_a_whole_body_as_one_record() {
    let broker = start_broker(None);
    let fwd = Forwarder::start(&config(&broker.addr(), "batch_mode = \"batch\"", "", ""));
    fwd.wait_ready();
    let body = json!({"batch": [
        {"type": "track", "event": "A", "anonymousId": "anon-9", "messageId": "m1"},
        {"type": "identify", "userId": "u-2", "messageId": "m2"},
        {"type": "track", "event": "B", "userId": "u-3", "messageId": "m3"}
    ]})
    .to_string();
    let (s, answer) = request(
        fwd.port,
        "POST",
        "/v1/batch",
        Some("seg-key"),
        body.as_bytes(),
        &[],
    )
    .expect("post");
    assert_eq!(s, 200, "{answer}");
    let log = consume(&broker.addr(), &["events", "users"], &[]);
    assert_eq!(log.len(), 1, "{log:?}");
    let r = &log[0];
    assert_eq!(r["t"], "events");
    assert_eq!(r["k"], "anon-9");
    assert_eq!(r["p"], partition_for_key(b"anon-9", partitions("events")));
    assert_eq!(header(r, "source"), Some("segment-web"));
    let value: Value = serde_json::from_str(r["v"].as_str().expect("value")).expect("JSON");
    let sent: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(value, sent);
}

#[test]
fn sigterm_with_the_broker_unreachable_exits_0_and_answered_nothing_2xx() {
    let nobody = format!("127.0.0.1:{}", free_port());
    let mut fwd = Forwarder::start(&config(
        &nobody,
        "shutdown_timeout_secs = 4",
        "",
        "request_timeout_ms = 500",
    ));
    let (s, ready) = request(fwd.port, "GET", "/ready", None, b"", &[]).expect("get");
    assert_eq!(s, 503, "{ready}");
    let mut conn = KeepAlive::connect(fwd.port).expect("connect");
    let (s, headers, body) = conn
        .post(
            "/v1/track",
            "seg-key",
            br#"{"type":"track","event":"E","userId":"u"}"#,
        )
        .expect("post");
    assert_eq!(s, 503, "{body}");
    assert!(headers.iter().any(|(k, v)| k == "retry-after" && v == "1"));
    drop(conn);
    let status = fwd.terminate();
    assert!(status.success(), "exit {status}:\n{}", fwd.log());
}

/// A broker that refuses the forwarder's SASL password: requests are
/// answered 503 naming the authentication failure, not held until a
/// timeout (the delivery and request timeouts are ten minutes here), and
/// the password appears nowhere.
#[test]
fn refused_sasl_credentials_answer_503_naming_authentication() {
    use forwarder_e2e::security_fixtures::{ScramUser, TansuBroker};

    let broker =
        TansuBroker::with_scram_users(&[("fwd", "right-password", ScramUser::Sha256)], &["events"]);
    let fwd = Forwarder::start(&config(
        &broker.addr(),
        "",
        "\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.allow.plaintext\" = true\n\
         \"sasl.mechanism\" = \"SCRAM-SHA-256\"\n\"sasl.username\" = \"fwd\"\n\
         \"sasl.password\" = \"Wr0ng-Passw0rd\"\n\"delivery.timeout.ms\" = 600000",
        "request_timeout_ms = 600000",
    ));
    let event = br#"{"type":"track","event":"E","userId":"u","messageId":"m1"}"#;
    for _ in 0..2 {
        let (s, body) =
            request(fwd.port, "POST", "/v1/track", Some("seg-key"), event, &[]).expect("post");
        assert_eq!(s, 503, "{body}");
        assert!(
            body.contains("authentication with") && body.contains("SCRAM-SHA-256"),
            "{body}"
        );
        assert!(!body.contains("Wr0ng-Passw0rd"), "{body}");
    }
    let log = fwd.log();
    assert!(log.contains("authentication failed"), "{log}");
    assert!(!log.contains("Wr0ng-Passw0rd"), "{log}");
}
