//! Avro encode throughput.
fn main() {}
