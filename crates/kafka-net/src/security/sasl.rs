//! The SASL exchange of a Kafka connection, sans-IO: SaslHandshake v1,
//! then SaslAuthenticate requests carrying the mechanism's messages
//! (KIP-152).
//!
//! Call order: [`SaslSession::new`]; then repeatedly send every frame
//! [`SaslSession::poll_transmit`] gives, and hand each response frame
//! (without its size prefix) to [`SaslSession::handle_frame`], until
//! [`SaslSession::is_done`]. Frames carry credentials: they come in
//! buffers that are wiped when dropped, and must never be logged.
//!
//! # References
//! - KIP-43 (SaslHandshake), KIP-152 (SaslAuthenticate), KIP-84 (SCRAM)

use bytes::{Bytes, BytesMut};
use kafka_wire::frame::{decode_response, encode_request};
use kafka_wire::messages::sasl_authenticate::SaslAuthenticateRequest;
use kafka_wire::messages::sasl_handshake::SaslHandshakeRequest;
use kafka_wire::{ByteStr, ErrorCode};
use zeroize::{Zeroize, Zeroizing};

use super::config::{SaslMechanism, SaslSettings};
use super::plain;
use super::scram::{ScramClient, ScramError, ScramMechanism};

/// The SaslHandshake version used: 1, so tokens travel in SaslAuthenticate.
pub const HANDSHAKE_VERSION: i16 = 1;
/// The SaslAuthenticate version used: 1 (adds the session lifetime), which
/// every broker with SaslAuthenticate since Kafka 2.0 accepts.
pub const AUTHENTICATE_VERSION: i16 = 1;
/// Largest SASL response frame accepted.
pub const MAX_SASL_FRAME: usize = 64 * 1024;

/// Why authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The broker does not offer the configured mechanism.
    #[error(
        "the broker does not offer SASL mechanism {wanted} (sasl.mechanism); it offers: {offered}"
    )]
    UnsupportedMechanism {
        /// The configured mechanism.
        wanted: SaslMechanism,
        /// What the broker offers, comma separated.
        offered: String,
    },
    /// The broker refused the credentials.
    #[error(
        "SASL {mechanism} authentication failed (check sasl.username and sasl.password): {message}"
    )]
    AuthenticationFailed {
        /// The mechanism.
        mechanism: SaslMechanism,
        /// The broker's (or the SCRAM exchange's) explanation.
        message: String,
    },
    /// The SCRAM exchange broke a rule (bad server signature, foreign
    /// nonce, iteration count, malformed message).
    #[error("SASL {mechanism}: {source}")]
    Scram {
        /// The mechanism.
        mechanism: SaslMechanism,
        /// What went wrong.
        source: ScramError,
    },
    /// The broker answered with an error code.
    #[error("SASL {step} refused by the broker: {code}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Broker {
        /// `SaslHandshake` or `SaslAuthenticate`.
        step: &'static str,
        /// The error code.
        code: ErrorCode,
        /// The broker's message, if any.
        message: Option<String>,
    },
    /// A response that could not be decoded, or out of turn.
    #[error("SASL protocol error: {0}")]
    Protocol(String),
    /// The credentials cannot be encoded.
    #[error("SASL credentials: {0}")]
    Credentials(String),
}

impl SaslError {
    /// The Kafka error code of an authentication failure, or `None` for a
    /// failure that is not one (a response that could not be decoded):
    /// SASL_AUTHENTICATION_FAILED for refused credentials, a SCRAM
    /// exchange the broker could not prove or credentials that cannot be
    /// sent; UNSUPPORTED_SASL_MECHANISM; ILLEGAL_SASL_STATE; and those
    /// three codes when the broker answers with them.
    pub fn authentication_code(&self) -> Option<ErrorCode> {
        match self {
            Self::AuthenticationFailed { .. } | Self::Scram { .. } | Self::Credentials(_) => {
                Some(ErrorCode::SaslAuthenticationFailed)
            }
            Self::UnsupportedMechanism { .. } => Some(ErrorCode::UnsupportedSaslMechanism),
            Self::Broker { code, .. }
                if matches!(
                    code,
                    ErrorCode::SaslAuthenticationFailed
                        | ErrorCode::UnsupportedSaslMechanism
                        | ErrorCode::IllegalSaslState
                ) =>
            {
                Some(*code)
            }
            Self::Broker { .. } | Self::Protocol(_) => None,
        }
    }
}

