//! Compressed record batches: round trips per codec, differential tests
//! against the `kafka-protocol` crate's codecs (both directions), Kafka's
//! framing details, the decompression limit, and corrupt input.

use std::io::Write;

use bytes::BytesMut;
use kafka_protocol::records::{
    Compression as TheirCompression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use kafka_wire::compression::{CompressionError, Compressor, Decompressor};
use kafka_wire::record::{BatchBuilder, Compression, ProducerFields, RecordBatch};
use kafka_wire::DecodeError;
use proptest::prelude::*;

mod common;
use common::{append_all, theirs, Rec};

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

fn theirs_codec(c: Compression) -> TheirCompression {
    match c {
        Compression::None => TheirCompression::None,
        Compression::Gzip => TheirCompression::Gzip,
        Compression::Snappy => TheirCompression::Snappy,
        Compression::Lz4 => TheirCompression::Lz4,
        Compression::Zstd => TheirCompression::Zstd,
        other => panic!("no such codec {other:?}"),
    }
}

/// Analytics-like JSON: compressible, with some variety.
fn event(i: u64) -> Vec<u8> {
    let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!(
        r#"{{"type":"track","event":"Order Completed","userId":"user-{}","messageId":"{:016x}","properties":{{"revenue":{}.{:02},"currency":"USD"}},"context":{{"library":{{"name":"analytics-python","version":"2.3.2"}}}}}}"#,
        x % 10_000,
        x,
        x % 500,
        x % 100
    )
    .into_bytes()
}

fn events(n: u64) -> Vec<Rec> {
    (0..n)
        .map(|i| Rec {
            timestamp: 1_700_000_000_000 + i as i64 * 3,
            key: (i % 3 != 0).then(|| format!("user-{}", i % 17).into_bytes()),
            value: Some(event(i)),
            headers: if i % 5 == 0 {
                vec![("source".to_owned(), Some(b"web".to_vec()))]
            } else {
                Vec::new()
            },
        })
        .collect()
}

fn rec_strategy() -> impl Strategy<Value = Rec> {
    (
        0i64..4_000_000_000_000,
        proptest::option::of(proptest::collection::vec(0u8..4, 0..40)),
        // Low-entropy values, so most batches compress; the rest exercise
        // the uncompressed fallback.
        proptest::option::of(proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()],
            0..600,
        )),
        proptest::collection::btree_map(
            "[a-z_]{1,8}",
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            0..3,
        ),
    )
        .prop_map(|(timestamp, key, value, headers)| Rec {
            timestamp,
            key,
            value,
            headers: headers.into_iter().collect(),
        })
}

fn producer() -> ProducerFields {
    ProducerFields {
        producer_id: 42,
        producer_epoch: 3,
        base_sequence: 1_000,
    }
}

fn builder(recs: &[Rec], buf: BytesMut) -> BatchBuilder {
    let mut b = BatchBuilder::new(buf);
    append_all(&mut b, recs);
    b
}

fn check_records(view: &RecordBatch, d: &mut Decompressor, recs: &[Rec]) {
    view.verify_crc().unwrap();
    assert_eq!(view.record_count() as usize, recs.len());
    let base_ts = view.base_timestamp();
    let got: Vec<_> = view
        .records_decompressed(d)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), recs.len());
    for (i, (g, want)) in got.iter().zip(recs).enumerate() {
        assert_eq!(g.offset_delta as usize, i);
        assert_eq!(base_ts + g.timestamp_delta, want.timestamp);
        assert_eq!(g.key.as_deref(), want.key.as_deref());
        assert_eq!(g.value.as_deref(), want.value.as_deref());
        let hs: Vec<(String, Option<Vec<u8>>)> = g
            .headers()
            .map(|h| {
                (
                    String::from_utf8(h.key.to_vec()).unwrap(),
                    h.value.map(|v| v.to_vec()),
                )
            })
            .collect();
        assert_eq!(hs, want.headers);
    }
}

