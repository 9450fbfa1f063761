//! Fixtures for the security tests (`tests/security_*.rs`):
//!
//! - [`Pki`]: a CA and certificates made in the test with rcgen.
//! - [`Stunnel`]: stunnel4 terminating TLS (optionally requiring a client
//!   certificate) in front of a plaintext listener; installed by
//!   `scripts/setup-security-deps` when missing.
//! - [`TansuBroker`]: a Tansu broker with `--authentication`, whose SCRAM
//!   users are created on sqlite storage before authentication is on; or
//!   one that advertises another loopback address than it listens on.
//! - [`PlainSaslProxy`]: an in-test SASL PLAIN endpoint (SaslHandshake and
//!   SaslAuthenticate with kafka-wire's codecs) that, once a client has
//!   authenticated, relays its connection to a plaintext broker. Tansu
//!   has no PLAIN, so this is how PLAIN runs end to end.
//! - [`LogCapture`]: every `tracing` event (and `log` record) at trace
//!   level, as text.
//! - [`run_producer`]: a producer run that sends a few records and
//!   collects their outcomes.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_net::{
    AuthErrorKind, DeliveryError, Engine, NetConfig, Outcome, Producer, RecordRef, Runtime,
};
use kafka_wire::frame::{decode_request, encode_response};
use kafka_wire::header::RequestHeader;
use kafka_wire::messages::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_wire::messages::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_wire::ByteStr;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use crate::broker::{free_port, TempDir};
use crate::deps;

/// A certificate authority made for one test.
pub struct Pki {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pki")
    }
}

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert: String,
    /// The private key (PKCS#8).
    pub key: String,
}

