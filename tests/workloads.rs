//! Every shipped example in `workloads/` must check and plan, and its plan summary (including the
//! plan hash) is snapshotted: a change to any example's meaning, or to how plans are made, shows
//! up here.

mod common;

use std::path::PathBuf;

use llmw::output::{write_plan, ClosedPreview, PlanFormat};
use llmw::{compile, load_file, Overrides};

fn summary(path: &std::path::Path) -> String {
    let (sources, result) = load_file(path, &Overrides::default());
    let resolved = result.unwrap_or_else(|d| {
        panic!(
            "{}:\n{}",
            path.display(),
            llmw::diag::render(&sources, &d, llmw::diag::Style::Plain)
        )
    });
    let schedule = compile(&resolved).expect("compiles");
    let mut out = Vec::new();
    write_plan(
        &mut out,
        &schedule,
        PlanFormat::Summary,
        ClosedPreview::Auto,
    )
    .expect("writes");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn every_example_checks_plans_and_keeps_its_summary() {
    let files = common::examples();
    assert!(files.len() >= 6, "only {} examples", files.len());
    for path in &files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8")
            .to_string();
        insta::assert_snapshot!(name, summary(path));
    }
}

#[test]
fn the_quickstart_runs_in_about_a_minute() {
    let (_, result) = load_file(
        &PathBuf::from("workloads/quickstart.llmw"),
        &Overrides::default(),
    );
    let w = result.expect("valid");
    let s = compile(&w).expect("compiles");
    let total: u64 = s
        .phases
        .iter()
        .map(|p| p.duration_ns.expect("timed") + p.pause_ns)
        .sum();
    assert!((45..=75).contains(&(total / 1_000_000_000)), "{total} ns");
}
