//! A Tansu broker process on a free loopback port, in a temporary
//! directory, killed on drop.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_wire::frame::{decode_response, encode_request};
use kafka_wire::messages::api_versions::ApiVersionsRequest;

use crate::deps;

/// Where the broker keeps its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `memory://tansu/`: lost when the process ends.
    Memory,
    /// `sqlite://broker.db` in the broker's directory: survives restarts.
    /// The harness adds an index on the header table at the first start
    /// (see [`index_headers`]).
    Sqlite,
}

/// A running broker. Restartable on the same port and directory.
#[derive(Debug)]
pub struct Broker {
    child: Option<Child>,
    dir: TempDir,
    port: u16,
    advertised_port: u16,
    storage: Storage,
    starts: u32,
}

impl Broker {
    /// Starts a broker that advertises its own port.
    pub fn start(storage: Storage) -> Broker {
        Self::start_advertising(storage, None)
    }

    /// Starts a broker that advertises `advertised_port` (a proxy in front
    /// of it) instead of its own port.
    pub fn start_advertising(storage: Storage, advertised_port: Option<u16>) -> Broker {
        deps::ensure();
        let port = free_port();
        let mut b = Broker {
            child: None,
            dir: TempDir::new("broker"),
            port,
            advertised_port: advertised_port.unwrap_or(port),
            storage,
            starts: 0,
        };
        b.spawn();
        b
    }

    /// `127.0.0.1:PORT` of the broker itself.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's own port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the broker (SIGKILL: nothing is flushed on purpose) and starts
    /// it again on the same port and storage.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Kills the broker (SIGKILL).
    pub fn stop(&mut self) {
        self.kill();
    }

    /// Starts the broker again (after [`Self::stop`]) on the same port and
    /// storage, and waits until it is ready.
    pub fn start_again(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Creates a topic with the broker's own CLI.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(deps::tansu())
            .args(["topic", "create", "--broker"])
            .arg(format!("tcp://{}", self.addr()))
            .arg("--partitions")
            .arg(partitions.to_string())
            .arg(name)
            .current_dir(self.dir.path())
            .output()
            .expect("run tansu topic create");
        assert!(
            out.status.success(),
            "tansu topic create {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn spawn(&mut self) {
        let storage = match self.storage {
            Storage::Memory => "memory://tansu/".to_owned(),
            Storage::Sqlite => "sqlite://broker.db".to_owned(),
        };
        self.starts += 1;
        let log =
            std::fs::File::create(self.dir.path().join(format!("broker-{}.log", self.starts)))
                .expect("broker log file");
        let child = Command::new(deps::tansu())
            .arg("broker")
            .arg("--listener-url")
            .arg(format!("tcp://127.0.0.1:{}", self.port))
            .arg("--advertised-listener-url")
            .arg(format!("tcp://127.0.0.1:{}", self.advertised_port))
            .arg("--storage-engine")
            .arg(storage)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn tansu broker");
        self.child = Some(child);
        self.wait_ready();
        if self.storage == Storage::Sqlite && self.starts == 1 {
            index_headers(&self.dir.path().join("broker.db"));
        }
    }

    /// Waits until the broker answers an ApiVersions request.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "broker exited at start-up ({status}); log in {}",
                        self.dir.path().display()
                    );
                }
            }
            if api_versions(self.port).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "broker not ready after 60 s; log in {}",
                self.dir.path().display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Tansu 0.6's sqlite schema has no index on `header`, and its fetch looks
/// up each record's headers with its own query, `header_fetch.sql`: every
/// record read scans the whole header table of the database (every topic's
/// headers). Reading back is then quadratic in the records held: with three
/// headers a record, that query (run with sqlite 3.40 on copies of the
/// broker's file) took 1.9 ms at 10 k records held and 32 ms at 200 k, so
/// reading 200 k records would cost the broker about 1.8 hours. With the
/// index it takes 11-12 µs at either size; the index changes no query's
/// result and survives restarts like the rest of the file. Created through
/// Python's `sqlite3` module (Python is already a test dependency) on the
/// live database, once Tansu has created its tables.
pub fn index_headers(db: &Path) {
    const SCRIPT: &str = r#"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
deadline = time.monotonic() + 30
while True:
    try:
        db.execute("create index if not exists forwarder_e2e_header_record"
                   " on header (topition, offset_id)")
        db.commit()
        break
    except sqlite3.OperationalError:
        # The broker has not created its tables yet, or holds the lock.
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
"#;
    let out = Command::new(deps::python())
        .arg("-c")
        .arg(SCRIPT)
        .arg(db)
        .output()
        .expect("run python3 for the header index");
    assert!(
        out.status.success(),
        "creating the header index in {} failed ({}): {}",
        db.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends ApiVersions v0 and checks the answer decodes without error.
fn api_versions(port: u16) -> std::io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut req = BytesMut::new();
    encode_request(&mut req, &ApiVersionsRequest::default(), 0, 1, None)
        .map_err(std::io::Error::other)?;
    s.write_all(&req)?;
    let mut size = [0u8; 4];
    s.read_exact(&mut size)?;
    let size = i32::from_be_bytes(size);
    if !(0..1 << 20).contains(&size) {
        return Err(std::io::Error::other("bad frame size"));
    }
    let mut frame = vec![0u8; size as usize];
    s.read_exact(&mut frame)?;
    let (header, body) = decode_response::<ApiVersionsRequest>(Bytes::from(frame), 0)
        .map_err(std::io::Error::other)?;
    if header.correlation_id != 1 || body.error_code != 0 {
        return Err(std::io::Error::other("ApiVersions refused"));
    }
    Ok(())
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A directory removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system's temporary directory.
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "forwarder-e2e-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
