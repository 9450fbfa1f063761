//! The security properties, by librdkafka / Java client names, parsed once
//! into typed settings ([`SecurityConfig`]); [`crate::NetConfig`] hands
//! them over ([`is_security_key`]) and gives the others to the producer.
//!
//! | property | default | meaning |
//! |---|---|---|
//! | `security.protocol` | `PLAINTEXT` | `PLAINTEXT`, `SSL`, `SASL_SSL`, `SASL_PLAINTEXT` |
//! | `sasl.mechanism` (`sasl.mechanisms`) | none | `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` |
//! | `sasl.username`, `sasl.password` | none | the SASL credentials |
//! | `sasl.jaas.config` | none | Java's login module line; its `username` and `password` are used |
//! | `sasl.allow.plaintext` | `false` | accept `SASL_PLAINTEXT` (credentials unencrypted) |
//! | `ssl.ca.location` | none | CA certificates: a PEM file, a directory of them, or `probe` (system store) |
//! | `ssl.ca.pem` | none | CA certificates inline (PEM, one or many) |
//! | `ssl.certificate.location` / `.pem` | none | client certificate chain (PEM) for mutual TLS |
//! | `ssl.key.location` / `.pem` | none | client private key (PEM: PKCS#8, RSA or EC) |
//! | `ssl.endpoint.identification.algorithm` | `https` | `none` (or empty) skips the host name check |
//! | `enable.ssl.certificate.verification` | `true` | `false` skips server certificate verification |
//!
//! Without `ssl.ca.*` the Mozilla roots compiled in (`webpki-roots`) are
//! trusted. Settings that the protocol would ignore (`ssl.*` with
//! `PLAINTEXT`, `sasl.*` without SASL) are refused rather than ignored, so
//! a typo in `security.protocol` cannot silently turn TLS off. Errors name
//! the property; they quote values only of properties that are not secret.

use std::fmt;
use std::path::PathBuf;

use super::secret::Secret;

/// Why the security properties were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityConfigError {
    /// A `sasl.*` or `ssl.*` property this client does not know.
    #[error("unknown security property `{key}`{hint}")]
    UnknownKey {
        /// The property.
        key: String,
        /// What to use instead, if anything (starts with `: `).
        hint: String,
    },
    /// A property with a value that cannot be used.
    #[error("invalid value for `{key}`: {reason}")]
    InvalidValue {
        /// The property.
        key: String,
        /// Why.
        reason: String,
    },
    /// A property the others require.
    #[error("`{key}` is required: {reason}")]
    Missing {
        /// The property.
        key: String,
        /// Why it is needed.
        reason: String,
    },
    /// Properties that do not go together.
    #[error("`{key}`: {reason}")]
    Conflict {
        /// The property at fault.
        key: String,
        /// Why.
        reason: String,
    },
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// No TLS, no SASL.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL without TLS (needs `sasl.allow.plaintext=true`).
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections use TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    /// The property value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `sasl.mechanism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslMechanism {
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// The SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The SASL settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaslSettings {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: Secret,
}

impl SaslSettings {
    /// Settings for `mechanism` with these credentials.
    pub fn new(mechanism: SaslMechanism, username: impl Into<String>, password: Secret) -> Self {
        Self {
            mechanism,
            username: username.into(),
            password,
        }
    }
}

/// Where PEM data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemSource {
    /// A file (or, for CA certificates, a directory of files).
    File(PathBuf),
    /// Inline PEM text.
    Inline(Secret),
}

/// The TLS settings (used when `security.protocol` is `SSL` or `SASL_SSL`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsSettings {
    /// `ssl.ca.location` (a file or a directory).
    pub ca_location: Option<PathBuf>,
    /// `ssl.ca.location=probe`: trust the operating system's store.
    pub ca_system: bool,
    /// `ssl.ca.pem`.
    pub ca_pem: Option<String>,
    /// `ssl.certificate.location` / `ssl.certificate.pem`.
    pub certificate: Option<PemSource>,
    /// `ssl.key.location` / `ssl.key.pem`.
    pub key: Option<PemSource>,
    /// `ssl.endpoint.identification.algorithm` is `https` (the default).
    pub verify_hostname: bool,
    /// `enable.ssl.certificate.verification` (default `true`).
    pub verify_certificates: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            ca_location: None,
            ca_system: false,
            ca_pem: None,
            certificate: None,
            key: None,
            verify_hostname: true,
            verify_certificates: true,
        }
    }
}

