//! Secure connections: TLS (rustls), mutual TLS, and SASL PLAIN,
//! SCRAM-SHA-256 and SCRAM-SHA-512.
//!
//! The protocol parts are sans-IO and need no runtime: [`scram`] and
//! [`plain`] build the mechanism messages, [`sasl`] runs the SaslHandshake
//! and SaslAuthenticate exchange as a state machine over frames, [`tls`]
//! builds the rustls configuration, [`config`] reads the properties.
//! [`Connector`] holds what a producer prepared once (the TLS
//! configuration, the credentials) and starts the per-connection parts,
//! which [`crate::connection::Connection`] runs in the set-up step between
//! TCP connect and `handle_connected`. Nothing here touches a socket.
//!
//! Secrets (passwords, private keys) live in [`Secret`], which redacts
//! itself and is wiped on drop. Nothing in this module logs a secret or a
//! SASL frame, at any level.
//!
//! # References
//! - KIP-43, KIP-84, KIP-152 (SASL in Kafka); RFC 4616, 5802, 7677
//! - librdkafka `CONFIGURATION.md` for the property names

pub mod config;
pub mod plain;
pub mod sasl;
pub mod scram;
pub mod secret;
pub mod tls;

use std::fmt;
use std::sync::Arc;

use kafka_producer::{AuthError, AuthErrorKind};

pub use config::{
    is_secret_key, is_security_key, SaslMechanism, SaslSettings, SecurityConfig,
    SecurityConfigError, SecurityProtocol, TlsSettings,
};
pub use sasl::{SaslError, SaslSession};
pub use secret::Secret;
pub use tls::TlsError;

/// Why the security settings cannot be used (found at start-up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// A property is invalid or missing.
    #[error(transparent)]
    Config(#[from] SecurityConfigError),
    /// The TLS configuration cannot be built (unreadable file, bad PEM).
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Why a connection could not be set up (TLS handshake or SASL).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The TLS handshake failed; the reason names the setting to check.
    #[error("{reason}")]
    Tls {
        /// The broker host.
        host: String,
        /// What failed.
        reason: String,
        /// Whether it failed on a certificate (the broker's not verified,
        /// or ours refused or missing): an authentication failure, which
        /// recurs until a setting or a certificate changes.
        certificate: bool,
    },
    /// SASL authentication failed.
    #[error("SASL authentication with {host} failed: {source}")]
    Sasl {
        /// The broker host.
        host: String,
        /// What failed.
        source: SaslError,
    },
    /// The connection failed during the set-up step.
    #[error("{step} with {host}: {source}")]
    Io {
        /// The broker host.
        host: String,
        /// `TLS handshake`, `SASL`, or `TLS` (after the handshake).
        step: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl SetupError {
    /// The authentication failure this is, if it is one (SASL refused
    /// the credentials or the mechanism, or TLS failed on a certificate),
    /// for the producer's [`kafka_producer::Producer::handle_auth_failure`].
    /// `broker` is `host:port`.
    pub fn authentication(&self, broker: &str) -> Option<AuthError> {
        let kind = match self {
            SetupError::Tls {
                certificate: true, ..
            } => AuthErrorKind::TlsCertificate,
            SetupError::Sasl { source, .. } => AuthErrorKind::Sasl(source.authentication_code()?),
            SetupError::Tls { .. } | SetupError::Io { .. } => return None,
        };
        Some(AuthError {
            kind,
            broker: broker.to_owned(),
            message: self.to_string(),
        })
    }
}

/// What a producer's connections need for security, prepared once: the
/// TLS configuration (files read, keys parsed) and the SASL credentials.
#[derive(Clone)]
pub struct Connector {
    protocol: SecurityProtocol,
    tls: Option<Arc<rustls::ClientConfig>>,
    sasl: Option<SaslSettings>,
    client_id: String,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("protocol", &self.protocol)
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl.as_ref().map(|s| s.mechanism))
            .finish()
    }
}

impl Connector {
    /// Prepares `config`. Reads the CA, certificate and key files now, so
    /// that a bad path fails at start-up, and logs a warning for each
    /// setting that weakens security.
    pub fn new(config: &SecurityConfig, client_id: &str) -> Result<Self, SecurityError> {
        let tls = if config.protocol.uses_tls() {
            let t = &config.tls;
            if !t.verify_certificates {
                tracing::warn!(
                    "enable.ssl.certificate.verification=false: broker certificates are NOT \
                     verified; anyone on the network path can impersonate the brokers"
                );
            } else if !t.verify_hostname {
                tracing::warn!(
                    "ssl.endpoint.identification.algorithm=none: broker host names are NOT \
                     checked against their certificates"
                );
            }
            Some(tls::client_config(t)?)
        } else {
            None
        };
        if config.protocol == SecurityProtocol::SaslPlaintext {
            tracing::warn!(
                "security.protocol=SASL_PLAINTEXT: SASL credentials and all data cross the \
                 network unencrypted (allowed by sasl.allow.plaintext=true); use SASL_SSL"
            );
        }
        tracing::info!(
            protocol = config.protocol.name(),
            mechanism = config.sasl.as_ref().map(|s| s.mechanism.name()),
            "connection security"
        );
        Ok(Self {
            protocol: config.protocol,
            tls,
            sasl: config.sasl.clone(),
            client_id: client_id.to_owned(),
        })
    }

