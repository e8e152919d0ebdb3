//! Helpers shared by the integration tests.
#![allow(dead_code)]

use llmw::diag::{render, Style};
pub mod runs;
pub mod schema;
pub mod sessions;

use llmw::{check_text, compile, Overrides, Schedule, Workload};

/// The shipped example workloads, `workloads/*.llmw`, in name order.
pub fn examples() -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir("workloads")
        .expect("workloads/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "llmw"))
        .collect();
    files.sort();
    files
}

/// Checks `text`, panicking with the rendered diagnostics if it is invalid.
pub fn workload(text: &str) -> Workload {
    workload_with(text, &Overrides::default())
}

pub fn workload_with(text: &str, overrides: &Overrides) -> Workload {
    let (sources, result) = check_text("test.llmw", text, overrides);
    match result {
        Ok(w) => w,
        Err(d) => panic!("invalid workload:\n{}", render(&sources, &d, Style::Plain)),
    }
}

/// Checks, resolves and compiles `text`.
pub fn plan(text: &str) -> Schedule {
    plan_with(text, &Overrides::default())
}

pub fn plan_with(text: &str, overrides: &Overrides) -> Schedule {
    let resolved = llmw::resolve(workload_with(text, overrides))
        .unwrap_or_else(|d| panic!("unresolved: {d:?}"));
    compile(&resolved).expect("compiles")
}

/// The rendered diagnostics of an invalid workload (panics if it is valid).
pub fn errors(text: &str) -> String {
    let (sources, result) = check_text("test.llmw", text, &Overrides::default());
    match result {
        Ok(_) => panic!("expected diagnostics for:\n{text}"),
        Err(d) => render(&sources, &d, Style::Plain),
    }
}

/// The rendered diagnostics of a workload that checks but does not load: a file it names
/// is missing or malformed (panics if it loads).
pub fn load_errors(text: &str) -> String {
    let (sources, result) = llmw::load_text("test.llmw", text, &Overrides::default());
    match result {
        Ok(_) => panic!("expected diagnostics for:\n{text}"),
        Err(d) => render(&sources, &d, Style::Plain),
    }
}

/// The words of a tool definition a server's template renders: its description's and its
/// parameters' descriptions' (what the simulator counts as prompt tokens).
pub fn definition_words(t: &llmw::prompt::Tool) -> usize {
    let params: usize = t.parameters["properties"]
        .as_object()
        .expect("properties")
        .values()
        .map(|p| {
            p["description"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .count()
        })
        .sum();
    t.description.split_whitespace().count() + params
}

/// A workload with one open-loop phase.
pub fn open_phase(arrival: &str, duration: &str) -> String {
    format!(
        "workload \"t\" {{\n  seed = 9\n  requests {{ input = 100  output = 10 }}\n  phase \"p\" {{\n    duration = {duration}\n    arrival = {arrival}\n  }}\n}}\n"
    )
}

/// A workload with one closed-loop phase and the given request shape.
pub fn shape_phase(shape: &str) -> String {
    format!(
        "workload \"t\" {{\n  seed = 9\n  requests {{\n{shape}\n  }}\n  phase \"p\" {{\n    duration = 1m\n    concurrency = 1\n  }}\n}}\n"
    )
}

/// Send offsets of an open-loop plan's requests, in seconds.
pub fn times(s: &Schedule) -> Vec<f64> {
    s.requests
        .iter()
        .map(|r| r.at_ns.expect("open loop") as f64 / 1e9)
        .collect()
}

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

pub fn sd(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() as f64 - 1.0)).sqrt()
}

pub fn cv(xs: &[f64]) -> f64 {
    sd(xs) / mean(xs)
}

pub fn gaps(ts: &[f64]) -> Vec<f64> {
    ts.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Kolmogorov–Smirnov statistic of a sample against a CDF.
pub fn ks(sample: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut xs = sample.to_vec();
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mut d: f64 = 0.0;
    for (i, x) in xs.iter().enumerate() {
        let f = cdf(*x);
        d = d.max(f - i as f64 / n).max((i as f64 + 1.0) / n - f);
    }
    d
}

/// KS-style statistic of a sample whose values are within `h` of the true draws (rounded
/// lengths: h = 0.5; differences of times rounded to 1 ns: h = 1 ns), against the CDF F of the
/// true draws. The observed CDF G satisfies F(v − h) ≤ G(v⁻) and G(v) ≤ F(v + h); the
/// statistic is how far the empirical CDF leaves that band (0 when it stays inside).
pub fn ks_rounded(sample: &[f64], cdf: impl Fn(f64) -> f64, h: f64) -> f64 {
    let mut xs = sample.to_vec();
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mut d: f64 = 0.0;
    let mut i = 0;
    while i < xs.len() {
        let v = xs[i];
        let mut j = i;
        while j < xs.len() && xs[j] == v {
            j += 1;
        }
        d = d.max(cdf(v - h) - i as f64 / n);
        d = d.max(j as f64 / n - cdf(v + h));
        i = j;
    }
    d
}

/// The KS critical value at significance 0.001 (a fixed-seed test fails by chance 1 in 1000
/// seeds; with a fixed seed it passes or fails deterministically).
pub fn ks_limit(n: usize) -> f64 {
    1.95 / (n as f64).sqrt()
}

/// Lengths drawn from a closed-loop sequence (n requests of step 0).
pub fn lengths(s: &Schedule, n: u64, output: bool) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let r = s.closed_request(0, 0, i);
            f64::from(if output {
                r.output_tokens
            } else {
                r.input_tokens
            })
        })
        .collect()
}

pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Regularised lower incomplete gamma P(a, x) (series / continued fraction).
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let ln_pre = a * x.ln() - x - libm::lgamma(a);
    if x < a + 1.0 {
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        sum * ln_pre.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -f64::from(i) * (f64::from(i) - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        1.0 - ln_pre.exp() * h
    }
}
