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
fn the_framing_corpus_replays_cleanly() {
    replay("framing", llmw::fuzzing::framing);
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
    let (chunks, failure) =
        llmw::engine::replay_stream(llmw::schedule::Api::Completions, &[&data[1..]], 16);
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

#[test]
fn the_framing_agrees_with_the_plain_decoder_on_mutated_bodies() {
    // Without cargo-fuzz: valid chunked bodies, each byte then kept, dropped, doubled or
    // replaced by one of the framing's own bytes, under every framing and many read sizes.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"0123456789abcdefABCDEF;= \t\r\nxz";
    for _ in 0..20_000 {
        let mut body = Vec::new();
        for _ in 0..(next() % 4) {
            let n = (next() % 20) as usize;
            body.extend_from_slice(format!("{n:x}").as_bytes());
            if next() % 4 == 0 {
                body.extend_from_slice(b" ;ext=v");
            }
            body.extend_from_slice(if next() % 3 == 0 { b"\n" } else { b"\r\n" });
            body.extend((0..n).map(|i| b'a' + (i % 26) as u8));
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\ntrailer: 1\r\n\r\nafter");
        let mut input = vec![(next() % 256) as u8];
        for &b in &body {
            match next() % 40 {
                0 => {}
                1 => input.extend_from_slice(&[b, b]),
                2 => input.push(alphabet[(next() % alphabet.len() as u64) as usize]),
                _ => input.push(b),
            }
        }
        llmw::fuzzing::framing(&input);
    }
}
