//! Producer configuration, by librdkafka / Java client property names.
//!
//! [`ProducerConfig::from_properties`] takes `(key, value)` pairs as a user
//! would paste them from a librdkafka or Java configuration; unknown keys are
//! refused with an error naming the key. Connection security
//! (`security.protocol`, `sasl.*`, `ssl.*`) is none of this sans-IO
//! producer's business: those keys are unknown here, and a driver reads
//! them itself (`kafka-net`'s `NetConfig` splits a property list between
//! the two).
//!
//! # References
//! - librdkafka `CONFIGURATION.md`
//! - Apache Kafka `ProducerConfig` (Java client)

use std::fmt;
use std::time::Duration;

use kafka_wire::compression::Compressor;
use kafka_wire::record::Compression;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A property this producer does not know.
    #[error("unknown configuration property `{0}`")]
    UnknownKey(String),
    /// A property with a value that cannot be used.
    #[error("invalid value for `{key}`: {reason}")]
    InvalidValue {
        /// The property.
        key: String,
        /// Why (quotes the value: no producer property is secret).
        reason: String,
    },
    /// Properties that contradict each other.
    #[error("conflicting configuration: {0}")]
    Conflict(String),
}

/// Acknowledgements the leader waits for before answering a Produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Acks {
    /// No response at all (`acks=0`).
    None,
    /// The leader's log (`acks=1`).
    Leader,
    /// The full in-sync replica set (`acks=all` / `-1`).
    All,
}

impl Acks {
    /// The wire value.
    pub const fn wire(self) -> i16 {
        match self {
            Self::None => 0,
            Self::Leader => 1,
            Self::All => -1,
        }
    }
}

/// How a partition is chosen for a record without an explicit partition.
///
/// Names are librdkafka's. Whatever the partitioner, a record with a null key
/// goes to the sticky partitioner (KIP-480) except with `random`, as
/// librdkafka's producer path does; `consistent_random` also treats an empty
/// key as no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Partitioner {
    /// Every record to a random partition.
    Random,
    /// `crc32(key) % n` (IEEE CRC-32, as zlib); an empty key hashes to 0.
    Consistent,
    /// Like `Consistent`, but null and empty keys are sticky.
    ConsistentRandom,
    /// Java-compatible `toPositive(murmur2(key)) % n`.
    Murmur2,
    /// Like `Murmur2`; null keys sticky. The default, matching the Java
    /// client's default partitioner.
    Murmur2Random,
    /// Each record to the next partition in turn, ignoring keys (the Java
    /// client's `RoundRobinPartitioner`).
    RoundRobin,
}

impl Partitioner {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "random" => Self::Random,
            "consistent" => Self::Consistent,
            "consistent_random" => Self::ConsistentRandom,
            "murmur2" => Self::Murmur2,
            "murmur2_random" => Self::Murmur2Random,
            "round_robin" => Self::RoundRobin,
            _ => return None,
        })
    }
}

