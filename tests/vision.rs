//! Images end to end against the simulator in-process: every class's images drawn as planned
//! (count and sizes), made at send time (the bytes a row records are the bytes the plan's keys
//! make), carried in each API's own form and counted by the server as a vision model counts
//! them; the body's size in every row; and what the checker refuses.

mod common;

use std::collections::BTreeMap;

use llmw::schedule::PlannedRequest;
use llmw::workload::ImageFormat;

const VISION: &str = r#"workload "vision" {
  seed = 4
  target { model = "m"  ignore_eos = true  timeout = 30s }
  class "chat" weight 1 { images = uniform(1, 3)  image_size = choice("64x48": 1, "96x64": 1)  input = 20  output = 4 }
  class "responses" weight 1 { api = responses  images = 1  image_size = "80x80"  image_format = png  input = 20  output = 4 }
  class "messages" weight 1 { api = messages  images = uniform(0, 2)  input = 20  output = 4 }
  class "text" weight 1 { input = 20  output = 4 }
  session "look" weight 1 { images = 1  image_size = "56x56"  turns = 3  input = 10  output = 4 }
  phase "p" { requests = 150  concurrency = 4 }
}"#;

/// The simulator's image tokens for one image (`src/sim/http/read.rs`: 28 × 28 pixels each).
fn image_tokens(w: u32, h: u32) -> i64 {
    (i64::from(w) * i64::from(h) + 783) / 784
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_go_as_planned_in_every_api_and_the_server_counts_them() {
    let config = llmw::sim::SimConfig {
        model: "m".into(),
        ..Default::default()
    };
    let (_, schedule, rows) = common::runs::run_with(VISION, config, "vision").await;
    let plan = schedule.closed_sequence(0, 0, 2000);
    let planned: BTreeMap<i64, &PlannedRequest> = plan.iter().map(|r| (r.id as i64, r)).collect();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| r.status != "cancelled")
        .collect();
    assert!(rows.len() >= 150, "{} rows", rows.len());
    let mut seen = BTreeMap::<&str, usize>::new();
    for r in &rows {
        assert_eq!(r.status, "ok", "request {}: {:?}", r.request_id, r.error);
        let want = planned[&r.request_id];
        let sizes = schedule.images_of(want);
        let body = r.body_bytes.expect("every sent row has its body's size");
        if r.class == "text" {
            assert_eq!((r.images, r.image_bytes), (None, None));
            assert_eq!(
                r.prompt_tokens,
                Some(r.input_tokens),
                "request {}",
                r.request_id
            );
            continue;
        }
        *seen.entry(&r.class).or_default() += sizes.len();
        let format = match r.class.as_str() {
            "responses" => ImageFormat::Png,
            _ => ImageFormat::Jpeg,
        };
        // The bytes the plan's keys make, image by image: what the row says was sent.
        let bytes: usize = sizes
            .iter()
            .enumerate()
            .map(|(k, &(w, h))| llmw::image::synth(schedule.image_key(want, k), w, h, format).len())
            .sum();
        let pixels: i64 = sizes
            .iter()
            .map(|&(w, h)| i64::from(w) * i64::from(h))
            .sum();
        assert_eq!(
            r.images,
            Some(sizes.len() as i32),
            "request {}",
            r.request_id
        );
        assert_eq!(r.image_pixels, Some(pixels));
        assert_eq!(r.image_bytes, Some(bytes as i64));
        // Base64 is 4 bytes for every 3.
        assert!(
            body >= bytes as i64 * 4 / 3,
            "body {body} for {bytes} image bytes"
        );
        // The server counted each image's tokens on top of the text (this turn's images only:
        // a conversation's history carries its earlier turns' text).
        let tokens: i64 = sizes.iter().map(|&(w, h)| image_tokens(w, h)).sum();
        assert_eq!(
            r.prompt_tokens.map(i64::from),
            Some(i64::from(r.input_tokens) + tokens),
            "request {} ({})",
            r.request_id,
            r.class
        );
        match r.class.as_str() {
            "chat" => {
                assert!(
                    sizes.iter().all(|s| [(64, 48), (96, 64)].contains(s)) && !sizes.is_empty()
                );
            }
            "responses" => assert_eq!(sizes, vec![(80, 80)]),
            "messages" => assert!(sizes.len() <= 2 && sizes.iter().all(|s| *s == (512, 512))),
            "look" => assert_eq!(sizes, vec![(56, 56)]),
            other => panic!("class {other}"),
        }
    }
    for class in ["chat", "responses", "messages", "look"] {
        assert!(
            seen.get(class).copied().unwrap_or(0) > 0,
            "{class} sent no image: {seen:?}"
        );
    }
}

