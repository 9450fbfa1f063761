//! TLS end to end: stunnel (TLS, certificates made here) in front of a
//! Tansu broker that advertises stunnel's port, so every connection of the
//! producer, bootstrap and leader alike, goes through TLS.

use forwarder_e2e::broker::{free_port, Broker, Storage};
use forwarder_e2e::engines;
use forwarder_e2e::security_fixtures::{
    run_producer, Issued, LogCapture, Pki, Stunnel, TansuBroker, NO_DELIVERY_TIMEOUT,
};
use kafka_net::AuthErrorKind;

const TOPIC: &str = "tls";

/// A broker behind stunnel presenting `server`; with `client_ca`, stunnel
/// requires a client certificate signed by it.
fn tls_broker(server: &Issued, client_ca: Option<&str>) -> (Broker, Stunnel) {
    let port = free_port();
    let broker = Broker::start_advertising(Storage::Memory, Some(port));
    broker.create_topic(TOPIC, 1);
    let tunnel = Stunnel::start(port, broker.port(), server, client_ca);
    (broker, tunnel)
}

#[test]
fn valid_ca_succeeds() {
    let pki = Pki::new("test CA");
    let (_broker, tunnel) = tls_broker(&pki.issue(&["127.0.0.1"]), None);
    let ca = pki.ca_pem();
    let addr = tunnel.addr();
    for engine in engines() {
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SSL"),
                ("ssl.ca.pem", &ca),
            ],
            TOPIC,
            10,
        );
        assert!(
            run.all_persisted(),
            "{engine:?}: {:?}\n{}",
            run.outcomes,
            tunnel.log()
        );
    }
}

#[test]
fn ca_from_a_file_succeeds() {
    let pki = Pki::new("test CA");
    let (_broker, tunnel) = tls_broker(&pki.issue(&["127.0.0.1"]), None);
    let dir = forwarder_e2e::broker::TempDir::new("ca-file");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, pki.ca_pem()).unwrap();
    let ca_file = ca_file.display().to_string();
    let addr = tunnel.addr();
    let run = run_producer(
        kafka_net::Engine::Epoll,
        &[
            ("bootstrap.servers", &addr),
            ("security.protocol", "ssl"),
            ("ssl.ca.location", &ca_file),
        ],
        TOPIC,
        3,
    );
    assert!(run.all_persisted(), "{:?}", run.outcomes);
}

#[test]
fn wrong_ca_fails_with_a_clear_error() {
    let pki = Pki::new("test CA");
    let other = Pki::new("some other CA");
    let (_broker, tunnel) = tls_broker(&pki.issue(&["127.0.0.1"]), None);
    let ca = other.ca_pem();
    let addr = tunnel.addr();
    for engine in engines() {
        let (logs, _guard) = LogCapture::on_this_thread();
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SSL"),
                ("ssl.ca.pem", &ca),
                NO_DELIVERY_TIMEOUT,
            ],
            TOPIC,
            3,
        );
        // Each record fails with the verification error, not a timeout
        // (ten minutes away).
        assert!(
            run.all_failed_authentication(
                AuthErrorKind::TlsCertificate,
                "the certificate of 127.0.0.1 is not signed by a trusted CA"
            ),
            "{engine:?}: {:?}",
            run.outcomes
        );
        let text = logs.text();
        assert!(
            text.contains("the certificate of 127.0.0.1 is not signed by a trusted CA"),
            "{engine:?}: {text}"
        );
    }
}

#[test]
fn hostname_mismatch_fails_and_passes_with_the_check_off() {
    let pki = Pki::new("test CA");
    // The certificate names another host than the one connected to.
    let (_broker, tunnel) = tls_broker(&pki.issue(&["broker.invalid"]), None);
    let ca = pki.ca_pem();
    let addr = tunnel.addr();
    for engine in engines() {
        let (logs, _guard) = LogCapture::on_this_thread();
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SSL"),
                ("ssl.ca.pem", &ca),
                NO_DELIVERY_TIMEOUT,
            ],
            TOPIC,
            3,
        );
        assert!(
            run.all_failed_authentication(
                AuthErrorKind::TlsCertificate,
                "is not valid for the name `127.0.0.1`"
            ),
            "{engine:?}: {:?}",
            run.outcomes
        );
        let text = logs.text();
        assert!(
            text.contains("is not valid for the name `127.0.0.1`"),
            "{engine:?}: {text}"
        );

        let (logs, _guard) = LogCapture::on_this_thread();
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SSL"),
                ("ssl.ca.pem", &ca),
                ("ssl.endpoint.identification.algorithm", "none"),
            ],
            TOPIC,
            3,
        );
        assert!(run.all_persisted(), "{engine:?}: {:?}", run.outcomes);
        // The escape hatch is loud.
        assert!(
            logs.text()
                .contains("ssl.endpoint.identification.algorithm=none"),
            "{}",
            logs.text()
        );
    }
}

