use std::io::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;
use crate::auth::base64_encode;
use crate::config::WriteKey;
use crate::sink::{EventError, Status};
use crate::EventType;

fn config() -> HttpConfig {
    HttpConfig::new([WriteKey::with_source("k1", "web"), WriteKey::new("k2")])
}

fn small_config() -> HttpConfig {
    let mut c = config();
    c.max_request_bytes = 4096;
    c.max_event_bytes = 512;
    c
}

fn auth(key: &str) -> String {
    format!(
        "Authorization: Basic {}\r\n",
        base64_encode(format!("{key}:").as_bytes())
    )
}

fn post(path: &str, key: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        auth(key),
        body.len()
    )
    .into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[derive(Debug, PartialEq)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn closes(&self) -> bool {
        self.header("connection") == Some("close")
    }
}

/// Splits a byte stream into responses (interim ones included).
fn parse_responses(mut out: &[u8]) -> Vec<Resp> {
    let mut resps = Vec::new();
    while !out.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut headers);
        let n = match r.parse(out).unwrap() {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => panic!("partial response"),
        };
        let status = r.code.unwrap();
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
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        resps.push(Resp {
            status,
            headers,
            body: out[n..n + len].to_vec(),
        });
        out = &out[n + len..];
    }
    resps
}

/// Drives a connection with a fake sink that answers every request at once
/// (events accepted = events in the body), recording the requests.
struct Harness {
    conn: Connection,
    requests: Vec<IngestRequest>,
    out: Vec<u8>,
    held: Vec<(RequestId, Event)>,
    hold: bool,
}

impl Harness {
    fn new(config: HttpConfig) -> Self {
        Harness {
            conn: Connection::new(Arc::new(config)),
            requests: Vec::new(),
            out: Vec::new(),
            held: Vec::new(),
            hold: false,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        self.conn
            .handle_input(data, UNIX_EPOCH + Duration::from_secs(7));
        self.pump();
    }

    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.conn.poll_event() {
                progressed = true;
                if self.hold {
                    self.held.push((ev.id(), ev));
                    continue;
                }
                let (id, reply) = self.answer(ev);
                self.conn.respond(id, reply).unwrap();
            }
            while let Some(b) = self.conn.poll_transmit() {
                progressed = true;
                self.out.extend_from_slice(&b);
            }
            if !progressed {
                return;
            }
        }
    }

    fn answer(&mut self, ev: Event) -> (RequestId, Reply) {
        match ev {
            Event::Ingest { id, request } => {
                // A batch is counted here, as a router would.
                let n = request.events.unwrap_or_else(|| {
                    serde_json::from_slice::<serde_json::Value>(&request.body)
                        .ok()
                        .and_then(|v| v["batch"].as_array().map(Vec::len))
                        .unwrap_or(1)
                });
                self.requests.push(request);
                (id, Reply::Ingest(IngestOutcome::settled(n, 0, vec![])))
            }
            Event::Ready { id } => (id, Reply::Ready(Ok(()))),
            Event::Metrics { id } => (id, Reply::Metrics("m 1\n".into())),
        }
    }

    fn responses(&self) -> Vec<Resp> {
        parse_responses(&self.out)
    }
}

fn run(config: HttpConfig, input: &[u8]) -> Harness {
    let mut h = Harness::new(config);
    h.feed(input);
    h
}