/// A bootstrap broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    /// Host name or IP address (without brackets for IPv6).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// The producer's settings. Build with [`ProducerConfig::default`] and set
/// fields, or with [`ProducerConfig::from_properties`].
#[derive(Clone)]
pub struct ProducerConfig {
    /// `client.id`, sent in every request header. Default `forwarder`.
    pub client_id: String,
    /// `bootstrap.servers`: tried in turn until one answers Metadata.
    pub bootstrap_servers: Vec<BrokerAddr>,
    /// `acks`. Default `all`.
    pub acks: Acks,
    /// `linger.ms`: how long a batch may wait for more records. Default 5 ms.
    pub linger: Duration,
    /// `batch.size`: the largest batch in bytes. Default 1 MiB.
    pub batch_size: usize,
    /// `batch.num.messages`: the most records in a batch. Default 10000.
    pub batch_num_messages: usize,
    /// `buffer.memory`: bytes of records held at most. Default 32 MiB.
    pub buffer_memory: usize,
    /// `message.max.bytes`: the largest Produce request (and so the largest
    /// record). Default 1048588, the broker's default.
    pub message_max_bytes: usize,
    /// `request.timeout.ms`: the broker's ack timeout and the client's wait
    /// for any response. Default 30 s.
    pub request_timeout: Duration,
    /// `delivery.timeout.ms` (alias `message.timeout.ms`): the longest a
    /// record may take from `append` to its outcome. Default 120 s.
    pub delivery_timeout: Duration,
    /// `retry.backoff.ms`: the first retry delay. Default 100 ms.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: the cap of the doubling retry delay. Default 1 s.
    pub retry_backoff_max: Duration,
    /// `metadata.max.age.ms`: periodic metadata refresh. Default 5 min.
    pub metadata_max_age: Duration,
    /// `max.in.flight.requests.per.connection`. Default 5 (at most 5 with
    /// idempotence).
    pub max_in_flight: usize,
    /// `enable.idempotence`. Default on; turned off silently when `acks` is
    /// not `all` and idempotence was not asked for explicitly.
    pub enable_idempotence: bool,
    /// `partitioner`. Default `murmur2_random`.
    pub partitioner: Partitioner,
    /// `compression.type` (alias `compression.codec`): `none`, `gzip`,
    /// `snappy`, `lz4` or `zstd`. Default `none`. Each batch is compressed
    /// once, when it is sealed; `batch.size` and `buffer.memory` count
    /// uncompressed bytes, as librdkafka and the Java client do, while a
    /// Produce request is filled up to `message.max.bytes` by the batches'
    /// compressed sizes. A codec this build lacks (its cargo feature off) is
    /// refused.
    pub compression: Compression,
    /// `compression.level`: the codec's level, or `None` (`-1`) for its
    /// default (gzip 6, zstd 3). gzip takes 0–9, zstd its own range (1–22
    /// and negative fast levels), lz4 0–12 (accepted, no effect: always
    /// LZ4's fast mode); snappy ignores it.
    pub compression_level: Option<i32>,
    /// `allow.auto.create.topics`: ask the broker to create unknown topics
    /// in Metadata requests. Default false (librdkafka's default).
    pub allow_auto_create_topics: bool,
    /// `reconnect.backoff.ms`: the first reconnect delay. Default 100 ms.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`: the cap of the doubling reconnect delay.
    /// Default 10 s.
    pub reconnect_backoff_max: Duration,
    /// Seed for the random and sticky partitioners (no randomness is read
    /// from the system; a driver may seed per worker). Not a property.
    pub rng_seed: u64,
}

impl fmt::Debug for ProducerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProducerConfig")
            .field("client_id", &self.client_id)
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("acks", &self.acks)
            .field("linger", &self.linger)
            .field("batch_size", &self.batch_size)
            .field("batch_num_messages", &self.batch_num_messages)
            .field("buffer_memory", &self.buffer_memory)
            .field("message_max_bytes", &self.message_max_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("delivery_timeout", &self.delivery_timeout)
            .field("retry_backoff", &self.retry_backoff)
            .field("retry_backoff_max", &self.retry_backoff_max)
            .field("metadata_max_age", &self.metadata_max_age)
            .field("max_in_flight", &self.max_in_flight)
            .field("enable_idempotence", &self.enable_idempotence)
            .field("partitioner", &self.partitioner)
            .field("compression", &self.compression)
            .field("compression_level", &self.compression_level)
            .field("allow_auto_create_topics", &self.allow_auto_create_topics)
            .field("reconnect_backoff", &self.reconnect_backoff)
            .field("reconnect_backoff_max", &self.reconnect_backoff_max)
            .finish_non_exhaustive()
    }
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            client_id: "forwarder".to_owned(),
            bootstrap_servers: Vec::new(),
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 1024 * 1024,
            batch_num_messages: 10_000,
            buffer_memory: 32 * 1024 * 1024,
            message_max_bytes: 1_048_588,
            request_timeout: Duration::from_secs(30),
            delivery_timeout: Duration::from_secs(120),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1000),
            metadata_max_age: Duration::from_secs(300),
            max_in_flight: 5,
            enable_idempotence: true,
            partitioner: Partitioner::Murmur2Random,
            compression: Compression::None,
            compression_level: None,
            allow_auto_create_topics: false,
            reconnect_backoff: Duration::from_millis(100),
            reconnect_backoff_max: Duration::from_secs(10),
            rng_seed: 0x5eed_cafe_f00d_d00d,
        }
    }
}

fn invalid(key: &str, value: &str, what: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_owned(),
        reason: format!("`{value}` is not {what}"),
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, value: &str, what: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| invalid(key, value, what))
}

