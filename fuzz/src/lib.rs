//! Shared bodies of the fuzz targets.

use bytes::{Bytes, BytesMut};
use kafka_wire::frame::FrameSplitter;
use kafka_wire::record::{BatchBuilder, HeaderRef, ProducerFields, RecordBatch};
use kafka_wire::Message;

/// Decodes `data[1..]` as `M` at a version picked by `data[0]`; whatever
/// decodes must re-encode and decode to the same value.
pub fn message<M: Message + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Some((&v, body)) = data.split_first() else {
        return;
    };
    let span = (M::MAX_VERSION - M::MIN_VERSION + 1) as u8;
    let version = M::MIN_VERSION + i16::from(v % span);
    let Ok(decoded) = M::decode(&mut Bytes::copy_from_slice(body), version) else {
        return;
    };
    let mut out = Vec::new();
    decoded
        .encode(&mut out, version)
        .expect("a decoded value re-encodes");
    let again = M::decode_exact(Bytes::from(out), version).expect("re-encoded value decodes");
    assert_eq!(again, decoded);
}

/// Splits frames off arbitrary bytes fed in arbitrary pieces.
pub fn frames(data: &[u8]) {
    let Some((&max, rest)) = data.split_first() else {
        return;
    };
    let splitter = FrameSplitter::new(usize::from(max) * 4);
    let mut buf = BytesMut::new();
    let mut total = 0usize;
    for piece in rest.chunks(7) {
        buf.extend_from_slice(piece);
        loop {
            match splitter.split(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= usize::from(max) * 4);
                    total += 4 + frame.len();
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    assert_eq!(total + buf.len(), rest.len());
}

/// Views arbitrary bytes as record batches.
pub fn record_view(data: &[u8], check_crc: bool) {
    for batch in RecordBatch::iter_all(Bytes::copy_from_slice(data)) {
        let Ok(batch) = batch else { return };
        if check_crc && batch.verify_crc().is_err() {
            continue;
        }
        let _ = (batch.producer_fields(), batch.attributes().compression());
        if let Ok(records) = batch.records() {
            for r in records.flatten() {
                for h in r.headers() {
                    let _ = (h.key.len(), h.value.map(|v| v.len()));
                }
            }
        }
    }
}

/// A record for the round-trip target.
#[derive(Debug, arbitrary::Arbitrary)]
pub struct ArbRecord {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// Builds a batch from arbitrary records and checks that the view returns
/// every field.
pub fn record_round_trip(records: Vec<ArbRecord>, producer: (i64, i16, i32)) {
    let mut b = BatchBuilder::with_capacity(128);
    let mut kept = Vec::new();
    for r in records.iter().take(200) {
        let hs: Vec<HeaderRef<'_>> = r
            .headers
            .iter()
            .map(|(k, v)| HeaderRef {
                key: k,
                value: v.as_deref(),
            })
            .collect();
        let before = b.len();
        let size = b.record_size(r.timestamp, r.key.as_deref(), r.value.as_deref(), &hs);
        if b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &hs).is_ok() {
            assert_eq!(b.len() - before, size);
            kept.push(r);
        }
    }
    if kept.is_empty() {
        return;
    }
    let p = ProducerFields {
        producer_id: producer.0,
        producer_epoch: producer.1,
        base_sequence: producer.2,
    };
    let view = RecordBatch::parse(b.seal(p)).expect("own batch parses");
    view.verify_crc().expect("own batch has a valid crc");
    assert_eq!(view.producer_fields(), p);
    let base = view.base_timestamp();
    let got: Vec<_> = view
        .records()
        .expect("uncompressed")
        .map(|r| r.expect("own record decodes"))
        .collect();
    assert_eq!(got.len(), kept.len());
    for (g, w) in got.iter().zip(kept) {
        assert_eq!(base.wrapping_add(g.timestamp_delta), w.timestamp);
        assert_eq!(g.key.as_deref(), w.key.as_deref());
        assert_eq!(g.value.as_deref(), w.value.as_deref());
        let hs: Vec<_> = g.headers().map(|h| (h.key.to_vec(), h.value.map(|v| v.to_vec()))).collect();
        assert_eq!(hs, w.headers);
    }
}
