#![no_main]
use kafka_wire::messages::init_producer_id::InitProducerIdResponse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| forwarder_fuzz::message::<InitProducerIdResponse>(data));