fn parse_ms(key: &str, value: &str) -> Result<Duration, ConfigError> {
    let ms: u64 = parse_num(key, value, "a number of milliseconds")?;
    Ok(Duration::from_millis(ms))
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(invalid(key, value, "`true` or `false`")),
    }
}

fn supported_codecs() -> &'static str {
    if Compression::Zstd.is_supported()
        && Compression::Lz4.is_supported()
        && Compression::Snappy.is_supported()
        && Compression::Gzip.is_supported()
    {
        "one of none, gzip, snappy, lz4, zstd"
    } else {
        "none or a codec this build has (its cargo feature is off)"
    }
}

fn parse_positive(key: &str, value: &str) -> Result<usize, ConfigError> {
    let n: usize = parse_num(key, value, "a positive number")?;
    if n == 0 {
        return Err(invalid(key, value, "a positive number"));
    }
    Ok(n)
}

/// Parses a `bootstrap.servers` list: `host[:port]` entries separated by
/// commas, IPv6 hosts in brackets, an optional `SCHEME://` prefix ignored,
/// port 9092 by default.
pub fn parse_bootstrap(value: &str) -> Result<Vec<BrokerAddr>, ConfigError> {
    let key = "bootstrap.servers";
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let item = item.split_once("://").map_or(item, |(_, rest)| rest);
        let (host, port) = if let Some(rest) = item.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| invalid(key, item, "a `[ipv6]:port` address"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p,
                None if after.is_empty() => "9092",
                None => return Err(invalid(key, item, "a `[ipv6]:port` address")),
            };
            (host, port)
        } else {
            match item.rsplit_once(':') {
                Some((h, p)) => (h, p),
                None => (item, "9092"),
            }
        };
        if host.is_empty() {
            return Err(invalid(key, item, "a `host:port` address"));
        }
        let port: u16 = parse_num(key, port, "a port number")?;
        out.push(BrokerAddr {
            host: host.to_owned(),
            port,
        });
    }
    if out.is_empty() {
        return Err(ConfigError::InvalidValue {
            key: key.to_owned(),
            reason: "no broker address".to_owned(),
        });
    }
    Ok(out)
}

