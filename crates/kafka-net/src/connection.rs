//! One broker connection, sans-IO: framing, TLS and SASL, with no socket
//! and no clock.
//!
//! [`Connection`] takes the bytes a socket received and gives the bytes to
//! send. In between it runs the TLS handshake (a `rustls` client, when
//! `security.protocol` has TLS) and the SASL exchange ([`SaslSession`],
//! when it has SASL), then splits the broker's response frames off for the
//! producer and encrypts the producer's requests. The drivers' transports
//! (io_uring, epoll) only move bytes. [`Connection`] gives the call order.
//!
//! Plaintext requests are handed back as the same `Bytes` chunks, for
//! `writev`; with TLS they are encrypted together, so records span
//! requests. SASL frames carry credentials: without TLS they go out in
//! buffers that are wiped when the transport drops them.
//!
//! # References
//! - rustls `ClientConnection` (`read_tls`, `process_new_packets`,
//!   `write_tls`); quinn-proto's `handle_*` / `poll_*` call order
//! - KIP-43 and KIP-152 (SASL in Kafka)

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IoSlice, Read, Write};

use bytes::{Bytes, BytesMut};
use kafka_producer::AuthError;
use kafka_wire::error::DecodeError;
use kafka_wire::frame::FrameSplitter;
use rustls::ClientConnection;
use zeroize::Zeroizing;

use crate::security::sasl::MAX_SASL_FRAME;
use crate::security::{tls, Connector, SaslSession, SetupError};

/// Largest response frame accepted; a larger size prefix breaks the
/// connection.
pub const MAX_RESPONSE_FRAME: usize = 256 * 1024 * 1024;

/// Why a connection cannot go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// TLS failed (during the handshake or later), SASL failed, or the
    /// socket failed during the set-up step. May be an authentication
    /// failure: see [`Self::authentication`].
    #[error(transparent)]
    Security(#[from] SetupError),
    /// A response frame with a negative or oversized size prefix: the
    /// stream cannot be resynchronised.
    #[error("invalid response frame: {0}")]
    Frame(DecodeError),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl ConnectionError {
    /// The authentication failure this is, if it is one (SASL refused the
    /// credentials or the mechanism, or TLS failed on a certificate), for
    /// the producer's `handle_auth_failure`. `broker` is `host:port`.
    pub fn authentication(&self, broker: &str) -> Option<AuthError> {
        match self {
            Self::Security(e) => e.authentication(broker),
            Self::Frame(_) | Self::Io(_) => None,
        }
    }
}

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The TLS handshake runs.
    Handshaking,
    /// The SASL exchange runs.
    Authenticating,
    /// Set up: requests and responses flow.
    Ready,
    /// `handle_read` returned an error; only a TLS alert may still go out.
    Failed,
}

/// One broker connection's protocol state: framing, TLS, SASL.
///
/// # Call order
///
/// 1. [`Connection::new`] once the TCP connection is up.
/// 2. Set-up, until [`Connection::is_set_up`]: send what
///    [`Connection::poll_write`] gives, read, hand the bytes to
///    [`Connection::handle_read`]. A `PLAINTEXT` connection is set up from
///    the start.
/// 3. Exchange: after each read, [`Connection::handle_read`], then
///    [`Connection::poll_frame`] until `None` (each a whole response frame
///    for the producer); each request to [`Connection::handle_transmit`];
///    then send what [`Connection::poll_write`] gives. A read can leave
///    something to send too (a TLS key update): [`Connection::wants_write`].
/// 4. To end cleanly: [`Connection::close`], then send what `poll_write`
///    gives (TLS `close_notify`).
///
/// After an error from `handle_read`, send what `poll_write` still holds
/// (the TLS alert that tells the broker why, such as `unknown_ca`), then
/// close the socket.
pub struct Connection {
    host: String,
    tls: Option<ClientConnection>,
    sasl: Option<SaslSession>,
    state: State,
    /// Plaintext received and not yet split into frames.
    received: BytesMut,
    /// Response frames split off, for the producer.
    frames: VecDeque<Bytes>,
    /// Plaintext to send, in order: requests and, without TLS, SASL
    /// frames. Encrypted by `poll_write` when TLS is on.
    unsent: Vec<Bytes>,
}

