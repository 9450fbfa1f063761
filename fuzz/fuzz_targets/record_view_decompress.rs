//! Arbitrary bytes through the batch view's decompressing path and through
//! each codec's decompressor: no panic, and never more output than the limit.
#![no_main]
use bytes::Bytes;
use kafka_wire::compression::Decompressor;
use kafka_wire::record::{Compression, RecordBatch};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let mut d = Decompressor::with_max_size(LIMIT);
    // As a `records` field: each batch decompressed by the codec its
    // attributes name, then its records iterated.
    for batch in RecordBatch::iter_all(Bytes::copy_from_slice(data)) {
        let Ok(batch) = batch else { break };
        let _ = batch.verify_crc();
        if let Ok(records) = batch.records_decompressed(&mut d) {
            for r in records.flatten() {
                let _ = r.headers().count();
            }
        }
    }
    // As a compressed stream of every codec.
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        if let Ok(out) = d.decompress(codec, data) {
            assert!(out.len() <= LIMIT);
        }
    }
});