/// A compressed stream of `data` made by our compressor.
fn compress(codec: Compression, data: &[u8]) -> Vec<u8> {
    Compressor::new(codec, None)
        .unwrap()
        .compress(data)
        .unwrap()
        .to_vec()
}

#[test]
fn round_trip_each_codec() {
    let recs = events(500);
    let plain = builder(&recs, BytesMut::new()).seal(producer());
    let plain_view = RecordBatch::parse(plain.clone()).unwrap();
    let mut d = Decompressor::new();
    for codec in CODECS {
        let mut c = Compressor::new(codec, None).unwrap();
        let sealed = builder(&recs, BytesMut::new()).seal_compressed(producer(), &mut c);
        let view = RecordBatch::parse(sealed.batch.clone()).unwrap();
        assert_eq!(view.compression(), codec);
        assert!(
            sealed.batch.len() < plain.len() / 2,
            "{codec:?}: {} of {}",
            sealed.batch.len(),
            plain.len()
        );
        assert_eq!(view.producer_fields(), producer());
        assert_eq!(view.last_offset_delta(), 499);
        assert_eq!(view.base_timestamp(), plain_view.base_timestamp());
        assert_eq!(view.max_timestamp(), plain_view.max_timestamp());
        // The uncompressed records come back byte for byte.
        assert_eq!(view.decompress(&mut d).unwrap(), plain_view.records_bytes());
        check_records(&view, &mut d, &recs);
        // The plain view refuses it; the builder's buffer came back.
        assert!(matches!(
            view.records(),
            Err(DecodeError::UnsupportedCompression(_))
        ));
        assert!(sealed.spare.is_empty() && sealed.spare.capacity() >= plain.len());
    }
}

#[test]
fn every_level_round_trips() {
    let recs = events(100);
    let mut d = Decompressor::new();
    for (codec, levels) in [
        (Compression::Gzip, vec![0, 1, 6, 9]),
        (Compression::Lz4, vec![0, 12]),
        (Compression::Zstd, vec![-5, 1, 3, 19]),
    ] {
        for level in levels {
            let mut c = Compressor::new(codec, Some(level)).unwrap();
            let sealed = builder(&recs, BytesMut::new()).seal_compressed(producer(), &mut c);
            let view = RecordBatch::parse(sealed.batch).unwrap();
            if level != 0 {
                assert_eq!(view.compression(), codec, "{codec:?} {level}");
            }
            check_records(&view, &mut d, &recs);
        }
    }
}

#[test]
fn levels_out_of_range_are_refused() {
    for (codec, level) in [
        (Compression::Gzip, 10),
        (Compression::Gzip, -2),
        (Compression::Lz4, 13),
        (Compression::Zstd, 23),
    ] {
        assert_eq!(
            Compressor::new(codec, Some(level)).unwrap_err(),
            CompressionError::InvalidLevel { codec, level }
        );
    }
    assert!(Compressor::new(Compression::Snappy, Some(7)).is_ok());
    assert_eq!(
        Compressor::new(Compression::Unknown(6), None).unwrap_err(),
        CompressionError::Unsupported(Compression::Unknown(6))
    );
}

#[test]
fn reused_compressor_is_deterministic() {
    // A retried batch must be byte-identical: the same records give the same
    // bytes whether the compressor is fresh or has sealed other batches.
    for codec in CODECS {
        let mut warm = Compressor::new(codec, None).unwrap();
        let _ = builder(&events(2_000), BytesMut::new()).seal_compressed(producer(), &mut warm);
        let a = builder(&events(300), BytesMut::new()).seal_compressed(producer(), &mut warm);
        let mut fresh = Compressor::new(codec, None).unwrap();
        let b = builder(&events(300), BytesMut::new()).seal_compressed(producer(), &mut fresh);
        assert_eq!(a.batch, b.batch, "{codec:?}");
    }
}

