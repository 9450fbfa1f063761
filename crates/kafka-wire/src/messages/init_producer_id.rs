//! InitProducerId (key 22): obtains a producer id and epoch for an
//! idempotent or transactional producer, or bumps the epoch of one.
//!
//! Version 2 is the first flexible version; version 3 lets a producer pass
//! its current id and epoch to bump the epoch (KIP-360). Kafka's schema has
//! a request version 6 (two-phase commit, KIP-939); it is not supported here.
//! The response goes to version 6, which adds the ongoing transaction's id
//! and epoch.
//!
//! # References
//! - `InitProducerIdRequest.json`, `InitProducerIdResponse.json` in
//!   `clients/src/main/resources/common/message/` of Apache Kafka
//! - KIP-98 (idempotence), KIP-360 (epoch bump), KIP-482, KIP-939

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::primitives::{
    get_i16, get_i32, get_i64, get_nullable_string, get_unknown_tagged_fields, put_nullable_string,
    put_unknown_tagged_fields, ByteStr, Sink, UnknownTaggedFields,
};
use crate::{check_decode_version, check_version, Decode, Encode, Message, Request};

/// The API key.
pub const API_KEY: i16 = 22;
/// The lowest version supported.
pub const MIN_VERSION: i16 = 0;
/// The highest request version supported.
pub const MAX_VERSION: i16 = 5;
/// The highest response version supported.
pub const MAX_RESPONSE_VERSION: i16 = 6;
/// The first flexible version.
pub const FLEXIBLE_MIN: i16 = 2;

/// An InitProducerId request.
#[derive(Debug, Clone, PartialEq)]
pub struct InitProducerIdRequest {
    /// The transactional id, or null if the producer is not transactional.
    /// Versions 0+. `Default` gives null (the schema's implicit default is
    /// the empty string, which an idempotent producer never wants).
    pub transactional_id: Option<ByteStr>,
    /// The transaction timeout in milliseconds. Versions 0+.
    pub transaction_timeout_ms: i32,
    /// The current producer id, to bump its epoch, or -1. Versions 3+;
    /// default -1.
    pub producer_id: i64,
    /// The current producer epoch, or -1. Versions 3+; default -1.
    pub producer_epoch: i16,
    /// Tagged fields this codec has no name for. Versions 2+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for InitProducerIdRequest {
    fn default() -> Self {
        Self {
            transactional_id: None,
            transaction_timeout_ms: 0,
            producer_id: -1,
            producer_epoch: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for InitProducerIdRequest {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        put_nullable_string(sink, self.transactional_id.as_deref(), flex)?;
        sink.put_i32(self.transaction_timeout_ms);
        if version >= 3 {
            sink.put_i64(self.producer_id);
            sink.put_i16(self.producer_epoch);
        }
        if flex {
            put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        }
        Ok(())
    }
}

impl Decode for InitProducerIdRequest {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self {
            transactional_id: get_nullable_string(buf, flex)?,
            transaction_timeout_ms: get_i32(buf)?,
            ..Self::default()
        };
        if version >= 3 {
            v.producer_id = get_i64(buf)?;
            v.producer_epoch = get_i16(buf)?;
        }
        if flex {
            v.unknown_tagged_fields = get_unknown_tagged_fields(buf)?;
        }
        Ok(v)
    }
}

impl Message for InitProducerIdRequest {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

impl Request for InitProducerIdRequest {
    type Response = InitProducerIdResponse;
}

/// An InitProducerId response.
#[derive(Debug, Clone, PartialEq)]
pub struct InitProducerIdResponse {
    /// The time the request was throttled for, in milliseconds. Versions 0+.
    pub throttle_time_ms: i32,
    /// The error code, or 0 if there was no error. Versions 0+.
    pub error_code: i16,
    /// The producer id, or -1 on error. Versions 0+; default -1.
    pub producer_id: i64,
    /// The producer epoch. Versions 0+.
    pub producer_epoch: i16,
    /// The producer id of the ongoing transaction, or -1. Versions 6+;
    /// default -1.
    pub ongoing_txn_producer_id: i64,
    /// The producer epoch of the ongoing transaction, or -1. Versions 6+;
    /// default -1.
    pub ongoing_txn_producer_epoch: i16,
    /// Tagged fields this codec has no name for. Versions 2+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for InitProducerIdResponse {
    fn default() -> Self {
        Self {
            throttle_time_ms: 0,
            error_code: 0,
            producer_id: -1,
            producer_epoch: 0,
            ongoing_txn_producer_id: -1,
            ongoing_txn_producer_epoch: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for InitProducerIdResponse {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_RESPONSE_VERSION, version)?;
        sink.put_i32(self.throttle_time_ms);
        sink.put_i16(self.error_code);
        sink.put_i64(self.producer_id);
        sink.put_i16(self.producer_epoch);
        if version >= 6 {
            sink.put_i64(self.ongoing_txn_producer_id);
            sink.put_i16(self.ongoing_txn_producer_epoch);
        }
        if version >= FLEXIBLE_MIN {
            put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        }
        Ok(())
    }
}

impl Decode for InitProducerIdResponse {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_RESPONSE_VERSION, version)?;
        let mut v = Self {
            throttle_time_ms: get_i32(buf)?,
            error_code: get_i16(buf)?,
            producer_id: get_i64(buf)?,
            producer_epoch: get_i16(buf)?,
            ..Self::default()
        };
        if version >= 6 {
            v.ongoing_txn_producer_id = get_i64(buf)?;
            v.ongoing_txn_producer_epoch = get_i16(buf)?;
        }
        if version >= FLEXIBLE_MIN {
            v.unknown_tagged_fields = get_unknown_tagged_fields(buf)?;
        }
        Ok(v)
    }
}

impl Message for InitProducerIdResponse {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_RESPONSE_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotent_v4_request_bytes() {
        let r = InitProducerIdRequest {
            transaction_timeout_ms: 60_000,
            ..Default::default()
        };
        let mut out = Vec::new();
        r.encode(&mut out, 4).unwrap();
        let mut want = vec![0u8]; // compact null string
        want.extend_from_slice(&60_000i32.to_be_bytes());
        want.extend_from_slice(&(-1i64).to_be_bytes());
        want.extend_from_slice(&(-1i16).to_be_bytes());
        want.push(0);
        assert_eq!(out, want);
        assert_eq!(
            InitProducerIdRequest::decode_exact(Bytes::from(out), 4).unwrap(),
            r
        );
    }

    #[test]
    fn request_v6_is_refused_but_response_v6_is_read() {
        let mut out = Vec::new();
        assert!(InitProducerIdRequest::default()
            .encode(&mut out, 6)
            .is_err());
        let resp = InitProducerIdResponse {
            producer_id: 7,
            ongoing_txn_producer_id: 3,
            ongoing_txn_producer_epoch: 1,
            ..Default::default()
        };
        resp.encode(&mut out, 6).unwrap();
        assert_eq!(
            InitProducerIdResponse::decode_exact(Bytes::from(out), 6).unwrap(),
            resp
        );
    }
}
