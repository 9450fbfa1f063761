//! Record batch compression cost per MiB for each codec, on a 1 MiB batch
//! (the default `batch.size`) of analytics-event JSON records.
//!
//! - `compress/<codec>`: `Compressor::compress` of the records section, the
//!   work added when a batch is sealed.
//! - `decompress/<codec>`: `Decompressor::decompress` of that stream.
//! - `seal/<codec>`: append the records and seal, with the builder's buffer
//!   and the compressor reused as the producer does (`seal/none` is the
//!   uncompressed baseline).
//! - `alt_*`: the libraries not chosen, on the same bytes, for
//!   docs/benchmarks.md: miniz_oxide (flate2's default backend), the C lz4
//!   library, and ruzstd (pure-Rust zstd).
//!
//! Throughput is in bytes of the uncompressed records section.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::Duration;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kafka_wire::compression::{Compressor, Decompressor};
use kafka_wire::record::{BatchBuilder, Compression, ProducerFields, BATCH_HEADER_LEN};

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// (timestamp, key, value) of track events, about 1 MiB once encoded.
fn records() -> Vec<(i64, Vec<u8>, Vec<u8>)> {
    let events = [
        "Order Completed",
        "Product Viewed",
        "Page Viewed",
        "Signed Up",
        "Cart Updated",
    ];
    let mut x: u64 = 0x1234_5678;
    let mut out = Vec::new();
    let mut total = 0;
    let mut i = 0u64;
    while total < (1 << 20) - 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let e = events[(x % 5) as usize];
        let value = format!(
            r#"{{"type":"track","event":"{e}","userId":"user-{}","anonymousId":"{:016x}","messageId":"{:032x}","timestamp":"2024-05-{:02}T12:{:02}:{:02}.{:03}Z","properties":{{"revenue":{}.{:02},"currency":"USD","product_id":"sku-{}","quantity":{}}},"context":{{"ip":"10.{}.{}.{}","library":{{"name":"analytics-python","version":"2.3.2"}},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)"}}}}"#,
            x % 10_000,
            x.rotate_left(17),
            u128::from(x) * 0x9e37_79b9_7f4a_7c15,
            1 + i % 28,
            i % 60,
            (i * 7) % 60,
            i % 1000,
            x % 500,
            x % 100,
            x % 977,
            1 + x % 5,
            x % 256,
            (x >> 8) % 256,
            (x >> 16) % 256
        )
        .into_bytes();
        let key = format!("user-{}", x % 10_000).into_bytes();
        total += value.len() + key.len() + 12;
        out.push((1_700_000_000_000 + i as i64, key, value));
        i += 1;
    }
    out
}

fn fill(buf: BytesMut, recs: &[(i64, Vec<u8>, Vec<u8>)]) -> BatchBuilder {
    let mut b = BatchBuilder::new(buf);
    for (ts, k, v) in recs {
        // Cannot fail for these sizes.
        let _ = b.append(*ts, Some(k), Some(v), &[]);
    }
    b
}

const PRODUCER: ProducerFields = ProducerFields {
    producer_id: 1000,
    producer_epoch: 0,
    base_sequence: 0,
};

