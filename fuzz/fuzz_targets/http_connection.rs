#![no_main]
//! The HTTP/1.1 connection state machine of `ingest-http` over arbitrary
//! bytes fed in arbitrary splits, with replies given out of order: it never
//! panics, every transmitted buffer starts at a response boundary, and after
//! end of stream the connection finishes once every request is answered.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ingest_http::{Connection, Event, HttpConfig, IngestOutcome, Reply, RequestId, WriteKey};
use libfuzzer_sys::fuzz_target;

fn answer(event: Event) -> (RequestId, Reply) {
    match event {
        Event::Ingest { id, request } => {
            let n = request.events.unwrap_or(1);
            (id, Reply::Ingest(IngestOutcome::settled(n, 0, Vec::new())))
        }
        Event::Ready { id } => (id, Reply::Ready(Err("not ready".to_owned()))),
        Event::Metrics { id } => (id, Reply::Metrics(String::from("m 1\n"))),
        _ => unreachable!("no other events exist"),
    }
}

/// Hands events on (holding every other one back) and takes output until
/// neither yields anything.
fn pump(conn: &mut Connection, held: &mut Vec<Event>, flip: &mut bool) {
    loop {
        let mut progressed = false;
        while let Some(event) = conn.poll_event() {
            progressed = true;
            *flip = !*flip;
            if *flip {
                held.push(event);
            } else {
                let (id, reply) = answer(event);
                conn.respond(id, reply).expect("a fresh event awaits its reply");
            }
        }
        while let Some(bytes) = conn.poll_transmit() {
            progressed = true;
            assert!(bytes.starts_with(b"HTTP/1.1 "), "output not at a response boundary");
        }
        if !progressed {
            return;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Byte 0: limits and pipelining depth; bytes 1..5: chunk sizes (cycled);
    // the rest: the byte stream.
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let (sizes, stream) = rest.split_at(rest.len().min(4));
    let mut config = HttpConfig::new([WriteKey::with_source("k1", "s")]);
    if ctl & 1 != 0 {
        config.max_request_bytes = 512;
        config.max_event_bytes = 64;
        config.max_head_bytes = 256;
    }
    config.max_pipelined = 1 + usize::from(ctl >> 1) % 8;
    let mut conn = Connection::new(Arc::new(config));
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
    let (mut held, mut flip) = (Vec::new(), false);

    let mut pos = 0;
    let mut i = 0;
    while pos < stream.len() {
        let size = 1 + usize::from(sizes.get(i % sizes.len().max(1)).copied().unwrap_or(255));
        let end = stream.len().min(pos + size);
        conn.handle_input(&stream[pos..end], now);
        pump(&mut conn, &mut held, &mut flip);
        pos = end;
        i += 1;
    }
    conn.handle_eof();
    pump(&mut conn, &mut held, &mut flip);
    while let Some(event) = held.pop() {
        let (id, reply) = answer(event);
        conn.respond(id, reply).expect("a held event awaits its reply");
        pump(&mut conn, &mut held, &mut flip);
    }
    assert!(conn.is_finished(), "not finished after end of stream with every reply given");
});
