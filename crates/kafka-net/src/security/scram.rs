//! SCRAM-SHA-256 and SCRAM-SHA-512 client (RFC 5802, RFC 7677), sans-IO.
//!
//! Call order: [`ScramClient::new`], then [`ScramClient::client_first`]
//! (send it), [`ScramClient::handle_server_first`] with the broker's reply
//! (send what it returns), [`ScramClient::handle_server_final`] with the
//! last reply. Success means the broker proved it knows the password too.
//!
//! Client rules: the nonce is 24 bytes from the operating system's CSPRNG;
//! the server nonce must extend ours; iteration counts outside
//! [`MIN_ITERATIONS`]`..=`[`MAX_ITERATIONS`] are refused before any work
//! (a low count is a downgrade, a huge one a denial of service); the
//! server signature is compared in constant time; `e=` is a failure.
//! No channel binding (`n,,`), as Kafka. Like the Java client, the
//! password is used as given (no SASLprep).
//!
//! # References
//! - RFC 5802 (SCRAM), RFC 7677 (SCRAM-SHA-256), KIP-84 (SCRAM in Kafka)

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::secret::Secret;

/// The lowest iteration count accepted (RFC 7677 and Kafka's minimum).
pub const MIN_ITERATIONS: u32 = 4096;
/// The highest iteration count accepted.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// The hash behind a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScramMechanism {
    /// `SCRAM-SHA-256`.
    Sha256,
    /// `SCRAM-SHA-512`.
    Sha512,
}

impl ScramMechanism {
    /// The mechanism's SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            // HMAC takes keys of any length.
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
            for p in parts {
                mac.update(p);
            }
            mac.finalize().into_bytes().to_vec()
        }
        Zeroizing::new(match self {
            Self::Sha256 => run::<Hmac<Sha256>>(key, parts),
            Self::Sha512 => run::<Hmac<Sha512>>(key, parts),
        })
    }

    fn hash(self, data: &[u8]) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        })
    }

    fn salted_password(self, password: &[u8], salt: &[u8], rounds: u32) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![0u8; self.output_len()]);
        match self {
            Self::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, &mut out),
            Self::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, rounds, &mut out),
        }
        out
    }

    fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

impl fmt::Display for ScramMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a SCRAM exchange failed. Never carries the password or anything
/// derived from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScramError {
    /// The operating system's random source failed.
    #[error("no random numbers for the SCRAM nonce: {0}")]
    Random(String),
    /// A server message that does not follow RFC 5802.
    #[error("malformed SCRAM server message: {0}")]
    Malformed(&'static str),
    /// The server nonce does not start with the client nonce.
    #[error("SCRAM server nonce does not extend the client nonce")]
    NonceMismatch,
    /// An iteration count outside the accepted range.
    #[error("SCRAM iteration count {0} refused (accepted: {MIN_ITERATIONS}..={MAX_ITERATIONS})")]
    IterationCount(u64),
    /// The server sent `e=`.
    #[error("SCRAM server reported an error: {0}")]
    Server(String),
    /// The server's signature is wrong: it does not know the password, or
    /// someone is in the middle.
    #[error("SCRAM server signature does not verify")]
    BadServerSignature,
    /// A message arrived in the wrong step.
    #[error("SCRAM message out of order")]
    OutOfOrder,
}

enum State {
    Start,
    SentFirst,
    SentFinal {
        server_signature: Zeroizing<Vec<u8>>,
    },
    Done,
    Failed,
}

/// A SCRAM client for one authentication exchange.
pub struct ScramClient {
    mechanism: ScramMechanism,
    password: Secret,
    nonce: String,
    client_first_bare: String,
    state: State,
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// A client for `username` / `password`, with a fresh nonce from the
    /// operating system.
    pub fn new(
        mechanism: ScramMechanism,
        username: &str,
        password: Secret,
    ) -> Result<Self, ScramError> {
        let mut raw = [0u8; 24];
        getrandom::fill(&mut raw).map_err(|e| ScramError::Random(e.to_string()))?;
        Ok(Self::with_nonce(
            mechanism,
            username,
            password,
            B64.encode(raw),
        ))
    }

