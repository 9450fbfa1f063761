#![no_main]
use kafka_wire::messages::produce::ProduceRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| forwarder_fuzz::message::<ProduceRequest>(data));
