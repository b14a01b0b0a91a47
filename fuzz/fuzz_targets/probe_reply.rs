#![no_main]
//! cargo-fuzz target: see tests/reliability_support for what `probe_reply` exercises.

#[path = "../../tests/reliability_support/mod.rs"]
mod inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| inputs::probe_reply(data));
