#![no_main]
use kafka_wire::messages::metadata::MetadataRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| forwarder_fuzz::message::<MetadataRequest>(data));
