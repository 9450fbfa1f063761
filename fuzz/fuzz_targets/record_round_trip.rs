#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<forwarder_fuzz::ArbRecord>, (i64, i16, i32))| {
    forwarder_fuzz::record_round_trip(input.0, input.1)
});