#[derive(Debug)]
enum Step {
    /// The handshake request is queued or in flight.
    Handshake,
    /// PLAIN: the one message is in flight.
    Plain,
    /// SCRAM: the client-first message is in flight.
    ScramFirst,
    /// SCRAM: the client-final message is in flight.
    ScramFinal,
    Done,
    Failed,
}

/// One connection's SASL exchange. Its `Debug` shows where the exchange
/// stands, never the frame waiting to be written (a PLAIN frame holds the
/// password).
pub struct SaslSession {
    settings: SaslSettings,
    client_id: ByteStr,
    scram: Option<ScramClient>,
    step: Step,
    /// The correlation id of the request in flight.
    in_flight: Option<i32>,
    next_correlation: i32,
    outgoing: Option<Zeroizing<Vec<u8>>>,
    session_lifetime_ms: i64,
}

impl std::fmt::Debug for SaslSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslSession")
            .field("settings", &self.settings)
            .field("step", &self.step)
            .field("in_flight", &self.in_flight)
            .field("outgoing_bytes", &self.outgoing.as_ref().map(|o| o.len()))
            .finish_non_exhaustive()
    }
}

impl SaslSession {
    /// Starts an exchange for `settings`; the handshake is queued.
    pub fn new(settings: &SaslSettings, client_id: &str) -> Result<Self, SaslError> {
        let mut s = Self {
            settings: settings.clone(),
            client_id: ByteStr::from(client_id.to_owned()),
            scram: None,
            step: Step::Handshake,
            in_flight: None,
            next_correlation: 1,
            outgoing: None,
            session_lifetime_ms: 0,
        };
        let req = SaslHandshakeRequest {
            mechanism: ByteStr::from(settings.mechanism.name()),
        };
        s.queue(&req, HANDSHAKE_VERSION)?;
        Ok(s)
    }

    /// The next request frame to send (with its size prefix), if any.
    pub fn poll_transmit(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.outgoing.take()
    }

    /// Whether the broker accepted the credentials (and, for SCRAM, proved
    /// it knows them).
    pub fn is_done(&self) -> bool {
        matches!(self.step, Step::Done)
    }

    /// The session lifetime the broker announced, in milliseconds (0: none).
    pub fn session_lifetime_ms(&self) -> i64 {
        self.session_lifetime_ms
    }

    /// Reads one response frame (without its size prefix).
    pub fn handle_frame(&mut self, frame: Bytes) -> Result<(), SaslError> {
        let r = self.advance(frame);
        if r.is_err() {
            self.step = Step::Failed;
            self.outgoing = None;
        }
        r
    }

    fn advance(&mut self, frame: Bytes) -> Result<(), SaslError> {
        let Some(expected) = self.in_flight.take() else {
            return Err(SaslError::Protocol("response without a request".into()));
        };
        match self.step {
            Step::Handshake => {
                let (header, resp) =
                    decode_response::<SaslHandshakeRequest>(frame, HANDSHAKE_VERSION)
                        .map_err(|e| SaslError::Protocol(format!("SaslHandshake response: {e}")))?;
                check_correlation(header.correlation_id, expected)?;
                let code = ErrorCode::from_code(resp.error_code);
                let wanted = self.settings.mechanism;
                if code == ErrorCode::UnsupportedSaslMechanism {
                    let offered: Vec<&str> = resp.mechanisms.iter().map(|m| &m[..]).collect();
                    return Err(SaslError::UnsupportedMechanism {
                        wanted,
                        offered: if offered.is_empty() {
                            "nothing".to_owned()
                        } else {
                            offered.join(", ")
                        },
                    });
                }
                if code != ErrorCode::None {
                    return Err(SaslError::Broker {
                        step: "SaslHandshake",
                        code,
                        message: None,
                    });
                }
                self.start_mechanism()
            }
            Step::Plain | Step::ScramFirst | Step::ScramFinal => {
                let (header, resp) =
                    decode_response::<SaslAuthenticateRequest>(frame, AUTHENTICATE_VERSION)
                        .map_err(|e| {
                            SaslError::Protocol(format!("SaslAuthenticate response: {e}"))
                        })?;
                check_correlation(header.correlation_id, expected)?;
                let code = ErrorCode::from_code(resp.error_code);
                let message = resp.error_message.as_deref().filter(|m| !m.is_empty());
                if code == ErrorCode::SaslAuthenticationFailed {
                    return Err(SaslError::AuthenticationFailed {
                        mechanism: self.settings.mechanism,
                        message: message.unwrap_or("no reason given").to_owned(),
                    });
                }
                if code != ErrorCode::None {
                    return Err(SaslError::Broker {
                        step: "SaslAuthenticate",
                        code,
                        message: message.map(str::to_owned),
                    });
                }
                self.session_lifetime_ms = resp.session_lifetime_ms;
                self.mechanism_step(&resp.auth_bytes)
            }
            Step::Done | Step::Failed => Err(SaslError::Protocol("exchange is over".into())),
        }
    }

