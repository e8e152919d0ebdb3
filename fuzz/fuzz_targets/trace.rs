//! cargo-fuzz target: `llmw::fuzzing::trace` (see src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmw::fuzzing::trace(data));
