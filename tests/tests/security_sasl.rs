//! SASL end to end: SCRAM-SHA-256 and SCRAM-SHA-512 against Tansu with
//! `--authentication`; PLAIN against an in-test SASL endpoint (Tansu has
//! no PLAIN) relaying to Tansu, over TLS (stunnel) and, with the opt-in,
//! without.

use forwarder_e2e::broker::{free_port, Broker, Storage};
use forwarder_e2e::engines;
use forwarder_e2e::security_fixtures::{
    producer_config, run_producer, LogCapture, Pki, PlainSaslProxy, ScramUser, Stunnel,
    TansuBroker, NO_DELIVERY_TIMEOUT,
};
use kafka_net::AuthErrorKind;
use kafka_wire::ErrorCode;

const SASL_FAILED: AuthErrorKind = AuthErrorKind::Sasl(ErrorCode::SaslAuthenticationFailed);

#[test]
fn scram_each_mechanism_produces_and_a_wrong_password_produces_nothing() {
    let broker = TansuBroker::with_scram_users(
        &[
            ("alice256", "pw-256-secret", ScramUser::Sha256),
            ("bob512", "pw-512-secret", ScramUser::Sha512),
        ],
        &["scram-256", "scram-512", "scram-bad"],
    );
    let addr = broker.addr();
    for engine in engines() {
        for (mechanism, user, password, topic) in [
            ("SCRAM-SHA-256", "alice256", "pw-256-secret", "scram-256"),
            ("SCRAM-SHA-512", "bob512", "pw-512-secret", "scram-512"),
        ] {
            let run = run_producer(
                engine,
                &[
                    ("bootstrap.servers", &addr),
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.allow.plaintext", "true"),
                    ("sasl.mechanism", mechanism),
                    ("sasl.username", user),
                    ("sasl.password", password),
                ],
                topic,
                10,
            );
            assert!(
                run.all_persisted(),
                "{engine:?} {mechanism}: {:?}",
                run.outcomes
            );
        }
    }

    // A wrong password: refused with a clear error, nothing written. Each
    // record's outcome is the authentication error (with a delivery
    // timeout of ten minutes, only the authentication path can end the
    // run: a timeout would say so).
    for engine in engines() {
        let (logs, _guard) = LogCapture::on_this_thread();
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.allow.plaintext", "true"),
                ("sasl.mechanism", "SCRAM-SHA-256"),
                ("sasl.username", "alice256"),
                ("sasl.password", "not-the-password"),
                NO_DELIVERY_TIMEOUT,
            ],
            "scram-bad",
            5,
        );
        assert!(
            run.all_failed_authentication(
                SASL_FAILED,
                "SASL SCRAM-SHA-256 authentication failed (check sasl.username and sasl.password)"
            ),
            "{engine:?}: {:?}",
            run.outcomes
        );
        assert!(!format!("{:?}", run.outcomes).contains("not-the-password"));
        let text = logs.text();
        assert!(
            text.contains("SASL SCRAM-SHA-256 authentication failed"),
            "{engine:?}: {text}"
        );
        assert!(!text.contains("not-the-password"));
    }
    // Nothing reached the log: the first record written with the right
    // password is at offset 0.
    let run = run_producer(
        kafka_net::Engine::Epoll,
        &[
            ("bootstrap.servers", &addr),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.allow.plaintext", "true"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.username", "alice256"),
            ("sasl.password", "pw-256-secret"),
        ],
        "scram-bad",
        1,
    );
    assert_eq!(run.offsets(), vec![0], "{:?}", run.outcomes);
}

#[test]
fn scram_mechanism_the_user_lacks_is_refused() {
    // alice has SCRAM-SHA-256 credentials only.
    let broker = TansuBroker::with_scram_users(&[("alice", "pw", ScramUser::Sha256)], &["t"]);
    let addr = broker.addr();
    let (logs, _guard) = LogCapture::on_this_thread();
    let run = run_producer(
        kafka_net::Engine::Epoll,
        &[
            ("bootstrap.servers", &addr),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.allow.plaintext", "true"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
            ("sasl.password", "pw"),
            NO_DELIVERY_TIMEOUT,
        ],
        "t",
        2,
    );
    assert!(
        run.all_failed_authentication(SASL_FAILED, "SASL SCRAM-SHA-512 authentication failed"),
        "{:?}",
        run.outcomes
    );
    let text = logs.text();
    assert!(
        text.contains("SASL SCRAM-SHA-512 authentication failed"),
        "{text}"
    );
}