/// Every security setting of a producer's connections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SecurityConfig {
    /// `security.protocol`.
    pub protocol: SecurityProtocol,
    /// TLS settings; used when the protocol has TLS.
    pub tls: TlsSettings,
    /// SASL settings; present exactly when the protocol has SASL.
    pub sasl: Option<SaslSettings>,
    /// `sasl.allow.plaintext`.
    pub allow_sasl_plaintext: bool,
}

/// The property that lets SASL run without TLS.
pub const ALLOW_SASL_PLAINTEXT: &str = "sasl.allow.plaintext";
/// The property that turns certificate verification off (librdkafka's
/// name, without the `ssl.` prefix).
pub const ENABLE_CERT_VERIFICATION: &str = "enable.ssl.certificate.verification";

/// Whether `key` belongs to the security settings: `security.protocol`,
/// [`ENABLE_CERT_VERIFICATION`], `sasl.*`, `ssl.*`, and every secret
/// property ([`is_secret_key`]), so that a secret, even one that
/// [`SecurityConfig::from_properties`] then refuses, is read there and
/// nowhere else.
pub fn is_security_key(key: &str) -> bool {
    key == "security.protocol"
        || key == ENABLE_CERT_VERIFICATION
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
        || is_secret_key(key)
}

/// Whether the value of `key` is a secret: a password, a private key, or a
/// line that may hold either. Such values are held in [`Secret`]s from
/// the moment they are parsed. The librdkafka and Java names are covered,
/// including those refused here (`ssl.key.password`,
/// `ssl.keystore.password`, ...), so that a caller holding properties
/// (the forwarder's configuration file) can keep even a refused one out of
/// plain memory.
pub fn is_secret_key(key: &str) -> bool {
    matches!(
        key,
        "sasl.password"
            | "sasl.jaas.config"
            | "sasl.oauthbearer.config"
            | "ssl.key.pem"
            | "ssl.keystore.key"
            | "ssl_key"
    ) || key.ends_with(".password")
        || key.ends_with(".secret")
}

fn invalid(key: &str, reason: impl Into<String>) -> SecurityConfigError {
    SecurityConfigError::InvalidValue {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, SecurityConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, format!("`{value}` is not true or false"))),
    }
}

fn unknown(key: &str) -> SecurityConfigError {
    let hint = if key.starts_with("ssl.keystore.") || key.starts_with("ssl.truststore.") {
        ": Java key stores are not read; use ssl.ca.location, ssl.certificate.location and \
         ssl.key.location (PEM)"
    } else if key == "ssl.key.password" {
        ": encrypted private keys are not supported; decrypt the key \
         (`openssl pkey -in key.pem -out plain-key.pem`) and keep the file private"
    } else if key.starts_with("sasl.kerberos.") || key.starts_with("sasl.oauthbearer.") {
        ": only PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are supported"
    } else {
        ""
    };
    SecurityConfigError::UnknownKey {
        key: key.to_owned(),
        hint: hint.to_owned(),
    }
}

