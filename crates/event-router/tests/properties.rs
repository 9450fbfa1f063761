//! Property tests: routing never panics, and every input event yields exactly
//! one record, one dead-letter record or one counted skip, as a simple model
//! of the rules predicts.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use event_router::avro::{AvroSchema, JsonView};
use event_router::{topic, AvroSchemaConfig, Outcome, Routed, Router, RouterConfig, ValueFormat};
use proptest::prelude::*;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{json, Map, Value};

const NOW_TEXT: &str = "2022-06-22T07:01:15.656Z";

fn router() -> Router {
    let mut c = RouterConfig::new("events");
    c.message_max_bytes = 4096;
    Router::new(&c, 3).unwrap()
}

fn route(router: &mut Router, body: Vec<u8>) -> Routed {
    let now = UNIX_EPOCH + Duration::from_millis(1_655_881_275_656);
    let mut out = Routed::new();
    router.route(Bytes::from(body), now, &mut out);
    out
}

/// Top-level keys of a JSON object, in order, duplicates kept.
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some((k, _)) = map.next_entry::<String, IgnoredAny>()? {
                    keys.push(k);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

// ---------------------------------------------------------------- model

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Routed { topic: String, key: Option<String> },
    Dead,
    Skipped,
}

fn is_id(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::String(_) | Value::Number(_)))
}

fn merged<'a>(
    event: &'a Value,
    batch: Option<&'a Value>,
    field: &str,
    name: &str,
) -> Option<&'a Value> {
    match event.get(field) {
        Some(Value::Object(o)) if o.get(name).is_some() => o.get(name),
        Some(Value::Object(_) | Value::Null) | None => {
            batch.and_then(|b| b.get(field)).and_then(|o| o.get(name))
        }
        Some(_) => None,
    }
}

