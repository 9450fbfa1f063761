//! The rustls client configuration built from [`TlsSettings`], and the
//! server name each broker connection verifies.
//!
//! - TLS 1.2 and 1.3 only, with the `ring` provider.
//! - Trust anchors: `ssl.ca.location` (a PEM file, or a directory whose
//!   files are read) and `ssl.ca.pem` (inline; may hold many
//!   certificates, and a bare base64 body without the `BEGIN`/`END` lines
//!   is accepted as one certificate); `ssl.ca.location=probe` for the
//!   operating system's store; otherwise the Mozilla roots of
//!   `webpki-roots`.
//! - The host name checked (and sent as SNI) is the host the connection
//!   goes to, that is each broker's advertised host, not only the
//!   bootstrap host ([`server_name`]).
//! - `ssl.endpoint.identification.algorithm=none` keeps the chain check
//!   and skips the name check; `enable.ssl.certificate.verification=false`
//!   skips both (handshake signatures are still checked). Both are logged
//!   loudly by [`super::Connector::new`].
//! - Client certificates: a PEM chain and a PEM key in PKCS#8, PKCS#1
//!   (RSA) or SEC1 (EC) form.
//!
//! # References
//! - rustls `ClientConfig`, `ServerCertVerifier`
//! - librdkafka `CONFIGURATION.md` (`ssl.*`)

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::config::{PemSource, TlsSettings};
use super::secret::Secret;

