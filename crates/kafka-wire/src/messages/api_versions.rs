//! ApiVersions (key 18): which versions of which APIs the broker speaks.
//!
//! A client sends this first on every connection. Version 3 is the first
//! flexible version. The response header is always v0 (no tagged fields), so
//! a client that does not know the broker yet can read it (KIP-511).
//!
//! # References
//! - `ApiVersionsRequest.json`, `ApiVersionsResponse.json` in
//!   `clients/src/main/resources/common/message/` of Apache Kafka
//! - KIP-35 (ApiVersions), KIP-511 (client software name and version),
//!   KIP-584 (feature versioning), KIP-866 (ZkMigrationReady)

use bytes::Bytes;

use super::{put_tagged_section, tagged_body};
use crate::error::{DecodeError, EncodeError};
use crate::primitives::{
    get_array, get_bool, get_i16, get_i32, get_i64, get_string, get_tagged_fields,
    get_unknown_tagged_fields, put_array, put_string, put_unknown_tagged_fields, ByteStr, Sink,
    UnknownTaggedFields,
};
use crate::{check_decode_version, check_version, Decode, Encode, Message, Request};

/// The API key.
pub const API_KEY: i16 = 18;
/// The lowest version supported.
pub const MIN_VERSION: i16 = 0;
/// The highest version supported.
pub const MAX_VERSION: i16 = 4;
/// The first flexible version.
pub const FLEXIBLE_MIN: i16 = 3;

/// An ApiVersions request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiVersionsRequest {
    /// The name of the client. Versions 3+.
    pub client_software_name: ByteStr,
    /// The version of the client. Versions 3+.
    pub client_software_version: ByteStr,
    /// Tagged fields this codec has no name for. Versions 3+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for ApiVersionsRequest {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        if version >= 3 {
            put_string(sink, &self.client_software_name, true)?;
            put_string(sink, &self.client_software_version, true)?;
            put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        }
        Ok(())
    }
}

impl Decode for ApiVersionsRequest {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let mut v = Self::default();
        if version >= 3 {
            v.client_software_name = get_string(buf, true)?;
            v.client_software_version = get_string(buf, true)?;
            v.unknown_tagged_fields = get_unknown_tagged_fields(buf)?;
        }
        Ok(v)
    }
}

impl Message for ApiVersionsRequest {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

impl Request for ApiVersionsRequest {
    type Response = ApiVersionsResponse;
}

/// An ApiVersions response.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiVersionsResponse {
    /// The top-level error code. Versions 0+.
    pub error_code: i16,
    /// The APIs supported by the broker. Versions 0+.
    pub api_keys: Vec<ApiVersion>,
    /// The time the request was throttled for, in milliseconds. Versions 1+.
    pub throttle_time_ms: i32,
    /// Features supported by the broker. Tagged (tag 0), versions 3+.
    pub supported_features: Vec<SupportedFeatureKey>,
    /// The epoch of the finalized features, -1 if unknown. Tagged (tag 1),
    /// versions 3+; default -1.
    pub finalized_features_epoch: i64,
    /// The cluster-wide finalized features, valid when
    /// `finalized_features_epoch >= 0`. Tagged (tag 2), versions 3+.
    pub finalized_features: Vec<FinalizedFeatureKey>,
    /// Set by a KRaft controller ready for ZK migration. Tagged (tag 3),
    /// versions 3+; default false.
    pub zk_migration_ready: bool,
    /// Tagged fields this codec has no name for. Versions 3+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for ApiVersionsResponse {
    fn default() -> Self {
        Self {
            error_code: 0,
            api_keys: Vec::new(),
            throttle_time_ms: 0,
            supported_features: Vec::new(),
            finalized_features_epoch: -1,
            finalized_features: Vec::new(),
            zk_migration_ready: false,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl ApiVersionsResponse {
    /// The version range the broker supports for `api_key`, if it does.
    pub fn range(&self, api_key: i16) -> Option<(i16, i16)> {
        self.api_keys
            .iter()
            .find(|a| a.api_key == api_key)
            .map(|a| (a.min_version, a.max_version))
    }
}

impl Encode for ApiVersionsResponse {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        sink.put_i16(self.error_code);
        put_array(sink, &self.api_keys, flex, |s, a| a.encode(s, version))?;
        if version >= 1 {
            sink.put_i32(self.throttle_time_ms);
        }
        if flex {
            let mut known = Vec::new();
            if !self.supported_features.is_empty() {
                let body = tagged_body(|b| {
                    put_array(b, &self.supported_features, true, |s, f| {
                        f.encode(s, version)
                    })
                })?;
                known.push((0, body));
            }
            if self.finalized_features_epoch != -1 {
                known.push((1, self.finalized_features_epoch.to_be_bytes().to_vec()));
            }
            if !self.finalized_features.is_empty() {
                let body = tagged_body(|b| {
                    put_array(b, &self.finalized_features, true, |s, f| {
                        f.encode(s, version)
                    })
                })?;
                known.push((2, body));
            }
            if self.zk_migration_ready {
                known.push((3, vec![1]));
            }
            put_tagged_section(sink, &known, &self.unknown_tagged_fields)?;
        }
        Ok(())
    }
}

impl Decode for ApiVersionsResponse {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        let mut v = Self {
            error_code: get_i16(buf)?,
            api_keys: get_array(buf, flex, |b| ApiVersion::decode(b, version))?,
            ..Self::default()
        };
        if version >= 1 {
            v.throttle_time_ms = get_i32(buf)?;
        }
        if flex {
            let mut unknown = Vec::new();
            get_tagged_fields(buf, &mut unknown, |tag, b| {
                match tag {
                    0 => {
                        v.supported_features =
                            get_array(b, true, |b| SupportedFeatureKey::decode(b, version))?
                    }
                    1 => v.finalized_features_epoch = get_i64(b)?,
                    2 => {
                        v.finalized_features =
                            get_array(b, true, |b| FinalizedFeatureKey::decode(b, version))?
                    }
                    3 => v.zk_migration_ready = get_bool(b)?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            v.unknown_tagged_fields = unknown;
        }
        Ok(v)
    }
}

impl Message for ApiVersionsResponse {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

/// One API and the versions the broker supports for it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiVersion {
    /// The API key. Versions 0+.
    pub api_key: i16,
    /// The lowest supported version, inclusive. Versions 0+.
    pub min_version: i16,
    /// The highest supported version, inclusive. Versions 0+.
    pub max_version: i16,
    /// Tagged fields this codec has no name for. Versions 3+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for ApiVersion {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        sink.put_i16(self.api_key);
        sink.put_i16(self.min_version);
        sink.put_i16(self.max_version);
        if version >= FLEXIBLE_MIN {
            put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        }
        Ok(())
    }
}

impl Decode for ApiVersion {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        Ok(Self {
            api_key: get_i16(buf)?,
            min_version: get_i16(buf)?,
            max_version: get_i16(buf)?,
            unknown_tagged_fields: if version >= FLEXIBLE_MIN {
                get_unknown_tagged_fields(buf)?
            } else {
                Vec::new()
            },
        })
    }
}

/// A feature the broker supports (KIP-584). Versions 3+.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SupportedFeatureKey {
    /// The name of the feature. Versions 3+.
    pub name: ByteStr,
    /// The lowest supported version of the feature. Versions 3+.
    pub min_version: i16,
    /// The highest supported version of the feature. Versions 3+.
    pub max_version: i16,
    /// Tagged fields this codec has no name for. Versions 3+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for SupportedFeatureKey {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, FLEXIBLE_MIN, MAX_VERSION, version)?;
        put_string(sink, &self.name, true)?;
        sink.put_i16(self.min_version);
        sink.put_i16(self.max_version);
        put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for SupportedFeatureKey {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, FLEXIBLE_MIN, MAX_VERSION, version)?;
        Ok(Self {
            name: get_string(buf, true)?,
            min_version: get_i16(buf)?,
            max_version: get_i16(buf)?,
            unknown_tagged_fields: get_unknown_tagged_fields(buf)?,
        })
    }
}