fn compression(c: &mut Criterion) {
    let recs = records();
    let batch = fill(BytesMut::new(), &recs).seal(PRODUCER);
    let section = batch.slice(BATCH_HEADER_LEN..);
    let n = section.len() as u64;

    let mut g = c.benchmark_group("compress");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(n));
    for codec in CODECS {
        let mut comp = Compressor::new(codec, None).expect("codec built in");
        let ratio = comp.compress(&section).map_or(0, <[u8]>::len) as f64 / n as f64;
        eprintln!("{}: {n} -> ratio {ratio:.3}", codec.name());
        g.bench_function(BenchmarkId::new(codec.name(), "default"), |b| {
            b.iter(|| comp.compress(black_box(&section)).map_or(0, <[u8]>::len))
        });
    }
    for level in [1, 9] {
        let mut comp = Compressor::new(Compression::Gzip, Some(level)).expect("gzip");
        g.bench_function(BenchmarkId::new("gzip", level), |b| {
            b.iter(|| comp.compress(black_box(&section)).map_or(0, <[u8]>::len))
        });
    }
    for level in [1, 6] {
        let mut comp = Compressor::new(Compression::Zstd, Some(level)).expect("zstd");
        g.bench_function(BenchmarkId::new("zstd", level), |b| {
            b.iter(|| comp.compress(black_box(&section)).map_or(0, <[u8]>::len))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("decompress");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(n));
    for codec in CODECS {
        let z = Compressor::new(codec, None)
            .expect("codec built in")
            .compress(&section)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let mut d = Decompressor::new();
        g.bench_function(codec.name(), |b| {
            b.iter(|| d.decompress(codec, black_box(&z)).map_or(0, |o| o.len()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("seal");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(n));
    for codec in std::iter::once(Compression::None).chain(CODECS) {
        let mut comp = Compressor::new(codec, None).expect("codec built in");
        g.bench_function(codec.name(), |b| {
            let mut spare = BytesMut::with_capacity(batch.len());
            b.iter(|| {
                let sealed =
                    fill(std::mem::take(&mut spare), &recs).seal_compressed(PRODUCER, &mut comp);
                spare = if sealed.spare.capacity() > 0 {
                    sealed.spare
                } else {
                    // Uncompressed: the batch is the buffer; take it back.
                    let len = sealed.batch.len();
                    sealed
                        .batch
                        .try_into_mut()
                        .unwrap_or_else(|_| BytesMut::with_capacity(len))
                };
                spare.capacity()
            })
        });
    }
    g.finish();

    alternatives(c, &section);
}

/// The libraries not chosen, on the same bytes and framing.
fn alternatives(c: &mut Criterion, section: &[u8]) {
    let n = section.len();
    let mut g = c.benchmark_group("alt_compress");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(n as u64));
    for level in [1u8, 6] {
        use miniz_oxide::deflate::core::{
            compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush,
        };
        let mut out = vec![0u8; n + n / 8 + 1024];
        let mut c =
            CompressorOxide::new(create_comp_flags_from_zip_params(i32::from(level), -15, 0));
        let (_, _, written) = compress(&mut c, section, &mut out, TDEFLFlush::Finish);
        eprintln!(
            "miniz_oxide level {level}: ratio {:.3}",
            written as f64 / n as f64
        );
        g.bench_function(BenchmarkId::new("gzip_miniz_oxide", level), |b| {
            b.iter(|| {
                c.reset();
                let (_, _, written) =
                    compress(&mut c, black_box(section), &mut out, TDEFLFlush::Finish);
                written
            })
        });
    }
    let mut out = Vec::with_capacity(n + n / 8);
    g.bench_function("lz4_c_frame", |b| {
        b.iter(|| {
            out.clear();
            let Ok(mut e) = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .build(&mut out)
            else {
                return 0;
            };
            let _ = e.write_all(black_box(section));
            let (_, r) = e.finish();
            r.map_or(0, |()| out.len())
        })
    });
    let mut out: Vec<u8> = Vec::with_capacity(n);
    ruzstd::encoding::compress(
        section,
        &mut out,
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    eprintln!("ruzstd fastest: ratio {:.3}", out.len() as f64 / n as f64);
    g.bench_function("zstd_ruzstd_fastest", |b| {
        b.iter(|| {
            out.clear();
            ruzstd::encoding::compress(
                black_box(section),
                &mut out,
                ruzstd::encoding::CompressionLevel::Fastest,
            );
            out.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("alt_decompress");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(n as u64));
    let zstd = Compressor::new(Compression::Zstd, None)
        .expect("zstd")
        .compress(section)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let mut out = vec![0u8; n + 1024];
    let mut dec = ruzstd::decoding::FrameDecoder::new();
    g.bench_function("zstd_ruzstd", |b| {
        b.iter(|| dec.decode_all(black_box(&zstd), &mut out).unwrap_or(0))
    });
    let lz4 = Compressor::new(Compression::Lz4, None)
        .expect("lz4")
        .compress(section)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(n);
    g.bench_function("lz4_c_frame", |b| {
        b.iter(|| {
            out.clear();
            lz4::Decoder::new(black_box(&lz4[..]))
                .and_then(|mut d| d.read_to_end(&mut out))
                .unwrap_or(0)
        })
    });
    let deflate = miniz_oxide::deflate::compress_to_vec(section, 6);
    g.bench_function("gzip_miniz_oxide", |b| {
        b.iter(|| {
            miniz_oxide::inflate::decompress_to_vec(black_box(&deflate)).map_or(0, |v| v.len())
        })
    });
    g.finish();
}

criterion_group!(benches, compression);
criterion_main!(benches);
