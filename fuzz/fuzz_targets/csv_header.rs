//! libFuzzer target `csv_header`: see `nn_train::fuzz::csv_header`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| nn_train::fuzz::csv_header(data));