#[test]
fn images_where_an_api_cannot_carry_them_and_bad_sizes_are_errors() {
    let with = |class: &str| {
        common::errors(&format!(
            "workload \"w\" {{\n  {class}\n  phase \"p\" {{ requests = 1 concurrency = 1 }}\n}}"
        ))
    };
    let e = with(r#"class "c" { api = completions images = 1 input = 10 output = 4 }"#);
    assert!(
        e.contains("completions, which carries no images")
            && e.contains("chat, responses or messages"),
        "{e}"
    );
    let e = with(r#"class "c" { api = embeddings images = 1 input = 10 }"#);
    assert!(e.contains("embeddings, which carries no images"), "{e}");
    let e = with(r#"class "c" { image_size = "64x64" input = 10 output = 4 }"#);
    assert!(e.contains("this class sends none"), "{e}");
    let e = with(r#"class "c" { images = 1 image_size = "64 by 64" input = 10 output = 4 }"#);
    assert!(e.contains("is not an image size"), "{e}");
    let e = with(r#"class "c" { images = 1 image_size = "9000x10" input = 10 output = 4 }"#);
    assert!(e.contains("out of bounds") && e.contains("8192"), "{e}");
    let e = with(r#"class "c" { images = 100 input = 10 output = 4 }"#);
    assert!(e.contains("over the limit of 64"), "{e}");
    let e = with(r#"class "c" { images = 1 image_format = gif input = 10 output = 4 }"#);
    assert!(e.contains("jpeg") && e.contains("png"), "{e}");
    // An inherited `images` the class's API cannot carry is left out quietly.
    let s = common::plan(
        "workload \"w\" {\n  requests { images = 1 input = 10 output = 4 }\n  class \"e\" { api = embeddings }\n  class \"v\" { }\n  phase \"p\" { requests = 1 concurrency = 1 }\n}",
    );
    assert!(s.phases[0].classes.iter().any(|c| c.form.images.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_vision_fails_the_image_requests_with_its_own_words() {
    let config = llmw::sim::SimConfig {
        model: "m".into(),
        behaviour: llmw::sim::Behaviour {
            no_vision: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let text = r#"workload "blind" {
  target { model = "m"  ignore_eos = true }
  class "look" weight 1 { images = 1  image_size = "32x32"  input = 10  output = 4 }
  class "read" weight 1 { api = messages  images = 1  image_size = "32x32"  input = 10  output = 4 }
  class "text" weight 1 { input = 10  output = 4 }
  phase "p" { requests = 30  concurrency = 2 }
}"#;
    let (_, _, rows) = common::runs::run_with(text, config, "vision-none").await;
    for r in rows {
        if r.class == "text" {
            assert_eq!(r.status, "ok");
        } else {
            assert_eq!(
                (r.status.as_str(), r.http_status),
                ("error", Some(500)),
                "{}",
                r.class
            );
            assert!(r
                .error
                .as_deref()
                .is_some_and(|e| e.contains("image input is not supported")));
            assert_eq!(r.images, Some(1), "the row still says what was sent");
        }
    }
}
