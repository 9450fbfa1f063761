//! Produce (key 0): appends record batches to partitions.
//!
//! The records of each partition are whole encoded record batches (magic 2),
//! held as a shared [`Bytes`]. They are written through
//! [`Sink::put_shared`], so a [`crate::VectoredSink`] keeps a sealed batch by
//! reference and the request goes out as an iovec without copying it.
//!
//! Version 9 is the first flexible version. Version 10 adds the tagged
//! `CurrentLeader` and `NodeEndpoints` to the response (KIP-951). Version 13
//! names topics by id instead of by name (KIP-516).
//!
//! # References
//! - `ProduceRequest.json`, `ProduceResponse.json` in
//!   `clients/src/main/resources/common/message/` of Apache Kafka
//! - KIP-98 (transactional id, record batch v2), KIP-467 (record errors),
//!   KIP-482, KIP-516 (topic ids), KIP-951 (leader discovery)

use bytes::Bytes;

use super::{put_tagged_section, tagged_body};
use crate::error::{DecodeError, EncodeError};
use crate::primitives::{
    get_array, get_i16, get_i32, get_i64, get_nullable_bytes, get_nullable_string, get_string,
    get_tagged_fields, get_unknown_tagged_fields, get_uuid, put_array, put_nullable_bytes,
    put_nullable_string, put_string, put_unknown_tagged_fields, put_uuid, ByteStr, RawTaggedField,
    Sink, UnknownTaggedFields,
};
use crate::{check_decode_version, check_version, Decode, Encode, Message, Request};

/// The API key.
pub const API_KEY: i16 = 0;
/// The lowest version supported.
pub const MIN_VERSION: i16 = 3;
/// The highest version supported.
pub const MAX_VERSION: i16 = 13;
/// The first flexible version.
pub const FLEXIBLE_MIN: i16 = 9;

fn tags<S: Sink + ?Sized>(sink: &mut S, version: i16, unknown: &[RawTaggedField]) {
    if version >= FLEXIBLE_MIN {
        put_unknown_tagged_fields(sink, unknown);
    }
}

fn read_tags(buf: &mut Bytes, version: i16) -> Result<UnknownTaggedFields, DecodeError> {
    if version >= FLEXIBLE_MIN {
        get_unknown_tagged_fields(buf)
    } else {
        Ok(Vec::new())
    }
}

/// A Produce request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProduceRequest {
    /// The transactional id, or null if the producer is not transactional.
    /// Versions 3+; default null.
    pub transactional_id: Option<ByteStr>,
    /// Acknowledgements required: 0 none, 1 the leader, -1 the full ISR.
    /// Versions 0+.
    pub acks: i16,
    /// How long to wait for the acknowledgements, in milliseconds.
    /// Versions 0+.
    pub timeout_ms: i32,
    /// The data to produce, per topic. Versions 0+.
    pub topic_data: Vec<TopicProduceData>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for ProduceRequest {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        put_nullable_string(sink, self.transactional_id.as_deref(), flex)?;
        sink.put_i16(self.acks);
        sink.put_i32(self.timeout_ms);
        put_array(sink, &self.topic_data, flex, |s, t| t.encode(s, version))?;
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for ProduceRequest {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        Ok(Self {
            transactional_id: get_nullable_string(buf, flex)?,
            acks: get_i16(buf)?,
            timeout_ms: get_i32(buf)?,
            topic_data: get_array(buf, flex, |b| TopicProduceData::decode(b, version))?,
            unknown_tagged_fields: read_tags(buf, version)?,
        })
    }
}

