//! cargo-fuzz target: `llmw::fuzzing::language` (see src/fuzzing.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmw::fuzzing::language(data));
