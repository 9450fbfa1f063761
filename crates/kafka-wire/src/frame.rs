//! Size-prefixed framing: every request and response is a big-endian `i32`
//! size followed by that many bytes.
//!
//! Splitting is check-then-parse (as in mini-redis): look at the prefix,
//! return `Ok(None)` ("read more") until the whole frame is buffered, then
//! split it off without copying. Writing reserves the size slot and
//! back-fills it once the body is encoded.
//!
//! # References
//! - Kafka protocol guide, "Common Request and Response Structure"

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::header::{RequestHeader, ResponseHeader};
use crate::primitives::{Sink, VectoredSink};
use crate::{request_header_version, response_header_version, Decode, Message, Request};

/// The default largest frame accepted: Kafka's `socket.request.max.bytes`
/// default (100 MiB).
pub const DEFAULT_MAX_FRAME: usize = 100 * 1024 * 1024;

/// Splits size-prefixed frames off a read buffer.
#[derive(Debug, Clone, Copy)]
pub struct FrameSplitter {
    max: usize,
}

impl Default for FrameSplitter {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl FrameSplitter {
    /// A splitter that refuses frames larger than `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }

    /// How many more bytes the next frame needs before [`Self::split`] can
    /// return it (0 when it is complete). Lets a driver size its next read.
    pub fn needed(&self, buf: &[u8]) -> Result<usize, DecodeError> {
        let Some(size) = self.peek_size(buf)? else {
            return Ok(4 - buf.len());
        };
        Ok((4 + size).saturating_sub(buf.len()))
    }

    /// Splits off the next complete frame (without its size prefix), or
    /// returns `Ok(None)` if more bytes are needed. A negative or oversized
    /// size is an error: the stream cannot be resynchronised after it.
    pub fn split(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        let Some(size) = self.peek_size(buf)? else {
            return Ok(None);
        };
        if buf.len() < 4 + size {
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(size).freeze()))
    }

    fn peek_size(&self, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        let [a, b, c, d, ..] = *buf else {
            return Ok(None);
        };
        let size = i32::from_be_bytes([a, b, c, d]);
        if size < 0 {
            return Err(DecodeError::InvalidLength {
                what: "frame",
                len: i64::from(size),
            });
        }
        let size = size as usize;
        if size > self.max {
            return Err(DecodeError::FrameTooLarge {
                size,
                max: self.max,
            });
        }
        Ok(Some(size))
    }
}