impl Message for ProduceRequest {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

impl Request for ProduceRequest {
    type Response = ProduceResponse;
}

/// The data to produce to one topic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicProduceData {
    /// The topic name. Versions 0–12.
    pub name: ByteStr,
    /// The topic id. Versions 13+.
    pub topic_id: [u8; 16],
    /// The data to produce, per partition. Versions 0+.
    pub partition_data: Vec<PartitionProduceData>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for TopicProduceData {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        if version <= 12 {
            put_string(sink, &self.name, flex)?;
        } else {
            put_uuid(sink, &self.topic_id);
        }
        put_array(sink, &self.partition_data, flex, |s, p| {
            p.encode(s, version)
        })?;
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for TopicProduceData {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self::default();
        if version <= 12 {
            v.name = get_string(buf, flex)?;
        } else {
            v.topic_id = get_uuid(buf)?;
        }
        v.partition_data = get_array(buf, flex, |b| PartitionProduceData::decode(b, version))?;
        v.unknown_tagged_fields = read_tags(buf, version)?;
        Ok(v)
    }
}

/// The data to produce to one partition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartitionProduceData {
    /// The partition index. Versions 0+.
    pub index: i32,
    /// Whole encoded record batches, or null. Versions 0+. Kept by
    /// reference by a vectored sink.
    pub records: Option<Bytes>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for PartitionProduceData {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        sink.put_i32(self.index);
        put_nullable_bytes(sink, self.records.as_ref(), flex)?;
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for PartitionProduceData {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        Ok(Self {
            index: get_i32(buf)?,
            records: get_nullable_bytes(buf, flex)?,
            unknown_tagged_fields: read_tags(buf, version)?,
        })
    }
}

/// A Produce response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProduceResponse {
    /// The results, per topic. Versions 0+.
    pub responses: Vec<TopicProduceResponse>,
    /// The time the request was throttled for, in milliseconds. Versions 1+.
    pub throttle_time_ms: i32,
    /// Endpoints of the brokers named in `current_leader` of the partitions.
    /// Tagged (tag 0), versions 10+.
    pub node_endpoints: Vec<NodeEndpoint>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for ProduceResponse {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        put_array(sink, &self.responses, flex, |s, t| t.encode(s, version))?;
        sink.put_i32(self.throttle_time_ms);
        if flex {
            let mut known = Vec::new();
            if version >= 10 && !self.node_endpoints.is_empty() {
                let body = tagged_body(|b| {
                    put_array(b, &self.node_endpoints, true, |s, n| n.encode(s, version))
                })?;
                known.push((0, body));
            }
            put_tagged_section(sink, &known, &self.unknown_tagged_fields)?;
        }
        Ok(())
    }
}

impl Decode for ProduceResponse {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self {
            responses: get_array(buf, flex, |b| TopicProduceResponse::decode(b, version))?,
            throttle_time_ms: get_i32(buf)?,
            ..Self::default()
        };
        if flex {
            let mut unknown = Vec::new();
            get_tagged_fields(buf, &mut unknown, |tag, b| {
                if version >= 10 && tag == 0 {
                    v.node_endpoints = get_array(b, true, |b| NodeEndpoint::decode(b, version))?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            })?;
            v.unknown_tagged_fields = unknown;
        }
        Ok(v)
    }
}

