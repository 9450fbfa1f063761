//! Fixtures of the end-to-end tests: the `forwarder` binary as a child
//! process, a plain HTTP/1.1 client, the official SDKs and a librdkafka
//! consumer (both through Python), and a TCP proxy that can be stopped to
//! cut the forwarder off its broker.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use forwarder_e2e::broker::{free_port, TempDir};
use forwarder_e2e::deps;
use serde_json::Value;

/// Python packages the tests drive, and the script that installs them.
fn ensure_python_packages() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        deps::ensure_python();
        let ok = |py: &PathBuf| {
            Command::new(py)
                .args([
                    "-c",
                    "import segment.analytics, rudderstack.analytics, fastavro, confluent_kafka",
                ])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if ok(&deps::python()) {
            return;
        }
        let script = deps::workspace_root().join("scripts/setup-test-deps");
        // Tests that need Tansu install it when they start their broker.
        let status = Command::new("bash")
            .arg(&script)
            .env("SKIP_TANSU", "1")
            .status()
            .expect("run scripts/setup-test-deps");
        assert!(status.success(), "scripts/setup-test-deps failed");
        assert!(ok(&deps::python()), "Python SDKs still missing after setup");
    });
}

fn py_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py")
}

/// A running `forwarder run --config FILE`, killed on drop.
#[derive(Debug)]
pub struct Forwarder {
    child: Option<Child>,
    /// The HTTP port.
    pub port: u16,
    dir: TempDir,
}

impl Forwarder {
    /// Writes `config` (with `{PORT}` replaced by a free port) and starts
    /// the binary; waits until `/health` answers.
    pub fn start(config: &str) -> Forwarder {
        Self::start_with_env(config, &[])
    }

    /// As [`Self::start`], with extra environment variables.
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Forwarder {
        let port = free_port();
        let dir = TempDir::new("forwarder");
        let path = dir.path().join("forwarder.toml");
        std::fs::write(&path, config.replace("{PORT}", &port.to_string())).expect("config");
        let log = std::fs::File::create(dir.path().join("forwarder.log")).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_forwarder"))
            .arg("run")
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn forwarder");
        let mut f = Forwarder {
            child: Some(child),
            port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = f.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("forwarder exited at start-up ({status}):\n{}", f.log());
            }
            if let Ok((200, _)) = request(port, "GET", "/health", None, b"", &[]) {
                break;
            }
            assert!(Instant::now() < deadline, "forwarder not up:\n{}", f.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        f
    }

    /// Waits until `/ready` answers 200 (the producer reached the broker).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = request(self.port, "GET", "/ready", None, b"", &[]) {
                return;
            }
            assert!(Instant::now() < deadline, "never ready:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        self.child
            .take()
            .expect("running")
            .wait()
            .expect("wait for forwarder")
    }

    /// The process log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("forwarder.log")).unwrap_or_default()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
/// Returns the status and the body.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    write_key: Option<&str>,
    body: &[u8],
    extra_headers: &[(&str, &str)],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(k) = write_key {
        head.push_str(&format!("Authorization: Basic {}\r\n", basic(k)));
    }
    for (k, v) in extra_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    parse_response(&out)
}

