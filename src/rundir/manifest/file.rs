//! `run.json` on disk: read back (a run from before `schema_version` as version 0, every
//! failure a [`ManifestError`] naming the file), and written atomically.

use std::path::Path;

use super::{Manifest, FILE, SCHEMA_VERSION};
use crate::limits::MAX_SHARDS;

/// A version-0 manifest (llmw before `schema_version`) with the keys added since filled in as
/// "not recorded"; the keys every version had stay required.
fn legacy(mut v: serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    let defaults = [
        ("schema_version", json!(0)),
        ("tool", json!("llmw")),
        ("version", json!("(before 0.1 recorded it)")),
        ("seed", json!(0)),
        ("started_at", json!("")),
        (
            "request_ids",
            json!({"uuid_prefix": "", "format": "(not recorded)"}),
        ),
        (
            "prompt_calibration",
            json!({"mode": "text", "overhead_tokens": 0, "note": "(not recorded)"}),
        ),
        (
            "target",
            json!({"url": "", "api": "chat", "model": "", "stream": true, "ignore_eos": false}),
        ),
    ];
    if let Some(map) = v.as_object_mut() {
        for (key, value) in defaults {
            map.entry(key).or_insert(value);
        }
        if let Some(target) = map
            .get_mut("target")
            .and_then(serde_json::Value::as_object_mut)
        {
            target.entry("prompt_tokens").or_insert(json!("text"));
        }
    }
    v
}

/// What reading `run.json` can go wrong with.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path} is not an llmw run manifest: {reason}")]
    Invalid { path: String, reason: String },
    #[error(
        "{path} has schema_version {found}; this llmw reads up to {SCHEMA_VERSION} (upgrade llmw)"
    )]
    Newer { path: String, found: u64 },
}

impl Manifest {
    /// Reads `dir/run.json`. A missing required key is an error naming it; so is a value of the
    /// wrong type.
    pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(FILE);
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| ManifestError::Unreadable {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Manifest::parse(&text, &shown)
    }

    /// Parses manifest text; `path` names it in errors. A run written before manifests had a
    /// version (`schema_version` absent) is read as version 0: the keys that were added since
    /// get their "not recorded" values, the rest must be there as for version 1.
    pub fn parse(text: &str, path: &str) -> Result<Manifest, ManifestError> {
        let invalid = |reason: String| ManifestError::Invalid {
            path: path.to_string(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if !value.is_object() {
            return Err(invalid("expected a JSON object".into()));
        }
        match value.get("schema_version").map(serde_json::Value::as_u64) {
            None => serde_json::from_value(legacy(value)).map_err(|e| invalid(e.to_string())),
            Some(Some(v)) if v > u64::from(SCHEMA_VERSION) => Err(ManifestError::Newer {
                path: path.to_string(),
                found: v,
            }),
            // From the text, so a wrong value is reported with its line and column.
            _ => serde_json::from_str(text).map_err(|e| invalid(e.to_string())),
        }
        .and_then(|m: Manifest| match m.shard {
            Some(s) if s.count == 0 || s.count > MAX_SHARDS || s.index >= s.count => {
                Err(invalid(format!(
                    "shard {}/{} is not a part of a plan (0 <= index < count <= {MAX_SHARDS})",
                    s.index, s.count
                )))
            }
            _ => Ok(m),
        })
    }

    /// Writes `dir/run.json` atomically (a temporary file renamed over it).
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let tmp = dir.join("run.json.tmp");
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(FILE)).map_err(|e| format!("cannot write run.json: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{CmpOp, Metric};
    use crate::rundir::manifest::{Ending, PromptTokens};

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "schema_version": 1, "tool": "llmw", "version": "0", "workload": "w", "plan_hash": "h",
            "seed": 1,
            "target": {"url": "http://x", "api": "chat", "model": "m", "stream": true,
                       "ignore_eos": true, "prompt_tokens": "exact"},
            "request_ids": {"uuid_prefix": "p", "format": "f"},
            "prompt_calibration": {"mode": "text", "overhead_tokens": 0},
            "started_at": "2026-12-01T00:00:00Z",
            "phases": [], "status": "completed"
        })
    }

    #[test]
    fn a_minimal_manifest_reads() {
        let m = Manifest::parse(&minimal().to_string(), "run.json").expect("reads");
        assert_eq!(m.status, Ending::Completed);
        assert!(m.slo.is_empty() && m.counts.is_none());
    }

