//! libFuzzer target `names`: see `nn_train::fuzz::names`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nn_train::fuzz::names(data));
