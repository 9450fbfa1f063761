//! Chunked transfer coding, decoded incrementally with limits.
//!
//! Chunk lines and the trailer section must end in CRLF; extensions and
//! trailer fields are read and dropped. The decoder never buffers more than
//! the data it hands out.
//!
//! # References
//! - RFC 9112 §7.1, Chunked Transfer Coding

use bytes::BytesMut;

/// Why a chunked body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkError {
    /// A chunk size, line ending, extension or trailer is malformed.
    #[error("malformed chunked body: {0}")]
    Malformed(&'static str),
    /// The data would exceed the body limit.
    #[error("chunked body exceeds {0} bytes")]
    TooLarge(usize),
    /// Chunk extensions or trailers exceed their limit.
    #[error("chunk metadata exceeds {0} bytes")]
    MetadataTooLarge(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// Reading hex digits of the size; `digits` so far.
    Size {
        digits: u8,
    },
    /// After the size: optional whitespace, then `;ext` or CR.
    AfterSize,
    /// Inside an extension, up to CR.
    Ext,
    /// Expecting LF of the chunk line.
    LineLf,
    /// Chunk data, `n` left.
    Data,
    /// Expecting CR after data.
    DataCr,
    /// Expecting LF after data.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line, up to CR.
    Trailer,
    /// Expecting LF ending a trailer field line.
    TrailerLf,
    /// Expecting the final LF.
    FinalLf,
    Done,
}

/// Incremental chunked decoder.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    st: St,
    size: u64,
    total: usize,
    meta: usize,
    limit: usize,
    meta_limit: usize,
}

impl ChunkedDecoder {
    /// A decoder accepting at most `limit` data bytes and `meta_limit` bytes
    /// of extensions and trailers.
    pub(crate) fn new(limit: usize, meta_limit: usize) -> Self {
        ChunkedDecoder {
            st: St::Size { digits: 0 },
            size: 0,
            total: 0,
            meta: 0,
            limit,
            meta_limit,
        }
    }