#[test]
fn spare_buffer_is_reused_without_growth() {
    let recs = events(200);
    for codec in CODECS {
        let mut c = Compressor::new(codec, None).unwrap();
        let first = builder(&recs, BytesMut::with_capacity(64 * 1024));
        let mut spare = first.seal_compressed(producer(), &mut c).spare;
        let cap = spare.capacity();
        assert!(cap >= 64 * 1024);
        for _ in 0..5 {
            let ptr = spare.as_ptr();
            let sealed = builder(&recs, spare).seal_compressed(producer(), &mut c);
            spare = sealed.spare;
            assert_eq!(spare.capacity(), cap, "{codec:?}");
            assert_eq!(spare.as_ptr(), ptr, "{codec:?}: same allocation");
        }
    }
}

#[test]
fn incompressible_batches_stay_uncompressed() {
    // Random bytes do not compress: the batch is sealed as without a codec
    // (never larger than uncompressed), as librdkafka does.
    let mut x: u64 = 0x0123_4567_89ab_cdef;
    let value: Vec<u8> = (0..4_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let recs = vec![Rec {
        timestamp: 5,
        key: None,
        value: Some(value),
        headers: Vec::new(),
    }];
    let plain = builder(&recs, BytesMut::new()).seal(producer());
    for codec in CODECS {
        let mut c = Compressor::new(codec, None).unwrap();
        let sealed = builder(&recs, BytesMut::new()).seal_compressed(producer(), &mut c);
        assert_eq!(sealed.batch, plain, "{codec:?}");
        assert_eq!(sealed.spare.capacity(), 0);
    }
    // So is an empty batch.
    let mut c = Compressor::new(Compression::Zstd, None).unwrap();
    let empty = BatchBuilder::with_capacity(64).seal_compressed(producer(), &mut c);
    assert_eq!(
        RecordBatch::parse(empty.batch).unwrap().compression(),
        Compression::None
    );
}

#[test]
fn lz4_frame_is_what_java_writes() {
    // Magic, FLG 0x60 (version 1, independent blocks), BD 0x40 (64 KiB
    // blocks), header checksum 0x82; lz4_flex's decoder checks that checksum.
    let data: Vec<u8> = events(2_000)
        .into_iter()
        .flat_map(|r| r.value.unwrap())
        .collect();
    let framed = compress(Compression::Lz4, &data);
    assert_eq!(&framed[..7], &[0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
    assert_eq!(&framed[framed.len() - 4..], &[0, 0, 0, 0]);
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut lz4_flex::frame::FrameDecoder::new(&framed[..]),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, data);
    // Frames written by lz4_flex (linked blocks, content checksum) read too.
    let info = lz4_flex::frame::FrameInfo::new()
        .block_mode(lz4_flex::frame::BlockMode::Linked)
        .content_checksum(true);
    let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    enc.write_all(&data).unwrap();
    let other = enc.finish().unwrap();
    let got = Decompressor::new()
        .decompress(Compression::Lz4, &other)
        .unwrap();
    assert_eq!(&got[..], &data[..]);
}

#[test]
fn snappy_is_xerial_framed_and_raw_is_read() {
    let data: Vec<u8> = events(1_000)
        .into_iter()
        .flat_map(|r| r.value.unwrap())
        .collect();
    assert!(data.len() > 3 * 32 * 1024);
    let framed = compress(Compression::Snappy, &data);
    assert_eq!(
        &framed[..16],
        b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01"
    );
    // Blocks of 32 KiB, each with a big-endian length.
    let first = u32::from_be_bytes(framed[16..20].try_into().unwrap()) as usize;
    let block = snap::raw::Decoder::new()
        .decompress_vec(&framed[20..20 + first])
        .unwrap();
    assert_eq!(block, &data[..32 * 1024]);
    let mut d = Decompressor::new();
    assert_eq!(
        &d.decompress(Compression::Snappy, &framed).unwrap()[..],
        &data[..]
    );
    // Raw snappy, as some clients write it.
    let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
    assert_eq!(
        &d.decompress(Compression::Snappy, &raw).unwrap()[..],
        &data[..]
    );
    // Two xerial streams back to back (snappy-java reads them as one).
    let mut twice = framed.clone();
    twice.extend_from_slice(&framed);
    let got = d.decompress(Compression::Snappy, &twice).unwrap();
    assert_eq!(got.len(), 2 * data.len());
    assert_eq!(&got[data.len()..], &data[..]);
}

#[test]
fn gzip_reads_members_and_refuses_trailing_garbage() {
    let data: Vec<u8> = events(300)
        .into_iter()
        .flat_map(|r| r.value.unwrap())
        .collect();
    let one = compress(Compression::Gzip, &data);
    assert_eq!(&one[..3], &[0x1f, 0x8b, 0x08]);
    // flate2's reference reader agrees.
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&one[..]), &mut out).unwrap();
    assert_eq!(out, data);
    let mut d = Decompressor::new();
    let mut two = one.clone();
    two.extend_from_slice(&one);
    let got = d.decompress(Compression::Gzip, &two).unwrap();
    assert_eq!(got.len(), 2 * data.len());
    let mut junk = one.clone();
    junk.extend_from_slice(b"junk");
    assert!(d.decompress(Compression::Gzip, &junk).is_err());
    // A corrupt CRC-32 in the trailer is caught.
    let mut bad = one.clone();
    let n = bad.len();
    bad[n - 8] ^= 1;
    assert!(d.decompress(Compression::Gzip, &bad).is_err());
}