    fn start_mechanism(&mut self) -> Result<(), SaslError> {
        let s = &self.settings;
        let token = match s.mechanism {
            SaslMechanism::Plain => {
                self.step = Step::Plain;
                plain::initial_response(&s.username, &s.password)
                    .map_err(|e| SaslError::Credentials(e.to_string()))?
            }
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                let m = match s.mechanism {
                    SaslMechanism::ScramSha256 => ScramMechanism::Sha256,
                    _ => ScramMechanism::Sha512,
                };
                let mut c = ScramClient::new(m, &s.username, s.password.clone())
                    .map_err(|e| self.scram_error(e))?;
                let first = c.client_first().map_err(|e| self.scram_error(e))?;
                self.scram = Some(c);
                self.step = Step::ScramFirst;
                Zeroizing::new(first)
            }
        };
        self.authenticate(token)
    }

    fn mechanism_step(&mut self, auth_bytes: &[u8]) -> Result<(), SaslError> {
        match self.step {
            Step::Plain => {
                self.step = Step::Done;
                Ok(())
            }
            Step::ScramFirst => {
                let c = self
                    .scram
                    .as_mut()
                    .ok_or_else(|| SaslError::Protocol("no SCRAM state".into()))?;
                let fin = c.handle_server_first(auth_bytes);
                let fin = fin.map_err(|e| self.scram_error(e))?;
                self.step = Step::ScramFinal;
                self.authenticate(fin)
            }
            Step::ScramFinal => {
                let c = self
                    .scram
                    .as_mut()
                    .ok_or_else(|| SaslError::Protocol("no SCRAM state".into()))?;
                let r = c.handle_server_final(auth_bytes);
                r.map_err(|e| self.scram_error(e))?;
                self.scram = None;
                self.step = Step::Done;
                Ok(())
            }
            _ => Err(SaslError::Protocol(
                "unexpected SaslAuthenticate response".into(),
            )),
        }
    }

    fn scram_error(&self, e: ScramError) -> SaslError {
        let mechanism = self.settings.mechanism;
        match e {
            // The server refused our proof: wrong credentials.
            ScramError::Server(message) => SaslError::AuthenticationFailed { mechanism, message },
            source => SaslError::Scram { mechanism, source },
        }
    }

    fn authenticate(&mut self, token: Zeroizing<Vec<u8>>) -> Result<(), SaslError> {
        let req = SaslAuthenticateRequest {
            auth_bytes: Bytes::from(token.to_vec()),
            unknown_tagged_fields: Vec::new(),
        };
        let r = self.queue(&req, AUTHENTICATE_VERSION);
        wipe_bytes(req.auth_bytes);
        r
    }

    fn queue<R: kafka_wire::Request>(&mut self, req: &R, version: i16) -> Result<(), SaslError> {
        let correlation = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        // Sized up front so the frame is not reallocated, leaving no
        // unwiped copy behind.
        let mut buf = BytesMut::with_capacity(1024);
        let r = encode_request(&mut buf, req, version, correlation, Some(&self.client_id));
        if let Err(e) = r {
            buf.zeroize_contents();
            return Err(SaslError::Protocol(format!("encoding a request: {e}")));
        }
        let mut frame = Zeroizing::new(Vec::with_capacity(buf.len()));
        frame.extend_from_slice(&buf);
        buf.zeroize_contents();
        self.outgoing = Some(frame);
        self.in_flight = Some(correlation);
        Ok(())
    }
}

trait ZeroizeContents {
    fn zeroize_contents(&mut self);
}

impl ZeroizeContents for BytesMut {
    fn zeroize_contents(&mut self) {
        // Covers the spare capacity too: the whole allocation is zeroed.
        self.clear();
        self.resize(self.capacity(), 0);
        self[..].zeroize();
    }
}

