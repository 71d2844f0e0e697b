#![no_main]
//! Fuzz target `saved_query`: see `checks::saved_query`.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::saved_query(data));
