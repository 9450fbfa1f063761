#![no_main]
use kafka_wire::messages::api_versions::ApiVersionsRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| forwarder_fuzz::message::<ApiVersionsRequest>(data));
