//! Table-driven tests for every routing rule, including the seed documents'
//! own examples (RudderStack, Segment, Keen).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use event_router::{
    AvroSchemaConfig, ConfigError, DlqReason, EventType, HeaderValue, Outcome, Record, Routed,
    Router, RouterConfig, StaticHeader, ValueFormat,
};
use serde_json::{json, Value};

/// 2022-06-22T07:01:15.656Z
const NOW_MS: u64 = 1_655_881_275_656;
const NOW_TEXT: &str = "2022-06-22T07:01:15.656Z";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(NOW_MS)
}

fn cfg() -> RouterConfig {
    RouterConfig::new("events")
}

fn route_with(router: &mut Router, body: &str) -> Routed {
    let mut out = Routed::new();
    router.route(Bytes::copy_from_slice(body.as_bytes()), now(), &mut out);
    out.verify().unwrap();
    out
}

fn route(config: &RouterConfig, body: &str) -> Routed {
    let mut router = Router::new(config, 7).unwrap();
    route_with(&mut router, body)
}

fn value_json(r: &Record<'_>) -> Value {
    serde_json::from_slice(&r.value_to_vec()).unwrap()
}

fn only(out: &Routed) -> Record<'_> {
    assert_eq!(out.len(), 1, "{:?}", out.records().collect::<Vec<_>>());
    out.record(0).unwrap()
}

fn text(b: Option<&[u8]>) -> Option<&str> {
    b.map(|b| std::str::from_utf8(b).unwrap())
}

fn count(hay: &[u8], needle: &str) -> usize {
    hay.windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
        && s.chars()
            .filter(|c| *c != '-')
            .all(|c| c.is_ascii_hexdigit())
}

// ---------------------------------------------------------------- pass-through

#[test]
fn json_pass_through_keeps_original_bytes_and_appends_enrichment() {
    let body = r#"{"type":"track","event":"Signed Up","userId":"u1","properties":{"plan":"pro","n":1.50}}"#;
    let out = route(&cfg(), body);
    let r = only(&out);
    assert_eq!(r.format(), ValueFormat::Json);
    assert_eq!(r.topic(), "events");
    let value = r.value_to_vec();
    // The original text, byte for byte (note `1.50`), up to its closing brace.
    assert!(value.starts_with(&body.as_bytes()[..body.len() - 1]));
    let v = value_json(&r);
    assert_eq!(v["receivedAt"], NOW_TEXT);
    let id = v["messageId"].as_str().unwrap();
    assert!(is_uuid_v4(id), "{id}");
    assert_eq!(text(r.header("message_id")), Some(id));
    assert_eq!(text(r.header("event_type")), Some("track"));
    assert_eq!(r.key(), Some(&b"u1"[..]));
    assert_eq!(r.partition(), None);
    assert_eq!(out.outcomes(), &[Outcome::Routed { record: 0 }]);
}

#[test]
fn the_unchanged_part_of_the_value_points_into_the_body() {
    let body = r#"{"type":"identify","userId":"u1","traits":{"email":"a@example.com"}}"#;
    let out = route(&cfg(), body);
    let r = only(&out);
    let first = r.value_chunks().next().unwrap();
    let range = out.body().as_ptr_range();
    assert!(range.contains(&first.as_ptr()), "first chunk was copied");
    assert_eq!(first.len(), body.len() - 1);
    let key = r.key().unwrap();
    assert!(range.contains(&key.as_ptr()), "key was copied");
}

