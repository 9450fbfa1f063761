//! The configuration file (TOML), its embedded defaults and the
//! environment overrides.
//!
//! ```toml
//! workers = 0                 # 0: one per core
//! batch_mode = "events"       # or "batch"
//!
//! [log]
//! format = "text"             # or "json"
//! level = "info"
//!
//! [ingest]
//! listen = "127.0.0.1:8080"
//! write_keys = [{ key = "KEY", source = "web" }]
//!
//! [kafka]                     # librdkafka property names
//! "bootstrap.servers" = "localhost:9092"
//!
//! [router]                    # event_router::RouterConfig
//! default_topic = "events"
//! ```
//!
//! Every table refuses unknown keys. `FORWARDER_KAFKA__<NAME>` sets the
//! Kafka property whose dots are the name's underscores, lower-cased
//! (`FORWARDER_KAFKA__SASL_PASSWORD` is `sasl.password`);
//! `FORWARDER_INGEST__WRITE_KEYS` replaces the write keys (comma
//! separated). Any other `FORWARDER_*` variable is an error.
//!
//! # Secrets
//!
//! Secret Kafka properties ([`kafka_net::is_secret_key`]: `sasl.password`,
//! `ssl.key.pem`, ...) are held as [`Secret`]s (redacted in `Debug` and
//! `Display`, wiped on drop) from the moment the file is parsed or the
//! variable read: the `String` the TOML parser or the environment gave is
//! moved into the `Secret`, not copied, and the file's text is wiped once
//! parsed. A TOML error in a file that defines a secret property gives
//! the position and the message but not the line (toml would quote it).
//! What is out of reach: copies the TOML parser makes while it parses
//! (for example of a string with escapes, or of the whole text inside a
//! parse error) are freed without being wiped, and the process
//! environment keeps `FORWARDER_KAFKA__*` values for the life of the
//! process (prefer the file, readable by the service user only).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use event_router::{Router, RouterConfig};
use ingest_http::{HttpConfig, WriteKey};
use kafka_net::security::Connector;
use kafka_net::{is_secret_key, NetConfig, Secret};
use serde::Deserialize;
use zeroize::Zeroize;

/// The configuration used when no file is given.
pub const DEFAULT_CONFIG: &str = r#"# Embedded defaults: loopback only, a local broker, one topic.
[ingest]
listen = "127.0.0.1:8080"
write_keys = [{ key = "dev" }]

[kafka]
"bootstrap.servers" = "localhost:9092"

[router]
default_topic = "events"
"#;

/// Prefix of the environment variables read as overrides.
pub const ENV_PREFIX: &str = "FORWARDER_";

/// A configuration problem, naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed, or a key is unknown or has the wrong type.
    /// Shows the line at fault, unless the file holds a secret property
    /// (then only the position and the message: the line could be the
    /// secret's).
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A key has a value that cannot be used.
    #[error("{key}: {message}")]
    Invalid {
        /// The key, as `table.key`.
        key: String,
        /// Why.
        message: String,
    },
}

fn invalid(key: impl Into<String>, message: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.to_string(),
    }
}

/// How `/v1/batch` bodies become records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchMode {
    /// One record per event.
    #[default]
    Events,
    /// One record per `/v1/batch` body (mParticle's "send as batch"),
    /// keyed by its first `userId` / `anonymousId`.
    Batch,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    #[serde(default)]
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `forwarder=debug,info`). Default `info`;
    /// `RUST_LOG` wins when set.
    #[serde(default = "default_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: default_level(),
        }
    }
}

/// One `[[ingest.write_keys]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteKeyConfig {
    /// The write key (the Basic-auth user name the SDKs send).
    pub key: String,
    /// Source name added as a header to this key's records; wins over
    /// `router.source_name`.
    #[serde(default)]
    pub source: Option<String>,
}