/// Why the TLS configuration could not be built. Never quotes key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("`{key}`: cannot read {path}: {reason}")]
    Read {
        /// The property naming the file.
        key: &'static str,
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// PEM data without a usable certificate or key.
    #[error("`{key}`: {reason}")]
    Pem {
        /// The property.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration (for example a key that does not
    /// match the certificate).
    #[error("TLS configuration refused: {0}")]
    Rustls(String),
    /// A broker host that is not a valid DNS name or IP address.
    #[error("`{0}` is not a valid TLS server name")]
    ServerName(String),
}

/// Builds the client configuration for `settings`.
pub fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Rustls(e.to_string()))?;

    let builder = if !settings.verify_certificates {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RelaxedVerification {
                roots: None,
                provider,
            }))
    } else {
        let roots = Arc::new(root_store(settings)?);
        if settings.verify_hostname {
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(RelaxedVerification {
                    roots: Some(roots),
                    provider,
                }))
        }
    };

    let config = match (&settings.certificate, &settings.key) {
        (Some(cert), Some(key)) => {
            let chain = load_certificates(cert, "ssl.certificate.location", "ssl.certificate.pem")?;
            let key = load_key(key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::Rustls(format!("client certificate and key: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name a connection to `host` verifies and sends as SNI: a DNS name,
/// or an IP address (checked against the certificate's IP addresses; no
/// SNI is sent for those). IPv6 brackets are removed.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(h.to_owned()).map_err(|_| TlsError::ServerName(host.to_owned()))
}

/// A handshake failure as a [`SetupError::Tls`](super::SetupError::Tls):
/// told so that the user knows which setting to look at, and marked as a
/// certificate failure when it is one ([`is_certificate_failure`]).
pub fn handshake_error(e: &rustls::Error, host: &str) -> super::SetupError {
    super::SetupError::Tls {
        host: host.to_owned(),
        reason: describe_handshake_error(e, host),
        certificate: is_certificate_failure(e),
    }
}

/// Whether a handshake failed on a certificate: the broker's was not
/// verified, or the broker refused ours or required one (the alerts a
/// server sends for that). Such a failure is an authentication failure:
/// retrying cannot help until a setting or a certificate changes.
pub fn is_certificate_failure(e: &rustls::Error) -> bool {
    use rustls::{AlertDescription as A, Error as E};
    matches!(
        e,
        E::InvalidCertificate(_)
            | E::NoCertificatesPresented
            | E::AlertReceived(
                A::CertificateRequired
                    | A::BadCertificate
                    | A::UnknownCA
                    | A::CertificateUnknown
                    | A::CertificateExpired
                    | A::CertificateRevoked
                    | A::UnsupportedCertificate
                    | A::AccessDenied
            )
    )
}

/// A handshake failure, told so that the user knows which setting to look
/// at.
pub fn describe_handshake_error(e: &rustls::Error, host: &str) -> String {
    use rustls::{AlertDescription as A, Error as E};
    match e {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "the certificate of {host} is not signed by a trusted CA \
             (check ssl.ca.location / ssl.ca.pem)"
        ),
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "the certificate of {host} is not valid for the name `{host}` \
             (ssl.endpoint.identification.algorithm=none skips this check)"
        ),
        E::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => format!("the certificate of {host} has expired"),
        E::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => format!("the certificate of {host} is not valid yet"),
        E::InvalidCertificate(other) => {
            format!("the certificate of {host} was refused: {other:?}")
        }
        E::AlertReceived(A::CertificateRequired) => format!(
            "{host} requires a client certificate \
             (ssl.certificate.location and ssl.key.location)"
        ),
        E::AlertReceived(
            a @ (A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::UnsupportedCertificate
            | A::AccessDenied
            | A::HandshakeFailure),
        ) => format!(
            "{host} refused the TLS handshake ({a:?}); does it require a client \
             certificate, or refuse the one given (ssl.certificate.location)?"
        ),
        E::AlertReceived(a) => format!("{host} ended the TLS handshake: {a:?}"),
        E::InvalidMessage(_) => format!(
            "{host} did not answer with TLS (is its listener plaintext? then \
             security.protocol=PLAINTEXT or SASL_PLAINTEXT)"
        ),
        other => format!("TLS with {host} failed: {other}"),
    }
}

fn root_store(settings: &TlsSettings) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let mut explicit = false;
    if let Some(path) = &settings.ca_location {
        explicit = true;
        let certs = if path.is_dir() {
            let mut all = Vec::new();
            let entries =
                std::fs::read_dir(path).map_err(|e| read_error("ssl.ca.location", path, &e))?;
            for entry in entries.flatten() {
                let p = entry.path();
                if p.is_file() {
                    // Files that are not PEM certificates are skipped, as
                    // OpenSSL does with a CA directory.
                    if let Ok(data) = std::fs::read(&p) {
                        all.extend(CertificateDer::pem_slice_iter(&data).flatten());
                    }
                }
            }
            all
        } else {
            let data = std::fs::read(path).map_err(|e| read_error("ssl.ca.location", path, &e))?;
            parse_certificates(&data, "ssl.ca.location")?
        };
        add_anchors(&mut roots, certs, "ssl.ca.location")?;
    }
    if let Some(pem) = &settings.ca_pem {
        explicit = true;
        let certs = parse_certificates(pem.as_bytes(), "ssl.ca.pem")?;
        add_anchors(&mut roots, certs, "ssl.ca.pem")?;
    }
    if settings.ca_system {
        explicit = true;
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(TlsError::Pem {
                key: "ssl.ca.location",
                reason: "`probe` found no CA certificates in the system store".to_owned(),
            });
        }
    }
    if !explicit {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    Ok(roots)
}

fn add_anchors(
    roots: &mut RootCertStore,
    certs: Vec<CertificateDer<'static>>,
    key: &'static str,
) -> Result<(), TlsError> {
    let (added, ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsError::Pem {
            key,
            reason: format!("no usable CA certificate ({ignored} could not be parsed)"),
        });
    }
    Ok(())
}

