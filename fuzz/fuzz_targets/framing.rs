//! cargo-fuzz target: `llmw::fuzzing::framing` (see src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmw::fuzzing::framing(data));
