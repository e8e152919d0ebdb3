//! Plans are a pure function of (file, includes, overrides, seed): the same inputs give the same
//! bytes, and each input changes the plan.

mod common;

use llmw::output::{write_plan, ClosedPreview, PlanFormat};
use llmw::{Overrides, Schedule};

const TEXT: &str = "workload \"d\" {\n seed = 3\n param rate = 20/s\n requests weight 2 { input = lognormal(median: 300, sigma: 0.5) output = gamma(mean: 100, cv: 1) prefix = shared(tokens: 32, groups: 3) }\n class \"long\" { input = pareto(min: 1000, alpha: 2) }\n phase \"c\" { duration = 10s concurrency = steps(1, 2, hold: 5s) think = exponential(mean: 1s) }\n phase \"o\" { duration = 30s arrival = gamma(rate: rate, cv: 2) }\n}\n";

fn jsonl(s: &Schedule) -> Vec<u8> {
    let mut out = Vec::new();
    write_plan(&mut out, s, PlanFormat::Jsonl, ClosedPreview::Auto).expect("writes");
    out
}

fn plan_with(o: &Overrides) -> Schedule {
    common::plan_with(TEXT, o)
}

#[test]
fn same_inputs_give_identical_bytes() {
    let a = plan_with(&Overrides::default());
    let b = plan_with(&Overrides::default());
    assert_eq!(jsonl(&a), jsonl(&b));
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.hash.len(), 64);
}

#[test]
fn seed_and_params_change_the_plan() {
    let base = plan_with(&Overrides::default());
    let reseeded = plan_with(&Overrides {
        seed: Some(4),
        ..Overrides::default()
    });
    assert_ne!(jsonl(&base), jsonl(&reseeded));
    assert_ne!(base.hash, reseeded.hash);
    let faster = plan_with(&Overrides {
        sets: vec!["rate=40/s".into()],
        ..Overrides::default()
    });
    assert_ne!(base.hash, faster.hash);
    // About twice the open-loop requests at twice the rate (Poisson-like noise aside).
    let ratio = faster.requests.len() as f64 / base.requests.len() as f64;
    assert!((1.6..2.4).contains(&ratio), "{ratio}");
}

#[test]
fn the_seed_flag_overrides_the_file() {
    // --seed 11 on a file saying `seed = 3` plans exactly what a file saying `seed = 11` plans,
    // and not what the file's own seed plans.
    let flag = plan_with(&Overrides {
        seed: Some(11),
        ..Overrides::default()
    });
    let in_file = common::plan(&TEXT.replace("seed = 3", "seed = 11"));
    assert_eq!(jsonl(&flag), jsonl(&in_file));
    assert_eq!(flag.seed, 11);
    assert_ne!(jsonl(&flag), jsonl(&plan_with(&Overrides::default())));
}

#[test]
fn pinned_plan_stays_the_same_across_machines_and_versions() {
    // The whole point of a plan is that it never changes under a user: this hash is the plan of
    // TEXT as llmw 0.1 made it. If it changes, every saved plan and run comparison breaks.
    let s = plan_with(&Overrides::default());
    let first: Vec<String> = String::from_utf8(jsonl(&s))
        .expect("utf-8")
        .lines()
        .take(2)
        .map(String::from)
        .collect();
    insta::assert_snapshot!("pinned_plan", format!("{}\n{}", s.hash, first.join("\n")));
}

#[test]
fn closed_loop_requests_are_a_function_of_their_position() {
    let s = plan_with(&Overrides::default());
    let a = s.closed_request(0, 1, 17);
    let b = s.closed_request(0, 1, 17);
    assert_eq!(a, b);
    assert_eq!(a.id, 1_000_000_017);
    // The next position is another draw: another id, and (lognormal and gamma lengths, an
    // exponential think) other contents.
    let next = s.closed_request(0, 1, 18);
    assert_eq!(next.id, 1_000_000_018);
    assert_ne!(
        (next.input_tokens, next.output_tokens, next.think_ns),
        (a.input_tokens, a.output_tokens, a.think_ns)
    );
}
