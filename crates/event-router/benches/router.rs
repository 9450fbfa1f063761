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
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use event_router::{Routed, Router};

mod inputs;
use inputs::{avro_config, batch_body, json_config, now, track_event, BATCH};

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
    let now = now();
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
