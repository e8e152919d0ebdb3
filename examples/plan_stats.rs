//! Using llmw as a library: check a workload, compile it, and print per-phase statistics of the
//! schedule that the `summary` format does not show (the share of each class, the p50/p99 of
//! open-loop gaps).
//!
//! `cargo run --example plan_stats -- workloads/bursty-gamma.llmw`

use std::process::ExitCode;

use llmw::diag::{render, Style};
use llmw::schedule::LoopKind;
use llmw::{compile, load_file, Overrides};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: plan_stats FILE.llmw");
        return ExitCode::from(2);
    };
    let (sources, result) = load_file(path.as_ref(), &Overrides::default());
    let workload = match result {
        Ok(w) => w,
        Err(d) => {
            eprint!("{}", render(&sources, &d, Style::Plain));
            return ExitCode::from(2);
        }
    };
    let schedule = match compile(&workload) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for phase in &schedule.phases {
        if phase.kind == LoopKind::Closed {
            println!(
                "{}: closed loop, {} users at peak",
                phase.name,
                phase.users.iter().map(|u| u.users).max().unwrap_or(0)
            );
            continue;
        }
        let reqs = schedule.phase_requests(phase);
        let mut gaps: Vec<u64> = reqs
            .windows(2)
            .filter_map(|w| Some(w[1].at_ns? - w[0].at_ns?))
            .collect();
        gaps.sort_unstable();
        let pct = |p: f64| {
            gaps.get(((gaps.len() as f64 - 1.0) * p) as usize)
                .map_or(0.0, |g| *g as f64 / 1e6)
        };
        println!(
            "{}: {} requests, gap p50 {:.1} ms, p99 {:.1} ms",
            phase.name,
            reqs.len(),
            pct(0.5),
            pct(0.99)
        );
        for (id, name) in schedule.classes.iter().enumerate() {
            let n = reqs.iter().filter(|r| r.class as usize == id).count();
            if n > 0 {
                println!(
                    "  class {name}: {:.1} %",
                    100.0 * n as f64 / reqs.len() as f64
                );
            }
        }
    }
    ExitCode::SUCCESS
}
