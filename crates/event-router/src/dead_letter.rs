//! Dead letters made after routing: for an event whose record the broker
//! refused for good (an unknown partition or topic, a record too large, an
//! authorization failure), the caller builds the dead-letter value from
//! the event's original text, in the router's dead-letter format
//! (`{"event": "<original text>", "error": "<why>"}`).

use crate::scan::{self, Scanner};

/// The original text of event `index` of a request `body`: the body itself
/// for a single event (index 0), else element `index` of its `batch`
/// array. `None` when the body is not valid JSON or has no such event.
pub fn event_text(body: &[u8], index: usize) -> Option<&[u8]> {
    let mut s = Scanner::new(body);
    if s.peek() != Some(b'{') {
        return (index == 0 && s.value(0).is_ok()).then(|| trim(body));
    }
    let mut found = None;
    let mut batch = false;
    let mut name = Vec::new();
    let top = s.object_with(0, |s, key| {
        if scan::key_is(body, key, b"batch", &mut name) && s.peek() == Some(b'[') {
            batch = true;
            let mut i = 0;
            s.array_with(1, |s| {
                let v = s.value(2)?;
                if i == index {
                    found = Some(v.raw(body));
                }
                i += 1;
                Ok(())
            })?;
        } else {
            s.value(1)?;
        }
        Ok(())
    });
    match top {
        Ok(_) if batch => found,
        Ok(obj) if index == 0 => Some(obj.raw(body)),
        _ => None,
    }
}

/// A dead-letter value for `event` (its original text) refused with
/// `error`: `{"event": "<event>", "error": "<error>"}`, the event text cut
/// (and the error saying so) when the value would exceed `max` bytes.
pub fn dead_letter_value(event: &[u8], error: &str, max: usize) -> Vec<u8> {
    const TRUNCATED: &str = " (event text truncated to fit message.max.bytes)";
    let mut message = Vec::with_capacity(error.len() + TRUNCATED.len() + 2);
    scan::write_json_string(format!("{error}{TRUNCATED}").as_bytes(), &mut message);
    let fixed = br#"{"event":"","error":}"#.len() + message.len();
    let mut out = Vec::with_capacity(event.len() + fixed + 16);
    out.extend_from_slice(br#"{"event":"#);
    let cut = scan::write_json_string_limited(event, &mut out, max.saturating_sub(fixed));
    out.extend_from_slice(br#","error":"#);
    if cut {
        out.extend_from_slice(&message);
    } else {
        scan::write_json_string(error.as_bytes(), &mut out);
    }
    out.push(b'}');
    out
}

fn trim(b: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_single_events_and_batch_elements() {
        let one = br#" {"type":"track","event":"E"} "#;
        assert_eq!(
            event_text(one, 0),
            Some(&br#"{"type":"track","event":"E"}"#[..])
        );
        assert_eq!(event_text(one, 1), None);
        let batch = br#"{"sentAt":"x","batch":[{"a":1}, 7 ,{"b":"]"}],"context":{}}"#;
        assert_eq!(event_text(batch, 0), Some(&br#"{"a":1}"#[..]));
        assert_eq!(event_text(batch, 1), Some(&b"7"[..]));
        assert_eq!(event_text(batch, 2), Some(&br#"{"b":"]"}"#[..]));
        assert_eq!(event_text(batch, 3), None);
        assert_eq!(event_text(b"{\"batch\":[", 0), None);
        assert_eq!(event_text(b"nope", 0), None);
    }

    #[test]
    fn dead_letter_value_is_json_with_the_event_as_a_string() {
        let v = dead_letter_value(br#"{"a":"x"}"#, "partition 9 does not exist", 1000);
        let parsed: serde_json::Value = serde_json::from_slice(&v).unwrap();
        assert_eq!(parsed["event"], r#"{"a":"x"}"#);
        assert_eq!(parsed["error"], "partition 9 does not exist");
        let long = vec![b'x'; 500];
        let v = dead_letter_value(&long, "too large", 200);
        assert!(v.len() <= 200, "{}", v.len());
        let parsed: serde_json::Value = serde_json::from_slice(&v).unwrap();
        assert!(parsed["error"].as_str().unwrap().contains("truncated"));
    }
}