fn model(event: &Value, batch: Option<&Value>) -> Expect {
    let Value::Object(o) = event else {
        return Expect::Dead;
    };
    let ty = match o.get("type") {
        Some(Value::String(t)) => t.as_str(),
        _ => return Expect::Dead,
    };
    if !["track", "identify", "page", "screen", "group", "alias"].contains(&ty) {
        return Expect::Dead;
    }
    if !is_id(o.get("userId")) && !is_id(o.get("anonymousId")) {
        return Expect::Dead;
    }
    match (ty, o.get("event")) {
        ("track", Some(Value::String(e))) if !e.is_empty() => {}
        ("track", _) => return Expect::Dead,
        (_, None | Some(Value::Null | Value::String(_))) => {}
        (_, Some(_)) => return Expect::Dead,
    }
    if (ty == "group" && !is_id(o.get("groupId")))
        || (ty == "alias" && !(is_id(o.get("userId")) && is_id(o.get("previousId"))))
    {
        return Expect::Dead;
    }
    if !matches!(
        o.get("messageId"),
        None | Some(Value::Null | Value::String(_))
    ) {
        return Expect::Dead;
    }
    let present = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    let batch_int = batch
        .and_then(|b| b.get("integrations"))
        .filter(|i| i.as_object().is_some_and(|m| !m.is_empty()));
    let batch_wrap = batch_int.map(|i| json!({ "integrations": i }));
    let own = |name: &str| present(merged(event, None, "integrations", name));
    let from_batch = |name: &str| present(merged(event, batch_wrap.as_ref(), "integrations", name));
    let kafka = own("Kafka")
        .or_else(|| own("KAFKA"))
        .or_else(|| from_batch("Kafka").or_else(|| from_batch("KAFKA")));
    let kafka = match event.get("integrations") {
        Some(Value::Object(_) | Value::Null) | None => kafka,
        Some(_) => None,
    };
    let all = merged(event, batch_wrap.as_ref(), "integrations", "All").cloned();
    let enabled = match &kafka {
        Some(Value::Bool(b)) => *b,
        Some(Value::Object(_)) => true,
        _ => all != Some(Value::Bool(false)),
    };
    if !enabled {
        return Expect::Skipped;
    }
    let topic = match kafka.as_ref().and_then(|k| k.get("topic")) {
        Some(Value::String(t)) if !t.is_empty() => topic::sanitize(t),
        _ => "events".to_owned(),
    };
    let key = ["userId", "anonymousId"]
        .iter()
        .find_map(|k| match o.get(*k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
    Expect::Routed { topic, key }
}

// ---------------------------------------------------------------- generators

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        "[a-zA-Z0-9 _$%./\"\\\\\u{e9}\u{1F600}-]{0,12}".prop_map(Value::String),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

fn maybe(s: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(0.6, s)
}

fn integrations() -> BoxedStrategy<Value> {
    let kafka = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        "[a-z$ %.]{0,8}".prop_map(|t| json!({ "topic": t })),
        scalar().prop_map(|t| json!({ "topic": t })),
    ];
    (
        maybe(kafka.clone()),
        maybe(kafka),
        maybe(scalar()),
        maybe(scalar()),
    )
        .prop_map(|(k, ku, all, other)| {
            let mut m = Map::new();
            if let Some(k) = k {
                m.insert("Kafka".into(), k);
            }
            if let Some(k) = ku {
                m.insert("KAFKA".into(), k);
            }
            if let Some(a) = all {
                m.insert("All".into(), a);
            }
            if let Some(o) = other {
                m.insert("Segment.io".into(), o);
            }
            Value::Object(m)
        })
        .boxed()
}

fn event() -> BoxedStrategy<Value> {
    let ty = prop_oneof![
        4 => prop::sample::select(vec!["track", "identify", "page", "screen", "group", "alias"])
            .prop_map(Value::from),
        1 => scalar(),
    ];
    let id = prop_oneof![
        "[a-z0-9]{0,8}".prop_map(Value::String),
        (0i64..100000).prop_map(Value::from),
        scalar(),
    ];
    (
        (
            maybe(ty),
            maybe(id.clone()),
            maybe(id.clone()),
            maybe(scalar()),
        ),
        (
            maybe(id.clone()),
            maybe(id),
            maybe(scalar()),
            maybe(scalar()),
        ),
        (
            maybe(json_value()),
            maybe(prop_oneof![integrations(), scalar()]),
            maybe(json_value()),
        ),
    )
        .prop_map(
            |((ty, user, anon, ev), (group, prev, mid, received), (ctx, int, props))| {
                let mut m = Map::new();
                for (k, v) in [
                    ("type", ty),
                    ("userId", user),
                    ("anonymousId", anon),
                    ("event", ev),
                    ("groupId", group),
                    ("previousId", prev),
                    ("messageId", mid),
                    ("receivedAt", received),
                    ("context", ctx),
                    ("integrations", int),
                    ("properties", props),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                Value::Object(m)
            },
        )
        .boxed()
}

#[derive(Debug, Clone)]
struct Body {
    events: Vec<Value>,
    batch: Option<Value>,
    pretty: bool,
}

fn body() -> BoxedStrategy<Body> {
    let element = prop_oneof![8 => event(), 1 => scalar()];
    prop_oneof![
        (event(), any::<bool>()).prop_map(|(e, pretty)| Body {
            events: vec![e],
            batch: None,
            pretty
        }),
        (
            prop::collection::vec(element, 0..6),
            maybe(json_value()),
            maybe(integrations()),
            any::<bool>()
        )
            .prop_map(|(events, ctx, int, pretty)| {
                let mut b = Map::new();
                if let Some(c) = ctx {
                    b.insert("context".into(), c);
                }
                if let Some(i) = int {
                    b.insert("integrations".into(), i);
                }
                b.insert("sentAt".into(), NOW_TEXT.into());
                Body {
                    events,
                    batch: Some(Value::Object(b)),
                    pretty,
                }
            }),
    ]
    .boxed()
}

fn render(b: &Body) -> Vec<u8> {
    let value = match &b.batch {
        None => b.events[0].clone(),
        Some(Value::Object(m)) => {
            let mut m = m.clone();
            m.insert("batch".into(), Value::Array(b.events.clone()));
            Value::Object(m)
        }
        Some(other) => other.clone(),
    };
    if b.pretty {
        serde_json::to_vec_pretty(&value).unwrap()
    } else {
        serde_json::to_vec(&value).unwrap()
    }
}

/// A schema most generated events fit (and some do not, which must then
/// dead-letter on both sides of the comparison below).
const LOOSE_SCHEMA: &str = r#"{"type": "record", "name": "E", "fields": [
  {"name": "type", "type": "string"},
  {"name": "messageId", "type": "string"},
  {"name": "receivedAt", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "userId", "type": ["null", "string", "long", "double", "boolean"], "default": null},
  {"name": "anonymousId", "type": ["null", "string", "long", "double", "boolean"], "default": null},
  {"name": "event", "type": ["null", "string", "long", "double", "boolean"], "default": null},
  {"name": "context", "type": ["null", {"type": "map", "values":
    ["null", "boolean", "long", "double", "string", {"type": "array", "items": "string"},
     {"type": "map", "values": ["null", "boolean", "long", "double", "string"]}]}], "default": null},
  {"name": "integrations", "type": ["null", {"type": "map", "values":
    ["null", "boolean", "long", "double", "string",
     {"type": "map", "values": ["null", "boolean", "long", "double", "string"]}]}], "default": null}
]}"#;

