//! Reading a run directory back: `run.json`, `requests.parquet`, `chunks.parquet` and (when the
//! run scraped one) `server_metrics.parquet`, into columns. Analysis uses nothing else — never
//! anything the engine kept in memory. Columns added after the first release (`first_content_ns`,
//! `cached_tokens`, …) are optional, so older run directories still load.

use std::collections::HashMap;
use std::path::Path;

use arrow_array::{Array, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray};

use super::chunks::{ChunkFiles, ChunkPart};
use super::parquet::{
    column, guarded, names, open, open_table, opt64, opt_at, optional, table_files,
};
use super::run::{alone, ErrorKind, Requests, Run, ServerMetrics, Status};
use crate::analysis::error::AnalysisError;
use crate::rundir::manifest::Manifest;
use crate::rundir::tables::{requests as rq, server_metrics as sm};

/// Reads the run directory `dir`. A damaged file is an error naming it, even where the Parquet
/// reader would panic (`rundir::layout::guard`).
pub fn load(dir: &Path) -> Result<Run, AnalysisError> {
    guarded(dir, || read_run(dir))
}

fn read_run(dir: &Path) -> Result<Run, AnalysisError> {
    let meta = Manifest::read(dir).map_err(|e| AnalysisError::Manifest(e.to_string()))?;

    let rpath = dir.join(crate::rundir::layout::REQUESTS);
    let present = match table_files(dir, crate::rundir::layout::REQUESTS)?.first() {
        Some(first) => names(first)?,
        None => Vec::new(),
    };
    let extra: Vec<&str> = OPTIONAL
        .iter()
        .copied()
        .filter(|c| present.iter().any(|p| p == c))
        .collect();
    let cols = [
        rq::REQUEST_ID,
        rq::PHASE,
        rq::STEP,
        rq::SCHEDULED_NS,
        rq::SENT_NS,
        rq::FIRST_TOKEN_NS,
        rq::LAST_TOKEN_NS,
        rq::DONE_NS,
        rq::INPUT_TOKENS,
        rq::OUTPUT_TOKENS,
        rq::STATUS,
        rq::CLASS,
    ];
    let cols: Vec<&str> = cols.iter().copied().chain(extra).collect();
    let mut r = Requests {
        timed_setup: present.iter().any(|c| c == rq::CONNECT_NS),
        ..Requests::default()
    };
    let (_, batches) = open_table(dir, crate::rundir::layout::REQUESTS, &cols)?;
    for b in batches {
        let b = b?;
        let id = column::<Int64Array>(&b, rq::REQUEST_ID, &rpath)?;
        let phase = column::<StringArray>(&b, rq::PHASE, &rpath)?;
        let step = column::<Int32Array>(&b, rq::STEP, &rpath)?;
        let sched = column::<Int64Array>(&b, rq::SCHEDULED_NS, &rpath)?;
        let sent = column::<Int64Array>(&b, rq::SENT_NS, &rpath)?;
        let first = column::<Int64Array>(&b, rq::FIRST_TOKEN_NS, &rpath)?;
        let last = column::<Int64Array>(&b, rq::LAST_TOKEN_NS, &rpath)?;
        let done = column::<Int64Array>(&b, rq::DONE_NS, &rpath)?;
        let input = column::<Int32Array>(&b, rq::INPUT_TOKENS, &rpath)?;
        let output = column::<Int32Array>(&b, rq::OUTPUT_TOKENS, &rpath)?;
        let status = column::<StringArray>(&b, rq::STATUS, &rpath)?;
        let prompt = optional::<Int32Array>(&b, rq::PROMPT_TOKENS);
        let cached = optional::<Int32Array>(&b, rq::CACHED_TOKENS);
        let content = optional::<Int64Array>(&b, rq::FIRST_CONTENT_NS);
        let reasoning = optional::<Int32Array>(&b, rq::REASONING_TOKENS);
        let reused = optional::<BooleanArray>(&b, rq::CONN_REUSED);
        let resent = optional::<BooleanArray>(&b, rq::RESENT);
        let session = optional::<Int64Array>(&b, rq::SESSION);
        let turn = optional::<Int32Array>(&b, rq::TURN);
        let branch = optional::<Int32Array>(&b, rq::BRANCH);
        let session_turns = optional::<Int32Array>(&b, rq::SESSION_TURNS);
        let connect = optional::<Int64Array>(&b, rq::CONNECT_NS);
        let tls = optional::<Int64Array>(&b, rq::TLS_NS);
        let backoff = optional::<Int64Array>(&b, rq::BACKOFF_NS);
        let kind = optional::<StringArray>(&b, rq::ERROR_KIND);
        let class = column::<StringArray>(&b, rq::CLASS, &rpath)?;
        let api = optional::<StringArray>(&b, rq::API);
        let model = optional::<StringArray>(&b, rq::MODEL);
        let inputs = optional::<Int32Array>(&b, rq::INPUTS);
        let target = optional::<StringArray>(&b, rq::TARGET);
        for i in 0..b.num_rows() {
            let named = kind.filter(|k| !k.is_null(i)).map(|k| k.value(i));
            r.error_kind.push(match named {
                None => None,
                Some(named) => Some(ErrorKind::parse(named).ok_or_else(|| {
                    AnalysisError::Unreadable {
                        path: dir.to_path_buf(),
                        reason: format!(
                            "request {} has error kind '{named}', which this llmw does not know (a newer llmw wrote it?)",
                            id.value(i)
                        ),
                    }
                })?),
            });
            r.class.push(class.value(i));
            r.api
                .push(api.filter(|a| !a.is_null(i)).map_or("", |a| a.value(i)));
            r.model
                .push(model.filter(|m| !m.is_null(i)).map_or("", |m| m.value(i)));
            r.target
                .push(target.filter(|t| !t.is_null(i)).map_or("", |t| t.value(i)));
            r.connect_ns.push(opt_at(connect, i, Int64Array::value));
            r.tls_ns.push(opt_at(tls, i, Int64Array::value));
            r.backoff_ns.push(opt_at(backoff, i, Int64Array::value));
            r.inputs.push(opt_at(inputs, i, Int32Array::value));
            r.session.push(opt_at(session, i, Int64Array::value));
            r.turn.push(opt_at(turn, i, Int32Array::value));
            r.branch.push(opt_at(branch, i, Int32Array::value));
            r.session_turns
                .push(opt_at(session_turns, i, Int32Array::value));
            r.prompt_tokens.push(opt_at(prompt, i, Int32Array::value));
            r.cached_tokens.push(opt_at(cached, i, Int32Array::value));
            r.first_content_ns
                .push(opt_at(content, i, Int64Array::value));
            r.reasoning_tokens
                .push(opt_at(reasoning, i, Int32Array::value));
            r.conn_reused.push(opt_at(reused, i, BooleanArray::value));
            r.resent
                .push(opt_at(resent, i, BooleanArray::value).unwrap_or(false));
            r.request_id.push(id.value(i));
            r.phase.push(phase.value(i).to_string());
            r.step.push(step.value(i));
            r.scheduled_ns.push(opt64(sched, i));
            r.sent_ns.push(sent.value(i));
            r.first_token_ns.push(opt64(first, i));
            r.last_token_ns.push(opt64(last, i));
            r.done_ns.push(done.value(i));
            r.input_tokens.push(input.value(i));
            r.output_tokens
                .push((!output.is_null(i)).then(|| output.value(i)));
            let named = status.value(i);
            r.status.push(Status::parse(named).ok_or_else(|| AnalysisError::Unreadable {
                path: dir.to_path_buf(),
                reason: format!(
                    "request {} has status '{named}', which this llmw does not know (a newer llmw wrote it?)",
                    id.value(i)
                ),
            })?);
        }
    }

    let rows_of: HashMap<i64, u32> = r
        .request_id
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    // The chunk files are opened here, so a missing or damaged one is an error now; their
    // rows are read by the analysis' passes.
    let mut chunks = ChunkFiles::default();
    for path in table_files(dir, crate::rundir::layout::CHUNKS)? {
        let (rows, _) = open(&path, &[])?;
        chunks.rows += rows as u64;
        chunks.parts.push(ChunkPart { path, offset_ns: 0 });
    }
    let server = if crate::rundir::layout::exists(dir, crate::rundir::layout::SERVER_METRICS) {
        server_metrics(dir)?
    } else {
        ServerMetrics::default()
    };
    Ok(Run {
        dir: dir.to_path_buf(),
        shards: alone(&meta),
        meta,
        requests: r,
        chunks,
        rows_of,
        server,
    })
}

