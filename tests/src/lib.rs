//! End-to-end tests: a real broker process (Tansu), our producer through
//! `kafka-net`, and a third-party consumer (librdkafka through the
//! `confluent-kafka` Python package, CRC checks on) to verify what was
//! written. Fixtures live here; the tests are in `tests/`.
//!
//! - [`broker::Broker`]: spawns `tansu broker` on a free loopback port in a
//!   temporary directory, waits for ApiVersions, kills it on drop; topics
//!   are created with `tansu topic create`.
//! - [`workload`]: deterministic keyed records and a producer run.
//! - [`verify`]: reads the topics back and checks them.
//! - [`proxy::ChaosProxy`]: cuts connections mid-request and mid-response.
//! - [`mock::MockCluster`]: a multi-broker cluster (librdkafka's mock
//!   cluster) whose leaders, brokers and answers a test controls.
//!
//! Missing programs are installed by `scripts/setup-test-deps`.

pub mod broker;
pub mod deps;
pub mod mock;
pub mod proxy;
pub mod security_fixtures;
pub mod verify;
pub mod workload;

/// The engines to test: epoll always, io_uring where the kernel allows it
/// (set `E2E_REQUIRE_IO_URING=1` to fail instead of skipping it).
pub fn engines() -> Vec<kafka_net::Engine> {
    let mut v = vec![kafka_net::Engine::Epoll];
    match kafka_net::io_uring_available() {
        Ok(()) => v.push(kafka_net::Engine::IoUring),
        Err(e) => {
            assert!(
                std::env::var_os("E2E_REQUIRE_IO_URING").is_none(),
                "io_uring required but unavailable: {e}"
            );
            eprintln!("io_uring unavailable here ({e}); testing epoll only");
        }
    }
    v
}

/// A seed from `E2E_SEED`, else from the clock; printed so a run can be
/// repeated.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{test}: seed {seed} (E2E_SEED={seed} repeats it)");
    seed
}
