//! The tokio server over real loopback sockets, with a fake sink.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ingest_http::metrics::Registry;
use ingest_http::server::{bind_reuseport, Server};
use ingest_http::{Endpoint, EventSink, HttpConfig, IngestOutcome, IngestRequest, WriteKey};

/// What the fake sink saw of one request.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    endpoint: Endpoint,
    body: Vec<u8>,
    source: Option<String>,
}

/// Records requests and settles each after a delay that shrinks with the
/// number of events, so pipelined requests settle out of order.
struct FakeSink {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl EventSink for FakeSink {
    type Settled = Pin<Box<dyn Future<Output = IngestOutcome>>>;

    fn submit(&self, request: IngestRequest) -> Self::Settled {
        self.seen.lock().unwrap().push(Seen {
            endpoint: request.endpoint,
            body: request.body.to_vec(),
            source: request.source.as_deref().map(str::to_owned),
        });
        // Counted here, as a router would: the front end counts only
        // single events.
        let n = request.events.unwrap_or_else(|| {
            let v: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            v["batch"].as_array().map_or(1, Vec::len)
        });
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20u64.saturating_sub(n as u64))).await;
            IngestOutcome::settled(n, 0, vec![])
        })
    }

    fn ready(&self) -> Result<(), String> {
        Ok(())
    }
}

