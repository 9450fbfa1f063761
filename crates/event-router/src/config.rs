//! Router configuration, loadable from TOML or JSON with serde.
//!
//! Every field but `default_topic` has a default; unknown fields are errors so
//! a typo in a config file is caught when it is loaded. A minimal TOML table:
//!
//! ```toml
//! default_topic = "events"
//! ```
//!
//! A fuller one:
//!
//! ```toml
//! default_topic = "events"
//! multi_topic = true
//! type_topics = { identify = "users", group = "accounts" }
//! track_topics = { "Order Completed" = "orders" }
//! key_fields = ["userId", "anonymousId"]
//! partition_field = "context.kafka.partition"
//! default_partition = 0
//! static_headers = [{ key = "env", value = "prod" }]
//! header_fields = { library = "context.library.name" }
//! "message.max.bytes" = 1000000
//! clock_skew_correction = true
//!
//! [avro]
//! confluent_wire_format = true
//! schemas = [{ id = "7", schema = '{"type":"record","name":"E","fields":[]}' }]
//! track_schemas = { "Order Completed" = "7" }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// Kafka's default `message.max.bytes`, as Keen documents it.
pub const DEFAULT_MESSAGE_MAX_BYTES: usize = 1_000_000;

/// The six Segment / RudderStack call types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EventType {
    /// `track`: an action, named by `event`.
    Track,
    /// `identify`: who the user is.
    Identify,
    /// `page`: a web page view.
    Page,
    /// `screen`: a mobile screen view.
    Screen,
    /// `group`: the user joins a group (`groupId`).
    Group,
    /// `alias`: `previousId` is now `userId`.
    Alias,
}

impl EventType {
    /// All types, in the order of their discriminants.
    pub const ALL: [EventType; 6] = [
        EventType::Track,
        EventType::Identify,
        EventType::Page,
        EventType::Screen,
        EventType::Group,
        EventType::Alias,
    ];

    /// The wire name (`"track"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Track => "track",
            EventType::Identify => "identify",
            EventType::Page => "page",
            EventType::Screen => "screen",
            EventType::Group => "group",
            EventType::Alias => "alias",
        }
    }

    /// Parses a wire name; case-sensitive, as Segment is.
    pub fn from_bytes(name: &[u8]) -> Option<EventType> {
        Some(match name {
            b"track" => EventType::Track,
            b"identify" => EventType::Identify,
            b"page" => EventType::Page,
            b"screen" => EventType::Screen,
            b"group" => EventType::Group,
            b"alias" => EventType::Alias,
            _ => return None,
        })
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Router settings. See the module documentation for a TOML example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Topic for every event that no other rule routes. Required.
    pub default_topic: String,
    /// Enables `type_topics` and `track_topics`. Default: `false` (RudderStack's
    /// "Enable multiple topic support"); the `integrations` override works
    /// either way.
    #[serde(default)]
    pub multi_topic: bool,
    /// Event type to topic. Default: empty.
    #[serde(default)]
    pub type_topics: BTreeMap<EventType, String>,
    /// Track event name (`event`) to topic; wins over `type_topics`. Default: empty.
    #[serde(default)]
    pub track_topics: BTreeMap<String, String>,
    /// Field paths tried in order for the record key; dots separate levels
    /// (`context.traits.email`). Default: `["userId", "anonymousId"]`.
    #[serde(default = "default_key_fields")]
    pub key_fields: Vec<String>,
    /// Field path of an explicit partition number (Segment's "Partition").
    /// Default: none.
    #[serde(default)]
    pub partition_field: Option<String>,
    /// Partition used when `partition_field` is absent or not a valid
    /// partition (Segment's "Default Partition"). Default: none.
    #[serde(default)]
    pub default_partition: Option<i32>,
    /// Headers added to every record, as in Feldera's `headers`. Default: none.
    #[serde(default)]
    pub static_headers: Vec<StaticHeader>,
    /// Header name to event field path (Segment's "Headers" mapping). Absent or
    /// null fields add no header; strings are sent unescaped, other values as
    /// their JSON text. Default: empty.
    #[serde(default)]
    pub header_fields: BTreeMap<String, String>,
    /// Header carrying the event's `messageId`. Default: `message_id`.
    #[serde(default = "default_message_id_header")]
    pub message_id_header: String,
    /// Header carrying the event's `type`. Default: `event_type`.
    #[serde(default = "default_event_type_header")]
    pub event_type_header: String,
    /// When set, every record carries this value under `source_header`.
    /// Default: none. (The forwarder binary gives it to the write keys
    /// without a source of their own instead: a key's source wins.)
    #[serde(default)]
    pub source_name: Option<String>,
    /// Header name for `source_name`. Default: `source`.
    #[serde(default = "default_source_header")]
    pub source_header: String,
    /// Dead-letter topic. Default: `<default_topic>-dlq`, as Keen names it.
    #[serde(default)]
    pub dlq_topic: Option<String>,
    /// Header on dead-letter records with the reason code. Default: `dlq_reason`.
    #[serde(default = "default_dlq_reason_header")]
    pub dlq_reason_header: String,
    /// Header on dead-letter records with the topic the event was meant for
    /// (as routed by its type, track name or `integrations.Kafka.topic`; the
    /// default topic when the event has no known type). Default: `dlq_topic`.
    #[serde(default = "default_dlq_topic_header")]
    pub dlq_topic_header: String,
    /// Largest record (value + key + headers) sent to its topic; larger ones
    /// are dead-lettered. Also read as `message.max.bytes`. Default: 1,000,000.
    #[serde(default = "default_message_max_bytes", alias = "message.max.bytes")]
    pub message_max_bytes: usize,
    /// Segment's clock-skew correction: `timestamp = receivedAt - (sentAt -
    /// timestamp)`, keeping the client's value as `originalTimestamp`.
    /// Default: `false`.
    #[serde(default)]
    pub clock_skew_correction: bool,
    /// Avro schemas and which events use them. Default: none (JSON only).
    #[serde(default)]
    pub avro: AvroConfig,
}

