//! The SASL PLAIN mechanism (RFC 4616): one message,
//! `authzid NUL authcid NUL passwd`, with an empty authzid as Kafka expects.
//!
//! The password crosses the connection as it is, so PLAIN belongs on TLS
//! (`SASL_SSL`); `SASL_PLAINTEXT` needs an explicit opt-in (see
//! [`super::config`]).
//!
//! # References
//! - RFC 4616 (PLAIN), KIP-43

use zeroize::Zeroizing;

use super::secret::Secret;

/// Why a PLAIN message cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlainError {
    /// RFC 4616 forbids NUL in the user name and the password.
    #[error("SASL PLAIN user names and passwords cannot contain NUL")]
    Nul,
}

/// The PLAIN message for `username` / `password`, in a buffer that is
/// wiped when dropped.
pub fn initial_response(
    username: &str,
    password: &Secret,
) -> Result<Zeroizing<Vec<u8>>, PlainError> {
    let pw = password.expose();
    if username.as_bytes().contains(&0) || pw.contains(&0) {
        return Err(PlainError::Nul);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(2 + username.len() + pw.len()));
    out.push(0);
    out.extend_from_slice(username.as_bytes());
    out.push(0);
    out.extend_from_slice(pw);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let m = initial_response("alice", &Secret::from("pw")).unwrap();
        assert_eq!(&m[..], b"\0alice\0pw");
    }

    #[test]
    fn nul_refused() {
        assert_eq!(
            initial_response("a\0b", &Secret::from("pw")),
            Err(PlainError::Nul)
        );
        assert_eq!(
            initial_response("a", &Secret::from("p\0w")),
            Err(PlainError::Nul)
        );
    }
}
