//! libFuzzer target `idx`: see `nn_train::fuzz::idx`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nn_train::fuzz::idx(data));
