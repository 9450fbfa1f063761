//! TLS against an in-test rustls server, on each engine: what the broker
//! sees when the driver refuses its certificate.

use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use kafka_net::{io_uring_available, Engine, NetConfig, Outcome, Producer, RecordRef, Runtime};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{AlertDescription, ServerConfig, ServerConnection};

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Epoll];
    if io_uring_available().is_ok() {
        v.push(Engine::IoUring);
    }
    v
}

/// A self-signed CA named `name` (CAs of one name would be told apart
/// by their signatures only, and refused as `decrypt error`).
fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    (cert, key)
}

/// A TLS server on a free port presenting a certificate for 127.0.0.1
/// signed by `ca`. It runs the handshake of the first connection and
/// returns how it ended.
fn tls_server(ca: &(rcgen::Certificate, KeyPair)) -> (u16, JoinHandle<Result<(), rustls::Error>>) {
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca.0, &ca.1)
        .unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut conn = ServerConnection::new(Arc::new(config)).unwrap();
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                // A TLS error as itself, an I/O error (the client hung up
                // without a word) by its kind.
                let kind = e.kind();
                return Err(
                    match e.into_inner().map(|i| i.downcast::<rustls::Error>()) {
                        Some(Ok(tls)) => *tls,
                        _ => rustls::Error::General(format!("{kind:?}")),
                    },
                );
            }
        }
        Ok(())
    });
    (port, server)
}

#[test]
fn a_refused_certificate_is_answered_with_an_alert() {
    let trusted = ca("trusted CA");
    let unknown = ca("unknown CA");
    for engine in engines() {
        let (port, server) = tls_server(&unknown);
        let addr = format!("127.0.0.1:{port}");
        let trusted_pem = trusted.0.pem();
        let cfg = NetConfig::from_properties([
            ("bootstrap.servers", addr.as_str()),
            ("security.protocol", "SSL"),
            ("ssl.ca.pem", trusted_pem.as_str()),
            ("delivery.timeout.ms", "5000"),
        ])
        .unwrap();
        let rt = Runtime::new(engine).unwrap();
        let outcome = rt.block_on(async {
            let p = Producer::with_security(cfg.producer, &cfg.security, engine).unwrap();
            let d = p
                .send(RecordRef {
                    topic: "t",
                    partition: None,
                    key: None,
                    value: Some(b"v"),
                    headers: &[],
                    timestamp: 0,
                })
                .unwrap();
            let o = d.await.unwrap();
            p.close().await;
            o
        });
        assert!(
            matches!(outcome, Outcome::NotPersisted(_)),
            "{engine:?}: {outcome:?}"
        );
        let seen = server.join().unwrap();
        assert_eq!(
            seen,
            Err(rustls::Error::AlertReceived(AlertDescription::UnknownCA)),
            "{engine:?}: the server learns why"
        );
    }
}
