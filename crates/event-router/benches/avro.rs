//! Avro encode throughput for a realistic track event: from a simd-json
//! value, simd-json parse + encode, and the router's path (scanner-built
//! `JsonView` + `encode_view`).
//!
//! `cargo bench -p event-router --bench avro`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use event_router::avro::example::{TRACK_EVENT, TRACK_SCHEMA};
use event_router::avro::{confluent_header, AvroSchema, JsonView};

fn encode(c: &mut Criterion) {
    let schema = AvroSchema::compile(TRACK_SCHEMA).expect("example schema compiles");
    let mut text = TRACK_EVENT.as_bytes().to_vec();
    let value = simd_json::to_borrowed_value(&mut text).expect("example event parses");
    let mut group = c.benchmark_group("avro");
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(1024);
    group.bench_function("encode_track_event", |b| {
        b.iter(|| {
            out.clear();
            confluent_header(7, &mut out);
            schema.encode(black_box(&value), &mut out).expect("encodes");
            black_box(out.len())
        })
    });
    let compact = {
        let mut t = TRACK_EVENT.as_bytes().to_vec();
        simd_json::to_borrowed_value(&mut t)
            .map(|v| simd_json::prelude::Writable::encode(&v))
            .expect("parses")
    };
    let mut scratch = Vec::with_capacity(compact.len());
    group.bench_function("parse_and_encode_track_event", |b| {
        b.iter(|| {
            scratch.clear();
            scratch.extend_from_slice(compact.as_bytes());
            let value = simd_json::to_borrowed_value(&mut scratch).expect("parses");
            out.clear();
            schema.encode(&value, &mut out).expect("encodes");
            black_box(out.len())
        })
    });
    let mut view = JsonView::new();
    group.bench_function("view_parse_and_encode_track_event", |b| {
        b.iter(|| {
            view.parse(black_box(compact.as_bytes())).expect("parses");
            out.clear();
            schema.encode_view(&view, &mut out).expect("encodes");
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
