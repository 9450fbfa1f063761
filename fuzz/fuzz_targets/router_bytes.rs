#![no_main]
//! The router over arbitrary bytes: it never panics, every outcome names its
//! record (and the reverse), topics are legal and JSON values are JSON.
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use event_router::{Routed, Router, RouterConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut config = RouterConfig::new("events");
    config.multi_topic = true;
    config.clock_skew_correction = true;
    config.message_max_bytes = 4096;
    config.key_fields = vec![
        "context.traits.email".into(),
        "userId".into(),
        "anonymousId".into(),
    ];
    config.partition_field = Some("properties.partition".into());
    config
        .header_fields
        .insert("lib".into(), "context.library.name".into());
    config
        .track_topics
        .insert("Order Completed".into(), "orders".into());
    let mut router = Router::new(&config, 7).expect("valid config");
    let mut out = Routed::new();
    let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    router.route(Bytes::copy_from_slice(data), now, &mut out);
    if let Err(e) = out.verify() {
        panic!("{e}");
    }
    assert_eq!(out.outcomes().len() as u64, router.stats().events);
});
