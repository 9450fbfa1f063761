//! Front-end settings: limits and write keys.

use std::sync::Arc;
use std::time::Duration;

/// Default limit on one request body, before and after decompression
/// (Segment's documented 500 KB per batch request).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 500 * 1024;
/// Default limit on one event (Segment's documented 32 KB per call).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 32 * 1024;
/// Default limit on a request head (request line and headers).
pub const DEFAULT_MAX_HEAD_BYTES: usize = 16 * 1024;
/// Default number of requests a connection may have awaiting a response.
pub const DEFAULT_MAX_PIPELINED: usize = 16;

/// One accepted write key, and the source it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteKey {
    /// The write key, sent by the SDKs as the Basic-auth user name.
    pub key: String,
    /// The source name handed to the sink with each request from this key
    /// (the binary adds it as a record header). `None`: no source header.
    pub source: Option<String>,
}

impl WriteKey {
    /// A key with no source name.
    pub fn new(key: impl Into<String>) -> Self {
        WriteKey {
            key: key.into(),
            source: None,
        }
    }

    /// A key whose requests carry `source`.
    pub fn with_source(key: impl Into<String>, source: impl Into<String>) -> Self {
        WriteKey {
            key: key.into(),
            source: Some(source.into()),
        }
    }
}

/// Settings of the HTTP front end, shared by every connection of a worker.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body, counted on the wire and again after gunzip.
    /// Larger gets 413. Default [`DEFAULT_MAX_REQUEST_BYTES`].
    pub max_request_bytes: usize,
    /// Largest single event: the body of `/v1/track` and friends (checked
    /// here), or one element of `batch` (checked by the sink, see
    /// [`crate::IngestRequest::max_event_bytes`]). Larger gets 413.
    /// Default [`DEFAULT_MAX_EVENT_BYTES`].
    pub max_event_bytes: usize,
    /// Largest request head. Larger gets 431. Default [`DEFAULT_MAX_HEAD_BYTES`].
    pub max_head_bytes: usize,
    /// Requests of one connection awaiting their response before the
    /// connection stops parsing input. Default [`DEFAULT_MAX_PIPELINED`].
    pub max_pipelined: usize,
    /// `Retry-After` sent with a 503 when the sink gives no value.
    /// Default 1 s.
    pub retry_after: Duration,
    /// The write keys and their sources, looked up in constant time
    /// ([`crate::auth::find_key`]).
    keys: Vec<Accepted>,
}

/// A write key as held for lookups.
#[derive(Debug, Clone)]
struct Accepted {
    key: Box<[u8]>,
    source: Option<Arc<str>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_pipelined: DEFAULT_MAX_PIPELINED,
            retry_after: Duration::from_secs(1),
            keys: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Default limits and the given write keys. With no keys, every
    /// ingest request gets 401.
    pub fn new(keys: impl IntoIterator<Item = WriteKey>) -> Self {
        let mut config = HttpConfig::default();
        for k in keys {
            config.add_key(k);
        }
        config
    }

    /// Accepts one more write key (a repeated key takes the new source).
    pub fn add_key(&mut self, key: WriteKey) {
        let source = key.source.map(Arc::from);
        match self.keys.iter_mut().find(|a| *a.key == *key.key.as_bytes()) {
            Some(a) => a.source = source,
            None => self.keys.push(Accepted {
                key: key.key.into_bytes().into_boxed_slice(),
                source,
            }),
        }
    }

    /// Number of accepted write keys.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// `Some(source)` when `key` is accepted. Takes the same time whichever
    /// key matches, and however much of a key a wrong one shares: every
    /// configured key is compared in full.
    pub fn lookup(&self, key: &[u8]) -> Option<&Option<Arc<str>>> {
        let at = crate::auth::find_key(self.keys.iter().map(|a| &*a.key), key)?;
        self.keys.get(at).map(|a| &a.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_each_key_and_its_source() {
        let mut c = HttpConfig::new([
            WriteKey::with_source("web-key", "web"),
            WriteKey::new("server-key"),
            WriteKey::with_source("web-key-2", "web2"),
        ]);
        let source = |k: &[u8]| c_source(&c, k);
        assert_eq!(source(b"web-key"), Some(Some("web".to_owned())));
        assert_eq!(source(b"server-key"), Some(None));
        assert_eq!(source(b"web-key-2"), Some(Some("web2".to_owned())));
        assert_eq!(source(b"web-ke"), None);
        assert_eq!(source(b""), None);
        // A repeated key takes the new source and is counted once.
        c.add_key(WriteKey::with_source("server-key", "backend"));
        assert_eq!(c.key_count(), 3);
        assert_eq!(
            c_source(&c, b"server-key"),
            Some(Some("backend".to_owned()))
        );
        assert_eq!(c_source(&HttpConfig::default(), b"web-key"), None);
    }

    fn c_source(c: &HttpConfig, key: &[u8]) -> Option<Option<String>> {
        c.lookup(key).map(|s| s.as_deref().map(str::to_owned))
    }
}
