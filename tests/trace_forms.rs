//! What a trace's rows say they were sent as: BurstGPT's `Model` mapped to workload models
//! (`models: {...}`), a generic trace's `model`, `api` and `images` columns, each row by row in
//! the plan and against the simulator; the simulator's per-model costs; and the errors (a model
//! left out of the map, an API the trace names wrongly, images on an API that takes none).

mod common;

use std::collections::BTreeMap;

const BURST: &str = r#"workload "burst" {
  target { model = "m"  ignore_eos = true  timeout = 30s }
  param base = "small"
  phase "p" {
    arrival = trace("traces/burstgpt1_head400.csv", format: burstgpt, failed: skip,
                    models: { "ChatGPT": base, "GPT-4": "large" }, speed: 20000x LIMIT)
  }
}"#;

fn burst(limit: &str) -> String {
    BURST.replace("LIMIT", limit)
}

/// The (input, output, model) of every row of the BurstGPT slice that is not a failed request,
/// read independently of llmw.
fn burst_rows() -> Vec<(u32, u32, String)> {
    let text = std::fs::read_to_string("traces/burstgpt1_head400.csv").expect("trace");
    text.lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[3] != "0")
        .map(|f| {
            (
                f[2].parse().expect("n"),
                f[3].parse().expect("n"),
                f[1].to_string(),
            )
        })
        .collect()
}

#[test]
fn burstgpt_models_map_to_workload_models_row_by_row() {
    let s = common::plan(&burst(""));
    let want = |m: &str| match m {
        "ChatGPT" => "small", // through the param, so --set renames it
        _ => "large",
    };
    let mut planned: Vec<(u32, u32, String)> = s
        .requests
        .iter()
        .map(|r| {
            let model = s.model_of(r).expect("a row's model").to_string();
            (r.input_tokens, r.output_tokens, model)
        })
        .collect();
    let mut trace: Vec<(u32, u32, String)> = burst_rows()
        .into_iter()
        .map(|(i, o, m)| (i, o, want(&m).to_string()))
        .collect();
    assert_eq!(planned.len(), 383);
    planned.sort();
    trace.sort();
    assert_eq!(planned, trace);
    // A param holds a model's name: `--set` renames it.
    let overrides = llmw::Overrides {
        sets: vec!["base=\"tiny\"".to_string()],
        seed: None,
    };
    let renamed = common::plan_with(&burst(""), &overrides);
    assert!(renamed
        .requests
        .iter()
        .all(|r| matches!(renamed.model_of(r), Some("tiny" | "large"))));
    assert_ne!(renamed.hash, s.hash, "the models sent are part of the plan");
}

#[test]
fn a_model_the_map_leaves_out_is_an_error_naming_it_and_its_rows() {
    let text = burst("").replace(", \"GPT-4\": \"large\"", "");
    let e = common::load_errors(&text);
    assert!(
        e.contains("models its models map leaves out: 'GPT-4' (80 rows)"),
        "{e}"
    );
    assert!(e.contains("\"GPT-4\": \"…\""), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_rows_name_their_mapped_model_at_the_server() {
    let config = llmw::sim::SimConfig {
        model: "m".into(),
        profile: llmw::sim::Profile::named(llmw::sim::ProfileName::Fast),
        ..Default::default()
    };
    let (_, schedule, rows) =
        common::runs::run_with(&burst(", limit: 60"), config, "burst-models").await;
    assert_eq!(rows.len(), 60);
    let planned: BTreeMap<i64, _> = schedule
        .requests
        .iter()
        .map(|r| (r.id as i64, schedule.model_of(r).map(str::to_string)))
        .collect();
    for r in &rows {
        assert_eq!(r.status, "ok", "{:?}", r.error);
        assert_eq!(r.model, planned[&r.request_id], "request {}", r.request_id);
    }
    let large = rows
        .iter()
        .filter(|r| r.model.as_deref() == Some("large"))
        .count();
    assert!(large > 0 && large < 60, "{large} of 60 rows GPT-4's");
}

const GENERIC: &str = "t,in,out,model,api,images\n\
0.00,20,4,a,chat,1\n\
0.01,20,4,b,responses,0\n\
0.02,20,4,a,messages,2\n\
0.03,24,4,,embeddings,\n\
0.04,20,4,b,,\n\
0.05,20,4,a,CHAT,3\n";

fn generic(csv: &str, class: &str) -> String {
    let dir = common::runs::temp_dir("trace-forms");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("t{}.csv", csv.len()));
    std::fs::write(&path, csv).expect("write");
    format!(
        r#"workload "generic" {{
  target {{ model = "m"  ignore_eos = true  timeout = 30s }}
  {class}
  phase "p" {{
    arrival = trace({:?}, format: csv, time_unit: s, models: {{ a: "lora-a", b: "base" }},
                    columns: {{ at: "t", input: "in", output: "out", model: "model", api: "api", images: "images" }})
  }}
}}"#,
        path.display().to_string()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_trace_says_each_rows_model_api_and_images() {
    let config = llmw::sim::SimConfig {
        model: "m".into(),
        profile: llmw::sim::Profile::named(llmw::sim::ProfileName::Fast),
        ..Default::default()
    };
    let text = generic(GENERIC, "");
    let (_, _, mut rows) = common::runs::run_with(&text, config, "trace-forms").await;
    rows.sort_by_key(|r| r.scheduled_ns);
    let got: Vec<(Option<&str>, Option<&str>, Option<i32>)> = rows
        .iter()
        .map(|r| (r.api.as_deref(), r.model.as_deref(), r.images))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("chat"), Some("lora-a"), Some(1)),
            (Some("responses"), Some("base"), Some(0)),
            (Some("messages"), Some("lora-a"), Some(2)),
            (Some("embeddings"), Some("m"), None),
            (Some("chat"), Some("base"), None),
            (Some("chat"), Some("lora-a"), Some(3)),
        ]
    );
    // Each image 512x512 by default, one prompt token per 28 × 28 pixels at the server.
    let per_image = (512 * 512_u32).div_ceil(28 * 28) as i32;
    for r in &rows {
        assert_eq!(r.status, "ok", "{:?}", r.error);
        let n = r.images.unwrap_or(0);
        assert_eq!(r.image_pixels.unwrap_or(0), i64::from(n) * 512 * 512);
        assert_eq!(r.prompt_tokens, Some(r.input_tokens + n * per_image));
    }
}

