//! Snapshot tests of the diagnostics for every broken file in `tests/broken/`: the exact text,
//! file, line, column and carets included. `cargo insta review` updates them after a deliberate
//! change.

use std::path::Path;

use llmw::diag::{render, Style};
use llmw::{check_file, Overrides};

fn diagnostics(path: &Path) -> (usize, String) {
    let (sources, result) = check_file(path, &Overrides::default());
    match result {
        Ok(_) => panic!("{} is in tests/broken but checks clean", path.display()),
        Err(d) => (d.len(), render(&sources, &d, Style::Plain)),
    }
}

#[test]
fn every_broken_file_has_its_expected_diagnostics() {
    let mut files: Vec<_> = std::fs::read_dir("tests/broken")
        .expect("tests/broken exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "llmw"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus has {} files", files.len());
    for path in files {
        let (count, text) = diagnostics(&path);
        // Every diagnostic names its file with line and column: `× path.llmw:LINE:COL: …`.
        let headed = text
            .lines()
            .filter(|l| l.trim_start().starts_with('×'))
            .filter(|l| {
                let mut parts = l.split(".llmw:").nth(1).unwrap_or("").split(':');
                let num = |p: Option<&str>| p.is_some_and(|x| x.parse::<u32>().is_ok());
                num(parts.next()) && num(parts.next())
            })
            .count();
        assert_eq!(headed, count, "{text}");
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        insta::assert_snapshot!(stem, text);
    }
}

#[test]
fn one_run_reports_every_error() {
    let (count, text) = diagnostics(Path::new("tests/broken/typos.llmw"));
    assert!(count >= 5, "{text}");
    for expected in [
        "'requests'",
        "'output'",
        "'duration'",
        "'poisson'",
        "'chat'",
    ] {
        assert!(
            text.contains(&format!("did you mean {expected}?")),
            "no suggestion {expected} in:\n{text}"
        );
    }
}

#[test]
fn type_errors_name_both_types() {
    let (_, text) = diagnostics(Path::new("tests/broken/wrong-units.llmw"));
    assert!(
        text.contains("duration expects a duration like 30s, found 30"),
        "{text}"
    );
    assert!(
        text.contains("max_in_flight expects a count, found a rate 8/s"),
        "{text}"
    );
    assert!(
        text.contains("rate expects a rate like 8/s, found a duration 30s"),
        "{text}"
    );
}