#[test]
fn zstd_reads_concatenated_frames() {
    let data: Vec<u8> = events(300)
        .into_iter()
        .flat_map(|r| r.value.unwrap())
        .collect();
    let one = compress(Compression::Zstd, &data);
    let mut two = one.clone();
    two.extend_from_slice(&one);
    let got = Decompressor::new()
        .decompress(Compression::Zstd, &two)
        .unwrap();
    assert_eq!(got.len(), 2 * data.len());
    // A frame without a declared size (streaming encoder) reads too.
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.write_all(&data).unwrap();
    let streamed = enc.finish().unwrap();
    let got = Decompressor::new()
        .decompress(Compression::Zstd, &streamed)
        .unwrap();
    assert_eq!(&got[..], &data[..]);
}

#[test]
fn decompression_bombs_are_refused() {
    let zeros = vec![0u8; 4 << 20];
    for codec in CODECS {
        let bomb = compress(codec, &zeros);
        assert!(bomb.len() < 300 * 1024, "{codec:?}: {}", bomb.len());
        let mut small = Decompressor::with_max_size(1 << 20);
        assert_eq!(
            small.decompress(codec, &bomb).unwrap_err(),
            DecodeError::DecompressedTooLarge { limit: 1 << 20 },
            "{codec:?}"
        );
        // Exactly at the limit is fine; one byte under it is not.
        let mut exact = Decompressor::with_max_size(zeros.len());
        assert_eq!(exact.decompress(codec, &bomb).unwrap().len(), zeros.len());
        let mut under = Decompressor::with_max_size(zeros.len() - 1);
        assert!(matches!(
            under.decompress(codec, &bomb),
            Err(DecodeError::DecompressedTooLarge { .. })
        ));
    }
    // The batch view applies the limit too.
    let recs: Vec<Rec> = (0..64)
        .map(|i| Rec {
            timestamp: i,
            key: None,
            value: Some(vec![b'x'; 64 * 1024]),
            headers: Vec::new(),
        })
        .collect();
    let mut c = Compressor::new(Compression::Zstd, None).unwrap();
    let view = RecordBatch::parse(
        builder(&recs, BytesMut::new())
            .seal_compressed(producer(), &mut c)
            .batch,
    )
    .unwrap();
    assert!(matches!(
        view.records_decompressed(&mut Decompressor::with_max_size(1 << 20)),
        Err(DecodeError::DecompressedTooLarge { .. })
    ));
    check_records(&view, &mut Decompressor::new(), &recs);
}

