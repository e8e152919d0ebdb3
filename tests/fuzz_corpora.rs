//! Replays the committed cargo-fuzz corpora (`fuzz/corpus/<target>/`) through the same
//! functions the fuzz targets call (`llmw::fuzzing`), so a regression of any input the fuzzer
//! ever kept — crashes it found included — fails plain `cargo test`, without nightly.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new("fuzz/corpus").join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for path in entries {
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            // A fuzzer running in this checkout replaces inputs as it minimises them.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panics", path.display());
        n += 1;
    }
    assert!(n > 0, "{} is empty", dir.display());
}

#[test]
fn the_language_corpus_replays_cleanly() {
    replay("language", llmw::fuzzing::language);
}

#[test]
fn the_sse_corpus_replays_cleanly() {
    replay("sse", llmw::fuzzing::sse);
}

#[test]
fn the_trace_corpus_replays_cleanly() {
    replay("trace", llmw::fuzzing::trace);
}

#[test]
fn the_run_json_corpus_replays_cleanly() {
    replay("run_json", llmw::fuzzing::run_json);
}

#[test]
fn recorded_real_server_streams_are_read_exactly() {
    // llama.cpp's completions stream: 4 tokens, then a finish chunk with usage, then [DONE].
    let data = std::fs::read("fuzz/corpus/sse/llama-cpp-completions.sse").expect("seed");
    let (chunks, failure) = llmw::engine::replay_stream(&[&data[1..]], 16);
    assert_eq!(failure, None);
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunks.iter().map(|c| c.tokens).sum::<u32>(), 4);
}

#[test]
fn the_run_json_seeds_of_real_runs_are_manifests_the_reader_accepts() {
    // Seeds that do not parse would leave the analysis behind the manifest unfuzzed.
    let mut seeds = 0;
    for entry in std::fs::read_dir("fuzz/corpus/run_json").expect("corpus") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with("-v1.json") {
            let text = std::fs::read_to_string(&path).expect("seed");
            llmw::rundir::manifest::Manifest::parse(&text, &path.display().to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            seeds += 1;
        }
    }
    assert!(seeds >= 3, "{seeds} seeds");
}
