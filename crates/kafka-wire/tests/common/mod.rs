//! Test records shared by the record-batch test files, and their form in the
//! `kafka-protocol` crate (the reference).

use bytes::Bytes;
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Record as TheirRecord, TimestampType as TheirTimestampType};
use kafka_wire::record::{BatchBuilder, HeaderRef, ProducerFields};

/// One record to write.
#[derive(Debug, Clone)]
pub struct Rec {
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Rec {
    /// The headers as the builder takes them.
    pub fn header_refs(&self) -> Vec<HeaderRef<'_>> {
        self.headers
            .iter()
            .map(|(k, v)| HeaderRef {
                key: k.as_bytes(),
                value: v.as_deref(),
            })
            .collect()
    }
}

/// Appends every record, whole, to `b`.
pub fn append_all(b: &mut BatchBuilder, recs: &[Rec]) {
    for r in recs {
        b.append(
            r.timestamp,
            r.key.as_deref(),
            r.value.as_deref(),
            &r.header_refs(),
        )
        .unwrap();
    }
}

/// The records as the reference represents them, at offsets 0.. in a batch
/// with producer fields `p`.
pub fn theirs(recs: &[Rec], p: ProducerFields) -> Vec<TheirRecord> {
    recs.iter()
        .enumerate()
        .map(|(i, r)| TheirRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: p.producer_id,
            producer_epoch: p.producer_epoch,
            timestamp_type: TheirTimestampType::Creation,
            offset: i as i64,
            // The reference derives each record's sequence as base + delta,
            // even for a non-idempotent batch (base -1).
            sequence: p.base_sequence.wrapping_add(i as i32),
            timestamp: r.timestamp,
            key: r.key.clone().map(Bytes::from),
            value: r.value.clone().map(Bytes::from),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone().map(Bytes::from)))
                .collect::<IndexMap<_, _>>(),
        })
        .collect()
}
