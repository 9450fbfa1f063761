//! Errors: why an event was dead-lettered, and why a configuration was refused.

use crate::avro::AvroError;
use crate::scan::ScanError;

/// Why an event (or a whole body) became a dead-letter record.
///
/// `Display` is the `error` text of the dead-letter value; [`DlqReason::code`]
/// is the short, stable code in the reason header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DlqReason {
    /// The body is not valid JSON (or not UTF-8).
    #[error("invalid JSON: {0}")]
    InvalidJson(ScanError),
    /// The body, or an element of `batch`, is valid JSON but not an object.
    #[error("event is not a JSON object")]
    NotAnObject,
    /// The event's structure is wrong: a field has the wrong JSON type.
    #[error("bad event structure: {0}")]
    BadStructure(&'static str),
    /// `type` is not one of track, identify, page, screen, group, alias.
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    /// A field the event's type requires is missing, null or empty.
    #[error("missing required field: {0}")]
    MissingField(&'static str),
    /// `integrations.KAFKA.schemaId` names a schema that is not configured.
    #[error("unknown Avro schema id `{0}`")]
    UnknownSchema(String),
    /// The event does not fit its Avro schema.
    #[error("Avro encoding failed with schema `{schema}`: {message}")]
    Avro {
        /// The schema id.
        schema: String,
        /// The encoder's error, naming the field path.
        message: String,
    },
    /// Value, key and headers together exceed `message.max.bytes`.
    #[error("record of {size} bytes exceeds message.max.bytes ({max})")]
    TooLarge {
        /// Bytes of value, key and headers.
        size: usize,
        /// The configured limit.
        max: usize,
    },
}

impl DlqReason {
    /// Every reason code, in a stable order.
    pub const CODES: [&'static str; 6] = [
        "invalid_json",
        "bad_structure",
        "missing_field",
        "unknown_schema",
        "avro_encoding",
        "message_too_large",
    ];

    /// The short code carried in the reason header.
    pub fn code(&self) -> &'static str {
        Self::CODES[self.code_index()]
    }

    pub(crate) fn code_index(&self) -> usize {
        match self {
            DlqReason::InvalidJson(_) => 0,
            DlqReason::NotAnObject | DlqReason::BadStructure(_) | DlqReason::UnknownType(_) => 1,
            DlqReason::MissingField(_) => 2,
            DlqReason::UnknownSchema(_) => 3,
            DlqReason::Avro { .. } => 4,
            DlqReason::TooLarge { .. } => 5,
        }
    }
}

/// A configuration the router refuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `default_topic` is empty.
    #[error("default_topic must not be empty")]
    EmptyDefaultTopic,
    /// A topic in the configuration is empty.
    #[error("topic for `{0}` must not be empty")]
    EmptyTopic(String),
    /// `message_max_bytes` is zero.
    #[error("message.max.bytes must be greater than zero")]
    ZeroMessageMaxBytes,
    /// `default_partition` is negative.
    #[error("default_partition must not be negative (got {0})")]
    NegativeDefaultPartition(i32),
    /// A field path is empty or has an empty segment.
    #[error("invalid field path `{0}`")]
    InvalidFieldPath(String),
    /// Two schemas share an id.
    #[error("duplicate Avro schema id `{0}`")]
    DuplicateSchemaId(String),
    /// A route names a schema id that is not in the schema list.
    #[error("Avro schema id `{0}` is not in avro.schemas")]
    UnknownSchemaId(String),
    /// A schema in the list does not compile.
    #[error("Avro schema `{id}` is invalid: {source}")]
    InvalidSchema {
        /// The schema id.
        id: String,
        /// The compiler's error.
        #[source]
        source: AvroError,
    },
    /// The strings of the configuration exceed 4 GiB.
    #[error("configuration too large")]
    TooLarge,
}
