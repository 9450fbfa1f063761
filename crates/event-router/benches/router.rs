//! Router throughput: events per second on one core.
//!
//! - `route`: scan, validate, route, splice; records point into the body.
//! - `route+copy`: the same, then every record's key, headers and value are
//!   copied into one buffer, as the producer's batch builder does (the one copy).
//! - `route avro`: routed with an Avro schema per event.
//! - `baseline simd-json`: `simd_json::to_borrowed_value` over the same bytes
//!   (with the copy of the body it needs, since it parses in place), for
//!   comparison with the router's own scanner.
//!
//! Inputs: a Segment `Order Completed` track event as an SDK sends it
//! (minified, 789 bytes), and a batch body of 500 of them.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use event_router::avro::example::{TRACK_EVENT, TRACK_SCHEMA};
use event_router::{AvroSchemaConfig, EventType, Routed, Router, RouterConfig};

const BATCH: usize = 500;

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

fn track_event() -> String {
    minify(TRACK_EVENT)
}

fn batch_body() -> Bytes {
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

fn json_config() -> RouterConfig {
    let mut c = RouterConfig::new("events");
    c.multi_topic = true;
    c.track_topics
        .insert("Order Completed".into(), "orders".into());
    c.type_topics.insert(EventType::Identify, "users".into());
    c
}

fn avro_config() -> RouterConfig {
    let mut c = json_config();
    c.avro.confluent_wire_format = true;
    c.avro.schemas = vec![AvroSchemaConfig {
        id: "1".into(),
        schema: TRACK_SCHEMA.into(),
    }];
    c.avro.type_schemas.insert(EventType::Track, "1".into());
    c
}

fn copy_out(out: &Routed, batch: &mut Vec<u8>) {
    batch.clear();
    for r in out.records() {
        if let Some(k) = r.key() {
            batch.extend_from_slice(k);
        }
        for (k, v) in r.headers() {
            batch.extend_from_slice(k);
            batch.extend_from_slice(v.unwrap_or_default());
        }
        for c in r.value_chunks() {
            batch.extend_from_slice(c);
        }
    }
}

fn bench(c: &mut Criterion) {
    let now = UNIX_EPOCH + Duration::from_millis(1_709_641_879_002);
    let single = Bytes::from(track_event());
    assert!((500..=800).contains(&single.len()), "{}", single.len());
    let batch = batch_body();
    let inputs = [
        ("track event", single, 1u64),
        ("batch of 500", batch, BATCH as u64),
    ];

    for (name, config) in [("json", json_config()), ("avro", avro_config())] {
        let mut router = Router::new(&config, 1).expect("config");
        let mut out = Routed::new();
        // Check the input routes as intended before measuring it.
        router.route(inputs[0].1.clone(), now, &mut out);
        assert_eq!(out.dead_lettered(), 0, "{:?}", out.outcomes());
        let mut group = c.benchmark_group(format!("route {name}"));
        for (input, body, events) in &inputs {
            group.throughput(Throughput::Elements(*events));
            group.bench_function(*input, |b| {
                b.iter(|| {
                    router.route(black_box(body.clone()), now, &mut out);
                    black_box(out.len())
                })
            });
            if name == "json" {
                let mut sink = Vec::with_capacity(body.len() * 2);
                group.bench_function(format!("{input} + copy"), |b| {
                    b.iter(|| {
                        router.route(black_box(body.clone()), now, &mut out);
                        copy_out(&out, &mut sink);
                        black_box(sink.len())
                    })
                });
            }
        }
        group.finish();
    }

    let mut group = c.benchmark_group("baseline simd-json");
    let mut scratch = Vec::new();
    for (input, body, events) in &inputs {
        group.throughput(Throughput::Elements(*events));
        group.bench_function(format!("{input} to_borrowed_value"), |b| {
            b.iter(|| {
                scratch.clear();
                scratch.extend_from_slice(body);
                let v = simd_json::to_borrowed_value(&mut scratch).expect("json");
                black_box(&v);
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
