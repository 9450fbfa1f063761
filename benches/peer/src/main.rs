//! Peer benchmark: our producer (`kafka-net`) against librdkafka (the
//! `rdkafka` crate), producing the same records to the same broker in the
//! same run.
//!
//! Without `--client`, the binary is the orchestrator: for every scenario
//! and round it starts a fresh Tansu broker (memory storage), creates the
//! topic, runs one client in a child process (this binary again, with
//! `--client ours|librdkafka`), stops the broker, and at the end prints
//! the medians and the ratios. One process per client makes
//! `getrusage(RUSAGE_SELF)` cover exactly that client, all its threads
//! included (librdkafka has its own).
//!
//! A client pre-generates its records, produces one warm-up record (so
//! connections, metadata and the producer id are in place), then times
//! from the first send to the last delivery report and counts the
//! outcomes. A run whose delivered count is not N is reported as failed,
//! never as a figure.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kafka_net::{
    AppendError, BatchResult, DeliveryReport, Engine, Error, NetConfig, Outcome, Producer,
    RecordRef, Runtime,
};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::ClientContext;

const PARTITIONS: u32 = 8;
const KEY_LEN: usize = 16;
/// Sends between two turns of the event loop (ours) or two polls of
/// delivery reports (librdkafka).
const SENDS_PER_TURN: usize = 1024;

fn main() {
    let args = Args::parse();
    if let Some(client) = args.get("--client") {
        let spec = ClientSpec::from_args(&args);
        let res = match client.as_str() {
            "ours" => run_ours(&spec),
            "librdkafka" => run_librdkafka(&spec),
            other => {
                eprintln!("unknown client {other}");
                std::process::exit(2);
            }
        };
        println!("{}", res.to_line());
        std::process::exit(if res.failed == 0 && res.delivered == spec.n {
            0
        } else {
            1
        });
    }
    orchestrate(&args);
}

// ---------------------------------------------------------------------------
// Arguments

struct Args(Vec<String>);

impl Args {
    fn parse() -> Self {
        Args(std::env::args().skip(1).collect())
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1).cloned())
    }

    fn num(&self, name: &str, default: usize) -> usize {
        self.get(name)
            .map(|v| v.replace('_', "").parse().expect("a number"))
            .unwrap_or(default)
    }
}

#[derive(Clone, Debug)]
struct ClientSpec {
    bootstrap: String,
    topic: String,
    n: u64,
    size: usize,
    codec: String,
    engine: String,
}

impl ClientSpec {
    fn from_args(a: &Args) -> Self {
        ClientSpec {
            bootstrap: a.get("--bootstrap").expect("--bootstrap"),
            topic: a.get("--topic").expect("--topic"),
            n: a.num("--n", 0) as u64,
            size: a.num("--size", 100),
            codec: a.get("--codec").unwrap_or_else(|| "none".into()),
            engine: a.get("--engine").unwrap_or_else(|| "auto".into()),
        }
    }
}

// ---------------------------------------------------------------------------
// Records: identical for both clients (same seed, same generator)

/// N distinct 16-byte keys and a pool of text-like values (words from a
/// small vocabulary, so codecs have something realistic to work on).
/// Record `i` takes value `i % pool`; the pool is large enough that no
/// batch holds the same value twice.
struct Records {
    keys: Vec<u8>,
    values: Vec<u8>,
    size: usize,
    pool: usize,
}

impl Records {
    fn generate(n: u64, size: usize) -> Self {
        let n = n as usize;
        let pool = n.clamp(1, (64 << 20) / size.max(1)).max(n.min(16_384));
        let mut keys = Vec::with_capacity(n * KEY_LEN);
        for i in 0..n {
            write!(Bytes16(&mut keys), "key-{i:012}").expect("key");
        }
        const WORDS: [&str; 32] = [
            "event",
            "page",
            "track",
            "user",
            "anonymous",
            "id",
            "session",
            "click",
            "view",
            "product",
            "cart",
            "checkout",
            "order",
            "price",
            "currency",
            "EUR",
            "true",
            "false",
            "null",
            "campaign",
            "source",
            "medium",
            "mobile",
            "desktop",
            "country",
            "locale",
            "en-US",
            "timestamp",
            "2026-11-21T22:00:00Z",
            "properties",
            "context",
            "library",
        ];
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut values = Vec::with_capacity(pool * size);
        for _ in 0..pool {
            let start = values.len();
            while values.len() - start < size {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let w = WORDS[(rng % WORDS.len() as u64) as usize];
                if rng & 0x300 == 0 {
                    // Some digits, as ids and counts would be.
                    let _ = write!(Bytes16(&mut values), "{} ", rng % 1_000_000);
                } else {
                    values.extend_from_slice(w.as_bytes());
                    values.push(b' ');
                }
            }
            values.truncate(start + size);
        }
        Records {
            keys,
            values,
            size,
            pool,
        }
    }

