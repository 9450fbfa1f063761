//! Drivers around the sans-IO producer of `kafka-producer`: sockets, the
//! clock and wake-ups, and nothing else.
//!
//! [`Producer`] is the handle an application uses: [`Producer::send`]
//! appends a record and returns a [`Delivery`] future that resolves to the
//! record's [`Outcome`]; [`Producer::flush`] waits until every record sent
//! so far has an outcome; [`Producer::close`] flushes and shuts the
//! connections down. Behind the handle a task runs the state machine's
//! call order (`handle_*` in, `poll_*` out) and one task per broker
//! connection reads and writes frames.
//!
//! # Engines
//!
//! Two socket engines share that driver; they differ only in how a
//! connection reads and writes:
//!
//! - [`Engine::IoUring`] (Linux, via `tokio-uring`): owned buffers, each
//!   request written with `writev` straight from the sealed batch `Bytes`
//!   (never copied into a staging buffer), responses read into a
//!   `BytesMut`.
//! - [`Engine::Epoll`] (via `tokio`, readiness based): `write_vectored`
//!   over the same chunks, reads into a `BytesMut`.
//!
//! Pick one with [`EngineChoice`]: `auto` (the default) probes io_uring
//! once ([`io_uring_available`]: `io_uring_setup` and a no-op submitted
//! through the ring) and falls back to epoll when the probe fails, as it
//! does under Docker's default seccomp profile or with
//! `kernel.io_uring_disabled`; `io_uring` insists (and fails at start-up
//! if it cannot have it); `epoll` never tries. The choice comes from the
//! `io.engine` property ([`NetConfig::from_properties`]) or from code.
//!
//! # Runtime per thread
//!
//! Nothing here is `Send`: one [`Runtime`] per worker thread (a
//! `tokio-uring` runtime, or a current-thread `tokio` runtime with a
//! `LocalSet`), one [`Producer`] per runtime, each with its own
//! connections and producer id. Workers share nothing, and the hot path
//! takes no lock: the handle and its tasks share state through `Rc` and
//! `RefCell` on one thread. Create the producer inside
//! [`Runtime::block_on`]:
//!
//! ```no_run
//! use kafka_net::{EngineChoice, NetConfig, Producer, RecordRef, Runtime};
//!
//! let cfg = NetConfig::from_properties([
//!     ("bootstrap.servers", "127.0.0.1:9092"),
//!     ("io.engine", "auto"),
//! ])?;
//! let engine = cfg.engine.resolve()?;
//! let rt = Runtime::new(engine)?;
//! rt.block_on(async {
//!     let producer = Producer::with_security(cfg.producer, &cfg.security, engine)?;
//!     let delivery = producer.send(RecordRef {
//!         topic: "events",
//!         partition: None,
//!         key: Some(b"user-1"),
//!         value: Some(b"{}"),
//!         headers: &[],
//!         timestamp: 0,
//!     })?;
//!     println!("{:?}", delivery.await?);
//!     producer.close().await;
//!     Ok::<_, kafka_net::Error>(())
//! })?;
//! # Ok::<_, kafka_net::Error>(())
//! ```
//!
//! # Connections
//!
//! One connection per broker, opened when the producer asks for it
//! (`poll_connect`), closed when it gives up on it (`poll_close`). A
//! connection that fails or closes is reported with `handle_disconnected`;
//! the producer retries the requests it carried and reconnects after
//! `reconnect.backoff.ms`, doubling up to `reconnect.backoff.max.ms`. The
//! TCP connect is bounded by `request.timeout.ms`. TLS and SASL run in the
//! connection set-up step between TCP connect and `handle_connected`,
//! bounded by the same timeout (see [`security`] and `docs/security.md`).
//!
//! Each connection is a sans-IO [`connection::Connection`] (framing, TLS,
//! SASL: bytes in, bytes out) driven by one task over either engine's
//! socket: read, `handle_read`, hand the frames to the producer; the
//! producer's requests through `handle_transmit`, then write what
//! `poll_write` gives.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

pub mod connection;
mod driver;
mod engine;
mod error;
#[cfg(target_os = "linux")]
mod ring;
pub mod security;
mod transport;

pub use driver::{Delivery, Health, Producer};
pub use engine::{io_uring_available, Engine, EngineChoice, Runtime};
pub use error::Error;
pub use kafka_producer::{
    AppendError, AuthError, AuthErrorKind, BadResponse, BatchResult, DeliveryError, DeliveryId,
    DeliveryReport, FatalError, HeaderRef, Outcome, ProducerConfig, RecordRef,
};
pub use kafka_wire::ErrorCode;
pub use security::{is_secret_key, Secret, SecurityConfig};