fn backfill_size(slot: &mut [u8], body_len: usize) -> Result<(), EncodeError> {
    let size = i32::try_from(body_len).map_err(|_| EncodeError::TooLong {
        what: "frame",
        len: body_len,
    })?;
    slot[..4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

fn request_header<R: Request>(
    version: i16,
    correlation_id: i32,
    client_id: Option<&crate::ByteStr>,
) -> RequestHeader {
    RequestHeader {
        api_key: R::API_KEY,
        api_version: version,
        correlation_id,
        client_id: client_id.cloned(),
        unknown_tagged_fields: Vec::new(),
    }
}

/// Appends one whole request frame (size, header, body) to `dst`.
pub fn encode_request<R: Request>(
    dst: &mut BytesMut,
    body: &R,
    version: i16,
    correlation_id: i32,
    client_id: Option<&crate::ByteStr>,
) -> Result<(), EncodeError> {
    let start = dst.len();
    dst.put_i32(0);
    request_header::<R>(version, correlation_id, client_id)
        .encode(dst, request_header_version(R::is_flexible(version)))?;
    if let Err(e) = body.encode(dst, version) {
        dst.truncate(start);
        return Err(e);
    }
    let body_len = dst.len() - start - 4;
    backfill_size(&mut dst[start..], body_len)
}

/// Encodes one whole request frame as chunks for `writev`: small fields are
/// copied into one buffer, shared payloads of `threshold` bytes or more (the
/// sealed record batches of a Produce request) are kept by reference.
pub fn encode_request_vectored<R: Request>(
    body: &R,
    version: i16,
    correlation_id: i32,
    client_id: Option<&crate::ByteStr>,
    threshold: usize,
) -> Result<Vec<Bytes>, EncodeError> {
    let mut sink = VectoredSink::with_threshold(threshold);
    sink.put_i32(0);
    request_header::<R>(version, correlation_id, client_id)
        .encode(&mut sink, request_header_version(R::is_flexible(version)))?;
    body.encode(&mut sink, version)?;
    let body_len = sink.written() - 4;
    backfill_size(sink.owned_mut(), body_len)?;
    Ok(sink.finish())
}

/// Appends one whole response frame (size, header, body) to `dst`; the
/// server side of [`encode_request`].
pub fn encode_response<M: Message>(
    dst: &mut BytesMut,
    body: &M,
    version: i16,
    correlation_id: i32,
) -> Result<(), EncodeError> {
    let start = dst.len();
    dst.put_i32(0);
    ResponseHeader {
        correlation_id,
        unknown_tagged_fields: Vec::new(),
    }
    .encode(
        dst,
        response_header_version(M::API_KEY, M::is_flexible(version)),
    )?;
    if let Err(e) = body.encode(dst, version) {
        dst.truncate(start);
        return Err(e);
    }
    let body_len = dst.len() - start - 4;
    backfill_size(&mut dst[start..], body_len)
}

/// Reads a response frame (without its size prefix) for a request of type
/// `R` sent at `version`: the header, then the body, which must consume the
/// rest of the frame.
pub fn decode_response<R: Request>(
    mut frame: Bytes,
    version: i16,
) -> Result<(ResponseHeader, R::Response), DecodeError> {
    let header = ResponseHeader::decode(
        &mut frame,
        response_header_version(R::API_KEY, R::is_flexible(version)),
    )?;
    let body = R::Response::decode_exact(frame, version)?;
    Ok((header, body))
}

/// A response read by [`decode_response_lenient`].
#[derive(Debug, Clone, PartialEq)]
pub struct LenientResponse<B> {
    /// The response header.
    pub header: ResponseHeader,
    /// The body.
    pub body: B,
    /// Bytes left after the body's last field, ignored.
    pub trailing: usize,
}

/// As [`decode_response`], but bytes after a complete body are ignored and
/// counted instead of refused, as the Java client and librdkafka do: some
/// brokers (librdkafka's mock cluster among them) append bytes a version's
/// schema does not have. A body that is itself incomplete or malformed is
/// still an error. Clients use this; the fuzz targets and the codec's own
/// tests keep the strict [`decode_response`].
pub fn decode_response_lenient<R: Request>(
    mut frame: Bytes,
    version: i16,
) -> Result<LenientResponse<R::Response>, DecodeError> {
    let header = ResponseHeader::decode(
        &mut frame,
        response_header_version(R::API_KEY, R::is_flexible(version)),
    )?;
    let body = R::Response::decode(&mut frame, version)?;
    Ok(LenientResponse {
        header,
        body,
        trailing: frame.len(),
    })
}

/// Reads a request frame (without its size prefix) whose api key says it is
/// an `R`: the header, then the body, which must consume the rest.
pub fn decode_request<R: Request>(mut frame: Bytes) -> Result<(RequestHeader, R), DecodeError> {
    let (_, version) = RequestHeader::peek_key_version(&frame)?;
    let header =
        RequestHeader::decode(&mut frame, request_header_version(R::is_flexible(version)))?;
    let body = R::decode_exact(frame, version)?;
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_response_counts_trailing_bytes_the_strict_one_refuses() {
        use crate::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
        use crate::Encode;
        let resp = InitProducerIdResponse {
            throttle_time_ms: 0,
            error_code: 0,
            producer_id: 7,
            producer_epoch: 1,
            ongoing_txn_producer_id: -1,
            ongoing_txn_producer_epoch: -1,
            unknown_tagged_fields: Default::default(),
        };
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&42i32.to_be_bytes());
        resp.encode(&mut buf, 1).unwrap();
        let exact = buf.clone().freeze();
        buf.extend_from_slice(&[0]);
        let long = buf.freeze();

        let ok = decode_response_lenient::<InitProducerIdRequest>(exact.clone(), 1).unwrap();
        assert_eq!((ok.header.correlation_id, ok.trailing), (42, 0));
        assert!(decode_response::<InitProducerIdRequest>(exact, 1).is_ok());

        let lenient = decode_response_lenient::<InitProducerIdRequest>(long.clone(), 1).unwrap();
        assert_eq!(lenient.trailing, 1);
        assert_eq!(lenient.body.producer_id, 7);
        assert_eq!(
            decode_response::<InitProducerIdRequest>(long, 1).unwrap_err(),
            DecodeError::TrailingBytes {
                what: "message",
                left: 1
            }
        );
        // A body cut short is still an error.
        let cut = Bytes::from_static(&[0, 0, 0, 42, 0, 0]);
        assert!(decode_response_lenient::<InitProducerIdRequest>(cut, 1).is_err());
    }

    #[test]
    fn split_waits_for_whole_frame() {
        let s = FrameSplitter::new(16);
        let mut buf = BytesMut::from(&[0u8, 0, 0][..]);
        assert_eq!(s.split(&mut buf).unwrap(), None);
        assert_eq!(s.needed(&buf).unwrap(), 1);
        buf.extend_from_slice(&[3, b'a', b'b']);
        assert_eq!(s.needed(&buf).unwrap(), 1);
        assert_eq!(s.split(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"cX");
        assert_eq!(s.split(&mut buf).unwrap().as_deref(), Some(&b"abc"[..]));
        assert_eq!(&buf[..], b"X");
    }

    #[test]
    fn split_refuses_oversized_and_negative() {
        let s = FrameSplitter::new(16);
        let mut buf = BytesMut::from(&[0u8, 0, 0, 17][..]);
        assert_eq!(
            s.split(&mut buf),
            Err(DecodeError::FrameTooLarge { size: 17, max: 16 })
        );
        let mut buf = BytesMut::from(&[0xffu8, 0xff, 0xff, 0xff][..]);
        assert!(s.split(&mut buf).is_err());
    }
}