struct Running {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Running {
    fn start() -> Running {
        let mut http = HttpConfig::new([WriteKey::with_source("k1", "web"), WriteKey::new("k2")]);
        http.max_request_bytes = 100_000;
        let std_listener = bind_reuseport("127.0.0.1:0".parse().unwrap(), 128).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let sink_seen = seen.clone();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                let registry = Arc::new(Registry::new());
                let worker = registry.add_worker();
                let sink = Rc::new(FakeSink { seen: sink_seen });
                Server::new(Arc::new(http), sink)
                    .with_metrics(registry, worker)
                    .serve(listener, async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Running {
            addr,
            seen,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn connect(&self) -> Client {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Client { s, buf: Vec::new() }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Client {
    fn send(&mut self, data: &[u8]) {
        self.s.write_all(data).unwrap();
    }

    /// Reads one response; `None` at end of stream.
    fn response(&mut self) -> Option<Resp> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut r = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(n) = r.parse(&self.buf).unwrap() {
                let headers: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8(h.value.to_vec()).unwrap(),
                        )
                    })
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                if self.buf.len() >= n + len {
                    let status = r.code.unwrap();
                    let body = self.buf[n..n + len].to_vec();
                    self.buf.drain(..n + len);
                    return Some(Resp {
                        status,
                        headers,
                        body,
                    });
                }
            }
            let mut chunk = [0u8; 8192];
            let got = self.s.read(&mut chunk).unwrap();
            if got == 0 {
                assert!(self.buf.is_empty(), "stream ended mid-response");
                return None;
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
    }
}

fn basic(key: &str) -> String {
    // base64 of "key:" for the keys used here.
    match key {
        "k1" => "azE6".into(),
        "k2" => "azI6".into(),
        other => panic!("no encoding for {other}"),
    }
}

fn post(path: &str, key: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let mut v = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {}\r\n{extra}Content-Length: {}\r\n\r\n",
        basic(key),
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn batch(n: usize, tag: &str) -> String {
    let events: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"type":"track","event":"{tag}-{i}","userId":"u{i}"}}"#))
        .collect();
    format!(r#"{{"batch":[{}]}}"#, events.join(","))
}

#[test]
fn concurrent_keep_alive_clients() {
    let server = Running::start();
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let mut client = server.connect();
            thread::spawn(move || {
                for i in 0..15 {
                    let key = if i % 2 == 0 { "k1" } else { "k2" };
                    let body = format!(r#"{{"event":"c{c}-{i}","userId":"u"}}"#);
                    client.send(&post("/v1/track", key, body.as_bytes(), ""));
                    let r = client.response().unwrap();
                    assert_eq!(r.status, 200);
                    assert_eq!(r.json()["accepted"], 1);
                    assert_eq!(r.header("connection"), None);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 8 * 15);
    for s in &seen {
        // Passed as sent; the endpoint carries the type.
        assert_eq!(s.endpoint, Endpoint::Event(ingest_http::EventType::Track));
        let v: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(v.get("type"), None);
        let i: usize = v["event"]
            .as_str()
            .unwrap()
            .rsplit('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let expected = if i % 2 == 0 { Some("web") } else { None };
        assert_eq!(s.source.as_deref(), expected);
    }
}

#[test]
fn pipelined_requests_with_gzip_are_answered_in_order() {
    let server = Running::start();
    let mut client = server.connect();
    let mut all = Vec::new();
    for n in 1..=10 {
        let body = batch(n, &format!("p{n}"));
        if n % 2 == 0 {
            all.extend(post(
                "/v1/batch",
                "k1",
                &gzip(body.as_bytes()),
                "Content-Encoding: gzip\r\n",
            ));
        } else {
            all.extend(post("/v1/import", "k2", body.as_bytes(), ""));
        }
    }
    all.extend(b"GET /health HTTP/1.1\r\n\r\n");
    client.send(&all);
    // Later requests settle sooner; responses still come in request order.
    for n in 1..=10 {
        let r = client.response().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["accepted"], n);
    }
    assert_eq!(client.response().unwrap().json()["status"], "ok");
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 10);
    for (i, s) in seen.iter().enumerate() {
        let n = i + 1;
        assert_eq!(s.body, batch(n, &format!("p{n}")).as_bytes());
        let endpoint = if n % 2 == 0 {
            Endpoint::Batch
        } else {
            Endpoint::Import
        };
        assert_eq!(s.endpoint, endpoint);
    }
}

#[test]
fn chunked_and_continue_over_a_socket() {
    let server = Running::start();
    let mut client = server.connect();
    let body = batch(3, "c");
    client.send(
        format!(
            "POST /v1/batch HTTP/1.1\r\nAuthorization: Basic {}\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
            basic("k1")
        )
        .as_bytes(),
    );
    assert_eq!(client.response().unwrap().status, 100);
    let (a, b) = body.split_at(body.len() / 2);
    client.send(
        format!(
            "{:x}\r\n{a}\r\n{:x};x=1\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        )
        .as_bytes(),
    );
    let r = client.response().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["accepted"], 3);
    assert_eq!(server.seen.lock().unwrap()[0].body, body.as_bytes());
}

#[test]
fn refusals_over_a_socket() {
    let server = Running::start();
    // A body over the limit: 413, and the connection closes cleanly even
    // though the client sent the whole body.
    let mut client = server.connect();
    client.send(&post("/v1/batch", "k1", &vec![b'x'; 200_000], ""));
    let r = client.response().unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["limit"], 100_000);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(client.response().is_none());

    // A gzip bomb: 413 after decompression, connection kept.
    let mut client = server.connect();
    let bomb = gzip(&vec![b' '; 1_000_000]);
    client.send(&post(
        "/v1/batch",
        "k1",
        &bomb,
        "Content-Encoding: gzip\r\n",
    ));
    assert_eq!(client.response().unwrap().status, 413);
    // Unknown key: 401, connection kept.
    client.send(
        b"POST /v1/track HTTP/1.1\r\nAuthorization: Basic azM6\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert_eq!(client.response().unwrap().status, 401);
    // Garbage: 400 and close.
    client.send(b"NOT HTTP\r\n\r\n");
    let r = client.response().unwrap();
    assert_eq!(r.status, 400);
    assert!(client.response().is_none());
    assert!(server.seen.lock().unwrap().is_empty());

    // Metrics count what happened.
    let mut client = server.connect();
    client.send(b"GET /ready HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(client.response().unwrap().status, 200);
    let m = client.response().unwrap();
    let text = String::from_utf8(m.body).unwrap();
    for line in [
        "forwarder_http_responses_total{status=\"413\",reason=\"Content Too Large\"} 2",
        "forwarder_http_responses_total{status=\"401\",reason=\"Unauthorized\"} 1",
        "forwarder_http_responses_total{status=\"400\",reason=\"Bad Request\"} 1",
        "forwarder_http_responses_total{status=\"200\",reason=\"OK\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
}

#[test]
fn reuseport_lets_workers_share_an_address() {
    let a = bind_reuseport("127.0.0.1:0".parse().unwrap(), 16).unwrap();
    let addr = a.local_addr().unwrap();
    let b = bind_reuseport(addr, 16).unwrap();
    assert_eq!(b.local_addr().unwrap(), addr);
}