/// A configuration read from librdkafka / Java style properties, parsed
/// once and split by who reads it: the sans-IO producer's settings, the
/// connections' security settings, and the engine. Start a producer with
/// both halves: `Producer::with_security(cfg.producer, &cfg.security,
/// engine)` ([`Producer::new`] alone connects in plaintext).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NetConfig {
    /// The settings of the sans-IO producer.
    pub producer: ProducerConfig,
    /// `security.protocol`, `ssl.*`, `sasl.*` and
    /// `enable.ssl.certificate.verification`, typed; secrets in
    /// [`Secret`]s.
    pub security: SecurityConfig,
    /// `io.engine`: `auto` (default), `io_uring` or `epoll`.
    pub engine: EngineChoice,
}

impl NetConfig {
    /// Reads `io.engine`, hands the security properties
    /// ([`security::is_security_key`]) to [`SecurityConfig::from_properties`]
    /// and every other key to [`ProducerConfig::from_properties`]; both
    /// refuse keys they do not know. Files (CA, certificate, key) are read
    /// later, by the producer, or at once with [`security::Connector::new`].
    pub fn from_properties<'a, I>(props: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut engine = EngineChoice::Auto;
        let mut producer = Vec::new();
        let mut security = Vec::new();
        for (key, value) in props {
            let name = key.trim();
            if name == "io.engine" {
                engine = value.parse()?;
            } else if security::is_security_key(name) {
                security.push((key, value));
            } else {
                producer.push((key, value));
            }
        }
        let producer = ProducerConfig::from_properties(producer)?;
        let security =
            SecurityConfig::from_properties(security).map_err(security::SecurityError::from)?;
        Ok(Self {
            producer,
            security,
            engine,
        })
    }
}

/// The README's examples, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_engine_is_taken_out_of_the_producer_properties() {
        let c = NetConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:1"),
            ("io.engine", "epoll"),
            ("linger.ms", "7"),
        ])
        .unwrap();
        assert_eq!(c.engine, EngineChoice::Epoll);
        assert_eq!(c.producer.linger.as_millis(), 7);
        let c = NetConfig::from_properties([("bootstrap.servers", "h")]).unwrap();
        assert_eq!(c.engine, EngineChoice::Auto);
        assert!(matches!(
            NetConfig::from_properties([("bootstrap.servers", "h"), ("io.engine", "kqueue")]),
            Err(Error::InvalidEngine(_))
        ));
        assert!(matches!(
            NetConfig::from_properties([("bootstrap.servers", "h"), ("io.nope", "1")]),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn security_properties_are_parsed_once_into_the_security_settings() {
        let c = NetConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:1"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "user"),
            ("sasl.password", "hunter2"),
            ("ssl.certificate.pem", "CERT"),
            ("ssl.key.pem", "-----BEGIN PRIVATE KEY-----KEYBODY"),
            ("enable.ssl.certificate.verification", "false"),
            ("linger.ms", "3"),
        ])
        .unwrap();
        assert_eq!(c.producer.linger.as_millis(), 3);
        assert_eq!(c.security.protocol, security::SecurityProtocol::SaslSsl);
        assert!(!c.security.tls.verify_certificates);
        let sasl = c.security.sasl.as_ref().unwrap();
        assert_eq!(sasl.password.expose(), b"hunter2");
        assert!(matches!(
            &c.security.tls.key,
            Some(security::config::PemSource::Inline(k)) if k.expose_str() == Some("-----BEGIN PRIVATE KEY-----KEYBODY")
        ));
        for text in [format!("{c:?}"), format!("{c:#?}")] {
            for secret in ["hunter2", "KEYBODY"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        // A secret property that is refused is named, not quoted.
        let e = NetConfig::from_properties([
            ("bootstrap.servers", "h"),
            ("security.protocol", "SSL"),
            ("ssl.key.password", "keypass"),
        ])
        .unwrap_err();
        assert!(matches!(e, Error::Security(_)), "{e}");
        assert!(e.to_string().contains("ssl.key.password"), "{e}");
        assert!(!e.to_string().contains("keypass"), "{e}");
        // Producer errors first, then security errors, as before.
        assert!(matches!(
            NetConfig::from_properties([("security.protocol", "TLS"), ("linger.ms", "x")]),
            Err(Error::Config(_))
        ));
    }
}
