//! libFuzzer's entry for the `http` target: see taplab_fuzz::http.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taplab_fuzz::http::run(data));