#[test]
fn verification_off_accepts_an_untrusted_certificate_loudly() {
    let pki = Pki::new("test CA");
    let (_broker, tunnel) = tls_broker(&pki.issue(&["broker.invalid"]), None);
    let addr = tunnel.addr();
    let (logs, _guard) = LogCapture::on_this_thread();
    let run = run_producer(
        kafka_net::Engine::Epoll,
        &[
            ("bootstrap.servers", &addr),
            ("security.protocol", "SSL"),
            ("enable.ssl.certificate.verification", "false"),
        ],
        TOPIC,
        3,
    );
    assert!(run.all_persisted(), "{:?}", run.outcomes);
    assert!(logs.text().contains("WARN"), "{}", logs.text());
    assert!(
        logs.text()
            .contains("enable.ssl.certificate.verification=false"),
        "{}",
        logs.text()
    );
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let pki = Pki::new("test CA");
    let clients = Pki::new("client CA");
    let (_broker, tunnel) = tls_broker(&pki.issue(&["127.0.0.1"]), Some(&clients.ca_pem()));
    let ca = pki.ca_pem();
    let addr = tunnel.addr();
    let client = clients.issue(&["forwarder"]);
    let dir = forwarder_e2e::broker::TempDir::new("client-cert");
    let (cert_file, key_file) = (dir.path().join("client.pem"), dir.path().join("client.key"));
    std::fs::write(&cert_file, &client.cert).unwrap();
    std::fs::write(&key_file, &client.key).unwrap();
    let (cert_file, key_file) = (
        cert_file.display().to_string(),
        key_file.display().to_string(),
    );
    for engine in engines() {
        // With the certificate, from files.
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SSL"),
                ("ssl.ca.pem", &ca),
                ("ssl.certificate.location", &cert_file),
                ("ssl.key.location", &key_file),
            ],
            TOPIC,
            5,
        );
        assert!(
            run.all_persisted(),
            "{engine:?}: {:?}\n{}",
            run.outcomes,
            tunnel.log()
        );
        // And inline.
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SSL"),
                ("ssl.ca.pem", &ca),
                ("ssl.certificate.pem", &client.cert),
                ("ssl.key.pem", &client.key),
            ],
            TOPIC,
            5,
        );
        assert!(run.all_persisted(), "{engine:?}: {:?}", run.outcomes);

        // Without one: the broker's refusal is an authentication error.
        let (logs, _guard) = LogCapture::on_this_thread();
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SSL"),
                ("ssl.ca.pem", &ca),
                NO_DELIVERY_TIMEOUT,
            ],
            TOPIC,
            3,
        );
        assert!(
            run.all_failed_authentication(AuthErrorKind::TlsCertificate, "client certificate"),
            "{engine:?}: {:?}",
            run.outcomes
        );
        let text = logs.text();
        assert!(text.contains("client certificate"), "{engine:?}: {text}");

        // With a certificate the server does not trust.
        let stranger = Pki::new("stranger CA").issue(&["forwarder"]);
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SSL"),
                ("ssl.ca.pem", &ca),
                ("ssl.certificate.pem", &stranger.cert),
                ("ssl.key.pem", &stranger.key),
                NO_DELIVERY_TIMEOUT,
            ],
            TOPIC,
            3,
        );
        assert!(
            run.all_failed_authentication(AuthErrorKind::TlsCertificate, "127.0.0.1"),
            "{engine:?}: {:?}",
            run.outcomes
        );
    }
}

#[test]
fn tls_settings_with_plaintext_are_refused() {
    let e = forwarder_e2e::security_fixtures::producer_config(&[
        ("bootstrap.servers", "127.0.0.1:1"),
        ("ssl.ca.location", "/nonexistent.pem"),
    ])
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
    assert!(e.to_string().contains("ssl.ca.location"), "{e}");
    assert!(e.to_string().contains("PLAINTEXT"), "{e}");
}

/// The bootstrap connection goes to 127.0.0.1, the broker advertises
/// 127.0.0.2 (both loopback, both served by stunnel): each connection must
/// verify the name it goes to, so a certificate for 127.0.0.1 alone lets
/// the bootstrap through and stops the leader connection.
#[test]
fn each_broker_is_verified_under_its_advertised_name() {
    let port = free_port();
    let broker = TansuBroker::advertising(&format!("127.0.0.2:{port}"), &[TOPIC]);
    let pki = Pki::new("test CA");
    let ca = pki.ca_pem();
    let bootstrap = format!("127.0.0.1:{port}");
    let props = [
        ("bootstrap.servers", bootstrap.as_str()),
        ("security.protocol", "SSL"),
        ("ssl.ca.pem", ca.as_str()),
    ];
    {
        let only_bootstrap = pki.issue(&["127.0.0.1"]);
        let _tunnel = Stunnel::start_on(
            &["127.0.0.1", "127.0.0.2"],
            port,
            broker.port(),
            &only_bootstrap,
            None,
        );
        let (logs, _guard) = LogCapture::on_this_thread();
        let run = run_producer(kafka_net::Engine::Epoll, &props, TOPIC, 3);
        assert!(run.none_persisted(), "{:?}", run.outcomes);
        let text = logs.text();
        assert!(
            text.contains("is not valid for the name `127.0.0.2`"),
            "{text}"
        );
        assert!(
            !text.contains("is not valid for the name `127.0.0.1`"),
            "{text}"
        );
    }
    let both = pki.issue(&["127.0.0.1", "127.0.0.2"]);
    let _tunnel = Stunnel::start_on(
        &["127.0.0.1", "127.0.0.2"],
        port,
        broker.port(),
        &both,
        None,
    );
    for engine in engines() {
        let run = run_producer(engine, &props, TOPIC, 3);
        assert!(run.all_persisted(), "{engine:?}: {:?}", run.outcomes);
    }
}
