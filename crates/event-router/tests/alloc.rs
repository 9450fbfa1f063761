//! Routing allocates nothing once the router's and the output's buffers have
//! grown: no allocation per event, let alone per field.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use event_router::{EventType, Routed, Router, RouterConfig};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; only counts calls on this thread.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn steady_state_routing_does_not_allocate() {
    let mut c = RouterConfig::new("events");
    c.multi_topic = true;
    c.track_topics
        .insert("Order Completed".into(), "orders".into());
    c.type_topics.insert(EventType::Identify, "users".into());
    c.header_fields
        .insert("lib".into(), "context.library.name".into());
    c.key_fields = vec!["context.traits.email".into(), "userId".into()];
    let mut router = Router::new(&c, 1).unwrap();
    let mut out = Routed::new();

    let event = r#"{"type":"track","event":"Order Completed","userId":"u\u00e9","context":{"library":{"name":"analytics.js"}},"properties":{"revenue":25.5,"items":[1,2,3]},"integrations":{"Kafka":{"topic":"per event"}}}"#;
    let identify = r#"{"type":"identify","anonymousId":"a","messageId":null,"receivedAt":"x"}"#;
    let bad = r#"{"type":"track","userId":"u"}"#;
    let mut body = String::from(r#"{"batch":["#);
    for i in 0..200 {
        body.push_str([event, identify, bad][i % 3]);
        body.push(',');
    }
    body.push_str(event);
    body.push_str(r#"],"context":{"locale":"en-GB"},"sentAt":"2024-03-05T12:31:19.002Z"}"#);
    let body = Bytes::from(body);

    // Grow every buffer once.
    router.route(body.clone(), UNIX_EPOCH, &mut out);
    router.route(body.clone(), UNIX_EPOCH, &mut out);
    assert_eq!(out.outcomes().len(), 201);
    assert!(out.dead_lettered() > 0 && out.len() == 201);

    let before = allocations();
    router.route(body.clone(), UNIX_EPOCH, &mut out);
    let during = allocations() - before;
    assert_eq!(out.outcomes().len(), 201);
    // Dead letters format their error text; routed events allocate nothing.
    let dead = out.dead_lettered();
    assert!(
        during <= 2 * dead,
        "{during} allocations for {dead} dead letters"
    );

    let valid_only = Bytes::from(body.as_ref().to_vec()).slice(..);
    let _ = valid_only;
    let mut single = Routed::new();
    let one = Bytes::from_static(event.as_bytes());
    router.route(one.clone(), UNIX_EPOCH, &mut single);
    let before = allocations();
    for _ in 0..100 {
        router.route(one.clone(), UNIX_EPOCH, &mut single);
    }
    assert_eq!(allocations() - before, 0);
    assert_eq!(single.record(0).unwrap().topic(), "per_event");
}
