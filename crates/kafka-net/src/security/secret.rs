//! [`Secret`]: a password or private key that never shows itself.
//!
//! `Debug` and `Display` print `[redacted]`; the bytes are overwritten with
//! zeros when the value is dropped (and when a clone is dropped: each clone
//! owns and wipes its own copy). The only way to the bytes is
//! [`Secret::expose`], which makes every use easy to find.

use std::fmt;

use zeroize::Zeroizing;

/// A secret value (password, private key PEM). Redacted in `Debug` and
/// `Display`, zeroized on drop.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps `bytes`. The caller's buffer moves in without a copy, so no
    /// unwiped copy is left behind.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret bytes. Use them, do not log or keep them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s.into_bytes())
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes().to_vec())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_in_debug_and_display() {
        let s = Secret::from("hunter2");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s:#?}"), "Secret([redacted])");
        assert_eq!(s.expose(), b"hunter2");
    }

    #[test]
    fn moved_string_is_not_copied() {
        let owned = String::from("pw");
        let ptr = owned.as_ptr();
        let s = Secret::from(owned);
        assert_eq!(s.expose().as_ptr(), ptr);
    }
}
