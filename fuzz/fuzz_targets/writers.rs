#![no_main]
//! Fuzz target `writers`: see `checks::writers`.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::writers(data));
