//! Record batch compression: gzip, snappy, lz4 and zstd, each behind a cargo
//! feature of the same name (`compression` turns on all four).
//!
//! A [`Compressor`] compresses the records section of a batch when it is
//! sealed ([`crate::record::BatchBuilder::seal_compressed`]); a
//! [`Decompressor`] expands it again for the view
//! ([`crate::record::RecordBatch::records_decompressed`]). Both keep their
//! codec state and buffers between batches, so in steady state they do not
//! allocate per batch.
//!
//! Framing follows what Kafka's Java client and librdkafka write and read:
//!
//! | codec  | written                                        | read                                  |
//! |--------|------------------------------------------------|---------------------------------------|
//! | gzip   | one gzip member (RFC 1952), default level 6    | concatenated gzip members             |
//! | snappy | xerial framing, 32 KiB blocks                  | xerial framing, or raw snappy         |
//! | lz4    | LZ4 frame, independent 64 KiB blocks, no checksums | any LZ4 frame (one or more)       |
//! | zstd   | one zstd frame, default level 3                | one or more zstd frames               |
//!
//! Decompression never panics on corrupt input and refuses output larger
//! than [`Decompressor::max_size`] (64 MiB by default) before allocating it.
//!
//! # References
//! - Kafka `CompressionType`, `KafkaLZ4BlockOutputStream`, `SnappyOutputStream`
//!   (xerial snappy-java), KIP-110 (zstd), KIP-390 (compression levels)
//! - LZ4 frame format: <https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md>
//! - gzip: RFC 1952; zstd: RFC 8878

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;

/// The default limit of a decompressed records section: 64 MiB.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// Compression codec, attribute bits 0–2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    Gzip,
    /// snappy (xerial framing).
    Snappy,
    /// lz4 (frame format).
    Lz4,
    /// zstd.
    Zstd,
    /// A codec number this codec does not know.
    Unknown(u8),
}

impl Compression {
    /// The codec from attribute bits 0–2.
    pub const fn from_bits(bits: u8) -> Self {
        match bits {
            0 => Self::None,
            1 => Self::Gzip,
            2 => Self::Snappy,
            3 => Self::Lz4,
            4 => Self::Zstd,
            other => Self::Unknown(other),
        }
    }

    /// The attribute bits.
    pub const fn bits(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Gzip => 1,
            Self::Snappy => 2,
            Self::Lz4 => 3,
            Self::Zstd => 4,
            Self::Unknown(b) => b,
        }
    }

    /// The codec named as in `compression.type` (`none`, `gzip`, `snappy`,
    /// `lz4`, `zstd`; case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let c = match name.to_ascii_lowercase().as_str() {
            "none" => Self::None,
            "gzip" => Self::Gzip,
            "snappy" => Self::Snappy,
            "lz4" => Self::Lz4,
            "zstd" => Self::Zstd,
            _ => return None,
        };
        Some(c)
    }

    /// The `compression.type` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
            Self::Unknown(_) => "unknown",
        }
    }

    /// Whether this build can compress and decompress the codec (`None`
    /// always; the others with their cargo feature).
    pub const fn is_supported(self) -> bool {
        match self {
            Self::None => true,
            Self::Gzip => cfg!(feature = "gzip"),
            Self::Snappy => cfg!(feature = "snappy"),
            Self::Lz4 => cfg!(feature = "lz4"),
            Self::Zstd => cfg!(feature = "zstd"),
            Self::Unknown(_) => false,
        }
    }

    /// The levels the codec accepts, or `None` if it has no levels (`none`,
    /// `snappy`: any level is ignored).
    ///
    /// lz4 accepts librdkafka's 0–12 but is always LZ4's fast mode
    /// (`lz4_flex` has no high-compression mode); the level has no effect.
    pub fn level_range(self) -> Option<std::ops::RangeInclusive<i32>> {
        match self {
            Self::Gzip => Some(0..=9),
            Self::Lz4 => Some(0..=12),
            #[cfg(feature = "zstd")]
            Self::Zstd => Some(zstd::compression_level_range()),
            #[cfg(not(feature = "zstd"))]
            Self::Zstd => Some(-131_072..=22),
            _ => None,
        }
    }
}

