//! Record batches: ours against the `kafka-protocol` crate's encoder and
//! decoder, both directions, plus round trips and arbitrary-bytes checks.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression as TheirCompression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use kafka_wire::record::{BatchBuilder, ProducerFields, RecordBatch};
use proptest::prelude::*;

mod common;
use common::{append_all, theirs, Rec};

fn rec_strategy() -> impl Strategy<Value = Rec> {
    (
        0i64..4_000_000_000_000,
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        // Unique header keys: the reference keeps headers in a map.
        proptest::collection::btree_map(
            "[a-z_]{1,8}",
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            0..4,
        ),
    )
        .prop_map(|(timestamp, key, value, headers)| Rec {
            timestamp,
            key,
            value,
            headers: headers.into_iter().collect(),
        })
}

fn producer_strategy() -> impl Strategy<Value = ProducerFields> {
    prop_oneof![
        Just(ProducerFields::NONE),
        (0i64..i64::MAX, 0i16..i16::MAX, 0i32..i32::MAX / 2).prop_map(|(p, e, s)| {
            ProducerFields {
                producer_id: p,
                producer_epoch: e,
                base_sequence: s,
            }
        }),
    ]
}

fn encode_ours(recs: &[Rec], p: ProducerFields) -> Bytes {
    let mut b = BatchBuilder::with_capacity(256);
    append_all(&mut b, recs);
    b.seal(p)
}

/// As [`encode_ours`], each non-null value appended as parts: split at the
/// (sorted, clamped) offsets in `cuts`, so empty parts occur too.
fn encode_ours_in_parts(recs: &[Rec], cuts: &[usize], p: ProducerFields) -> Bytes {
    let mut b = BatchBuilder::with_capacity(256);
    for r in recs {
        let headers = r.header_refs();
        let Some(value) = r.value.as_deref() else {
            b.append(r.timestamp, r.key.as_deref(), None, &headers)
                .unwrap();
            continue;
        };
        let mut at: Vec<usize> = cuts.iter().map(|&c| c.min(value.len())).collect();
        at.sort_unstable();
        let mut parts = Vec::new();
        let mut from = 0;
        for &to in &at {
            parts.push(&value[from..to]);
            from = to;
        }
        parts.push(&value[from..]);
        let size = b.record_size_parts(r.timestamp, r.key.as_deref(), &parts, &headers);
        let before = b.len();
        b.append_parts(r.timestamp, r.key.as_deref(), &parts, &headers)
            .unwrap();
        assert_eq!(b.len() - before, size, "record_size_parts");
    }
    b.seal(p)
}

fn check_view_matches(view: &RecordBatch, recs: &[Rec], p: ProducerFields) {
    view.verify_crc().unwrap();
    assert_eq!(view.record_count() as usize, recs.len());
    assert_eq!(view.producer_id(), p.producer_id);
    assert_eq!(view.producer_epoch(), p.producer_epoch);
    let base_ts = view.base_timestamp();
    let got: Vec<_> = view.records().unwrap().map(Result::unwrap).collect();
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Our batches decode with the reference decoder (which checks the CRC).
    #[test]
    fn ours_decode_in_theirs(recs in proptest::collection::vec(rec_strategy(), 1..20), p in producer_strategy()) {
        let bytes = encode_ours(&recs, p);
        let mut buf = bytes.clone();
        let set = RecordBatchDecoder::decode(&mut buf).unwrap();
        prop_assert!(buf.is_empty());
        prop_assert_eq!(set.records, theirs(&recs, p));
    }

    /// The reference encoder's batches read correctly through our view.
    #[test]
    fn theirs_decode_in_ours(recs in proptest::collection::vec(rec_strategy(), 1..20), p in producer_strategy()) {
        // The reference takes the minimum timestamp as the base; ours the
        // first. Both are valid; the view must read either.
        let mut buf = BytesMut::new();
        let records = theirs(&recs, p);
        RecordBatchEncoder::encode(
            &mut buf,
            &records,
            &RecordEncodeOptions { version: 2, compression: TheirCompression::None },
        )
        .unwrap();
        let view = RecordBatch::parse(buf.freeze()).unwrap();
        check_view_matches(&view, &recs, p);
        prop_assert_eq!(view.base_sequence(), p.base_sequence);
    }

    /// With non-decreasing timestamps both encoders agree byte for byte.
    #[test]
    fn same_bytes_as_reference(mut recs in proptest::collection::vec(rec_strategy(), 1..20), p in producer_strategy()) {
        recs.sort_by_key(|r| r.timestamp);
        let ours = encode_ours(&recs, p);
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &theirs(&recs, p),
            &RecordEncodeOptions { version: 2, compression: TheirCompression::None },
        )
        .unwrap();
        prop_assert_eq!(&ours[..], &buf[..]);
    }

    /// Values appended as parts: the same bytes as appended whole, and
    /// the reference decoder reads them back.
    #[test]
    fn parts_same_bytes_and_decode_in_theirs(
        recs in proptest::collection::vec(rec_strategy(), 1..20),
        cuts in proptest::collection::vec(0usize..320, 0..5),
        p in producer_strategy(),
    ) {
        let parts = encode_ours_in_parts(&recs, &cuts, p);
        prop_assert_eq!(&parts[..], &encode_ours(&recs, p)[..]);
        let mut buf = parts.clone();
        let set = RecordBatchDecoder::decode(&mut buf).unwrap();
        prop_assert!(buf.is_empty());
        prop_assert_eq!(set.records, theirs(&recs, p));
    }

    /// Encode then view gives back every field.
    #[test]
    fn round_trip(recs in proptest::collection::vec(rec_strategy(), 1..30), p in producer_strategy()) {
        let bytes = encode_ours(&recs, p);
        let view = RecordBatch::parse(bytes).unwrap();
        check_view_matches(&view, &recs, p);
        prop_assert_eq!(view.base_sequence(), p.base_sequence);
    }

    /// Arbitrary bytes never panic the view, with or without the CRC check.
    #[test]
    fn view_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        for batch in RecordBatch::iter_all(Bytes::from(data)) {
            let Ok(batch) = batch else { break };
            let _ = batch.verify_crc();
            if let Ok(records) = batch.records() {
                for r in records.flatten() {
                    let _ = r.headers().count();
                }
            }
        }
    }

    /// Corrupting any byte of a valid batch never panics, and any change
    /// after the CRC field is caught by the CRC check.
    #[test]
    fn corruption_is_caught(recs in proptest::collection::vec(rec_strategy(), 1..5), p in producer_strategy(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let bytes = encode_ours(&recs, p);
        let mut bad = bytes.to_vec();
        let i = pos.index(bad.len());
        bad[i] ^= flip;
        match RecordBatch::parse(Bytes::from(bad)) {
            Err(_) => {}
            Ok(view) => {
                if i >= 21 {
                    prop_assert!(view.verify_crc().is_err());
                }
                if let Ok(records) = view.records() {
                    let _ = records.count();
                }
            }
        }
    }
}
