//! Differential and property tests of the message codecs against the
//! `kafka-protocol` crate, for every message and every version supported.
//!
//! For each version, random values (only the fields the version has get
//! non-default values) are:
//! - encoded by us, decoded by `kafka-protocol`, and compared to the original;
//! - converted to the `kafka-protocol` type, encoded by it, and compared byte
//!   for byte with our encoding, then decoded by us and compared;
//! - round-tripped through our own encoder and decoder.
//!
//! Decoders are also fed random bytes and every truncation of valid
//! encodings; they must return, never panic.

use std::collections::BTreeMap;
use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages as kp;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

use kafka_wire::frame;
use kafka_wire::messages::{
    api_versions as av, init_producer_id as ipi, metadata as md, produce as pr,
    sasl_authenticate as sa, sasl_handshake as sh,
};
use kafka_wire::primitives::RawTaggedField;
use kafka_wire::{ByteStr, Message};

const CASES_PER_VERSION: u32 = 64;

// ---------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..Config::default()
    }
}

/// Runs `check` on `CASES_PER_VERSION` values of `strategy(v)` for each
/// version `v` of `M`, reporting the version and the shrunk value on failure.
fn each_version<M, S, F>(strategy: fn(i16) -> S, check: F)
where
    M: Message + Debug,
    S: Strategy<Value = M>,
    F: Fn(&M, i16) -> Result<(), TestCaseError>,
{
    for v in M::MIN_VERSION..=M::MAX_VERSION {
        let mut runner = TestRunner::new(config(CASES_PER_VERSION));
        if let Err(e) = runner.run(&strategy(v), |m| check(&m, v)) {
            panic!("{} v{v}: {e}", std::any::type_name::<M>());
        }
    }
}

// ---------------------------------------------------------------------------
// Conversions between our types and kafka-protocol's
// ---------------------------------------------------------------------------

/// A type of ours with an equivalent `kafka-protocol` type.
trait Conv: Sized {
    type K;
    fn to_k(&self) -> Self::K;
    fn from_k(k: &Self::K) -> Self;
}

fn s2k(s: &ByteStr) -> StrBytes {
    StrBytes::from_utf8(s.as_bytes().clone()).expect("utf-8")
}

fn k2s(s: &StrBytes) -> ByteStr {
    ByteStr::from_utf8(Bytes::from(s.clone())).expect("utf-8")
}

fn tags2k(t: &[RawTaggedField]) -> BTreeMap<i32, Bytes> {
    t.iter().map(|f| (f.tag as i32, f.data.clone())).collect()
}

fn k2tags(t: &BTreeMap<i32, Bytes>) -> Vec<RawTaggedField> {
    t.iter()
        .map(|(tag, data)| RawTaggedField {
            tag: *tag as u32,
            data: data.clone(),
        })
        .collect()
}

/// kafka-protocol's UUID type is not re-exported; build one by decoding a
/// v10 metadata request topic whose id is `id`.
fn k_uuid_holder(id: &[u8; 16]) -> kp::metadata_request::MetadataRequestTopic {
    let mut raw = id.to_vec();
    raw.extend_from_slice(&[1, 0]); // empty compact string, no tagged fields
    kp::metadata_request::MetadataRequestTopic::decode(&mut Bytes::from(raw), 10).expect("uuid")
}

macro_rules! k_uuid {
    ($id:expr) => {
        k_uuid_holder($id).topic_id
    };
}

fn vec_to_k<T: Conv>(v: &[T]) -> Vec<T::K> {
    v.iter().map(Conv::to_k).collect()
}

fn vec_from_k<T: Conv>(v: &[T::K]) -> Vec<T> {
    v.iter().map(T::from_k).collect()
}

// ApiVersions