fn read_error(key: &'static str, path: &Path, e: &std::io::Error) -> TlsError {
    TlsError::Read {
        key,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Certificates from PEM text; a bare base64 body (a PEM block without
/// its first and last lines, as some dashboards ask for) is one DER
/// certificate.
fn parse_certificates(
    data: &[u8],
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let has_armor = data.windows(11).any(|w| w == b"-----BEGIN ");
    if !has_armor {
        let body: Vec<u8> = data
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let der = B64.decode(&body).map_err(|_| TlsError::Pem {
            key,
            reason: "neither PEM nor a base64 certificate".to_owned(),
        })?;
        return Ok(vec![CertificateDer::from(der)]);
    }
    let certs = CertificateDer::pem_slice_iter(data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            key,
            reason: format!("invalid PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            key,
            reason: "no CERTIFICATE block found".to_owned(),
        });
    }
    Ok(certs)
}

fn load_certificates(
    source: &PemSource,
    file_key: &'static str,
    pem_key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    match source {
        PemSource::File(path) => {
            let data = std::fs::read(path).map_err(|e| read_error(file_key, path, &e))?;
            parse_certificates(&data, file_key)
        }
        PemSource::Inline(pem) => parse_certificates(pem.expose(), pem_key),
    }
}

fn load_key(source: &PemSource) -> Result<PrivateKeyDer<'static>, TlsError> {
    let (data, key) = match source {
        PemSource::File(path) => {
            let data = std::fs::read(path).map_err(|e| read_error("ssl.key.location", path, &e))?;
            (Secret::new(data), "ssl.key.location")
        }
        PemSource::Inline(pem) => (pem.clone(), "ssl.key.pem"),
    };
    let text = data.expose();
    if text.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(TlsError::Pem {
            key,
            reason: "encrypted private keys are not supported; decrypt it \
                     (`openssl pkey -in key.pem -out plain-key.pem`)"
                .to_owned(),
        });
    }
    // The PEM error is not quoted: it could echo a line of the key.
    PrivateKeyDer::from_pem_slice(text).map_err(|_| TlsError::Pem {
        key,
        reason: "no PKCS#8, RSA or EC private key found in the PEM data".to_owned(),
    })
}

/// The verifier behind the two escape hatches. With `roots`, it checks the
/// chain to a trust anchor but not the host name
/// (`ssl.endpoint.identification.algorithm=none`); without, it accepts any
/// server certificate (`enable.ssl.certificate.verification=false`). Either
/// way the handshake signatures are checked, so the peer must hold the key of
/// the certificate it shows.
struct RelaxedVerification {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for RelaxedVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.roots {
            Some(_) => "ChainOnlyVerification",
            None => "NoCertificateVerification",
        })
    }
}

impl ServerCertVerifier for RelaxedVerification {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{ClientConnection, ServerConfig, ServerConnection};
    use std::io::Write as _;

    use super::*;

    pub(crate) struct Ca {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    impl Ca {
        pub(crate) fn new(name: &str) -> Self {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, name);
            let key = KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            Self { cert, key }
        }

        pub(crate) fn pem(&self) -> String {
            self.cert.pem()
        }

        /// A leaf certificate for `names`: (certificate PEM, key PEM).
        pub(crate) fn issue(&self, names: &[&str]) -> (String, String) {
            let p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
            (cert.pem(), key.serialize_pem())
        }
    }