    /// A client with a given nonce, for test vectors. The nonce must be
    /// printable ASCII without `,`.
    pub(crate) fn with_nonce(
        mechanism: ScramMechanism,
        username: &str,
        password: Secret,
        nonce: String,
    ) -> Self {
        let client_first_bare = format!("n={},r={}", escape_username(username), nonce);
        Self {
            mechanism,
            password,
            nonce,
            client_first_bare,
            state: State::Start,
        }
    }

    /// The mechanism.
    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// Whether the server has been verified.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The client-first message (`n,,n=user,r=nonce`).
    pub fn client_first(&mut self) -> Result<Vec<u8>, ScramError> {
        if !matches!(self.state, State::Start) {
            return Err(ScramError::OutOfOrder);
        }
        self.state = State::SentFirst;
        Ok(format!("n,,{}", self.client_first_bare).into_bytes())
    }

    /// Reads the server-first message and returns the client-final message
    /// (with the proof) to send.
    pub fn handle_server_first(&mut self, msg: &[u8]) -> Result<Zeroizing<Vec<u8>>, ScramError> {
        if !matches!(self.state, State::SentFirst) {
            return Err(ScramError::OutOfOrder);
        }
        self.state = State::Failed;
        let msg = std::str::from_utf8(msg).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        if let Some(e) = msg.strip_prefix("e=") {
            return Err(ScramError::Server(e.to_owned()));
        }
        if msg.starts_with("m=") {
            return Err(ScramError::Malformed("mandatory extension not supported"));
        }
        let mut attrs = msg.split(',');
        let nonce = attr(attrs.next(), "r=").ok_or(ScramError::Malformed("no nonce"))?;
        let salt = attr(attrs.next(), "s=").ok_or(ScramError::Malformed("no salt"))?;
        let iterations = attr(attrs.next(), "i=").ok_or(ScramError::Malformed("no iterations"))?;
        // Further attributes are extensions, which RFC 5802 says to ignore.

        if !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(ScramError::Malformed(
                "nonce has characters outside printable ASCII",
            ));
        }
        if nonce.len() <= self.nonce.len() || !nonce.starts_with(&self.nonce) {
            return Err(ScramError::NonceMismatch);
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| ScramError::Malformed("salt is not base64"))?;
        if salt.is_empty() {
            return Err(ScramError::Malformed("empty salt"));
        }
        if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ScramError::Malformed("iteration count is not a number"));
        }
        let rounds: u64 = iterations.parse().unwrap_or(u64::MAX);
        let rounds = match u32::try_from(rounds) {
            Ok(r) if (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&r) => r,
            _ => return Err(ScramError::IterationCount(rounds)),
        };

        let m = self.mechanism;
        let salted = m.salted_password(self.password.expose(), &salt, rounds);
        let client_key = m.hmac(&salted, &[b"Client Key"]);
        let stored_key = m.hash(&client_key);
        let server_key = m.hmac(&salted, &[b"Server Key"]);
        // c=biws is base64("n,,"): no channel binding, no authzid.
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = [
            self.client_first_bare.as_bytes(),
            b",",
            msg.as_bytes(),
            b",",
            without_proof.as_bytes(),
        ];
        let client_signature = m.hmac(&stored_key, &auth_message);
        let proof: Zeroizing<Vec<u8>> = Zeroizing::new(
            client_key
                .iter()
                .zip(client_signature.iter())
                .map(|(k, s)| k ^ s)
                .collect(),
        );
        let server_signature = m.hmac(&server_key, &auth_message);

        let mut out = Zeroizing::new(Vec::with_capacity(without_proof.len() + 3 + 88));
        out.extend_from_slice(without_proof.as_bytes());
        out.extend_from_slice(b",p=");
        out.extend_from_slice(B64.encode(&proof[..]).as_bytes());
        self.state = State::SentFinal { server_signature };
        Ok(out)
    }

    /// Reads the server-final message and checks the server's signature.
    pub fn handle_server_final(&mut self, msg: &[u8]) -> Result<(), ScramError> {
        if !matches!(self.state, State::SentFinal { .. }) {
            return Err(ScramError::OutOfOrder);
        }
        let State::SentFinal { server_signature } =
            std::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(ScramError::OutOfOrder);
        };
        let msg = std::str::from_utf8(msg).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let first = msg.split(',').next();
        if let Some(e) = attr(first, "e=") {
            return Err(ScramError::Server(e.to_owned()));
        }
        let v = attr(first, "v=").ok_or(ScramError::Malformed("no verifier"))?;
        let v = B64
            .decode(v)
            .map_err(|_| ScramError::Malformed("verifier is not base64"))?;
        if bool::from(v.as_slice().ct_eq(server_signature.as_slice())) {
            self.state = State::Done;
            Ok(())
        } else {
            Err(ScramError::BadServerSignature)
        }
    }
}

