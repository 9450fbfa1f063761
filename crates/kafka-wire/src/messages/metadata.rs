//! Metadata (key 3): brokers, topics, partitions and their leaders.
//!
//! In version 0 an empty topic list asks for every topic; from version 1 a
//! null list does, and an empty one asks for none. Version 9 is the first
//! flexible version; version 10 adds topic ids; version 13 adds a top-level
//! error code (KIP-1102).
//!
//! # References
//! - `MetadataRequest.json`, `MetadataResponse.json` in
//!   `clients/src/main/resources/common/message/` of Apache Kafka
//! - KIP-4 (null topics), KIP-430 (authorized operations), KIP-482,
//!   KIP-516 (topic ids), KIP-700, KIP-1102 (rebootstrap)

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::primitives::{
    get_array, get_bool, get_i16, get_i32, get_nullable_array, get_nullable_string, get_string,
    get_unknown_tagged_fields, get_uuid, put_array, put_nullable_array, put_nullable_string,
    put_string, put_unknown_tagged_fields, put_uuid, ByteStr, Sink, UnknownTaggedFields,
};
use crate::{check_decode_version, check_version, Decode, Encode, Message, Request};

/// The API key.
pub const API_KEY: i16 = 3;
/// The lowest version supported.
pub const MIN_VERSION: i16 = 0;
/// The highest version supported.
pub const MAX_VERSION: i16 = 13;
/// The first flexible version.
pub const FLEXIBLE_MIN: i16 = 9;

/// The default of the authorized-operations bit fields: "not requested".
pub const AUTHORIZED_OPERATIONS_UNKNOWN: i32 = i32::MIN;

