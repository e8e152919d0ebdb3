//! Statistical checks of every length distribution, clamps, class weights, prefix groups and
//! think times, drawn through the whole pipeline (text → workload → schedule) with fixed seeds.
//! Tolerances: means within 5 standard errors, proportions within 5 binomial standard
//! deviations, shapes by the KS critical value at α = 0.001 on rounded lengths.

mod common;

use common::*;

const N: u64 = 20_000;

fn inputs(shape: &str) -> Vec<f64> {
    lengths(&plan(&shape_phase(shape)), N, false)
}

fn outputs(shape: &str) -> Vec<f64> {
    lengths(&plan(&shape_phase(shape)), N, true)
}

fn assert_mean(xs: &[f64], expected: f64, sd: f64) {
    let se = sd / (xs.len() as f64).sqrt();
    assert!(
        (mean(xs) - expected).abs() < 5.0 * se,
        "mean {} vs {expected} (se {se})",
        mean(xs)
    );
}

fn assert_share(count: usize, n: usize, p: f64) {
    let sd = (p * (1.0 - p) / n as f64).sqrt();
    let share = count as f64 / n as f64;
    assert!((share - p).abs() < 5.0 * sd + 1e-12, "share {share} vs {p}");
}

fn assert_shape(xs: &[f64], cdf: impl Fn(f64) -> f64) {
    // Lengths are max(1, round(draw)): below 1 the observed CDF is 0.
    let d = ks_rounded(xs, |x| if x < 1.0 { 0.0 } else { cdf(x) }, 0.5);
    assert!(d < ks_limit(xs.len()), "KS {d} ≥ {}", ks_limit(xs.len()));
}

#[test]
fn constant_lengths_are_exact() {
    let xs = inputs("input = 512\n output = 7");
    assert!(xs.iter().all(|x| *x == 512.0));
    assert!(outputs("input = 512\n output = 7")
        .iter()
        .all(|x| *x == 7.0));
}

#[test]
fn uniform_covers_its_integers_evenly() {
    let xs = inputs("input = uniform(100, 200)\n output = 1");
    assert!(xs
        .iter()
        .all(|x| (100.0..=200.0).contains(x) && x.fract() == 0.0));
    assert_mean(&xs, 150.0, (101.0f64 * 101.0 - 1.0).sqrt() / 12f64.sqrt());
    assert_shape(&xs, |x| ((x.floor() - 99.0) / 101.0).clamp(0.0, 1.0));
}

#[test]
fn normal_has_its_mean_sd_and_shape() {
    let xs = inputs("input = normal(mean: 1000, sd: 100)\n output = 1");
    assert_mean(&xs, 1000.0, 100.0);
    // sd of the sample sd ≈ σ/√(2n); rounding to integers adds 1/12 to the variance.
    assert!((sd(&xs) - 100.0).abs() < 5.0 * 100.0 / (2.0 * N as f64).sqrt() + 0.01);
    assert_shape(&xs, |x| normal_cdf((x - 1000.0) / 100.0));
}

#[test]
fn lognormal_by_median_and_by_mean() {
    let xs = inputs("input = lognormal(median: 512, sigma: 0.6)\n output = 1");
    assert_shape(&xs, |x| {
        if x <= 0.0 {
            0.0
        } else {
            normal_cdf((x / 512.0).ln() / 0.6)
        }
    });

    let ys = inputs("input = lognormal(mean: 600, sd: 300)\n output = 1");
    assert_mean(&ys, 600.0, 300.0);
    // Kurtosis 8.03 at this cv: the sample sd's relative sd is ≈ 0.94 %; allow 5 of them.
    assert!((sd(&ys) / 300.0 - 1.0).abs() < 0.047, "sd {}", sd(&ys));
}

#[test]
fn exponential_gamma_and_pareto_shapes() {
    let xs = outputs("input = 1\n output = exponential(mean: 120)");
    assert_mean(&xs, 120.0, 120.0);
    assert_shape(&xs, |x| {
        if x <= 0.0 {
            0.0
        } else {
            1.0 - (-x / 120.0).exp()
        }
    });

    let g = outputs("input = 1\n output = gamma(mean: 200, cv: 1.5)");
    let shape = 1.0 / 2.25;
    assert_shape(&g, |x| gamma_p(shape, x.max(0.0) / (200.0 / shape)));

    let p = inputs("input = pareto(min: 100, alpha: 1.5)\n output = 1");
    assert!(p.iter().all(|x| *x >= 100.0));
    assert_shape(&p, |x| {
        if x < 100.0 {
            0.0
        } else {
            1.0 - (100.0 / x).powf(1.5)
        }
    });
}

