//! cargo-fuzz target: `llmw::fuzzing::sse` (see src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmw::fuzzing::sse(data));
