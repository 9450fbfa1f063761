//! Routes the benchmark inputs a fixed number of times, for instruction
//! counts that do not depend on machine load:
//!
//! ```sh
//! cargo build --profile bench -p event-router --example instructions
//! valgrind --tool=callgrind --toggle-collect='*Router::route*' \
//!     target/release/examples/instructions json single 2000
//! ```
//!
//! Instructions per event = `Ir` / (iterations x events per body). Modes:
//! `json` or `avro`; inputs: `single` (the 789-byte track event of
//! `benches/router.rs`) or `batch` (500 of them in one body).

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use event_router::avro::example::{TRACK_EVENT, TRACK_SCHEMA};
use event_router::{AvroSchemaConfig, EventType, Routed, Router, RouterConfig};

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("json", String::as_str);
    let input = args.get(2).map_or("single", String::as_str);
    let iterations: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1000);

    let mut config = RouterConfig::new("events");
    config.multi_topic = true;
    config
        .track_topics
        .insert("Order Completed".into(), "orders".into());
    config
        .type_topics
        .insert(EventType::Identify, "users".into());
    if mode == "avro" {
        config.avro.confluent_wire_format = true;
        config.avro.schemas = vec![AvroSchemaConfig {
            id: "1".into(),
            schema: TRACK_SCHEMA.into(),
        }];
        config
            .avro
            .type_schemas
            .insert(EventType::Track, "1".into());
    }
    let event = minify(TRACK_EVENT);
    let body = if input == "batch" {
        let mut body = String::from(r#"{"batch":["#);
        for i in 0..500 {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&event);
        }
        body.push_str(r#"],"sentAt":"2024-03-05T12:31:19.002Z"}"#);
        Bytes::from(body)
    } else {
        Bytes::from(event)
    };
    let now = UNIX_EPOCH + Duration::from_millis(1_709_641_879_002);
    let mut router = Router::new(&config, 1).expect("config");
    let mut out = Routed::new();
    router.route(body.clone(), now, &mut out);
    assert_eq!(out.dead_lettered(), 0, "{:?}", out.outcomes());
    for _ in 0..iterations {
        router.route(black_box(body.clone()), now, &mut out);
        black_box(out.len());
    }
}