    pub(crate) fn server(cert: &str, key: &str, client_ca: Option<&str>) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<_> = CertificateDer::pem_slice_iter(cert.as_bytes())
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let b = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let b = match client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                    roots.add(c.unwrap()).unwrap();
                }
                let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap();
                b.with_client_cert_verifier(v)
            }
            None => b.with_no_client_auth(),
        };
        Arc::new(b.with_single_cert(chain, key).unwrap())
    }

    /// Runs a handshake in memory and then one round of application data;
    /// returns the SNI the server saw, or the client's error (or the
    /// server's, if the client saw none).
    fn connect(
        settings: &TlsSettings,
        host: &str,
        server: Arc<ServerConfig>,
    ) -> Result<Option<String>, rustls::Error> {
        let config = client_config(settings).unwrap();
        let mut c = ClientConnection::new(config, server_name(host).unwrap())?;
        let mut s = ServerConnection::new(server).unwrap();
        c.writer().write_all(b"ping").unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).unwrap();
            }
            s.read_tls(&mut &buf[..]).unwrap();
            let server_result = s.process_new_packets().map(|_| ());
            let mut back = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut back).unwrap();
            }
            c.read_tls(&mut &back[..]).unwrap();
            c.process_new_packets()?;
            server_result?;
            if !c.is_handshaking() && !s.is_handshaking() {
                let mut got = [0u8; 4];
                if std::io::Read::read_exact(&mut s.reader(), &mut got).is_ok() {
                    assert_eq!(&got, b"ping");
                    return Ok(s.server_name().map(str::to_owned));
                }
            }
        }
        panic!("handshake did not finish");
    }

    fn trusting(ca: &Ca) -> TlsSettings {
        TlsSettings {
            ca_pem: Some(ca.pem()),
            ..TlsSettings::default()
        }
    }

    #[test]
    fn valid_chain_and_name() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue(&["broker-1.test", "127.0.0.1"]);
        let srv = server(&cert, &key, None);
        // The broker's name goes out as SNI; none for an IP address.
        assert_eq!(
            connect(&trusting(&ca), "broker-1.test", srv.clone()).unwrap(),
            Some("broker-1.test".to_owned())
        );
        assert_eq!(connect(&trusting(&ca), "127.0.0.1", srv).unwrap(), None);
    }

    #[test]
    fn wrong_ca_is_refused_with_a_clear_reason() {
        let ca = Ca::new("test CA");
        let other = Ca::new("other CA");
        let (cert, key) = ca.issue(&["broker-1.test"]);
        let e = connect(
            &trusting(&other),
            "broker-1.test",
            server(&cert, &key, None),
        )
        .unwrap_err();
        let msg = describe_handshake_error(&e, "broker-1.test");
        assert!(msg.contains("not signed by a trusted CA"), "{msg}");
        assert!(msg.contains("ssl.ca.location"), "{msg}");
        // Nor do the built-in roots trust a private CA.
        let e = connect(
            &TlsSettings::default(),
            "broker-1.test",
            server(&cert, &key, None),
        )
        .unwrap_err();
        assert!(describe_handshake_error(&e, "h").contains("not signed by a trusted CA"));
    }

    #[test]
    fn hostname_mismatch_fails_unless_the_check_is_off() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue(&["broker-1.test"]);
        let srv = server(&cert, &key, None);
        let e = connect(&trusting(&ca), "broker-2.test", srv.clone()).unwrap_err();
        let msg = describe_handshake_error(&e, "broker-2.test");
        assert!(
            msg.contains("not valid for the name `broker-2.test`"),
            "{msg}"
        );
        let off = TlsSettings {
            verify_hostname: false,
            ..trusting(&ca)
        };
        connect(&off, "broker-2.test", srv.clone()).unwrap();
        // Without the name check the chain is still checked.
        let other = Ca::new("other CA");
        let off_wrong_ca = TlsSettings {
            verify_hostname: false,
            ..trusting(&other)
        };
        let e = connect(&off_wrong_ca, "broker-2.test", srv).unwrap_err();
        assert!(describe_handshake_error(&e, "h").contains("not signed by a trusted CA"));
    }

    #[test]
    fn verification_off_accepts_an_unknown_ca() {
        let other = Ca::new("other CA");
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue(&["broker-1.test"]);
        let off = TlsSettings {
            verify_certificates: false,
            ..trusting(&other)
        };
        connect(&off, "elsewhere.test", server(&cert, &key, None)).unwrap();
    }

    #[test]
    fn mutual_tls() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue(&["broker-1.test"]);
        let (client_cert, client_key) = ca.issue(&["client"]);
        let srv = server(&cert, &key, Some(&ca.pem()));
        let with = TlsSettings {
            certificate: Some(PemSource::Inline(Secret::from(client_cert))),
            key: Some(PemSource::Inline(Secret::from(client_key))),
            ..trusting(&ca)
        };
        connect(&with, "broker-1.test", srv.clone()).unwrap();
        let e = connect(&trusting(&ca), "broker-1.test", srv).unwrap_err();
        let msg = describe_handshake_error(&e, "broker-1.test");
        assert!(msg.contains("client certificate"), "{msg}");
    }

    #[test]
    fn ca_pem_with_many_certificates_and_bare_base64() {
        let a = Ca::new("A");
        let b = Ca::new("B");
        let (cert, key) = b.issue(&["broker-1.test"]);
        let both = TlsSettings {
            ca_pem: Some(format!("{}\n{}", a.pem(), b.pem())),
            ..TlsSettings::default()
        };
        connect(&both, "broker-1.test", server(&cert, &key, None)).unwrap();
        let body: String = b
            .pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\n");
        let bare = TlsSettings {
            ca_pem: Some(body),
            ..TlsSettings::default()
        };
        connect(&bare, "broker-1.test", server(&cert, &key, None)).unwrap();
    }

    #[test]
    fn ca_location_file_and_directory() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue(&["broker-1.test"]);
        let dir = std::env::temp_dir().join(format!("kafka-net-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a certificate").unwrap();
        for loc in [dir.join("ca.pem"), dir.clone()] {
            let s = TlsSettings {
                ca_location: Some(loc),
                ..TlsSettings::default()
            };
            connect(&s, "broker-1.test", server(&cert, &key, None)).unwrap();
        }
        let missing = TlsSettings {
            ca_location: Some(dir.join("nope.pem")),
            ..TlsSettings::default()
        };
        let e = client_config(&missing).unwrap_err();
        assert!(e.to_string().contains("ssl.ca.location"), "{e}");
        assert!(e.to_string().contains("nope.pem"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_pem_errors_name_the_key() {
        let e = client_config(&TlsSettings {
            ca_pem: Some("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into()),
            ..TlsSettings::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("ssl.ca.pem"), "{e}");
        let ca = Ca::new("test CA");
        let (cert, _) = ca.issue(&["client"]);
        let e = client_config(&TlsSettings {
            certificate: Some(PemSource::Inline(Secret::from(cert))),
            key: Some(PemSource::Inline(Secret::from("SECRETKEYMATERIAL"))),
            ..trusting(&ca)
        })
        .unwrap_err();
        assert!(e.to_string().contains("ssl.key.pem"), "{e}");
        assert!(!e.to_string().contains("SECRETKEYMATERIAL"), "{e}");
    }

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/security/testdata/");

    #[test]
    fn key_formats_pkcs8_rsa_and_ec() {
        for (cert, key) in [
            ("rsa.crt", "rsa-pkcs1.key"),
            ("ec.crt", "ec-sec1.key"),
            ("ec.crt", "ec-pkcs8.key"),
        ] {
            let s = TlsSettings {
                certificate: Some(PemSource::File(format!("{DATA}{cert}").into())),
                key: Some(PemSource::File(format!("{DATA}{key}").into())),
                ..TlsSettings::default()
            };
            client_config(&s).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
        let s = TlsSettings {
            certificate: Some(PemSource::File(format!("{DATA}ec.crt").into())),
            key: Some(PemSource::File(format!("{DATA}ec-encrypted.key").into())),
            ..TlsSettings::default()
        };
        let e = client_config(&s).unwrap_err();
        assert!(e.to_string().contains("encrypted private keys"), "{e}");
        // A key that does not belong to the certificate.
        let s = TlsSettings {
            certificate: Some(PemSource::File(format!("{DATA}rsa.crt").into())),
            key: Some(PemSource::File(format!("{DATA}ec-sec1.key").into())),
            ..TlsSettings::default()
        };
        assert!(client_config(&s).is_err());
    }

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("broker.example.com"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(matches!(
            server_name("10.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(server_name("bad name!").is_err());
    }
}
