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
//!     let producer = Producer::new(cfg.producer, engine)?;
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
pub use kafka_producer::config::is_secret_key;
pub use kafka_producer::{
    AppendError, AuthError, AuthErrorKind, BadResponse, BatchResult, DeliveryError, DeliveryId,
    DeliveryReport, FatalError, HeaderRef, Outcome, ProducerConfig, RecordRef, Secret,
};
pub use kafka_wire::ErrorCode;

/// A producer configuration plus the driver's own settings, read from
/// librdkafka / Java style properties.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NetConfig {
    /// The settings of the sans-IO producer.
    pub producer: ProducerConfig,
    /// `io.engine`: `auto` (default), `io_uring` or `epoll`.
    pub engine: EngineChoice,
}

impl NetConfig {
    /// Reads `io.engine` and hands every other key to
    /// [`ProducerConfig::from_properties`] (which refuses unknown keys);
    /// checks the security settings (`security.protocol`, `ssl.*`,
    /// `sasl.*`, `enable.ssl.certificate.verification`).
    pub fn from_properties<'a, I>(props: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut engine = EngineChoice::Auto;
        let mut rest = Vec::new();
        let mut verification = None;
        for (key, value) in props {
            if key.trim() == "io.engine" {
                engine = value.parse()?;
            } else if key.trim() == security::config::ENABLE_CERT_VERIFICATION {
                // Not an `ssl.*` key: handed to the security settings here.
                verification = Some(value);
            } else {
                rest.push((key, value));
            }
        }
        let mut producer = ProducerConfig::from_properties(rest)?;
        if let Some(v) = verification {
            producer.pass_through.insert(
                security::config::ENABLE_CERT_VERIFICATION.to_owned(),
                v.to_owned(),
            );
        }
        // Refuse bad security settings now; files are read by `Producer::new`.
        security::SecurityConfig::from_properties(producer.pass_through_properties())
            .map_err(security::SecurityError::from)?;
        Ok(Self { producer, engine })
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
}