fn avro_router() -> Router {
    let mut c = RouterConfig::new("events");
    c.message_max_bytes = 4096;
    c.avro.schemas = vec![AvroSchemaConfig {
        id: "loose".into(),
        schema: LOOSE_SCHEMA.into(),
    }];
    c.avro.default_schema = Some("loose".into());
    Router::new(&c, 3).unwrap()
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn routing_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut r = router();
        let out = route(&mut r, bytes);
        prop_assert!(out.verify().is_ok(), "{:?}", out.verify());
        prop_assert_eq!(out.outcomes().len() as u64, r.stats().events);
    }

    #[test]
    fn routing_never_panics_on_json_like_text(
        text in "[\\[\\]{}\":,0-9a-zA-Z\\\\ .eE+-]{0,64}",
        prefix in prop::sample::select(vec!["", "{\"batch\":[", "{\"type\":\"track\",", "{\"batch\":[{"]),
    ) {
        let mut r = router();
        let out = route(&mut r, format!("{prefix}{text}").into_bytes());
        prop_assert!(out.verify().is_ok(), "{:?}", out.verify());
        let batch = prefix.starts_with("{\"batch\"");
        prop_assert!(!out.outcomes().is_empty() || batch, "no outcome");
    }

    #[test]
    fn every_event_has_exactly_one_outcome_as_modelled(b in body()) {
        let mut r = router();
        let text = render(&b);
        let out = route(&mut r, text.clone());
        prop_assert!(out.verify().is_ok(), "{:?}", out.verify());
        prop_assert_eq!(out.outcomes().len(), b.events.len());
        let s = r.stats();
        prop_assert_eq!(s.routed + s.dead_lettered + s.skipped, b.events.len() as u64);

        for (i, (event, outcome)) in b.events.iter().zip(out.outcomes()).enumerate() {
            let expect = model(event, b.batch.as_ref());
            match (outcome, &expect) {
                (Outcome::Skipped, Expect::Skipped) => {}
                (Outcome::DeadLettered { record, .. }, Expect::Dead) => {
                    let r = out.record(*record).unwrap();
                    prop_assert_eq!(r.topic(), "events-dlq");
                    prop_assert_eq!(r.event_index(), i);
                    let v: Value = serde_json::from_slice(&r.value_to_vec()).unwrap();
                    let original: Value = serde_json::from_str(v["event"].as_str().unwrap()).unwrap();
                    prop_assert_eq!(&original, event);
                }
                (Outcome::Routed { record }, Expect::Routed { topic, key }) => {
                    let r = out.record(*record).unwrap();
                    prop_assert_eq!(r.format(), ValueFormat::Json);
                    prop_assert_eq!(r.topic(), topic.as_str());
                    prop_assert_eq!(r.key().map(|k| String::from_utf8(k.to_vec()).unwrap()), key.clone());
                    let value = r.value_to_vec();
                    let keys: Keys = serde_json::from_slice(&value).unwrap();
                    let mut sorted = keys.0.clone();
                    sorted.sort();
                    sorted.dedup();
                    prop_assert_eq!(sorted.len(), keys.0.len(), "duplicate keys in {:?}", keys.0);
                    let v: Value = serde_json::from_slice(&value).unwrap();
                    prop_assert_eq!(&v["receivedAt"], NOW_TEXT);
                    let id = v["messageId"].as_str().unwrap();
                    prop_assert!(!id.is_empty());
                    prop_assert_eq!(r.header("message_id"), Some(id.as_bytes()));
                    // Every original member is kept unchanged, except the
                    // enriched ones and merged context / integrations.
                    for (k, original) in event.as_object().unwrap() {
                        if ["receivedAt", "messageId", "context", "integrations"].contains(&k.as_str()) {
                            continue;
                        }
                        prop_assert_eq!(&v[k], original, "member {}", k);
                    }
                    if let Some(Value::String(m)) = event.get("messageId") {
                        if !m.is_empty() {
                            prop_assert_eq!(id, m.as_str());
                        }
                    }
                }
                (got, want) => prop_assert!(false, "event {}: got {:?}, model says {:?}\n{}", i, got, want,
                    String::from_utf8_lossy(&text)),
            }
        }
    }

    /// The Avro route encodes exactly the enriched JSON the JSON route
    /// sends (indexed here by the validating parser), or dead-letters the
    /// events whose enriched JSON does not fit the schema.
    #[test]
    fn avro_route_encodes_the_enriched_json(b in body()) {
        let text = render(&b);
        let json = route(&mut router(), text.clone());
        let avro = route(&mut avro_router(), text.clone());
        let schema = AvroSchema::compile(LOOSE_SCHEMA).unwrap();
        prop_assert_eq!(json.outcomes().len(), avro.outcomes().len());
        for (i, (j, a)) in json.outcomes().iter().zip(avro.outcomes()).enumerate() {
            match (j, a) {
                (Outcome::Routed { record: jr }, _) => {
                    let enriched = json.record(*jr).unwrap().value_to_vec();
                    let mut view = JsonView::new();
                    view.parse(&enriched).unwrap();
                    let mut expected = Vec::new();
                    let fits = schema.encode_view(&view, &mut expected).is_ok();
                    match a {
                        Outcome::Routed { record: ar } if fits => {
                            let r = avro.record(*ar).unwrap();
                            prop_assert_eq!(r.format(), ValueFormat::Avro);
                            prop_assert_eq!(r.value_to_vec(), expected, "event {}", i);
                        }
                        Outcome::DeadLettered { record: ar, .. } if !fits => {
                            let r = avro.record(*ar).unwrap();
                            prop_assert_eq!(r.header("dlq_reason"), Some(&b"avro_encoding"[..]));
                        }
                        other => prop_assert!(false, "event {}: fits {}, Avro route {:?}", i, fits, other),
                    }
                }
                (Outcome::Skipped, Outcome::Skipped) => {}
                (Outcome::DeadLettered { .. }, Outcome::DeadLettered { .. }) => {}
                (j, a) => prop_assert!(false, "event {}: JSON route {:?}, Avro route {:?}", i, j, a),
            }
        }
    }
}

