//! SaslAuthenticate (key 36): carries SASL tokens after a v1 SaslHandshake.
//!
//! Version 1 adds the session lifetime (KIP-368); version 2 is the first
//! flexible version.
//!
//! # References
//! - `SaslAuthenticateRequest.json`, `SaslAuthenticateResponse.json` in
//!   `clients/src/main/resources/common/message/` of Apache Kafka
//! - KIP-152 (SaslAuthenticate), KIP-368 (re-authentication), KIP-482

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::primitives::{
    get_bytes, get_i16, get_i64, get_nullable_string, get_unknown_tagged_fields, put_bytes,
    put_nullable_string, put_unknown_tagged_fields, ByteStr, Sink, UnknownTaggedFields,
};
use crate::{check_decode_version, check_version, Decode, Encode, Message, Request};

/// The API key.
pub const API_KEY: i16 = 36;
/// The lowest version supported.
pub const MIN_VERSION: i16 = 0;
/// The highest version supported.
pub const MAX_VERSION: i16 = 2;
/// The first flexible version.
pub const FLEXIBLE_MIN: i16 = 2;

/// A SaslAuthenticate request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SaslAuthenticateRequest {
    /// The SASL token, as the mechanism defines it. Versions 0+.
    pub auth_bytes: Bytes,
    /// Tagged fields this codec has no name for. Versions 2+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Encode for SaslAuthenticateRequest {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        put_bytes(sink, &self.auth_bytes, flex)?;
        if flex {
            put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        }
        Ok(())
    }
}

impl Decode for SaslAuthenticateRequest {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        Ok(Self {
            auth_bytes: get_bytes(buf, flex)?,
            unknown_tagged_fields: if flex {
                get_unknown_tagged_fields(buf)?
            } else {
                Vec::new()
            },
        })
    }
}

impl Message for SaslAuthenticateRequest {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

impl Request for SaslAuthenticateRequest {
    type Response = SaslAuthenticateResponse;
}

/// A SaslAuthenticate response.
#[derive(Debug, Clone, PartialEq)]
pub struct SaslAuthenticateResponse {
    /// The error code, or 0 if there was no error. Versions 0+.
    pub error_code: i16,
    /// The error message, or null if there was no error. Versions 0+;
    /// default `""` (the schema gives none).
    pub error_message: Option<ByteStr>,
    /// The SASL token from the broker. Versions 0+.
    pub auth_bytes: Bytes,
    /// How long the session may last before re-authenticating, in
    /// milliseconds, or 0. Versions 1+.
    pub session_lifetime_ms: i64,
    /// Tagged fields this codec has no name for. Versions 2+.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl Default for SaslAuthenticateResponse {
    fn default() -> Self {
        Self {
            error_code: 0,
            error_message: Some(ByteStr::default()),
            auth_bytes: Bytes::new(),
            session_lifetime_ms: 0,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for SaslAuthenticateResponse {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        sink.put_i16(self.error_code);
        put_nullable_string(sink, self.error_message.as_deref(), flex)?;
        put_bytes(sink, &self.auth_bytes, flex)?;
        if version >= 1 {
            sink.put_i64(self.session_lifetime_ms);
        }
        if flex {
            put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        }
        Ok(())
    }
}

impl Decode for SaslAuthenticateResponse {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        let flex = version >= FLEXIBLE_MIN;
        Ok(Self {
            error_code: get_i16(buf)?,
            error_message: get_nullable_string(buf, flex)?,
            auth_bytes: get_bytes(buf, flex)?,
            session_lifetime_ms: if version >= 1 { get_i64(buf)? } else { 0 },
            unknown_tagged_fields: if flex {
                get_unknown_tagged_fields(buf)?
            } else {
                Vec::new()
            },
        })
    }
}

impl Message for SaslAuthenticateResponse {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = FLEXIBLE_MIN;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_uses_compact_bytes() {
        let r = SaslAuthenticateRequest {
            auth_bytes: Bytes::from_static(b"n,,n=u,r=x"),
            unknown_tagged_fields: Vec::new(),
        };
        let mut v1 = Vec::new();
        r.encode(&mut v1, 1).unwrap();
        assert_eq!(&v1[..4], &[0, 0, 0, 10]);
        let mut v2 = Vec::new();
        r.encode(&mut v2, 2).unwrap();
        assert_eq!(v2[0], 11);
        assert_eq!(*v2.last().unwrap(), 0);
        assert_eq!(
            SaslAuthenticateRequest::decode_exact(Bytes::from(v2), 2).unwrap(),
            r
        );
    }
}
