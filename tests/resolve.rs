//! The resolve stage: every file a workload names is loaded before compiling; a bad file is a
//! diagnostic at the span that named it; the plan hash follows the files' contents, not their
//! paths.

mod common;

use std::path::{Path, PathBuf};

use llmw::diag::{render, Style};
use llmw::Overrides;

const WORKLOAD: &str = r#"workload "files" {
  seed = 4
  requests {
    prompts = dataset("prompts.jsonl")
    output  = 8
  }
  class "sampled" weight 0.5 {
    sample = trace("slice.csv", format: azure)
  }
  class "measured" weight 0.5 {
    input  = empirical("lengths.csv", column: "ContextTokens")
    output = 4
  }
  phase "p" { duration = 5s  arrival = poisson(rate: 4/s) }
}
"#;

const AZURE: &str = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n2023-11-16 18:15:51.4997380,879,34\n";

/// A directory holding the workload and its files; returns the workload's path.
fn project(name: &str, prompts: &str) -> PathBuf {
    let dir = common::runs::temp_dir(name);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("w.llmw"), WORKLOAD).expect("write");
    std::fs::write(dir.join("prompts.jsonl"), prompts).expect("write");
    std::fs::write(dir.join("slice.csv"), AZURE).expect("write");
    std::fs::write(dir.join("lengths.csv"), AZURE).expect("write");
    dir.join("w.llmw")
}

const PROMPTS: &str = "{\"prompt\": \"one two three four\"}\n{\"prompt\": \"five six\"}\n";

fn hash(file: &Path) -> String {
    let (sources, result) = llmw::load_file(file, &Overrides::default());
    let resolved = result.unwrap_or_else(|d| panic!("{}", render(&sources, &d, Style::Plain)));
    llmw::compile(&resolved).expect("compiles").hash
}

fn errors(file: &Path) -> String {
    let (sources, result) = llmw::load_file(file, &Overrides::default());
    render(&sources, &result.expect_err("unresolved"), Style::Plain)
}

#[test]
fn a_copied_directory_plans_identically_and_an_edited_dataset_does_not() {
    let a = project("resolve-a", PROMPTS);
    let b = project("resolve-b", PROMPTS);
    assert_ne!(a, b);
    assert_eq!(hash(&a), hash(&b), "the same files in another place");
    // The same token counts, other words: other prompts are sent, so another plan.
    let c = project(
        "resolve-c",
        "{\"prompt\": \"uno dos tres cuatro\"}\n{\"prompt\": \"five six\"}\n",
    );
    assert_ne!(hash(&a), hash(&c), "an edited dataset");
    // An edited sampled trace, and (separately) an edited empirical column.
    let d = project("resolve-d", PROMPTS);
    std::fs::write(d.with_file_name("slice.csv"), AZURE.replace("374", "375")).expect("write");
    assert_ne!(hash(&a), hash(&d), "an edited sampled trace");
    let e = project("resolve-e", PROMPTS);
    std::fs::write(e.with_file_name("lengths.csv"), AZURE.replace("374", "375")).expect("write");
    assert_ne!(hash(&a), hash(&e), "an edited empirical column");
    assert_ne!(hash(&d), hash(&e));
}

#[test]
fn a_bad_file_is_a_diagnostic_at_the_text_that_named_it() {
    let bad = project("resolve-bad", "{\"prompt\": \"fine\"}\nnot json\n");
    let text = errors(&bad);
    // Line 4 of the workload names the dataset; the message names the dataset's line.
    assert!(text.contains("w.llmw:4:"), "{text}");
    assert!(text.contains("prompts.jsonl:2: invalid JSON"), "{text}");
    assert!(text.contains("named here"), "{text}");

    let column = project("resolve-column", PROMPTS);
    let broken = WORKLOAD.replace("column: \"ContextTokens\"", "column: \"Nope\"");
    std::fs::write(&column, broken).expect("write");
    let text = errors(&column);
    assert!(text.contains("w.llmw:11:"), "{text}");
    assert!(text.contains("Nope"), "{text}");
}

#[test]
fn every_bad_file_is_reported_in_one_pass_and_each_once() {
    let dir = project("resolve-many", "");
    std::fs::write(dir.with_file_name("slice.csv"), "not,a,trace\n1,2,3\n").expect("write");
    let text = errors(&dir);
    // The empty dataset and the unreadable trace (named twice, reported once).
    assert!(text.contains("the dataset has no prompts"), "{text}");
    assert!(text.contains("missing column 'TIMESTAMP'"), "{text}");
    let reports = text
        .lines()
        .filter(|l| l.trim_start().starts_with('×'))
        .count();
    assert_eq!(reports, 2, "{text}");
}

