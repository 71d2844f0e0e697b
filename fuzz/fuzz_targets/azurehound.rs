#![no_main]
//! Fuzz target `azurehound`: see `checks::azurehound`.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::azurehound(data));