    /// A connector for plaintext connections.
    pub fn plaintext() -> Self {
        Self {
            protocol: SecurityProtocol::Plaintext,
            tls: None,
            sasl: None,
            client_id: String::new(),
        }
    }

    /// `security.protocol`.
    pub fn protocol(&self) -> SecurityProtocol {
        self.protocol
    }

    /// Whether connections need no set-up step (`PLAINTEXT`).
    pub fn is_plaintext(&self) -> bool {
        self.protocol == SecurityProtocol::Plaintext
    }

    /// The rustls client configuration, when the protocol has TLS.
    pub fn tls_config(&self) -> Option<&Arc<rustls::ClientConfig>> {
        self.tls.as_ref()
    }

    /// A TLS client for a connection to `host` (its SNI and the name its
    /// certificate must carry), when the protocol has TLS.
    pub fn tls_connection(
        &self,
        host: &str,
    ) -> Result<Option<rustls::ClientConnection>, SetupError> {
        let Some(config) = &self.tls else {
            return Ok(None);
        };
        let name = tls::server_name(host).map_err(|e| SetupError::Tls {
            host: host.to_owned(),
            reason: e.to_string(),
            certificate: false,
        })?;
        rustls::ClientConnection::new(config.clone(), name)
            .map(Some)
            .map_err(|e| tls::handshake_error(&e, host))
    }

    /// The SASL exchange for a connection to `host`, when the protocol has
    /// SASL.
    pub fn sasl_session(&self, host: &str) -> Result<Option<SaslSession>, SetupError> {
        let Some(settings) = &self.sasl else {
            return Ok(None);
        };
        SaslSession::new(settings, &self.client_id)
            .map(Some)
            .map_err(|source| SetupError::Sasl {
                host: host.to_owned(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use kafka_wire::ErrorCode;

    use super::*;

    fn sasl(source: SaslError) -> SetupError {
        SetupError::Sasl {
            host: "b".into(),
            source,
        }
    }

    #[test]
    fn authentication_failures_are_told_from_broken_connections() {
        let kind = |e: SetupError| e.authentication("b:9092").map(|a| a.kind);
        assert_eq!(
            kind(sasl(SaslError::AuthenticationFailed {
                mechanism: SaslMechanism::ScramSha256,
                message: "invalid credentials".into(),
            })),
            Some(AuthErrorKind::Sasl(ErrorCode::SaslAuthenticationFailed))
        );
        assert_eq!(
            kind(sasl(SaslError::UnsupportedMechanism {
                wanted: SaslMechanism::Plain,
                offered: "SCRAM-SHA-256".into(),
            })),
            Some(AuthErrorKind::Sasl(ErrorCode::UnsupportedSaslMechanism))
        );
        assert_eq!(
            kind(sasl(SaslError::Broker {
                step: "SaslAuthenticate",
                code: ErrorCode::IllegalSaslState,
                message: None,
            })),
            Some(AuthErrorKind::Sasl(ErrorCode::IllegalSaslState))
        );
        // Not authentication: a garbled response, another broker error, a
        // TLS failure that is not about certificates, a socket error.
        assert_eq!(kind(sasl(SaslError::Protocol("garbled".into()))), None);
        assert_eq!(
            kind(sasl(SaslError::Broker {
                step: "SaslHandshake",
                code: ErrorCode::UnsupportedVersion,
                message: None,
            })),
            None
        );
        let tls = |certificate| SetupError::Tls {
            host: "b".into(),
            reason: "why".into(),
            certificate,
        };
        assert_eq!(kind(tls(true)), Some(AuthErrorKind::TlsCertificate));
        assert_eq!(kind(tls(false)), None);
        let io = SetupError::Io {
            host: "b".into(),
            step: "SASL",
            source: std::io::ErrorKind::ConnectionReset.into(),
        };
        assert_eq!(kind(io), None);

        let e = sasl(SaslError::AuthenticationFailed {
            mechanism: SaslMechanism::Plain,
            message: "Invalid username or password".into(),
        });
        let auth = e.authentication("b:9092").unwrap();
        assert_eq!(auth.broker, "b:9092");
        assert_eq!(auth.message, e.to_string());
        assert!(
            auth.to_string()
                .contains("SASL PLAIN authentication failed"),
            "{auth}"
        );
    }

    #[test]
    fn certificate_failures() {
        use rustls::{AlertDescription as A, CertificateError as C, Error as E};
        for e in [
            E::InvalidCertificate(C::UnknownIssuer),
            E::InvalidCertificate(C::NotValidForName),
            E::AlertReceived(A::CertificateRequired),
            E::AlertReceived(A::BadCertificate),
            E::AlertReceived(A::UnknownCA),
        ] {
            assert!(tls::is_certificate_failure(&e), "{e:?}");
        }
        for e in [
            E::AlertReceived(A::ProtocolVersion),
            E::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
            E::DecryptError,
        ] {
            assert!(!tls::is_certificate_failure(&e), "{e:?}");
        }
    }
}