#[test]
fn llmw_check_reports_what_the_resolve_stage_finds() {
    let bad = project("resolve-cli", "{\"prompt\": \"fine\"}\nnot json\n");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(["check", bad.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("invalid JSON") && err.contains("w.llmw:4:"),
        "{err}"
    );
}

#[test]
fn every_arrival_of_a_trace_with_failed_rows_needs_its_own_choice() {
    // The same BurstGPT slice, first sampled (no choice needed), then replayed by two phases:
    // one says failed: skip, the other says nothing and is refused at its own trace(...).
    let trace = std::fs::canonicalize("traces/burstgpt1_head400.csv").expect("trace");
    let t = trace.display();
    let text = format!(
        "workload \"f\" {{\n  requests {{ sample = trace(\"{t}\", format: burstgpt) }}\n  phase \"a\" {{ arrival = trace(\"{t}\", format: burstgpt, failed: skip) }}\n  phase \"b\" {{ arrival = trace(\"{t}\", format: burstgpt) }}\n}}\n"
    );
    let (sources, result) = llmw::load_text("f.llmw", &text, &Overrides::default());
    let text = render(&sources, &result.expect_err("phase b"), Style::Plain);
    assert!(text.contains("f.llmw:4:"), "{text}");
    assert_eq!(
        text.matches("rows are failed requests").count(),
        1,
        "{text}"
    );
}

/// A session whose `turns`, `think` and `fanout` resample a file's columns: the resolve stage
/// loads them (it once skipped a session's fields and `check` ended in an llmw bug), and the
/// plan's conversations take their turn counts from the column's values only.
#[test]
fn a_sessions_empirical_turns_think_and_fanout_are_loaded() {
    let dir = common::runs::temp_dir("resolve-session");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("t.csv"),
        "tokens,pause,width\n2,0.5,1\n3,1.0,2\n2,0.25,1\n",
    )
    .expect("write");
    let file = dir.join("s.llmw");
    std::fs::write(
        &file,
        r#"workload "s" {
  seed = 9
  session "chat" {
    turns  = empirical("t.csv", column: "tokens")
    think  = empirical("t.csv", column: "pause")
    fanout = empirical("t.csv", column: "width")
    input  = 20
    output = 4
  }
  phase "p" { duration = 20s  arrival = poisson(rate: 2/s) }
}
"#,
    )
    .expect("write");
    let (sources, result) = llmw::load_file(&file, &Overrides::default());
    let resolved = result.unwrap_or_else(|d| panic!("{}", render(&sources, &d, Style::Plain)));
    let session = resolved.workload().phases[0].classes[0]
        .session
        .as_ref()
        .expect("a session");
    assert_eq!(
        session.turns,
        llmw::workload::Dist::Values(vec![2.0, 3.0, 2.0])
    );
    let plan = llmw::compile(&resolved).unwrap_or_else(|e| panic!("{e}"));
    let turns: std::collections::BTreeSet<u32> = plan
        .requests
        .iter()
        .filter_map(|r| r.session.as_ref().map(|s| s.turns))
        .collect();
    assert!(!turns.is_empty(), "no conversations planned");
    assert!(turns.iter().all(|t| [2, 3].contains(t)), "{turns:?}");
    // `llmw check` and `llmw plan` say so too.
    for args in [vec!["check"], vec!["plan", "--format", "summary"]] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_llmw"))
            .args(&args)
            .arg(&file)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{args:?}: {err}");
        assert!(!err.contains("llmw bug"), "{err}");
    }
}

/// `llmw check --dump` prints each stage: the parsed files (with an include spliced in), the
/// checked workload (the column still named), the resolved one (the column's values in place).
#[test]
fn llmw_check_dumps_each_stage() {
    let file = project("resolve-dump", PROMPTS);
    let dump = |stage: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_llmw"))
            .args(["check", "--dump", stage])
            .arg(&file)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{stage}: {err}");
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let ast = dump("ast");
    assert!(
        ast.contains("Flat") && ast.contains("\"measured\""),
        "{ast}"
    );
    assert!(!ast.contains("Values"), "{ast}");
    let workload = dump("workload");
    assert!(workload.contains("Empirical"), "{workload}");
    assert!(workload.contains("FromDataset"), "{workload}");
    let resolved = dump("resolved");
    assert!(!resolved.contains("Empirical"), "{resolved}");
    assert!(resolved.contains("Values"), "{resolved}");
    assert!(resolved.contains("374.0"), "{resolved}");
    assert!(
        resolved.contains("class \"default\" prompts: 2 from the dataset"),
        "{resolved}"
    );
    assert!(
        resolved.contains("class \"sampled\" samples: 3 trace rows"),
        "{resolved}"
    );
    // A file that does not parse is its diagnostics, at any stage.
    std::fs::write(&file, "workload \"x\" {").expect("write");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(["check", "--dump", "ast"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}
