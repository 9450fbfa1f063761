//! Errors of the codec layer.

/// Why a decoder refused its input.
///
/// Decoders never panic and never allocate from a length prefix beyond the
/// bytes that remain; every refusal comes back as one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("input ended early: needed {needed} more bytes for {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// How many bytes were missing (at least).
        needed: usize,
    },
    /// A length prefix was negative where null is not allowed, or larger than
    /// the bytes that remain.
    #[error("invalid length {len} for {what}")]
    InvalidLength {
        /// What was being read.
        what: &'static str,
        /// The length found.
        len: i64,
    },
    /// A variable-length integer ran past its maximum width.
    #[error("varint too long")]
    VarintTooLong,
    /// A string was not valid UTF-8.
    #[error("string is not valid UTF-8 in {what}")]
    InvalidUtf8 {
        /// What was being read.
        what: &'static str,
    },
    /// The version asked for is outside what this message supports.
    #[error("unsupported version {version} for api key {api_key}")]
    UnsupportedVersion {
        /// The API key.
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// A frame announced a size above the configured maximum.
    #[error("frame of {size} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The announced size.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A record batch was not magic v2.
    #[error("unsupported record batch magic {0}")]
    UnsupportedMagic(i8),
    /// A record batch failed its CRC-32C check.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// The CRC in the batch header.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// Bytes were left over after a value that must consume all of its input.
    #[error("{left} trailing bytes after {what}")]
    TrailingBytes {
        /// What was decoded.
        what: &'static str,
        /// How many bytes were left.
        left: usize,
    },
    /// A value was structurally invalid.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The batch is compressed with a codec this build cannot read.
    #[error("record batch compressed with unsupported codec {0}")]
    UnsupportedCompression(u8),
    /// A compressed records section would decompress to more than the
    /// configured limit (a decompression bomb, or a limit set too low).
    #[error("decompressed records exceed the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The limit.
        limit: usize,
    },
}

/// Why an encoder refused a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The version asked for is outside what this message supports.
    #[error("unsupported version {version} for api key {api_key}")]
    UnsupportedVersion {
        /// The API key.
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// A value is too long for its length prefix.
    #[error("{what} is too long ({len} bytes) for its length prefix")]
    TooLong {
        /// What was being written.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A null was given where the version has no nullable form.
    #[error("{what} cannot be null in version {version}")]
    NullNotAllowed {
        /// What was being written.
        what: &'static str,
        /// The version.
        version: i16,
    },
}
