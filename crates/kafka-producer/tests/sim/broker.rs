//! A sans-IO model of a Kafka cluster: decodes the producer's real request
//! frames with kafka-wire, keeps per-partition logs, and deduplicates
//! idempotent batches by (producer id, epoch, sequence) as a broker does.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::{Bytes, BytesMut};
use kafka_wire::compression::Decompressor;
use kafka_wire::frame::{decode_request, encode_response};
use kafka_wire::header::RequestHeader;
use kafka_wire::messages::api_versions::{ApiVersion, ApiVersionsRequest, ApiVersionsResponse};
use kafka_wire::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_wire::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use kafka_wire::messages::produce::{
    PartitionProduceResponse, ProduceRequest, ProduceResponse, TopicProduceResponse,
};
use kafka_wire::messages::{api_versions, init_producer_id, metadata, produce};
use kafka_wire::record::RecordBatch;
use kafka_wire::{ErrorCode, Message};

/// A fault to inject into one partition of one Produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injection {
    /// Answer with this code without writing.
    Before(ErrorCode),
    /// Write, then answer with this code.
    After(ErrorCode),
}

/// What the injector sees.
#[derive(Debug, Clone)]
pub struct ProduceCtx {
    pub topic: String,
    pub partition: i32,
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub offset: i64,
    pub value: Vec<u8>,
}

#[derive(Debug, Default)]
struct ProducerState {
    epoch: i16,
    last_seq: i32,
    /// (first seq, last seq, base offset) of the last 5 batches.
    cache: VecDeque<(i32, i32, i64)>,
}

#[derive(Debug)]
pub struct PartitionModel {
    pub leader: i32,
    pub log: Vec<Stored>,
    states: HashMap<i64, ProducerState>,
}

/// API version ranges the model advertises.
#[derive(Debug, Clone, Copy)]
pub struct Apis {
    pub produce_max: i16,
    pub metadata_max: i16,
    pub init_max: i16,
    pub api_versions_max: i16,
}

impl Default for Apis {
    fn default() -> Self {
        Self {
            produce_max: 11,
            metadata_max: 12,
            init_max: 4,
            api_versions_max: 3,
        }
    }
}

#[derive(Debug)]
pub struct Cluster {
    pub nodes: usize,
    pub topics: BTreeMap<String, Vec<PartitionModel>>,
    pub issued: HashMap<i64, i16>,
    pub next_pid: i64,
    pub refuse_bumps: bool,
    pub dup_error: bool,
    pub auto_create_partitions: Option<usize>,
    pub apis: Apis,
    pub bumps: usize,
    pub fresh_ids: usize,
    pub produce_requests: usize,
    /// Batches received, by compression codec.
    pub codecs: BTreeMap<u8, usize>,
    /// Answers as librdkafka's mock cluster does: an ApiVersions version
    /// above `apis.api_versions_max` gets its own hand-made reply (a
    /// compact array count of n instead of n + 1, entries without tagged
    /// fields), and every other response carries one byte after its end.
    pub mock_quirks: bool,
    decompressor: Decompressor,
}

pub fn inc_seq(seq: i32, by: i32) -> i32 {
    kafka_producer::increment_sequence(seq, by)
}

