//! libFuzzer's entry for the `script` target: see taplab_fuzz::script.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taplab_fuzz::script::run(data));