impl SecurityConfig {
    /// Reads the security properties. Later keys override earlier ones.
    /// Keys that are not security properties ([`is_security_key`]) are
    /// refused, so hand over only those.
    pub fn from_properties<'a, I>(props: I) -> Result<Self, SecurityConfigError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut c = Self::default();
        let mut mechanism = None;
        let mut username = None;
        let mut password: Option<Secret> = None;
        let mut jaas: Option<(Option<String>, Option<Secret>)> = None;
        let mut ssl_keys: Vec<&'static str> = Vec::new();
        let mut sasl_keys: Vec<String> = Vec::new();
        for (key, value) in props {
            let key = key.trim();
            match key {
                "security.protocol" => {
                    c.protocol = match value.trim().to_ascii_uppercase().as_str() {
                        "PLAINTEXT" => SecurityProtocol::Plaintext,
                        "SSL" => SecurityProtocol::Ssl,
                        "SASL_SSL" => SecurityProtocol::SaslSsl,
                        "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
                        _ => {
                            return Err(invalid(
                                key,
                                format!(
                                    "`{value}` is not PLAINTEXT, SSL, SASL_SSL or SASL_PLAINTEXT"
                                ),
                            ))
                        }
                    };
                }
                "sasl.mechanism" | "sasl.mechanisms" => {
                    sasl_keys.push(key.to_owned());
                    mechanism = Some(match value.trim().to_ascii_uppercase().as_str() {
                        "PLAIN" => SaslMechanism::Plain,
                        "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
                        "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
                        _ => {
                            return Err(invalid(
                                key,
                                format!(
                                    "`{value}` is not supported (PLAIN, SCRAM-SHA-256, \
                                     SCRAM-SHA-512)"
                                ),
                            ))
                        }
                    });
                }
                "sasl.username" => {
                    sasl_keys.push(key.to_owned());
                    username = Some(value.to_owned());
                }
                "sasl.password" => {
                    sasl_keys.push(key.to_owned());
                    password = Some(Secret::from(value));
                }
                "sasl.jaas.config" => {
                    sasl_keys.push(key.to_owned());
                    jaas = Some(parse_jaas(value)?);
                }
                ALLOW_SASL_PLAINTEXT => c.allow_sasl_plaintext = parse_bool(key, value)?,
                "ssl.ca.location" => {
                    ssl_keys.push("ssl.ca.location");
                    let v = value.trim();
                    if v == "probe" {
                        c.tls.ca_system = true;
                        c.tls.ca_location = None;
                    } else if v.is_empty() {
                        return Err(invalid(key, "empty path"));
                    } else {
                        c.tls.ca_system = false;
                        c.tls.ca_location = Some(PathBuf::from(v));
                    }
                }
                "ssl.ca.pem" => {
                    ssl_keys.push("ssl.ca.pem");
                    c.tls.ca_pem = Some(value.to_owned());
                }
                "ssl.certificate.location" => {
                    ssl_keys.push("ssl.certificate.location");
                    c.tls.certificate = Some(PemSource::File(PathBuf::from(value.trim())));
                }
                "ssl.certificate.pem" => {
                    ssl_keys.push("ssl.certificate.pem");
                    c.tls.certificate = Some(PemSource::Inline(Secret::from(value)));
                }
                "ssl.key.location" => {
                    ssl_keys.push("ssl.key.location");
                    c.tls.key = Some(PemSource::File(PathBuf::from(value.trim())));
                }
                "ssl.key.pem" => {
                    ssl_keys.push("ssl.key.pem");
                    c.tls.key = Some(PemSource::Inline(Secret::from(value)));
                }
                "ssl.endpoint.identification.algorithm" => {
                    ssl_keys.push("ssl.endpoint.identification.algorithm");
                    c.tls.verify_hostname = match value.trim().to_ascii_lowercase().as_str() {
                        "https" => true,
                        "none" | "" => false,
                        _ => return Err(invalid(key, format!("`{value}` is not https or none"))),
                    };
                }
                ENABLE_CERT_VERIFICATION => {
                    ssl_keys.push(ENABLE_CERT_VERIFICATION);
                    c.tls.verify_certificates = parse_bool(key, value)?;
                }
                other => return Err(unknown(other)),
            }
        }

        // Settings the protocol would ignore are refused.
        if !c.protocol.uses_tls() {
            if let Some(k) = ssl_keys.first() {
                return Err(SecurityConfigError::Conflict {
                    key: (*k).to_owned(),
                    reason: format!(
                        "TLS setting given but security.protocol is {}; use SSL or SASL_SSL",
                        c.protocol
                    ),
                });
            }
        }
        if !c.protocol.uses_sasl() {
            if let Some(k) = sasl_keys.first() {
                return Err(SecurityConfigError::Conflict {
                    key: k.clone(),
                    reason: format!(
                        "SASL setting given but security.protocol is {}; use SASL_SSL",
                        c.protocol
                    ),
                });
            }
        }
        if c.protocol == SecurityProtocol::SaslPlaintext && !c.allow_sasl_plaintext {
            return Err(SecurityConfigError::Conflict {
                key: "security.protocol".to_owned(),
                reason: format!(
                    "SASL_PLAINTEXT sends credentials without encryption; use SASL_SSL, or \
                     set {ALLOW_SASL_PLAINTEXT}=true to accept that"
                ),
            });
        }

        if c.protocol.uses_sasl() {
            let mechanism = mechanism.ok_or_else(|| SecurityConfigError::Missing {
                key: "sasl.mechanism".to_owned(),
                reason: format!(
                    "security.protocol is {}; choose PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
                    c.protocol
                ),
            })?;
            let (jaas_user, jaas_password) = jaas.unwrap_or_default();
            let username = username.or(jaas_user).unwrap_or_default();
            if username.is_empty() {
                return Err(SecurityConfigError::Missing {
                    key: "sasl.username".to_owned(),
                    reason: format!("sasl.mechanism is {mechanism}"),
                });
            }
            let password =
                password
                    .or(jaas_password)
                    .ok_or_else(|| SecurityConfigError::Missing {
                        key: "sasl.password".to_owned(),
                        reason: format!("sasl.mechanism is {mechanism}"),
                    })?;
            c.sasl = Some(SaslSettings::new(mechanism, username, password));
        }

