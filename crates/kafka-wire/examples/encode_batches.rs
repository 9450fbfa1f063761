//! Builds and seals record batches in a loop, for counting cycles and
//! instructions per record with `perf stat` (or `valgrind`): the batch
//! encoder's cost, buffer recycling as the producer does it (8 buffers in
//! turn, so a batch is written into memory that is no longer in cache).
//!
//! ```sh
//! cargo build --release -p kafka-wire --example encode_batches
//! perf stat -e cycles:u,instructions:u \
//!     target/release/examples/encode_batches VALUE_BYTES BATCHES RECORDS [headers]
//! ```
//!
//! Divide the counts by `BATCHES × RECORDS`. Keys are 16 bytes; `headers`
//! adds two headers to each record (a message id and an event type, as the
//! forwarder writes).

use bytes::BytesMut;
use kafka_wire::record::{BatchBuilder, HeaderRef, ProducerFields};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let size = arg(1, 100);
    let batches = arg(2, 10_000);
    let records = arg(3, 1_000);
    let with_headers = args.get(4).is_some_and(|s| s == "headers");
    let value = vec![b'v'; size];
    let keys: Vec<[u8; 16]> = (0..records)
        .map(|i| {
            let mut k = [b'0'; 16];
            k.copy_from_slice(format!("user-{i:011}").as_bytes());
            k
        })
        .collect();
    let h = [
        HeaderRef::new("messageId", b"ajs-next-0000000000000000"),
        HeaderRef::new("type", b"track"),
    ];
    let headers: &[HeaderRef<'_>] = if with_headers { &h } else { &[] };
    let mut pool: Vec<BytesMut> = (0..8)
        .map(|_| BytesMut::with_capacity(records * (size + 96) + 64))
        .collect();
    let mut total = 0usize;
    for n in 0..batches {
        let mut b = BatchBuilder::new(std::mem::take(&mut pool[n % 8]));
        for (i, k) in keys.iter().enumerate() {
            let ts = 1_700_000_000_000 + i as i64;
            if b.append(ts, Some(k), Some(&value), headers).is_err() {
                eprintln!("append failed");
                std::process::exit(1);
            }
        }
        let batch = b.seal(ProducerFields {
            producer_id: 1,
            producer_epoch: 0,
            base_sequence: 0,
        });
        total += batch.len();
        pool[n % 8] = batch.try_into_mut().unwrap_or_default();
    }
    println!("{total} bytes in {} records", batches * records);
}