impl ProducerConfig {
    /// Builds a configuration from librdkafka / Java property names. Later
    /// keys override earlier ones. Unknown keys are refused.
    ///
    /// Accepted aliases: `metadata.broker.list`, `queue.buffering.max.ms`,
    /// `message.timeout.ms`, `request.required.acks`, `max.in.flight`,
    /// `queue.buffering.max.kbytes` (in KiB).
    pub fn from_properties<'a, I>(props: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut c = Self::default();
        let mut idempotence_explicit = None;
        let mut acks_explicit = false;
        let mut in_flight_explicit = false;
        for (key, value) in props {
            let key = key.trim();
            match key {
                "client.id" => c.client_id = value.to_owned(),
                "bootstrap.servers" | "metadata.broker.list" => {
                    c.bootstrap_servers = parse_bootstrap(value)?
                }
                "acks" | "request.required.acks" => {
                    acks_explicit = true;
                    c.acks = match value.trim() {
                        "0" => Acks::None,
                        "1" => Acks::Leader,
                        "all" | "-1" => Acks::All,
                        _ => return Err(invalid(key, value, "0, 1, all or -1")),
                    }
                }
                "linger.ms" | "queue.buffering.max.ms" => c.linger = parse_ms(key, value)?,
                "batch.size" => c.batch_size = parse_positive(key, value)?,
                "batch.num.messages" => c.batch_num_messages = parse_positive(key, value)?,
                "buffer.memory" => c.buffer_memory = parse_positive(key, value)?,
                "queue.buffering.max.kbytes" => {
                    c.buffer_memory = parse_positive(key, value)?.saturating_mul(1024)
                }
                "message.max.bytes" => c.message_max_bytes = parse_positive(key, value)?,
                "request.timeout.ms" => c.request_timeout = parse_ms(key, value)?,
                "delivery.timeout.ms" | "message.timeout.ms" => {
                    c.delivery_timeout = parse_ms(key, value)?
                }
                "retry.backoff.ms" => c.retry_backoff = parse_ms(key, value)?,
                "retry.backoff.max.ms" => c.retry_backoff_max = parse_ms(key, value)?,
                "metadata.max.age.ms" => c.metadata_max_age = parse_ms(key, value)?,
                "max.in.flight.requests.per.connection" | "max.in.flight" => {
                    in_flight_explicit = true;
                    c.max_in_flight = parse_positive(key, value)?
                }
                "enable.idempotence" => {
                    let on = parse_bool(key, value)?;
                    idempotence_explicit = Some(on);
                    c.enable_idempotence = on;
                }
                "partitioner" => {
                    c.partitioner = Partitioner::parse(value.trim()).ok_or_else(|| {
                        invalid(
                            key,
                            value,
                            "one of random, consistent, consistent_random, murmur2, \
                             murmur2_random, round_robin",
                        )
                    })?
                }
                "compression.type" | "compression.codec" => {
                    c.compression = Compression::from_name(value.trim())
                        .filter(|c| c.is_supported())
                        .ok_or_else(|| invalid(key, value, supported_codecs()))?
                }
                "compression.level" => {
                    let level: i32 = parse_num(key, value, "a compression level")?;
                    c.compression_level = (level != -1).then_some(level);
                }
                "allow.auto.create.topics" => c.allow_auto_create_topics = parse_bool(key, value)?,
                "reconnect.backoff.ms" => c.reconnect_backoff = parse_ms(key, value)?,
                "reconnect.backoff.max.ms" => c.reconnect_backoff_max = parse_ms(key, value)?,
                other => return Err(ConfigError::UnknownKey(other.to_owned())),
            }
        }
        if idempotence_explicit.is_none() {
            // As the Java client: idempotence is the default unless settings
            // the user chose explicitly cannot carry it.
            if (acks_explicit && c.acks != Acks::All) || (in_flight_explicit && c.max_in_flight > 5)
            {
                c.enable_idempotence = false;
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the settings against each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.bootstrap_servers.is_empty() {
            return Err(ConfigError::InvalidValue {
                key: "bootstrap.servers".to_owned(),
                reason: "no broker address".to_owned(),
            });
        }
        if self.enable_idempotence {
            if self.acks != Acks::All {
                return Err(ConfigError::Conflict(
                    "enable.idempotence=true requires acks=all".to_owned(),
                ));
            }
            if self.max_in_flight > 5 {
                return Err(ConfigError::Conflict(
                    "enable.idempotence=true requires max.in.flight.requests.per.connection <= 5"
                        .to_owned(),
                ));
            }
        }
        if self.max_in_flight == 0 || self.batch_size == 0 || self.batch_num_messages == 0 {
            return Err(ConfigError::Conflict(
                "max.in.flight, batch.size and batch.num.messages must be positive".to_owned(),
            ));
        }
        if self.message_max_bytes < 1024 {
            return Err(ConfigError::InvalidValue {
                key: "message.max.bytes".to_owned(),
                reason: "must be at least 1024".to_owned(),
            });
        }
        if self.retry_backoff_max < self.retry_backoff {
            return Err(ConfigError::Conflict(
                "retry.backoff.max.ms must not be below retry.backoff.ms".to_owned(),
            ));
        }
        if self.reconnect_backoff_max < self.reconnect_backoff {
            return Err(ConfigError::Conflict(
                "reconnect.backoff.max.ms must not be below reconnect.backoff.ms".to_owned(),
            ));
        }
        if let Err(e) = Compressor::new(self.compression, self.compression_level) {
            let key = match e {
                kafka_wire::compression::CompressionError::InvalidLevel { .. } => {
                    "compression.level"
                }
                _ => "compression.type",
            };
            return Err(ConfigError::InvalidValue {
                key: key.to_owned(),
                reason: e.to_string(),
            });
        }
        if self.request_timeout.is_zero() || self.delivery_timeout.is_zero() {
            return Err(ConfigError::Conflict(
                "request.timeout.ms and delivery.timeout.ms must be positive".to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_typed_values() {
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1, PLAINTEXT://b:2,[::1]:3,c"),
            ("linger.ms", "0"),
            ("acks", "-1"),
            ("partitioner", "consistent_random"),
            ("batch.num.messages", "7"),
        ])
        .unwrap();
        let hosts: Vec<_> = c
            .bootstrap_servers
            .iter()
            .map(|b| (b.host.as_str(), b.port))
            .collect();
        assert_eq!(hosts, [("a", 1), ("b", 2), ("::1", 3), ("c", 9092)]);
        assert_eq!(c.linger, Duration::ZERO);
        assert_eq!(c.acks, Acks::All);
        assert!(c.enable_idempotence);
        assert_eq!(c.partitioner, Partitioner::ConsistentRandom);
        assert_eq!(c.batch_num_messages, 7);
        assert_eq!(c.batch_size, 1 << 20);
        assert_eq!(c.max_in_flight, 5);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = ProducerConfig::from_properties([("bootstrap.servers", "a:1"), ("lingr.ms", "5")])
            .unwrap_err();
        assert_eq!(e, ConfigError::UnknownKey("lingr.ms".into()));
        assert!(e.to_string().contains("lingr.ms"));
    }

    #[test]
    fn idempotence_conflicts() {
        // Explicit idempotence with acks=1 is refused.
        assert!(matches!(
            ProducerConfig::from_properties([
                ("bootstrap.servers", "a:1"),
                ("enable.idempotence", "true"),
                ("acks", "1"),
            ]),
            Err(ConfigError::Conflict(_))
        ));
        // Default idempotence gives way to an explicit acks=1.
        let c =
            ProducerConfig::from_properties([("bootstrap.servers", "a:1"), ("acks", "1")]).unwrap();
        assert!(!c.enable_idempotence);
        assert!(ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("enable.idempotence", "true"),
            ("max.in.flight.requests.per.connection", "6"),
        ])
        .is_err());
    }

    #[test]
    fn security_properties_are_not_the_producer_s() {
        for key in ["security.protocol", "sasl.password", "ssl.ca.location"] {
            let e = ProducerConfig::from_properties([("bootstrap.servers", "a:1"), (key, "v")])
                .unwrap_err();
            assert_eq!(e, ConfigError::UnknownKey(key.into()));
        }
    }

    #[test]
    #[cfg(feature = "compression")]
    fn compression_settings() {
        let c = ProducerConfig::from_properties([("bootstrap.servers", "a:1")]).unwrap();
        assert_eq!(c.compression, Compression::None);
        assert_eq!(c.compression_level, None);
        for (name, codec) in [
            ("none", Compression::None),
            ("gzip", Compression::Gzip),
            ("snappy", Compression::Snappy),
            ("LZ4", Compression::Lz4),
            ("zstd", Compression::Zstd),
        ] {
            let c = ProducerConfig::from_properties([
                ("bootstrap.servers", "a:1"),
                ("compression.type", name),
            ])
            .unwrap();
            assert_eq!(c.compression, codec, "{name}");
        }
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("compression.codec", "gzip"),
            ("compression.level", "9"),
        ])
        .unwrap();
        assert_eq!(
            (c.compression, c.compression_level),
            (Compression::Gzip, Some(9))
        );
        let c = ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("compression.type", "zstd"),
            ("compression.level", "-1"),
        ])
        .unwrap();
        assert_eq!(c.compression_level, None);
        for (codec, level) in [("gzip", "10"), ("lz4", "13"), ("zstd", "23"), ("gzip", "x")] {
            let e = ProducerConfig::from_properties([
                ("bootstrap.servers", "a:1"),
                ("compression.type", codec),
                ("compression.level", level),
            ])
            .unwrap_err();
            assert!(
                matches!(&e, ConfigError::InvalidValue { key, .. } if key == "compression.level"),
                "{codec} {level}: {e}"
            );
        }
        // Snappy has no levels: any is ignored, as in librdkafka.
        assert!(ProducerConfig::from_properties([
            ("bootstrap.servers", "a:1"),
            ("compression.type", "snappy"),
            ("compression.level", "5"),
        ])
        .is_ok());
    }

    #[test]
    fn bad_values_are_refused() {
        for (k, v) in [
            ("acks", "2"),
            ("linger.ms", "-1"),
            ("batch.size", "0"),
            ("enable.idempotence", "yes"),
            ("partitioner", "fnv"),
            ("compression.type", "brotli"),
            ("compression.type", "producer"),
            ("bootstrap.servers", "host:notaport"),
            ("bootstrap.servers", " , "),
        ] {
            let r = ProducerConfig::from_properties([("bootstrap.servers", "a:1"), (k, v)]);
            assert!(r.is_err(), "{k}={v}");
        }
        assert!(ProducerConfig::from_properties([("linger.ms", "1")]).is_err());
    }
}