/// Wipes a token's bytes if this is the last handle to them.
fn wipe_bytes(b: Bytes) {
    if let Ok(mut m) = b.try_into_mut() {
        m.zeroize_contents();
    }
}

fn check_correlation(got: i32, expected: i32) -> Result<(), SaslError> {
    if got == expected {
        Ok(())
    } else {
        Err(SaslError::Protocol(format!(
            "correlation id {got} in a response to request {expected}"
        )))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use kafka_wire::frame::{decode_request, encode_response};
    use kafka_wire::messages::sasl_authenticate::SaslAuthenticateResponse;
    use kafka_wire::messages::sasl_handshake::SaslHandshakeResponse;

    use super::*;
    use crate::security::scram::tests::FakeServer;
    use crate::security::secret::Secret;

    fn body(frame: &[u8]) -> Bytes {
        Bytes::copy_from_slice(&frame[4..])
    }

    pub(crate) fn handshake_reply(req: &[u8], mechanisms: &[&str], code: i16) -> Bytes {
        let (h, r) = decode_request::<SaslHandshakeRequest>(body(req)).unwrap();
        assert_eq!(h.api_version, 1);
        let _ = r;
        let mut out = BytesMut::new();
        let resp = SaslHandshakeResponse {
            error_code: code,
            mechanisms: mechanisms
                .iter()
                .map(|m| ByteStr::from(m.to_string()))
                .collect(),
        };
        encode_response(&mut out, &resp, 1, h.correlation_id).unwrap();
        out.split_off(4).freeze()
    }

    pub(crate) fn auth_request(req: &[u8]) -> (i32, Bytes) {
        let (h, r) = decode_request::<SaslAuthenticateRequest>(body(req)).unwrap();
        assert_eq!(h.api_version, AUTHENTICATE_VERSION);
        (h.correlation_id, r.auth_bytes)
    }

    pub(crate) fn auth_reply(
        correlation: i32,
        code: i16,
        msg: Option<&str>,
        bytes: &[u8],
    ) -> Bytes {
        let mut out = BytesMut::new();
        let resp = SaslAuthenticateResponse {
            error_code: code,
            error_message: msg.map(|m| ByteStr::from(m.to_owned())),
            auth_bytes: Bytes::copy_from_slice(bytes),
            session_lifetime_ms: 0,
            unknown_tagged_fields: Vec::new(),
        };
        encode_response(&mut out, &resp, AUTHENTICATE_VERSION, correlation).unwrap();
        out.split_off(4).freeze()
    }

    fn settings(m: SaslMechanism, pw: &str) -> SaslSettings {
        SaslSettings::new(m, "alice", Secret::from(pw))
    }

    #[test]
    fn plain_exchange() {
        let mut s = SaslSession::new(&settings(SaslMechanism::Plain, "pw"), "cid").unwrap();
        let hs = s.poll_transmit().unwrap();
        assert!(s.poll_transmit().is_none());
        s.handle_frame(handshake_reply(&hs, &["PLAIN", "SCRAM-SHA-256"], 0))
            .unwrap();
        let (cid, token) = auth_request(&s.poll_transmit().unwrap());
        assert_eq!(&token[..], b"\0alice\0pw");
        assert!(!s.is_done());
        s.handle_frame(auth_reply(cid, 0, None, b"")).unwrap();
        assert!(s.is_done());
    }

    #[test]
    fn debug_never_shows_the_frame_that_holds_the_password() {
        let mut s = SaslSession::new(&settings(SaslMechanism::Plain, "hunter2-pw"), "cid").unwrap();
        let hs = s.poll_transmit().unwrap();
        s.handle_frame(handshake_reply(&hs, &["PLAIN"], 0)).unwrap();
        // The PLAIN frame is queued, not yet taken.
        let shown = format!("{s:?}");
        assert!(shown.contains("SaslSession"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let bytes: String = b"hunter2".iter().map(|b| format!("{b}, ")).collect();
        assert!(!shown.contains(bytes.trim_end_matches(", ")), "{shown}");
    }

    #[test]
    fn unsupported_mechanism_lists_what_is_offered() {
        let mut s = SaslSession::new(&settings(SaslMechanism::Plain, "pw"), "cid").unwrap();
        let hs = s.poll_transmit().unwrap();
        let e = s
            .handle_frame(handshake_reply(
                &hs,
                &["SCRAM-SHA-256", "SCRAM-SHA-512"],
                33,
            ))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the broker does not offer SASL mechanism PLAIN (sasl.mechanism); it offers: \
             SCRAM-SHA-256, SCRAM-SHA-512"
        );
        assert!(s.poll_transmit().is_none());
        assert!(!s.is_done());
    }

    #[test]
    fn refused_credentials() {
        let mut s = SaslSession::new(&settings(SaslMechanism::Plain, "bad"), "cid").unwrap();
        let hs = s.poll_transmit().unwrap();
        s.handle_frame(handshake_reply(&hs, &["PLAIN"], 0)).unwrap();
        let (cid, _) = auth_request(&s.poll_transmit().unwrap());
        let e = s
            .handle_frame(auth_reply(
                cid,
                58,
                Some("Invalid username or password"),
                b"",
            ))
            .unwrap_err();
        assert!(matches!(e, SaslError::AuthenticationFailed { .. }));
        assert!(e.to_string().contains("Invalid username or password"));
        assert!(!e.to_string().contains("bad"));
    }

    #[test]
    fn scram_exchange_against_the_fake_server() {
        for (m, sm) in [
            (
                SaslMechanism::ScramSha256,
                crate::security::scram::ScramMechanism::Sha256,
            ),
            (
                SaslMechanism::ScramSha512,
                crate::security::scram::ScramMechanism::Sha512,
            ),
        ] {
            let mut server = FakeServer::new(sm, "pw");
            let mut s = SaslSession::new(&settings(m, "pw"), "cid").unwrap();
            let hs = s.poll_transmit().unwrap();
            s.handle_frame(handshake_reply(&hs, &[m.name()], 0))
                .unwrap();
            let (c1, first) = auth_request(&s.poll_transmit().unwrap());
            let sf = server.first(&first, None);
            s.handle_frame(auth_reply(c1, 0, None, &sf)).unwrap();
            let (c2, fin) = auth_request(&s.poll_transmit().unwrap());
            assert_ne!(c1, c2);
            let last = server.last(&fin, "pw");
            assert!(!s.is_done());
            s.handle_frame(auth_reply(c2, 0, None, &last)).unwrap();
            assert!(s.is_done());
        }
    }

    #[test]
    fn scram_bad_server_signature_fails_the_session() {
        let m = SaslMechanism::ScramSha256;
        let mut server = FakeServer::new(crate::security::scram::ScramMechanism::Sha256, "pw");
        let mut s = SaslSession::new(&settings(m, "pw"), "cid").unwrap();
        let hs = s.poll_transmit().unwrap();
        s.handle_frame(handshake_reply(&hs, &[m.name()], 0))
            .unwrap();
        let (c1, first) = auth_request(&s.poll_transmit().unwrap());
        s.handle_frame(auth_reply(c1, 0, None, &server.first(&first, None)))
            .unwrap();
        let (c2, fin) = auth_request(&s.poll_transmit().unwrap());
        let last = server.last(&fin, "not-the-password");
        let e = s.handle_frame(auth_reply(c2, 0, None, &last)).unwrap_err();
        assert!(matches!(
            e,
            SaslError::Scram {
                source: ScramError::BadServerSignature,
                ..
            }
        ));
        assert!(!s.is_done());
    }

    #[test]
    fn wrong_correlation_and_garbage_are_protocol_errors() {
        let mut s = SaslSession::new(&settings(SaslMechanism::Plain, "pw"), "cid").unwrap();
        let _ = s.poll_transmit().unwrap();
        let mut out = BytesMut::new();
        encode_response(&mut out, &SaslHandshakeResponse::default(), 1, 99).unwrap();
        assert!(matches!(
            s.handle_frame(out.split_off(4).freeze()),
            Err(SaslError::Protocol(_))
        ));
        let mut s = SaslSession::new(&settings(SaslMechanism::Plain, "pw"), "cid").unwrap();
        let _ = s.poll_transmit().unwrap();
        assert!(matches!(
            s.handle_frame(Bytes::from_static(b"\x00\x00")),
            Err(SaslError::Protocol(_))
        ));
        assert!(matches!(
            s.handle_frame(Bytes::new()),
            Err(SaslError::Protocol(_))
        ));
    }
}
