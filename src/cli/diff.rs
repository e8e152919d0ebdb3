//! `llmw diff OLD NEW`: what an edit changes in the plan. Each side is a workload file or
//! `REV:path` (git's form: the file as committed at REV, with the files it includes and reads
//! from the same commit). Exit 0: the same plan; 1: different plans; 2: either side invalid.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use llmw::output::diff::{changes, target_changes, Change};
use llmw::Overrides;
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workload before: a file, or REV:path (git's form, path from the repository's root,
    /// or ./path from here).
    old: String,
    /// The workload after: a file, or REV:path.
    new: String,
    /// Override a param on both sides (NAME=VALUE).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// The seed of both sides (overrides the files').
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=llmw::limits::MAX_COUNT))]
    seed: Option<u64>,
    /// For people, or one JSON document for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> ExitCode {
    let overrides = Overrides {
        sets: args.sets.clone(),
        seed: args.seed,
    };
    let (old, new) = match (side(&args.old, &overrides), side(&args.new, &overrides)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            for message in [a.err(), b.err()].into_iter().flatten().flatten() {
                eprintln!("error: {message}");
            }
            return ExitCode::from(super::EXIT_INVALID);
        }
    };
    let same = old.hash == new.hash;
    let plan = changes(&old, &new);
    let target = target_changes(&old, &new);
    match args.format {
        Format::Json => say!(
            "{}",
            json!({
                "same_plan": same,
                "old": {"workload": args.old, "plan_hash": old.hash},
                "new": {"workload": args.new, "plan_hash": new.hash},
                "changes": plan,
                "outside_the_plan": target,
            })
        ),
        Format::Text => text(&args, &old, &new, &plan, &target),
    }
    if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_FAILED)
    }
}

fn text(
    args: &Args,
    old: &llmw::Schedule,
    new: &llmw::Schedule,
    plan: &[Change],
    target: &[Change],
) {
    if old.hash == new.hash {
        say!("same plan {}", old.hash);
    } else {
        say!("plan {} → {}", &old.hash[..12], &new.hash[..12]);
        say!("  old  {}", args.old);
        say!("  new  {}", args.new);
    }
    let width = plan
        .iter()
        .chain(target)
        .map(|c| c.what.chars().count())
        .max()
        .unwrap_or(0);
    let mut phase: Option<&str> = None;
    for c in plan {
        if c.phase.as_deref() != phase {
            phase = c.phase.as_deref();
            if let Some(p) = phase {
                say!("phase \"{p}\"");
            }
        }
        let indent = if c.phase.is_some() { "  " } else { "" };
        say!("{indent}{:width$}  {}", c.what, c.old);
        say!("{indent}{:width$}  {}", "", format!("→ {}", c.new));
    }
    if old.hash != new.hash && plan.is_empty() {
        // Something the figures do not show (a request's exact lengths or times).
        say!("the requests differ in detail; llmw plan --format jsonl on both shows where");
    }
    if !target.is_empty() {
        say!("outside the plan (the same plan can be sent either way):");
        for c in target {
            say!("  {:width$}  {} → {}", c.what, c.old, c.new);
        }
    }
}

/// One side's plan, or the message to print (`None`: the diagnostics are printed already).
fn side(spec: &str, overrides: &Overrides) -> Result<llmw::Schedule, Option<String>> {
    let (path, scratch) = match git_spec(spec) {
        Some((rev, path)) => {
            let (file, dir) = checkout(rev, path)?;
            (file, Some(dir))
        }
        None => (PathBuf::from(spec), None),
    };
    let loaded = super::load_schedule(&path, overrides)
        .map(|(_, s)| s)
        .map_err(|_| None);
    // The commit's tree is needed only while its files are read.
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    loaded
}

/// `REV:path`, when `spec` is not a file here and has that form.
fn git_spec(spec: &str) -> Option<(&str, &str)> {
    if Path::new(spec).exists() {
        return None;
    }
    let (rev, path) = spec.split_once(':')?;
    (!rev.is_empty() && !path.is_empty()).then_some((rev, path))
}

/// The tree of `rev` written to a directory of its own (so the file's includes and data files
/// are the commit's too): `path` in it, and the directory.
fn checkout(rev: &str, path: &str) -> Result<(PathBuf, PathBuf), Option<String>> {
    if Path::new(path).is_absolute() {
        return Err(Some(format!(
            "{rev}:{path}: a revision's path is from the repository's root (or ./ from here), not absolute"
        )));
    }
    let git = |args: &[&str]| -> Result<String, String> {
        let out = Command::new("git")
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])
    .map_err(|e| {
        let why = if e.is_empty() {
            String::new()
        } else {
            format!(" ({e})")
        };
        Some(format!(
            "{rev}: not a commit of the git repository here{why}"
        ))
    })?;
    // git's REV:path is from the repository's root; ./path and ../path from here.
    let path = if path.starts_with("./") || path.starts_with("../") {
        let prefix = git(&["rev-parse", "--show-prefix"]).map_err(Some)?;
        normalize(&Path::new(&prefix).join(path))
    } else {
        PathBuf::from(path)
    };
    let dir = std::env::temp_dir().join(format!(
        "llmw-diff-{}-{}",
        std::process::id(),
        &commit[..12]
    ));
    if !dir.join(&path).exists() {
        std::fs::create_dir_all(&dir).map_err(|e| Some(format!("{}: {e}", dir.display())))?;
        let root = git(&["rev-parse", "--show-toplevel"]).map_err(Some)?;
        let mut archive = Command::new("git")
            .args(["-C", &root, "archive", "--format=tar", &commit])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Some(format!("cannot run git archive: {e}")))?;
        let tar_in = archive
            .stdout
            .take()
            .ok_or(Some("git archive gave no output".into()))?;
        let tar = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(&dir)
            .stdin(tar_in)
            .output()
            .map_err(|e| Some(format!("cannot run tar: {e}")))?;
        let archived = archive
            .wait_with_output()
            .map_err(|e| Some(e.to_string()))?;
        if !archived.status.success() || !tar.status.success() {
            let why = String::from_utf8_lossy(&archived.stderr).to_string()
                + &String::from_utf8_lossy(&tar.stderr);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Some(format!("cannot read {rev}: {}", why.trim())));
        }
    }
    let file = dir.join(&path);
    if !file.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(Some(format!("{rev}:{} does not exist", path.display())));
    }
    Ok((file, dir))
}

/// `a/./b/../c` as `a/c`.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