#[test]
fn splice_is_valid_json_for_every_layout() {
    let cases = [
        r#"{"type":"identify","userId":"u"}"#,
        "{ \"type\" : \"identify\" ,\n \"userId\" : \"u\" \n\t}",
        r#"{"userId":"u","type":"identify","messageId":"m-1"}"#,
        r#"{"userId":"u","type":"identify","receivedAt":"2001-01-01T00:00:00Z"}"#,
        r#"{"userId":"u","type":"identify","receivedAt":null,"messageId":null}"#,
        r#"{"userId":"u","type":"identify","messageId":"","receivedAt":5 }"#,
    ];
    for body in cases {
        let out = route(&cfg(), body);
        let r = only(&out);
        let value = r.value_to_vec();
        let v: Value = serde_json::from_slice(&value).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(v["receivedAt"], NOW_TEXT, "{body}");
        assert_eq!(count(&value, "\"receivedAt\""), 1, "{body}");
        assert_eq!(count(&value, "\"messageId\""), 1, "{body}");
        assert!(v["messageId"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(
            text(r.header("message_id")),
            v["messageId"].as_str(),
            "{body}"
        );
    }
}

#[test]
fn existing_message_id_is_kept() {
    let out = route(
        &cfg(),
        r#"{"type":"page","anonymousId":"a","messageId":"4bb69e26-b5a6-446a-a140-dbb6263369c9"}"#,
    );
    let r = only(&out);
    assert_eq!(
        value_json(&r)["messageId"],
        "4bb69e26-b5a6-446a-a140-dbb6263369c9"
    );
    assert_eq!(
        text(r.header("message_id")),
        Some("4bb69e26-b5a6-446a-a140-dbb6263369c9")
    );
}

#[test]
fn escaped_message_id_header_is_unescaped() {
    let out = route(
        &cfg(),
        r#"{"type":"page","anonymousId":"a","messageId":"x\u0041\"y"}"#,
    );
    let r = only(&out);
    assert_eq!(text(r.header("message_id")), Some("xA\"y"));
    assert_eq!(value_json(&r)["messageId"], "xA\"y");
}

#[test]
fn message_ids_are_deterministic_per_seed() {
    let body = r#"{"type":"identify","userId":"u"}"#;
    let ids = |seed| {
        let mut router = Router::new(&cfg(), seed).unwrap();
        let out = route_with(&mut router, body);
        let id = out
            .record(0)
            .unwrap()
            .header("message_id")
            .unwrap()
            .to_vec();
        id
    };
    assert_eq!(ids(1), ids(1));
    assert_ne!(ids(1), ids(2));
}

// ---------------------------------------------------------------- validation

#[test]
fn validation_rules() {
    // (body, reason code, error text fragment)
    let cases: &[(&str, &str, &str)] = &[
        (r#"{"userId":"u"}"#, "missing_field", "type"),
        (r#"{"type":null,"userId":"u"}"#, "missing_field", "type"),
        (r#"{"type":7,"userId":"u"}"#, "bad_structure", "`type`"),
        (
            r#"{"type":"purchase","userId":"u"}"#,
            "bad_structure",
            "unknown event type `purchase`",
        ),
        (
            r#"{"type":"Track","event":"e","userId":"u"}"#,
            "bad_structure",
            "Track",
        ),
        (r#"{"type":"track","userId":"u"}"#, "missing_field", "event"),
        (
            r#"{"type":"track","event":"","userId":"u"}"#,
            "missing_field",
            "event",
        ),
        (
            r#"{"type":"track","event":{},"userId":"u"}"#,
            "bad_structure",
            "`event`",
        ),
        (
            r#"{"type":"group","userId":"u"}"#,
            "missing_field",
            "groupId",
        ),
        (
            r#"{"type":"alias","userId":"u"}"#,
            "missing_field",
            "previousId",
        ),
        (
            r#"{"type":"alias","anonymousId":"a","previousId":"p"}"#,
            "missing_field",
            "userId",
        ),
        (
            r#"{"type":"identify"}"#,
            "missing_field",
            "userId or anonymousId",
        ),
        (
            r#"{"type":"identify","userId":null,"anonymousId":true}"#,
            "missing_field",
            "userId or anonymousId",
        ),
        (
            r#"{"type":"identify","userId":"u","messageId":12}"#,
            "bad_structure",
            "`messageId`",
        ),
        (
            r#"[{"type":"identify","userId":"u"}]"#,
            "bad_structure",
            "not a JSON object",
        ),
        (r#""identify""#, "bad_structure", "not a JSON object"),
        (
            r#"{"type":"identify","userId":"u""#,
            "invalid_json",
            "invalid JSON",
        ),
        (
            r#"{"type":"identify","userId":"u",}"#,
            "invalid_json",
            "invalid JSON",
        ),
        ("not json at all", "invalid_json", "invalid JSON"),
        ("", "invalid_json", "unexpected end of input"),
        (
            r#"{"batch":{"type":"identify"}}"#,
            "bad_structure",
            "`batch` must be an array",
        ),
    ];
    for (body, code, fragment) in cases {
        let out = route(&cfg(), body);
        let r = only(&out);
        assert!(r.is_dead_letter(), "{body}");
        assert_eq!(r.topic(), "events-dlq", "{body}");
        assert_eq!(text(r.header("dlq_reason")), Some(*code), "{body}");
        assert_eq!(text(r.header("dlq_topic")), Some("events"), "{body}");
        let v = value_json(&r);
        assert_eq!(v["event"], *body, "{body}");
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(fragment), "{body}: {error}");
        assert!(matches!(
            out.outcomes(),
            [Outcome::DeadLettered { record: 0, .. }]
        ));
    }
}

#[test]
fn identities_and_required_fields_that_pass() {
    let cases = [
        r#"{"type":"identify","userId":42}"#,
        r#"{"type":"identify","anonymousId":""}"#,
        r#"{"type":"group","anonymousId":"a","groupId":9}"#,
        r#"{"type":"alias","userId":"u","previousId":"p"}"#,
        r#"{"type":"screen","anonymousId":"a","name":"Home"}"#,
        r#"{"type":"page","userId":"u","event":"ignored on pages"}"#,
    ];
    for body in cases {
        let out = route(&cfg(), body);
        assert!(!only(&out).is_dead_letter(), "{body}");
    }
}

#[test]
fn invalid_utf8_is_dead_lettered_with_replacement_characters() {
    let mut router = Router::new(&cfg(), 1).unwrap();
    let mut out = Routed::new();
    let body = Bytes::from_static(b"{\"type\":\"identify\",\"userId\":\"\xff\"}");
    router.route(body, now(), &mut out);
    out.verify().unwrap();
    let r = only(&out);
    assert_eq!(text(r.header("dlq_reason")), Some("invalid_json"));
    assert_eq!(
        value_json(&r)["event"],
        "{\"type\":\"identify\",\"userId\":\"\u{FFFD}\"}"
    );
}

// ---------------------------------------------------------------- routing

fn multi() -> RouterConfig {
    let mut c = cfg();
    c.multi_topic = true;
    c.type_topics.insert(EventType::Identify, "users".into());
    c.type_topics.insert(EventType::Track, "tracks".into());
    c.type_topics.insert(EventType::Group, "accounts".into());
    c.track_topics
        .insert("Order Completed".into(), "orders".into());
    c
}

#[test]
fn topic_precedence() {
    let off = cfg();
    let mut off_with_maps = multi();
    off_with_maps.multi_topic = false;
    let on = multi();
    // (config, body, topic)
    let cases: &[(&RouterConfig, &str, &str)] = &[
        (&off, r#"{"type":"identify","userId":"u"}"#, "events"),
        (
            &off_with_maps,
            r#"{"type":"identify","userId":"u"}"#,
            "events",
        ),
        (
            &off_with_maps,
            r#"{"type":"identify","userId":"u","integrations":{"Kafka":{"topic":"mine"}}}"#,
            "mine",
        ),
        (&on, r#"{"type":"identify","userId":"u"}"#, "users"),
        (
            &on,
            r#"{"type":"group","userId":"u","groupId":"g"}"#,
            "accounts",
        ),
        (&on, r#"{"type":"page","userId":"u"}"#, "events"),
        (
            &on,
            r#"{"type":"track","event":"Order Completed","userId":"u"}"#,
            "orders",
        ),
        (
            &on,
            r#"{"type":"track","event":"Order\u0020Completed","userId":"u"}"#,
            "orders",
        ),
        (
            &on,
            r#"{"type":"track","event":"Other","userId":"u"}"#,
            "tracks",
        ),
        (
            &on,
            r#"{"type":"track","event":"Order Completed","userId":"u","integrations":{"Kafka":{"topic":"override"}}}"#,
            "override",
        ),
        (
            &on,
            r#"{"type":"identify","userId":"u","integrations":{"KAFKA":{"topic":"upper"}}}"#,
            "upper",
        ),
        (
            &on,
            r#"{"type":"identify","userId":"u","integrations":{"Kafka":{"topic":""}}}"#,
            "users",
        ),
        (
            &on,
            r#"{"type":"identify","userId":"u","integrations":{"Kafka":{"topic":7}}}"#,
            "users",
        ),
        (
            &on,
            r#"{"type":"identify","userId":"u","integrations":{"Kafka":true}}"#,
            "users",
        ),
    ];
    for (config, body, topic) in cases {
        let out = route(config, body);
        assert_eq!(only(&out).topic(), *topic, "{body}");
    }
}

#[test]
fn rudderstack_track_call_with_integrations_kafka_topic() {
    // The payload rudderanalytics.track("Feedback Submitted", {...},
    // {integrations: {All: true, Kafka: {topic: "myTopic"}}}) sends.
    let body = r#"{
      "type": "track",
      "event": "Feedback Submitted",
      "anonymousId": "8d872292709c6fbe",
      "properties": {
        "feedbackScore": 9,
        "feedbackText": "Great Product!",
        "ip": "127.0.0.0",
        "url": "https://www.google.com/",
        "createdAt": "2022-01-20T13:39:21.032Z"
      },
      "integrations": {
        "All": true,
        "Kafka": {
          "topic": "myTopic"
        }
      }
    }"#;
    let out = route(&multi(), body);
    let r = only(&out);
    assert_eq!(r.topic(), "myTopic");
    assert_eq!(r.key(), Some(&b"8d872292709c6fbe"[..]));
    let v = value_json(&r);
    assert_eq!(v["properties"]["feedbackScore"], 9);
    assert_eq!(v["integrations"]["Kafka"]["topic"], "myTopic");
}

#[test]
fn keen_topic_sanitising_keeps_the_original_name() {
    let body = r#"{"type":"track","event":"e","userId":"u","integrations":{"Kafka":{"topic":"$my collection$ %"}}}"#;
    let out = route(&cfg(), body);
    let r = only(&out);
    assert_eq!(r.topic(), "_my_collection___");
    assert_eq!(r.original_topic(), Some(&b"$my collection$ %"[..]));

    let long = "t".repeat(300);
    let body = format!(
        r#"{{"type":"track","event":"e","userId":"u","integrations":{{"Kafka":{{"topic":"{long}"}}}}}}"#
    );
    let out = route(&cfg(), &body);
    let r = only(&out);
    assert_eq!(r.topic(), &long[..249]);
    assert_eq!(r.original_topic(), Some(long.as_bytes()));

    let legal = route(
        &cfg(),
        r#"{"type":"track","event":"e","userId":"u","integrations":{"Kafka":{"topic":"ok.topic-1_x"}}}"#,
    );
    assert_eq!(only(&legal).original_topic(), None);

    let mut c = RouterConfig::new("web events");
    c.multi_topic = true;
    c.track_topics.insert("Bought".into(), "orders/eu".into());
    let mut router = Router::new(&c, 1).unwrap();
    assert_eq!(router.default_topic(), "web_events");
    assert_eq!(router.dlq_topic(), "web_events-dlq");
    let out = route_with(
        &mut router,
        r#"{"type":"track","event":"Bought","userId":"u"}"#,
    );
    assert_eq!(only(&out).topic(), "orders_eu");
    assert_eq!(only(&out).original_topic(), Some(&b"orders/eu"[..]));
}

#[test]
fn integrations_can_skip_an_event() {
    // (integrations, skipped?)
    let cases: &[(&str, bool)] = &[
        (r#"{"All":false}"#, true),
        (r#"{"All":false,"Kafka":true}"#, false),
        (r#"{"All":false,"KAFKA":{"topic":"t"}}"#, false),
        (r#"{"All":false,"Kafka":false}"#, true),
        (r#"{"All":true,"Kafka":false}"#, true),
        (r#"{"Kafka":false}"#, true),
        (r#"{"All":true}"#, false),
        (r#"{"All":false,"Kafka":null}"#, true),
        (r#"{"Segment.io":false}"#, false),
        (r#"{}"#, false),
        ("null", false),
    ];
    for (integrations, skipped) in cases {
        let body = format!(r#"{{"type":"identify","userId":"u","integrations":{integrations}}}"#);
        let mut router = Router::new(&cfg(), 1).unwrap();
        let out = route_with(&mut router, &body);
        if *skipped {
            assert_eq!(out.len(), 0, "{integrations}");
            assert_eq!(out.outcomes(), &[Outcome::Skipped], "{integrations}");
            assert_eq!(out.skipped(), 1);
            assert_eq!(router.stats().skipped, 1);
        } else {
            assert_eq!(
                out.outcomes(),
                &[Outcome::Routed { record: 0 }],
                "{integrations}"
            );
            assert_eq!(out.skipped(), 0);
        }
    }
}

// ---------------------------------------------------------------- key, partition

#[test]
fn key_selection() {
    let mut email = cfg();
    email.key_fields = vec!["context.traits.email".into(), "userId".into()];
    let default = cfg();
    // (config, body, key)
    let cases: &[(&RouterConfig, &str, Option<&str>)] = &[
        (
            &default,
            r#"{"type":"identify","userId":"u","anonymousId":"a"}"#,
            Some("u"),
        ),
        (
            &default,
            r#"{"type":"identify","anonymousId":"a"}"#,
            Some("a"),
        ),
        (
            &default,
            r#"{"type":"identify","userId":null,"anonymousId":"a"}"#,
            Some("a"),
        ),
        (
            &default,
            r#"{"type":"identify","userId":"","anonymousId":"a"}"#,
            Some("a"),
        ),
        (&default, r#"{"type":"identify","anonymousId":""}"#, None),
        (
            &default,
            r#"{"type":"identify","userId":1234}"#,
            Some("1234"),
        ),
        (
            &default,
            r#"{"type":"identify","userId":"caf\u00e9"}"#,
            Some("café"),
        ),
        (
            &email,
            r#"{"type":"identify","userId":"u","context":{"traits":{"email":"a@b.c"}}}"#,
            Some("a@b.c"),
        ),
        (
            &email,
            r#"{"type":"identify","userId":"u","context":{}}"#,
            Some("u"),
        ),
    ];
    for (config, body, key) in cases {
        let out = route(config, body);
        assert_eq!(text(only(&out).key()), *key, "{body}");
    }
}

#[test]
fn explicit_and_default_partitions() {
    let mut explicit = cfg();
    explicit.partition_field = Some("properties.partition".into());
    let mut with_default = explicit.clone();
    with_default.default_partition = Some(3);
    let plain = cfg();
    // (config, properties, partition)
    let cases: &[(&RouterConfig, &str, Option<i32>)] = &[
        (&plain, r#"{"partition":5}"#, None),
        (&explicit, r#"{"partition":5}"#, Some(5)),
        (&explicit, r#"{"partition":"6"}"#, Some(6)),
        (&explicit, r#"{}"#, None),
        (&with_default, r#"{}"#, Some(3)),
        (&with_default, r#"{"partition":-1}"#, Some(3)),
        (&with_default, r#"{"partition":1.5}"#, Some(3)),
        (&with_default, r#"{"partition":"x"}"#, Some(3)),
        (&with_default, r#"{"partition":0}"#, Some(0)),
    ];
    for (config, props, partition) in cases {
        let body = format!(r#"{{"type":"track","event":"e","userId":"u","properties":{props}}}"#);
        let out = route(config, &body);
        assert_eq!(only(&out).partition(), *partition, "{props}");
    }
}

// ---------------------------------------------------------------- headers

#[test]
fn headers_static_mapped_and_always_present() {
    let mut c = cfg();
    c.static_headers = vec![
        StaticHeader {
            key: "env".into(),
            value: Some(HeaderValue::Text("prod".into())),
        },
        StaticHeader {
            key: "raw".into(),
            value: Some(HeaderValue::Bytes(vec![1, 2, 3])),
        },
        StaticHeader {
            key: "flag".into(),
            value: None,
        },
    ];
    c.header_fields
        .insert("lib".into(), "context.library.name".into());
    c.header_fields
        .insert("score".into(), "properties.score".into());
    c.header_fields
        .insert("obj".into(), "properties.obj".into());
    c.header_fields
        .insert("gone".into(), "properties.missing".into());
    c.header_fields
        .insert("nul".into(), "properties.nothing".into());
    c.message_id_header = "mid".into();
    c.event_type_header = "kind".into();
    c.source_name = Some("web".into());
    let body = r#"{"type":"track","event":"e","userId":"u","messageId":"m1",
        "context":{"library":{"name":"analytics\tjs"}},
        "properties":{"score":9.5,"obj":{"a": [1]},"nothing":null}}"#;
    let out = route(&c, body);
    let r = only(&out);
    let headers: Vec<(String, Option<Vec<u8>>)> = r
        .headers()
        .map(|(k, v)| {
            (
                String::from_utf8(k.to_vec()).unwrap(),
                v.map(<[u8]>::to_vec),
            )
        })
        .collect();
    let h = |k: &str, v: &[u8]| (k.to_owned(), Some(v.to_vec()));
    assert_eq!(
        headers,
        vec![
            h("env", b"prod"),
            h("raw", &[1, 2, 3]),
            ("flag".to_owned(), None),
            h("source", b"web"),
            h("lib", b"analytics\tjs"),
            h("obj", br#"{"a": [1]}"#),
            h("score", b"9.5"),
            h("mid", b"m1"),
            h("kind", b"track"),
        ]
    );
}

// ---------------------------------------------------------------- batches

#[test]
fn batch_context_and_integrations_merge_into_each_event() {
    let body = r#"{
      "batch": [
        {"type":"identify","userId":"u1"},
        {"type":"track","event":"e","userId":"u2","context":{"ip":"10.0.0.1","library":{"name":"mine"}}},
        {"type":"page","userId":"u3","context":null,"integrations":{"Kafka":{"topic":"own"}}},
        {"type":"screen","userId":"u4","context":{}}
      ],
      "context": {"library":{"name":"analytics-python","version":"2.3"},"locale":"en-US"},
      "integrations": {"Kafka":{"topic":"from-batch"}},
      "sentAt": "2022-06-22T07:01:14.000Z"
    }"#;
    let out = route(&cfg(), body);
    assert_eq!(out.len(), 4);
    let v: Vec<Value> = out.records().map(|r| value_json(&r)).collect();
    let batch_ctx = json!({"library":{"name":"analytics-python","version":"2.3"},"locale":"en-US"});
    assert_eq!(v[0]["context"], batch_ctx);
    assert_eq!(
        v[1]["context"],
        json!({"ip":"10.0.0.1","library":{"name":"mine"},"locale":"en-US"})
    );
    assert_eq!(v[2]["context"], batch_ctx);
    assert_eq!(v[3]["context"], batch_ctx);
    assert_eq!(
        v[0]["integrations"],
        json!({"Kafka":{"topic":"from-batch"}})
    );
    let topics: Vec<&str> = out.records().map(|r| r.topic()).collect();
    assert_eq!(topics, ["from-batch", "from-batch", "own", "from-batch"]);
    for (i, r) in out.records().enumerate() {
        assert_eq!(r.event_index(), i);
        let raw = r.value_to_vec();
        assert_eq!(count(&raw, "\"context\""), 1);
        assert_eq!(count(&raw, "\"locale\""), 1);
    }
}

#[test]
fn batch_context_feeds_key_and_header_paths() {
    let mut c = cfg();
    c.key_fields = vec!["context.traits.email".into()];
    c.header_fields
        .insert("lib".into(), "context.library.name".into());
    let body = r#"{"batch":[
        {"type":"identify","userId":"u"},
        {"type":"identify","userId":"u","context":{"library":{"name":"own"}}}
      ],"context":{"traits":{"email":"x@y.z"},"library":{"name":"batch-lib"}}}"#;
    let out = route(&c, body);
    let r0 = out.record(0).unwrap();
    let r1 = out.record(1).unwrap();
    assert_eq!(text(r0.key()), Some("x@y.z"));
    assert_eq!(text(r0.header("lib")), Some("batch-lib"));
    assert_eq!(text(r1.key()), Some("x@y.z"));
    assert_eq!(text(r1.header("lib")), Some("own"));
}

#[test]
fn batch_outcomes_follow_input_order() {
    let body = r#"{"batch":[
        {"type":"identify","userId":"u"},
        42,
        {"type":"track","userId":"u"},
        {"type":"identify","userId":"u","integrations":{"All":false}},
        {"type":"alias","userId":"u","previousId":"p"}
      ]}"#;
    let mut router = Router::new(&cfg(), 1).unwrap();
    let out = route_with(&mut router, body);
    let o = out.outcomes();
    assert_eq!(o.len(), 5);
    assert_eq!(o[0], Outcome::Routed { record: 0 });
    assert!(matches!(
        &o[1],
        Outcome::DeadLettered {
            record: 1,
            reason: DlqReason::NotAnObject
        }
    ));
    assert!(matches!(
        &o[2],
        Outcome::DeadLettered {
            record: 2,
            reason: DlqReason::MissingField("event")
        }
    ));
    assert_eq!(o[3], Outcome::Skipped);
    assert_eq!(o[4], Outcome::Routed { record: 3 });
    assert_eq!(value_json(&out.record(1).unwrap())["event"], "42");
    assert_eq!(
        value_json(&out.record(2).unwrap())["event"],
        r#"{"type":"track","userId":"u"}"#
    );
    let s = router.stats();
    assert_eq!(
        (s.events, s.routed, s.dead_lettered, s.skipped),
        (5, 2, 2, 1)
    );
}

#[test]
fn a_broken_batch_is_one_dead_letter() {
    let body = r#"{"batch":[{"type":"identify","userId":"u"},{"type":"identify","userId":"u"]}"#;
    let out = route(&cfg(), body);
    let r = only(&out);
    assert_eq!(text(r.header("dlq_reason")), Some("invalid_json"));
    assert_eq!(value_json(&r)["event"], body);
    assert_eq!(out.outcomes().len(), 1);
}

#[test]
fn empty_batch_has_no_outcomes() {
    let out = route(
        &cfg(),
        r#"{"batch":[],"sentAt":"2022-06-22T07:01:14.000Z"}"#,
    );
    assert!(out.is_empty());
    assert!(out.outcomes().is_empty());
}

// ---------------------------------------------------------------- dead letters

/// The sanitising examples of docs/configuration.md are what the router
/// does.
#[test]
fn documented_topic_sanitising_holds() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .unwrap();
    let start = doc.find("Topic names are sanitised").expect("documented");
    let paragraph = &doc[start..];
    let paragraph = &paragraph[..paragraph.find("\n\n").unwrap_or(paragraph.len())];
    let text = paragraph.replace('\n', " ");
    // "`from` becomes `to`"
    let parts: Vec<&str> = text.split(" becomes ").collect();
    let mut examples = 0;
    for pair in parts.windows(2) {
        let (before, after) = (pair[0].trim_end(), pair[1]);
        if !before.ends_with('`') || !after.starts_with('`') {
            continue;
        }
        let from = before[..before.len() - 1]
            .rsplit('`')
            .next()
            .unwrap_or_default();
        let to = after[1..].split('`').next().unwrap_or_default();
        assert_eq!(event_router::topic::sanitize(from), to, "{from}");
        let mut c = cfg();
        c.default_topic = from.to_owned();
        assert_eq!(Router::new(&c, 1).unwrap().default_topic(), to);
        examples += 1;
    }
    assert!(examples >= 3, "{paragraph}");
}

#[test]
fn dead_letter_topic_is_configurable() {
    let mut c = cfg();
    c.dlq_topic = Some("rejects".into());
    c.dlq_reason_header = "why".into();
    c.dlq_topic_header = "meant-for".into();
    c.multi_topic = true;
    c.track_topics.insert("Big".into(), "big-events".into());
    let out = route(&c, "{oops");
    let r = only(&out);
    assert_eq!(r.topic(), "rejects");
    assert_eq!(text(r.header("why")), Some("invalid_json"));
    assert_eq!(text(r.header("meant-for")), Some("events"));
    assert_eq!(r.key(), None);
    assert_eq!(r.partition(), None);
}

/// `dlq_topic` names the topic an invalid event would have gone to once its
/// type is known: its `integrations.Kafka.topic`, its track name's or its
/// type's topic; the default topic only before that.
#[test]
fn dead_letters_name_the_topic_the_event_was_meant_for() {
    let mut c = cfg();
    c.multi_topic = true;
    c.type_topics.insert(EventType::Group, "groups".into());
    c.type_topics.insert(EventType::Track, "tracks".into());
    c.track_topics.insert("Big".into(), "big-events".into());
    let cases = [
        (
            r#"{"type":"group","userId":"u"}"#,
            "missing_field",
            "groups",
        ),
        (
            r#"{"type":"track","event":"Big"}"#,
            "missing_field",
            "big-events",
        ),
        (
            r#"{"type":"track","userId":"u"}"#,
            "missing_field",
            "tracks",
        ),
        (
            r#"{"type":"track","event":7,"userId":"u"}"#,
            "bad_structure",
            "tracks",
        ),
        (
            r#"{"type":"identify","userId":"u","messageId":5}"#,
            "bad_structure",
            "events",
        ),
        (
            r#"{"type":"group","integrations":{"Kafka":{"topic":"mine"}}}"#,
            "missing_field",
            "mine",
        ),
        // Sanitised, or unescaped, in the router's own buffer.
        (
            r#"{"type":"group","integrations":{"Kafka":{"topic":"my topic"}}}"#,
            "missing_field",
            "my_topic",
        ),
        (
            r#"{"type":"group","integrations":{"Kafka":{"topic":"t\u0031"}}}"#,
            "missing_field",
            "t1",
        ),
        // Before the type is known.
        (r#"{"type":"nope","userId":"u"}"#, "bad_structure", "events"),
        (r#"{"userId":"u"}"#, "missing_field", "events"),
    ];
    for (body, code, meant_for) in cases {
        let out = route(&c, body);
        let r = only(&out);
        assert!(r.is_dead_letter(), "{body}");
        assert_eq!(text(r.header("dlq_reason")), Some(code), "{body}");
        assert_eq!(text(r.header("dlq_topic")), Some(meant_for), "{body}");
        assert_eq!(value_json(&r)["event"], *body, "{body}");
    }
    // In a batch, each event its own.
    let out = route(
        &c,
        r#"{"batch":[{"type":"group","userId":"u"},{"type":"track","event":"Big","userId":"u"},
            {"type":"track","event":"Big"}]}"#,
    );
    let meant_for: Vec<_> = out
        .records()
        .filter(|r| r.is_dead_letter())
        .map(|r| text(r.header("dlq_topic")).map(str::to_owned))
        .collect();
    assert_eq!(
        meant_for,
        [Some("groups".to_owned()), Some("big-events".to_owned())]
    );
}

/// A topic the router wrote into its own buffer survives the failure that
/// dead-letters the event after it.
#[test]
fn a_sanitised_topic_survives_a_later_failure() {
    let mut c = avro_cfg(&["a"], false);
    c.message_max_bytes = 400;
    let body = r#"{"type":"track","event":"E","userId":"u",
        "integrations":{"Kafka":{"topic":"my topic","schemaId":"zzz"}}}"#;
    let out = route(&c, body);
    let r = only(&out);
    assert_eq!(text(r.header("dlq_reason")), Some("unknown_schema"));
    assert_eq!(text(r.header("dlq_topic")), Some("my_topic"));
    assert_eq!(value_json(&r)["event"], *body);
    let pad = "x".repeat(600);
    let body = format!(
        r#"{{"type":"track","event":"E","userId":"u","p":"{pad}",
        "integrations":{{"Kafka":{{"topic":"t\u0031 x"}}}}}}"#
    );
    let out = route(&c, &body);
    let r = only(&out);
    assert_eq!(text(r.header("dlq_reason")), Some("message_too_large"));
    assert_eq!(text(r.header("dlq_topic")), Some("t1_x"));
}

#[test]
fn oversized_values_are_dead_lettered_within_the_limit() {
    let mut c = cfg();
    c.message_max_bytes = 400;
    c.multi_topic = true;
    c.track_topics.insert("Big".into(), "big-events".into());
    let pad = "x".repeat(600);
    let body =
        format!(r#"{{"type":"track","event":"Big","userId":"u","properties":{{"pad":"{pad}"}}}}"#);
    let out = route(&c, &body);
    let r = only(&out);
    assert!(r.is_dead_letter());
    assert_eq!(text(r.header("dlq_reason")), Some("message_too_large"));
    assert_eq!(text(r.header("dlq_topic")), Some("big-events"));
    let headers: usize = r
        .headers()
        .map(|(k, v)| k.len() + v.map_or(0, <[u8]>::len))
        .sum();
    assert!(r.value_len() + headers <= 400, "{}", r.value_len());
    let v = value_json(&r);
    let error = v["error"].as_str().unwrap();
    assert!(error.contains("exceeds message.max.bytes (400)"), "{error}");
    assert!(error.contains("truncated"), "{error}");
    assert!(body.starts_with(v["event"].as_str().unwrap()));
    assert!(matches!(
        out.outcomes(),
        [Outcome::DeadLettered {
            reason: DlqReason::TooLarge { max: 400, .. },
            ..
        }]
    ));

    // Just under the limit passes.
    c.message_max_bytes = 2000;
    let out = route(&c, &body);
    assert_eq!(only(&out).topic(), "big-events");
}

#[test]
fn dead_letter_text_escapes_control_characters() {
    let body = "{\"type\":\"identify\"\u{1}}";
    let out = route(&cfg(), body);
    let v = value_json(&only(&out));
    assert_eq!(v["event"], body);
}

// ---------------------------------------------------------------- clock skew

#[test]
fn clock_skew_correction() {
    let mut on = cfg();
    on.clock_skew_correction = true;
    // Client clock 1 h behind: sentAt says 06:01:15.656, received 07:01:15.656,
    // event happened 10 s before sending.
    let body = r#"{"type":"track","event":"e","userId":"u",
        "timestamp":"2022-06-22T06:01:05.656Z","sentAt":"2022-06-22T06:01:15.656Z"}"#;
    let v = value_json(&only(&route(&on, body)));
    assert_eq!(v["timestamp"], "2022-06-22T07:01:05.656Z");
    assert_eq!(v["originalTimestamp"], "2022-06-22T06:01:05.656Z");

    let off = value_json(&only(&route(&cfg(), body)));
    assert_eq!(off["timestamp"], "2022-06-22T06:01:05.656Z");
    assert!(off.get("originalTimestamp").is_none());

    // sentAt from the batch; an existing originalTimestamp is kept.
    let batch = r#"{"batch":[{"type":"identify","userId":"u",
        "timestamp":"2022-06-22T12:31:05.656+05:30","originalTimestamp":"keep"}],
        "sentAt":"2022-06-22T07:01:10.656Z"}"#;
    let v = value_json(&only(&route(&on, batch)));
    assert_eq!(v["timestamp"], "2022-06-22T07:01:10.656Z");
    assert_eq!(v["originalTimestamp"], "keep");

    // No timestamp: it becomes receivedAt. No sentAt: unchanged.
    let v = value_json(&only(&route(&on, r#"{"type":"identify","userId":"u"}"#)));
    assert_eq!(v["timestamp"], NOW_TEXT);
    let v = value_json(&only(&route(
        &on,
        r#"{"type":"identify","userId":"u","timestamp":"2020-01-01T00:00:00Z"}"#,
    )));
    assert_eq!(v["timestamp"], "2020-01-01T00:00:00Z");
}

// ---------------------------------------------------------------- Avro

/// The RudderStack Avro example event, verbatim (note the trailing comma
/// after `traits`, which is not valid JSON).
const RUDDERSTACK_AVRO_EVENT: &str = r#"{
  "event": "Product Added",
  "messageId": "4bb69e26-b5a6-446a-a140-dbb6263369c9",
  "type": "track",
  "anonymousId": "",
  "context": {
    "traits": {
      "email": "alex@example.com"
    },
  },
  "integrations": {
    "KAFKA": {
      "schemaId": "schema001"
    }
  },
  "originalTimestamp": "2022-06-22T12:31:19.002+05:30",
  "receivedAt": "2022-06-22T12:31:15.656+05:30",
  "request_ip": "[::1]",
  "sentAt": "2022-06-22T12:31:19.002+05:30",
  "timestamp": "2022-06-22T12:31:15.655+05:30"
}"#;

/// The RudderStack schema for it, verbatim (goavro dialect).
const RUDDERSTACK_AVRO_SCHEMA: &str = include_str!("data/rudderstack_doc_schema.json");

fn avro_cfg(ids: &[&str], confluent: bool) -> RouterConfig {
    let mut c = cfg();
    c.avro.confluent_wire_format = confluent;
    c.avro.schemas = ids
        .iter()
        .map(|id| AvroSchemaConfig {
            id: (*id).into(),
            schema: RUDDERSTACK_AVRO_SCHEMA.into(),
        })
        .collect();
    c
}

/// The seed event made valid JSON and given the fields its schema requires.
fn complete_rudderstack_event(schema_id: &str) -> String {
    RUDDERSTACK_AVRO_EVENT
        .replace("},\n  },", "}, \"ip\": \"[::1]\"\n  },")
        .replace("\"request_ip\"", "\"rudderId\": \"r-1\",\n  \"request_ip\"")
        .replace("schema001", schema_id)
}

fn decode_avro(datum: &[u8]) -> apache_avro::types::Value {
    let compiled = event_router::avro::AvroSchema::compile(RUDDERSTACK_AVRO_SCHEMA).unwrap();
    let schema = apache_avro::Schema::parse_str(compiled.normalized_json()).unwrap();
    let mut reader = datum;
    let v = apache_avro::from_avro_datum(&schema, &mut reader, None).unwrap();
    assert!(reader.is_empty(), "datum has trailing bytes");
    v
}

fn avro_field<'v>(v: &'v apache_avro::types::Value, name: &str) -> &'v apache_avro::types::Value {
    match v {
        apache_avro::types::Value::Record(fields) => {
            &fields.iter().find(|(n, _)| n == name).unwrap().1
        }
        other => panic!("not a record: {other:?}"),
    }
}

#[test]
fn rudderstack_avro_example_verbatim_is_not_json() {
    let out = route(&avro_cfg(&["schema001"], false), RUDDERSTACK_AVRO_EVENT);
    let r = only(&out);
    assert_eq!(text(r.header("dlq_reason")), Some("invalid_json"));
    assert_eq!(value_json(&r)["event"], RUDDERSTACK_AVRO_EVENT);
}

#[test]
fn rudderstack_avro_example_without_rudder_id_fails_encoding() {
    // Valid JSON now, but the schema requires `rudderId` and `context.ip`.
    let body = RUDDERSTACK_AVRO_EVENT.replace("},\n  },", "}\n  },");
    let out = route(&avro_cfg(&["schema001"], false), &body);
    let r = only(&out);
    assert_eq!(text(r.header("dlq_reason")), Some("avro_encoding"));
    let error = value_json(&r)["error"].as_str().unwrap().to_owned();
    assert!(error.contains("schema001"), "{error}");
    assert!(
        error.contains("context.ip") || error.contains("rudderId"),
        "{error}"
    );
}

#[test]
fn rudderstack_avro_example_encodes_by_schema_id() {
    let body = complete_rudderstack_event("schema001");
    let out = route(&avro_cfg(&["schema001"], true), &body);
    let r = only(&out);
    assert_eq!(r.format(), ValueFormat::Avro);
    assert_eq!(r.topic(), "events");
    let datum = r.value_to_vec();
    // Non-numeric id: raw datum even with the Confluent format on.
    let v = decode_avro(&datum);
    use apache_avro::types::Value as A;
    assert_eq!(avro_field(&v, "event"), &A::String("Product Added".into()));
    assert_eq!(avro_field(&v, "rudderId"), &A::String("r-1".into()));
    // receivedAt is the router's, not the client's.
    assert_eq!(avro_field(&v, "receivedAt"), &A::String(NOW_TEXT.into()));
    assert_eq!(
        avro_field(avro_field(avro_field(&v, "context"), "traits"), "email"),
        &A::String("alex@example.com".into())
    );
    assert_eq!(
        text(r.header("message_id")),
        Some("4bb69e26-b5a6-446a-a140-dbb6263369c9")
    );
}

#[test]
fn confluent_wire_format_for_numeric_ids() {
    for (id, confluent, prefix) in [
        ("7", true, Some([0u8, 0, 0, 0, 7])),
        ("300", true, Some([0u8, 0, 0, 1, 44])),
        ("7", false, None),
        ("seven", true, None),
    ] {
        let body = complete_rudderstack_event(id);
        let out = route(&avro_cfg(&[id], confluent), &body);
        let r = only(&out);
        assert_eq!(r.format(), ValueFormat::Avro, "{id}");
        let value = r.value_to_vec();
        let datum = match prefix {
            Some(p) => {
                assert_eq!(&value[..5], &p, "{id}");
                &value[5..]
            }
            None => &value[..],
        };
        let _ = decode_avro(datum);
    }
}

#[test]
fn avro_schema_selection() {
    let mut c = avro_cfg(&["a", "b", "c"], false);
    c.avro
        .track_schemas
        .insert("Product Added".into(), "a".into());
    c.avro.type_schemas.insert(EventType::Track, "b".into());
    c.avro.type_schemas.insert(EventType::Identify, "b".into());
    let mut router = Router::new(&c, 1).unwrap();
    let body = complete_rudderstack_event("c");
    // integrations schemaId wins.
    assert_eq!(
        only(&route_with(&mut router, &body)).format(),
        ValueFormat::Avro
    );
    // Without it: the track name map picks `a` (which then misses the
    // required integrations.KAFKA.schemaId field).
    let no_id = body.replace(r#""schemaId": "c""#, r#""other": 1"#);
    let out = route_with(&mut router, &no_id);
    assert!(
        matches!(
            out.outcomes(),
            [Outcome::DeadLettered { reason: DlqReason::Avro { schema, message }, .. }]
                if schema == "a" && message.contains("schemaId")
        ),
        "{:?}",
        out.outcomes()
    );
    // A page has no schema: JSON.
    let page = route_with(&mut router, r#"{"type":"page","userId":"u"}"#);
    assert_eq!(only(&page).format(), ValueFormat::Json);
    // An identify maps to schema b, which it does not fit.
    let identify = route_with(&mut router, r#"{"type":"identify","userId":"u"}"#);
    assert!(matches!(
        identify.outcomes(),
        [Outcome::DeadLettered { reason: DlqReason::Avro { schema, .. }, .. }] if schema == "b"
    ));
    // Unknown schema id.
    let unknown = body.replace(r#""schemaId": "c""#, r#""schemaId": "zzz""#);
    let out = route_with(&mut router, &unknown);
    assert_eq!(
        text(only(&out).header("dlq_reason")),
        Some("unknown_schema")
    );
    assert!(matches!(
        out.outcomes(),
        [Outcome::DeadLettered { reason: DlqReason::UnknownSchema(id), .. }] if id == "zzz"
    ));
    // `Kafka` spelling works too, and a numeric schemaId.
    let mut c = cfg();
    c.avro.confluent_wire_format = true;
    c.avro.schemas = vec![AvroSchemaConfig {
        id: "12".into(),
        schema: r#"{"type":"record","name":"Id","fields":[{"name":"userId","type":"string"}]}"#
            .into(),
    }];
    let out = route(
        &c,
        r#"{"type":"identify","userId":"u","integrations":{"Kafka":{"schemaId":12}}}"#,
    );
    // Magic byte, id 12 big-endian, then the datum: string of length 1 (zigzag 2), "u".
    assert_eq!(only(&out).value_to_vec(), [0, 0, 0, 0, 12, 2, b'u']);
}

// ---------------------------------------------------------------- config

#[test]
fn config_errors() {
    let bad_schema = {
        let mut c = cfg();
        c.avro.schemas = vec![AvroSchemaConfig {
            id: "x".into(),
            schema: "{not a schema".into(),
        }];
        c
    };
    let unknown_route = {
        let mut c = cfg();
        c.avro.type_schemas.insert(EventType::Page, "nope".into());
        c
    };
    let duplicate = avro_cfg(&["d", "d"], false);
    let mut bad_path = cfg();
    bad_path.key_fields = vec!["context..x".into()];
    let mut negative = cfg();
    negative.default_partition = Some(-2);
    let mut zero = cfg();
    zero.message_max_bytes = 0;
    let mut empty_track = cfg();
    empty_track.track_topics.insert("e".into(), String::new());

    let check = |c: &RouterConfig, f: fn(&ConfigError) -> bool| {
        let e = Router::new(c, 0).unwrap_err();
        assert!(f(&e), "{e:?}");
    };
    check(&RouterConfig::new(""), |e| {
        matches!(e, ConfigError::EmptyDefaultTopic)
    });
    check(&bad_schema, |e| {
        matches!(e, ConfigError::InvalidSchema { .. })
    });
    check(&unknown_route, |e| {
        matches!(e, ConfigError::UnknownSchemaId(_))
    });
    check(&duplicate, |e| {
        matches!(e, ConfigError::DuplicateSchemaId(_))
    });
    check(&bad_path, |e| matches!(e, ConfigError::InvalidFieldPath(_)));
    check(&negative, |e| {
        matches!(e, ConfigError::NegativeDefaultPartition(-2))
    });
    check(&zero, |e| matches!(e, ConfigError::ZeroMessageMaxBytes));
    check(&empty_track, |e| matches!(e, ConfigError::EmptyTopic(_)));
}

#[test]
fn output_is_reused_across_calls() {
    let mut router = Router::new(&cfg(), 1).unwrap();
    let mut out = Routed::new();
    let first = r#"{"batch":[{"type":"identify","userId":"a"},{"type":"identify","userId":"b"}]}"#;
    router.route(Bytes::from_static(first.as_bytes()), now(), &mut out);
    assert_eq!(out.len(), 2);
    router.route(
        Bytes::from_static(b"{\"type\":\"page\",\"userId\":\"c\"}"),
        now(),
        &mut out,
    );
    out.verify().unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out.outcomes().len(), 1);
    assert_eq!(text(out.record(0).unwrap().key()), Some("c"));
    assert_eq!(router.stats().events, 3);
}

#[test]
fn avro_router_rejects_bad_bodies_and_then_encodes_as_a_fresh_one() {
    // A router with schemas indexes each body during its validating scan;
    // bodies the scan rejects (invalid UTF-8 in a string, or anywhere, or
    // cut short) are dead-lettered as by a router without schemas, and
    // leave nothing behind for the next body.
    let config = avro_cfg(&["schema001"], true);
    let good = complete_rudderstack_event("schema001");
    let mut fresh = Router::new(&config, 1).unwrap();
    let expected = route_with(&mut fresh, &good);
    assert!(!only(&expected).is_dead_letter());
    let expected = only(&expected).value_to_vec();

    let mut router = Router::new(&config, 1).unwrap();
    let mut plain = Router::new(&cfg(), 1).unwrap();
    let cut = &good[..good.len() / 2];
    let bad: [&[u8]; 12] = [
        b"{\"type\":\"identify\",\"userId\":\"\xff\"}",
        b"{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"x\":\"\xc3\x28\"}",
        b"{\"type\":\"track\",\xe2\x82\xac\"event\":\"E\",\"userId\":\"u\"}",
        cut.as_bytes(),
        // Invalid UTF-8 in nested values, and after a grammar error.
        b"{\"context\":{\"a\":[\"\xed\xa0\x80\"]},\"userId\":\"u\"}",
        b"{\"context\":{\"\xc0\xaf\":1}}",
        b"{\"context\":{\"a\":[1,]},\"x\":\"\xff\"}",
        // Grammar errors inside nested containers.
        b"{\"context\":{\"a\":[1,]}}",
        b"{\"context\":{\"a\" 1}}",
        b"{\"context\":{\"a\":[\"\\x\"]}}",
        b"{\"context\":{\"a\":{\"b\":\"\x01\"}}}",
        b"{\"batch\":[{\"context\":{\"a\":tru}}]}",
    ];
    for body in bad {
        let mut out = Routed::new();
        router.route(Bytes::copy_from_slice(body), now(), &mut out);
        out.verify().unwrap();
        let r = only(&out);
        assert_eq!(text(r.header("dlq_reason")), Some("invalid_json"));
        let error = value_json(&r)["error"].as_str().unwrap().to_owned();
        if std::str::from_utf8(body).is_err() {
            assert!(error.contains("invalid UTF-8"), "{error}");
        }
        // The same error, at the same byte, as a router without schemas.
        let mut json_out = Routed::new();
        plain.route(Bytes::copy_from_slice(body), now(), &mut json_out);
        let json_error = value_json(&only(&json_out))["error"].clone();
        assert_eq!(value_json(&r)["error"], json_error);
        let out = route_with(&mut router, &good);
        assert_eq!(only(&out).value_to_vec(), expected);
    }
}

#[test]
fn avro_events_with_numbers_out_of_range_in_nested_values_are_dead_lettered() {
    // The body index reads numbers as simd-json does: an integer beyond
    // 64 bits or a float beyond f64, at any depth, makes the event not JSON
    // for the encoder (even in a member its schema ignores), while the
    // other events of the batch encode as a fresh router encodes them alone.
    use event_router::avro::example::{TRACK_EVENT, TRACK_SCHEMA};
    let mut config = cfg();
    config.avro.schemas = vec![AvroSchemaConfig {
        id: "1".into(),
        schema: TRACK_SCHEMA.into(),
    }];
    config
        .avro
        .type_schemas
        .insert(EventType::Track, "1".into());
    let good: Value = serde_json::from_str(TRACK_EVENT).unwrap();
    let expected = only(&route(&config, &good.to_string())).value_to_vec();
    for (number, reason) in [
        ("1e400", "number out of range"),
        ("-1e400", "number out of range"),
        ("18446744073709551616", "integer out of range"),
        ("-9223372036854775809", "integer out of range"),
    ] {
        let bad = TRACK_EVENT.replace(
            r#""locale": "en-GB","#,
            &format!(r#""locale": "en-GB", "extra": [1, {{"deep": [{number}]}}],"#),
        );
        let body = format!(r#"{{"batch":[{good},{bad},{good}]}}"#);
        let mut router = Router::new(&config, 7).unwrap();
        let out = route_with(&mut router, &body);
        let records: Vec<Record<'_>> = out.records().collect();
        assert_eq!(records.len(), 3, "{number}");
        assert_eq!(records[0].value_to_vec(), expected, "{number}");
        assert_eq!(records[2].value_to_vec(), expected, "{number}");
        assert_eq!(
            text(records[1].header("dlq_reason")),
            Some("avro_encoding"),
            "{number}"
        );
        let error = value_json(&records[1])["error"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(error.contains(reason), "{number}: {error}");
        // Alone, the same.
        let out = route_with(&mut router, &bad);
        let error = value_json(&only(&out))["error"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(error.contains(reason), "{number}: {error}");
    }
}