impl Pki {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Pki {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        let cert = p.self_signed(&key).expect("CA certificate");
        Pki { cert, key }
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses), signed by
    /// this CA.
    pub fn issue(&self, names: &[&str]) -> Issued {
        let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("leaf params");
        p.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        let key = KeyPair::generate().expect("leaf key");
        let cert = p
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// The stunnel binary, installed by `scripts/setup-security-deps` if
/// missing.
pub fn stunnel() -> PathBuf {
    static ONCE: Once = Once::new();
    let find = || {
        ["stunnel4", "stunnel"].iter().find_map(|name| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    ONCE.call_once(|| {
        if find().is_none() {
            let script = deps::workspace_root()
                .join("scripts")
                .join("setup-security-deps");
            let status = Command::new("bash")
                .arg(&script)
                .status()
                .expect("run scripts/setup-security-deps");
            assert!(status.success(), "scripts/setup-security-deps failed");
        }
    });
    find().expect("stunnel still missing after scripts/setup-security-deps")
}

/// stunnel accepting TLS on `port` and relaying plaintext to a backend.
#[derive(Debug)]
pub struct Stunnel {
    child: Child,
    dir: TempDir,
    port: u16,
}

impl Stunnel {
    /// Starts stunnel on `port` (TLS with `server`) in front of
    /// `127.0.0.1:backend`. With `client_ca`, a client certificate signed
    /// by it is required (`verifyChain = yes`).
    pub fn start(port: u16, backend: u16, server: &Issued, client_ca: Option<&str>) -> Stunnel {
        Self::start_on(&["127.0.0.1"], port, backend, server, client_ca)
    }

    /// As [`Self::start`], listening on `port` of each loopback address in
    /// `hosts` (such as `127.0.0.2`, which Linux routes to loopback too).
    pub fn start_on(
        hosts: &[&str],
        port: u16,
        backend: u16,
        server: &Issued,
        client_ca: Option<&str>,
    ) -> Stunnel {
        let bin = stunnel();
        let dir = TempDir::new("stunnel");
        let p = dir.path();
        std::fs::write(p.join("server.pem"), &server.cert).expect("write cert");
        std::fs::write(p.join("server.key"), &server.key).expect("write key");
        let mut conf = format!(
            "foreground = yes\npid =\ndebug = 6\noutput = {}\n",
            p.join("stunnel.log").display()
        );
        if let Some(ca) = client_ca {
            std::fs::write(p.join("client-ca.pem"), ca).expect("write client CA");
        }
        for (i, host) in hosts.iter().enumerate() {
            conf.push_str(&format!(
                "[kafka-{i}]\naccept = {host}:{port}\nconnect = 127.0.0.1:{backend}\n\
                 cert = {cert}\nkey = {key}\n",
                cert = p.join("server.pem").display(),
                key = p.join("server.key").display(),
            ));
            if client_ca.is_some() {
                conf.push_str(&format!(
                    "verifyChain = yes\nrequireCert = yes\nCAfile = {}\n",
                    p.join("client-ca.pem").display()
                ));
            }
        }
        std::fs::write(p.join("stunnel.conf"), conf).expect("write stunnel.conf");
        let mut child = Command::new(bin)
            .arg(p.join("stunnel.conf"))
            .current_dir(p)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn stunnel");
        let deadline = Instant::now() + Duration::from_secs(30);
        while hosts
            .iter()
            .any(|h| TcpStream::connect((*h, port)).is_err())
        {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("stunnel exited at start-up ({status}); see {}", p.display());
            }
            assert!(
                Instant::now() < deadline,
                "stunnel not listening after 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Stunnel { child, dir, port }
    }

    /// `127.0.0.1:PORT` of the TLS listener.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// stunnel's own log, to explain a failure.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stunnel.log")).unwrap_or_default()
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SCRAM mechanism names of `tansu user create --mechanism`.
#[derive(Debug, Clone, Copy)]
pub enum ScramUser {
    /// `scram256`.
    Sha256,
    /// `scram512`.
    Sha512,
}

impl ScramUser {
    /// The name `tansu user` takes.
    pub fn name(self) -> &'static str {
        match self {
            ScramUser::Sha256 => "scram256",
            ScramUser::Sha512 => "scram512",
        }
    }
}

/// A Tansu broker on sqlite storage in a temporary directory, killed on
/// drop.
#[derive(Debug)]
pub struct TansuBroker {
    child: Option<Child>,
    dir: TempDir,
    port: u16,
    advertised: String,
}

impl TansuBroker {
    /// A broker requiring SASL SCRAM (`--authentication`): started
    /// without authentication, `users` (name, password, mechanism) and
    /// `topics` (one partition each) created, then restarted with
    /// `--authentication`.
    pub fn with_scram_users(users: &[(&str, &str, ScramUser)], topics: &[&str]) -> TansuBroker {
        deps::ensure();
        let port = free_port();
        let mut b = TansuBroker {
            child: None,
            dir: TempDir::new("scram-broker"),
            port,
            advertised: format!("127.0.0.1:{port}"),
        };
        b.spawn(false);
        let url = format!("tcp://127.0.0.1:{}", b.port);
        for (name, password, mechanism) in users {
            let m = mechanism.name();
            b.tansu(&[
                "user",
                "create",
                "--broker",
                &url,
                "--mechanism",
                m,
                name,
                password,
            ]);
        }
        for t in topics {
            b.tansu(&["topic", "create", "--broker", &url, "--partitions", "1", t]);
        }
        b.kill();
        b.spawn(true);
        b
    }

    /// A broker without authentication that advertises `advertised`
    /// (`HOST:PORT`, a proxy in front of it), with `topics` created.
    pub fn advertising(advertised: &str, topics: &[&str]) -> TansuBroker {
        deps::ensure();
        let mut b = TansuBroker {
            child: None,
            dir: TempDir::new("broker-adv"),
            port: free_port(),
            advertised: advertised.to_owned(),
        };
        b.spawn(false);
        let url = format!("tcp://127.0.0.1:{}", b.port);
        for t in topics {
            b.tansu(&["topic", "create", "--broker", &url, "--partitions", "1", t]);
        }
        b
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Deletes a SCRAM user: users can be changed only while
    /// authentication is off, so the broker restarts without it, then with
    /// it. Connections open to it are closed.
    pub fn delete_scram_user(&mut self, name: &str, mechanism: ScramUser) {
        self.change_users(&["user", "delete", "--mechanism", mechanism.name(), name]);
    }

    /// Creates a SCRAM user, restarting the broker as
    /// [`Self::delete_scram_user`] does.
    pub fn create_scram_user(&mut self, name: &str, password: &str, mechanism: ScramUser) {
        self.change_users(&[
            "user",
            "create",
            "--mechanism",
            mechanism.name(),
            name,
            password,
        ]);
    }

    fn change_users(&mut self, args: &[&str]) {
        self.kill();
        self.spawn(false);
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut all = vec![args[0], args[1], "--broker", &url];
        all.extend_from_slice(&args[2..]);
        self.tansu(&all);
        self.kill();
        self.spawn(true);
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn tansu(&self, args: &[&str]) {
        let out = Command::new(deps::tansu())
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run tansu");
        assert!(
            out.status.success(),
            "tansu {}: {}",
            args[..2].join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn spawn(&mut self, authentication: bool) {
        let log = std::fs::File::create(
            self.dir
                .path()
                .join(format!("broker-auth-{authentication}.log")),
        )
        .expect("broker log");
        let mut cmd = Command::new(deps::tansu());
        cmd.arg("broker")
            .arg("--listener-url")
            .arg(format!("tcp://127.0.0.1:{}", self.port))
            .arg("--advertised-listener-url")
            .arg(format!("tcp://{}", self.advertised))
            .arg("--storage-engine")
            .arg("sqlite://broker.db");
        if authentication {
            cmd.arg("--authentication");
        }
        let mut child = cmd
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn tansu broker");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "broker exited ({status}); log in {}",
                    self.dir.path().display()
                );
            }
            assert!(Instant::now() < deadline, "broker not listening after 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TansuBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An in-test SASL PLAIN endpoint in front of a plaintext broker.
#[derive(Debug)]
pub struct PlainSaslProxy {
    port: u16,
    /// Connections that authenticated.
    pub accepted: Arc<AtomicUsize>,
    /// Connections refused (bad credentials or mechanism).
    pub refused: Arc<AtomicUsize>,
}

impl PlainSaslProxy {
    /// Listens on `port`; accepts `user` / `password` with PLAIN, then
    /// relays to `127.0.0.1:backend`. Runs until the test process ends.
    pub fn start(port: u16, backend: u16, user: &str, password: &str) -> PlainSaslProxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind proxy");
        let accepted = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let expected = format!("\0{user}\0{password}").into_bytes();
        let (a, r) = (accepted.clone(), refused.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (expected, a, r) = (expected.clone(), a.clone(), r.clone());
                std::thread::spawn(move || match sasl_plain_server(&conn, &expected, &r) {
                    Ok(true) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        relay(conn, backend);
                    }
                    Ok(false) => {
                        let _ = conn.shutdown(Shutdown::Both);
                    }
                    Err(_) => {
                        r.fetch_add(1, Ordering::SeqCst);
                        let _ = conn.shutdown(Shutdown::Both);
                    }
                });
            }
        });
        PlainSaslProxy {
            port,
            accepted,
            refused,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn read_frame(mut s: &TcpStream) -> std::io::Result<Bytes> {
    let mut size = [0u8; 4];
    s.read_exact(&mut size)?;
    let size = usize::try_from(i32::from_be_bytes(size))
        .ok()
        .filter(|n| *n < 1 << 20)
        .ok_or_else(|| std::io::Error::other("bad frame size"))?;
    let mut body = vec![0u8; size];
    s.read_exact(&mut body)?;
    Ok(Bytes::from(body))
}

/// The server side of SaslHandshake v1 + SaslAuthenticate for PLAIN.
/// Returns whether the client authenticated. A refusal is counted in
/// `refused` before its response is written, so a client that has read the
/// refusal always finds it counted.
fn sasl_plain_server(
    conn: &TcpStream,
    expected: &[u8],
    refused: &AtomicUsize,
) -> std::io::Result<bool> {
    let mut w = conn;
    let frame = read_frame(conn)?;
    let (key, _) = RequestHeader::peek_key_version(&frame).map_err(std::io::Error::other)?;
    if key != kafka_wire::messages::sasl_handshake::API_KEY {
        refused.fetch_add(1, Ordering::SeqCst);
        return Ok(false);
    }
    let (h, req) = decode_request::<SaslHandshakeRequest>(frame).map_err(std::io::Error::other)?;
    let ok = &req.mechanism[..] == "PLAIN";
    let mut out = BytesMut::new();
    let resp = SaslHandshakeResponse {
        error_code: if ok { 0 } else { 33 },
        mechanisms: vec![ByteStr::from("PLAIN")],
    };
    encode_response(&mut out, &resp, h.api_version, h.correlation_id)
        .map_err(std::io::Error::other)?;
    if !ok {
        refused.fetch_add(1, Ordering::SeqCst);
    }
    w.write_all(&out)?;
    if !ok {
        return Ok(false);
    }
    let frame = read_frame(conn)?;
    let (h, req) =
        decode_request::<SaslAuthenticateRequest>(frame).map_err(std::io::Error::other)?;
    let good = req.auth_bytes[..] == *expected;
    let resp = SaslAuthenticateResponse {
        error_code: if good { 0 } else { 58 },
        error_message: if good {
            None
        } else {
            Some(ByteStr::from(
                "Authentication failed: Invalid username or password",
            ))
        },
        ..SaslAuthenticateResponse::default()
    };
    let mut out = BytesMut::new();
    encode_response(&mut out, &resp, h.api_version, h.correlation_id)
        .map_err(std::io::Error::other)?;
    if !good {
        refused.fetch_add(1, Ordering::SeqCst);
    }
    w.write_all(&out)?;
    Ok(good)
}

fn relay(client: TcpStream, backend: u16) {
    let Ok(server) = TcpStream::connect((Ipv4Addr::LOCALHOST, backend)) else {
        return;
    };
    let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let (mut c, mut s) = (client, server);
    let _ = std::io::copy(&mut s, &mut c);
    let _ = c.shutdown(Shutdown::Both);
    let _ = t.join();
}

/// Log text captured from `tracing` (and from the `log` records of
/// dependencies such as rustls).
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }

    /// Captures every event at trace level on the calling thread while the
    /// guard lives.
    pub fn on_this_thread() -> (LogCapture, tracing::subscriber::DefaultGuard) {
        let cap = LogCapture::default();
        let guard = tracing::subscriber::set_default(cap.subscriber());
        (cap, guard)
    }

    /// Captures every event at trace level of the whole process, `log`
    /// records included. Once per test binary.
    pub fn global() -> LogCapture {
        use tracing_subscriber::util::SubscriberInitExt;
        let cap = LogCapture::default();
        cap.subscriber()
            .try_init()
            .expect("one global subscriber per test binary");
        cap
    }

    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        let cap = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || cap.clone())
            .finish()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What [`run_producer`] saw.
#[derive(Debug)]
pub struct Run {
    /// The outcome of each record, in send order.
    pub outcomes: Vec<Outcome>,
}

impl Run {
    /// Whether every record was persisted.
    pub fn all_persisted(&self) -> bool {
        self.outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Persisted { .. }))
    }

    /// Whether every record failed with an authentication error of
    /// `kind` (`NotPersisted(Authentication)`), and the message of each
    /// holds `says`.
    pub fn all_failed_authentication(&self, kind: AuthErrorKind, says: &str) -> bool {
        !self.outcomes.is_empty()
            && self.outcomes.iter().all(|o| {
                matches!(
                    o,
                    Outcome::NotPersisted(DeliveryError::Authentication(e))
                        if e.kind == kind && e.to_string().contains(says)
                )
            })
    }

    /// Whether no record was persisted.
    pub fn none_persisted(&self) -> bool {
        self.outcomes
            .iter()
            .all(|o| matches!(o, Outcome::NotPersisted(_)))
    }

    /// The offsets of the persisted records.
    pub fn offsets(&self) -> Vec<i64> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Persisted { offset, .. } => Some(*offset),
                _ => None,
            })
            .collect()
    }
}

/// A `delivery.timeout.ms` no test waits for: with it, a record that
/// fails can only have failed for a reason other than the timeout.
pub const NO_DELIVERY_TIMEOUT: (&str, &str) = ("delivery.timeout.ms", "600000");

/// Default properties that make a failing run end quickly: connection
/// attempts and deliveries time out after a few seconds.
pub const FAIL_FAST: [(&str, &str); 5] = [
    ("request.timeout.ms", "2000"),
    ("delivery.timeout.ms", "5000"),
    ("reconnect.backoff.ms", "50"),
    ("reconnect.backoff.max.ms", "500"),
    ("linger.ms", "1"),
];

/// Sends `records` small records to partition 0 of `topic` with `props`
/// on `engine`, on this thread, and waits for every outcome. Panics if the
/// configuration is refused: use [`producer_config`] to test that.
pub fn run_producer(engine: Engine, props: &[(&str, &str)], topic: &str, records: usize) -> Run {
    let rt = Runtime::new(engine).expect("runtime");
    rt.block_on(async {
        let cfg = producer_config(props).expect("configuration accepted");
        let producer =
            Producer::with_security(cfg.producer, &cfg.security, engine).expect("producer starts");
        let mut deliveries = Vec::new();
        for i in 0..records {
            let value = format!("{{\"n\":{i}}}");
            let d = producer
                .send(RecordRef {
                    topic,
                    partition: Some(0),
                    key: Some(b"k"),
                    value: Some(value.as_bytes()),
                    headers: &[],
                    timestamp: 1_700_000_000_000 + i as i64,
                })
                .expect("record accepted");
            deliveries.push(d);
        }
        let mut outcomes = Vec::new();
        for d in deliveries {
            outcomes.push(d.await.expect("driver alive"));
        }
        producer.close().await;
        Run { outcomes }
    })
}

/// The configuration `props` give (with `FAIL_FAST` first, so `props`
/// override it).
pub fn producer_config(props: &[(&str, &str)]) -> Result<NetConfig, kafka_net::Error> {
    NetConfig::from_properties(FAIL_FAST.iter().chain(props.iter()).copied())
}

/// Whether a loopback TCP port accepts connections.
pub fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(1),
    )
    .is_ok()
}