fn tags<S: Sink + ?Sized>(
    sink: &mut S,
    version: i16,
    unknown: &[crate::primitives::RawTaggedField],
) {
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

fn put_i32s<S: Sink + ?Sized>(sink: &mut S, v: &[i32], flex: bool) -> Result<(), EncodeError> {
    put_array(sink, v, flex, |s, x| {
        s.put_i32(*x);
        Ok(())
    })
}

/// A Metadata request.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataRequest {
    /// The topics to fetch metadata for. Versions 0+; null (all topics)
    /// from version 1. In version 0 an empty list means all topics.
    pub topics: Option<Vec<MetadataRequestTopic>>,
    /// Whether the broker may auto-create the topics asked for. Versions 4+;
    /// default true.
    pub allow_auto_topic_creation: bool,
    /// Whether to include cluster authorized operations. Versions 8–10.
    pub include_cluster_authorized_operations: bool,
    /// Whether to include topic authorized operations. Versions 8+.
    pub include_topic_authorized_operations: bool,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for MetadataRequest {
    fn default() -> Self {
        Self {
            topics: Some(Vec::new()),
            allow_auto_topic_creation: true,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for MetadataRequest {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        if version < 1 && self.topics.is_none() {
            return Err(EncodeError::NullNotAllowed {
                what: "topics",
                version,
            });
        }
        put_nullable_array(sink, self.topics.as_deref(), flex, |s, t| {
            t.encode(s, version)
        })?;
        if version >= 4 {
            sink.put_bool(self.allow_auto_topic_creation);
        }
        if (8..=10).contains(&version) {
            sink.put_bool(self.include_cluster_authorized_operations);
        }
        if version >= 8 {
            sink.put_bool(self.include_topic_authorized_operations);
        }
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for MetadataRequest {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let topics = if version >= 1 {
            get_nullable_array(buf, flex, |b| MetadataRequestTopic::decode(b, version))?
        } else {
            Some(get_array(buf, flex, |b| {
                MetadataRequestTopic::decode(b, version)
            })?)
        };
        let mut v = Self {
            topics,
            ..Self::default()
        };
        if version >= 4 {
            v.allow_auto_topic_creation = get_bool(buf)?;
        }
        if (8..=10).contains(&version) {
            v.include_cluster_authorized_operations = get_bool(buf)?;
        }
        if version >= 8 {
            v.include_topic_authorized_operations = get_bool(buf)?;
        }
        v.unknown_tagged_fields = read_tags(buf, version)?;
        Ok(v)
    }
}

impl Message for MetadataRequest {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

impl Request for MetadataRequest {
    type Response = MetadataResponse;
}

/// A topic asked for in a Metadata request.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataRequestTopic {
    /// The topic id. Versions 10+; default all zeros.
    pub topic_id: [u8; 16],
    /// The topic name. Versions 0+; null (when asking by id) from
    /// version 10. Default `""`.
    pub name: Option<ByteStr>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for MetadataRequestTopic {
    fn default() -> Self {
        Self {
            topic_id: [0; 16],
            name: Some(ByteStr::default()),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for MetadataRequestTopic {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        if version >= 10 {
            put_uuid(sink, &self.topic_id);
        } else if self.name.is_none() {
            return Err(EncodeError::NullNotAllowed {
                what: "topic name",
                version,
            });
        }
        put_nullable_string(sink, self.name.as_deref(), flex)?;
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for MetadataRequestTopic {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let topic_id = if version >= 10 {
            get_uuid(buf)?
        } else {
            [0; 16]
        };
        let name = if version >= 10 {
            get_nullable_string(buf, flex)?
        } else {
            Some(get_string(buf, flex)?)
        };
        Ok(Self {
            topic_id,
            name,
            unknown_tagged_fields: read_tags(buf, version)?,
        })
    }
}

/// A Metadata response.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataResponse {
    /// The time the request was throttled for, in milliseconds. Versions 3+.
    pub throttle_time_ms: i32,
    /// The brokers of the cluster. Versions 0+.
    pub brokers: Vec<MetadataResponseBroker>,
    /// The cluster id, or null. Versions 2+; default null.
    pub cluster_id: Option<ByteStr>,
    /// The id of the controller broker, or -1. Versions 1+; default -1.
    pub controller_id: i32,
    /// The topics. Versions 0+.
    pub topics: Vec<MetadataResponseTopic>,
    /// A bit field of the operations allowed on the cluster. Versions 8–10;
    /// default [`AUTHORIZED_OPERATIONS_UNKNOWN`].
    pub cluster_authorized_operations: i32,
    /// The top-level error code, or 0. Versions 13+.
    pub error_code: i16,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for MetadataResponse {
    fn default() -> Self {
        Self {
            throttle_time_ms: 0,
            brokers: Vec::new(),
            cluster_id: None,
            controller_id: -1,
            topics: Vec::new(),
            cluster_authorized_operations: AUTHORIZED_OPERATIONS_UNKNOWN,
            error_code: 0,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for MetadataResponse {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        if version >= 3 {
            sink.put_i32(self.throttle_time_ms);
        }
        put_array(sink, &self.brokers, flex, |s, b| b.encode(s, version))?;
        if version >= 2 {
            put_nullable_string(sink, self.cluster_id.as_deref(), flex)?;
        }
        if version >= 1 {
            sink.put_i32(self.controller_id);
        }
        put_array(sink, &self.topics, flex, |s, t| t.encode(s, version))?;
        if (8..=10).contains(&version) {
            sink.put_i32(self.cluster_authorized_operations);
        }
        if version >= 13 {
            sink.put_i16(self.error_code);
        }
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for MetadataResponse {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self::default();
        if version >= 3 {
            v.throttle_time_ms = get_i32(buf)?;
        }
        v.brokers = get_array(buf, flex, |b| MetadataResponseBroker::decode(b, version))?;
        if version >= 2 {
            v.cluster_id = get_nullable_string(buf, flex)?;
        }
        if version >= 1 {
            v.controller_id = get_i32(buf)?;
        }
        v.topics = get_array(buf, flex, |b| MetadataResponseTopic::decode(b, version))?;
        if (8..=10).contains(&version) {
            v.cluster_authorized_operations = get_i32(buf)?;
        }
        if version >= 13 {
            v.error_code = get_i16(buf)?;
        }
        v.unknown_tagged_fields = read_tags(buf, version)?;
        Ok(v)
    }
}

impl Message for MetadataResponse {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

/// A broker in a Metadata response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetadataResponseBroker {
    /// The broker id. Versions 0+.
    pub node_id: i32,
    /// The broker host name. Versions 0+.
    pub host: ByteStr,
    /// The broker port. Versions 0+.
    pub port: i32,
    /// The rack of the broker, or null. Versions 1+; default null.
    pub rack: Option<ByteStr>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for MetadataResponseBroker {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        sink.put_i32(self.node_id);
        put_string(sink, &self.host, flex)?;
        sink.put_i32(self.port);
        if version >= 1 {
            put_nullable_string(sink, self.rack.as_deref(), flex)?;
        }
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for MetadataResponseBroker {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        Ok(Self {
            node_id: get_i32(buf)?,
            host: get_string(buf, flex)?,
            port: get_i32(buf)?,
            rack: if version >= 1 {
                get_nullable_string(buf, flex)?
            } else {
                None
            },
            unknown_tagged_fields: read_tags(buf, version)?,
        })
    }
}

/// A topic in a Metadata response.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataResponseTopic {
    /// The topic error code, or 0. Versions 0+.
    pub error_code: i16,
    /// The topic name. Versions 0+; null (for a topic asked for by an
    /// unknown id) from version 12. Default `""`.
    pub name: Option<ByteStr>,
    /// The topic id, all zeros for a topic asked for by an unknown name.
    /// Versions 10+.
    pub topic_id: [u8; 16],
    /// Whether the topic is internal. Versions 1+; default false.
    pub is_internal: bool,
    /// The partitions of the topic. Versions 0+.
    pub partitions: Vec<MetadataResponsePartition>,
    /// A bit field of the operations allowed on the topic. Versions 8+;
    /// default [`AUTHORIZED_OPERATIONS_UNKNOWN`].
    pub topic_authorized_operations: i32,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for MetadataResponseTopic {
    fn default() -> Self {
        Self {
            error_code: 0,
            name: Some(ByteStr::default()),
            topic_id: [0; 16],
            is_internal: false,
            partitions: Vec::new(),
            topic_authorized_operations: AUTHORIZED_OPERATIONS_UNKNOWN,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for MetadataResponseTopic {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        sink.put_i16(self.error_code);
        if version < 12 && self.name.is_none() {
            return Err(EncodeError::NullNotAllowed {
                what: "topic name",
                version,
            });
        }
        put_nullable_string(sink, self.name.as_deref(), flex)?;
        if version >= 10 {
            put_uuid(sink, &self.topic_id);
        }
        if version >= 1 {
            sink.put_bool(self.is_internal);
        }
        put_array(sink, &self.partitions, flex, |s, p| p.encode(s, version))?;
        if version >= 8 {
            sink.put_i32(self.topic_authorized_operations);
        }
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for MetadataResponseTopic {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self {
            error_code: get_i16(buf)?,
            name: if version >= 12 {
                get_nullable_string(buf, flex)?
            } else {
                Some(get_string(buf, flex)?)
            },
            ..Self::default()
        };
        if version >= 10 {
            v.topic_id = get_uuid(buf)?;
        }
        if version >= 1 {
            v.is_internal = get_bool(buf)?;
        }
        v.partitions = get_array(buf, flex, |b| MetadataResponsePartition::decode(b, version))?;
        if version >= 8 {
            v.topic_authorized_operations = get_i32(buf)?;
        }
        v.unknown_tagged_fields = read_tags(buf, version)?;
        Ok(v)
    }
}

/// A partition in a Metadata response.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataResponsePartition {
    /// The partition error code, or 0. Versions 0+.
    pub error_code: i16,
    /// The partition index. Versions 0+.
    pub partition_index: i32,
    /// The id of the leader broker. Versions 0+.
    pub leader_id: i32,
    /// The leader epoch. Versions 7+; default -1.
    pub leader_epoch: i32,
    /// The brokers that host the partition. Versions 0+.
    pub replica_nodes: Vec<i32>,
    /// The brokers in sync with the leader. Versions 0+.
    pub isr_nodes: Vec<i32>,
    /// The replicas that are offline. Versions 5+.
    pub offline_replicas: Vec<i32>,
    /// Tagged fields this codec has no name for. Versions 9+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for MetadataResponsePartition {
    fn default() -> Self {
        Self {
            error_code: 0,
            partition_index: 0,
            leader_id: 0,
            leader_epoch: -1,
            replica_nodes: Vec::new(),
            isr_nodes: Vec::new(),
            offline_replicas: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for MetadataResponsePartition {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        sink.put_i16(self.error_code);
        sink.put_i32(self.partition_index);
        sink.put_i32(self.leader_id);
        if version >= 7 {
            sink.put_i32(self.leader_epoch);
        }
        put_i32s(sink, &self.replica_nodes, flex)?;
        put_i32s(sink, &self.isr_nodes, flex)?;
        if version >= 5 {
            put_i32s(sink, &self.offline_replicas, flex)?;
        }
        tags(sink, version, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for MetadataResponsePartition {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self {
            error_code: get_i16(buf)?,
            partition_index: get_i32(buf)?,
            leader_id: get_i32(buf)?,
            ..Self::default()
        };
        if version >= 7 {
            v.leader_epoch = get_i32(buf)?;
        }
        v.replica_nodes = get_array(buf, flex, get_i32)?;
        v.isr_nodes = get_array(buf, flex, get_i32)?;
        if version >= 5 {
            v.offline_replicas = get_array(buf, flex, get_i32)?;
        }
        v.unknown_tagged_fields = read_tags(buf, version)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_topics_only_from_v1() {
        let all = MetadataRequest {
            topics: None,
            ..Default::default()
        };
        let mut out = Vec::new();
        assert!(matches!(
            all.encode(&mut out, 0),
            Err(EncodeError::NullNotAllowed { .. })
        ));
        let mut out = Vec::new();
        all.encode(&mut out, 1).unwrap();
        assert_eq!(out, (-1i32).to_be_bytes());
        assert_eq!(
            MetadataRequest::decode_exact(Bytes::from(out), 1).unwrap(),
            all
        );
    }

    #[test]
    fn null_topic_name_only_from_v12_in_response() {
        let t = MetadataResponseTopic {
            name: None,
            ..Default::default()
        };
        let mut out = Vec::new();
        assert!(t.encode(&mut out, 11).is_err());
        let mut out = Vec::new();
        t.encode(&mut out, 12).unwrap();
        let mut b = Bytes::from(out);
        assert_eq!(MetadataResponseTopic::decode(&mut b, 12).unwrap(), t);
        assert!(b.is_empty());
    }

    #[test]
    fn absent_fields_decode_to_schema_defaults() {
        let mut out = Vec::new();
        let r = MetadataResponse {
            controller_id: 5,
            cluster_id: Some("c".into()),
            ..Default::default()
        };
        r.encode(&mut out, 0).unwrap();
        let back = MetadataResponse::decode_exact(Bytes::from(out), 0).unwrap();
        assert_eq!(back.controller_id, -1);
        assert_eq!(back.cluster_id, None);
        assert_eq!(back.cluster_authorized_operations, i32::MIN);
    }
}
