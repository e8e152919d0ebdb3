//! `llmw fmt`: on every shipped example and every file of the fuzz corpus that parses, the
//! layout is a fixed point (formatting twice equals formatting once), every comment is kept,
//! and the formatted file plans exactly as the original (the same plan hash, or the same
//! diagnostics' messages); the shipped examples are in the canonical layout already; the binary
//! rewrites files, checks them for CI and filters standard input.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use llmw::layout::format;

/// The comments of `text`, in order, as the formatter's own tokenizer would not be trusted to
/// find them: every `#` outside a string to the end of its line.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in line.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '#' if !in_string => {
                    out.push(line[i..].trim_end().to_string());
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

/// The plan hash of `text` read as the file at `path`, or its diagnostics' messages.
fn outcome(path: &Path, text: &str) -> Result<String, Vec<String>> {
    let (_, result) = llmw::load_source(path, text, &Default::default());
    match result {
        Ok(r) => llmw::compile(&r)
            .map(|s| s.hash)
            .map_err(|e| vec![e.to_string()]),
        Err(d) => Err(d.into_iter().map(|d| d.message).collect()),
    }
}

fn assert_formats_faithfully(path: &Path, text: &str) -> bool {
    let Ok(once) = format(text) else {
        return false;
    };
    let twice = format(&once)
        .unwrap_or_else(|d| panic!("{}: formatted text does not parse: {d:?}", path.display()));
    assert_eq!(twice, once, "{}: not a fixed point", path.display());
    assert_eq!(
        comments(&once),
        comments(text),
        "{}: comments",
        path.display()
    );
    assert_eq!(
        outcome(path, &once),
        outcome(path, text),
        "{}: plan",
        path.display()
    );
    true
}

#[test]
fn every_example_is_canonical_and_formats_to_the_same_plan() {
    for path in common::examples() {
        let text = std::fs::read_to_string(&path).expect("example");
        assert!(
            assert_formats_faithfully(&path, &text),
            "{}",
            path.display()
        );
        assert_eq!(
            format(&text).ok().as_deref(),
            Some(text.as_str()),
            "{}: run llmw fmt",
            path.display()
        );
    }
}

#[test]
fn every_corpus_file_that_parses_formats_faithfully() {
    let mut formatted = 0;
    let dir = Path::new("fuzz/corpus/language");
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not UTF-8: the parser never sees it
        };
        // As a file in the examples' directory, so that includes and data files resolve.
        let as_example = Path::new("workloads").join("corpus.llmw");
        if assert_formats_faithfully(&as_example, &text) {
            formatted += 1;
        }
    }
    // 160 of the corpus's 3,312 files parse today (the rest are the fuzzer's broken inputs).
    assert!(formatted > 100, "{formatted} corpus files formatted");
}

fn llmw(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("llmw runs");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write");
    drop(input);
    child.wait_with_output().expect("llmw ends")
}

#[test]
fn the_command_checks_rewrites_and_filters() {
    let dir = common::runs::temp_dir("fmt");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let quick = std::fs::read_to_string("workloads/quickstart.llmw").expect("quickstart");
    // A reformatted copy: indents and spaces lost, a comment moved nowhere.
    let messy: String = quick
        .lines()
        .map(|l| l.trim_start().replacen(" = ", "=", 1) + "\n")
        .collect();
    let (clean, dirty, broken) = (
        dir.join("clean.llmw"),
        dir.join("dirty.llmw"),
        dir.join("broken.llmw"),
    );
    std::fs::write(&clean, &quick).expect("write");
    std::fs::write(&dirty, &messy).expect("write");
    std::fs::write(&broken, "workload \"b\" {\n  seed = \n").expect("write");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();

    let o = llmw(&["fmt", "--check", &s(&clean)], None);
    assert_eq!(o.status.code(), Some(0));
    let o = llmw(&["fmt", "--check", &s(&clean), &s(&dirty)], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        s(&dirty),
        "names the file"
    );
    assert_eq!(
        std::fs::read_to_string(&dirty).expect("read"),
        messy,
        "--check changes nothing"
    );

    let o = llmw(&["fmt", &s(&dirty)], None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&dirty).expect("read"),
        quick,
        "back to the canonical layout"
    );

    let o = llmw(&["fmt", &s(&broken)], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not parse"));
    assert_eq!(
        std::fs::read_to_string(&broken).expect("read"),
        "workload \"b\" {\n  seed = \n",
        "left untouched"
    );

    let o = llmw(&["fmt", "-"], Some(&messy));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout), quick);
}