    #[test]
    fn a_missing_required_key_is_named() {
        let mut v = minimal();
        v.as_object_mut().expect("object").remove("plan_hash");
        let e = Manifest::parse(&v.to_string(), "run.json").expect_err("refused");
        assert!(e.to_string().contains("missing field `plan_hash`"), "{e}");
    }

    #[test]
    fn wrong_types_and_newer_versions_are_refused_unknown_keys_ignored() {
        let mut v = minimal();
        v["added_later"] = 1.into();
        assert!(Manifest::parse(&v.to_string(), "run.json").is_ok());
        let mut v = minimal();
        v["status"] = "exploded".into();
        let e = Manifest::parse(&v.to_string(), "run.json").expect_err("bad status");
        assert!(e.to_string().contains("exploded"), "{e}");
        let mut v = minimal();
        v["schema_version"] = 2.into();
        let e = Manifest::parse(&v.to_string(), "run.json").expect_err("newer");
        assert!(e.to_string().contains("upgrade llmw"), "{e}");
        let mut v = minimal();
        v["phases"] =
            serde_json::json!([{"name": "p", "measure": true, "loop": "sideways", "steps": []}]);
        let e = Manifest::parse(&serde_json::to_string_pretty(&v).expect("json"), "run.json")
            .expect_err("bad loop");
        assert!(
            e.to_string().contains("sideways") && e.to_string().contains("line"),
            "{e}"
        );
    }

    #[test]
    fn a_run_from_before_schema_version_reads_as_version_0() {
        // What llmw wrote before manifests were typed: no schema_version, request ids,
        // calibration or prompt_tokens.
        let old = serde_json::json!({
            "tool": "llmw", "version": "0.1.0", "workload": "w", "plan_hash": "h", "seed": 3,
            "target": {"url": "http://x", "api": "completions", "model": "m", "stream": true,
                       "ignore_eos": true, "timeout_ns": null, "header_names": []},
            "started_at": "2026-11-30T10:00:00Z",
            "phases": [{"name": "p", "measure": true, "loop": "closed", "planned_start_ns": 0,
                        "start_ns": 0, "end_ns": 5, "steps": [{"step": 0, "start_ns": 0, "end_ns": 5, "level": 2.0}]}],
            "slo": [{"metric": "ttft", "stat": "p99", "op": "<", "threshold": 2.0, "text": "ttft.p99 < 2s"}],
            "status": "completed", "error": null, "counts": {"requests": 4, "chunks": 9}
        });
        let mut old = old;
        let m = Manifest::parse(&old.to_string(), "run.json").expect("reads");
        assert_eq!(m.schema_version, 0);
        assert_eq!(m.target.prompt_tokens, PromptTokens::Text);
        assert_eq!(m.phases[0].steps[0].level, 2.0);
        // The keys every version had are still required.
        old.as_object_mut().expect("object").remove("plan_hash");
        let e = Manifest::parse(&old.to_string(), "run.json").expect_err("refused");
        assert!(e.to_string().contains("missing field `plan_hash`"), "{e}");
    }

    #[test]
    fn a_shard_outside_its_plan_is_refused() {
        for (shard, ok) in [
            (serde_json::json!({"index": 2, "count": 3}), true),
            (serde_json::json!({"index": 3, "count": 3}), false),
            (serde_json::json!({"index": 0, "count": 0}), false),
            (
                serde_json::json!({"index": 0, "count": 4_294_967_295u64}),
                false,
            ),
        ] {
            let mut v = minimal();
            v["shard"] = shard.clone();
            let read = Manifest::parse(&v.to_string(), "run.json");
            assert_eq!(read.is_ok(), ok, "{shard}: {read:?}");
        }
    }

    #[test]
    fn objectives_use_the_metric_names() {
        let mut v = minimal();
        v["slo"] = serde_json::json!([{"metric": "tps_user", "stat": "p50", "op": ">=",
                                       "threshold": 20.0, "text": "tps_user.p50 >= 20/s"}]);
        let m = Manifest::parse(&v.to_string(), "run.json").expect("reads");
        assert_eq!(m.slo[0].metric, Metric::TpsUser);
        assert_eq!(m.slo[0].op, CmpOp::Ge);
        v["slo"][0]["metric"] = "latency".into();
        assert!(Manifest::parse(&v.to_string(), "run.json").is_err());
    }
}