impl Message for ProduceResponse {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

/// The results for one topic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicProduceResponse {
    /// The topic name. Versions 0–12.
    pub name: ByteStr,
    /// The topic id. Versions 13+.
    pub topic_id: [u8; 16],
    /// The results, per partition. Versions 0+.
    pub partition_responses: Vec<PartitionProduceResponse>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for TopicProduceResponse {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        if version <= 12 {
            put_string(sink, &self.name, flex)?;
        } else {
            put_uuid(sink, &self.topic_id);
        }
        put_array(sink, &self.partition_responses, flex, |s, p| {
            p.encode(s, version)
        })?;
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for TopicProduceResponse {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self::default();
        if version <= 12 {
            v.name = get_string(buf, flex)?;
        } else {
            v.topic_id = get_uuid(buf)?;
        }
        v.partition_responses =
            get_array(buf, flex, |b| PartitionProduceResponse::decode(b, version))?;
        v.unknown_tagged_fields = read_tags(buf, version)?;
        Ok(v)
    }
}

/// The result for one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionProduceResponse {
    /// The partition index. Versions 0+.
    pub index: i32,
    /// The error code, or 0. Versions 0+.
    pub error_code: i16,
    /// The offset of the first record appended. Versions 0+.
    pub base_offset: i64,
    /// The broker's append time, or -1 if the topic uses create time.
    /// Versions 2+; default -1.
    pub log_append_time_ms: i64,
    /// The log start offset. Versions 5+; default -1.
    pub log_start_offset: i64,
    /// The batches that caused the batch to be dropped. Versions 8+.
    pub record_errors: Vec<BatchIndexAndErrorMessage>,
    /// The error message, or null. Versions 8+; default null.
    pub error_message: Option<ByteStr>,
    /// The current leader, when the error says the leader moved. Tagged
    /// (tag 0), versions 10+; omitted when it equals the default.
    pub current_leader: LeaderIdAndEpoch,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for PartitionProduceResponse {
    fn default() -> Self {
        Self {
            index: 0,
            error_code: 0,
            base_offset: 0,
            log_append_time_ms: -1,
            log_start_offset: -1,
            record_errors: Vec::new(),
            error_message: None,
            current_leader: LeaderIdAndEpoch::default(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for PartitionProduceResponse {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        sink.put_i32(self.index);
        sink.put_i16(self.error_code);
        sink.put_i64(self.base_offset);
        sink.put_i64(self.log_append_time_ms);
        if version >= 5 {
            sink.put_i64(self.log_start_offset);
        }
        if version >= 8 {
            put_array(sink, &self.record_errors, flex, |s, e| e.encode(s, version))?;
            put_nullable_string(sink, self.error_message.as_deref(), flex)?;
        }
        if flex {
            let mut known = Vec::new();
            if version >= 10 && self.current_leader != LeaderIdAndEpoch::default() {
                known.push((0, tagged_body(|b| self.current_leader.encode(b, version))?));
            }
            put_tagged_section(sink, &known, &self.unknown_tagged_fields)?;
        }
        Ok(())
    }
}

impl Decode for PartitionProduceResponse {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self {
            index: get_i32(buf)?,
            error_code: get_i16(buf)?,
            base_offset: get_i64(buf)?,
            log_append_time_ms: get_i64(buf)?,
            ..Self::default()
        };
        if version >= 5 {
            v.log_start_offset = get_i64(buf)?;
        }
        if version >= 8 {
            v.record_errors =
                get_array(buf, flex, |b| BatchIndexAndErrorMessage::decode(b, version))?;
            v.error_message = get_nullable_string(buf, flex)?;
        }
        if flex {
            let mut unknown = Vec::new();
            get_tagged_fields(buf, &mut unknown, |tag, b| {
                if version >= 10 && tag == 0 {
                    v.current_leader = LeaderIdAndEpoch::decode(b, version)?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            })?;
            v.unknown_tagged_fields = unknown;
        }
        Ok(v)
    }
}

/// A record within a batch that made the broker reject it (KIP-467).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchIndexAndErrorMessage {
    /// The index of the record within the batch. Versions 8+.
    pub batch_index: i32,
    /// The error message for that record, or null. Versions 8+; default null.
    pub batch_index_error_message: Option<ByteStr>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for BatchIndexAndErrorMessage {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, 8, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        sink.put_i32(self.batch_index);
        put_nullable_string(sink, self.batch_index_error_message.as_deref(), flex)?;
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for BatchIndexAndErrorMessage {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, 8, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        Ok(Self {
            batch_index: get_i32(buf)?,
            batch_index_error_message: get_nullable_string(buf, flex)?,
            unknown_tagged_fields: read_tags(buf, version)?,
        })
    }
}

/// A partition's current leader (KIP-951).
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderIdAndEpoch {
    /// The id of the current leader, or -1. Versions 10+; default -1.
    pub leader_id: i32,
    /// The latest known leader epoch, or -1. Versions 10+; default -1.
    pub leader_epoch: i32,
    /// Tagged fields this codec has no name for. Versions 10+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for LeaderIdAndEpoch {
    fn default() -> Self {
        Self {
            leader_id: -1,
            leader_epoch: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for LeaderIdAndEpoch {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, 10, MAX_VERSION, version)?;
        sink.put_i32(self.leader_id);
        sink.put_i32(self.leader_epoch);
        put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for LeaderIdAndEpoch {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, 10, MAX_VERSION, version)?;
        Ok(Self {
            leader_id: get_i32(buf)?,
            leader_epoch: get_i32(buf)?,
            unknown_tagged_fields: get_unknown_tagged_fields(buf)?,
        })
    }
}

/// A broker endpoint, for a leader named in a response (KIP-951).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeEndpoint {
    /// The broker id. Versions 10+.
    pub node_id: i32,
    /// The broker host name. Versions 10+.
    pub host: ByteStr,
    /// The broker port. Versions 10+.
    pub port: i32,
    /// The rack of the broker, or null. Versions 10+; default null.
    pub rack: Option<ByteStr>,
    /// Tagged fields this codec has no name for. Versions 10+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for NodeEndpoint {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, 10, MAX_VERSION, version)?;
        sink.put_i32(self.node_id);
        put_string(sink, &self.host, true)?;
        sink.put_i32(self.port);
        put_nullable_string(sink, self.rack.as_deref(), true)?;
        put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for NodeEndpoint {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, 10, MAX_VERSION, version)?;
        Ok(Self {
            node_id: get_i32(buf)?,
            host: get_string(buf, true)?,
            port: get_i32(buf)?,
            rack: get_nullable_string(buf, true)?,
            unknown_tagged_fields: get_unknown_tagged_fields(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_partition(version: i16) -> ProduceRequest {
        ProduceRequest {
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![TopicProduceData {
                name: if version <= 12 {
                    "events".into()
                } else {
                    ByteStr::default()
                },
                topic_id: if version >= 13 { [9; 16] } else { [0; 16] },
                partition_data: vec![PartitionProduceData {
                    index: 2,
                    records: Some(Bytes::from_static(b"batch")),
                    unknown_tagged_fields: Vec::new(),
                }],
                unknown_tagged_fields: Vec::new(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn v13_names_topics_by_id() {
        let r = one_partition(13);
        let mut out = Vec::new();
        r.encode(&mut out, 13).unwrap();
        // null transactional id, acks, timeout, one topic, then the id.
        assert_eq!(&out[..8], &[0, 0xff, 0xff, 0, 0, 0x75, 0x30, 2]);
        assert_eq!(&out[8..24], &[9; 16]);
        assert_eq!(
            ProduceRequest::decode_exact(Bytes::from(out), 13).unwrap(),
            r
        );
    }

    #[test]
    fn current_leader_is_tagged_only_when_set() {
        let mut p = PartitionProduceResponse::default();
        let mut plain = Vec::new();
        p.encode(&mut plain, 10).unwrap();
        assert_eq!(*plain.last().unwrap(), 0);
        p.current_leader.leader_id = 3;
        let mut tagged = Vec::new();
        p.encode(&mut tagged, 10).unwrap();
        // one field, tag 0, 9 bytes: two i32 and an empty tag section
        assert_eq!(&tagged[plain.len() - 1..plain.len() + 2], &[1, 0, 9]);
        let mut b = Bytes::from(tagged);
        assert_eq!(PartitionProduceResponse::decode(&mut b, 10).unwrap(), p);
        assert!(b.is_empty());
    }

    #[test]
    fn version_range_is_3_to_13() {
        let mut out = Vec::new();
        assert!(ProduceRequest::default().encode(&mut out, 2).is_err());
        assert!(ProduceRequest::default().encode(&mut out, 14).is_err());
        assert!(ProduceResponse::decode(&mut Bytes::new(), 2).is_err());
    }
}