    /// Decodes from `input`, appending data to `out` (or dropping it when
    /// `out` is `None`). Returns the bytes of `input` consumed and whether
    /// the body is complete; bytes after the end are not consumed.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        mut out: Option<&mut BytesMut>,
    ) -> Result<(usize, bool), ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let c = input[i];
            match self.st {
                St::Size { digits } => {
                    if let Some(d) = hex(c) {
                        if digits >= 15 {
                            return Err(ChunkError::Malformed("chunk size too long"));
                        }
                        self.size = self.size << 4 | u64::from(d);
                        self.st = St::Size { digits: digits + 1 };
                    } else if digits == 0 {
                        return Err(ChunkError::Malformed("chunk size expected"));
                    } else {
                        self.st = St::AfterSize;
                        continue;
                    }
                }
                St::AfterSize => match c {
                    b' ' | b'\t' => self.meta_byte()?,
                    b';' => {
                        self.meta_byte()?;
                        self.st = St::Ext;
                    }
                    b'\r' => self.st = St::LineLf,
                    _ => return Err(ChunkError::Malformed("bad chunk size line")),
                },
                St::Ext => match c {
                    b'\r' => self.st = St::LineLf,
                    b'\n' => return Err(ChunkError::Malformed("bare LF in chunk line")),
                    _ => self.meta_byte()?,
                },
                St::LineLf => {
                    if c != b'\n' {
                        return Err(ChunkError::Malformed("CR without LF in chunk line"));
                    }
                    if self.size == 0 {
                        self.st = St::TrailerStart;
                    } else {
                        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
                        if size > self.limit.saturating_sub(self.total) {
                            return Err(ChunkError::TooLarge(self.limit));
                        }
                        self.st = St::Data;
                    }
                }
                St::Data => {
                    let left = usize::try_from(self.size).unwrap_or(usize::MAX);
                    let n = left.min(input.len() - i);
                    if let Some(out) = out.as_deref_mut() {
                        out.extend_from_slice(&input[i..i + n]);
                    }
                    self.total += n;
                    self.size -= n as u64;
                    i += n;
                    if self.size == 0 {
                        self.st = St::DataCr;
                    }
                    continue;
                }
                St::DataCr => {
                    if c != b'\r' {
                        return Err(ChunkError::Malformed("chunk data not followed by CRLF"));
                    }
                    self.st = St::DataLf;
                }
                St::DataLf => {
                    if c != b'\n' {
                        return Err(ChunkError::Malformed("chunk data not followed by CRLF"));
                    }
                    self.size = 0;
                    self.st = St::Size { digits: 0 };
                }
                St::TrailerStart => match c {
                    b'\r' => self.st = St::FinalLf,
                    b'\n' => return Err(ChunkError::Malformed("bare LF in trailer")),
                    _ => {
                        self.meta_byte()?;
                        self.st = St::Trailer;
                    }
                },
                St::Trailer => match c {
                    b'\r' => self.st = St::TrailerLf,
                    b'\n' => return Err(ChunkError::Malformed("bare LF in trailer")),
                    _ => self.meta_byte()?,
                },
                St::TrailerLf => {
                    if c != b'\n' {
                        return Err(ChunkError::Malformed("CR without LF in trailer"));
                    }
                    self.st = St::TrailerStart;
                }
                St::FinalLf => {
                    if c != b'\n' {
                        return Err(ChunkError::Malformed("CR without LF after trailer"));
                    }
                    self.st = St::Done;
                    return Ok((i + 1, true));
                }
                St::Done => return Ok((i, true)),
            }
            i += 1;
        }
        Ok((i, self.st == St::Done))
    }

    fn meta_byte(&mut self) -> Result<(), ChunkError> {
        self.meta += 1;
        if self.meta > self.meta_limit {
            return Err(ChunkError::MetadataTooLarge(self.meta_limit));
        }
        Ok(())
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, usize), ChunkError> {
        let mut d = ChunkedDecoder::new(100, 64);
        let mut out = BytesMut::new();
        let (n, done) = d.feed(input, Some(&mut out))?;
        assert!(done, "incomplete");
        Ok((out.to_vec(), n))
    }

    #[test]
    fn decodes_chunks_extensions_and_trailers() {
        let body =
            b"5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nNEXT";
        let (data, n) = decode_all(body).unwrap();
        assert_eq!(data, b"hello world");
        assert_eq!(&body[n..], b"NEXT");
        assert_eq!(
            decode_all(b"A\r\n0123456789\r\n0\r\n\r\n").unwrap().0,
            b"0123456789"
        );
    }

    #[test]
    fn every_split_gives_the_same_result() {
        let body = b"3;e\r\nabc\r\n1\r\nd\r\n0\r\nT: v\r\n\r\n";
        for split in 0..=body.len() {
            let mut d = ChunkedDecoder::new(100, 64);
            let mut out = BytesMut::new();
            let (a, done_a) = d.feed(&body[..split], Some(&mut out)).unwrap();
            assert_eq!(a, split);
            let (b, done_b) = d.feed(&body[split..], Some(&mut out)).unwrap();
            assert!(done_b || (done_a && b == 0));
            assert_eq!(&out[..], b"abcd");
        }
    }

    #[test]
    fn malformed_and_oversized_bodies_are_errors() {
        for bad in [
            &b"x\r\n"[..],
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloX\r\n",
            b"5\r\nhello\r\n0\r\nT: v\n\r\n",
            b"ffffffffffffffffff\r\n",
            b"-1\r\n",
        ] {
            assert!(
                matches!(decode_all(bad), Err(ChunkError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(decode_all(b"65\r\n"), Err(ChunkError::TooLarge(100)));
        let two = format!("32\r\n{}\r\n33\r\n", "a".repeat(50));
        assert_eq!(decode_all(two.as_bytes()), Err(ChunkError::TooLarge(100)));
        let long_ext = format!("1;{}\r\n", "e".repeat(100));
        assert_eq!(
            decode_all(long_ext.as_bytes()),
            Err(ChunkError::MetadataTooLarge(64))
        );
    }
}
