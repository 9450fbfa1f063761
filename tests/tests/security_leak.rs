//! Secrets never reach the logs: a SASL_SSL session with PLAIN (the
//! password crosses the connection as it is) and a client certificate
//! (a private key in the configuration), with every log event of the
//! process captured at trace level, rustls' own included.

use forwarder_e2e::broker::{free_port, Broker, Storage};
use forwarder_e2e::engines;
use forwarder_e2e::security_fixtures::{run_producer, LogCapture, Pki, PlainSaslProxy, Stunnel};

#[test]
fn trace_logs_of_an_authenticated_tls_session_hold_no_secret() {
    let logs = LogCapture::global();
    let tls_port = free_port();
    let proxy_port = free_port();
    let broker = Broker::start_advertising(Storage::Memory, Some(tls_port));
    broker.create_topic("leak", 1);
    const PASSWORD: &str = "Pa55w0rd-that-must-not-leak";
    let _proxy = PlainSaslProxy::start(proxy_port, broker.port(), "user", PASSWORD);
    let pki = Pki::new("test CA");
    let clients = Pki::new("client CA");
    let client = clients.issue(&["forwarder"]);
    let tunnel = Stunnel::start(
        tls_port,
        proxy_port,
        &pki.issue(&["127.0.0.1"]),
        Some(&clients.ca_pem()),
    );
    let (addr, ca) = (tunnel.addr(), pki.ca_pem());
    for engine in engines() {
        let run = run_producer(
            engine,
            &[
                ("bootstrap.servers", &addr),
                ("security.protocol", "SASL_SSL"),
                ("ssl.ca.pem", &ca),
                ("ssl.certificate.pem", &client.cert),
                ("ssl.key.pem", &client.key),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.username", "user"),
                ("sasl.password", PASSWORD),
            ],
            "leak",
            20,
        );
        assert!(run.all_persisted(), "{engine:?}: {:?}", run.outcomes);
    }
    let text = logs.text();
    // The capture worked: the session was logged at trace level.
    assert!(text.contains("TRACE") || text.contains("DEBUG"), "{text}");
    assert!(text.contains("TLS established"), "{text}");
    assert!(text.contains("SASL authenticated"), "{text}");
    assert!(!text.contains(PASSWORD), "password in the logs");
    // No line of the key's base64 body, nor its PEM as a whole.
    assert!(!text.contains(client.key.trim()), "key in the logs");
    for line in client.key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(line), "key material in the logs: {line}");
    }
}
