//! Benchmarks of the workspace's crates and the peer comparison harness.
//! The criterion benches live in `benches/`; see docs/benchmarks.md.