/// `[ingest]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Listen address. Default `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Listen backlog of each worker's socket. Default 1024.
    #[serde(default = "default_backlog")]
    pub backlog: i32,
    /// Accepted write keys. Required (at least one).
    #[serde(default)]
    pub write_keys: Vec<WriteKeyConfig>,
    /// Largest request body, before and after gunzip. Default 512000.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// Largest single event. Default 32768.
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// Largest request head. Default 16384.
    #[serde(default = "default_max_head_bytes")]
    pub max_head_bytes: usize,
    /// Requests of one connection awaiting a response. Default 16.
    #[serde(default = "default_max_pipelined")]
    pub max_pipelined: usize,
    /// `Retry-After` of a 503, in seconds. Default 1.
    #[serde(default = "default_retry_after_secs")]
    pub retry_after_secs: u64,
    /// Idle keep-alive connections are closed after this. Default 60.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// A request whose records are not all settled after this many
    /// milliseconds is answered 503 (its records may still be written).
    /// Default 10000.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// `GET /ready` answers 503 once records have waited this many
    /// milliseconds with none persisted, until a record is persisted or
    /// the brokers answer again. Default 30000.
    #[serde(default = "default_ready_stall_ms")]
    pub ready_stall_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            listen: default_listen(),
            backlog: default_backlog(),
            write_keys: Vec::new(),
            max_request_bytes: default_max_request_bytes(),
            max_event_bytes: default_max_event_bytes(),
            max_head_bytes: default_max_head_bytes(),
            max_pipelined: default_max_pipelined(),
            retry_after_secs: default_retry_after_secs(),
            idle_timeout_secs: default_idle_timeout_secs(),
            request_timeout_ms: default_request_timeout_ms(),
            ready_stall_ms: default_ready_stall_ms(),
        }
    }
}

/// A Kafka property value as TOML writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    /// `"text"`.
    Text(String),
    /// `5`.
    Int(i64),
    /// `true`.
    Bool(bool),
    /// `1.5`.
    Float(f64),
    /// The text of a secret property ([`kafka_net::is_secret_key`]): a
    /// `Text` becomes this as soon as it is read.
    #[serde(skip_deserializing)]
    Secret(Secret),
}

impl PropertyValue {
    /// The value as a property string. A secret's is exposed: hand it to
    /// the producer's configuration only.
    fn as_property(&self) -> Cow<'_, str> {
        match self {
            PropertyValue::Text(s) => Cow::Borrowed(s),
            // Made from a `String`: UTF-8.
            PropertyValue::Secret(s) => Cow::Borrowed(s.expose_str().unwrap_or_default()),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// `value` as the property `key` holds it: a secret key's text moves
    /// into a [`Secret`] (no copy).
    fn text(key: &str, value: String) -> PropertyValue {
        if is_secret_key(key) {
            PropertyValue::Secret(Secret::from(value))
        } else {
            PropertyValue::Text(value)
        }
    }
}

/// Secrets print as `[redacted]`.
impl fmt::Display for PropertyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyValue::Text(s) => f.write_str(s),
            PropertyValue::Int(i) => write!(f, "{i}"),
            PropertyValue::Bool(b) => write!(f, "{b}"),
            PropertyValue::Float(x) => write!(f, "{x}"),
            PropertyValue::Secret(s) => write!(f, "{s}"),
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Worker threads; 0 (default) is one per core.
    #[serde(default)]
    pub workers: usize,
    /// `events` (default) or `batch`.
    #[serde(default)]
    pub batch_mode: BatchMode,
    /// Seconds a shutdown may take to drain before the process exits
    /// anyway. Default 30.
    #[serde(default = "default_shutdown_timeout_secs")]
    pub shutdown_timeout_secs: u64,
    /// `[log]`.
    #[serde(default)]
    pub log: LogConfig,
    /// `[ingest]`.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// `[kafka]`: librdkafka property names, plus `io.engine`. Secret
    /// properties are held as [`PropertyValue::Secret`].
    #[serde(default)]
    pub kafka: BTreeMap<String, PropertyValue>,
    /// `[router]`. Once checked, its `source_name` has moved to the write
    /// keys without a `source` of their own ([`Settings::http`]).
    pub router: RouterConfig,
}

