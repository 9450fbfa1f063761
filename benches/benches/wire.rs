//! kafka-wire hot paths: record batch encoding, the batch view with CRC
//! check, murmur2 and CRC-32C.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kafka_wire::murmur2::murmur2;
use kafka_wire::record::{BatchBuilder, ProducerFields, RecordBatch};

const RECORDS: usize = 1000;

fn keys() -> Vec<[u8; 16]> {
    (0..RECORDS)
        .map(|i| {
            let mut k = [b'0'; 16];
            let s = format!("user-{i:011}");
            k.copy_from_slice(s.as_bytes());
            k
        })
        .collect()
}

fn build(buf: BytesMut, keys: &[[u8; 16]], value: &[u8]) -> Bytes {
    let mut b = BatchBuilder::new(buf);
    let ts = 1_700_000_000_000i64;
    for (i, k) in keys.iter().enumerate() {
        // Appending cannot fail for these sizes.
        let _ = b.append(ts + i as i64, Some(k), Some(value), &[]);
    }
    b.seal(ProducerFields {
        producer_id: 1000,
        producer_epoch: 0,
        base_sequence: 0,
    })
}

fn batch_encode(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("record_batch_encode");
    for size in [100usize, 1024] {
        let value = vec![b'v'; size];
        let batch_len = build(BytesMut::new(), &keys, &value).len();
        g.throughput(Throughput::Elements(RECORDS as u64));
        g.bench_with_input(BenchmarkId::new("records", size), &value, |b, value| {
            // Reuse one buffer, as the producer's pool does.
            let mut buf = BytesMut::with_capacity(batch_len);
            b.iter(|| {
                let out = build(std::mem::take(&mut buf), &keys, value);
                let len = out.len();
                // Give the allocation back when we hold the only reference.
                buf = out
                    .try_into_mut()
                    .unwrap_or_else(|_| BytesMut::with_capacity(len));
                len
            })
        });
        g.throughput(Throughput::Bytes(batch_len as u64));
        g.bench_with_input(BenchmarkId::new("bytes", size), &value, |b, value| {
            let mut buf = BytesMut::with_capacity(batch_len);
            b.iter(|| {
                let out = build(std::mem::take(&mut buf), &keys, value);
                let len = out.len();
                buf = out
                    .try_into_mut()
                    .unwrap_or_else(|_| BytesMut::with_capacity(len));
                len
            })
        });
    }
    g.finish();
}

fn batch_view(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("record_batch_view_crc");
    for size in [100usize, 1024] {
        let value = vec![b'v'; size];
        let batch = build(BytesMut::new(), &keys, &value);
        g.throughput(Throughput::Elements(RECORDS as u64));
        g.bench_with_input(BenchmarkId::new("records", size), &batch, |b, batch| {
            b.iter(|| {
                let view = RecordBatch::parse(batch.clone()).expect("valid batch");
                view.verify_crc().expect("crc");
                let mut n = 0usize;
                for r in view.records().expect("uncompressed") {
                    n += r.expect("record").value.map_or(0, |v| v.len());
                }
                n
            })
        });
        g.throughput(Throughput::Bytes(batch.len() as u64));
        g.bench_with_input(BenchmarkId::new("bytes", size), &batch, |b, batch| {
            b.iter(|| {
                let view = RecordBatch::parse(batch.clone()).expect("valid batch");
                view.verify_crc().expect("crc");
                view.records().expect("uncompressed").count()
            })
        });
    }
    g.finish();
}

fn murmur(c: &mut Criterion) {
    let mut g = c.benchmark_group("murmur2");
    for size in [16usize, 64] {
        let key: Vec<u8> = (0..size as u8).collect();
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("keys", size), &key, |b, key| {
            b.iter(|| murmur2(std::hint::black_box(key)))
        });
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("bytes", size), &key, |b, key| {
            b.iter(|| murmur2(std::hint::black_box(key)))
        });
    }
    g.finish();
}

fn crc(c: &mut Criterion) {
    // What the codec uses (`kafka_wire::crc`, the `crc-fast` crate) against
    // the `crc32c` crate it used before, over a whole batch and over one
    // step of the encoder's running checksum.
    let data = vec![0xa5u8; 1 << 20];
    let mut g = c.benchmark_group("crc32c");
    for (name, len) in [("1MiB", 1 << 20), ("24KiB", 24 * 1024)] {
        let slice = &data[..len];
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("ours/{name}"), |b| {
            b.iter(|| kafka_wire::crc::crc32c(std::hint::black_box(slice)))
        });
        g.bench_function(format!("crc32c_crate/{name}"), |b| {
            b.iter(|| crc32c::crc32c(std::hint::black_box(slice)))
        });
    }
    g.finish();
}

criterion_group!(benches, batch_encode, batch_view, murmur, crc);
criterion_main!(benches);
