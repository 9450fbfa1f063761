#![no_main]
//! The router over structured events, single or batched: each event yields
//! exactly one outcome, and the output keeps its invariants.
use std::time::UNIX_EPOCH;

use arbitrary::Arbitrary;
use bytes::Bytes;
use event_router::{Routed, Router, RouterConfig};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Event {
    kind: u8,
    user_id: Option<String>,
    anonymous_id: Option<u32>,
    event: Option<String>,
    message_id: Option<Option<String>>,
    received_at: bool,
    topic: Option<String>,
    all: Option<bool>,
    kafka: Option<bool>,
    context: Vec<(String, String)>,
}

#[derive(Arbitrary, Debug)]
struct Body {
    events: Vec<Event>,
    batch: bool,
    context: Vec<(String, String)>,
    sep: bool,
}

fn s(text: &str) -> String {
    let mut o = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn object(members: &[(String, String)], sep: &str) -> String {
    let inner: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{sep}{v}", s(k)))
        .collect();
    format!("{{{sep}{}{sep}}}", inner.join(&format!(",{sep}")))
}

fn event(e: &Event, sep: &str) -> String {
    const TYPES: [&str; 7] = ["track", "identify", "page", "screen", "group", "alias", "nope"];
    let mut m = vec![("type".to_owned(), s(TYPES[usize::from(e.kind) % TYPES.len()]))];
    let opt = |v: &Option<String>| v.as_deref().map(s);
    for (k, v) in [
        ("userId", opt(&e.user_id)),
        ("anonymousId", e.anonymous_id.map(|a| a.to_string())),
        ("event", opt(&e.event)),
        ("groupId", opt(&e.event)),
        ("previousId", opt(&e.user_id)),
        (
            "messageId",
            e.message_id
                .as_ref()
                .map(|m| opt(m).unwrap_or("null".into())),
        ),
        ("receivedAt", e.received_at.then(|| s("2020-01-01T00:00:00Z"))),
    ] {
        if let Some(v) = v {
            m.push((k.to_owned(), v));
        }
    }
    let mut kafka = Vec::new();
    if let Some(t) = &e.topic {
        kafka.push(("topic".to_owned(), s(t)));
    }
    let mut integrations = vec![(
        "Kafka".to_owned(),
        match e.kafka {
            Some(b) if kafka.is_empty() => b.to_string(),
            _ => object(&kafka, sep),
        },
    )];
    if let Some(all) = e.all {
        integrations.push(("All".to_owned(), all.to_string()));
    }
    m.push(("integrations".to_owned(), object(&integrations, sep)));
    let ctx: Vec<(String, String)> = e.context.iter().map(|(k, v)| (k.clone(), s(v))).collect();
    m.push(("context".to_owned(), object(&ctx, sep)));
    object(&m, sep)
}

fuzz_target!(|body: Body| {
    let sep = if body.sep { " \n" } else { "" };
    let events: Vec<String> = body.events.iter().map(|e| event(e, sep)).collect();
    let (text, expected) = if body.batch || events.len() != 1 {
        let ctx: Vec<(String, String)> =
            body.context.iter().map(|(k, v)| (k.clone(), s(v))).collect();
        let members = [
            ("batch".to_owned(), format!("[{}]", events.join(","))),
            ("context".to_owned(), object(&ctx, sep)),
        ];
        (object(&members, sep), events.len())
    } else {
        (events[0].clone(), 1)
    };
    let mut config = RouterConfig::new("events");
    config.multi_topic = true;
    config
        .track_topics
        .insert("orders".into(), "order-events".into());
    let mut router = Router::new(&config, 1).expect("valid config");
    let mut out = Routed::new();
    router.route(Bytes::from(text), UNIX_EPOCH, &mut out);
    if let Err(e) = out.verify() {
        panic!("{e}");
    }
    assert_eq!(out.outcomes().len(), expected);
    assert_eq!(out.len() + out.skipped(), expected);
});
