//! A multi-broker cluster: librdkafka's mock cluster (`rdkafka_mock.h`),
//! hosted by `tests/py/mock_cluster.py` with the librdkafka the
//! `confluent-kafka` wheel bundles, so it costs no build. Brokers have ids
//! `1..=n` and listen on loopback ports; the cluster holds its log in
//! memory.
//!
//! What the mock does and does not do, as far as these tests care:
//!
//! - Produce is answered NOT_LEADER_OR_FOLLOWER by a broker that does not
//!   lead the partition; leaders move only when told ([`MockCluster::set_leader`]),
//!   also when their broker is down.
//! - An injected error answers a request without writing its records; an
//!   injected delay (with error 0) writes them and answers late.
//! - It checks sequence numbers and deduplicates only for transactional
//!   producers. For an idempotent producer it writes whatever arrives, so a
//!   batch written twice (its answer lost) is in the log twice, and a batch
//!   sent behind a failed one of the same partition is written ahead of it
//!   (a broker would refuse it with OUT_OF_ORDER_SEQUENCE_NUMBER).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use crate::deps;

/// Kafka API keys the tests inject errors into.
pub mod api {
    /// Produce.
    pub const PRODUCE: i16 = 0;
    /// Metadata.
    pub const METADATA: i16 = 3;
    /// ApiVersions.
    pub const API_VERSIONS: i16 = 18;
    /// InitProducerId.
    pub const INIT_PRODUCER_ID: i16 = 22;
}

/// Kafka error codes the tests inject.
pub mod code {
    /// NOT_LEADER_OR_FOLLOWER.
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    /// REQUEST_TIMED_OUT.
    pub const REQUEST_TIMED_OUT: i16 = 7;
    /// NETWORK_EXCEPTION.
    pub const NETWORK_EXCEPTION: i16 = 13;
    /// NOT_ENOUGH_REPLICAS.
    pub const NOT_ENOUGH_REPLICAS: i16 = 19;
}

/// A running mock cluster; the process is killed on drop. Commands wait
/// for the cluster to have applied them and panic with its answer when it
/// refuses one.
#[derive(Debug)]
pub struct MockCluster {
    child: Child,
    io: Mutex<Io>,
    bootstrap: String,
    brokers: u32,
}

#[derive(Debug)]
struct Io {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl MockCluster {
    /// Starts a cluster of `brokers` brokers (ids 1 to `brokers`).
    pub fn start(brokers: u32) -> MockCluster {
        deps::ensure_python();
        let script = deps::workspace_root().join("tests/py/mock_cluster.py");
        let mut child = Command::new(deps::python())
            .arg(script)
            .arg(brokers.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mock_cluster.py");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let n = stdout.read_line(&mut line).expect("read mock_cluster.py");
        assert!(n > 0, "mock_cluster.py exited before naming its brokers");
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("mock_cluster.py's first line {line:?}: {e}"));
        let bootstrap = v["bootstrap"]
            .as_str()
            .unwrap_or_else(|| panic!("no bootstrap in {line:?}"))
            .to_owned();
        MockCluster {
            child,
            io: Mutex::new(Io { stdin, stdout }),
            bootstrap,
            brokers,
        }
    }

    /// `bootstrap.servers` for the whole cluster.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The number of brokers.
    pub fn brokers(&self) -> u32 {
        self.brokers
    }

    /// Creates `topic` with `partitions` partitions of `replication`
    /// replicas each.
    pub fn create_topic(&self, topic: &str, partitions: u32, replication: u32) {
        self.command(&format!("topic {topic} {partitions} {replication}"));
    }

    /// Makes `broker` (-1: none) the leader of partition `partition` of
    /// `topic`.
    pub fn set_leader(&self, topic: &str, partition: i32, broker: i32) {
        self.command(&format!("leader {topic} {partition} {broker}"));
    }

    /// Closes every connection of `broker` and refuses new ones (it leads
    /// what it led: its partitions are unavailable until [`Self::up`]).
    pub fn down(&self, broker: i32) {
        self.command(&format!("down {broker}"));
    }

    /// Lets `broker` accept connections again.
    pub fn up(&self, broker: i32) {
        self.command(&format!("up {broker}"));
    }

    /// The next `codes.len()` requests of `api_key`, on any broker, are
    /// answered with these error codes in turn.
    pub fn push_errors(&self, api_key: i16, codes: &[i16]) {
        self.command(&format!("errors {api_key} {}", join(codes.iter())));
    }

    /// The next requests of `api_key` on `broker` are answered with these
    /// `(error code, delay in ms)` in turn (code 0: handled as usual, then
    /// answered late). They take precedence over [`Self::push_errors`].
    pub fn push_broker_errors(&self, broker: i32, api_key: i16, errors: &[(i16, u32)]) {
        let list = join(errors.iter().map(|(c, ms)| format!("{c}:{ms}")));
        self.command(&format!("broker_errors {broker} {api_key} {list}"));
    }

    /// How many of the errors pushed with [`Self::push_broker_errors`] for
    /// `broker` and `api_key` are still unused.
    pub fn broker_errors_left(&self, broker: i32, api_key: i16) -> usize {
        let n = self.command(&format!("pending {broker} {api_key}"));
        n.parse()
            .unwrap_or_else(|_| panic!("mock cluster: pending: {n:?}"))
    }

    /// Delays every answer of `broker` by `ms` milliseconds.
    pub fn set_rtt(&self, broker: i32, ms: u32) {
        self.command(&format!("rtt {broker} {ms}"));
    }

    /// Drops the cluster-wide errors of `api_key` not yet used.
    pub fn clear_errors(&self, api_key: i16) {
        self.command(&format!("clear {api_key}"));
    }

    /// The versions of `api_key` the cluster offers.
    pub fn set_api_version(&self, api_key: i16, min: i16, max: i16) {
        self.command(&format!("apiversion {api_key} {min} {max}"));
    }

    /// Sends one command; returns what the answer has after "ok".
    fn command(&self, line: &str) -> String {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(io.stdin, "{line}")
            .and_then(|()| io.stdin.flush())
            .unwrap_or_else(|e| panic!("mock cluster: {line}: {e}"));
        let mut answer = String::new();
        let n = io
            .stdout
            .read_line(&mut answer)
            .unwrap_or_else(|e| panic!("mock cluster: {line}: {e}"));
        assert!(n > 0, "mock cluster exited on {line:?}");
        let answer = answer.trim_end();
        match answer.strip_prefix("ok") {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => rest.trim_start().to_owned(),
            _ => panic!("mock cluster: {line}: {answer}"),
        }
    }
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