impl Conv for av::ApiVersionsRequest {
    type K = kp::ApiVersionsRequest;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.client_software_name = s2k(&self.client_software_name);
        k.client_software_version = s2k(&self.client_software_version);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            client_software_name: k2s(&k.client_software_name),
            client_software_version: k2s(&k.client_software_version),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for av::ApiVersion {
    type K = kp::api_versions_response::ApiVersion;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.api_key = self.api_key;
        k.min_version = self.min_version;
        k.max_version = self.max_version;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            api_key: k.api_key,
            min_version: k.min_version,
            max_version: k.max_version,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for av::SupportedFeatureKey {
    type K = kp::api_versions_response::SupportedFeatureKey;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.name = s2k(&self.name);
        k.min_version = self.min_version;
        k.max_version = self.max_version;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            name: k2s(&k.name),
            min_version: k.min_version,
            max_version: k.max_version,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for av::FinalizedFeatureKey {
    type K = kp::api_versions_response::FinalizedFeatureKey;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.name = s2k(&self.name);
        k.max_version_level = self.max_version_level;
        k.min_version_level = self.min_version_level;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            name: k2s(&k.name),
            max_version_level: k.max_version_level,
            min_version_level: k.min_version_level,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for av::ApiVersionsResponse {
    type K = kp::ApiVersionsResponse;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.error_code = self.error_code;
        k.api_keys = vec_to_k(&self.api_keys);
        k.throttle_time_ms = self.throttle_time_ms;
        k.supported_features = vec_to_k(&self.supported_features);
        k.finalized_features_epoch = self.finalized_features_epoch;
        k.finalized_features = vec_to_k(&self.finalized_features);
        k.zk_migration_ready = self.zk_migration_ready;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            error_code: k.error_code,
            api_keys: vec_from_k(&k.api_keys),
            throttle_time_ms: k.throttle_time_ms,
            supported_features: vec_from_k(&k.supported_features),
            finalized_features_epoch: k.finalized_features_epoch,
            finalized_features: vec_from_k(&k.finalized_features),
            zk_migration_ready: k.zk_migration_ready,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

// Metadata

impl Conv for md::MetadataRequestTopic {
    type K = kp::metadata_request::MetadataRequestTopic;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.topic_id = k_uuid!(&self.topic_id);
        k.name = self.name.as_ref().map(|n| kp::TopicName(s2k(n)));
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            topic_id: *k.topic_id.as_bytes(),
            name: k.name.as_ref().map(|n| k2s(&n.0)),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for md::MetadataRequest {
    type K = kp::MetadataRequest;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.topics = self.topics.as_deref().map(vec_to_k);
        k.allow_auto_topic_creation = self.allow_auto_topic_creation;
        k.include_cluster_authorized_operations = self.include_cluster_authorized_operations;
        k.include_topic_authorized_operations = self.include_topic_authorized_operations;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            topics: k.topics.as_deref().map(vec_from_k),
            allow_auto_topic_creation: k.allow_auto_topic_creation,
            include_cluster_authorized_operations: k.include_cluster_authorized_operations,
            include_topic_authorized_operations: k.include_topic_authorized_operations,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for md::MetadataResponseBroker {
    type K = kp::metadata_response::MetadataResponseBroker;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.node_id = kp::BrokerId(self.node_id);
        k.host = s2k(&self.host);
        k.port = self.port;
        k.rack = self.rack.as_ref().map(s2k);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            node_id: k.node_id.0,
            host: k2s(&k.host),
            port: k.port,
            rack: k.rack.as_ref().map(k2s),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for md::MetadataResponsePartition {
    type K = kp::metadata_response::MetadataResponsePartition;
    fn to_k(&self) -> Self::K {
        let ids = |v: &[i32]| v.iter().map(|i| kp::BrokerId(*i)).collect::<Vec<_>>();
        let mut k = Self::K::default();
        k.error_code = self.error_code;
        k.partition_index = self.partition_index;
        k.leader_id = kp::BrokerId(self.leader_id);
        k.leader_epoch = self.leader_epoch;
        k.replica_nodes = ids(&self.replica_nodes);
        k.isr_nodes = ids(&self.isr_nodes);
        k.offline_replicas = ids(&self.offline_replicas);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        let ids = |v: &[kp::BrokerId]| v.iter().map(|i| i.0).collect::<Vec<_>>();
        Self {
            error_code: k.error_code,
            partition_index: k.partition_index,
            leader_id: k.leader_id.0,
            leader_epoch: k.leader_epoch,
            replica_nodes: ids(&k.replica_nodes),
            isr_nodes: ids(&k.isr_nodes),
            offline_replicas: ids(&k.offline_replicas),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for md::MetadataResponseTopic {
    type K = kp::metadata_response::MetadataResponseTopic;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.error_code = self.error_code;
        k.name = self.name.as_ref().map(|n| kp::TopicName(s2k(n)));
        k.topic_id = k_uuid!(&self.topic_id);
        k.is_internal = self.is_internal;
        k.partitions = vec_to_k(&self.partitions);
        k.topic_authorized_operations = self.topic_authorized_operations;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            error_code: k.error_code,
            name: k.name.as_ref().map(|n| k2s(&n.0)),
            topic_id: *k.topic_id.as_bytes(),
            is_internal: k.is_internal,
            partitions: vec_from_k(&k.partitions),
            topic_authorized_operations: k.topic_authorized_operations,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for md::MetadataResponse {
    type K = kp::MetadataResponse;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.throttle_time_ms = self.throttle_time_ms;
        k.brokers = vec_to_k(&self.brokers);
        k.cluster_id = self.cluster_id.as_ref().map(s2k);
        k.controller_id = kp::BrokerId(self.controller_id);
        k.topics = vec_to_k(&self.topics);
        k.cluster_authorized_operations = self.cluster_authorized_operations;
        k.error_code = self.error_code;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            throttle_time_ms: k.throttle_time_ms,
            brokers: vec_from_k(&k.brokers),
            cluster_id: k.cluster_id.as_ref().map(k2s),
            controller_id: k.controller_id.0,
            topics: vec_from_k(&k.topics),
            cluster_authorized_operations: k.cluster_authorized_operations,
            error_code: k.error_code,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

// Produce

impl Conv for pr::PartitionProduceData {
    type K = kp::produce_request::PartitionProduceData;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.index = self.index;
        k.records = self.records.clone();
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            index: k.index,
            records: k.records.clone(),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for pr::TopicProduceData {
    type K = kp::produce_request::TopicProduceData;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.name = kp::TopicName(s2k(&self.name));
        k.topic_id = k_uuid!(&self.topic_id);
        k.partition_data = vec_to_k(&self.partition_data);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            name: k2s(&k.name.0),
            topic_id: *k.topic_id.as_bytes(),
            partition_data: vec_from_k(&k.partition_data),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for pr::ProduceRequest {
    type K = kp::ProduceRequest;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.transactional_id = self
            .transactional_id
            .as_ref()
            .map(|t| kp::TransactionalId(s2k(t)));
        k.acks = self.acks;
        k.timeout_ms = self.timeout_ms;
        k.topic_data = vec_to_k(&self.topic_data);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            transactional_id: k.transactional_id.as_ref().map(|t| k2s(&t.0)),
            acks: k.acks,
            timeout_ms: k.timeout_ms,
            topic_data: vec_from_k(&k.topic_data),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for pr::BatchIndexAndErrorMessage {
    type K = kp::produce_response::BatchIndexAndErrorMessage;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.batch_index = self.batch_index;
        k.batch_index_error_message = self.batch_index_error_message.as_ref().map(s2k);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            batch_index: k.batch_index,
            batch_index_error_message: k.batch_index_error_message.as_ref().map(k2s),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for pr::LeaderIdAndEpoch {
    type K = kp::produce_response::LeaderIdAndEpoch;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.leader_id = kp::BrokerId(self.leader_id);
        k.leader_epoch = self.leader_epoch;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            leader_id: k.leader_id.0,
            leader_epoch: k.leader_epoch,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for pr::NodeEndpoint {
    type K = kp::produce_response::NodeEndpoint;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.node_id = kp::BrokerId(self.node_id);
        k.host = s2k(&self.host);
        k.port = self.port;
        k.rack = self.rack.as_ref().map(s2k);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            node_id: k.node_id.0,
            host: k2s(&k.host),
            port: k.port,
            rack: k.rack.as_ref().map(k2s),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for pr::PartitionProduceResponse {
    type K = kp::produce_response::PartitionProduceResponse;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.index = self.index;
        k.error_code = self.error_code;
        k.base_offset = self.base_offset;
        k.log_append_time_ms = self.log_append_time_ms;
        k.log_start_offset = self.log_start_offset;
        k.record_errors = vec_to_k(&self.record_errors);
        k.error_message = self.error_message.as_ref().map(s2k);
        k.current_leader = self.current_leader.to_k();
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            index: k.index,
            error_code: k.error_code,
            base_offset: k.base_offset,
            log_append_time_ms: k.log_append_time_ms,
            log_start_offset: k.log_start_offset,
            record_errors: vec_from_k(&k.record_errors),
            error_message: k.error_message.as_ref().map(k2s),
            current_leader: pr::LeaderIdAndEpoch::from_k(&k.current_leader),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for pr::TopicProduceResponse {
    type K = kp::produce_response::TopicProduceResponse;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.name = kp::TopicName(s2k(&self.name));
        k.topic_id = k_uuid!(&self.topic_id);
        k.partition_responses = vec_to_k(&self.partition_responses);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            name: k2s(&k.name.0),
            topic_id: *k.topic_id.as_bytes(),
            partition_responses: vec_from_k(&k.partition_responses),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for pr::ProduceResponse {
    type K = kp::ProduceResponse;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.responses = vec_to_k(&self.responses);
        k.throttle_time_ms = self.throttle_time_ms;
        k.node_endpoints = vec_to_k(&self.node_endpoints);
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            responses: vec_from_k(&k.responses),
            throttle_time_ms: k.throttle_time_ms,
            node_endpoints: vec_from_k(&k.node_endpoints),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

// InitProducerId

impl Conv for ipi::InitProducerIdRequest {
    type K = kp::InitProducerIdRequest;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.transactional_id = self
            .transactional_id
            .as_ref()
            .map(|t| kp::TransactionalId(s2k(t)));
        k.transaction_timeout_ms = self.transaction_timeout_ms;
        k.producer_id = kp::ProducerId(self.producer_id);
        k.producer_epoch = self.producer_epoch;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            transactional_id: k.transactional_id.as_ref().map(|t| k2s(&t.0)),
            transaction_timeout_ms: k.transaction_timeout_ms,
            producer_id: k.producer_id.0,
            producer_epoch: k.producer_epoch,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for ipi::InitProducerIdResponse {
    type K = kp::InitProducerIdResponse;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.throttle_time_ms = self.throttle_time_ms;
        k.error_code = self.error_code;
        k.producer_id = kp::ProducerId(self.producer_id);
        k.producer_epoch = self.producer_epoch;
        k.ongoing_txn_producer_id = kp::ProducerId(self.ongoing_txn_producer_id);
        k.ongoing_txn_producer_epoch = self.ongoing_txn_producer_epoch;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            throttle_time_ms: k.throttle_time_ms,
            error_code: k.error_code,
            producer_id: k.producer_id.0,
            producer_epoch: k.producer_epoch,
            ongoing_txn_producer_id: k.ongoing_txn_producer_id.0,
            ongoing_txn_producer_epoch: k.ongoing_txn_producer_epoch,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

// SASL

impl Conv for sh::SaslHandshakeRequest {
    type K = kp::SaslHandshakeRequest;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.mechanism = s2k(&self.mechanism);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            mechanism: k2s(&k.mechanism),
        }
    }
}

impl Conv for sh::SaslHandshakeResponse {
    type K = kp::SaslHandshakeResponse;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.error_code = self.error_code;
        k.mechanisms = self.mechanisms.iter().map(s2k).collect();
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            error_code: k.error_code,
            mechanisms: k.mechanisms.iter().map(k2s).collect(),
        }
    }
}

impl Conv for sa::SaslAuthenticateRequest {
    type K = kp::SaslAuthenticateRequest;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.auth_bytes = self.auth_bytes.clone();
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            auth_bytes: k.auth_bytes.clone(),
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

impl Conv for sa::SaslAuthenticateResponse {
    type K = kp::SaslAuthenticateResponse;
    fn to_k(&self) -> Self::K {
        let mut k = Self::K::default();
        k.error_code = self.error_code;
        k.error_message = self.error_message.as_ref().map(s2k);
        k.auth_bytes = self.auth_bytes.clone();
        k.session_lifetime_ms = self.session_lifetime_ms;
        k.unknown_tagged_fields = tags2k(&self.unknown_tagged_fields);
        k
    }
    fn from_k(k: &Self::K) -> Self {
        Self {
            error_code: k.error_code,
            error_message: k.error_message.as_ref().map(k2s),
            auth_bytes: k.auth_bytes.clone(),
            session_lifetime_ms: k.session_lifetime_ms,
            unknown_tagged_fields: k2tags(&k.unknown_tagged_fields),
        }
    }
}

// ---------------------------------------------------------------------------
// Strategies: only the fields a version has get non-default values
// ---------------------------------------------------------------------------

fn st() -> impl Strategy<Value = ByteStr> {
    ".{0,10}".prop_map(ByteStr::from)
}

fn nst() -> impl Strategy<Value = Option<ByteStr>> {
    proptest::option::of(st())
}

fn by() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

/// Unknown tagged fields in flexible versions, with tags above every known
/// tag of these messages (kafka-protocol only writes unknown tags above the
/// known ones).
fn tg(flexible: bool) -> BoxedStrategy<Vec<RawTaggedField>> {
    if !flexible {
        return Just(Vec::new()).boxed();
    }
    btree_map(10u32..300, by(), 0..3)
        .prop_map(|m| {
            m.into_iter()
                .map(|(tag, data)| RawTaggedField { tag, data })
                .collect()
        })
        .boxed()
}

fn ids() -> impl Strategy<Value = Vec<i32>> {
    vec(any::<i32>(), 0..3)
}

fn api_versions_request(v: i16) -> impl Strategy<Value = av::ApiVersionsRequest> {
    (st(), st(), tg(v >= 3)).prop_map(move |(n, ver, t)| {
        let mut r = av::ApiVersionsRequest::default();
        if v >= 3 {
            r.client_software_name = n;
            r.client_software_version = ver;
            r.unknown_tagged_fields = t;
        }
        r
    })
}

fn api_versions_response(v: i16) -> impl Strategy<Value = av::ApiVersionsResponse> {
    let flex = v >= 3;
    let api = (any::<i16>(), any::<i16>(), any::<i16>(), tg(flex)).prop_map(|(k, a, b, t)| {
        av::ApiVersion {
            api_key: k,
            min_version: a,
            max_version: b,
            unknown_tagged_fields: t,
        }
    });
    let sup = (st(), any::<i16>(), any::<i16>(), tg(true)).prop_map(|(n, a, b, t)| {
        av::SupportedFeatureKey {
            name: n,
            min_version: a,
            max_version: b,
            unknown_tagged_fields: t,
        }
    });
    let fin = (st(), any::<i16>(), any::<i16>(), tg(true)).prop_map(|(n, a, b, t)| {
        av::FinalizedFeatureKey {
            name: n,
            max_version_level: a,
            min_version_level: b,
            unknown_tagged_fields: t,
        }
    });
    (
        any::<i16>(),
        vec(api, 0..3),
        any::<i32>(),
        vec(sup, 0..3),
        prop_oneof![Just(-1i64), any::<i64>()],
        vec(fin, 0..3),
        any::<bool>(),
        tg(flex),
    )
        .prop_map(move |(e, apis, thr, sup, epoch, fin, zk, t)| {
            let mut r = av::ApiVersionsResponse {
                error_code: e,
                api_keys: apis,
                ..Default::default()
            };
            if v >= 1 {
                r.throttle_time_ms = thr;
            }
            if flex {
                r.supported_features = sup;
                r.finalized_features_epoch = epoch;
                r.finalized_features = fin;
                r.zk_migration_ready = zk;
                r.unknown_tagged_fields = t;
            }
            r
        })
}

fn metadata_request(v: i16) -> impl Strategy<Value = md::MetadataRequest> {
    let flex = v >= 9;
    let topic = (any::<[u8; 16]>(), nst(), st(), tg(flex)).prop_map(move |(id, n, name, t)| {
        md::MetadataRequestTopic {
            topic_id: if v >= 10 { id } else { [0; 16] },
            name: if v >= 10 { n } else { Some(name) },
            unknown_tagged_fields: t,
        }
    });
    (
        proptest::option::of(vec(topic, 0..3)),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        tg(flex),
    )
        .prop_map(move |(topics, auto, cluster, topic_ops, t)| {
            let mut r = md::MetadataRequest {
                topics: if v >= 1 {
                    topics
                } else {
                    Some(topics.unwrap_or_default())
                },
                unknown_tagged_fields: t,
                ..Default::default()
            };
            if v >= 4 {
                r.allow_auto_topic_creation = auto;
            }
            if (8..=10).contains(&v) {
                r.include_cluster_authorized_operations = cluster;
            }
            if v >= 8 {
                r.include_topic_authorized_operations = topic_ops;
            }
            r
        })
}

fn metadata_response(v: i16) -> impl Strategy<Value = md::MetadataResponse> {
    let flex = v >= 9;
    let broker = (any::<i32>(), st(), any::<i32>(), nst(), tg(flex)).prop_map(
        move |(id, host, port, rack, t)| md::MetadataResponseBroker {
            node_id: id,
            host,
            port,
            rack: if v >= 1 { rack } else { None },
            unknown_tagged_fields: t,
        },
    );
    let partition = (
        (any::<i16>(), any::<i32>(), any::<i32>(), any::<i32>()),
        (ids(), ids(), ids()),
        tg(flex),
    )
        .prop_map(move |((e, idx, leader, epoch), (reps, isr, off), t)| {
            md::MetadataResponsePartition {
                error_code: e,
                partition_index: idx,
                leader_id: leader,
                leader_epoch: if v >= 7 { epoch } else { -1 },
                replica_nodes: reps,
                isr_nodes: isr,
                offline_replicas: if v >= 5 { off } else { Vec::new() },
                unknown_tagged_fields: t,
            }
        });
    let topic = (
        (any::<i16>(), nst(), st(), any::<[u8; 16]>(), any::<bool>()),
        vec(partition, 0..3),
        any::<i32>(),
        tg(flex),
    )
        .prop_map(move |((e, nn, name, id, internal), parts, ops, t)| {
            md::MetadataResponseTopic {
                error_code: e,
                name: if v >= 12 { nn } else { Some(name) },
                topic_id: if v >= 10 { id } else { [0; 16] },
                is_internal: v >= 1 && internal,
                partitions: parts,
                topic_authorized_operations: if v >= 8 { ops } else { i32::MIN },
                unknown_tagged_fields: t,
            }
        });
    (
        (any::<i32>(), vec(broker, 0..3), nst(), any::<i32>()),
        (vec(topic, 0..3), any::<i32>(), any::<i16>()),
        tg(flex),
    )
        .prop_map(
            move |((thr, brokers, cluster, ctrl), (topics, ops, e), t)| md::MetadataResponse {
                throttle_time_ms: if v >= 3 { thr } else { 0 },
                brokers,
                cluster_id: if v >= 2 { cluster } else { None },
                controller_id: if v >= 1 { ctrl } else { -1 },
                topics,
                cluster_authorized_operations: if (8..=10).contains(&v) { ops } else { i32::MIN },
                error_code: if v >= 13 { e } else { 0 },
                unknown_tagged_fields: t,
            },
        )
}

fn produce_request(v: i16) -> impl Strategy<Value = pr::ProduceRequest> {
    let flex = v >= 9;
    let partition = (
        any::<i32>(),
        proptest::option::of(vec(any::<u8>(), 0..700).prop_map(Bytes::from)),
        tg(flex),
    )
        .prop_map(|(index, records, t)| pr::PartitionProduceData {
            index,
            records,
            unknown_tagged_fields: t,
        });
    let topic = (st(), any::<[u8; 16]>(), vec(partition, 0..3), tg(flex)).prop_map(
        move |(name, id, parts, t)| pr::TopicProduceData {
            name: if v <= 12 { name } else { ByteStr::default() },
            topic_id: if v >= 13 { id } else { [0; 16] },
            partition_data: parts,
            unknown_tagged_fields: t,
        },
    );
    (
        nst(),
        any::<i16>(),
        any::<i32>(),
        vec(topic, 0..3),
        tg(flex),
    )
        .prop_map(|(tid, acks, timeout, topics, t)| pr::ProduceRequest {
            transactional_id: tid,
            acks,
            timeout_ms: timeout,
            topic_data: topics,
            unknown_tagged_fields: t,
        })
}

fn produce_response(v: i16) -> impl Strategy<Value = pr::ProduceResponse> {
    let flex = v >= 9;
    let rec_err =
        (any::<i32>(), nst(), tg(flex)).prop_map(|(i, m, t)| pr::BatchIndexAndErrorMessage {
            batch_index: i,
            batch_index_error_message: m,
            unknown_tagged_fields: t,
        });
    let leader = prop_oneof![
        Just(pr::LeaderIdAndEpoch::default()),
        (any::<i32>(), any::<i32>(), tg(true)).prop_map(|(id, epoch, t)| pr::LeaderIdAndEpoch {
            leader_id: id,
            leader_epoch: epoch,
            unknown_tagged_fields: t,
        }),
    ];
    let partition = (
        (
            any::<i32>(),
            any::<i16>(),
            any::<i64>(),
            any::<i64>(),
            any::<i64>(),
        ),
        (vec(rec_err, 0..3), nst(), leader),
        tg(flex),
    )
        .prop_map(
            move |((index, e, base, append, start), (errs, msg, leader), t)| {
                pr::PartitionProduceResponse {
                    index,
                    error_code: e,
                    base_offset: base,
                    log_append_time_ms: append,
                    log_start_offset: if v >= 5 { start } else { -1 },
                    record_errors: if v >= 8 { errs } else { Vec::new() },
                    error_message: if v >= 8 { msg } else { None },
                    current_leader: if v >= 10 {
                        leader
                    } else {
                        pr::LeaderIdAndEpoch::default()
                    },
                    unknown_tagged_fields: t,
                }
            },
        );
    let topic = (st(), any::<[u8; 16]>(), vec(partition, 0..3), tg(flex)).prop_map(
        move |(name, id, parts, t)| pr::TopicProduceResponse {
            name: if v <= 12 { name } else { ByteStr::default() },
            topic_id: if v >= 13 { id } else { [0; 16] },
            partition_responses: parts,
            unknown_tagged_fields: t,
        },
    );
    let endpoint = (any::<i32>(), st(), any::<i32>(), nst(), tg(true)).prop_map(
        |(id, host, port, rack, t)| pr::NodeEndpoint {
            node_id: id,
            host,
            port,
            rack,
            unknown_tagged_fields: t,
        },
    );
    (
        vec(topic, 0..3),
        any::<i32>(),
        vec(endpoint, 0..3),
        tg(flex),
    )
        .prop_map(move |(responses, thr, eps, t)| pr::ProduceResponse {
            responses,
            throttle_time_ms: thr,
            node_endpoints: if v >= 10 { eps } else { Vec::new() },
            unknown_tagged_fields: t,
        })
}

fn init_producer_id_request(v: i16) -> impl Strategy<Value = ipi::InitProducerIdRequest> {
    (nst(), any::<i32>(), any::<i64>(), any::<i16>(), tg(v >= 2)).prop_map(
        move |(tid, timeout, pid, epoch, t)| ipi::InitProducerIdRequest {
            transactional_id: tid,
            transaction_timeout_ms: timeout,
            producer_id: if v >= 3 { pid } else { -1 },
            producer_epoch: if v >= 3 { epoch } else { -1 },
            unknown_tagged_fields: t,
        },
    )
}

fn init_producer_id_response(v: i16) -> impl Strategy<Value = ipi::InitProducerIdResponse> {
    (
        (any::<i32>(), any::<i16>(), any::<i64>(), any::<i16>()),
        (any::<i64>(), any::<i16>()),
        tg(v >= 2),
    )
        .prop_map(move |((thr, e, pid, epoch), (opid, oepoch), t)| {
            ipi::InitProducerIdResponse {
                throttle_time_ms: thr,
                error_code: e,
                producer_id: pid,
                producer_epoch: epoch,
                ongoing_txn_producer_id: if v >= 6 { opid } else { -1 },
                ongoing_txn_producer_epoch: if v >= 6 { oepoch } else { -1 },
                unknown_tagged_fields: t,
            }
        })
}

fn sasl_handshake_request(_v: i16) -> impl Strategy<Value = sh::SaslHandshakeRequest> {
    st().prop_map(|m| sh::SaslHandshakeRequest { mechanism: m })
}

fn sasl_handshake_response(_v: i16) -> impl Strategy<Value = sh::SaslHandshakeResponse> {
    (any::<i16>(), vec(st(), 0..3)).prop_map(|(e, m)| sh::SaslHandshakeResponse {
        error_code: e,
        mechanisms: m,
    })
}

fn sasl_authenticate_request(v: i16) -> impl Strategy<Value = sa::SaslAuthenticateRequest> {
    (by(), tg(v >= 2)).prop_map(|(b, t)| sa::SaslAuthenticateRequest {
        auth_bytes: b,
        unknown_tagged_fields: t,
    })
}

fn sasl_authenticate_response(v: i16) -> impl Strategy<Value = sa::SaslAuthenticateResponse> {
    (any::<i16>(), nst(), by(), any::<i64>(), tg(v >= 2)).prop_map(move |(e, m, b, life, t)| {
        sa::SaslAuthenticateResponse {
            error_code: e,
            error_message: m,
            auth_bytes: b,
            session_lifetime_ms: if v >= 1 { life } else { 0 },
            unknown_tagged_fields: t,
        }
    })
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

fn encode_ours<M: Message>(m: &M, v: i16) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out, v)
        .expect("our encoder refused a valid value");
    out
}

/// Ours -> theirs -> compare; theirs -> bytes == our bytes; theirs' bytes ->
/// ours -> compare.
fn differential<M>(ours: &M, v: i16) -> Result<(), TestCaseError>
where
    M: Message + Conv + Debug + PartialEq,
    M::K: Encodable + Decodable + Debug,
{
    let our_bytes = encode_ours(ours, v);

    let mut buf = Bytes::from(our_bytes.clone());
    let theirs = M::K::decode(&mut buf, v)
        .map_err(|e| TestCaseError::fail(format!("kafka-protocol refused our bytes: {e}")))?;
    prop_assert!(buf.is_empty(), "kafka-protocol left {} bytes", buf.len());
    prop_assert_eq!(&M::from_k(&theirs), ours, "decoded by kafka-protocol");

    let mut their_bytes = BytesMut::new();
    ours.to_k()
        .encode(&mut their_bytes, v)
        .map_err(|e| TestCaseError::fail(format!("kafka-protocol refused to encode: {e}")))?;
    prop_assert_eq!(&their_bytes[..], &our_bytes[..], "encodings differ");

    let back = M::decode_exact(their_bytes.freeze(), v)
        .map_err(|e| TestCaseError::fail(format!("we refused their bytes: {e}")))?;
    prop_assert_eq!(&back, ours, "decoded by us");
    Ok(())
}

fn round_trip<M: Message + Debug + PartialEq>(ours: &M, v: i16) -> Result<(), TestCaseError> {
    let bytes = encode_ours(ours, v);
    let back = M::decode_exact(Bytes::from(bytes), v)
        .map_err(|e| TestCaseError::fail(format!("we refused our own bytes: {e}")))?;
    prop_assert_eq!(&back, ours);
    Ok(())
}

/// Every strict prefix of a valid encoding fails to decode (the decoder reads
/// the same fields in the same order until the input runs out), and none
/// panics.
fn truncations<M: Message + Debug>(ours: &M, v: i16) -> Result<(), TestCaseError> {
    let bytes = Bytes::from(encode_ours(ours, v));
    for n in 0..bytes.len() {
        let mut prefix = bytes.slice(..n);
        prop_assert!(
            M::decode(&mut prefix, v).is_err(),
            "a {n}-byte prefix of {} bytes decoded",
            bytes.len()
        );
    }
    Ok(())
}

macro_rules! for_all_messages {
    ($check:ident) => {
        each_version::<av::ApiVersionsRequest, _, _>(api_versions_request, $check);
        each_version::<av::ApiVersionsResponse, _, _>(api_versions_response, $check);
        each_version::<md::MetadataRequest, _, _>(metadata_request, $check);
        each_version::<md::MetadataResponse, _, _>(metadata_response, $check);
        each_version::<pr::ProduceRequest, _, _>(produce_request, $check);
        each_version::<pr::ProduceResponse, _, _>(produce_response, $check);
        each_version::<ipi::InitProducerIdRequest, _, _>(init_producer_id_request, $check);
        each_version::<ipi::InitProducerIdResponse, _, _>(init_producer_id_response, $check);
        each_version::<sh::SaslHandshakeRequest, _, _>(sasl_handshake_request, $check);
        each_version::<sh::SaslHandshakeResponse, _, _>(sasl_handshake_response, $check);
        each_version::<sa::SaslAuthenticateRequest, _, _>(sasl_authenticate_request, $check);
        each_version::<sa::SaslAuthenticateResponse, _, _>(sasl_authenticate_response, $check);
    };
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn differential_api_versions() {
    each_version::<av::ApiVersionsRequest, _, _>(api_versions_request, differential);
    each_version::<av::ApiVersionsResponse, _, _>(api_versions_response, differential);
}

#[test]
fn differential_metadata() {
    each_version::<md::MetadataRequest, _, _>(metadata_request, differential);
    each_version::<md::MetadataResponse, _, _>(metadata_response, differential);
}

#[test]
fn differential_produce() {
    each_version::<pr::ProduceRequest, _, _>(produce_request, differential);
    each_version::<pr::ProduceResponse, _, _>(produce_response, differential);
}

#[test]
fn differential_init_producer_id() {
    each_version::<ipi::InitProducerIdRequest, _, _>(init_producer_id_request, differential);
    each_version::<ipi::InitProducerIdResponse, _, _>(init_producer_id_response, differential);
}

#[test]
fn differential_sasl() {
    each_version::<sh::SaslHandshakeRequest, _, _>(sasl_handshake_request, differential);
    each_version::<sh::SaslHandshakeResponse, _, _>(sasl_handshake_response, differential);
    each_version::<sa::SaslAuthenticateRequest, _, _>(sasl_authenticate_request, differential);
    each_version::<sa::SaslAuthenticateResponse, _, _>(sasl_authenticate_response, differential);
}

#[test]
fn round_trip_all_messages_all_versions() {
    for_all_messages!(round_trip);
}

#[test]
fn truncated_encodings_are_refused_without_panicking() {
    for_all_messages!(truncations);
}

/// Decodes `data` as every message at every version it supports (and one
/// version on each side of the range). Only returning matters.
fn decode_everything(data: &Bytes) {
    fn all<M: Message>(data: &Bytes) {
        for v in M::MIN_VERSION - 1..=M::MAX_VERSION + 1 {
            let _ = M::decode(&mut data.clone(), v);
            let _ = M::decode_exact(data.clone(), v);
        }
    }
    all::<av::ApiVersionsRequest>(data);
    all::<av::ApiVersionsResponse>(data);
    all::<md::MetadataRequest>(data);
    all::<md::MetadataResponse>(data);
    all::<pr::ProduceRequest>(data);
    all::<pr::ProduceResponse>(data);
    all::<ipi::InitProducerIdRequest>(data);
    all::<ipi::InitProducerIdResponse>(data);
    all::<sh::SaslHandshakeRequest>(data);
    all::<sh::SaslHandshakeResponse>(data);
    all::<sa::SaslAuthenticateRequest>(data);
    all::<sa::SaslAuthenticateResponse>(data);
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..256)) {
        decode_everything(&Bytes::from(data));
    }

    /// Mostly-small bytes, so varints, lengths and counts are often plausible
    /// and decoders get deep into nested structures.
    #[test]
    fn plausible_bytes_never_panic(data in vec(prop_oneof![4 => 0u8..4, 1 => any::<u8>()], 0..256)) {
        decode_everything(&Bytes::from(data));
    }
}

#[test]
fn defaults_match_the_schema_defaults() {
    // Where kafka-protocol's defaults are the schema's, ours must agree.
    assert_eq!(
        av::ApiVersionsResponse::default(),
        av::ApiVersionsResponse::from_k(&kp::ApiVersionsResponse::default())
    );
    assert_eq!(
        md::MetadataRequest::default(),
        md::MetadataRequest::from_k(&kp::MetadataRequest::default())
    );
    assert_eq!(
        md::MetadataResponse::default(),
        md::MetadataResponse::from_k(&kp::MetadataResponse::default())
    );
    assert_eq!(
        md::MetadataResponseTopic::default(),
        md::MetadataResponseTopic::from_k(&Default::default())
    );
    assert_eq!(
        md::MetadataResponsePartition::default(),
        md::MetadataResponsePartition::from_k(&Default::default())
    );
    assert_eq!(
        pr::ProduceResponse::default(),
        pr::ProduceResponse::from_k(&kp::ProduceResponse::default())
    );
    assert_eq!(
        pr::PartitionProduceResponse::default(),
        pr::PartitionProduceResponse::from_k(&Default::default())
    );
    assert_eq!(
        ipi::InitProducerIdResponse::default(),
        ipi::InitProducerIdResponse::from_k(&kp::InitProducerIdResponse::default())
    );
    assert_eq!(
        sa::SaslAuthenticateResponse::default(),
        sa::SaslAuthenticateResponse::from_k(&kp::SaslAuthenticateResponse::default())
    );
    // Deliberate difference: a default InitProducerId request is idempotent
    // (null transactional id), not transactional with an empty id.
    let mut k = kp::InitProducerIdRequest::default();
    k.transactional_id = None;
    assert_eq!(
        ipi::InitProducerIdRequest::default(),
        ipi::InitProducerIdRequest::from_k(&k)
    );
}

#[test]
fn produce_payload_stays_its_own_chunk_when_vectored() {
    let threshold = 512;
    let batch_a = Bytes::from((0..threshold as u32).map(|i| i as u8).collect::<Vec<u8>>());
    let batch_b = Bytes::from(vec![0xabu8; 4096]);
    let small = Bytes::from_static(b"tiny batch");
    for v in [3i16, 8, 9, 12, 13] {
        let topic =
            |name: &'static str, parts: Vec<pr::PartitionProduceData>| pr::TopicProduceData {
                name: if v <= 12 {
                    name.into()
                } else {
                    ByteStr::default()
                },
                topic_id: if v >= 13 { [7; 16] } else { [0; 16] },
                partition_data: parts,
                unknown_tagged_fields: Vec::new(),
            };
        let part = |index, records: &Bytes| pr::PartitionProduceData {
            index,
            records: Some(records.clone()),
            unknown_tagged_fields: Vec::new(),
        };
        let req = pr::ProduceRequest {
            transactional_id: None,
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![
                topic("a", vec![part(0, &batch_a), part(1, &small)]),
                topic("b", vec![part(0, &batch_b)]),
            ],
            unknown_tagged_fields: Vec::new(),
        };
        let client_id = ByteStr::from("forwarder");
        let chunks =
            frame::encode_request_vectored(&req, v, 42, Some(&client_id), threshold).unwrap();
        let mut flat = BytesMut::new();
        frame::encode_request(&mut flat, &req, v, 42, Some(&client_id)).unwrap();

        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(joined, &flat[..], "v{v}: chunks differ from the flat frame");
        for batch in [&batch_a, &batch_b] {
            let shared = chunks
                .iter()
                .filter(|c| c.as_ptr() == batch.as_ptr() && c.len() == batch.len())
                .count();
            assert_eq!(shared, 1, "v{v}: batch not kept by reference");
        }
        assert!(
            !chunks.iter().any(|c| c.as_ptr() == small.as_ptr()),
            "v{v}: a batch below the threshold should be copied"
        );
        // Owned, batch a, owned (small batch, next topic header), batch b,
        // and from v9 an owned tail of tagged-field sections.
        assert_eq!(chunks.len(), if v >= 9 { 5 } else { 4 }, "v{v}");
        let (_, back) = frame::decode_request::<pr::ProduceRequest>(flat.freeze().slice(4..))
            .expect("decode own frame");
        assert_eq!(back, req);
    }
}
