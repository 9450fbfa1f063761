#![no_main]
//! The Avro plan over arbitrary (schema, JSON) pairs: compiling and encoding
//! (from a simd-json value and from a `JsonView`) never panic, and an
//! encoder never writes before its output's start.
use event_router::avro::{AvroSchema, JsonView};
use libfuzzer_sys::fuzz_target;

// Input: schema JSON, a 0x00 byte, then the event JSON.
fuzz_target!(|data: &[u8]| {
    let (schema, event) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let Ok(schema) = std::str::from_utf8(schema) else {
        return;
    };
    let Ok(compiled) = AvroSchema::compile(schema) else {
        return;
    };
    let mut view = JsonView::new();
    if view.parse(event).is_ok() {
        let mut out = vec![0xAA];
        let _ = compiled.encode_view(&view, &mut out);
        assert_eq!(out[0], 0xAA);
    }
    let mut event = event.to_vec();
    let Ok(value) = simd_json::to_borrowed_value(&mut event) else {
        return;
    };
    let mut out = vec![0xAA];
    let _ = compiled.encode(&value, &mut out);
    assert_eq!(out[0], 0xAA);
});
