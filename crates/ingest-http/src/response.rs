//! Response heads and JSON bodies.

use std::fmt::Write as _;
use std::time::Duration;

use crate::sink::{IngestOutcome, Status};

/// The interim response to `Expect: 100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A final response, before serialisation.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub retry_after: Option<u64>,
    pub allow: Option<&'static str>,
    pub www_authenticate: bool,
    /// HEAD: send the head only (with the body's length).
    pub head_only: bool,
}

impl Response {
    pub(crate) fn json(status: u16, body: String) -> Self {
        Response {
            status,
            content_type: "application/json",
            body: body.into_bytes(),
            retry_after: None,
            allow: None,
            www_authenticate: false,
            head_only: false,
        }
    }

    /// `{"error":"..."}` (plus `extra`, raw JSON members with a leading comma).
    pub(crate) fn error(status: u16, message: &str, extra: &str) -> Self {
        let mut body = String::from("{\"error\":");
        json_str(&mut body, message);
        body.push_str(extra);
        body.push('}');
        Response::json(status, body)
    }

    pub(crate) fn too_large(what: &str, limit: usize, index: Option<usize>) -> Self {
        let mut extra = format!(",\"limit\":{limit}");
        if let Some(i) = index {
            let _ = write!(extra, ",\"index\":{i}");
        }
        Response::error(413, &format!("{what} exceeds {limit} bytes"), &extra)
    }

    /// Writes the response; `close` adds `connection: close`,
    /// `keep_alive_header` adds `connection: keep-alive` (HTTP/1.0 clients).
    pub(crate) fn write(&self, close: bool, keep_alive_header: bool, out: &mut Vec<u8>) {
        let _ = self.write_fmt(close, keep_alive_header, out);
    }

    fn write_fmt(
        &self,
        close: bool,
        keep_alive_header: bool,
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        use std::io::Write as _;
        write!(
            out,
            "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len()
        )?;
        if let Some(secs) = self.retry_after {
            write!(out, "retry-after: {secs}\r\n")?;
        }
        if let Some(allow) = self.allow {
            write!(out, "allow: {allow}\r\n")?;
        }
        if self.www_authenticate {
            out.extend_from_slice(b"www-authenticate: Basic realm=\"forwarder\"\r\n");
        }
        if close {
            out.extend_from_slice(b"connection: close\r\n");
        } else if keep_alive_header {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !self.head_only {
            out.extend_from_slice(&self.body);
        }
        Ok(())
    }
}

/// The response to an ingest request's outcome.
pub(crate) fn ingest(outcome: &IngestOutcome, default_retry: Duration) -> Response {
    let mut body = String::with_capacity(64);
    let _ = write!(
        body,
        "{{\"accepted\":{},\"dead_lettered\":{},\"errors\":[",
        outcome.accepted, outcome.dead_lettered
    );
    for (i, e) in outcome.errors.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(body, "{{\"index\":{},\"code\":", e.index);
        json_str(&mut body, &e.code);
        body.push_str(",\"message\":");
        json_str(&mut body, &e.message);
        body.push('}');
    }
    body.push(']');
    let (status, retry_after) = match &outcome.status {
        Status::Settled => (200, None),
        Status::Unavailable {
            retry_after,
            reason,
        } => {
            body.push_str(",\"error\":");
            json_str(&mut body, reason);
            let d = retry_after.unwrap_or(default_retry);
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            (503, Some(secs.max(1)))
        }
        Status::TooLarge { limit, index } => {
            body.push_str(",\"error\":");
            json_str(&mut body, &format!("event exceeds {limit} bytes"));
            let _ = write!(body, ",\"limit\":{limit}");
            if let Some(i) = index {
                let _ = write!(body, ",\"index\":{i}");
            }
            (413, None)
        }
        Status::Invalid { reason } => {
            body.push_str(",\"error\":");
            json_str(&mut body, reason);
            (400, None)
        }
    };
    body.push('}');
    let mut r = Response::json(status, body);
    r.retry_after = retry_after;
    r
}

/// Appends `s` as a JSON string literal.
pub(crate) fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::EventError;

    #[test]
    fn ingest_body_is_json_with_escaped_errors() {
        let o = IngestOutcome::settled(
            2,
            1,
            vec![EventError {
                index: 1,
                code: "missing_field".into(),
                message: "a \"quoted\"\n\u{1}".into(),
            }],
        );
        let r = ingest(&o, Duration::from_secs(1));
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["accepted"], 2);
        assert_eq!(v["dead_lettered"], 1);
        assert_eq!(v["errors"][0]["message"], "a \"quoted\"\n\u{1}");
    }

    #[test]
    fn unavailable_rounds_retry_after_up() {
        let o = IngestOutcome::unavailable(Some(Duration::from_millis(1500)), "no broker");
        let r = ingest(&o, Duration::from_secs(1));
        assert_eq!((r.status, r.retry_after), (503, Some(2)));
        let o = IngestOutcome::unavailable(Some(Duration::ZERO), "x");
        assert_eq!(ingest(&o, Duration::from_secs(1)).retry_after, Some(1));
        let o = IngestOutcome::unavailable(None, "x");
        assert_eq!(ingest(&o, Duration::from_secs(7)).retry_after, Some(7));
    }
}