fn attr<'a>(part: Option<&'a str>, name: &str) -> Option<&'a str> {
    part?.strip_prefix(name)
}

/// `saslname` escaping of RFC 5802: `=` becomes `=3D`, `,` becomes `=2C`.
fn escape_username(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '=' => out.push_str("=3D"),
            ',' => out.push_str("=2C"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The server side of SCRAM, written straight from RFC 5802 section 3,
    /// so the client can be run against a server that misbehaves on demand.
    pub(crate) struct FakeServer {
        pub mechanism: ScramMechanism,
        pub password: &'static str,
        pub salt: Vec<u8>,
        pub iterations: u64,
        pub nonce_suffix: &'static str,
        pub client_first_bare: String,
        pub server_first: String,
    }

    impl FakeServer {
        pub(crate) fn new(mechanism: ScramMechanism, password: &'static str) -> Self {
            Self {
                mechanism,
                password,
                salt: b"salty-salt".to_vec(),
                iterations: 4096,
                nonce_suffix: "srv-nonce",
                client_first_bare: String::new(),
                server_first: String::new(),
            }
        }

        /// Answers the client-first message; `nonce` overrides the
        /// combined nonce.
        pub(crate) fn first(&mut self, client_first: &[u8], nonce: Option<&str>) -> Vec<u8> {
            let s = std::str::from_utf8(client_first).unwrap();
            let bare = s.strip_prefix("n,,").unwrap();
            self.client_first_bare = bare.to_owned();
            let cnonce = bare.split(",r=").nth(1).unwrap();
            let nonce =
                nonce.map_or_else(|| format!("{cnonce}{}", self.nonce_suffix), str::to_owned);
            self.server_first = format!(
                "r={nonce},s={},i={}",
                B64.encode(&self.salt),
                self.iterations
            );
            self.server_first.clone().into_bytes()
        }

        /// Checks the client proof; returns the server-final message (with
        /// a signature made with `sign_password`) or `e=invalid-proof`.
        pub(crate) fn last(&self, client_final: &[u8], sign_password: &str) -> Vec<u8> {
            let m = self.mechanism;
            let s = std::str::from_utf8(client_final).unwrap();
            let (without_proof, proof) = s.rsplit_once(",p=").unwrap();
            let auth = format!(
                "{},{},{}",
                self.client_first_bare, self.server_first, without_proof
            );
            let rounds = u32::try_from(self.iterations).unwrap();
            let salted = m.salted_password(self.password.as_bytes(), &self.salt, rounds);
            let stored = m.hash(&m.hmac(&salted, &[b"Client Key"]));
            let sig = m.hmac(&stored, &[auth.as_bytes()]);
            let proof = B64.decode(proof).unwrap();
            let client_key: Vec<u8> = proof.iter().zip(sig.iter()).map(|(p, s)| p ^ s).collect();
            if m.hash(&client_key)[..] != stored[..] {
                return b"e=invalid-proof".to_vec();
            }
            let salted = m.salted_password(sign_password.as_bytes(), &self.salt, rounds);
            let server_key = m.hmac(&salted, &[b"Server Key"]);
            let v = m.hmac(&server_key, &[auth.as_bytes()]);
            format!("v={}", B64.encode(&v[..])).into_bytes()
        }
    }

    #[test]
    fn rfc7677_sha256_vector() {
        let mut c = ScramClient::with_nonce(
            ScramMechanism::Sha256,
            "user",
            Secret::from("pencil"),
            "rOprNGfwEbeRWgbNEkqO".to_owned(),
        );
        assert_eq!(
            c.client_first().unwrap(),
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        let fin = c
            .handle_server_first(
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                  s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&fin).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.handle_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(c.is_done());
    }

    /// The RFC 7677 exchange redone with SHA-512; the expected values were
    /// computed independently with Python's `hashlib.pbkdf2_hmac` and `hmac`.
    #[test]
    fn sha512_vector() {
        let mut c = ScramClient::with_nonce(
            ScramMechanism::Sha512,
            "user",
            Secret::from("pencil"),
            "rOprNGfwEbeRWgbNEkqO".to_owned(),
        );
        c.client_first().unwrap();
        let fin = c
            .handle_server_first(
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                  s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap();
        assert_eq!(std::str::from_utf8(&fin).unwrap(), SHA512_CLIENT_FINAL);
        c.handle_server_final(SHA512_SERVER_FINAL.as_bytes())
            .unwrap();
        assert!(c.is_done());
    }

    const SHA512_CLIENT_FINAL: &str =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
        p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==";
    const SHA512_SERVER_FINAL: &str = "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==";

    #[test]
    fn username_is_escaped() {
        let mut c = ScramClient::with_nonce(
            ScramMechanism::Sha256,
            "a=b,c",
            Secret::from("p"),
            "n".to_owned(),
        );
        assert_eq!(c.client_first().unwrap(), b"n,,n=a=3Db=2Cc,r=n");
    }

    #[test]
    fn fresh_nonces_differ_and_are_long() {
        let mut a = ScramClient::new(ScramMechanism::Sha256, "u", Secret::from("p")).unwrap();
        let mut b = ScramClient::new(ScramMechanism::Sha256, "u", Secret::from("p")).unwrap();
        let (a, b) = (a.client_first().unwrap(), b.client_first().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), "n,,n=u,r=".len() + 32);
    }

    fn run(
        m: ScramMechanism,
        server: &mut FakeServer,
        client_pw: &'static str,
        nonce: Option<&str>,
        sign_pw: &str,
    ) -> Result<(), ScramError> {
        let mut c = ScramClient::new(m, "alice", Secret::from(client_pw)).unwrap();
        let first = c.client_first().unwrap();
        let sf = server.first(&first, nonce);
        let fin = c.handle_server_first(&sf)?;
        let last = server.last(&fin, sign_pw);
        c.handle_server_final(&last)
    }

    #[test]
    fn fake_server_accepts_the_right_password() {
        for m in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            let mut s = FakeServer::new(m, "s3cret");
            run(m, &mut s, "s3cret", None, "s3cret").unwrap();
        }
    }

    #[test]
    fn wrong_password_gets_server_error() {
        let m = ScramMechanism::Sha256;
        let mut s = FakeServer::new(m, "s3cret");
        assert_eq!(
            run(m, &mut s, "nope", None, "s3cret"),
            Err(ScramError::Server("invalid-proof".to_owned()))
        );
    }

    #[test]
    fn bad_server_signature_is_rejected() {
        for m in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            let mut s = FakeServer::new(m, "s3cret");
            // The server accepts our proof but cannot sign with the password.
            assert_eq!(
                run(m, &mut s, "s3cret", None, "other"),
                Err(ScramError::BadServerSignature)
            );
        }
        let mut c = ScramClient::new(ScramMechanism::Sha256, "u", Secret::from("p")).unwrap();
        let first = c.client_first().unwrap();
        let mut s = FakeServer::new(ScramMechanism::Sha256, "p");
        let fin = c.handle_server_first(&s.first(&first, None)).unwrap();
        let _ = s.last(&fin, "p");
        assert_eq!(
            c.handle_server_final(b"v=AAAA"),
            Err(ScramError::BadServerSignature)
        );
    }

    #[test]
    fn foreign_nonce_is_rejected() {
        let m = ScramMechanism::Sha256;
        let mut s = FakeServer::new(m, "p");
        assert_eq!(
            run(m, &mut s, "p", Some("someone-elses-nonce-entirely"), "p"),
            Err(ScramError::NonceMismatch)
        );
        // The bare client nonce, not extended, is refused too.
        let mut c = ScramClient::with_nonce(m, "u", Secret::from("p"), "abc".to_owned());
        c.client_first().unwrap();
        assert_eq!(
            c.handle_server_first(b"r=abc,s=c2FsdA==,i=4096"),
            Err(ScramError::NonceMismatch)
        );
    }

    #[test]
    fn iteration_counts_out_of_range_are_rejected() {
        let m = ScramMechanism::Sha512;
        for (i, ok) in [
            (0u64, false),
            (1, false),
            (4095, false),
            (4096, true),
            (1_000_001, false),
            (u64::from(u32::MAX) + 1, false),
        ] {
            let mut s = FakeServer::new(m, "p");
            s.iterations = i;
            let mut c = ScramClient::new(m, "u", Secret::from("p")).unwrap();
            let first = c.client_first().unwrap();
            let r = c.handle_server_first(&s.first(&first, None));
            if ok {
                assert!(r.is_ok(), "{i}");
            } else {
                assert_eq!(r.unwrap_err(), ScramError::IterationCount(i));
            }
        }
        let mut c = ScramClient::with_nonce(m, "u", Secret::from("p"), "n".to_owned());
        c.client_first().unwrap();
        assert_eq!(
            c.handle_server_first(b"r=nX,s=c2FsdA==,i=99999999999999999999999"),
            Err(ScramError::IterationCount(u64::MAX))
        );
    }

    #[test]
    fn malformed_and_error_messages() {
        let fresh = || {
            let mut c =
                ScramClient::with_nonce(ScramMechanism::Sha256, "u", Secret::from("p"), "n".into());
            c.client_first().unwrap();
            c
        };
        for bad in [
            &b""[..],
            b"s=c2FsdA==,r=nX,i=4096",
            b"r=nX,i=4096",
            b"r=nX,s=!!,i=4096",
            b"r=nX,s=,i=4096",
            b"r=nX,s=c2FsdA==,i=-1",
            b"r=nX,s=c2FsdA==",
            b"m=ext,r=nX,s=c2FsdA==,i=4096",
            b"r=n X,s=c2FsdA==,i=4096",
            b"\xff",
        ] {
            assert!(
                matches!(
                    fresh().handle_server_first(bad),
                    Err(ScramError::Malformed(_))
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            fresh().handle_server_first(b"e=unknown-user"),
            Err(ScramError::Server("unknown-user".into()))
        );
        let mut c = fresh();
        c.handle_server_first(b"r=nX,s=c2FsdA==,i=4096,ext=1")
            .unwrap();
        assert_eq!(
            c.handle_server_final(b"e=invalid-proof"),
            Err(ScramError::Server("invalid-proof".into()))
        );
        // After a failure nothing more is accepted.
        assert_eq!(
            c.handle_server_final(b"v=AAAA"),
            Err(ScramError::OutOfOrder)
        );
    }

    #[test]
    fn out_of_order_calls() {
        let mut c =
            ScramClient::with_nonce(ScramMechanism::Sha256, "u", Secret::from("p"), "n".into());
        assert_eq!(
            c.handle_server_first(b"r=nX,s=c2FsdA==,i=4096"),
            Err(ScramError::OutOfOrder)
        );
        assert_eq!(
            c.handle_server_final(b"v=AAAA"),
            Err(ScramError::OutOfOrder)
        );
        c.client_first().unwrap();
        assert_eq!(c.client_first(), Err(ScramError::OutOfOrder));
    }

    #[test]
    fn debug_shows_no_password() {
        let c = ScramClient::new(ScramMechanism::Sha256, "u", Secret::from("topsecret")).unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
