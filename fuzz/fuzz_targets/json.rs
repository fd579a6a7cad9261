//! libFuzzer target `json`: see `nn_train::fuzz::json`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nn_train::fuzz::json(data));