/// Why a [`Compressor`] could not be made or could not compress.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompressionError {
    /// The codec is unknown, or this build lacks its cargo feature.
    #[error("compression codec {0:?} is not supported by this build")]
    Unsupported(Compression),
    /// The level is outside the codec's range.
    #[error("compression level {level} is out of range for {codec:?}")]
    InvalidLevel {
        /// The codec.
        codec: Compression,
        /// The level asked for.
        level: i32,
    },
    /// The codec library reported an error.
    #[error("{0} compression failed")]
    Failed(&'static str),
}

// ---------------------------------------------------------------------------
// Framing constants
// ---------------------------------------------------------------------------

/// xerial snappy-java's stream header: magic, version 1, compatible version 1.
#[cfg(feature = "snappy")]
const XERIAL_HEADER: [u8; 16] = *b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
/// snappy-java's default block size.
#[cfg(feature = "snappy")]
const SNAPPY_BLOCK: usize = 32 * 1024;

/// LZ4 frame magic, little-endian on the wire.
#[cfg(feature = "lz4")]
const LZ4_MAGIC: u32 = 0x184D_2204;
/// FLG: version 01, independent blocks, no checksums, no content size.
/// BD: 64 KiB maximum block size. HC: `(xxh32(FLG BD, 0) >> 8) & 0xff`.
#[cfg(feature = "lz4")]
const LZ4_FRAME_DESCRIPTOR: [u8; 3] = [0x60, 0x40, 0x82];
#[cfg(feature = "lz4")]
const LZ4_BLOCK: usize = 64 * 1024;
/// Block size bit saying the block is stored uncompressed.
#[cfg(feature = "lz4")]
const LZ4_UNCOMPRESSED: u32 = 0x8000_0000;

#[cfg(feature = "gzip")]
const GZIP_DEFAULT_LEVEL: u32 = 6;
#[cfg(feature = "zstd")]
const ZSTD_DEFAULT_LEVEL: i32 = 3;

// ---------------------------------------------------------------------------
// Compressor
// ---------------------------------------------------------------------------

