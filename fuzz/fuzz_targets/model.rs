//! libFuzzer target `model`: see `nn_train::fuzz::model`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nn_train::fuzz::model(data));
