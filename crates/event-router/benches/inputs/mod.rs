//! The router benchmark's inputs, shared by `benches/router.rs` and
//! `examples/instructions.rs` so that wall-clock and instruction figures
//! are of the same bodies and configs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use event_router::avro::example::{TRACK_EVENT, TRACK_SCHEMA};
use event_router::{AvroSchemaConfig, EventType, RouterConfig};

/// The time the inputs are routed at.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_709_641_879_002)
}

/// Events in the batch body.
pub const BATCH: usize = 500;

/// Drops the whitespace outside strings, as SDKs send events.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

pub fn track_event() -> String {
    minify(TRACK_EVENT)
}

pub fn batch_body() -> Bytes {
    let mut body = String::from(r#"{"batch":["#);
    for i in 0..BATCH {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&track_event());
    }
    body.push_str(r#"],"sentAt":"2024-03-05T12:31:19.002Z"}"#);
    Bytes::from(body)
}

pub fn json_config() -> RouterConfig {
    let mut c = RouterConfig::new("events");
    c.multi_topic = true;
    c.track_topics
        .insert("Order Completed".into(), "orders".into());
    c.type_topics.insert(EventType::Identify, "users".into());
    c
}

pub fn avro_config() -> RouterConfig {
    let mut c = json_config();
    c.avro.confluent_wire_format = true;
    c.avro.schemas = vec![AvroSchemaConfig {
        id: "1".into(),
        schema: TRACK_SCHEMA.into(),
    }];
    c.avro.type_schemas.insert(EventType::Track, "1".into());
    c
}
