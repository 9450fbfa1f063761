//! Request and response headers.
//!
//! Request header v1 is `api_key, api_version, correlation_id, client_id`;
//! v2 appends tagged fields (the client id stays a classic nullable string).
//! Response header v0 is `correlation_id`; v1 appends tagged fields.
//!
//! # References
//! - `RequestHeader.json` and `ResponseHeader.json` in the Kafka repository
//! - KIP-482 (header v2 / v1)

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::primitives::{
    get_i16, get_i32, get_nullable_string, get_unknown_tagged_fields, put_nullable_string,
    put_unknown_tagged_fields, ByteStr, Sink, UnknownTaggedFields,
};

/// The header in front of every request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHeader {
    /// The API key of the request.
    pub api_key: i16,
    /// The version of the request body.
    pub api_version: i16,
    /// Echoed by the broker in the response.
    pub correlation_id: i32,
    /// The client id, or null.
    pub client_id: Option<ByteStr>,
    /// Tagged fields (header v2) this codec has no name for.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl RequestHeader {
    /// Writes the header at `header_version` (1 or 2).
    pub fn encode<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        header_version: i16,
    ) -> Result<(), EncodeError> {
        if !(1..=2).contains(&header_version) {
            return Err(EncodeError::UnsupportedVersion {
                api_key: -1,
                version: header_version,
            });
        }
        sink.put_i16(self.api_key);
        sink.put_i16(self.api_version);
        sink.put_i32(self.correlation_id);
        put_nullable_string(sink, self.client_id.as_deref(), false)?;
        if header_version >= 2 {
            put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        }
        Ok(())
    }

    /// Reads a header at `header_version` (1 or 2).
    pub fn decode(buf: &mut Bytes, header_version: i16) -> Result<Self, DecodeError> {
        if !(1..=2).contains(&header_version) {
            return Err(DecodeError::UnsupportedVersion {
                api_key: -1,
                version: header_version,
            });
        }
        let api_key = get_i16(buf)?;
        let api_version = get_i16(buf)?;
        let correlation_id = get_i32(buf)?;
        let client_id = get_nullable_string(buf, false)?;
        let unknown_tagged_fields = if header_version >= 2 {
            get_unknown_tagged_fields(buf)?
        } else {
            Vec::new()
        };
        Ok(Self {
            api_key,
            api_version,
            correlation_id,
            client_id,
            unknown_tagged_fields,
        })
    }

    /// Reads the api key and version at the front of a request frame without
    /// consuming it, so a server can pick the header and body versions.
    pub fn peek_key_version(frame: &[u8]) -> Result<(i16, i16), DecodeError> {
        match frame {
            [a, b, c, d, ..] => Ok((i16::from_be_bytes([*a, *b]), i16::from_be_bytes([*c, *d]))),
            _ => Err(DecodeError::Truncated {
                what: "request header",
                needed: 4 - frame.len(),
            }),
        }
    }
}

/// The header in front of every response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseHeader {
    /// The request's correlation id.
    pub correlation_id: i32,
    /// Tagged fields (header v1) this codec has no name for.
    pub unknown_tagged_fields: UnknownTaggedFields,
}

impl ResponseHeader {
    /// Writes the header at `header_version` (0 or 1).
    pub fn encode<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        header_version: i16,
    ) -> Result<(), EncodeError> {
        if !(0..=1).contains(&header_version) {
            return Err(EncodeError::UnsupportedVersion {
                api_key: -1,
                version: header_version,
            });
        }
        sink.put_i32(self.correlation_id);
        if header_version >= 1 {
            put_unknown_tagged_fields(sink, &self.unknown_tagged_fields);
        }
        Ok(())
    }

    /// Reads a header at `header_version` (0 or 1).
    pub fn decode(buf: &mut Bytes, header_version: i16) -> Result<Self, DecodeError> {
        if !(0..=1).contains(&header_version) {
            return Err(DecodeError::UnsupportedVersion {
                api_key: -1,
                version: header_version,
            });
        }
        let correlation_id = get_i32(buf)?;
        let unknown_tagged_fields = if header_version >= 1 {
            get_unknown_tagged_fields(buf)?
        } else {
            Vec::new()
        };
        Ok(Self {
            correlation_id,
            unknown_tagged_fields,
        })
    }

    /// Reads the correlation id at the front of a response frame without
    /// consuming it, so a client can find the request it answers.
    pub fn peek_correlation_id(frame: &[u8]) -> Result<i32, DecodeError> {
        match frame {
            [a, b, c, d, ..] => Ok(i32::from_be_bytes([*a, *b, *c, *d])),
            _ => Err(DecodeError::Truncated {
                what: "response header",
                needed: 4 - frame.len(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_header_round_trip_both_versions() {
        let h = RequestHeader {
            api_key: 0,
            api_version: 9,
            correlation_id: 42,
            client_id: Some("forwarder".into()),
            unknown_tagged_fields: Vec::new(),
        };
        for v in [1, 2] {
            let mut out = Vec::new();
            h.encode(&mut out, v).unwrap();
            let mut b = Bytes::from(out);
            assert_eq!(RequestHeader::decode(&mut b, v).unwrap(), h);
            assert!(b.is_empty());
        }
    }

    #[test]
    fn response_header_tagged_fields_only_in_v1() {
        let h = ResponseHeader {
            correlation_id: 7,
            unknown_tagged_fields: Vec::new(),
        };
        let mut v0 = Vec::new();
        h.encode(&mut v0, 0).unwrap();
        let mut v1 = Vec::new();
        h.encode(&mut v1, 1).unwrap();
        assert_eq!(v0, [0, 0, 0, 7]);
        assert_eq!(v1, [0, 0, 0, 7, 0]);
    }
}
