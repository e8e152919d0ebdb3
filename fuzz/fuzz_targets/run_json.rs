//! cargo-fuzz target: `llmw::fuzzing::run_json` (see src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmw::fuzzing::run_json(data));
