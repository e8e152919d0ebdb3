//! Property test: nothing a file can contain crashes `check` or `compile`. Random bytes, random
//! token soup and mutations of every shipped example are fed through the pipeline; each input
//! must either check (and then compile or fail with a typed error) or fail with diagnostics that
//! render. A panic fails the test.

use llmw::diag::{render, Style};
use llmw::rng::Rng;
use llmw::{compile, load_text, Overrides};

/// Runs one input through the pipeline; returns whether it checked clean.
fn exercise(text: &str) -> bool {
    let (sources, result) = load_text("fuzz.llmw", text, &Overrides::default());
    match result {
        Ok(r) => {
            // Keep planning cheap: huge plans are refused by their own limit, not by time.
            let small = r
                .workload()
                .phases
                .iter()
                .all(|p| p.duration_ns.unwrap_or(0) <= 3_600_000_000_000);
            if small {
                let _ = compile(&r);
            }
            true
        }
        Err(diags) => {
            assert!(
                !diags.is_empty(),
                "an error with no diagnostic for:\n{text}"
            );
            let rendered = render(&sources, &diags, Style::Plain);
            assert!(!rendered.is_empty());
            false
        }
    }
}

const TOKENS: &[&str] = &[
    "workload",
    "\"w\"",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "=",
    "..",
    "clamp",
    "weight",
    "param",
    "include",
    "phase",
    "requests",
    "class",
    "target",
    "slo",
    "duration",
    "arrival",
    "concurrency",
    "poisson",
    "gamma",
    "steps",
    "ramp",
    "sine",
    "onoff",
    "constant",
    "trace",
    "uniform",
    "normal",
    "lognormal",
    "mix",
    "choice",
    "rate",
    "hold",
    "cv",
    "30s",
    "8/s",
    "1%",
    "2x",
    "0",
    "-1",
    "1e308",
    "1e999",
    "10_000",
    "0.5",
    "\"",
    "\\",
    "#",
    "\n",
    " ",
    "ttft.p99",
    "<",
    ">=",
    "true",
    "none",
    "é",
    "\u{0}",
];

fn token_soup(rng: &mut Rng) -> String {
    let n = rng.below(120) as usize;
    (0..n)
        .map(|_| TOKENS[rng.below(TOKENS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

fn random_bytes(rng: &mut Rng) -> String {
    let n = rng.below(300) as usize;
    let bytes: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Deletes, duplicates or replaces a random slice of a valid file.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    for _ in 0..=rng.below(3) {
        if out.is_empty() {
            break;
        }
        let a = rng.below(out.len() as u64) as usize;
        let b = (a + rng.below(12) as usize).min(out.len());
        match rng.below(4) {
            0 => {
                out.drain(a..b);
            }
            1 => {
                let piece: Vec<char> = out[a..b].to_vec();
                let at = rng.below(out.len() as u64) as usize;
                out.splice(at..at, piece);
            }
            2 => {
                let token: Vec<char> = TOKENS[rng.below(TOKENS.len() as u64) as usize]
                    .chars()
                    .collect();
                out.splice(a..b, token);
            }
            _ => out.truncate(a),
        }
    }
    out.into_iter().collect()
}

#[test]
fn random_bytes_and_token_soup_never_panic() {
    let mut rng = Rng::new(2026);
    for _ in 0..3000 {
        exercise(&random_bytes(&mut rng));
        exercise(&token_soup(&mut rng));
    }
}

#[test]
fn mutated_examples_never_panic() {
    let mut rng = Rng::new(11);
    let mut examples = Vec::new();
    for entry in std::fs::read_dir("workloads").expect("workloads/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "llmw") {
            examples.push(std::fs::read_to_string(&path).expect("readable"));
        }
    }
    assert!(!examples.is_empty());
    let mut still_valid = 0;
    for i in 0..4000 {
        let base = &examples[i % examples.len()];
        if exercise(&mutate(base, &mut rng)) {
            still_valid += 1;
        }
    }
    // Mutations must sometimes leave a valid file, or this test explores nothing past the parser.
    assert!(still_valid > 50, "only {still_valid} mutants were valid");
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!(
        "workload \"w\" {{ param x = {}1{} }}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(!exercise(&deep));
}
