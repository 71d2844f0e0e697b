#![no_main]
//! Fuzz target `facts`: see `checks::facts`.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::facts(data));
