//! A broker whose answers cannot be decoded: the forwarder logs it at WARN
//! with the broker, API, version and decode error, reconnects with
//! `reconnect.backoff.ms` doubling to `reconnect.backoff.max.ms` (never in
//! a tight loop), and names the error in its 503s. The "broker" here is a
//! loopback listener that answers every request with a frame that has the
//! right correlation id and a body no API can decode.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{request, Forwarder};

/// Serves garbage answers; returns the port and the count of connections.
fn garbage_broker() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || loop {
                let mut size = [0u8; 4];
                if s.read_exact(&mut size).is_err() {
                    return;
                }
                let mut frame = vec![0u8; i32::from_be_bytes(size).max(0) as usize];
                if s.read_exact(&mut frame).is_err() || frame.len() < 8 {
                    return;
                }
                // Header v1: api key, version, correlation id.
                let corr = &frame[4..8];
                let mut answer = Vec::new();
                answer.extend_from_slice(&7i32.to_be_bytes());
                answer.extend_from_slice(corr);
                answer.extend_from_slice(&[0xff, 0xff, 0xff]);
                if s.write_all(&answer).is_err() {
                    return;
                }
            });
        }
    });
    (port, accepted)
}

#[test]
fn undecodable_answers_are_logged_retried_with_backoff_and_named_in_the_503() {
    let (port, accepted) = garbage_broker();
    let config = format!(
        r#"workers = 1

[ingest]
listen = "127.0.0.1:{{PORT}}"
write_keys = [{{ key = "k" }}]
request_timeout_ms = 1500

[kafka]
"bootstrap.servers" = "127.0.0.1:{port}"
"reconnect.backoff.ms" = 100
"reconnect.backoff.max.ms" = 1000

[router]
default_topic = "events"
"#
    );
    let started = Instant::now();
    let mut fwd = Forwarder::start(&config);
    let body = br#"{"type":"track","event":"E","userId":"u"}"#;
    let (status, text) =
        request(fwd.port, "POST", "/v1/track", Some("k"), body, &[]).expect("post");
    assert_eq!(status, 503, "{text}");
    assert!(
        text.contains("unusable ApiVersions v0 response from broker 127.0.0.1"),
        "{text}"
    );
    std::thread::sleep(Duration::from_secs(4).saturating_sub(started.elapsed()));
    let connections = accepted.load(Ordering::SeqCst);
    let (ready, _) = request(fwd.port, "GET", "/ready", None, b"", &[]).expect("ready");
    assert_eq!(ready, 503);
    fwd.terminate();
    let log = fwd.log();
    // 100 ms doubling to 1 s: about 7 attempts in 4 s, not hundreds.
    assert!(
        (2..=12).contains(&connections),
        "{connections} connections\n{log}"
    );
    let warn = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("unusable response"))
        .unwrap_or_else(|| panic!("no warning in\n{log}"));
    assert!(warn.contains("ApiVersions"), "{warn}");
    assert!(warn.contains(&format!("127.0.0.1:{port}")), "{warn}");
    assert!(warn.contains("version=0"), "{warn}");
}
