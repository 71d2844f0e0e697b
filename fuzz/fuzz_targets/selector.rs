#![no_main]
//! Fuzz target `selector`: see `checks::selector`.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::selector(data));