/// Columns of `requests.parquet` read when present.
const OPTIONAL: [&str; 18] = [
    rq::PROMPT_TOKENS,
    rq::CACHED_TOKENS,
    rq::FIRST_CONTENT_NS,
    rq::REASONING_TOKENS,
    rq::CONN_REUSED,
    rq::RESENT,
    rq::SESSION,
    rq::TURN,
    rq::BRANCH,
    rq::SESSION_TURNS,
    rq::CONNECT_NS,
    rq::TLS_NS,
    rq::BACKOFF_NS,
    rq::ERROR_KIND,
    rq::API,
    rq::MODEL,
    rq::INPUTS,
    rq::TARGET,
];

fn server_metrics(dir: &Path) -> Result<ServerMetrics, AnalysisError> {
    let table = crate::rundir::layout::SERVER_METRICS;
    let path = &dir.join(table);
    let (n, batches) = open_table(dir, table, &[sm::AT_NS, sm::NAME, sm::LABELS, sm::VALUE])?;
    let mut m = ServerMetrics {
        at_ns: Vec::with_capacity(n),
        name: Vec::with_capacity(n),
        labels: Vec::with_capacity(n),
        value: Vec::with_capacity(n),
    };
    for b in batches {
        let b = b?;
        m.at_ns
            .extend_from_slice(column::<Int64Array>(&b, sm::AT_NS, path)?.values());
        let name = column::<StringArray>(&b, sm::NAME, path)?;
        let labels = column::<StringArray>(&b, sm::LABELS, path)?;
        for i in 0..b.num_rows() {
            m.name.push(name.value(i).to_string());
            m.labels.push(labels.value(i).to_string());
        }
        m.value
            .extend_from_slice(column::<Float64Array>(&b, sm::VALUE, path)?.values());
    }
    Ok(m)
}