#[test]
fn plain_over_tls_produces_and_wrong_credentials_fail() {
    // client --TLS--> stunnel --> PLAIN endpoint --> Tansu
    let tls_port = free_port();
    let proxy_port = free_port();
    let broker = Broker::start_advertising(Storage::Memory, Some(tls_port));
    broker.create_topic("plain", 1);
    let proxy = PlainSaslProxy::start(proxy_port, broker.port(), "api-key", "api-secret");
    let pki = Pki::new("test CA");
    let tunnel = Stunnel::start(tls_port, proxy_port, &pki.issue(&["127.0.0.1"]), None);
    let (addr, ca) = (tunnel.addr(), pki.ca_pem());
    for engine in engines() {
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SASL_SSL"),
                ("ssl.ca.pem", &ca),
                ("sasl.mechanisms", "PLAIN"),
                ("sasl.username", "api-key"),
                ("sasl.password", "api-secret"),
            ],
            "plain",
            10,
        );
        assert!(run.all_persisted(), "{engine:?}: {:?}", run.outcomes);
    }
    assert!(proxy.accepted.load(std::sync::atomic::Ordering::SeqCst) > 0);

    let (logs, _guard) = LogCapture::on_this_thread();
    let run = run_producer(
        kafka_net::Engine::Epoll,
        &[
            ("bootstrap.servers", &addr),
            ("security.protocol", "SASL_SSL"),
            ("ssl.ca.pem", &ca),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "api-key"),
            ("sasl.password", "wrong-secret"),
            NO_DELIVERY_TIMEOUT,
        ],
        "plain",
        3,
    );
    assert!(
        run.all_failed_authentication(SASL_FAILED, "Invalid username or password"),
        "{:?}",
        run.outcomes
    );
    let text = logs.text();
    assert!(
        text.contains("SASL PLAIN authentication failed")
            && text.contains("Invalid username or password"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"));
    assert!(proxy.refused.load(std::sync::atomic::Ordering::SeqCst) > 0);
}

#[test]
fn plain_without_tls_needs_the_opt_in() {
    let proxy_port = free_port();
    let broker = Broker::start_advertising(Storage::Memory, Some(proxy_port));
    broker.create_topic("plain-clear", 1);
    let proxy = PlainSaslProxy::start(proxy_port, broker.port(), "user", "secret");
    let addr = proxy.addr();
    let props = [
        ("bootstrap.servers", addr.as_str()),
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.username", "user"),
        ("sasl.password", "secret"),
    ];
    // Refused at start-up, naming the setting; no connection is made.
    let e = producer_config(&props)
        .and_then(|cfg| {
            let rt = kafka_net::Runtime::new(kafka_net::Engine::Epoll)?;
            rt.block_on(async {
                kafka_net::Producer::with_security(
                    cfg.producer,
                    &cfg.security,
                    kafka_net::Engine::Epoll,
                )
                .map(|_| ())
            })
        })
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("security.protocol"), "{msg}");
    assert!(msg.contains("sasl.allow.plaintext=true"), "{msg}");
    assert!(!msg.contains("secret"), "{msg}");
    assert_eq!(proxy.accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(proxy.refused.load(std::sync::atomic::Ordering::SeqCst), 0);

    // With the opt-in it works, and says so loudly.
    let mut with = props.to_vec();
    with.push(("sasl.allow.plaintext", "true"));
    for engine in engines() {
        let (logs, _guard) = LogCapture::on_this_thread();
        let run = run_producer(engine, &with, "plain-clear", 5);
        assert!(run.all_persisted(), "{engine:?}: {:?}", run.outcomes);
        let text = logs.text();
        assert!(
            text.contains("WARN") && text.contains("SASL_PLAINTEXT"),
            "{text}"
        );
    }
}
