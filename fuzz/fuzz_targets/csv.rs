//! libFuzzer target `csv`: see `nn_train::fuzz::csv`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nn_train::fuzz::csv(data));