enum Encoder {
    None,
    #[cfg(feature = "gzip")]
    Gzip(flate2::Compress),
    #[cfg(feature = "snappy")]
    Snappy(Box<snap::raw::Encoder>),
    #[cfg(feature = "lz4")]
    Lz4(Box<lz4_flex::block::CompressTable>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::bulk::Compressor<'static>),
}

/// One codec's compression state and output buffer, kept across batches.
///
/// A producer keeps one per worker and passes it to
/// [`crate::record::BatchBuilder::seal_compressed`]. The output buffer grows
/// to the largest batch seen and is then reused, as is the codec's state
/// (deflate stream, snappy and lz4 hash tables, zstd context).
pub struct Compressor {
    codec: Compression,
    level: Option<i32>,
    encoder: Encoder,
    out: Vec<u8>,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("codec", &self.codec)
            .field("level", &self.level)
            .field("buffer", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor for `codec` at `level` (`None`: the codec's default,
    /// gzip 6 and zstd 3 as in Kafka and librdkafka). Refuses a codec this
    /// build lacks and a level outside [`Compression::level_range`].
    pub fn new(codec: Compression, level: Option<i32>) -> Result<Self, CompressionError> {
        if !codec.is_supported() {
            return Err(CompressionError::Unsupported(codec));
        }
        if let (Some(l), Some(range)) = (level, codec.level_range()) {
            if !range.contains(&l) {
                return Err(CompressionError::InvalidLevel { codec, level: l });
            }
        }
        let encoder = match codec {
            #[cfg(feature = "gzip")]
            Compression::Gzip => {
                let l = level.map_or(GZIP_DEFAULT_LEVEL, |l| l as u32);
                Encoder::Gzip(flate2::Compress::new_gzip(flate2::Compression::new(l), 15))
            }
            #[cfg(feature = "snappy")]
            Compression::Snappy => Encoder::Snappy(Box::new(snap::raw::Encoder::new())),
            #[cfg(feature = "lz4")]
            Compression::Lz4 => Encoder::Lz4(Box::new(lz4_flex::block::CompressTable::large())),
            #[cfg(feature = "zstd")]
            Compression::Zstd => {
                let l = level.unwrap_or(ZSTD_DEFAULT_LEVEL);
                let c = zstd::bulk::Compressor::new(l)
                    .map_err(|_| CompressionError::InvalidLevel { codec, level: l })?;
                Encoder::Zstd(c)
            }
            _ => Encoder::None,
        };
        Ok(Self {
            codec,
            level,
            encoder,
            out: Vec::new(),
        })
    }

    /// A compressor that leaves batches uncompressed.
    pub fn none() -> Self {
        Self {
            codec: Compression::None,
            level: None,
            encoder: Encoder::None,
            out: Vec::new(),
        }
    }

    /// The codec.
    pub fn codec(&self) -> Compression {
        self.codec
    }

    /// The level asked for (`None`: the codec's default).
    pub fn level(&self) -> Option<i32> {
        self.level
    }

    /// Compresses `input` as one stream of this codec, Kafka's framing
    /// included, into the reused output buffer, and returns it. With
    /// [`Compression::None`], returns `input` unchanged.
    pub fn compress<'a>(&'a mut self, input: &'a [u8]) -> Result<&'a [u8], CompressionError> {
        match &mut self.encoder {
            Encoder::None => Ok(input),
            #[cfg(feature = "gzip")]
            Encoder::Gzip(c) => {
                let n = gzip_compress(c, input, &mut self.out)?;
                Ok(&self.out[..n])
            }
            #[cfg(feature = "snappy")]
            Encoder::Snappy(e) => {
                let n = snappy_compress(e, input, &mut self.out)?;
                Ok(&self.out[..n])
            }
            #[cfg(feature = "lz4")]
            Encoder::Lz4(t) => {
                let n = lz4_compress(t, input, &mut self.out)?;
                Ok(&self.out[..n])
            }
            #[cfg(feature = "zstd")]
            Encoder::Zstd(c) => {
                ensure_len(&mut self.out, zstd::zstd_safe::compress_bound(input.len()));
                let n = c
                    .compress_to_buffer(input, &mut self.out[..])
                    .map_err(|_| CompressionError::Failed("zstd"))?;
                Ok(&self.out[..n])
            }
        }
    }
}

/// Grows `buf` (zero-filled) to at least `len` bytes; never shrinks it, so a
/// warmed-up buffer is neither reallocated nor cleared again.
#[cfg(any(
    feature = "gzip",
    feature = "snappy",
    feature = "lz4",
    feature = "zstd"
))]
fn ensure_len(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    }
}

