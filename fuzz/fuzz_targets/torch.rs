//! libFuzzer target `torch`: see `nn_train::fuzz::torch`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nn_train::fuzz::torch(data));