impl Cluster {
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes,
            topics: BTreeMap::new(),
            issued: HashMap::new(),
            next_pid: 1000,
            refuse_bumps: false,
            dup_error: false,
            auto_create_partitions: None,
            apis: Apis::default(),
            bumps: 0,
            fresh_ids: 0,
            produce_requests: 0,
            codecs: BTreeMap::new(),
            mock_quirks: false,
            decompressor: Decompressor::new(),
        }
    }

    pub fn create_topic(&mut self, name: &str, partitions: usize) {
        let nodes = self.nodes as i32;
        self.topics.insert(
            name.to_owned(),
            (0..partitions)
                .map(|i| PartitionModel {
                    leader: i as i32 % nodes,
                    log: Vec::new(),
                    states: HashMap::new(),
                })
                .collect(),
        );
    }

    pub fn host(node: i32) -> String {
        format!("broker{node}")
    }

    pub fn port(node: i32) -> u16 {
        9000 + node as u16
    }

    /// Handles one request frame (size prefix stripped) arriving at `node`;
    /// returns the response frame (size prefix stripped), or `None` when no
    /// response is due (acks=0).
    pub fn handle(
        &mut self,
        node: i32,
        frame: Bytes,
        inject: &mut dyn FnMut(&ProduceCtx) -> Option<Injection>,
    ) -> Option<Bytes> {
        let (key, version) = RequestHeader::peek_key_version(&frame).expect("request header");
        let mut out = BytesMut::new();
        match key {
            api_versions::API_KEY => {
                let (h, _req) =
                    decode_request::<ApiVersionsRequest>(frame).expect("ApiVersions request");
                let keys = vec![
                    range(produce::API_KEY, 3, self.apis.produce_max),
                    range(metadata::API_KEY, 0, self.apis.metadata_max),
                    range(init_producer_id::API_KEY, 0, self.apis.init_max),
                    range(api_versions::API_KEY, 0, self.apis.api_versions_max),
                ];
                if version > self.apis.api_versions_max && self.mock_quirks {
                    // Header v0, then the error, a one-byte "compact" count
                    // of 1 (read as 0 entries), the ApiVersions entry
                    // without tagged fields, and the throttle time.
                    out.extend_from_slice(&0i32.to_be_bytes());
                    out.extend_from_slice(&h.correlation_id.to_be_bytes());
                    out.extend_from_slice(&ErrorCode::UnsupportedVersion.code().to_be_bytes());
                    out.extend_from_slice(&[1]);
                    for v in [api_versions::API_KEY, 0, self.apis.api_versions_max] {
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                    out.extend_from_slice(&0i32.to_be_bytes());
                } else if version > self.apis.api_versions_max {
                    let resp = ApiVersionsResponse {
                        error_code: ErrorCode::UnsupportedVersion.code(),
                        api_keys: keys,
                        ..Default::default()
                    };
                    encode_response(&mut out, &resp, 0, h.correlation_id).unwrap();
                } else {
                    let resp = ApiVersionsResponse {
                        api_keys: keys,
                        ..Default::default()
                    };
                    encode_response(&mut out, &resp, version, h.correlation_id).unwrap();
                }
            }
            metadata::API_KEY => {
                assert!(version <= self.apis.metadata_max, "metadata v{version}");
                let (h, req) = decode_request::<MetadataRequest>(frame).expect("Metadata request");
                let resp = self.metadata(&req, version);
                encode_response(&mut out, &resp, version, h.correlation_id).unwrap();
            }
            init_producer_id::API_KEY => {
                assert!(version <= self.apis.init_max, "init v{version}");
                let (h, req) =
                    decode_request::<InitProducerIdRequest>(frame).expect("InitProducerId");
                let resp = self.init_producer_id(&req);
                encode_response(&mut out, &resp, version, h.correlation_id).unwrap();
            }
            produce::API_KEY => {
                assert!(version <= self.apis.produce_max, "produce v{version}");
                let (h, req) = decode_request::<ProduceRequest>(frame).expect("Produce request");
                self.produce_requests += 1;
                let resp = self.produce(node, &req, inject);
                if req.acks == 0 {
                    return None;
                }
                encode_response(&mut out, &resp, version, h.correlation_id).unwrap();
            }
            other => panic!("unexpected api key {other}"),
        }
        if self.mock_quirks && key != api_versions::API_KEY {
            out.extend_from_slice(&[0]);
        }
        let mut b = out.freeze();
        let _ = b.split_to(4);
        Some(b)
    }

    fn metadata(&mut self, req: &MetadataRequest, version: i16) -> MetadataResponse {
        let brokers = (0..self.nodes as i32)
            .map(|id| MetadataResponseBroker {
                node_id: id,
                host: Self::host(id).into(),
                port: i32::from(Self::port(id)),
                ..Default::default()
            })
            .collect();
        let mut topics = Vec::new();
        for t in req.topics.iter().flatten() {
            let Some(name) = t.name.as_ref().map(|n| n.as_str().to_owned()) else {
                continue;
            };
            match self.topics.get(&name) {
                Some(parts) => topics.push(MetadataResponseTopic {
                    name: Some(name.clone().into()),
                    partitions: parts
                        .iter()
                        .enumerate()
                        .map(|(i, p)| MetadataResponsePartition {
                            partition_index: i as i32,
                            leader_id: p.leader,
                            leader_epoch: 0,
                            replica_nodes: vec![p.leader],
                            isr_nodes: vec![p.leader],
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }),
                None => {
                    let create = version >= 4 && req.allow_auto_topic_creation;
                    let code = match (create, self.auto_create_partitions) {
                        (true, Some(n)) => {
                            self.create_topic(&name, n);
                            ErrorCode::LeaderNotAvailable
                        }
                        _ => ErrorCode::UnknownTopicOrPartition,
                    };
                    topics.push(MetadataResponseTopic {
                        error_code: code.code(),
                        name: Some(name.into()),
                        ..Default::default()
                    });
                }
            }
        }
        MetadataResponse {
            brokers,
            controller_id: 0,
            topics,
            ..Default::default()
        }
    }

    fn init_producer_id(&mut self, req: &InitProducerIdRequest) -> InitProducerIdResponse {
        let err = |code: ErrorCode| InitProducerIdResponse {
            error_code: code.code(),
            ..Default::default()
        };
        if req.producer_id >= 0 {
            if self.refuse_bumps {
                return err(ErrorCode::InvalidRequest);
            }
            match self.issued.get(&req.producer_id) {
                Some(&e) if e == req.producer_epoch => {
                    self.bumps += 1;
                    let epoch = e + 1;
                    self.issued.insert(req.producer_id, epoch);
                    return InitProducerIdResponse {
                        producer_id: req.producer_id,
                        producer_epoch: epoch,
                        ..Default::default()
                    };
                }
                _ => return err(ErrorCode::InvalidProducerEpoch),
            }
        }
        self.fresh_ids += 1;
        let pid = self.next_pid;
        self.next_pid += 1;
        self.issued.insert(pid, 0);
        InitProducerIdResponse {
            producer_id: pid,
            producer_epoch: 0,
            ..Default::default()
        }
    }

    fn produce(
        &mut self,
        node: i32,
        req: &ProduceRequest,
        inject: &mut dyn FnMut(&ProduceCtx) -> Option<Injection>,
    ) -> ProduceResponse {
        let mut responses = Vec::new();
        for t in &req.topic_data {
            let name = t.name.as_str().to_owned();
            let mut partition_responses = Vec::new();
            for p in &t.partition_data {
                let (code, base_offset) =
                    self.produce_partition(node, &name, p.index, p.records.clone(), inject);
                partition_responses.push(PartitionProduceResponse {
                    index: p.index,
                    error_code: code.code(),
                    base_offset,
                    ..Default::default()
                });
            }
            responses.push(TopicProduceResponse {
                name: t.name.clone(),
                partition_responses,
                ..Default::default()
            });
        }
        ProduceResponse {
            responses,
            ..Default::default()
        }
    }

    fn produce_partition(
        &mut self,
        node: i32,
        topic: &str,
        index: i32,
        records: Option<Bytes>,
        inject: &mut dyn FnMut(&ProduceCtx) -> Option<Injection>,
    ) -> (ErrorCode, i64) {
        let dup_error = self.dup_error;
        let issued = self.issued.clone();
        let decompressor = &mut self.decompressor;
        let codecs = &mut self.codecs;
        let Some(part) = self
            .topics
            .get_mut(topic)
            .and_then(|ps| ps.get_mut(index as usize))
        else {
            return (ErrorCode::UnknownTopicOrPartition, -1);
        };
        if part.leader != node {
            return (ErrorCode::NotLeaderOrFollower, -1);
        }
        let batch = match records.map(RecordBatch::parse) {
            Some(Ok(b)) => b,
            _ => return (ErrorCode::CorruptMessage, -1),
        };
        if batch.verify_crc().is_err() {
            return (ErrorCode::CorruptMessage, -1);
        }
        let ctx = ProduceCtx {
            topic: topic.to_owned(),
            partition: index,
        };
        let injection = inject(&ctx);
        if let Some(Injection::Before(code)) = injection {
            return (code, -1);
        }
        let pid = batch.producer_id();
        let epoch = batch.producer_epoch();
        let seq = batch.base_sequence();
        let count = batch.record_count();
        let last = inc_seq(seq, count - 1);
        if pid >= 0 {
            if issued.get(&pid).is_some_and(|&e| epoch < e) {
                return (ErrorCode::InvalidProducerEpoch, -1);
            }
            match part.states.get(&pid) {
                // This model requires a producer's first batch to start at
                // sequence 0 (state loss is modelled by injecting
                // UNKNOWN_PRODUCER_ID instead).
                None if seq != 0 => return (ErrorCode::OutOfOrderSequenceNumber, -1),
                None => {}
                Some(st) if epoch > st.epoch && seq != 0 => {
                    return (ErrorCode::OutOfOrderSequenceNumber, -1)
                }
                Some(st) if epoch > st.epoch => {}
                Some(st) if epoch < st.epoch => return (ErrorCode::InvalidProducerEpoch, -1),
                Some(st) => {
                    if let Some(&(_, _, off)) =
                        st.cache.iter().find(|(f, l, _)| *f == seq && *l == last)
                    {
                        return if dup_error {
                            (ErrorCode::DuplicateSequenceNumber, -1)
                        } else {
                            (ErrorCode::None, off)
                        };
                    }
                    if seq != inc_seq(st.last_seq, 1) {
                        return (ErrorCode::OutOfOrderSequenceNumber, -1);
                    }
                }
            }
        }
        let base_offset = part.log.len() as i64;
        // As a broker does, decompress to validate and store the records.
        let Ok(records) = batch.records_decompressed(decompressor) else {
            return (ErrorCode::CorruptMessage, -1);
        };
        *codecs.entry(batch.compression().bits()).or_default() += 1;
        for r in records {
            let r = r.expect("record");
            let offset = part.log.len() as i64;
            part.log.push(Stored {
                offset,
                value: r.value.map(|v| v.to_vec()).unwrap_or_default(),
            });
        }
        if pid >= 0 {
            let st = part.states.entry(pid).or_default();
            if st.epoch != epoch {
                st.cache.clear();
            }
            st.epoch = epoch;
            st.last_seq = last;
            st.cache.push_back((seq, last, base_offset));
            if st.cache.len() > 5 {
                st.cache.pop_front();
            }
        }
        match injection {
            Some(Injection::After(code)) => (code, -1),
            _ => (ErrorCode::None, base_offset),
        }
    }
}

fn range(api_key: i16, min: i16, max: i16) -> ApiVersion {
    ApiVersion {
        api_key,
        min_version: min,
        max_version: max,
        ..Default::default()
    }
}

#[allow(dead_code)]
fn _assert_message<M: Message>() {}