        if c.protocol.uses_tls() {
            match (&c.tls.certificate, &c.tls.key) {
                (Some(_), None) => {
                    return Err(SecurityConfigError::Missing {
                        key: "ssl.key.location".to_owned(),
                        reason: "a client certificate needs its private key \
                                 (ssl.key.location or ssl.key.pem)"
                            .to_owned(),
                    })
                }
                (None, Some(_)) => {
                    return Err(SecurityConfigError::Missing {
                        key: "ssl.certificate.location".to_owned(),
                        reason: "a client private key needs its certificate \
                                 (ssl.certificate.location or ssl.certificate.pem)"
                            .to_owned(),
                    })
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

/// Reads `username` and `password` out of a Java `sasl.jaas.config` line
/// such as `org.apache.kafka.common.security.plain.PlainLoginModule
/// required username="u" password="p";`.
fn parse_jaas(value: &str) -> Result<(Option<String>, Option<Secret>), SecurityConfigError> {
    const KEY: &str = "sasl.jaas.config";
    let bad = |why: &str| invalid(KEY, why.to_owned());
    let s = value.trim();
    let s = s.strip_suffix(';').unwrap_or(s).trim_end();
    let mut words = s.splitn(3, char::is_whitespace);
    let module = words.next().unwrap_or_default();
    if !module.ends_with("LoginModule") {
        return Err(bad("expected `<LoginModule> required key=\"value\" ...;`"));
    }
    if !module.ends_with(".PlainLoginModule") && !module.ends_with(".ScramLoginModule") {
        return Err(bad(
            "only PlainLoginModule and ScramLoginModule are supported",
        ));
    }
    let flag = words.next().unwrap_or_default();
    if flag != "required" {
        return Err(bad("expected `required` after the login module"));
    }
    let mut rest = words.next().unwrap_or_default().trim_start();
    let (mut user, mut password) = (None, None);
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| bad("expected key=\"value\""))?;
        let name = rest[..eq].trim();
        let after = &rest[eq + 1..];
        let (val, tail) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &after[1..];
                let end = body
                    .find(q)
                    .ok_or_else(|| bad("unterminated quoted value"))?;
                (&body[..end], &body[end + 1..])
            }
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        match name {
            "username" => user = Some(val.to_owned()),
            "password" => password = Some(Secret::from(val)),
            _ => {}
        }
        rest = tail.trim_start();
    }
    Ok((user, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(props: &[(&str, &str)]) -> Result<SecurityConfig, SecurityConfigError> {
        SecurityConfig::from_properties(props.iter().copied())
    }

    #[test]
    fn defaults_to_plaintext_with_verification_on() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.protocol, SecurityProtocol::Plaintext);
        assert!(c.tls.verify_certificates && c.tls.verify_hostname);
        assert!(c.sasl.is_none());
        let c = parse(&[("security.protocol", "ssl")]).unwrap();
        assert_eq!(c.protocol, SecurityProtocol::Ssl);
        assert!(c.tls.verify_certificates && c.tls.verify_hostname);
    }

    #[test]
    fn sasl_ssl_plain() {
        let c = parse(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "KEY"),
            ("sasl.password", "hunter2"),
        ])
        .unwrap();
        let s = c.sasl.clone().unwrap();
        assert_eq!(s.mechanism, SaslMechanism::Plain);
        assert_eq!(s.username, "KEY");
        assert_eq!(s.password.expose(), b"hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn sasl_plaintext_needs_opt_in() {
        let props = [
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ];
        let e = parse(&props).unwrap_err();
        assert!(e.to_string().contains("security.protocol"), "{e}");
        assert!(e.to_string().contains(ALLOW_SASL_PLAINTEXT), "{e}");
        let mut with = props.to_vec();
        with.push((ALLOW_SASL_PLAINTEXT, "true"));
        assert_eq!(
            parse(&with).unwrap().protocol,
            SecurityProtocol::SaslPlaintext
        );
    }