/// A cluster-wide finalized feature (KIP-584). Versions 3+.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FinalizedFeatureKey {
    /// The name of the feature. Versions 3+.
    pub name: ByteStr,
    /// The finalized highest version level. Versions 3+.
    pub max_version_level: i16,
    /// The finalized lowest version level. Versions 3+.
    pub min_version_level: i16,
    /// Tagged fields this codec has no name for. Versions 3+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for FinalizedFeatureKey {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, FLEXIBLE_MIN, MAX_VERSION, version)?;
        put_string(sink, &self.name, true)?;
        sink.put_i16(self.max_version_level);
        sink.put_i16(self.min_version_level);
        put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        Ok(())
    }
}

impl Decode for FinalizedFeatureKey {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, FLEXIBLE_MIN, MAX_VERSION, version)?;
        Ok(Self {
            name: get_string(buf, true)?,
            max_version_level: get_i16(buf)?,
            min_version_level: get_i16(buf)?,
            unknown_tagged_fields: get_unknown_tagged_fields(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_request_is_empty_and_v3_has_names() {
        let r = ApiVersionsRequest {
            client_software_name: "forwarder".into(),
            client_software_version: "0.1.0".into(),
            unknown_tagged_fields: Vec::new(),
        };
        let mut out = Vec::new();
        r.encode(&mut out, 0).unwrap();
        assert!(out.is_empty());
        let mut out = Vec::new();
        r.encode(&mut out, 3).unwrap();
        assert_eq!(out[0], 10);
        assert_eq!(
            ApiVersionsRequest::decode_exact(Bytes::from(out), 3).unwrap(),
            r
        );
    }

    #[test]
    fn default_tagged_fields_are_omitted() {
        let mut out = Vec::new();
        ApiVersionsResponse::default().encode(&mut out, 3).unwrap();
        // error code, empty compact array, throttle time, no tagged fields
        assert_eq!(out, [0, 0, 1, 0, 0, 0, 0, 0]);
        let back = ApiVersionsResponse::decode_exact(Bytes::from(out), 3).unwrap();
        assert_eq!(back.finalized_features_epoch, -1);
    }

    #[test]
    fn out_of_range_versions_are_refused() {
        let mut out = Vec::new();
        assert_eq!(
            ApiVersionsRequest::default().encode(&mut out, 5),
            Err(EncodeError::UnsupportedVersion {
                api_key: 18,
                version: 5
            })
        );
        assert!(ApiVersionsResponse::decode(&mut Bytes::new(), -1).is_err());
    }
}
