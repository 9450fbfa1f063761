//! [`Secret`]: a password or private key that never shows itself.
//!
//! `Debug` and `Display` print `[redacted]`; the bytes are overwritten with
//! zeros when the value is dropped (and when a clone is dropped: each clone
//! owns and wipes its own copy), spare capacity included. The only way to
//! the bytes is [`Secret::expose`] (or [`Secret::expose_str`]), which makes
//! every use easy to find.
//!
//! The security settings hold secret properties in it from the moment they
//! are parsed ([`super::SecurityConfig::from_properties`]) to the moment a
//! connection uses them.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret value (password, private key PEM). Redacted in `Debug` and
/// `Display`, zeroized on drop.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret {
    bytes: Vec<u8>,
}

impl Secret {
    /// Wraps `bytes`. The caller's buffer moves in without a copy, so no
    /// unwiped copy is left behind.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// The secret bytes. Use them, do not log or keep them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The secret as text, if it is UTF-8 (always, when it was made from
    /// a `String` or `&str`).
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl Zeroize for Secret {
    /// Overwrites every byte of the buffer with zeros, spare capacity
    /// included, in place: the length and the allocation stay, so what
    /// was wiped can be checked. `Drop` does this.
    fn zeroize(&mut self) {
        let len = self.bytes.len();
        // Zeroes the whole allocation (volatile writes) and sets the
        // length to 0 without freeing anything ...
        self.bytes.zeroize();
        // ... then gives the length back, as zeros, within the capacity
        // (no reallocation, so no copy).
        self.bytes.resize(len, 0);
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

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
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(Secret([redacted]))");
        assert_eq!(s.expose(), b"hunter2");
        assert_eq!(s.expose_str(), Some("hunter2"));
    }

    #[test]
    fn moved_string_is_not_copied() {
        let owned = String::from("pw");
        let ptr = owned.as_ptr();
        let s = Secret::from(owned);
        assert_eq!(s.expose().as_ptr(), ptr);
    }

    #[test]
    fn zeroize_wipes_the_buffer_in_place() {
        // A buffer with spare capacity, as a String read from a file has.
        let mut owned = String::with_capacity(64);
        owned.push_str("correct horse battery staple");
        let ptr = owned.as_ptr();
        let mut s = Secret::from(owned);
        s.zeroize();
        // Same allocation, same length, every byte zero: the bytes the
        // password occupied were overwritten, not merely forgotten.
        assert_eq!(s.expose().as_ptr(), ptr);
        assert_eq!(s.expose().len(), "correct horse battery staple".len());
        assert!(s.expose().iter().all(|b| *b == 0), "{:?}", s.expose());
        // Drop runs the same wipe.
        fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}
        wiped_on_drop(&s);
    }

    #[test]
    fn each_clone_owns_its_copy() {
        let a = Secret::from("pw");
        let mut b = a.clone();
        assert_ne!(a.expose().as_ptr(), b.expose().as_ptr());
        b.zeroize();
        assert_eq!(a.expose(), b"pw");
        assert_eq!(b.expose(), b"\0\0");
    }
}
