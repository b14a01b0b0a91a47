#![no_main]
//! cargo-fuzz target: see tests/reliability_support for what `netlink` exercises.

#[path = "../../tests/reliability_support/mod.rs"]
mod inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| inputs::netlink(data));
