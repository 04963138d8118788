//! libFuzzer's entry for the `frames` target: see taplab_fuzz::frames.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taplab_fuzz::frames::run(data));
