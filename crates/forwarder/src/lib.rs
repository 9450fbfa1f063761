//! The forwarder: Segment / RudderStack events received over HTTP,
//! routed by [`event_router`], produced to Kafka by [`kafka_net`].
//!
//! - [`config`]: the TOML file, its embedded defaults, environment
//!   overrides.
//! - [`sink`]: the [`ingest_http::EventSink`] of a worker (router and
//!   producer).
//! - [`metrics`]: the forwarder's metrics (topics, brokers, latency),
//!   served after the HTTP front end's.
//! - [`worker`]: one thread per core, each with its own runtime,
//!   `SO_REUSEPORT` listener, router and producer; nothing shared on the
//!   hot path.
//!
//! The binary (`src/main.rs`) parses the command line, sets up logging,
//! starts the workers and turns SIGTERM / SIGINT into a draining shutdown.
#![deny(unsafe_code)]

pub mod config;
pub mod metrics;
mod settle;
pub mod sink;
pub mod worker;