#[test]
fn a_trace_that_names_an_api_wrongly_or_images_where_none_go_is_an_error() {
    let bad_api = GENERIC.replace("b,responses,0", "b,respones,0");
    let e = common::load_errors(&generic(&bad_api, ""));
    assert!(e.contains(":3: api: expected an API"), "{e}");
    assert!(e.contains("found 'respones'"), "{e}");
    let bad_count = GENERIC.replace("a,messages,2", "a,messages,many");
    let e = common::load_errors(&generic(&bad_count, ""));
    assert!(e.contains(":4: images: expected an"), "{e}");
    assert!(e.contains("found 'many'"), "{e}");
    // A row with images on an API that takes none: the plan is refused at its line.
    let on_completions = GENERIC.replace("a,chat,1", "a,completions,1");
    let resolved = llmw::resolve(common::workload(&generic(&on_completions, ""))).expect("loads");
    let e = llmw::compile(&resolved).expect_err("refused").to_string();
    assert!(
        e.contains("trace line 2: 1 images on api completions"),
        "{e}"
    );
    // The API may be the target's: a row with images replayed to completions.
    let to_completions = "t,in,out,model,api,images\n0.00,20,4,a,,1\n0.01,20,4,b,,0\n";
    let text = generic(to_completions, "").replace(
        "target { model = \"m\"",
        "target { api = completions  model = \"m\"",
    );
    let resolved = llmw::resolve(common::workload(&text)).expect("loads");
    let e = llmw::compile(&resolved).expect_err("refused").to_string();
    assert!(
        e.contains("trace line 2: 1 images on api completions"),
        "{e}"
    );
    // A row that says completions, in a class that offers tools.
    let tools_row = GENERIC.replace("b,responses,0", "b,completions,0");
    let text = generic(&tools_row, "requests { tools = 2 }");
    let resolved = llmw::resolve(common::workload(&text)).expect("loads");
    let e = llmw::compile(&resolved).expect_err("refused").to_string();
    assert!(
        e.contains("trace line 3: its class's tools on api completions"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_costs_each_model_its_own_factor() {
    // One request at a time and a step of only its per-sequence cost: a "large" token takes
    // three times a base one, 24 against 8 ms. A late wake-up of x ms on a busy machine makes
    // it (24 + x) / (8 + x): above 1.8 while x < 12 ms in the median.
    let profile = llmw::sim::Profile {
        step_base_us: 0.0,
        per_seq_us: 8_000.0,
        per_prefill_token_us: 0.0,
        per_kv_token_ns: 0.0,
        model_costs: vec![("large".into(), 3.0)],
        ..llmw::sim::Profile::named(llmw::sim::ProfileName::Default)
    };
    let config = llmw::sim::SimConfig {
        model: "m".into(),
        profile,
        ..Default::default()
    };
    let text = r#"workload "costs" {
  target { model = "m"  ignore_eos = true  timeout = 30s }
  class "large" { model = "large"  input = 10  output = 8 }
  class "base" { input = 10  output = 8 }
  phase "p" { requests = 40  concurrency = 1 }
}"#;
    let (dir, _, rows) = common::runs::run_with(text, config, "model-costs").await;
    let chunks = common::runs::chunks(&dir);
    let mut gaps: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let class: BTreeMap<i64, &str> = rows
        .iter()
        .map(|r| (r.request_id, r.class.as_str()))
        .collect();
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    for c in &chunks {
        if let Some(before) = last.insert(c.request_id, c.at_ns) {
            let list = gaps.entry(class[&c.request_id].to_string()).or_default();
            list.push((c.at_ns - before) as f64);
        }
    }
    let large = common::runs::median(gaps["large"].clone());
    let base = common::runs::median(gaps["base"].clone());
    let ratio = large / base;
    assert!(
        (1.8..4.5).contains(&ratio),
        "ITL large {large} ns against base {base} ns: ×{ratio}"
    );
    for r in &rows {
        let want = if r.class == "large" { "large" } else { "m" };
        assert_eq!((r.status.as_str(), r.model.as_deref()), ("ok", Some(want)));
    }
}
