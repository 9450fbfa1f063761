//! Routes the benchmark inputs a fixed number of times, for instruction
//! counts that do not depend on machine load:
//!
//! ```sh
//! cargo build --profile bench -p event-router --example instructions
//! valgrind --tool=callgrind --toggle-collect='*Router::route*' \
//!     target/release/examples/instructions json single 2000
//! ```
//!
//! Instructions per event = `Ir` / (iterations x events per body). Modes:
//! `json` or `avro`; inputs: `single` (the 789-byte track event of
//! `benches/router.rs`) or `batch` (500 of them in one body).

use std::hint::black_box;

use bytes::Bytes;
use event_router::{Routed, Router};

#[path = "../benches/inputs/mod.rs"]
mod inputs;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("json", String::as_str);
    let input = args.get(2).map_or("single", String::as_str);
    let iterations: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1000);

    let config = if mode == "avro" {
        inputs::avro_config()
    } else {
        inputs::json_config()
    };
    let body = if input == "batch" {
        inputs::batch_body()
    } else {
        Bytes::from(inputs::track_event())
    };
    let now = inputs::now();
    let mut router = Router::new(&config, 1).expect("config");
    let mut out = Routed::new();
    router.route(body.clone(), now, &mut out);
    assert_eq!(out.dead_lettered(), 0, "{:?}", out.outcomes());
    for _ in 0..iterations {
        router.route(black_box(body.clone()), now, &mut out);
        black_box(out.len());
    }
}