/// Routes `text` through the JSON and the Avro router and checks that every
/// routed event's Avro datum is the encoding of the enriched JSON the JSON
/// route sends; returns those JSON values.
fn avro_matches_json(text: &str) -> Vec<Value> {
    let json = route(&mut router(), text.as_bytes().to_vec());
    let avro = route(&mut avro_router(), text.as_bytes().to_vec());
    let schema = AvroSchema::compile(LOOSE_SCHEMA).unwrap();
    assert_eq!(json.outcomes().len(), avro.outcomes().len(), "{text}");
    let mut values = Vec::new();
    for (j, a) in json.outcomes().iter().zip(avro.outcomes()) {
        let (Outcome::Routed { record: jr }, Outcome::Routed { record: ar }) = (j, a) else {
            panic!("not routed by both: {j:?} {a:?} in {text}");
        };
        let enriched = json.record(*jr).unwrap().value_to_vec();
        let mut view = JsonView::new();
        view.parse(&enriched).unwrap();
        let mut expected = Vec::new();
        schema.encode_view(&view, &mut expected).unwrap();
        assert_eq!(avro.record(*ar).unwrap().value_to_vec(), expected, "{text}");
        values.push(serde_json::from_slice(&enriched).unwrap());
    }
    values
}

/// The Avro route reads the event's own bytes with the enrichment laid
/// over them, or assembles the enriched text when the overlay cannot
/// express it; either way it encodes what the JSON route sends.
#[test]
fn avro_route_encodes_enrichment_as_the_json_route_sends_it() {
    let e = r#""type":"track","event":"E","userId":"u""#;
    // receivedAt replaced (a string, then an object), messageId kept.
    let v = avro_matches_json(&format!(
        r#"{{{e},"receivedAt":"x","messageId":"m1","context":{{"ip":"1"}}}}"#
    ));
    assert_eq!(v[0]["receivedAt"], NOW_TEXT);
    assert_eq!(v[0]["messageId"], "m1");
    avro_matches_json(&format!(r#"{{"receivedAt":{{"a":[1]}},{e}}}"#));
    // Generated messageId: missing, null, empty.
    for m in ["", r#","messageId":null"#, r#","messageId":"""#] {
        let v = avro_matches_json(&format!("{{{e}{m}}}"));
        assert!(!v[0]["messageId"].as_str().unwrap().is_empty());
        assert_eq!(v[0]["receivedAt"], NOW_TEXT);
    }
    // Repeated members: the last one is enriched, the encoder reads the first.
    avro_matches_json(&format!(
        r#"{{{e},"receivedAt":1,"messageId":"m0","receivedAt":2,"messageId":null,"event":"F"}}"#
    ));
    // Batch context and integrations: appended to an event without its
    // own, merged into the event's own object (the event wins), in place
    // of a null, and an event with both of its own.
    let v = avro_matches_json(&format!(
        r#"{{"batch":[
            {{{e}}},
            {{{e},"context":{{"ip":"event","locale":"fr"}},"integrations":{{"All":true}}}},
            {{{e},"context":null,"integrations":null}},
            {{{e},"context":{{}}}}
        ],"context":{{"ip":"batch","app":"a"}},"integrations":{{"Kafka":true}}}}"#
    ));
    assert_eq!(v[0]["context"], json!({"ip": "batch", "app": "a"}));
    assert_eq!(
        v[1]["context"],
        json!({"ip": "event", "locale": "fr", "app": "a"})
    );
    assert_eq!(v[1]["integrations"], json!({"All": true, "Kafka": true}));
    assert_eq!(v[2]["context"], json!({"ip": "batch", "app": "a"}));
    assert_eq!(v[3]["context"], json!({"ip": "batch", "app": "a"}));
    // A batch without context: the event's own members only.
    let v = avro_matches_json(&format!(
        r#"{{"batch":[{{{e},"context":{{"ip":"e"}}}},{{{e}}}]}}"#
    ));
    assert_eq!(v[0]["context"], json!({"ip": "e"}));
    assert_eq!(v[1].get("context"), None);
    // Text that is not ASCII or has escapes, and floats, in the event's own
    // members (read from the body) and in a batch context appended to an
    // event without one (read from the enrichment after it).
    let v = avro_matches_json(&format!(
        r#"{{"batch":[
            {{{e},"event":"caf\u00e9 é 😀","context":{{"é":"\"q\"","f":2.5e-3}}}},
            {{{e},"event":"x\ny"}}
        ],"context":{{"ñ":"ü 😀","g":-1.25,"esc":"a\\b\u0041","h":1e2}}}}"#
    ));
    assert_eq!(v[0]["event"], "café é 😀");
    assert_eq!(v[1]["event"], "x\ny");
    assert_eq!(
        v[1]["context"],
        json!({"ñ": "ü 😀", "g": -1.25, "esc": "a\\bA", "h": 100.0})
    );
    assert_eq!(v[0]["context"]["f"], 0.0025);
}