#[test]
fn decompressor_arena_is_reused() {
    let data: Vec<u8> = events(300)
        .into_iter()
        .flat_map(|r| r.value.unwrap())
        .collect();
    let mut d = Decompressor::new();
    for codec in CODECS {
        let z = compress(codec, &data);
        let first = d.decompress(codec, &z).unwrap();
        let ptr = first.as_ptr();
        drop(first);
        // With the previous output dropped, the same memory is used again.
        let second = d.decompress(codec, &z).unwrap();
        assert_eq!(second.as_ptr(), ptr, "{codec:?}");
        assert_eq!(&second[..], &data[..]);
    }
}

#[test]
fn unknown_codec_is_refused() {
    let mut d = Decompressor::new();
    assert_eq!(
        d.decompress(Compression::Unknown(5), b"abc").unwrap_err(),
        DecodeError::UnsupportedCompression(5)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Our compressed batches decode with the reference decoder (CRC checked).
    #[test]
    fn ours_decode_in_theirs(recs in proptest::collection::vec(rec_strategy(), 1..40), ci in 0usize..4) {
        let codec = CODECS[ci];
        let mut c = Compressor::new(codec, None).unwrap();
        let sealed = builder(&recs, BytesMut::new()).seal_compressed(producer(), &mut c);
        let view = RecordBatch::parse(sealed.batch.clone()).unwrap();
        let plain = builder(&recs, BytesMut::new()).seal(producer());
        prop_assert!(view.compression() == codec || sealed.batch == plain);
        let mut buf = sealed.batch.clone();
        let set = RecordBatchDecoder::decode(&mut buf).unwrap();
        prop_assert!(buf.is_empty());
        prop_assert_eq!(set.records, theirs(&recs, producer()));
    }

    /// The reference encoder's compressed batches read through our view.
    #[test]
    fn theirs_decode_in_ours(recs in proptest::collection::vec(rec_strategy(), 1..40), ci in 0usize..4) {
        let codec = CODECS[ci];
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &theirs(&recs, producer()),
            &RecordEncodeOptions { version: 2, compression: theirs_codec(codec) },
        )
        .unwrap();
        let view = RecordBatch::parse(buf.freeze()).unwrap();
        prop_assert_eq!(view.compression(), codec);
        check_records(&view, &mut Decompressor::new(), &recs);
    }

    /// Arbitrary bytes never panic any codec's decompressor.
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut d = Decompressor::with_max_size(1 << 20);
        for codec in CODECS {
            let _ = d.decompress(codec, &data);
        }
    }

    /// A corrupted or truncated valid stream never panics, and never comes
    /// back as more than the limit.
    #[test]
    fn corrupt_streams_never_panic(recs in proptest::collection::vec(rec_strategy(), 1..20), ci in 0usize..4, pos in any::<prop::sample::Index>(), flip in 1u8..=255, cut in any::<prop::sample::Index>()) {
        let codec = CODECS[ci];
        let records = builder(&recs, BytesMut::new()).seal(producer()).slice(61..);
        let z = compress(codec, &records);
        let mut d = Decompressor::with_max_size(1 << 20);
        prop_assert_eq!(&d.decompress(codec, &z).unwrap()[..], &records[..]);
        let mut bad = z.clone();
        let i = pos.index(bad.len());
        bad[i] ^= flip;
        if let Ok(out) = d.decompress(codec, &bad) {
            prop_assert!(out.len() <= 1 << 20);
        }
        let n = cut.index(z.len());
        if let Ok(out) = d.decompress(codec, &z[..n]) {
            prop_assert!(out.len() <= records.len());
        }
    }
}