/// A checked configuration, ready for the workers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file as parsed (Kafka secrets as [`Secret`]s).
    pub config: Config,
    /// The listen address.
    pub listen: SocketAddr,
    /// The HTTP front end's settings.
    pub http: HttpConfig,
    /// The producer's settings.
    pub net: NetConfig,
    /// Worker count, resolved.
    pub workers: usize,
    /// The Kafka properties set by environment variables, with the
    /// variable of each: errors about them name it.
    env_properties: BTreeMap<String, String>,
}

impl Settings {
    /// Parses and checks `text`, then applies the overrides in `env`.
    pub fn from_toml<I>(text: &str, env: I) -> Result<Settings, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut config: Config = toml::from_str(text).map_err(|e| without_source_line(e, text))?;
        for (key, value) in config.kafka.iter_mut() {
            if let PropertyValue::Text(s) = value {
                if is_secret_key(key) {
                    *value = PropertyValue::text(key, std::mem::take(s));
                }
            }
        }
        let env_properties = apply_env(&mut config, env)?;
        Settings::check(config, env_properties)
    }

    /// Reads `path` (or the embedded defaults when `None`) and the
    /// process environment. The file's text is wiped once parsed: it
    /// holds the secrets as written.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
            None => DEFAULT_CONFIG.to_owned(),
        };
        let settings = Settings::from_toml(&text, std::env::vars());
        text.zeroize();
        settings
    }

    fn check(
        mut config: Config,
        env_properties: BTreeMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        let listen: SocketAddr = config
            .ingest
            .listen
            .parse()
            .map_err(|e| invalid("ingest.listen", format!("{e} (want IP:PORT)")))?;
        if config.ingest.write_keys.is_empty() {
            return Err(invalid(
                "ingest.write_keys",
                "at least one write key is required",
            ));
        }
        if config.ingest.write_keys.iter().any(|k| k.key.is_empty()) {
            return Err(invalid("ingest.write_keys", "a write key is empty"));
        }
        for (key, v) in [
            ("ingest.max_request_bytes", config.ingest.max_request_bytes),
            ("ingest.max_event_bytes", config.ingest.max_event_bytes),
            ("ingest.max_head_bytes", config.ingest.max_head_bytes),
            ("ingest.max_pipelined", config.ingest.max_pipelined),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be positive"));
            }
        }
        if config.ingest.backlog <= 0 {
            return Err(invalid("ingest.backlog", "must be positive"));
        }
        if config.ingest.ready_stall_ms == 0 {
            return Err(invalid("ingest.ready_stall_ms", "must be positive"));
        }
        if config.ingest.request_timeout_ms == 0 {
            return Err(invalid("ingest.request_timeout_ms", "must be positive"));
        }
        // One source header per record: a write key's own `source` wins
        // over `router.source_name`, which becomes the source of the keys
        // without one (and the router adds none of its own).
        let source_name = config.router.source_name.take();
        let mut http = HttpConfig::new(config.ingest.write_keys.iter().map(|k| {
            match k.source.as_ref().or(source_name.as_ref()) {
                Some(s) => WriteKey::with_source(k.key.clone(), s.clone()),
                None => WriteKey::new(k.key.clone()),
            }
        }));
        http.max_request_bytes = config.ingest.max_request_bytes;
        http.max_event_bytes = config.ingest.max_event_bytes;
        http.max_head_bytes = config.ingest.max_head_bytes;
        http.max_pipelined = config.ingest.max_pipelined;
        http.retry_after = Duration::from_secs(config.ingest.retry_after_secs.max(1));

        // Borrowed, not copied: the producer's configuration makes its own
        // `Secret`s of the secret ones.
        let props: Vec<(&str, Cow<'_, str>)> = config
            .kafka
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_property()))
            .collect();
        if !props
            .iter()
            .any(|(k, _)| *k == "bootstrap.servers" || *k == "metadata.broker.list")
        {
            return Err(invalid("kafka.bootstrap.servers", "is required"));
        }
        let net = NetConfig::from_properties(props.iter().map(|(k, v)| (*k, v.as_ref())))
            .map_err(|e| kafka_error(&e, &env_properties))?;
        drop(props);
        // The router checks its own settings (topics, Avro schemas).
        Router::new(&config.router, 0).map_err(|e| invalid("router", e))?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
            return Err(invalid("log.level", e));
        }
        let workers = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok(Settings {
            listen,
            http,
            net,
            workers,
            config,
            env_properties,
        })
    }

    /// Reads and parses the files the `ssl.*` properties name (CA,
    /// certificate, key) as each worker's producer does when it starts, so
    /// that a missing or bad file is reported with its property and path
    /// before anything starts.
    pub fn check_security_files(&self) -> Result<(), ConfigError> {
        Connector::new(&self.net.security, &self.net.producer.client_id)
            .map(drop)
            .map_err(|e| kafka_error(&kafka_net::Error::Security(e), &self.env_properties))
    }

    /// `Retry-After` for 503s.
    pub fn retry_after(&self) -> Duration {
        self.http.retry_after
    }

    /// A one-line summary that carries no secret.
    pub fn summary(&self) -> String {
        let bootstrap = self
            .config
            .kafka
            .get("bootstrap.servers")
            .or_else(|| self.config.kafka.get("metadata.broker.list"))
            .map(ToString::to_string)
            .unwrap_or_default();
        let protocol = self
            .config
            .kafka
            .get("security.protocol")
            .map_or_else(|| "plaintext".to_owned(), ToString::to_string);
        format!(
            "listen={} workers={} bootstrap.servers={} security.protocol={} default_topic={} \
             batch_mode={:?} write_keys={}",
            self.listen,
            self.workers,
            bootstrap,
            protocol,
            self.config.router.default_topic,
            self.config.batch_mode,
            self.http.key_count(),
        )
    }
}

