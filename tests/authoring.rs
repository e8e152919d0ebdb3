//! Writing and versioning workloads like code, through the binary: `llmw check --format json`
//! and `--format github`, pinned plans (`expect_plan`, `--expect`, the pin in run.json), and
//! `llmw diff` between files and git revisions.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn llmw_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("llmw runs")
}

fn llmw(args: &[&str]) -> Output {
    llmw_in(Path::new("."), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory with `files` written in it.
fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = common::runs::temp_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write");
    }
    dir
}

const BROKEN: &str = "workload \"w\" {\n  seed = 3\n  requests { input = 20  output = 4 }\n  phase \"p\" { duration = 10s  arival = poisson(rate: 5/s) }\n}\n";

#[test]
fn check_gives_machine_readable_diagnostics_as_json_and_github_annotations() {
    let dir = scratch(
        "check-formats",
        &[
            ("bad.llmw", BROKEN),
            ("good.llmw", &BROKEN.replace("arival", "arrival")),
        ],
    );
    let (bad, good) = (dir.join("bad.llmw"), dir.join("good.llmw"));
    let (bad, good) = (bad.to_str().expect("utf-8"), good.to_str().expect("utf-8"));
    let o = llmw(&["check", "--format", "json", bad, good]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    assert_eq!(v["files"][0]["ok"], false);
    assert_eq!(v["files"][1]["ok"], true);
    assert_eq!(v["files"][1]["plan_hash"].as_str().map(str::len), Some(64));
    // Two problems: the phase sends nothing, and the misspelt field.
    let all = v["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(all.len(), 2, "{all:?}");
    let d = all
        .iter()
        .find(|d| d["message"].as_str().unwrap_or("").contains("arival"))
        .expect("the misspelt field");
    assert_eq!(d["file"], bad);
    assert_eq!(
        (d["line"].clone(), d["column"].clone()),
        (4.into(), 31.into())
    );
    assert_eq!(d["end_column"], 37, "the span of `arival`");
    assert_eq!(d["severity"], "error");
    assert!(d["help"].as_str().unwrap_or("").contains("arrival"), "{d}");
    let start = d["span"]["start"].as_u64().expect("start") as usize;
    assert_eq!(&BROKEN[start..start + 6], "arival");

    let o = llmw(&["check", "--format", "github", bad]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2, "one annotation a diagnostic: {out}");
    let want = format!("::error file={bad},line=4,col=31,endLine=4,endColumn=37,title=llmw check::unknown field 'arival'");
    assert!(out.lines().any(|l| l.starts_with(&want)), "{out}");
}

#[test]
fn a_pinned_plan_that_changed_is_refused_with_both_hashes() {
    let text = BROKEN.replace("arival", "arrival");
    let dir = scratch("pins", &[("w.llmw", &text)]);
    let file = dir.join("w.llmw");
    let file = file.to_str().expect("utf-8");
    let hash = common::plan(&text).hash;
    // The whole hash, or a prefix of 12 digits.
    assert_eq!(
        llmw(&["plan", file, "--expect", &hash]).status.code(),
        Some(0)
    );
    assert_eq!(
        llmw(&["plan", file, "--expect", &hash[..12]]).status.code(),
        Some(0)
    );
    let o = llmw(&["plan", file, "--expect", "0123456789ab"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("0123456789ab") && e.contains(&hash), "{e}");
    let o = llmw(&["plan", file, "--expect", "abc"]);
    assert!(stderr(&o).contains("12 to 64 hex digits"), "{}", stderr(&o));

    // In the file: `check` refuses an edit that changed the plan.
    let pinned = text.replace(
        "seed = 3",
        &format!("seed = 3\n  expect_plan = \"{}\"", &hash[..16]),
    );
    let dir = scratch(
        "pins-file",
        &[
            ("w.llmw", &pinned),
            ("edited.llmw", &pinned.replace("5/s", "6/s")),
        ],
    );
    let ok = llmw(&["check", dir.join("w.llmw").to_str().expect("utf-8")]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let edited = llmw(&["check", dir.join("edited.llmw").to_str().expect("utf-8")]);
    assert_eq!(edited.status.code(), Some(2));
    assert!(
        stderr(&edited).contains("the plan changed: expect_plan expects plan"),
        "{}",
        stderr(&edited)
    );
    // The pin is not part of the plan: pinning leaves the hash as it was.
    assert_eq!(common::plan(&pinned).hash, hash);
    let e = common::errors(&text.replace("seed = 3", "seed = 3\n  expect_plan = \"xyz\""));
    assert!(e.contains("'xyz' is not a plan hash"), "{e}");
}

#[test]
fn a_run_records_the_pin_it_held_to() {
    let text = "workload \"pin\" {\n target { ignore_eos = true }\n requests { input = 10 output = 4 }\n phase \"p\" { requests = 6 concurrency = 2 }\n}\n";
    let dir = scratch("pin-run", &[("w.llmw", text)]);
    let hash = common::plan(text).hash;
    // `llmw run` against the in-process simulator, pinned to `pin`, into `out`.
    let run = |out: &std::path::Path, pin: &str| {
        let file = dir.join("w.llmw");
        let (file, out) = (file.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
        llmw(&[
            "run",
            file,
            "--out",
            out,
            "--sim-profile",
            "fast",
            "--expect",
            pin,
        ])
    };
    let out = dir.join("run");
    let o = run(&out, &hash[..12]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let manifest = common::runs::run_json(&out);
    assert_eq!(
        manifest["plan_pin"],
        serde_json::json!({"expected": &hash[..12], "from": "--expect", "held": true})
    );
    common::schema::conforms("docs/run.schema.json", &manifest);
    // A pin that does not hold: nothing is sent, nothing is written.
    let refused = dir.join("refused");
    let o = run(&refused, "ffffffffffff");
    assert_eq!(o.status.code(), Some(2));
    assert!(!refused.exists());
}

#[test]
fn diff_shows_the_one_phase_a_changed_rate_changes_and_same_plan_for_a_comment() {
    let quick = std::fs::read_to_string("workloads/quickstart.llmw").expect("quickstart");
    let faster = quick.replace("param rate = 8/s", "param rate = 16/s");
    assert_ne!(faster, quick);
    let comment = quick.replace(
        "# Phases run one after another.",
        "# Phases: one after another.",
    );
    assert_ne!(comment, quick);
    let dir = scratch(
        "diff",
        &[
            ("q.llmw", &quick),
            ("faster.llmw", &faster),
            ("comment.llmw", &comment),
        ],
    );
    let o = llmw_in(&dir, &["diff", "q.llmw", "faster.llmw", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["same_plan"], false);
    let changes = v["changes"].as_array().expect("changes");
    // Only the open-loop phase the rate drives; its load and rate over time among the changes.
    assert!(
        changes.iter().all(|c| c["phase"] == "poisson"),
        "{changes:?}"
    );
    let what: Vec<&str> = changes.iter().filter_map(|c| c["what"].as_str()).collect();
    assert!(
        what.contains(&"load") && what.contains(&"rate over time"),
        "{what:?}"
    );
    let load = changes.iter().find(|c| c["what"] == "load").expect("load");
    assert_eq!(
        (load["old"].clone(), load["new"].clone()),
        ("poisson 8/s".into(), "poisson 16/s".into())
    );

    let o = llmw_in(&dir, &["diff", "q.llmw", "comment.llmw"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("same plan "), "{}", stdout(&o));
    let o = llmw_in(&dir, &["diff", "q.llmw", "missing.llmw"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn diff_reads_a_side_from_a_git_revision_with_its_includes() {
    let base = "requests { input = 100  output = 20 }\n";
    let main = "workload \"g\" {\n  include \"shapes.llmw\"\n  phase \"p\" { duration = 20s  arrival = poisson(rate: 4/s) }\n}\n";
    let dir = scratch("diff-git", &[("w.llmw", main), ("shapes.llmw", base)]);
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("git runs");
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "one"]);
    // Edit only the included file: HEAD's side must read HEAD's include.
    std::fs::write(
        dir.join("shapes.llmw"),
        base.replace("output = 20", "output = 40"),
    )
    .expect("edit");
    let o = llmw_in(&dir, &["diff", "HEAD:w.llmw", "w.llmw"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("output tokens") && text.contains("p50 20") && text.contains("p50 40"),
        "{text}"
    );
    let o = llmw_in(&dir, &["diff", "HEAD:w.llmw", "HEAD:./w.llmw"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = llmw_in(&dir, &["diff", "HEAD:/etc/w.llmw", "w.llmw"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not absolute"), "{}", stderr(&o));
    let o = llmw_in(&dir, &["diff", "nosuchrev:w.llmw", "w.llmw"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nosuchrev: not a commit"),
        "{}",
        stderr(&o)
    );
}
