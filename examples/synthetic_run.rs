//! Writes a synthetic run directory for the analysis benchmark: REQUESTS requests of
//! CHUNKS_PER chunks each (default 100,000 × 100 = 10,000,000 chunk rows), in 10 closed-loop
//! steps, with plausible timings.
//!
//! `cargo run --release --example synthetic_run -- /tmp/big-run [REQUESTS] [CHUNKS_PER] [I/N]`
//!
//! With `I/N`, only shard I of N is written (requests with id ≡ I mod N, and `shard` in
//! `run.json`): N such directories together are the same run, for the merged-shard benchmark.

use llmw::engine::writer::{Msg, TraceWriter};
use llmw::rng::Rng;
use llmw::rundir::record::{ChunkRow, RequestRow, Status};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: synthetic_run DIR [REQUESTS] [CHUNKS_PER]")?,
    );
    let requests: u64 = args
        .next()
        .map(|a| a.parse().map_err(|_| "REQUESTS must be a number"))
        .transpose()?
        .unwrap_or(100_000);
    let per: u32 = args
        .next()
        .map(|a| a.parse().map_err(|_| "CHUNKS_PER must be a number"))
        .transpose()?
        .unwrap_or(100);
    let shard: Option<(u64, u64)> = match args.next() {
        Some(a) => {
            let (i, n) = a.split_once('/').ok_or("the shard is I/N")?;
            let parse = |x: &str| x.parse::<u64>().map_err(|_| "the shard is I/N");
            Some((parse(i)?, parse(n)?))
        }
        None => None,
    };
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let writer = TraceWriter::create(&dir, vec!["sweep".into()], vec!["default".into()])?;
    let steps = 10u64;
    let step_ns = 60_000_000_000u64;
    let mut rng = Rng::new(1);
    for id in 0..requests {
        let step = id * steps / requests;
        let sent = step * step_ns + rng.below(step_ns - 5_000_000_000);
        let ttft = 20_000_000 + rng.below(200_000_000);
        let itl = 8_000_000 + step * 2_000_000;
        let chunks: Vec<ChunkRow> = (0..per)
            .map(|k| ChunkRow {
                request_id: id,
                seq: k,
                at_ns: sent + ttft + u64::from(k) * itl + rng.below(1_000_000),
                tokens: 1,
                bytes: 5,
                reasoning: false,
            })
            .collect();
        let last = chunks.last().map(|c| c.at_ns);
        let done = last.unwrap_or(sent) + 100_000;
        let row = RequestRow {
            input_tokens: 200 + rng.below(2000) as u32,
            output_tokens_requested: per,
            output_tokens: Some(per),
            chunks: per,
            http_status: Some(200),
            conn_reused: Some(false),
            ..RequestRow::bare(
                id,
                step as u32,
                Status::Ok,
                (sent, Some(sent + ttft), last, done),
            )
        };
        // Every row is drawn, so the shards' rows are the whole run's.
        if shard.is_some_and(|(i, n)| id % n != i) {
            continue;
        }
        writer
            .tx
            .send(Msg::Request(row, chunks))
            .map_err(|e| e.to_string())?;
    }
    let written = writer.finish(true)?;
    let steps_json: Vec<serde_json::Value> = (0..steps)
        .map(|s| serde_json::json!({"step": s, "start_ns": s * step_ns, "end_ns": (s + 1) * step_ns, "level": (1u64 << s) as f64}))
        .collect();
    let meta = serde_json::json!({
        "tool": "llmw", "workload": "synthetic", "plan_hash": "synthetic", "status": "completed", "slo": [],
        "shard": shard.map(|(i, n)| serde_json::json!({"index": i, "count": n})),
        "phases": [{"name": "sweep", "measure": true, "loop": "closed", "start_ns": 0, "end_ns": steps * step_ns, "steps": steps_json}]
    });
    std::fs::write(dir.join("run.json"), meta.to_string()).map_err(|e| e.to_string())?;
    eprintln!(
        "wrote {} requests and {} chunks to {}",
        written.requests,
        written.chunks,
        dir.display()
    );
    Ok(())
}