#[cfg(feature = "gzip")]
fn gzip_compress(
    c: &mut flate2::Compress,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, CompressionError> {
    use flate2::{FlushCompress, Status};
    c.reset();
    // zlib's deflateBound plus the gzip header and trailer; grown if short.
    ensure_len(
        out,
        input.len() + (input.len() >> 12) + (input.len() >> 14) + 64,
    );
    loop {
        let (read, written) = (c.total_in() as usize, c.total_out() as usize);
        let status = c
            .compress(&input[read..], &mut out[written..], FlushCompress::Finish)
            .map_err(|_| CompressionError::Failed("gzip"))?;
        match status {
            Status::StreamEnd => return Ok(c.total_out() as usize),
            Status::Ok | Status::BufError => {
                let len = out.len();
                if c.total_out() as usize == len {
                    out.resize(len * 2, 0);
                } else if c.total_in() as usize == read && c.total_out() as usize == written {
                    return Err(CompressionError::Failed("gzip"));
                }
            }
        }
    }
}

#[cfg(feature = "snappy")]
fn snappy_compress(
    e: &mut snap::raw::Encoder,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, CompressionError> {
    let full = input.len() / SNAPPY_BLOCK;
    let last = input.len() % SNAPPY_BLOCK;
    let mut bound = XERIAL_HEADER.len() + full * (4 + snap::raw::max_compress_len(SNAPPY_BLOCK));
    if last > 0 {
        bound += 4 + snap::raw::max_compress_len(last);
    }
    ensure_len(out, bound);
    out[..XERIAL_HEADER.len()].copy_from_slice(&XERIAL_HEADER);
    let mut n = XERIAL_HEADER.len();
    for block in input.chunks(SNAPPY_BLOCK) {
        let m = e
            .compress(block, &mut out[n + 4..])
            .map_err(|_| CompressionError::Failed("snappy"))?;
        out[n..n + 4].copy_from_slice(&(m as u32).to_be_bytes());
        n += 4 + m;
    }
    Ok(n)
}

#[cfg(feature = "lz4")]
fn lz4_compress(
    table: &mut lz4_flex::block::CompressTable,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, CompressionError> {
    let blocks = input.len().div_ceil(LZ4_BLOCK);
    let bound = 7 + blocks * (4 + lz4_flex::block::get_maximum_output_size(LZ4_BLOCK)) + 4;
    ensure_len(out, bound);
    out[..4].copy_from_slice(&LZ4_MAGIC.to_le_bytes());
    out[4..7].copy_from_slice(&LZ4_FRAME_DESCRIPTOR);
    let mut n = 7;
    for block in input.chunks(LZ4_BLOCK) {
        let m = lz4_flex::block::compress_into_with_table(block, &mut out[n + 4..], table)
            .map_err(|_| CompressionError::Failed("lz4"))?;
        if m < block.len() {
            out[n..n + 4].copy_from_slice(&(m as u32).to_le_bytes());
            n += 4 + m;
        } else {
            // Incompressible: store the block as it is.
            out[n..n + 4].copy_from_slice(&(block.len() as u32 | LZ4_UNCOMPRESSED).to_le_bytes());
            out[n + 4..n + 4 + block.len()].copy_from_slice(block);
            n += 4 + block.len();
        }
    }
    out[n..n + 4].copy_from_slice(&0u32.to_le_bytes()); // end mark
    Ok(n + 4)
}

// ---------------------------------------------------------------------------
// Decompressor
// ---------------------------------------------------------------------------

/// Decompression state and output arena, kept across batches.
///
/// [`Self::decompress`] writes into an arena and hands out the result as
/// `Bytes`; once every `Bytes` of earlier batches is dropped, the arena's
/// memory is reused. Output above [`Self::max_size`] is refused as
/// [`DecodeError::DecompressedTooLarge`] (a decompression bomb) without
/// being allocated.
pub struct Decompressor {
    max_size: usize,
    out: BytesMut,
    #[cfg(feature = "gzip")]
    gzip: Option<flate2::Decompress>,
    #[cfg(feature = "snappy")]
    snappy: snap::raw::Decoder,
    #[cfg(feature = "zstd")]
    zstd: Option<zstd::stream::raw::Decoder<'static>>,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Decompressor {
    /// A decompressor with the default limit, [`DEFAULT_MAX_DECOMPRESSED`].
    pub fn new() -> Self {
        Self::with_max_size(DEFAULT_MAX_DECOMPRESSED)
    }

    /// A decompressor that refuses a records section larger than `max_size`
    /// bytes once decompressed.
    pub fn with_max_size(max_size: usize) -> Self {
        Self {
            max_size,
            out: BytesMut::new(),
            #[cfg(feature = "gzip")]
            gzip: None,
            #[cfg(feature = "snappy")]
            snappy: snap::raw::Decoder::new(),
            #[cfg(feature = "zstd")]
            zstd: None,
        }
    }

    /// The largest decompressed output accepted.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Decompresses one `codec` stream. [`Compression::None`] returns a copy
    /// of `input`; a codec this build lacks is
    /// [`DecodeError::UnsupportedCompression`].
    pub fn decompress(&mut self, codec: Compression, input: &[u8]) -> Result<Bytes, DecodeError> {
        self.out.clear();
        let r = match codec {
            Compression::None => {
                if input.len() > self.max_size {
                    Err(self.too_large())
                } else {
                    self.out.extend_from_slice(input);
                    Ok(())
                }
            }
            #[cfg(feature = "gzip")]
            Compression::Gzip => self.gzip(input),
            #[cfg(feature = "snappy")]
            Compression::Snappy => self.snappy(input),
            #[cfg(feature = "lz4")]
            Compression::Lz4 => self.lz4(input),
            #[cfg(feature = "zstd")]
            Compression::Zstd => self.zstd(input),
            c => Err(DecodeError::UnsupportedCompression(c.bits())),
        };
        match r {
            Ok(()) => Ok(self.out.split().freeze()),
            Err(e) => {
                self.out.clear();
                Err(e)
            }
        }
    }

    fn too_large(&self) -> DecodeError {
        DecodeError::DecompressedTooLarge {
            limit: self.max_size,
        }
    }

    /// Grows the output to hold more than `filled` bytes: doubling, at most
    /// to `max_size + 1` (one byte over the limit tells "too large").
    #[cfg(any(feature = "gzip", feature = "lz4", feature = "zstd"))]
    fn grow(&mut self, filled: usize, hint: usize) -> Result<(), DecodeError> {
        let cap = self.max_size.saturating_add(1);
        if filled >= cap {
            return Err(self.too_large());
        }
        let want = filled
            .saturating_mul(2)
            .max(hint)
            .max(filled + 4096)
            .min(cap);
        self.out.resize(want, 0);
        Ok(())
    }

    #[cfg(feature = "gzip")]
    fn gzip(&mut self, input: &[u8]) -> Result<(), DecodeError> {
        use flate2::{FlushDecompress, Status};
        const WHAT: &str = "gzip data";
        let bad = |reason| DecodeError::Invalid { what: WHAT, reason };
        let mut d = self
            .gzip
            .take()
            .unwrap_or_else(|| flate2::Decompress::new_gzip(15));
        let mut pos = 0;
        let mut filled = 0;
        let r = loop {
            // One gzip member (header, deflate stream, CRC-32 and size
            // checked by the inflater); members may follow each other.
            // `true` keeps the gzip wrapper this inflater was made with.
            d.reset(true);
            let d = &mut d;
            let member = loop {
                if filled == self.out.len() {
                    if let Err(e) = self.grow(filled, input.len().saturating_mul(4)) {
                        break Err(e);
                    }
                }
                let (in0, out0) = (d.total_in(), d.total_out());
                let status = match d.decompress(
                    &input[pos..],
                    &mut self.out[filled..],
                    FlushDecompress::None,
                ) {
                    Ok(s) => s,
                    Err(_) => break Err(bad("corrupt stream")),
                };
                pos += (d.total_in() - in0) as usize;
                filled += (d.total_out() - out0) as usize;
                if status == Status::StreamEnd {
                    break Ok(());
                }
                let stalled = d.total_in() == in0 && d.total_out() == out0;
                if stalled && filled < self.out.len() {
                    // Room to write and input left, yet no progress.
                    break Err(bad("truncated stream"));
                }
                if filled > self.max_size {
                    break Err(self.too_large());
                }
            };
            if let Err(e) = member {
                break Err(e);
            }
            if filled > self.max_size {
                break Err(self.too_large());
            }
            if pos == input.len() {
                break Ok(());
            }
        };
        self.gzip = Some(d);
        self.out.truncate(filled);
        r
    }

    #[cfg(feature = "snappy")]
    fn snappy(&mut self, input: &[u8]) -> Result<(), DecodeError> {
        let mut filled = 0;
        if input.starts_with(&XERIAL_HEADER[..8]) {
            // xerial framing: header, then (i32 length, raw block)*; a
            // concatenated stream repeats the header.
            let mut rest = input;
            while !rest.is_empty() {
                if rest.starts_with(&XERIAL_HEADER[..8]) {
                    if rest.len() < XERIAL_HEADER.len() {
                        return Err(DecodeError::Truncated {
                            what: "snappy stream header",
                            needed: XERIAL_HEADER.len() - rest.len(),
                        });
                    }
                    rest = &rest[XERIAL_HEADER.len()..];
                    continue;
                }
                let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                    return Err(DecodeError::Truncated {
                        what: "snappy block length",
                        needed: 4 - rest.len(),
                    });
                };
                let len = i32::from_be_bytes(*len);
                if len < 0 || len as usize > tail.len() {
                    return Err(DecodeError::InvalidLength {
                        what: "snappy block",
                        len: i64::from(len),
                    });
                }
                let (block, tail) = tail.split_at(len as usize);
                filled = self.snappy_block(block, filled)?;
                rest = tail;
            }
        } else {
            filled = self.snappy_block(input, 0)?;
        }
        self.out.truncate(filled);
        Ok(())
    }

    /// Appends one raw snappy block at `filled`; returns the new length.
    #[cfg(feature = "snappy")]
    fn snappy_block(&mut self, block: &[u8], filled: usize) -> Result<usize, DecodeError> {
        let bad = |reason| DecodeError::Invalid {
            what: "snappy data",
            reason,
        };
        let n = snap::raw::decompress_len(block).map_err(|_| bad("corrupt length"))?;
        let end = filled.checked_add(n).ok_or_else(|| self.too_large())?;
        if end > self.max_size {
            return Err(self.too_large());
        }
        if self.out.len() < end {
            self.out.resize(end, 0);
        }
        let m = self
            .snappy
            .decompress(block, &mut self.out[filled..end])
            .map_err(|_| bad("corrupt block"))?;
        if m != n {
            return Err(bad("length mismatch"));
        }
        Ok(end)
    }

    #[cfg(feature = "lz4")]
    fn lz4(&mut self, input: &[u8]) -> Result<(), DecodeError> {
        use std::io::Read;
        let mut r = lz4_flex::frame::FrameDecoder::new(input);
        let mut filled = 0;
        let res = loop {
            if filled == self.out.len() {
                if let Err(e) = self.grow(filled, input.len().saturating_mul(4)) {
                    break Err(e);
                }
            }
            match r.read(&mut self.out[filled..]) {
                Ok(0) => break Ok(()),
                Ok(m) => filled += m,
                Err(_) => {
                    break Err(DecodeError::Invalid {
                        what: "lz4 frame",
                        reason: "corrupt frame",
                    })
                }
            }
            if filled > self.max_size {
                break Err(self.too_large());
            }
        };
        self.out.truncate(filled);
        res
    }

    #[cfg(feature = "zstd")]
    fn zstd(&mut self, input: &[u8]) -> Result<(), DecodeError> {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        let bad = |reason| DecodeError::Invalid {
            what: "zstd data",
            reason,
        };
        let mut d = match self.zstd.take() {
            Some(d) => d,
            None => zstd::stream::raw::Decoder::new().map_err(|_| bad("no decoder"))?,
        };
        // The frame's declared size, when it has one, sizes the output once.
        let hint = match zstd::zstd_safe::get_frame_content_size(input) {
            Ok(Some(n)) => usize::try_from(n).unwrap_or(usize::MAX),
            _ => input.len().saturating_mul(4),
        };
        let mut pos = 0;
        let mut filled = 0;
        let res = if d.reinit().is_err() {
            Err(bad("no decoder"))
        } else {
            loop {
                if filled == self.out.len() {
                    if let Err(e) = self.grow(filled, hint.saturating_add(1)) {
                        break Err(e);
                    }
                }
                let mut src = InBuffer::around(&input[pos..]);
                let mut dst = OutBuffer::around_pos(&mut self.out[..], filled);
                let left = match d.run(&mut src, &mut dst) {
                    Ok(left) => left,
                    Err(_) => break Err(bad("corrupt frame")),
                };
                let (read, end) = (src.pos(), dst.pos());
                let progressed = read > 0 || end > filled;
                pos += read;
                filled = end;
                if filled > self.max_size {
                    break Err(self.too_large());
                }
                if left == 0 && pos == input.len() {
                    // The last frame ended with the input.
                    break Ok(());
                }
                if !progressed && filled < self.out.len() {
                    break Err(DecodeError::Truncated {
                        what: "zstd frame",
                        needed: left.max(1),
                    });
                }
            }
        };
        self.zstd = Some(d);
        self.out.truncate(filled);
        res
    }
}
