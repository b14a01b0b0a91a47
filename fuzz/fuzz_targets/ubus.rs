#![no_main]
//! cargo-fuzz target: see tests/reliability_support for what `ubus` exercises.

#[path = "../../tests/reliability_support/mod.rs"]
mod inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| inputs::ubus(data));
