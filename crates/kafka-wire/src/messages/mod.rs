//! The request and response bodies of the APIs a producer needs, one module
//! per API, each with its `API_KEY` and supported versions.
//!
//! | API | key | versions | flexible from |
//! |---|---|---|---|
//! | Produce | 0 | 3–13 | 9 |
//! | Metadata | 3 | 0–13 | 9 |
//! | SaslHandshake | 17 | 0–1 | – |
//! | ApiVersions | 18 | 0–4 | 3 |
//! | InitProducerId | 22 | 0–5 (response 0–6) | 2 |
//! | SaslAuthenticate | 36 | 0–2 | 2 |
//!
//! Every structure follows its JSON schema: a field a version does not have
//! is skipped when encoding and set to the schema's default when decoding;
//! `Default` gives the schema's defaults. Flexible structures keep the tagged
//! fields they have no name for in `unknown_tagged_fields`, and write them back
//! in tag order, merged with the known ones. Known tagged fields holding their
//! default value are omitted, as Kafka does.

pub mod api_versions;
pub mod init_producer_id;
pub mod metadata;
pub mod produce;
pub mod sasl_authenticate;
pub mod sasl_handshake;

use crate::error::EncodeError;
use crate::primitives::{put_uvarint, RawTaggedField, Sink};

/// The name of an API key this codec knows (`"Produce"`, `"Metadata"`, ...),
/// or `"unknown API"` for any other, for messages and logs.
pub fn api_name(api_key: i16) -> &'static str {
    match api_key {
        produce::API_KEY => "Produce",
        metadata::API_KEY => "Metadata",
        sasl_handshake::API_KEY => "SaslHandshake",
        api_versions::API_KEY => "ApiVersions",
        init_producer_id::API_KEY => "InitProducerId",
        sasl_authenticate::API_KEY => "SaslAuthenticate",
        _ => "unknown API",
    }
}

/// Encodes the body of a known tagged field into its own buffer, since its
/// size precedes it on the wire. Tagged bodies are a few fields at most.
pub(crate) fn tagged_body<F>(f: F) -> Result<Vec<u8>, EncodeError>
where
    F: FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
{
    let mut body = Vec::new();
    f(&mut body)?;
    Ok(body)
}

/// Writes a tagged-field section: `known` (present fields, encoded, in
/// increasing tag order) merged with `unknown` by tag, so the tags go out in
/// increasing order as KIP-482 requires. An unknown field whose tag is also
/// among `known` is dropped: the named field wins.
pub(crate) fn put_tagged_section<S: Sink + ?Sized>(
    sink: &mut S,
    known: &[(u32, Vec<u8>)],
    unknown: &[RawTaggedField],
) -> Result<(), EncodeError> {
    // Collecting an empty iterator does not allocate; the common case.
    let mut unknown: Vec<&RawTaggedField> = unknown
        .iter()
        .filter(|u| !known.iter().any(|(t, _)| *t == u.tag))
        .collect();
    unknown.sort_by_key(|f| f.tag);
    let count = known.len() + unknown.len();
    let count = u32::try_from(count).map_err(|_| EncodeError::TooLong {
        what: "tagged fields",
        len: count,
    })?;
    put_uvarint(sink, count);
    let mut k = known.iter().peekable();
    let mut u = unknown.into_iter().peekable();
    loop {
        let take_known = match (k.peek(), u.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((kt, _)), Some(uf)) => *kt < uf.tag,
        };
        let (tag, data): (u32, &[u8]) = if take_known {
            match k.next() {
                Some((t, d)) => (*t, d),
                None => break,
            }
        } else {
            match u.next() {
                Some(f) => (f.tag, &f.data),
                None => break,
            }
        };
        let len = u32::try_from(data.len()).map_err(|_| EncodeError::TooLong {
            what: "tagged field",
            len: data.len(),
        })?;
        put_uvarint(sink, tag);
        put_uvarint(sink, len);
        sink.put_slice(data);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::primitives::get_unknown_tagged_fields;

    #[test]
    fn tagged_section_merges_in_tag_order() {
        let known = vec![(1u32, vec![0xaa]), (4, vec![0xbb, 0xcc])];
        let unknown = vec![
            RawTaggedField {
                tag: 7,
                data: Bytes::from_static(b"x"),
            },
            RawTaggedField {
                tag: 0,
                data: Bytes::from_static(b""),
            },
            RawTaggedField {
                tag: 4,
                data: Bytes::from_static(b"dropped"),
            },
            RawTaggedField {
                tag: 2,
                data: Bytes::from_static(b"yz"),
            },
        ];
        let mut out = Vec::new();
        put_tagged_section(&mut out, &known, &unknown).unwrap();
        let mut b = Bytes::from(out);
        let all = get_unknown_tagged_fields(&mut b).unwrap();
        assert!(b.is_empty());
        let tags: Vec<u32> = all.iter().map(|f| f.tag).collect();
        assert_eq!(tags, [0, 1, 2, 4, 7]);
        assert_eq!(&all[3].data[..], &[0xbb, 0xcc]);
    }
}
