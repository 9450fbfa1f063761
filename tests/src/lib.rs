//! End-to-end tests: a real broker process, our producer, and a third-party
//! consumer to verify what was written. Fixtures that start the broker live
//! here; the tests are in `tests/`.
