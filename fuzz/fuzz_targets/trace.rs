//! libFuzzer's entry for the `trace` target: see taplab_fuzz::trace.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taplab_fuzz::trace::run(data));