    #[test]
    fn missing_pieces_name_the_key() {
        let e = parse(&[("security.protocol", "SASL_SSL")]).unwrap_err();
        assert!(matches!(&e, SecurityConfigError::Missing { key, .. } if key == "sasl.mechanism"));
        let e = parse(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
        ])
        .unwrap_err();
        assert!(matches!(&e, SecurityConfigError::Missing { key, .. } if key == "sasl.username"));
        let e = parse(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "u"),
        ])
        .unwrap_err();
        assert!(matches!(&e, SecurityConfigError::Missing { key, .. } if key == "sasl.password"));
        let e = parse(&[
            ("security.protocol", "SSL"),
            ("ssl.certificate.location", "/c.pem"),
        ])
        .unwrap_err();
        assert!(
            matches!(&e, SecurityConfigError::Missing { key, .. } if key == "ssl.key.location")
        );
        let e = parse(&[("security.protocol", "SSL"), ("ssl.key.pem", "secret-key")]).unwrap_err();
        assert!(!e.to_string().contains("secret-key"));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (k, v) in [
            ("security.protocol", "TLS"),
            ("sasl.mechanism", "GSSAPI"),
            ("ssl.endpoint.identification.algorithm", "dns"),
            (ENABLE_CERT_VERIFICATION, "maybe"),
        ] {
            let e = parse(&[("security.protocol", "SASL_SSL"), (k, v)]).unwrap_err();
            assert!(
                matches!(&e, SecurityConfigError::InvalidValue { key, .. } if key == k),
                "{e}"
            );
        }
        let e = parse(&[("ssl.keystore.location", "x.jks")]).unwrap_err();
        assert!(e.to_string().contains("ssl.keystore.location"));
        assert!(e.to_string().contains("ssl.certificate.location"));
        let e = parse(&[("ssl.key.password", "pw")]).unwrap_err();
        assert!(e.to_string().contains("encrypted private keys"));
        assert!(!e.to_string().contains("pw\""));
    }

    #[test]
    fn settings_the_protocol_would_ignore_are_refused() {
        let e = parse(&[("ssl.ca.location", "/ca.pem")]).unwrap_err();
        assert!(
            matches!(&e, SecurityConfigError::Conflict { key, .. } if key == "ssl.ca.location")
        );
        let e = parse(&[("security.protocol", "SSL"), ("sasl.mechanism", "PLAIN")]).unwrap_err();
        assert!(matches!(&e, SecurityConfigError::Conflict { key, .. } if key == "sasl.mechanism"));
    }

    #[test]
    fn escape_hatches() {
        let c = parse(&[
            ("security.protocol", "SSL"),
            ("ssl.endpoint.identification.algorithm", "none"),
            (ENABLE_CERT_VERIFICATION, "false"),
            ("ssl.ca.location", "probe"),
        ])
        .unwrap();
        assert!(!c.tls.verify_hostname);
        assert!(!c.tls.verify_certificates);
        assert!(c.tls.ca_system);
        let c = parse(&[
            ("security.protocol", "SSL"),
            ("ssl.endpoint.identification.algorithm", ""),
        ])
        .unwrap();
        assert!(!c.tls.verify_hostname);
    }

    #[test]
    fn jaas_line() {
        let c = parse(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required \
                 username='ABCKEY'   password=\"s3c r=t\";",
            ),
        ])
        .unwrap();
        let s = c.sasl.unwrap();
        assert_eq!(s.username, "ABCKEY");
        assert_eq!(s.password.expose(), b"s3c r=t");
        let e = parse(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            (
                "sasl.jaas.config",
                "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;",
            ),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("sasl.jaas.config"));
        let e = parse(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required password=\"oops;",
            ),
        ])
        .unwrap_err();
        assert!(!e.to_string().contains("oops"));
    }

    #[test]
    fn secret_keys() {
        for k in [
            "sasl.password",
            "sasl.jaas.config",
            "ssl.key.pem",
            "ssl.key.password",
            "ssl.keystore.password",
            "ssl.truststore.password",
            "ssl.keystore.key",
            "sasl.oauthbearer.client.secret",
        ] {
            assert!(is_secret_key(k), "{k}");
            assert!(is_security_key(k), "{k}");
        }
        for k in [
            "sasl.username",
            "sasl.mechanism",
            "ssl.ca.pem",
            "ssl.ca.location",
            "ssl.key.location",
            "ssl.certificate.pem",
            "security.protocol",
        ] {
            assert!(!is_secret_key(k), "{k}");
            assert!(is_security_key(k), "{k}");
        }
        assert!(is_security_key("client.secret"));
        assert!(!is_security_key("linger.ms"));
    }
}
