#![no_main]
//! The router over arbitrary bytes: it never panics, every outcome names its
//! record (and the reverse), topics are legal and JSON values are JSON.
//! The same bytes through a router with an Avro schema: the same outcomes,
//! and each Avro datum encodes the JSON value the first router sends (or
//! the event is dead-lettered because that value does not fit the schema),
//! except where one of the two values is over `message.max.bytes`.
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use event_router::avro::{AvroSchema, JsonView};
use event_router::{AvroSchemaConfig, Outcome, Routed, Router, RouterConfig, ValueFormat};
use libfuzzer_sys::fuzz_target;

/// Every member optional; maps take any scalar, nested one level.
const SCHEMA: &str = r#"{"type": "record", "name": "E", "fields": [
  {"name": "type", "type": ["null", "string"], "default": null},
  {"name": "userId", "type": ["null", "string", "long", "double"], "default": null},
  {"name": "messageId", "type": ["null", "string"], "default": null},
  {"name": "receivedAt", "type": ["null", "string"], "default": null},
  {"name": "timestamp", "type": ["null", "string"], "default": null},
  {"name": "context", "type": ["null", {"type": "map", "values":
    ["null", "boolean", "long", "double", "string",
     {"type": "map", "values": ["null", "boolean", "long", "double", "string"]}]}], "default": null},
  {"name": "integrations", "type": ["null", {"type": "map", "values":
    ["null", "boolean", "long", "double", "string",
     {"type": "map", "values": ["null", "boolean", "long", "double", "string"]}]}], "default": null}
]}"#;

fuzz_target!(|data: &[u8]| {
    let mut config = RouterConfig::new("events");
    config.multi_topic = true;
    config.clock_skew_correction = true;
    config.message_max_bytes = 4096;
    config.key_fields = vec![
        "context.traits.email".into(),
        "userId".into(),
        "anonymousId".into(),
    ];
    config.partition_field = Some("properties.partition".into());
    config
        .header_fields
        .insert("lib".into(), "context.library.name".into());
    config
        .track_topics
        .insert("Order Completed".into(), "orders".into());
    let mut avro_config = config.clone();
    avro_config.avro.schemas = vec![AvroSchemaConfig {
        id: "e".into(),
        schema: SCHEMA.into(),
    }];
    avro_config.avro.default_schema = Some("e".into());
    let mut router = Router::new(&config, 7).expect("valid config");
    let mut out = Routed::new();
    let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    router.route(Bytes::copy_from_slice(data), now, &mut out);
    if let Err(e) = out.verify() {
        panic!("{e}");
    }
    assert_eq!(out.outcomes().len() as u64, router.stats().events);

    let mut avro_router = Router::new(&avro_config, 7).expect("valid config");
    let mut avro = Routed::new();
    avro_router.route(Bytes::copy_from_slice(data), now, &mut avro);
    if let Err(e) = avro.verify() {
        panic!("{e}");
    }
    assert_eq!(avro.outcomes().len(), out.outcomes().len());
    let schema = AvroSchema::compile(SCHEMA).expect("valid schema");
    let mut view = JsonView::new();
    let too_large = |routed: &Routed, outcome: &Outcome| match outcome {
        Outcome::DeadLettered { record, .. } => routed
            .record(*record)
            .is_some_and(|r| r.header("dlq_reason") == Some(&b"message_too_large"[..])),
        _ => false,
    };
    for (json, a) in out.outcomes().iter().zip(avro.outcomes()) {
        // The two values differ in size, so only one may be over the limit.
        if too_large(&out, json) || too_large(&avro, a) {
            continue;
        }
        match (json, a) {
            (Outcome::Routed { record: j }, _) => {
                let value = out.record(*j).expect("record").value_to_vec();
                let mut expected = Vec::new();
                let fits =
                    view.parse(&value).is_ok() && schema.encode_view(&view, &mut expected).is_ok();
                match a {
                    Outcome::Routed { record } if fits => {
                        let r = avro.record(*record).expect("record");
                        assert_eq!(r.format(), ValueFormat::Avro);
                        assert_eq!(r.value_to_vec(), expected);
                    }
                    Outcome::DeadLettered { record, .. } if !fits => {
                        let r = avro.record(*record).expect("record");
                        assert_eq!(r.header("dlq_reason"), Some(&b"avro_encoding"[..]));
                    }
                    other => panic!("fits {fits}, Avro route {other:?}"),
                }
            }
            (Outcome::Skipped, Outcome::Skipped) => {}
            (Outcome::DeadLettered { .. }, Outcome::DeadLettered { .. }) => {}
            (j, a) => panic!("JSON route {j:?}, Avro route {a:?}"),
        }
    }
});