#[test]
fn keep_alive_serves_requests_one_after_another() {
    let mut h = Harness::new(config());
    for i in 0..3 {
        h.feed(&post(
            "/v1/track",
            "k1",
            &format!(r#"{{"event":"E{i}","userId":"u"}}"#),
        ));
    }
    let resps = h.responses();
    assert_eq!(resps.len(), 3);
    for r in &resps {
        assert_eq!(r.status, 200);
        assert!(!r.closes());
        assert_eq!(r.json()["accepted"], 1);
        assert_eq!(r.json()["dead_lettered"], 0);
        assert_eq!(r.json()["errors"], serde_json::json!([]));
    }
    assert_eq!(h.requests.len(), 3);
    assert!(!h.conn.is_finished() && h.conn.is_idle() && h.conn.wants_read());
}

#[test]
fn pipelined_requests_in_one_read_are_answered_in_request_order() {
    let mut input = post("/v1/batch", "k1", r#"{"batch":[{"a":1},{"b":2}]}"#);
    input.extend(b"GET /health HTTP/1.1\r\n\r\n");
    input.extend(post("/v1/identify", "k2", r#"{"userId":"u"}"#));
    input.extend(b"GET /ready HTTP/1.1\r\n\r\n");
    let mut h = Harness::new(config());
    h.hold = true;
    h.feed(&input);
    // Only /health is answered locally; it waits behind the first request.
    assert!(h.out.is_empty());
    assert_eq!(h.held.len(), 3);
    // Answer in reverse order: nothing goes out until the first is answered.
    let mut held = std::mem::take(&mut h.held);
    h.hold = false;
    while let Some((_, ev)) = held.pop() {
        let (id, reply) = h.answer(ev);
        h.conn.respond(id, reply).unwrap();
        if !held.is_empty() {
            assert_eq!(h.conn.poll_transmit(), None);
        }
    }
    h.pump();
    let resps = h.responses();
    let statuses: Vec<u16> = resps.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 200]);
    assert_eq!(resps[0].json()["accepted"], 2);
    assert_eq!(resps[1].json()["status"], "ok");
    assert_eq!(resps[2].json()["accepted"], 1);
    assert_eq!(resps[3].json()["ready"], true);
    // Requests were handed on in order.
    let eps: Vec<Endpoint> = h.requests.iter().rev().map(|r| r.endpoint).collect();
    assert_eq!(eps, [Endpoint::Batch, Endpoint::Event(EventType::Identify)]);
}

#[test]
fn a_large_body_is_received_into_one_allocation() {
    // After the head, the receive buffer has room for the whole announced
    // body, so reading it in socket-sized pieces never moves or grows it
    // (growing may move it or not, as the allocator finds room: the
    // capacity is the check that does not depend on that).
    let body = format!("{{\"batch\":[{}]}}", "1,".repeat(100_000) + "1");
    let input = post("/v1/batch", "k1", &body);
    let split = input.len() - body.len();
    let mut h = Harness::new(config());
    h.feed(&input[..split]);
    let start = h.conn.recv_buffer().as_ptr();
    let capacity = h.conn.recv_buffer().capacity();
    let spare = h.conn.recv_buffer().capacity() - h.conn.recv_buffer().len();
    assert!(spare >= body.len(), "spare {spare} < body {}", body.len());
    for piece in input[split..].chunks(MIN_READ / 3) {
        let buf = h.conn.recv_buffer();
        assert_eq!(buf.as_ptr(), start, "receive buffer moved");
        assert_eq!(buf.capacity(), capacity, "receive buffer grew");
        buf.extend_from_slice(piece);
        h.conn.handle_received(UNIX_EPOCH + Duration::from_secs(7));
        h.pump();
    }
    assert_eq!(h.requests.len(), 1);
    assert_eq!(h.requests[0].body, body.as_bytes());
    assert_eq!(h.responses().len(), 1);
    assert_eq!(h.responses()[0].status, 200);
}

#[test]
fn a_body_is_read_in_full_before_the_next_head() {
    // The body looks like a request; it must be taken as body bytes.
    let inner = "GET /health HTTP/1.1\r\n\r\n";
    let mut input = post("/v1/track", "k1", inner);
    input.extend(b"GET /health HTTP/1.1\r\n\r\n");
    let h = run(config(), &input);
    assert_eq!(h.requests.len(), 1);
    assert_eq!(h.requests[0].body, inner.as_bytes());
    assert_eq!(h.responses().len(), 2);
}

#[test]
fn pipelining_stops_parsing_at_the_limit_and_resumes() {
    let mut c = config();
    c.max_pipelined = 2;
    let mut h = Harness::new(c);
    h.hold = true;
    let mut input = Vec::new();
    for _ in 0..5 {
        input.extend(post("/v1/track", "k1", r#"{"event":"E","userId":"u"}"#));
    }
    h.feed(&input);
    assert_eq!(h.held.len(), 2);
    h.hold = false;
    for (_, ev) in std::mem::take(&mut h.held) {
        let (id, reply) = h.answer(ev);
        h.conn.respond(id, reply).unwrap();
    }
    // Parsing resumes once responses are owed no more, without new input.
    h.pump();
    assert_eq!(h.requests.len(), 5);
    assert_eq!(h.responses().len(), 5);
}

#[test]
fn chunked_bodies_with_extensions_and_trailers() {
    let body = r#"{"batch":[{"userId":"u","type":"track","event":"E"}]}"#;
    let (a, b) = body.split_at(10);
    let input = format!(
        "POST /v1/batch HTTP/1.1\r\n{}Transfer-Encoding: chunked\r\n\r\n{:x};ext=1;q=\"v\"\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\nGET /health HTTP/1.1\r\n\r\n",
        auth("k2"),
        a.len(),
        b.len()
    );
    let h = run(config(), input.as_bytes());
    assert_eq!(h.requests.len(), 1);
    assert_eq!(h.requests[0].body, body.as_bytes());
    assert_eq!(h.requests[0].source, None);
    let resps = h.responses();
    assert_eq!(resps.len(), 2);
    assert_eq!(resps[0].json()["accepted"], 1);
}

#[test]
fn malformed_chunked_body_is_400_and_closes() {
    let input = format!(
        "POST /v1/batch HTTP/1.1\r\n{}Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        auth("k1")
    );
    let h = run(config(), input.as_bytes());
    let resps = h.responses();
    assert_eq!(resps.len(), 1);
    assert_eq!(resps[0].status, 400);
    assert!(resps[0].closes());
    assert!(h.conn.is_finished());
    assert!(h.requests.is_empty());
}

#[test]
fn continue_is_sent_only_while_the_body_is_awaited() {
    let body = r#"{"event":"E","userId":"u"}"#;
    let head = format!(
        "POST /v1/track HTTP/1.1\r\n{}Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        auth("k1"),
        body.len()
    );
    // Head alone: 100 Continue goes out, then the final response.
    let mut h = Harness::new(config());
    h.feed(head.as_bytes());
    assert_eq!(h.out, CONTINUE);
    h.feed(body.as_bytes());
    let resps = h.responses();
    assert_eq!(
        resps.iter().map(|r| r.status).collect::<Vec<_>>(),
        [100, 200]
    );

    // Head and body together: no interim response.
    let h = run(config(), format!("{head}{body}").as_bytes());
    let resps = h.responses();
    assert_eq!(resps.iter().map(|r| r.status).collect::<Vec<_>>(), [200]);

    // Behind a pending response, the interim waits its turn and is
    // withdrawn if the body arrives first.
    let mut h = Harness::new(config());
    h.hold = true;
    h.feed(&post("/v1/track", "k1", body));
    h.feed(head.as_bytes());
    assert!(h.out.is_empty());
    h.feed(body.as_bytes());
    h.hold = false;
    for (_, ev) in std::mem::take(&mut h.held) {
        let (id, reply) = h.answer(ev);
        h.conn.respond(id, reply).unwrap();
    }
    h.pump();
    let statuses: Vec<u16> = h.responses().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200]);
}

#[test]
fn rejected_expect_continue_gets_final_status_and_closes() {
    let head = format!(
        "POST /v1/track HTTP/1.1\r\n{}Expect: 100-continue\r\nContent-Length: 10\r\n\r\n",
        auth("nope")
    );
    let h = run(config(), head.as_bytes());
    let resps = h.responses();
    assert_eq!(resps.len(), 1);
    assert_eq!(resps[0].status, 401);
    assert!(resps[0].closes());
    assert!(h.conn.is_finished());
}

#[test]
fn gzip_bodies_are_decompressed() {
    let body = br#"{"batch":[{"type":"track","event":"E","userId":"u"}]}"#;
    let gz = gzip(body);
    let mut input = format!(
        "POST /v1/batch HTTP/1.1\r\n{}Content-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        auth("k1"),
        gz.len()
    )
    .into_bytes();
    input.extend(&gz);
    let h = run(config(), &input);
    assert_eq!(h.requests.len(), 1);
    assert_eq!(h.requests[0].body, &body[..]);
    assert_eq!(h.responses()[0].status, 200);
}

#[test]
fn gzip_bombs_and_corrupt_gzip_are_refused_and_the_connection_kept() {
    let mut c = config();
    c.max_request_bytes = 10_000;
    let bomb = gzip(&vec![b' '; 10_001]);
    assert!(bomb.len() < 200);
    let mut input = format!(
        "POST /v1/batch HTTP/1.1\r\n{}Content-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        auth("k1"),
        bomb.len()
    )
    .into_bytes();
    input.extend(&bomb);
    input.extend(
        format!(
            "POST /v1/batch HTTP/1.1\r\n{}Content-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello",
            auth("k1")
        )
        .as_bytes(),
    );
    input.extend(b"GET /health HTTP/1.1\r\n\r\n");
    let h = run(c, &input);
    let resps = h.responses();
    assert_eq!(
        resps.iter().map(|r| r.status).collect::<Vec<_>>(),
        [413, 400, 200]
    );
    assert_eq!(resps[0].json()["limit"], 10_000);
    assert!(h.requests.is_empty());
}

#[test]
fn request_over_the_limit_is_413_and_closes() {
    let big = "x".repeat(5000);
    let h = run(small_config(), &post("/v1/batch", "k1", &big));
    let resps = h.responses();
    assert_eq!(resps.len(), 1);
    assert_eq!(resps[0].status, 413);
    assert_eq!(resps[0].json()["limit"], 4096);
    assert!(resps[0].closes());

    let chunked = format!(
        "POST /v1/batch HTTP/1.1\r\n{}Transfer-Encoding: chunked\r\n\r\n800\r\n{}\r\n900\r\n",
        auth("k1"),
        "y".repeat(0x800)
    );
    let h = run(small_config(), chunked.as_bytes());
    let resps = h.responses();
    assert_eq!(resps.len(), 1);
    assert_eq!(resps[0].status, 413);
    assert!(h.conn.is_finished());
}

#[test]
fn event_over_the_limit_is_413_with_its_index() {
    let big = "p".repeat(600);
    let batch = format!(r#"{{"batch":[{{"a":1}},{{"a":"{big}"}}]}}"#);
    let mut input = post("/v1/track", "k1", &format!(r#"{{"a":"{big}"}}"#));
    input.extend(post("/v1/track", "k1", r#"{"a":1}"#));
    input.extend(post("/v1/batch", "k1", &batch));
    let h = run(small_config(), &input);
    let resps = h.responses();
    // A single event is measured here; a batch's events are measured by the
    // sink (the fake one accepts them), which is handed the limit.
    assert_eq!(
        resps.iter().map(|r| r.status).collect::<Vec<_>>(),
        [413, 200, 200]
    );
    assert_eq!(resps[0].json()["index"], 0);
    assert_eq!(resps[0].json()["limit"], 512);
    assert!(!resps[0].closes());
    assert_eq!(h.requests.len(), 2);
    assert_eq!(h.requests[1].body, batch.as_bytes());
    assert_eq!(h.requests[1].events, None);
    assert_eq!(h.requests[1].max_event_bytes, 512);
}

#[test]
fn auth_requires_a_known_write_key_and_maps_its_source() {
    let body = r#"{"event":"E","userId":"u"}"#;
    let no_auth = format!(
        "POST /v1/track HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let bearer = format!(
        "POST /v1/track HTTP/1.1\r\nAuthorization: Bearer k1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let with_password = format!(
        "POST /v1/track HTTP/1.1\r\nAuthorization: Basic {}\r\nContent-Length: {}\r\n\r\n{body}",
        base64_encode(b"k1:ignored"),
        body.len()
    );
    let mut input = no_auth.into_bytes();
    input.extend(post("/v1/track", "wrong", body));
    input.extend(bearer.as_bytes());
    input.extend(post("/v1/track", "k1", body));
    input.extend(post("/v1/track", "k2", body));
    input.extend(with_password.as_bytes());
    let h = run(config(), &input);
    let resps = h.responses();
    let statuses: Vec<u16> = resps.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 401, 200, 200, 200]);
    assert!(resps[0].header("www-authenticate").is_some());
    // 401 keeps the connection: the body was read and dropped.
    assert!(!resps[0].closes());
    let sources: Vec<Option<&str>> = h.requests.iter().map(|r| r.source.as_deref()).collect();
    assert_eq!(sources, [Some("web"), None, Some("web")]);
}

#[test]
fn malformed_requests_get_400_and_close() {
    for (input, status) in [
        (&b"GARBAGE\r\n\r\n"[..], 400),
        (
            b"POST /v1/track HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            400,
        ),
        (
            b"POST /v1/track HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST /v1/track HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (
            b"POST /v1/track HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
        ),
        (b"POST /v1/track HTTP/1.1\r\nExpect: magic\r\n\r\n", 417),
        (
            b"POST /v1/track HTTP/1.1\r\nContent-Encoding: br\r\n\r\n",
            415,
        ),
        (b"POST /v1/track HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (b"POST /v1/track HTTP/9.9\r\n\r\n", 400),
        (b"\x00\x01\x02\r\n\r\n", 400),
    ] {
        let mut stream = input.to_vec();
        stream.extend(b"GET /health HTTP/1.1\r\n\r\n");
        let h = run(config(), &stream);
        let resps = h.responses();
        assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(
            resps[0].status,
            status,
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert!(resps[0].closes());
        assert!(resps[0].json()["error"].is_string());
        assert!(h.conn.is_finished() && !h.conn.wants_read());
    }
}

#[test]
fn oversized_heads_get_431() {
    let mut c = config();
    c.max_head_bytes = 256;
    let long = format!("GET /health HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(300));
    let h = run(c.clone(), long.as_bytes());
    assert_eq!(h.responses()[0].status, 431);
    // Without an end in sight, too.
    let h = run(
        c,
        format!("GET /health HTTP/1.1\r\nX: {}", "a".repeat(300)).as_bytes(),
    );
    assert_eq!(h.responses()[0].status, 431);
    let many: String = (0..70).map(|i| format!("H{i}: v\r\n")).collect();
    let h = run(
        config(),
        format!("GET /health HTTP/1.1\r\n{many}\r\n").as_bytes(),
    );
    assert_eq!(h.responses()[0].status, 431);
}

#[test]
fn every_endpoint_routes_and_passes_the_body_as_sent() {
    let cases = [
        ("/v1/track", Endpoint::Event(EventType::Track)),
        ("/v1/identify", Endpoint::Event(EventType::Identify)),
        ("/v1/page", Endpoint::Event(EventType::Page)),
        ("/v1/screen", Endpoint::Event(EventType::Screen)),
        ("/v1/group", Endpoint::Event(EventType::Group)),
        ("/v1/alias", Endpoint::Event(EventType::Alias)),
        ("/v1/batch", Endpoint::Batch),
        ("/v1/import", Endpoint::Import),
    ];
    for (path, endpoint) in cases {
        assert_eq!(endpoint.path(), path);
        let h = run(
            config(),
            &post(&format!("{path}?x=1"), "k1", r#" {"userId":"u"}"#),
        );
        assert_eq!(h.responses()[0].status, 200, "{path}");
        let req = &h.requests[0];
        assert_eq!(req.endpoint, endpoint);
        assert_eq!(req.received, UNIX_EPOCH + Duration::from_secs(7));
        // The type is the sink's to imply, from the endpoint.
        assert_eq!(req.body, &br#" {"userId":"u"}"#[..]);
        let events = if endpoint.is_batch() { None } else { Some(1) };
        assert_eq!(req.events, events);
    }
    // Not JSON: passed on unchanged for the router to dead-letter.
    let h = run(config(), &post("/v1/track", "k1", "nope"));
    assert_eq!(h.requests[0].body, &b"nope"[..]);
}

#[test]
fn unknown_paths_and_methods() {
    let mut input = post("/v2/batch", "k1", "{}");
    input.extend(b"GET /v1/batch HTTP/1.1\r\n\r\n");
    input.extend(b"POST /health HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
    input.extend(b"HEAD /health HTTP/1.1\r\n\r\n");
    input.extend(b"GET /metrics HTTP/1.1\r\n\r\n");
    input.extend(b"GET /ready HTTP/1.1\r\nConnection: close\r\n\r\n");
    input.extend(b"GET /health HTTP/1.1\r\n\r\n");
    let h = run(config(), &input);
    let resps = parse_responses_head_aware(&h.out, &[false, false, false, true, false, false]);
    let statuses: Vec<u16> = resps.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [404, 405, 405, 200, 200, 200]);
    assert_eq!(resps[1].header("allow"), Some("POST"));
    assert_eq!(resps[2].header("allow"), Some("GET, HEAD"));
    assert!(resps[3].body.is_empty());
    assert_eq!(resps[4].body, b"m 1\n");
    assert!(resps[4]
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(resps[5].closes());
    assert!(h.conn.is_finished());
}

/// Like `parse_responses`, but responses to HEAD carry no body.
fn parse_responses_head_aware(mut out: &[u8], head: &[bool]) -> Vec<Resp> {
    let mut resps = Vec::new();
    for &is_head in head {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(n) = r.parse(out).unwrap() else {
            panic!("partial")
        };
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
        let len: usize = if is_head {
            0
        } else {
            headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0)
        };
        resps.push(Resp {
            status: r.code.unwrap(),
            headers,
            body: out[n..n + len].to_vec(),
        });
        out = &out[n + len..];
    }
    assert!(out.is_empty());
    resps
}

#[test]
fn sink_statuses_map_to_http_statuses() {
    let mut h = Harness::new(config());
    h.hold = true;
    let mut input = Vec::new();
    for _ in 0..4 {
        input.extend(post("/v1/track", "k1", r#"{"userId":"u"}"#));
    }
    h.feed(&input);
    let outcomes = [
        IngestOutcome::settled(
            0,
            1,
            vec![EventError {
                index: 0,
                code: "missing_field".into(),
                message: "missing required field: event".into(),
            }],
        ),
        IngestOutcome::unavailable(Some(Duration::from_secs(5)), "broker unreachable"),
        IngestOutcome::with_status(Status::TooLarge {
            limit: 10,
            index: Some(0),
        }),
        IngestOutcome::with_status(Status::Invalid {
            reason: "bad".into(),
        }),
    ];
    for ((id, _), outcome) in std::mem::take(&mut h.held).into_iter().zip(outcomes) {
        h.conn.respond(id, Reply::Ingest(outcome)).unwrap();
        assert_eq!(
            h.conn.respond(id, Reply::Ready(Ok(()))),
            Err(RespondError::UnknownRequest(id))
        );
    }
    h.pump();
    let resps = h.responses();
    let statuses: Vec<u16> = resps.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 503, 413, 400]);
    assert_eq!(resps[0].json()["dead_lettered"], 1);
    assert_eq!(resps[0].json()["errors"][0]["code"], "missing_field");
    assert_eq!(resps[1].header("retry-after"), Some("5"));
    assert_eq!(resps[1].json()["error"], "broker unreachable");
}

#[test]
fn http10_closes_unless_keep_alive_is_asked_for() {
    let h = run(
        config(),
        b"GET /health HTTP/1.0\r\n\r\nGET /health HTTP/1.0\r\n\r\n",
    );
    let resps = h.responses();
    assert_eq!(resps.len(), 1);
    assert!(resps[0].closes());
    let h = run(
        config(),
        b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /health HTTP/1.0\r\n\r\n",
    );
    let resps = h.responses();
    assert_eq!(resps.len(), 2);
    assert_eq!(resps[0].header("connection"), Some("keep-alive"));
    assert!(resps[1].closes());
}

#[test]
fn eof_mid_request_drops_it_and_finishes_after_pending_responses() {
    let mut h = Harness::new(config());
    h.hold = true;
    let mut input = post("/v1/track", "k1", r#"{"userId":"u"}"#);
    input.extend(b"POST /v1/track HTTP/1.1\r\nContent-Len");
    h.feed(&input);
    h.conn.handle_eof();
    assert!(!h.conn.is_finished());
    assert!(!h.conn.wants_read());
    h.hold = false;
    for (_, ev) in std::mem::take(&mut h.held) {
        let (id, reply) = h.answer(ev);
        h.conn.respond(id, reply).unwrap();
    }
    h.pump();
    assert_eq!(h.responses().len(), 1);
    assert!(h.conn.is_finished());
}

#[test]
fn shutdown_answers_parsed_requests_and_closes() {
    let mut h = Harness::new(config());
    h.hold = true;
    h.feed(&post("/v1/track", "k1", r#"{"userId":"u"}"#));
    h.conn.handle_shutdown();
    h.feed(b"GET /health HTTP/1.1\r\n\r\n");
    h.hold = false;
    for (_, ev) in std::mem::take(&mut h.held) {
        let (id, reply) = h.answer(ev);
        h.conn.respond(id, reply).unwrap();
    }
    h.pump();
    let resps = h.responses();
    assert_eq!(resps.len(), 1);
    assert!(resps[0].closes());
    assert!(h.conn.is_finished());
}

/// A stream exercising most paths: pipelining, chunked, gzip, 100-continue,
/// auth failures, limits, and a closing error at the end.
fn mixed_stream() -> Vec<u8> {
    let mut s = post(
        "/v1/batch",
        "k1",
        r#"{"batch":[{"type":"track","event":"E","userId":"u"}]}"#,
    );
    s.extend(
        format!(
            "POST /v1/track HTTP/1.1\r\n{}Transfer-Encoding: chunked\r\n\r\n5;x=y\r\n{{\"a\":\r\n2\r\n1}}\r\n0\r\nT: 1\r\n\r\n",
            auth("k2")
        )
        .as_bytes(),
    );
    let gz = gzip(br#"{"userId":"g"}"#);
    s.extend(
        format!(
            "POST /v1/identify HTTP/1.1\r\n{}Content-Encoding: gzip\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            auth("k1"),
            gz.len()
        )
        .as_bytes(),
    );
    s.extend(&gz);
    s.extend(post("/v1/page", "bad", "{}"));
    s.extend(b"\r\nGET /ready HTTP/1.1\r\n\r\n");
    s.extend(post(
        "/v1/track",
        "k1",
        &format!(r#"{{"a":"{}"}}"#, "z".repeat(600)),
    ));
    s.extend(b"GET /metrics HTTP/1.1\r\n\r\n");
    s.extend(b"BROKEN\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
    s
}

/// What the sink saw of one request.
type Seen = (Endpoint, Bytes, Option<usize>);

fn run_split(input: &[u8], splits: &[usize]) -> (Vec<u8>, Vec<Seen>) {
    let mut h = Harness::new(small_config());
    let mut last = 0;
    for &s in splits {
        h.feed(&input[last..s]);
        last = s;
    }
    h.feed(&input[last..]);
    let reqs = h
        .requests
        .into_iter()
        .map(|r| (r.endpoint, r.body, r.events))
        .collect();
    (h.out, reqs)
}

#[test]
fn mixed_stream_gives_the_expected_responses() {
    let (out, reqs) = run_split(&mixed_stream(), &[]);
    let statuses: Vec<u16> = parse_responses(&out).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 401, 200, 413, 200, 400]);
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].1, &br#"{"a":1}"#[..]);
    assert_eq!(reqs[2].1, &br#"{"userId":"g"}"#[..]);
}

#[test]
fn byte_at_a_time_gives_the_same_result() {
    let input = mixed_stream();
    let whole = run_split(&input, &[]);
    let splits: Vec<usize> = (1..input.len()).collect();
    let (out, reqs) = run_split(&input, &splits);
    // Fed byte by byte, the identify body is awaited after its head, so the
    // 100 Continue (and only it) is extra.
    let statuses: Vec<u16> = parse_responses(&out).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 100, 200, 401, 200, 413, 200, 400]);
    assert_eq!(reqs, whole.1);
}

fn without_continue(out: &[u8]) -> Vec<u8> {
    let mut v = out.to_vec();
    while let Some(p) = v.windows(CONTINUE.len()).position(|w| w == CONTINUE) {
        v.drain(p..p + CONTINUE.len());
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_split_gives_the_same_result(mut splits in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)) {
        let input = mixed_stream();
        let whole = run_split(&input, &[]);
        let mut points: Vec<usize> = splits.drain(..).map(|i| i.index(input.len())).collect();
        points.sort_unstable();
        points.dedup();
        let (out, reqs) = run_split(&input, &points);
        prop_assert_eq!(reqs, whole.1);
        prop_assert_eq!(without_continue(&out), whole.0);
    }

    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let mut h = Harness::new(small_config());
        for c in &chunks {
            h.feed(c);
        }
        h.conn.handle_eof();
        h.pump();
        prop_assert!(h.conn.is_finished());
    }

    #[test]
    fn mutated_requests_never_panic(
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut input = mixed_stream();
        let p = pos.index(input.len());
        input[p] = byte;
        let cut = cut.index(input.len());
        let mut h = Harness::new(small_config());
        h.feed(&input[..cut]);
        h.feed(&input[cut..]);
        h.conn.handle_eof();
        h.pump();
        prop_assert!(h.conn.is_finished());
    }
}

#[test]
fn blank_line_ends_a_head() {
    assert!(blank_line(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(blank_line(b"POST / HTTP/1.1\nHost: x\n\n{\"a\":1}"));
    assert!(blank_line(b"\r\n\r\n"));
    assert!(blank_line(b"\n\n"));
    assert!(!blank_line(b"POST / HTTP/1.1\r\nHost: x\r\n"));
    assert!(!blank_line(b"POST / HTTP/1.1\r\nHost: x\r\n\r"));
    assert!(!blank_line(b"\n\r"));
    assert!(!blank_line(b"\n"));
    assert!(!blank_line(b""));
}

proptest! {
    /// The line-feed search agrees with looking at every window of the
    /// input for `\n\n` or `\n\r\n`.
    #[test]
    fn blank_line_agrees_with_every_window(
        buf in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a')], 0..40)
    ) {
        let windows = buf.windows(2).any(|w| w == b"\n\n") || buf.windows(3).any(|w| w == b"\n\r\n");
        prop_assert_eq!(blank_line(&buf), windows);
    }
}