impl RouterConfig {
    /// A configuration with every default and the given default topic.
    pub fn new(default_topic: impl Into<String>) -> Self {
        RouterConfig {
            default_topic: default_topic.into(),
            multi_topic: false,
            type_topics: BTreeMap::new(),
            track_topics: BTreeMap::new(),
            key_fields: default_key_fields(),
            partition_field: None,
            default_partition: None,
            static_headers: Vec::new(),
            header_fields: BTreeMap::new(),
            message_id_header: default_message_id_header(),
            event_type_header: default_event_type_header(),
            source_name: None,
            source_header: default_source_header(),
            dlq_topic: None,
            dlq_reason_header: default_dlq_reason_header(),
            dlq_topic_header: default_dlq_topic_header(),
            message_max_bytes: DEFAULT_MESSAGE_MAX_BYTES,
            clock_skew_correction: false,
            avro: AvroConfig::default(),
        }
    }
}

/// A header added to every record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticHeader {
    /// Header name.
    pub key: String,
    /// Header value; absent means a null value.
    #[serde(default)]
    pub value: Option<HeaderValue>,
}

/// A static header value: text or raw bytes (`[1, 2, 3]`), as Feldera accepts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum HeaderValue {
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

impl HeaderValue {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            HeaderValue::Text(s) => s.as_bytes(),
            HeaderValue::Bytes(b) => b,
        }
    }
}

/// Avro settings, after RudderStack's "Convert Data to AVRO format".
///
/// The schema for an event is chosen, first match wins, by
/// `integrations.KAFKA.schemaId` (or `integrations.Kafka.schemaId`), then
/// `track_schemas` by event name, then `type_schemas`, then `default_schema`.
/// Events with no schema stay JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvroConfig {
    /// The schema list: id to schema JSON.
    #[serde(default)]
    pub schemas: Vec<AvroSchemaConfig>,
    /// Prefix values whose schema id is numeric with the Confluent wire format
    /// header (magic byte 0, 4-byte big-endian id). Default: `false` (raw datum).
    #[serde(default)]
    pub confluent_wire_format: bool,
    /// Schema id for events no other rule gives one. Default: none.
    #[serde(default)]
    pub default_schema: Option<String>,
    /// Event type to schema id. Default: empty.
    #[serde(default)]
    pub type_schemas: BTreeMap<EventType, String>,
    /// Track event name to schema id. Default: empty.
    #[serde(default)]
    pub track_schemas: BTreeMap<String, String>,
}

/// One entry of the schema list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvroSchemaConfig {
    /// Schema id, as events name it in `integrations.KAFKA.schemaId`.
    pub id: String,
    /// The Avro schema, as JSON text.
    pub schema: String,
}

fn default_key_fields() -> Vec<String> {
    vec!["userId".to_owned(), "anonymousId".to_owned()]
}

fn default_message_id_header() -> String {
    "message_id".to_owned()
}

fn default_event_type_header() -> String {
    "event_type".to_owned()
}

fn default_source_header() -> String {
    "source".to_owned()
}

fn default_dlq_reason_header() -> String {
    "dlq_reason".to_owned()
}

fn default_dlq_topic_header() -> String {
    "dlq_topic".to_owned()
}

fn default_message_max_bytes() -> usize {
    DEFAULT_MESSAGE_MAX_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_takes_documented_defaults() {
        let c: RouterConfig = serde_json::from_str(r#"{"default_topic":"events"}"#).unwrap();
        assert_eq!(c.key_fields, ["userId", "anonymousId"]);
        assert_eq!(c.message_id_header, "message_id");
        assert_eq!(c.event_type_header, "event_type");
        assert_eq!(c.message_max_bytes, 1_000_000);
        assert!(!c.multi_topic && !c.clock_skew_correction);
        assert!(c.dlq_topic.is_none());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let e = serde_json::from_str::<RouterConfig>(r#"{"default_topic":"e","mutli_topic":true}"#);
        assert!(e.is_err());
    }

    #[test]
    fn full_config_parses() {
        let c: RouterConfig = serde_json::from_str(
            r#"{"default_topic":"events","multi_topic":true,
                "type_topics":{"identify":"users"},
                "track_topics":{"Order Completed":"orders"},
                "static_headers":[{"key":"a","value":"b"},{"key":"c","value":[1,2]},{"key":"d"}],
                "message.max.bytes":5000,
                "avro":{"schemas":[{"id":"1","schema":"\"string\""}],"type_schemas":{"page":"1"}}}"#,
        )
        .unwrap();
        assert_eq!(c.type_topics[&EventType::Identify], "users");
        assert_eq!(c.message_max_bytes, 5000);
        assert_eq!(
            c.static_headers[1].value,
            Some(HeaderValue::Bytes(vec![1, 2]))
        );
        assert_eq!(c.static_headers[2].value, None);
        assert_eq!(c.avro.type_schemas[&EventType::Page], "1");
    }
}