/// `e`, without the line of `text` it would quote when `text` defines a
/// secret property (a line of a secret, or of a multi-line key PEM, must
/// not reach the terminal or the journal); the position and the message
/// stay.
fn without_source_line(e: toml::de::Error, text: &str) -> ConfigError {
    let defines_secret = text.lines().any(|line| {
        line.split_once('=').is_some_and(|(key, _)| {
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            is_secret_key(key)
        })
    });
    let Some(span) = e.span().filter(|_| defines_secret) else {
        return ConfigError::Toml(e);
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    let message = format!(
        "TOML parse error at line {line}, column {column} (line not shown: the file holds \
         secrets)\n{}",
        e.message()
    );
    ConfigError::Toml(<toml::de::Error as serde::de::Error>::custom(message))
}

/// A `[kafka]` error, naming the environment variable that set the
/// property at fault when one did.
fn kafka_error(e: &kafka_net::Error, env_properties: &BTreeMap<String, String>) -> ConfigError {
    match property_of(e).and_then(|key| env_properties.get(key)) {
        Some(var) => invalid("kafka", format!("{e} (from environment variable {var})")),
        None => invalid("kafka", e),
    }
}

/// The Kafka property a driver error is about, when it names one.
fn property_of(e: &kafka_net::Error) -> Option<&str> {
    use kafka_net::security::{SecurityConfigError as Sec, SecurityError, TlsError};
    use kafka_producer::ConfigError as Producer;
    match e {
        kafka_net::Error::Config(
            Producer::UnknownKey(key) | Producer::InvalidValue { key, .. },
        ) => Some(key),
        kafka_net::Error::InvalidEngine(_) => Some("io.engine"),
        kafka_net::Error::Security(SecurityError::Config(
            Sec::UnknownKey { key, .. }
            | Sec::InvalidValue { key, .. }
            | Sec::Missing { key, .. }
            | Sec::Conflict { key, .. },
        )) => Some(key),
        kafka_net::Error::Security(SecurityError::Tls(
            TlsError::Read { key, .. } | TlsError::Pem { key, .. },
        )) => Some(key),
        _ => None,
    }
}

/// Applies `FORWARDER_*` overrides. Returns the Kafka properties they set,
/// with the variable of each.
fn apply_env<I>(config: &mut Config, env: I) -> Result<BTreeMap<String, String>, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut properties = BTreeMap::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if let Some(prop) = rest.strip_prefix("KAFKA__") {
            if prop.is_empty() {
                return Err(invalid(name, "names no Kafka property"));
            }
            let key = prop.to_ascii_lowercase().replace('_', ".");
            // A secret's `String` moves into its `Secret`.
            let value = PropertyValue::text(&key, value);
            config.kafka.insert(key.clone(), value);
            properties.insert(key, name);
        } else if rest == "INGEST__WRITE_KEYS" {
            config.ingest.write_keys = value
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| WriteKeyConfig {
                    key: k.to_owned(),
                    source: None,
                })
                .collect();
        } else {
            return Err(invalid(
                name,
                "unknown override (FORWARDER_KAFKA__<PROPERTY> or FORWARDER_INGEST__WRITE_KEYS)",
            ));
        }
    }
    Ok(properties)
}

