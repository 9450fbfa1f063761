//! Routes Segment / RudderStack tracking events to Kafka records.
#![deny(unsafe_code)]

pub mod avro;
