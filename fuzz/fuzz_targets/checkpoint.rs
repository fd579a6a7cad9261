//! libFuzzer target `checkpoint`: see `nn_train::fuzz::checkpoint`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nn_train::fuzz::checkpoint(data));