/// Shows no frame, request or SASL state (they may carry credentials).
impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("state", &self.state)
            .field("tls", &self.tls.is_some())
            .field("received", &self.received.len())
            .field("frames", &self.frames.len())
            .field("unsent", &self.unsent.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts a connection to `host` (the name its certificate must carry
    /// and, for a DNS name, the SNI) with the security `connector`
    /// prepared: the TLS client hello or the SASL handshake is queued.
    pub fn new(connector: &Connector, host: &str) -> Result<Self, SetupError> {
        let tls = connector.tls_connection(host)?.map(|mut tls| {
            // Requests are encrypted whole when they are handed over.
            tls.set_buffer_limit(None);
            tls
        });
        let mut conn = Self {
            host: host.to_owned(),
            state: State::Handshaking,
            sasl: connector.sasl_session(host)?,
            tls,
            received: BytesMut::new(),
            frames: VecDeque::new(),
            unsent: Vec::new(),
        };
        if conn.tls.is_none() {
            conn.start_sasl()?;
        }
        Ok(conn)
    }

    /// Whether TLS and SASL are done: the producer may use the connection.
    pub fn is_set_up(&self) -> bool {
        self.state == State::Ready
    }

    /// Takes bytes received from the socket: decrypts them, advances the
    /// set-up, splits off complete response frames ([`Self::poll_frame`]).
    /// After an error the connection is over (see the call order on
    /// [`Connection`]).
    pub fn handle_read(&mut self, data: &[u8]) -> Result<(), ConnectionError> {
        if self.state == State::Failed {
            return Ok(());
        }
        let result = self.receive(data).and_then(|()| self.advance());
        if result.is_err() {
            self.state = State::Failed;
            self.frames.clear();
            self.unsent.clear();
            self.sasl = None;
        }
        result
    }

    /// The next complete response frame (without its size prefix).
    pub fn poll_frame(&mut self) -> Option<Bytes> {
        self.frames.pop_front()
    }

    /// Queues a request (a whole frame, as chunks) to send. Only once set
    /// up: before, requests would overtake the SASL exchange.
    /// After an error from `handle_read`, requests are dropped.
    pub fn handle_transmit(&mut self, chunks: Vec<Bytes>) {
        debug_assert!(
            matches!(self.state, State::Ready | State::Failed),
            "request before the connection is set up"
        );
        if self.state == State::Failed {
            return;
        }
        if self.unsent.is_empty() {
            self.unsent = chunks;
        } else {
            self.unsent.extend(chunks);
        }
    }

    /// Whether [`Self::poll_write`] has bytes to send.
    pub fn wants_write(&self) -> bool {
        !self.unsent.is_empty() || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// The bytes to send now, in order, as chunks for `writev`: the
    /// requests themselves without TLS, TLS records with it. Send them all
    /// before calling again.
    pub fn poll_write(&mut self) -> Option<Vec<Bytes>> {
        let Some(tls) = &mut self.tls else {
            return (!self.unsent.is_empty()).then(|| std::mem::take(&mut self.unsent));
        };
        if !self.unsent.is_empty() {
            encrypt(tls, &self.unsent);
            self.unsent.clear();
        }
        if !tls.wants_write() {
            return None;
        }
        let mut out = Vec::new();
        while tls.wants_write() {
            // Writing into a `Vec` does not fail.
            if tls.write_tls(&mut out).is_err() {
                break;
            }
        }
        Some(vec![Bytes::from(out)])
    }

    /// Ends the connection cleanly: with TLS, queues `close_notify` for
    /// [`Self::poll_write`].
    pub fn close(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
        }
    }

    /// `e`, met by the transport, as the error of this connection: during
    /// the set-up step it names the step (`TLS handshake`, `SASL`).
    pub fn io_error(&self, e: io::Error) -> ConnectionError {
        let step = match self.state {
            State::Handshaking => "TLS handshake",
            State::Authenticating => "SASL",
            State::Ready | State::Failed => return ConnectionError::Io(e),
        };
        SetupError::Io {
            host: self.host.clone(),
            step,
            source: e,
        }
        .into()
    }

    /// Appends the plaintext that `data` carries to `received`.
    fn receive(&mut self, data: &[u8]) -> Result<(), ConnectionError> {
        let Some(tls) = &mut self.tls else {
            self.received.extend_from_slice(data);
            return Ok(());
        };
        let host = &self.host;
        let io_error = |source| SetupError::Io {
            host: host.clone(),
            step: "TLS",
            source,
        };
        let mut rest = data;
        while !rest.is_empty() {
            let n = tls.read_tls(&mut rest).map_err(io_error)?;
            let state = tls
                .process_new_packets()
                .map_err(|e| tls::handshake_error(&e, host))?;
            let mut want = state.plaintext_bytes_to_read();
            while want > 0 {
                let start = self.received.len();
                self.received.resize(start + want, 0);
                let read = tls.reader().read(&mut self.received[start..]);
                let got = *read.as_ref().unwrap_or(&0);
                self.received.truncate(start + got);
                read.map_err(io_error)?;
                if got == 0 {
                    break;
                }
                want -= got;
            }
            if n == 0 {
                // The broker sent close_notify: nothing more is read.
                break;
            }
        }
        Ok(())
    }

    /// Moves the set-up on as far as the bytes received allow, then splits
    /// off the response frames.
    fn advance(&mut self) -> Result<(), ConnectionError> {
        loop {
            match self.state {
                State::Handshaking => {
                    if let Some(tls) = &self.tls {
                        if tls.is_handshaking() {
                            return Ok(());
                        }
                        tracing::debug!(
                            broker = %self.host,
                            version = ?tls.protocol_version(),
                            suite = ?tls.negotiated_cipher_suite().map(|s| s.suite()),
                            "TLS established"
                        );
                    }
                    self.start_sasl()?;
                }
                State::Authenticating => {
                    let split = FrameSplitter::new(MAX_SASL_FRAME).split(&mut self.received);
                    let frame = split.map_err(|e| self.sasl_framing(e))?;
                    let Some(frame) = frame else {
                        return Ok(());
                    };
                    let session = self.sasl_session()?;
                    let handled = session.handle_frame(frame);
                    handled.map_err(|source| SetupError::Sasl {
                        host: self.host.clone(),
                        source,
                    })?;
                    self.send_sasl()?;
                }
                State::Ready => {
                    let splitter = FrameSplitter::new(MAX_RESPONSE_FRAME);
                    while let Some(frame) = splitter
                        .split(&mut self.received)
                        .map_err(ConnectionError::Frame)?
                    {
                        self.frames.push_back(frame);
                    }
                    return Ok(());
                }
                State::Failed => return Ok(()),
            }
        }
    }

    /// After TLS (or at once without it): queues the SASL handshake, or
    /// is set up when the protocol has no SASL.
    fn start_sasl(&mut self) -> Result<(), SetupError> {
        if self.sasl.is_none() {
            self.state = State::Ready;
            return Ok(());
        }
        self.state = State::Authenticating;
        self.send_sasl()
    }

    /// Queues the frames the SASL exchange has to send; set up when it is
    /// done.
    fn send_sasl(&mut self) -> Result<(), SetupError> {
        let Some(session) = &mut self.sasl else {
            return Ok(());
        };
        while let Some(frame) = session.poll_transmit() {
            match &mut self.tls {
                // Encrypted at once; the plaintext is wiped when `frame`
                // drops.
                Some(tls) => {
                    let written = tls.writer().write_all(&frame);
                    written.map_err(|source| SetupError::Io {
                        host: self.host.clone(),
                        step: "SASL",
                        source,
                    })?;
                }
                None => self.unsent.push(wiped_on_drop(frame)),
            }
        }
        if session.is_done() {
            tracing::debug!(broker = %self.host, "SASL authenticated");
            self.sasl = None;
            self.state = State::Ready;
        }
        Ok(())
    }

    fn sasl_session(&mut self) -> Result<&mut SaslSession, SetupError> {
        let host = &self.host;
        self.sasl.as_mut().ok_or_else(|| SetupError::Io {
            host: host.clone(),
            step: "SASL",
            source: io::Error::other("no SASL exchange"),
        })
    }

    fn sasl_framing(&self, e: DecodeError) -> SetupError {
        SetupError::Io {
            host: self.host.clone(),
            step: "SASL",
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

/// Encrypts `chunks` into TLS records, as many requests to a record as fit.
/// Writing fails only on a connection that has already failed (and said
/// so from `handle_read`); the requests are then dropped with it.
fn encrypt(tls: &mut ClientConnection, chunks: &[Bytes]) {
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match tls.writer().write_vectored(rest) {
            Ok(0) | Err(_) => return,
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
        }
    }
}

/// A SASL frame as `Bytes` whose buffer is wiped when the last handle to
/// it drops (after the transport has written it).
fn wiped_on_drop(frame: Zeroizing<Vec<u8>>) -> Bytes {
    Bytes::from_owner(frame)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::BufMut;
    use kafka_producer::AuthErrorKind;
    use kafka_wire::ErrorCode;
    use rustls::{AlertDescription, ServerConfig, ServerConnection};

    use super::*;
    use crate::security::config::{SaslMechanism, SaslSettings, SecurityProtocol, TlsSettings};
    use crate::security::sasl::tests::{auth_reply, auth_request, handshake_reply};
    use crate::security::scram::tests::FakeServer;
    use crate::security::scram::ScramMechanism;
    use crate::security::tls::tests::{server, Ca};
    use crate::security::{Secret, SecurityConfig};

    const HOST: &str = "broker-1.test";

    fn connector(
        protocol: SecurityProtocol,
        ca: Option<&Ca>,
        sasl: Option<SaslSettings>,
    ) -> Connector {
        let mut c = SecurityConfig {
            protocol,
            sasl,
            allow_sasl_plaintext: true,
            ..SecurityConfig::default()
        };
        c.tls = TlsSettings {
            ca_pem: ca.map(Ca::pem),
            ..TlsSettings::default()
        };
        Connector::new(&c, "cid").unwrap()
    }

    fn sasl(mechanism: SaslMechanism, password: &str) -> Option<SaslSettings> {
        Some(SaslSettings::new(
            mechanism,
            "alice",
            Secret::from(password),
        ))
    }

    /// `body` with its size prefix.
    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_i32(body.len() as i32);
        out.extend_from_slice(body);
        out
    }

    fn concat(chunks: Vec<Bytes>) -> Vec<u8> {
        chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }

    /// Hands `bytes` over one byte at a time: framing must not care how
    /// the bytes are cut.
    fn trickle(conn: &mut Connection, bytes: &[u8]) -> Result<(), ConnectionError> {
        for b in bytes {
            conn.handle_read(std::slice::from_ref(b))?;
        }
        Ok(())
    }

    /// A broker in memory behind TLS: takes the client's bytes, gives its
    /// own back.
    struct TlsBroker {
        tls: ServerConnection,
        plaintext: Vec<u8>,
    }

    impl TlsBroker {
        fn new(config: Arc<ServerConfig>) -> Self {
            Self {
                tls: ServerConnection::new(config).unwrap(),
                plaintext: Vec::new(),
            }
        }

        /// Reads what the client sent; the server's error if TLS failed.
        fn handle(&mut self, from_client: &[u8]) -> Result<(), rustls::Error> {
            let mut rest = from_client;
            while !rest.is_empty() {
                self.tls.read_tls(&mut rest).unwrap();
                let state = self.tls.process_new_packets()?;
                let mut buf = vec![0; state.plaintext_bytes_to_read()];
                self.tls.reader().read_exact(&mut buf).unwrap();
                self.plaintext.extend_from_slice(&buf);
            }
            Ok(())
        }

        fn send(&mut self, plaintext: &[u8]) {
            self.tls.writer().write_all(plaintext).unwrap();
        }

        fn output(&mut self) -> Vec<u8> {
            let mut out = Vec::new();
            while self.tls.wants_write() {
                self.tls.write_tls(&mut out).unwrap();
            }
            out
        }
    }

    /// Runs the exchange between `conn` and `broker` until neither has
    /// anything to say.
    fn pump(conn: &mut Connection, broker: &mut TlsBroker) -> Result<(), ConnectionError> {
        for _ in 0..20 {
            let out = conn.poll_write().map(concat).unwrap_or_default();
            broker.handle(&out).unwrap();
            let back = broker.output();
            if out.is_empty() && back.is_empty() {
                return Ok(());
            }
            conn.handle_read(&back)?;
        }
        panic!("no end to the exchange");
    }

    #[test]
    fn plaintext_is_set_up_at_once_and_hands_requests_back_uncopied() {
        let mut conn = Connection::new(&Connector::plaintext(), HOST).unwrap();
        assert!(conn.is_set_up());
        assert!(conn.poll_write().is_none());
        let header = Bytes::from_static(b"\0\0\0\x05head");
        let batch = Bytes::from(vec![7u8; 1]);
        conn.handle_transmit(vec![header.clone(), batch.clone()]);
        conn.handle_transmit(vec![Bytes::from_static(b"\0\0\0\0")]);
        let out = conn.poll_write().unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0].as_ptr(),
            header.as_ptr(),
            "the same bytes, not a copy"
        );
        assert_eq!(out[1].as_ptr(), batch.as_ptr());
        assert!(conn.poll_write().is_none());
    }

    #[test]
    fn frames_are_split_however_the_bytes_arrive() {
        let mut conn = Connection::new(&Connector::plaintext(), HOST).unwrap();
        let mut stream = framed(b"first");
        stream.extend(framed(b""));
        stream.extend(framed(b"third"));
        let (a, b) = stream.split_at(7);
        conn.handle_read(a).unwrap();
        assert_eq!(conn.poll_frame(), None);
        trickle(&mut conn, &b[..b.len() - 1]).unwrap();
        assert_eq!(conn.poll_frame().as_deref(), Some(&b"first"[..]));
        assert_eq!(conn.poll_frame().as_deref(), Some(&b""[..]));
        assert_eq!(conn.poll_frame(), None);
        conn.handle_read(&b[b.len() - 1..]).unwrap();
        assert_eq!(conn.poll_frame().as_deref(), Some(&b"third"[..]));
    }

    #[test]
    fn a_bad_size_prefix_ends_the_connection() {
        let mut conn = Connection::new(&Connector::plaintext(), HOST).unwrap();
        let e = conn.handle_read(&(-1i32).to_be_bytes()).unwrap_err();
        assert!(matches!(e, ConnectionError::Frame(_)), "{e}");
        assert!(e.authentication("b:1").is_none());
        conn.handle_transmit(vec![Bytes::from_static(b"x")]);
        conn.handle_read(&framed(b"late")).unwrap();
        assert_eq!(conn.poll_frame(), None, "nothing after the error");
    }

    #[test]
    fn tls_handshake_then_requests_and_responses() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue(&[HOST]);
        let mut broker = TlsBroker::new(server(&cert, &key, None));
        let mut conn =
            Connection::new(&connector(SecurityProtocol::Ssl, Some(&ca), None), HOST).unwrap();
        assert!(!conn.is_set_up());
        pump(&mut conn, &mut broker).unwrap();
        assert!(conn.is_set_up());
        assert_eq!(broker.tls.server_name(), Some(HOST));

        // Requests from many chunks, encrypted together.
        let request = [
            Bytes::from_static(b"\0\0\0\x06"),
            Bytes::from_static(b"abc"),
        ];
        conn.handle_transmit(request.to_vec());
        conn.handle_transmit(vec![Bytes::from_static(b"def")]);
        let out = conn.poll_write().unwrap();
        assert_eq!(out.len(), 1);
        broker.handle(&out[0]).unwrap();
        assert_eq!(broker.plaintext, b"\0\0\0\x06abcdef");

        // A response cut across TLS records and reads.
        let body = vec![9u8; 40_000];
        let frame = framed(&body);
        broker.send(&frame[..10]);
        let part = broker.output();
        broker.send(&frame[10..]);
        let rest = broker.output();
        conn.handle_read(&part).unwrap();
        assert_eq!(conn.poll_frame(), None);
        let (a, b) = rest.split_at(rest.len() / 2);
        conn.handle_read(a).unwrap();
        conn.handle_read(b).unwrap();
        assert_eq!(conn.poll_frame().as_deref(), Some(&body[..]));

        conn.close();
        let bye = conn.poll_write().unwrap();
        broker.handle(&bye[0]).unwrap();
        assert!(broker.tls.process_new_packets().unwrap().peer_has_closed());
    }

    #[test]
    fn a_refused_certificate_is_an_authentication_failure_and_alerts_the_broker() {
        let trusted = Ca::new("trusted CA");
        let unknown = Ca::new("unknown CA");
        let (cert, key) = unknown.issue(&[HOST]);
        let mut broker = TlsBroker::new(server(&cert, &key, None));
        let mut conn = Connection::new(
            &connector(SecurityProtocol::Ssl, Some(&trusted), None),
            HOST,
        )
        .unwrap();
        let e = pump(&mut conn, &mut broker).unwrap_err();
        assert!(e.to_string().contains("not signed by a trusted CA"), "{e}");
        let auth = e.authentication("broker-1.test:9093").unwrap();
        assert_eq!(auth.kind, AuthErrorKind::TlsCertificate);
        // The alert that says why is left to send.
        let alert = concat(conn.poll_write().unwrap());
        assert_eq!(
            broker.handle(&alert),
            Err(rustls::Error::AlertReceived(AlertDescription::UnknownCA))
        );
    }

    #[test]
    fn plaintext_against_a_tls_connection_is_no_authentication_failure() {
        let ca = Ca::new("test CA");
        let mut conn =
            Connection::new(&connector(SecurityProtocol::Ssl, Some(&ca), None), HOST).unwrap();
        assert!(conn.poll_write().is_some(), "client hello");
        let e = conn.handle_read(&framed(b"a Kafka response")).unwrap_err();
        assert!(e.to_string().contains("did not answer with TLS"), "{e}");
        assert!(e.authentication("b:1").is_none());
    }

    /// Answers the SASL requests `conn` sends, as a broker accepting PLAIN
    /// would, the last reply followed by `after` in the same read.
    fn plain_broker(conn: &mut Connection, code: i16, after: &[u8]) -> Result<(), ConnectionError> {
        let hs = concat(conn.poll_write().unwrap());
        trickle(conn, &framed(&handshake_reply(&hs, &["PLAIN"], 0)))?;
        let (correlation, token) = auth_request(&concat(conn.poll_write().unwrap()));
        assert_eq!(&token[..], b"\0alice\0pw");
        let mut reply = framed(&auth_reply(correlation, code, Some("refused"), b""));
        reply.extend_from_slice(after);
        conn.handle_read(&reply)
    }

    #[test]
    fn sasl_plain_without_tls() {
        let c = connector(
            SecurityProtocol::SaslPlaintext,
            None,
            sasl(SaslMechanism::Plain, "pw"),
        );
        let mut conn = Connection::new(&c, HOST).unwrap();
        assert!(!conn.is_set_up());
        // A response that came right behind the last SASL reply is kept.
        plain_broker(&mut conn, 0, &framed(b"response")).unwrap();
        assert!(conn.is_set_up());
        assert!(conn.poll_write().is_none());
        assert_eq!(conn.poll_frame().as_deref(), Some(&b"response"[..]));

        let mut conn = Connection::new(&c, HOST).unwrap();
        let e =
            plain_broker(&mut conn, ErrorCode::SaslAuthenticationFailed.code(), b"").unwrap_err();
        assert!(!conn.is_set_up());
        let auth = e.authentication("b:1").unwrap();
        assert_eq!(
            auth.kind,
            AuthErrorKind::Sasl(ErrorCode::SaslAuthenticationFailed)
        );
        assert!(!auth.message.contains("pw"), "{auth}");
    }

    #[test]
    fn an_oversized_sasl_frame_is_refused() {
        let c = connector(
            SecurityProtocol::SaslPlaintext,
            None,
            sasl(SaslMechanism::Plain, "pw"),
        );
        let mut conn = Connection::new(&c, HOST).unwrap();
        let e = conn
            .handle_read(&(MAX_SASL_FRAME as i32 + 1).to_be_bytes())
            .unwrap_err();
        assert!(e.to_string().starts_with("SASL with broker-1.test"), "{e}");
        assert!(e.authentication("b:1").is_none());
    }

    #[test]
    fn scram_over_tls() {
        let ca = Ca::new("test CA");
        let (cert, key) = ca.issue(&[HOST]);
        let mut broker = TlsBroker::new(server(&cert, &key, None));
        let c = connector(
            SecurityProtocol::SaslSsl,
            Some(&ca),
            sasl(SaslMechanism::ScramSha512, "pw"),
        );
        let mut conn = Connection::new(&c, HOST).unwrap();
        let mut scram = FakeServer::new(ScramMechanism::Sha512, "pw");
        // The TLS handshake, and the SASL handshake request behind it.
        pump(&mut conn, &mut broker).unwrap();
        let hs = std::mem::take(&mut broker.plaintext);
        answer(
            &mut conn,
            &mut broker,
            handshake_reply(&hs, &["SCRAM-SHA-512"], 0),
        );
        let (c1, first) = auth_request(&broker.plaintext);
        let server_first = scram.first(&first, None);
        answer(
            &mut conn,
            &mut broker,
            auth_reply(c1, 0, None, &server_first),
        );
        let (c2, last) = auth_request(&broker.plaintext);
        assert!(!conn.is_set_up());
        let server_final = scram.last(&last, "pw");
        answer(
            &mut conn,
            &mut broker,
            auth_reply(c2, 0, None, &server_final),
        );
        assert!(conn.is_set_up());
    }

    /// The broker sends `reply` (a frame body); the client's answer is
    /// left in `broker.plaintext`.
    fn answer(conn: &mut Connection, broker: &mut TlsBroker, reply: Bytes) {
        broker.plaintext.clear();
        broker.send(&framed(&reply));
        let back = broker.output();
        conn.handle_read(&back).unwrap();
        pump(conn, broker).unwrap();
    }

    #[test]
    fn io_errors_name_the_set_up_step() {
        let e = |conn: &Connection| {
            conn.io_error(io::ErrorKind::ConnectionReset.into())
                .to_string()
        };
        let ca = Ca::new("test CA");
        let conn =
            Connection::new(&connector(SecurityProtocol::Ssl, Some(&ca), None), HOST).unwrap();
        assert!(e(&conn).starts_with("TLS handshake with broker-1.test"));
        let c = connector(
            SecurityProtocol::SaslPlaintext,
            None,
            sasl(SaslMechanism::Plain, "pw"),
        );
        assert!(e(&Connection::new(&c, HOST).unwrap()).starts_with("SASL with broker-1.test"));
        let conn = Connection::new(&Connector::plaintext(), HOST).unwrap();
        assert!(matches!(
            conn.io_error(io::ErrorKind::ConnectionReset.into()),
            ConnectionError::Io(_)
        ));
    }

    #[test]
    fn debug_shows_no_credentials() {
        let c = connector(
            SecurityProtocol::SaslPlaintext,
            None,
            sasl(SaslMechanism::Plain, "hunter2"),
        );
        let conn = Connection::new(&c, HOST).unwrap();
        let text = format!("{conn:?} {conn:#?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