    fn key(&self, i: usize) -> &[u8] {
        &self.keys[i * KEY_LEN..(i + 1) * KEY_LEN]
    }

    fn value(&self, i: usize) -> &[u8] {
        let j = i % self.pool;
        &self.values[j * self.size..(j + 1) * self.size]
    }
}

/// `fmt::Write` into a byte vector.
struct Bytes16<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes16<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Measuring

/// User and system CPU seconds of this process, all threads.
fn cpu_seconds() -> (f64, f64) {
    // SAFETY: `rusage` is plain data; getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage` owned by this frame.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

#[derive(Debug, Default, Clone)]
struct RunResult {
    delivered: u64,
    failed: u64,
    wall: f64,
    user: f64,
    sys: f64,
    detail: String,
}

impl RunResult {
    fn to_line(&self) -> String {
        format!(
            "RESULT delivered={} failed={} wall={:.6} user={:.6} sys={:.6} detail={}",
            self.delivered,
            self.failed,
            self.wall,
            self.user,
            self.sys,
            self.detail.replace(char::is_whitespace, "_")
        )
    }

    fn from_line(line: &str) -> Option<Self> {
        let rest = line.strip_prefix("RESULT ")?;
        let mut r = RunResult::default();
        for kv in rest.split(' ') {
            let (k, v) = kv.split_once('=')?;
            match k {
                "delivered" => r.delivered = v.parse().ok()?,
                "failed" => r.failed = v.parse().ok()?,
                "wall" => r.wall = v.parse().ok()?,
                "user" => r.user = v.parse().ok()?,
                "sys" => r.sys = v.parse().ok()?,
                "detail" => r.detail = v.to_owned(),
                _ => {}
            }
        }
        Some(r)
    }

    fn cpu(&self) -> f64 {
        self.user + self.sys
    }
}

// ---------------------------------------------------------------------------
// Our producer

fn run_ours(spec: &ClientSpec) -> RunResult {
    let records = Records::generate(spec.n, spec.size);
    let bootstrap = spec.bootstrap.clone();
    let cfg = NetConfig::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        ("io.engine", spec.engine.as_str()),
        ("enable.idempotence", "true"),
        ("acks", "all"),
        ("linger.ms", "5"),
        ("batch.size", "1048576"),
        ("compression.type", spec.codec.as_str()),
    ])
    .expect("our configuration");
    let engine: Engine = cfg.engine.resolve().expect("engine");
    let rt = Runtime::new(engine).expect("runtime");
    rt.block_on(async {
        let producer = Producer::new(cfg.producer, engine).expect("producer");
        let mut res = RunResult {
            detail: engine.name().to_owned(),
            ..RunResult::default()
        };
        // Warm-up: connections, metadata, producer id.
        let warm = producer
            .send(RecordRef {
                topic: &spec.topic,
                partition: None,
                key: Some(b"warm-up"),
                value: Some(b"warm-up"),
                headers: &[],
                timestamp: 0,
            })
            .expect("warm-up send");
        match warm.await {
            Ok(Outcome::Persisted { .. }) => {}
            other => {
                res.failed = spec.n;
                res.detail = format!("warm-up failed: {other:?}");
                return res;
            }
        }

        // Outcomes are counted per batch by a delivery handler, as
        // librdkafka's are by its delivery callback.
        let tally = Rc::new(RefCell::new(Tally::default()));
        let counts = tally.clone();
        producer.on_delivery(move |report| counts.borrow_mut().add(report));

        let (u0, s0) = cpu_seconds();
        let t0 = Instant::now();
        for i in 0..spec.n as usize {
            let rec = RecordRef {
                topic: &spec.topic,
                partition: None,
                key: Some(records.key(i)),
                value: Some(records.value(i)),
                headers: &[],
                timestamp: 0,
            };
            // As librdkafka's loop: send, and only when the buffer is full
            // wait for room and send again.
            let sent = match producer.send_detached(rec) {
                Err(Error::Append(AppendError::BufferFull)) => {
                    producer.send_detached_wait(rec).await
                }
                other => other,
            };
            if let Err(e) = sent {
                res.failed += spec.n - i as u64;
                res.detail = format!("send {i}: {e}");
                break;
            }
            if i % SENDS_PER_TURN == SENDS_PER_TURN - 1 {
                tokio::task::yield_now().await;
            }
        }
        producer.flush().await;
        res.wall = t0.elapsed().as_secs_f64();
        let (u1, s1) = cpu_seconds();
        res.user = u1 - u0;
        res.sys = s1 - s0;
        producer.close().await;
        let t = tally.borrow();
        res.delivered = t.delivered;
        res.failed += t.failed;
        if let Some(e) = &t.first_error {
            res.detail = e.clone();
        }
        res
    })
}

