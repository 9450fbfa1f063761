//! SaslHandshake (key 17): picks the SASL mechanism for the connection.
//!
//! Version 0 is followed by raw SASL tokens on the socket; version 1 by
//! SaslAuthenticate requests (KIP-152). There is no flexible version.
//!
//! # References
//! - `SaslHandshakeRequest.json`, `SaslHandshakeResponse.json` in
//!   `clients/src/main/resources/common/message/` of Apache Kafka
//! - KIP-43 (SASL handshake), KIP-152 (SaslAuthenticate)

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::primitives::{get_array, get_i16, get_string, put_array, put_string, ByteStr, Sink};
use crate::{check_decode_version, check_version, Decode, Encode, Message, Request};

/// The API key.
pub const API_KEY: i16 = 17;
/// The lowest version supported.
pub const MIN_VERSION: i16 = 0;
/// The highest version supported.
pub const MAX_VERSION: i16 = 1;

/// A SaslHandshake request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SaslHandshakeRequest {
    /// The SASL mechanism chosen by the client, e.g. `SCRAM-SHA-256`.
    /// Versions 0+.
    pub mechanism: ByteStr,
}

impl Encode for SaslHandshakeRequest {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        put_string(sink, &self.mechanism, false)
    }
}

impl Decode for SaslHandshakeRequest {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        Ok(Self {
            mechanism: get_string(buf, false)?,
        })
    }
}

impl Message for SaslHandshakeRequest {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = i16::MAX;
}

impl Request for SaslHandshakeRequest {
    type Response = SaslHandshakeResponse;
}

/// A SaslHandshake response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SaslHandshakeResponse {
    /// The error code, or 0 if there was no error. Versions 0+.
    pub error_code: i16,
    /// The mechanisms enabled on the broker. Versions 0+.
    pub mechanisms: Vec<ByteStr>,
}

impl Encode for SaslHandshakeResponse {
    fn encode<S: Sink + ?Sized>(&self, sink: &mut S, version: i16) -> Result<(), EncodeError> {
        check_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        sink.put_i16(self.error_code);
        put_array(sink, &self.mechanisms, false, |s, m| {
            put_string(s, m, false)
        })
    }
}

impl Decode for SaslHandshakeResponse {
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        check_decode_version(API_KEY, MIN_VERSION, MAX_VERSION, version)?;
        Ok(Self {
            error_code: get_i16(buf)?,
            mechanisms: get_array(buf, false, |b| get_string(b, false))?,
        })
    }
}

impl Message for SaslHandshakeResponse {
    const API_KEY: i16 = API_KEY;
    const MIN_VERSION: i16 = MIN_VERSION;
    const MAX_VERSION: i16 = MAX_VERSION;
    const FLEXIBLE_MIN: i16 = i16::MAX;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes() {
        let r = SaslHandshakeRequest {
            mechanism: "PLAIN".into(),
        };
        let mut out = Vec::new();
        r.encode(&mut out, 1).unwrap();
        assert_eq!(out, b"\x00\x05PLAIN");
        assert_eq!(
            SaslHandshakeRequest::decode_exact(Bytes::from(out), 1).unwrap(),
            r
        );
    }
}
