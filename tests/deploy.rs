//! The Kubernetes example (`deploy/k8s/`) holds together: its workload plans, the Job's shard
//! count is the one its pods are told, and the arguments it passes are ones `llmw` takes.
//! (`benches/k8s.sh` validates the manifests against Kubernetes' schemas with
//! kubernetes-validate; that needs kubectl and Python, which CI does not have.)

use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The value after `key:` on the line that starts with it (after indentation).
fn field(text: &str, key: &str) -> String {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key}"))
        .trim()
        .to_string()
}

fn literal(kustomization: &str, name: &str) -> String {
    kustomization
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(&format!("- {name}=")))
        .unwrap_or_else(|| panic!("no literal {name}"))
        .to_string()
}

#[test]
fn the_indexed_job_runs_every_shard_at_once_with_the_count_it_is_told() {
    let job = read("deploy/k8s/job.yaml");
    let kustomization = read("deploy/k8s/kustomization.yaml");
    let shards = literal(&kustomization, "SHARDS");
    assert_eq!(field(&job, "completionMode"), "Indexed");
    assert_eq!(field(&job, "completions"), shards);
    assert_eq!(field(&job, "parallelism"), shards);
    assert_eq!(
        field(&job, "backoffLimit"),
        "0",
        "a shard is never re-run late"
    );
    for arg in [
        "- --shard=$(SHARD_INDEX)/$(SHARDS)",
        "- --start-at=$(START_AT)",
        "- --out=/results/$(RUN_ID)/shard-$(SHARD_INDEX)",
    ] {
        assert!(job.contains(arg), "job.yaml passes {arg}");
    }
    assert!(job.contains("batch.kubernetes.io/job-completion-index"));
}

#[test]
fn the_example_workload_plans_in_shards_and_the_start_time_parses() {
    let kustomization = read("deploy/k8s/kustomization.yaml");
    let shards: u32 = literal(&kustomization, "SHARDS").parse().expect("a number");
    let llmw = env!("CARGO_BIN_EXE_llmw");
    let mut total = 0u64;
    for i in 0..shards {
        let out = Command::new(llmw)
            .args(["plan", "deploy/k8s/workload.llmw", "--format", "jsonl"])
            .arg(format!("--shard={i}/{shards}"))
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        total += out.stdout.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let whole = Command::new(llmw)
        .args(["plan", "deploy/k8s/workload.llmw", "--format", "jsonl"])
        .output()
        .expect("runs");
    assert_eq!(
        total,
        whole.stdout.iter().filter(|b| **b == b'\n').count() as u64
    );
    // The START_AT the example carries is a time `--start-at` takes (a run that refuses it
    // would fail before sending anything: `--help`-level parsing is enough to see).
    let start = literal(&kustomization, "START_AT");
    let out = Command::new(llmw)
        .args([
            "run",
            "deploy/k8s/workload.llmw",
            "--target",
            "http://127.0.0.1:9",
        ])
        .arg(format!("--start-at={start}"))
        .arg("--shard=9/4")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--shard") && !err.contains("--start-at"),
        "{err}"
    );
}
