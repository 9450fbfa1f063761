//! Avro encoding of events.