fn default_level() -> String {
    "info".to_owned()
}
fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}
fn default_backlog() -> i32 {
    1024
}
fn default_max_request_bytes() -> usize {
    ingest_http::DEFAULT_MAX_REQUEST_BYTES
}
fn default_max_event_bytes() -> usize {
    ingest_http::DEFAULT_MAX_EVENT_BYTES
}
fn default_max_head_bytes() -> usize {
    ingest_http::DEFAULT_MAX_HEAD_BYTES
}
fn default_max_pipelined() -> usize {
    ingest_http::DEFAULT_MAX_PIPELINED
}
fn default_retry_after_secs() -> u64 {
    1
}
fn default_idle_timeout_secs() -> u64 {
    60
}
fn default_request_timeout_ms() -> u64 {
    10_000
}
fn default_ready_stall_ms() -> u64 {
    30_000
}
fn default_shutdown_timeout_secs() -> u64 {
    30
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_toml(
            text,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn embedded_defaults_load() {
        let s = load(DEFAULT_CONFIG, &[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.config.router.default_topic, "events");
        assert_eq!(s.config.batch_mode, BatchMode::Events);
        assert!(s.workers >= 1);
        assert_eq!(s.http.key_count(), 1);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = load(
            "[ingest]\nlisten='127.0.0.1:1'\nwrite_keys=[{key='k'}]\nlisten_typo=1\n\
             [kafka]\n'bootstrap.servers'='h:1'\n[router]\ndefault_topic='e'\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("listen_typo"), "{e}");
        let e = load(
            "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
             'lingr.ms'=5\n[router]\ndefault_topic='e'\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("lingr.ms"), "{e}");
        let e = load(
            "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
             [router]\ndefault_topic='e'\nmutli_topic=true\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("mutli_topic"), "{e}");
        let e = load(DEFAULT_CONFIG, &[("FORWARDER_NOPE", "1")]).unwrap_err();
        assert!(e.to_string().contains("FORWARDER_NOPE"), "{e}");
    }

    #[test]
    fn invalid_values_are_named() {
        let e = load(
            "batch_mode='bulk'\n[ingest]\nwrite_keys=[{key='k'}]\n\
             [kafka]\n'bootstrap.servers'='h:1'\n[router]\ndefault_topic='e'\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("batch_mode"), "{e}");
        let e = load(
            "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\nacks='2'\n\
             [router]\ndefault_topic='e'\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("acks"), "{e}");
        let e = load(
            "[ingest]\nlisten='nowhere'\nwrite_keys=[{key='k'}]\n\
             [kafka]\n'bootstrap.servers'='h:1'\n[router]\ndefault_topic='e'\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("ingest.listen"), "{e}");
        let e = load(
            "[kafka]\n'bootstrap.servers'='h:1'\n[router]\ndefault_topic='e'\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("ingest.write_keys"), "{e}");
    }

    #[test]
    fn environment_overrides_kafka_properties_and_write_keys() {
        let s = load(
            DEFAULT_CONFIG,
            &[
                ("FORWARDER_KAFKA__LINGER_MS", "9"),
                ("FORWARDER_INGEST__WRITE_KEYS", "a, b"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(s.net.producer.linger, Duration::from_millis(9));
        assert_eq!(s.http.key_count(), 2);
        assert!(matches!(
            s.config.kafka.get("linger.ms"),
            Some(PropertyValue::Text(v)) if v == "9"
        ));
    }

    #[test]
    fn errors_about_environment_overrides_name_the_variable() {
        let e = load(DEFAULT_CONFIG, &[("FORWARDER_KAFKA__LINGR_MS", "5")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kafka: unknown configuration property `lingr.ms` \
             (from environment variable FORWARDER_KAFKA__LINGR_MS)"
        );
        for (var, value) in [
            ("FORWARDER_KAFKA__ACKS", "2"),
            ("FORWARDER_KAFKA__IO_ENGINE", "kqueue"),
            ("FORWARDER_KAFKA__SECURITY_PROTOCOL", "tls"),
            ("FORWARDER_KAFKA__SASL_MECHANISM", "GSSAPI"),
        ] {
            let e = load(DEFAULT_CONFIG, &[(var, value)])
                .unwrap_err()
                .to_string();
            assert!(
                e.ends_with(&format!("(from environment variable {var})")),
                "{e}"
            );
        }
        // The file's own mistakes name no variable, even with overrides set.
        let e = load(
            "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
             'lingr.ms'=5\n[router]\ndefault_topic='e'\n",
            &[("FORWARDER_KAFKA__LINGER_MS", "5")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("lingr.ms"), "{e}");
        assert!(!e.contains("environment"), "{e}");
        // Files named by an override: the variable and the path.
        let s = load(
            DEFAULT_CONFIG,
            &[
                ("FORWARDER_KAFKA__SECURITY_PROTOCOL", "ssl"),
                ("FORWARDER_KAFKA__SSL_CA_LOCATION", "/nonexistent/ca.pem"),
            ],
        )
        .unwrap();
        let e = s.check_security_files().unwrap_err().to_string();
        assert!(e.contains("`ssl.ca.location`"), "{e}");
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        assert!(
            e.ends_with("(from environment variable FORWARDER_KAFKA__SSL_CA_LOCATION)"),
            "{e}"
        );
    }

    /// A record carries one `source` header: the write key's own source,
    /// else `router.source_name`.
    #[test]
    fn a_write_keys_source_wins_over_source_name() {
        let s = load(
            "[ingest]\nwrite_keys=[{key='web-key',source='web'},{key='other'}]\n\
             [kafka]\n'bootstrap.servers'='h:1'\n\
             [router]\ndefault_topic='e'\nsource_name='backend'\n",
            &[],
        )
        .unwrap();
        let source = |key: &[u8]| s.http.lookup(key).cloned().flatten();
        assert_eq!(source(b"web-key").as_deref(), Some("web"));
        assert_eq!(source(b"other").as_deref(), Some("backend"));
        // The router the workers build adds no source header of its own
        // (the sink adds the key's).
        let mut router = Router::new(&s.config.router, 1).unwrap();
        let mut out = event_router::Routed::new();
        router.route(
            bytes::Bytes::from_static(br#"{"type":"track","event":"E","userId":"u"}"#),
            std::time::SystemTime::now(),
            &mut out,
        );
        let record = out.record(0).unwrap();
        assert!(!record.is_dead_letter());
        assert_eq!(record.headers().filter(|(k, _)| *k == b"source").count(), 0);
        // Keys from the environment have no source of their own.
        let s = load(
            "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
             [router]\ndefault_topic='e'\nsource_name='backend'\n",
            &[("FORWARDER_INGEST__WRITE_KEYS", "a,b")],
        )
        .unwrap();
        assert_eq!(
            s.http.lookup(b"a").cloned().flatten().as_deref(),
            Some("backend")
        );
    }

    /// A config with a password and a private key in it.
    const SECRET_CONFIG: &str =
        "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
        'security.protocol'='sasl_ssl'\n'sasl.mechanism'='PLAIN'\n\
        'sasl.username'='u'\n'sasl.password'='toml-password'\n\
        'ssl.key.pem'='-----BEGIN PRIVATE KEY-----toml-key'\n\
        'ssl.certificate.pem'='cert'\n[router]\ndefault_topic='e'\n";

    #[test]
    fn secrets_are_held_as_secrets_and_never_printed() {
        let s = load(
            SECRET_CONFIG,
            &[("FORWARDER_KAFKA__SSL_KEY_PASSWORD", "env-key-password")],
        );
        // ssl.key.password is refused by the driver (encrypted keys are
        // not supported); the error names the key, not the value.
        let e = s.unwrap_err().to_string();
        assert!(e.contains("ssl.key.password"), "{e}");
        assert!(!e.contains("env-key-password"), "{e}");

        let s = load(
            SECRET_CONFIG,
            &[("FORWARDER_KAFKA__SASL_PASSWORD", "env-password")],
        )
        .unwrap();
        // The environment wins, and both sources end up as `Secret`s.
        for key in ["sasl.password", "ssl.key.pem"] {
            assert!(
                matches!(s.config.kafka.get(key), Some(PropertyValue::Secret(_))),
                "{key}: {:?}",
                s.config.kafka.get(key)
            );
        }
        // Parsed once, into the typed security settings.
        assert_eq!(
            s.net.security.sasl.as_ref().map(|s| s.password.expose()),
            Some(&b"env-password"[..])
        );
        assert!(matches!(
            &s.net.security.tls.key,
            Some(kafka_net::security::config::PemSource::Inline(_))
        ));
        let text = format!(
            "{s:?} {s:#?} {} {}",
            s.summary(),
            s.config.kafka["sasl.password"]
        );
        for secret in ["toml-password", "env-password", "toml-key"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("[redacted]"), "{text}");
    }

    /// The variables docs/configuration.md gives as examples of
    /// `FORWARDER_KAFKA__<NAME>` set properties the forwarder accepts.
    #[test]
    fn documented_environment_overrides_are_accepted() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/configuration.md"
        ))
        .unwrap();
        let row = doc
            .lines()
            .find(|l| l.starts_with("| `FORWARDER_KAFKA__<NAME>`"))
            .unwrap();
        let vars: Vec<&str> = row
            .split('`')
            .filter(|w| w.starts_with("FORWARDER_KAFKA__") && !w.contains('<'))
            .collect();
        assert!(vars.len() >= 2, "{row}");
        for var in vars {
            let s = load(SECRET_CONFIG, &[(var, "-----BEGIN PRIVATE KEY-----x")]);
            assert!(s.is_ok(), "{var}: {:?}", s.err());
        }
    }

    #[test]
    fn toml_errors_quote_no_line_of_a_file_with_secrets() {
        let text = "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
                    'sasl.password'='hunter2\n[router]\ndefault_topic='e'\n";
        let e = load(text, &[]).unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("line 5"), "{e}");
        // Without secrets the line is quoted, as toml does.
        let text = "[ingest]\nwrite_keys=[{key='k'}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
                    'linger.ms'='5\n[router]\ndefault_topic='e'\n";
        let e = load(text, &[]).unwrap_err().to_string();
        assert!(e.contains("'linger.ms'='5"), "{e}");
    }

    #[test]
    fn summary_carries_no_secret() {
        let s = load(
            "[ingest]\nwrite_keys=[{key='hush-key'}]\n[kafka]\n'bootstrap.servers'='h:1'\n\
             'security.protocol'='sasl_plaintext'\n'sasl.mechanism'='SCRAM-SHA-256'\n\
             'sasl.username'='u'\n'sasl.allow.plaintext'=true\n[router]\ndefault_topic='e'\n",
            &[("FORWARDER_KAFKA__SASL_PASSWORD", "hush-password")],
        )
        .unwrap();
        let text = s.summary();
        assert!(!text.contains("hush"), "{text}");
        assert!(text.contains("sasl_plaintext"));
    }
}
