#![no_main]
use kafka_wire::messages::sasl_authenticate::SaslAuthenticateResponse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| forwarder_fuzz::message::<SaslAuthenticateResponse>(data));