#[test]
fn choice_and_mix_hit_their_weights() {
    let xs = inputs("input = choice(128: 0.5, 1024: 0.3, 4096: 0.2)\n output = 1");
    assert!(xs.iter().all(|x| [128.0, 1024.0, 4096.0].contains(x)));
    for (v, p) in [(128.0, 0.5), (1024.0, 0.3), (4096.0, 0.2)] {
        assert_share(xs.iter().filter(|x| **x == v).count(), xs.len(), p);
    }
    // Unnormalised weights are shares of their total.
    let ys = inputs("input = mix(7: 100, 3: uniform(1000, 2000))\n output = 1");
    assert_share(ys.iter().filter(|x| **x == 100.0).count(), ys.len(), 0.7);
    assert!(ys
        .iter()
        .all(|x| *x == 100.0 || (1000.0..=2000.0).contains(x)));
}

#[test]
fn clamp_bounds_are_exact_and_pile_up_the_tails() {
    let xs = inputs("input = normal(mean: 100, sd: 50) clamp 80..120\n output = 1");
    assert!(xs.iter().all(|x| (80.0..=120.0).contains(x)));
    // A draw below 80.5 becomes 80 (clamped, or rounded down to it).
    assert_share(
        xs.iter().filter(|x| **x == 80.0).count(),
        xs.len(),
        normal_cdf((80.5 - 100.0) / 50.0),
    );
    assert_share(
        xs.iter().filter(|x| **x == 120.0).count(),
        xs.len(),
        1.0 - normal_cdf((119.5 - 100.0) / 50.0),
    );
}

#[test]
fn lengths_are_whole_and_at_least_one() {
    let xs = inputs("input = normal(mean: 2, sd: 10)\n output = 1");
    assert!(xs.iter().all(|x| *x >= 1.0 && x.fract() == 0.0));
    assert_share(
        xs.iter().filter(|x| **x == 1.0).count(),
        xs.len(),
        normal_cdf((1.5 - 2.0) / 10.0),
    );
}

#[test]
fn class_weights_set_class_shares() {
    let text = "workload \"t\" {\n seed = 4\n requests weight 3 { input = 10 output = 10 }\n class \"rag\" weight 1 { input = 5000 }\n phase \"p\" { duration = 1m concurrency = 1 }\n}\n";
    let s = plan(text);
    let rag = s
        .classes
        .iter()
        .position(|c| c == "rag")
        .expect("rag class") as u32;
    let rs: Vec<_> = (0..N).map(|i| s.closed_request(0, 0, i)).collect();
    let n_rag = rs.iter().filter(|r| r.class == rag).count();
    assert_share(n_rag, rs.len(), 0.25);
    // A class takes the fields it leaves out from `requests`, exactly.
    for r in &rs {
        let expected_input = if r.class == rag { 5000 } else { 10 };
        assert_eq!((r.input_tokens, r.output_tokens), (expected_input, 10));
    }
}

#[test]
fn prefix_groups_are_uniform_or_zipf() {
    let s = plan(&shape_phase(
        "input = 100\n output = 1\n prefix = shared(tokens: 256, groups: 4)",
    ));
    let rs: Vec<_> = (0..N).map(|i| s.closed_request(0, 0, i)).collect();
    for r in &rs {
        assert_eq!(r.prefix_tokens, 256);
        assert_eq!(
            r.input_tokens, 356,
            "the prompt is the prefix plus the unique part"
        );
        assert!(r.prefix_group.is_some_and(|g| g < 4));
    }
    for g in 0..4 {
        assert_share(
            rs.iter().filter(|r| r.prefix_group == Some(g)).count(),
            rs.len(),
            0.25,
        );
    }

    let s = plan(&shape_phase(
        "input = 100\n output = 1\n prefix = shared(tokens: 64, groups: 8, skew: zipf(1.1))",
    ));
    let rs: Vec<_> = (0..N).map(|i| s.closed_request(0, 0, i)).collect();
    let h: f64 = (1..=8).map(|k| f64::from(k).powf(-1.1)).sum();
    for g in 0..8u32 {
        let p = f64::from(g + 1).powf(-1.1) / h;
        assert_share(
            rs.iter().filter(|r| r.prefix_group == Some(g)).count(),
            rs.len(),
            p,
        );
    }
}

#[test]
fn think_times_follow_their_distribution() {
    let text = "workload \"t\" {\n requests { input = 1 output = 1 }\n phase \"p\" {\n duration = 1m\n concurrency = 4\n think = exponential(mean: 2s)\n }\n}\n";
    let s = plan(text);
    let xs: Vec<f64> = (0..N)
        .map(|i| s.closed_request(0, 0, i).think_ns.expect("think") as f64 / 1e9)
        .collect();
    assert_mean(&xs, 2.0, 2.0);
    let d = ks_rounded(&xs, |x| 1.0 - (-x.max(0.0) / 2.0).exp(), 1e-9);
    assert!(d < ks_limit(xs.len()), "KS {d}");
}