/// Outcomes counted from delivery reports.
#[derive(Default)]
struct Tally {
    delivered: u64,
    failed: u64,
    first_error: Option<String>,
}

impl Tally {
    fn add(&mut self, report: &DeliveryReport) {
        let n = report.ids.len() as u64;
        match &report.result {
            BatchResult::Persisted { .. } => self.delivered += n,
            other => {
                self.first_error.get_or_insert_with(|| format!("{other:?}"));
                self.failed += n;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// librdkafka

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Counts {}

impl ProducerContext for Counts {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().expect("lock");
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

fn run_librdkafka(spec: &ClientSpec) -> RunResult {
    let records = Records::generate(spec.n, spec.size);
    let producer: BaseProducer<Counts> = ClientConfig::new()
        .set("bootstrap.servers", &spec.bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("batch.size", "1048576")
        .set("compression.type", &spec.codec)
        // Java's murmur2 for keyed records, as ours: same records, same
        // partitions.
        .set("partitioner", "murmur2_random")
        .create_with_context(Counts::default())
        .expect("librdkafka producer");
    let mut res = RunResult {
        detail: format!("librdkafka {}", rdkafka::util::get_rdkafka_version().1),
        ..RunResult::default()
    };
    producer
        .send(
            BaseRecord::<[u8], [u8]>::to(&spec.topic)
                .key(b"warm-up")
                .payload(b"warm-up"),
        )
        .map_err(|(e, _)| e)
        .expect("warm-up send");
    if producer.flush(Duration::from_secs(60)).is_err()
        || producer.context().ok.load(Ordering::Relaxed) != 1
    {
        res.failed = spec.n;
        res.detail = "warm-up failed".into();
        return res;
    }
    producer.context().ok.store(0, Ordering::Relaxed);

    let (u0, s0) = cpu_seconds();
    let t0 = Instant::now();
    'records: for i in 0..spec.n as usize {
        let mut rec = BaseRecord::<[u8], [u8]>::to(&spec.topic)
            .key(records.key(i))
            .payload(records.value(i));
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    rec = r;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => {
                    res.failed += spec.n - i as u64;
                    res.detail = format!("send {i}: {e}");
                    break 'records;
                }
            }
        }
        if i % SENDS_PER_TURN == SENDS_PER_TURN - 1 {
            producer.poll(Duration::ZERO);
        }
    }
    if let Err(e) = producer.flush(Duration::from_secs(600)) {
        res.detail = format!("flush: {e}");
    }
    res.wall = t0.elapsed().as_secs_f64();
    let (u1, s1) = cpu_seconds();
    res.user = u1 - u0;
    res.sys = s1 - s0;
    let c = producer.context();
    res.delivered = c.ok.load(Ordering::Relaxed);
    res.failed += c.failed.load(Ordering::Relaxed);
    if let Some(e) = c.first_error.lock().expect("lock").clone() {
        res.detail = e;
    }
    res
}

// ---------------------------------------------------------------------------
// The broker

fn tansu() -> PathBuf {
    if let Some(p) = std::env::var_os("TANSU") {
        return p.into();
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(p) = home.map(|h| h.join("bin/tansu")).filter(|p| p.exists()) {
        return p;
    }
    "tansu".into()
}

struct Broker {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Broker {
    fn start(tag: &str) -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = std::env::temp_dir().join(format!("peer-bench-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("broker dir");
        let log = std::fs::File::create(dir.join("broker.log")).expect("broker log");
        let child = Command::new(tansu())
            .arg("broker")
            .arg("--listener-url")
            .arg(format!("tcp://127.0.0.1:{port}"))
            .arg("--advertised-listener-url")
            .arg(format!("tcp://127.0.0.1:{port}"))
            .arg("--storage-engine")
            .arg("memory://tansu/")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn tansu (install it with scripts/setup-test-deps)");
        Broker { child, port, dir }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Creates the topic, retrying while the broker starts.
    fn create_topic(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = Command::new(tansu())
                .args(["topic", "create", "--broker"])
                .arg(format!("tcp://{}", self.addr()))
                .arg("--partitions")
                .arg(PARTITIONS.to_string())
                .arg(name)
                .current_dir(&self.dir)
                .output()
                .expect("run tansu topic create");
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tansu topic create: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Orchestration

#[derive(Clone, Debug, PartialEq)]
struct Client {
    name: &'static str,
    engine: &'static str,
}

impl Client {
    fn label(&self) -> String {
        if self.name == "ours" {
            format!("ours ({})", self.engine)
        } else {
            "librdkafka".to_owned()
        }
    }
}

struct Scenario {
    section: &'static str,
    size: usize,
    n: u64,
    codec: String,
    clients: Vec<Client>,
    runs: Vec<Vec<Option<RunResult>>>,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn orchestrate(args: &Args) {
    let rounds = args.num("--rounds", 5);
    let n100 = args.num("--n100", 1_000_000) as u64;
    let n1k = args.num("--n1k", 300_000) as u64;
    let ncodec = args.num("--n-codec", 100_000) as u64;
    let codec_size = args.num("--codec-size", 1024);
    let only = args.get("--only").unwrap_or_else(|| "all".into());
    let best = match kafka_net::io_uring_available() {
        Ok(()) => "io_uring",
        Err(_) => "epoll",
    };
    let ours = |e| Client {
        name: "ours",
        engine: e,
    };
    let rdk = Client {
        name: "librdkafka",
        engine: "",
    };
    let mut main_clients = vec![ours(best)];
    if best == "io_uring" {
        main_clients.push(ours("epoll"));
    }
    main_clients.push(rdk.clone());

    let mut scenarios = Vec::new();
    if only == "all" || only == "main" {
        for (size, n) in [(100, n100), (1024, n1k)] {
            scenarios.push(Scenario {
                section: "main",
                size,
                n,
                codec: "none".into(),
                clients: main_clients.clone(),
                runs: Vec::new(),
            });
        }
    }
    if only == "all" || only == "codecs" {
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
            scenarios.push(Scenario {
                section: "codecs",
                size: codec_size,
                n: ncodec,
                codec: codec.into(),
                clients: vec![ours(best), rdk.clone()],
                runs: Vec::new(),
            });
        }
    }

    let exe = std::env::current_exe().expect("current exe");
    eprintln!("peer-bench: load average at start {}", loadavg());
    let started = Instant::now();
    for round in 0..rounds {
        for (si, sc) in scenarios.iter_mut().enumerate() {
            let mut order: Vec<usize> = (0..sc.clients.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            let mut this_round = vec![None; sc.clients.len()];
            for ci in order {
                let client = &sc.clients[ci];
                let broker = Broker::start(&format!("{round}-{si}-{ci}"));
                let topic = "peer-bench";
                broker.create_topic(topic);
                let out = Command::new(&exe)
                    .args(["--client", client.name])
                    .args([
                        "--engine",
                        if client.engine.is_empty() {
                            "auto"
                        } else {
                            client.engine
                        },
                    ])
                    .args(["--bootstrap", &broker.addr()])
                    .args(["--topic", topic])
                    .args(["--n", &sc.n.to_string()])
                    .args(["--size", &sc.size.to_string()])
                    .args(["--codec", &sc.codec])
                    .stderr(Stdio::inherit())
                    .output()
                    .expect("run client");
                drop(broker);
                let stdout = String::from_utf8_lossy(&out.stdout);
                let res = stdout.lines().find_map(RunResult::from_line);
                let ok = matches!(&res, Some(r) if r.failed == 0 && r.delivered == sc.n);
                match &res {
                    Some(r) => eprintln!(
                        "round {} {} B {:<6} {:<18} {:>9} delivered {:>4} failed  {:>8.3} s wall  {:>7.3} s cpu  {}",
                        round + 1,
                        sc.size,
                        sc.codec,
                        client.label(),
                        r.delivered,
                        r.failed,
                        r.wall,
                        r.cpu(),
                        if ok { "" } else { r.detail.as_str() }
                    ),
                    None => eprintln!(
                        "round {} {} {}: no result (exit {})",
                        round + 1,
                        sc.size,
                        client.label(),
                        out.status
                    ),
                }
                this_round[ci] = if ok { res } else { None };
            }
            sc.runs.push(this_round);
        }
    }
    let load_end = loadavg();
    eprintln!(
        "peer-bench: done in {:.0} s, load average at end {}",
        started.elapsed().as_secs_f64(),
        load_end
    );
    print!("{}", report(&scenarios, rounds, &load_end));
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

fn report(scenarios: &[Scenario], rounds: usize, load: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{rounds} rounds, medians; load average at end {load}\n"
    );
    for section in ["main", "codecs"] {
        let scs: Vec<&Scenario> = scenarios.iter().filter(|s| s.section == section).collect();
        if scs.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "| value | codec | records | client | records/s (wall) | records per CPU-s | CPU µs/record | vs librdkafka: per CPU-s | vs librdkafka: wall |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
        for sc in scs {
            let rdk = sc.clients.iter().position(|c| c.name == "librdkafka");
            // Per-round figures of each client; failed runs are left out
            // and counted.
            let per = |ci: usize, f: &dyn Fn(&RunResult) -> f64| -> Vec<f64> {
                sc.runs
                    .iter()
                    .filter_map(|r| r[ci].as_ref().map(f))
                    .collect()
            };
            let n = sc.n as f64;
            for (ci, c) in sc.clients.iter().enumerate() {
                let failed = sc.runs.iter().filter(|r| r[ci].is_none()).count();
                let wall = median(per(ci, &|r| n / r.wall));
                let cpu = median(per(ci, &|r| n / r.cpu()));
                let ratio = |f: &dyn Fn(&RunResult) -> f64| -> String {
                    let Some(ri) = rdk.filter(|&ri| ri != ci) else {
                        return "—".into();
                    };
                    // Ratios within each round, then their median and range.
                    let v: Vec<f64> = sc
                        .runs
                        .iter()
                        .filter_map(|r| Some(f(r[ci].as_ref()?) / f(r[ri].as_ref()?)))
                        .collect();
                    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = v.iter().copied().fold(0.0, f64::max);
                    match median(v) {
                        Some(m) => format!("**{m:.2}×** ({lo:.2}–{hi:.2})"),
                        None => "n/a".into(),
                    }
                };
                let fmt = |x: Option<f64>| x.map_or("FAILED".into(), |x| format!("{:.0}", x));
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {}{} | {} | {} | {} | {} | {} |",
                    if sc.size == 1024 {
                        "1 KiB".to_owned()
                    } else {
                        format!("{} B", sc.size)
                    },
                    sc.codec,
                    sc.n,
                    c.label(),
                    if failed > 0 {
                        format!(" ({failed} of {rounds} runs FAILED)")
                    } else {
                        String::new()
                    },
                    fmt(wall),
                    fmt(cpu),
                    cpu.map_or("—".into(), |c| format!("{:.2}", 1e6 / c)),
                    ratio(&|r| 1.0 / r.cpu()),
                    ratio(&|r| 1.0 / r.wall),
                );
            }
        }
        let _ = writeln!(out);
    }
    out
}
