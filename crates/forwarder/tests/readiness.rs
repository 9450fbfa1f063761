//! `GET /ready` tells a load balancer the truth: it turns 503, with a
//! reason, while records wait and none can be persisted, and 200 again by
//! itself once deliveries succeed. Against a real broker (Tansu) stopped
//! and started again.

mod common;

use std::time::{Duration, Instant};

use common::{request, Forwarder};
use forwarder_e2e::broker::{Broker, Storage};
use serde_json::{json, Value};

/// Polls `/ready` until its status is `want`; returns the body.
fn ready_until(fwd: &Forwarder, want: u16, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = request(fwd.port, "GET", "/ready", None, b"", &[]).expect("ready");
        if status == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/ready stayed {status} {body}\n{}",
            fwd.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn post(fwd: &Forwarder, id: usize) -> u16 {
    let body = json!({"type": "track", "event": "E", "userId": "u", "messageId": format!("m{id}")});
    request(
        fwd.port,
        "POST",
        "/v1/track",
        Some("k"),
        body.to_string().as_bytes(),
        &[],
    )
    .expect("post")
    .0
}

#[test]
fn ready_turns_503_while_nothing_can_be_persisted_and_200_once_it_can() {
    let mut broker = Broker::start(Storage::Sqlite);
    broker.create_topic("events", 2);
    let config = format!(
        r#"workers = 1

[ingest]
listen = "127.0.0.1:{{PORT}}"
write_keys = [{{ key = "k" }}]
request_timeout_ms = 1000
ready_stall_ms = 2000

[kafka]
"bootstrap.servers" = "{}"
"linger.ms" = 2
"delivery.timeout.ms" = 120000
"reconnect.backoff.max.ms" = 500

[router]
default_topic = "events"
"#,
        broker.addr()
    );
    let mut fwd = Forwarder::start(&config);
    fwd.wait_ready();
    assert_eq!(post(&fwd, 0), 200);
    ready_until(&fwd, 200, Duration::from_secs(5));

    broker.stop();
    // Records now wait: the request times out, and /ready follows once
    // they have waited ready_stall_ms.
    assert_eq!(post(&fwd, 1), 503);
    let body = ready_until(&fwd, 503, Duration::from_secs(20));
    let v: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["ready"], false);
    let reason = v["reason"].as_str().expect("reason");
    assert!(
        reason.contains("no record persisted for 2000 ms"),
        "{reason}"
    );

    broker.start_again();
    // The waiting record is delivered: ready again with no request needed.
    ready_until(&fwd, 200, Duration::from_secs(30));
    assert_eq!(post(&fwd, 2), 200);
    fwd.terminate();
}

#[test]
fn ready_turns_503_while_the_broker_refuses_the_credentials() {
    use forwarder_e2e::security_fixtures::{ScramUser, TansuBroker};
    let mut broker =
        TansuBroker::with_scram_users(&[("fwd", "fwd-secret", ScramUser::Sha512)], &["events"]);
    let config = format!(
        r#"workers = 1

[ingest]
listen = "127.0.0.1:{{PORT}}"
write_keys = [{{ key = "k" }}]
request_timeout_ms = 2000

[kafka]
"bootstrap.servers" = "{}"
"linger.ms" = 2
"security.protocol" = "SASL_PLAINTEXT"
"sasl.mechanism" = "SCRAM-SHA-512"
"sasl.username" = "fwd"
"sasl.password" = "fwd-secret"
"sasl.allow.plaintext" = true
"reconnect.backoff.max.ms" = 500

[router]
default_topic = "events"
"#,
        broker.addr()
    );
    let mut fwd = Forwarder::start(&config);
    fwd.wait_ready();
    assert_eq!(post(&fwd, 0), 200);

    // The user is deleted (the broker restarts, closing our connections):
    // the reconnection is refused.
    broker.delete_scram_user("fwd", ScramUser::Sha512);
    let body = ready_until(&fwd, 503, Duration::from_secs(30));
    let v: Value = serde_json::from_str(&body).expect("JSON");
    let reason = v["reason"].as_str().expect("reason");
    assert!(reason.contains("authentication"), "{reason}");
    assert!(!reason.contains("fwd-secret"), "{reason}");
    assert_eq!(post(&fwd, 1), 503);

    // Created again: ready by itself, and requests go through.
    broker.create_scram_user("fwd", "fwd-secret", ScramUser::Sha512);
    ready_until(&fwd, 200, Duration::from_secs(30));
    assert_eq!(post(&fwd, 2), 200);
    fwd.terminate();
    assert!(!fwd.log().contains("fwd-secret"));
}