fn parse_response(out: &[u8]) -> std::io::Result<(u16, String)> {
    let text = String::from_utf8_lossy(out);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Status, headers (lower-case names) and body of a response.
pub type Response = (u16, Vec<(String, String)>, String);

/// A keep-alive client connection.
#[derive(Debug)]
pub struct KeepAlive {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl KeepAlive {
    /// Connects.
    pub fn connect(port: u16) -> std::io::Result<KeepAlive> {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(KeepAlive {
            stream,
            buf: Vec::new(),
        })
    }

    /// Posts `body` and reads one response: status, headers (lower-case
    /// names) and body.
    pub fn post(&mut self, path: &str, write_key: &str, body: &[u8]) -> std::io::Result<Response> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Authorization: Basic {}\r\nContent-Length: {}\r\n\r\n",
            basic(write_key),
            body.len()
        );
        self.stream.write_all(head.as_bytes())?;
        self.stream.write_all(body)?;
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let mut lines = head.split("\r\n");
                let status: u16 = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| std::io::Error::other("bad status line"))?;
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    self.fill()?;
                }
                let body = String::from_utf8_lossy(&self.buf[end + 4..end + 4 + len]).into_owned();
                self.buf.drain(..end + 4 + len);
                return Ok((status, headers, body));
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Basic credentials as the SDKs send them: the write key as user name,
/// an empty password.
pub fn basic(write_key: &str) -> String {
    base64(format!("{write_key}:").as_bytes())
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Sends `calls` through an official SDK (`segment` or `rudder`), gzip
/// on, and returns every message the SDK delivered, as it serialised them.
pub fn sdk_send(sdk: &str, port: u16, write_key: &str, calls: &Value) -> Vec<Value> {
    ensure_python_packages();
    let dir = TempDir::new("sdk");
    let calls_path = dir.path().join("calls.json");
    let out_path = dir.path().join("sent.jsonl");
    std::fs::write(&calls_path, calls.to_string()).expect("calls file");
    let out = Command::new(deps::python())
        .arg(py_dir().join("sdk_send.py"))
        .args(["--sdk", sdk, "--key", write_key])
        .arg("--host")
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--calls")
        .arg(&calls_path)
        .arg("--out")
        .arg(&out_path)
        .output()
        .expect("run sdk_send.py");
    assert!(
        out.status.success(),
        "sdk_send.py {sdk} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&out_path)
        .expect("sent file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// Reads `topics` from the start with librdkafka (CRC checks on); Avro
/// topics are decoded with fastavro using the given schema files.
pub fn consume(bootstrap: &str, topics: &[&str], avro: &[(&str, &Path)]) -> Vec<Value> {
    ensure_python_packages();
    let mut cmd = Command::new(deps::python());
    cmd.arg(py_dir().join("consume.py"))
        .arg("--bootstrap")
        .arg(bootstrap)
        .arg("--topics")
        .arg(topics.join(","));
    for (topic, schema) in avro {
        cmd.arg("--avro")
            .arg(format!("{topic}={}", schema.display()));
    }
    let out = cmd.output().expect("run consume.py");
    assert!(
        out.status.success(),
        "consume.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// The value of header `name` of a consumed record.
pub fn header<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record["h"]
        .as_array()?
        .iter()
        .find(|h| h[0] == name)
        .and_then(|h| h[1].as_str())
}

/// A TCP proxy on `127.0.0.1:port` to an upstream port; [`Self::stop`]
/// closes the listener and every connection, [`Self::resume`] listens
/// again on the same port.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    upstream: u16,
    running: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `port`, forwarding to `upstream`.
    pub fn start(port: u16, upstream: u16) -> Proxy {
        let mut p = Proxy {
            port,
            upstream,
            running: Arc::new(AtomicBool::new(false)),
            conns: Arc::new(Mutex::new(Vec::new())),
            acceptor: None,
        };
        p.resume();
        p
    }

    /// Starts listening again.
    pub fn resume(&mut self) {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)))
            .expect("bind proxy port");
        listener.set_nonblocking(true).expect("nonblocking");
        self.running.store(true, Ordering::SeqCst);
        let running = self.running.clone();
        let conns = self.conns.clone();
        let upstream = self.upstream;
        self.acceptor = Some(std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(server) = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)) else {
                            continue;
                        };
                        let mut list = conns.lock().expect("conns");
                        for s in [&client, &server] {
                            if let Ok(c) = s.try_clone() {
                                list.push(c);
                            }
                        }
                        pipe(&client, &server);
                        pipe(&server, &client);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
    }

    /// Stops listening and cuts every connection.
    pub fn stop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
        for s in self.conns.lock().expect("conns").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
