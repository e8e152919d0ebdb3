//! A test per flag that had none: `llmw replay`'s transformations, target headers and the API
//! key on the wire (never in the files), TLS, the metrics flags, `plan --output`, and every
//! enumerated flag refusing an unknown value as a usage error.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use common::runs::{prepare, requests, run_json, temp_dir};
use llmw::engine::{self, Ending, Metrics};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

fn llmw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(args)
        .output()
        .expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

#[test]
fn every_enumerated_flag_refuses_an_unknown_value_as_a_usage_error() {
    let trace = "traces/azure_conv_head2000.csv";
    let cases: [&[&str]; 10] = [
        &["plan", "workloads/quickstart.llmw", "--format", "yaml"],
        &["trace", "stats", trace, "--format", "sharegpt"],
        &[
            "trace",
            "stats",
            trace,
            "--format",
            "csv",
            "--time-unit",
            "days",
        ],
        &["replay", trace, "--format", "azure", "--failed", "maybe"],
        &["replay", trace, "--format", "azure", "--api", "responses"],
        &["run", "workloads/quickstart.llmw", "--sim-profile", "slow"],
        &["sim", "--profile", "slow"],
        &["sim", "--error-rate", "2"],
        &["analyze", "runs/none", "--format", "xml"],
        // A seed the file could not say either (counts stop at 9e15).
        &[
            "plan",
            "workloads/quickstart.llmw",
            "--seed",
            "18446744073709551615",
        ],
    ];
    for args in cases {
        let o = llmw(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("invalid value"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // Shares that are each fine but add up past 1.
    let o = llmw(&[
        "sim",
        "--error-rate",
        "0.6",
        "--cut-rate",
        "0.6",
        "--port",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("at most 1"), "{}", stderr(&o));
}

#[test]
fn replay_flags_shape_the_generated_workload_and_its_requests() {
    let out = temp_dir("replay-flags");
    let o = llmw(&[
        "replay",
        "traces/azure_conv_head2000.csv",
        "--format",
        "azure",
        "--window",
        "30s..45s",
        "--speed",
        "50",
        "--limit",
        "7",
        "--max-gap",
        "1s",
        "--scale",
        "0.5",
        "--api",
        "completions",
        "--model",
        "llmw-sim",
        "--sim-profile",
        "fast",
        "--quiet",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = requests(&out);
    assert_eq!(rows.len(), 7, "--limit 7");
    assert!(rows.iter().all(|r| r.status == "ok"), "{rows:?}");
    // The run records the workload replay generated: it names every flag given.
    let meta = run_json(&out);
    let source = meta["source"]["text"].as_str().expect("source");
    for part in [
        "window: 30000ms..45000ms",
        "speed: 50x",
        "limit: 7",
        "max_gap: 1000ms",
        "scale: 0.5x",
        "api        = completions",
        "model      = \"llmw-sim\"",
    ] {
        assert!(source.contains(part), "{part} in\n{source}");
    }
    assert_eq!(meta["target"]["api"], "completions");
    // That text, run from another directory, plans the very same requests.
    let again = temp_dir("replay-again");
    std::fs::create_dir_all(&again).expect("dir");
    std::fs::write(again.join("again.llmw"), source).expect("write");
    let plan = Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(["plan", "again.llmw", "--format", "json"])
        .current_dir(&again)
        .output()
        .expect("runs");
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("json");
    assert_eq!(plan["hash"], meta["plan_hash"]);
    // The sends are the trace's rows transformed exactly as the flags say: the window's rows,
    // half of them kept, gaps over 1 s shortened, at 50x, the first seven.
    let trace = llmw::read_trace(
        Path::new("traces/azure_conv_head2000.csv"),
        llmw::trace::Format::Azure,
        &Default::default(),
    )
    .expect("trace");
    let expected = llmw::transform_trace(
        &trace,
        &llmw::trace::Transform {
            speed: 50.0,
            window_ns: Some((30_000_000_000, 45_000_000_000)),
            limit: Some(7),
            max_gap_ns: Some(1_000_000_000),
            scale: Some(0.5),
            replay_failed: false,
            seed: 0,
        },
    );
    let mut sends: Vec<i64> = rows.iter().filter_map(|r| r.scheduled_ns).collect();
    sends.sort_unstable();
    let offsets: Vec<u64> = sends.iter().map(|t| (t - sends[0]) as u64).collect();
    let first = expected.rows[0].0;
    let planned: Vec<u64> = expected.rows.iter().map(|(at, _)| at - first).collect();
    assert_eq!(offsets, planned);
    let mut lengths: Vec<(i32, i32)> = rows
        .iter()
        .map(|r| (r.input_tokens, r.output_tokens_requested))
        .collect();
    lengths.sort_unstable();
    let mut want: Vec<(i32, i32)> = expected
        .rows
        .iter()
        .map(|(_, r)| (r.input as i32, r.output as i32))
        .collect();
    want.sort_unstable();
    assert_eq!(lengths, want);
}

#[test]
fn replay_failed_rows_need_a_choice_and_get_the_one_made() {
    let trace = "traces/burstgpt1_head400.csv";
    let base = [
        "replay", trace, "--format", "burstgpt", "--speed", "1000000",
    ];
    let o = llmw(&[&base[..], &["--sim-profile", "fast", "--quiet"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("17 rows are failed requests"),
        "{}",
        stderr(&o)
    );
    for (choice, rows) in [("skip", 383), ("replay", 400)] {
        let out = temp_dir(&format!("replay-failed-{choice}"));
        let o = llmw(
            &[
                &base[..],
                &[
                    "--failed",
                    choice,
                    "--sim-profile",
                    "fast",
                    "--quiet",
                    "--out",
                    s(&out),
                ],
            ]
            .concat(),
        );
        assert_eq!(o.status.code(), Some(0), "{choice}: {}", stderr(&o));
        assert_eq!(requests(&out).len(), rows, "--failed {choice}");
    }
}

#[test]
fn replay_skip_bad_rows_reaches_the_read_that_plans() {
    let dir = temp_dir("replay-bad-rows");
    std::fs::create_dir_all(&dir).expect("dir");
    let trace = dir.join("t.csv");
    std::fs::write(&trace, "t,in,out\n0,10,2\n0.1,oops,2\n0.2,12,3\n").expect("write");
    let base = [
        "replay",
        s(&trace),
        "--format",
        "csv",
        "--columns",
        "at=t,input=in,output=out",
        "--time-unit",
        "s",
        "--sim-profile",
        "fast",
        "--quiet",
    ];
    let o = llmw(&base);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("oops"), "{}", stderr(&o));
    let out = dir.join("run");
    let o = llmw(&[&base[..], &["--skip-bad-rows", "--out", s(&out)]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = requests(&out);
    assert_eq!(
        rows.iter().map(|r| r.input_tokens).collect::<Vec<_>>(),
        [10, 12]
    );
}

#[test]
fn trace_columns_and_time_unit_read_a_generic_trace() {
    let dir = temp_dir("columns");
    std::fs::create_dir_all(&dir).expect("dir");
    let trace = dir.join("t.csv");
    std::fs::write(&trace, "when,p,o\n0,100,10\n1500,300,30\n").expect("write");
    let o = llmw(&[
        "trace",
        "stats",
        s(&trace),
        "--format",
        "csv",
        "--columns",
        "at=when,input=p,output=o",
        "--time-unit",
        "ms",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["rows"], 2, "{v}");
    assert_eq!(v["span_s"], 1.5, "{v}");
    // A role that is not at/input/output, and a column the file lacks.
    let o = llmw(&[
        "trace",
        "stats",
        s(&trace),
        "--format",
        "csv",
        "--columns",
        "start=when",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = llmw(&[
        "trace",
        "stats",
        s(&trace),
        "--format",
        "csv",
        "--columns",
        "at=nope,input=p,output=o",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
}

#[test]
fn metrics_flags_turn_the_scrape_off_or_point_it_elsewhere() {
    let text = "workload \"m\" {\n target { ignore_eos = true }\n requests { input = 10  output = 2 }\n phase \"p\" { requests = 3  concurrency = 1 }\n}\n";
    let dir = temp_dir("metrics-flags");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("m.llmw");
    std::fs::write(&file, text).expect("write");
    let off = dir.join("off");
    let o = llmw(&[
        "run",
        s(&file),
        "--sim-profile",
        "fast",
        "-q",
        "--no-metrics",
        "--out",
        s(&off),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let meta = run_json(&off);
    assert_eq!(meta["server_metrics"]["off"], true);
    assert_eq!(meta["counts"]["server_metrics"], 0, "{meta}");
    let elsewhere = dir.join("elsewhere");
    let o = llmw(&[
        "run",
        s(&file),
        "--sim-profile",
        "fast",
        "-q",
        "--metrics-url",
        "http://127.0.0.1:9/metrics",
        "--out",
        s(&elsewhere),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = &run_json(&elsewhere)["server_metrics"];
    assert_eq!(m["url"], "http://127.0.0.1:9/metrics", "{m}");
    assert!(m["unavailable"].is_string(), "{m}");
}

#[test]
fn plan_output_writes_the_file_and_nothing_to_stdout() {
    let out = temp_dir("plan-output");
    std::fs::create_dir_all(&out).expect("dir");
    let file = out.join("plan.json");
    let o = llmw(&[
        "plan",
        "workloads/quickstart.llmw",
        "--format",
        "json",
        "--output",
        s(&file),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("json");
    assert_eq!(v["workload"], "quickstart", "{v}");
}

/// A one-shot HTTP/1.1 server over any stream: reads each request's head (and body by
/// Content-Length), keeps the head, answers one streamed completion.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, heads: Arc<Mutex<Vec<String>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = s.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        if buf.len() < end + 4 + len {
            continue;
        }
        buf.drain(..end + 4 + len);
        if let Ok(mut h) = heads.lock() {
            h.push(head);
        }
        let body = "data: {\"choices\":[{\"index\":0,\"text\":\" hi\",\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n";
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if s.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A local server that answers every completion and keeps each request's head; its URL.
async fn capturing_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(answer(s, seen.clone()));
        }
    });
    (url, heads)
}

const HEADERS: &str = r#"workload "headers" {
  target {
    api = completions
    model = "m"
    timeout = 5s
    headers = { "x-team": "blue-secret-value", "x-route": "canary" }
  }
  requests { input = 5  output = 2 }
  phase "p" { requests = 2  concurrency = 1 }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_headers_and_the_api_key_reach_the_server_and_never_the_files() {
    let (url, heads) = capturing_server().await;
    let p = prepare(HEADERS, "headers", url, Metrics::Off);
    let dir = p.dir.clone();
    let result = engine::run(p.schedule, p.options).await.expect("run");
    assert_eq!(result.ending, Ending::Completed);
    let heads = heads.lock().expect("heads").clone();
    let completions: Vec<&String> = heads
        .iter()
        .filter(|h| h.starts_with("POST /v1/completions"))
        .collect();
    assert_eq!(completions.len(), 2, "{heads:?}");
    for h in completions {
        let lower = h.to_lowercase();
        assert!(lower.contains("x-team: blue-secret-value"), "{h}");
        assert!(lower.contains("x-route: canary"), "{h}");
        assert!(
            lower.contains("authorization: bearer sk-test-secret-key"),
            "{h}"
        );
    }
    // The run's files name the headers, never their values, and never hold the key. (The
    // workload's own text is recorded as written, so what the file says is there, and only
    // there: `Authorization` is refused in the file for that reason.)
    let mut meta = run_json(&dir);
    assert_eq!(
        meta["target"]["header_names"],
        serde_json::json!(["x-team", "x-route"])
    );
    assert!(meta["source"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("blue-secret-value")));
    meta.as_object_mut().expect("object").remove("source");
    assert!(!meta.to_string().contains("blue-secret-value"), "{meta}");
    for f in std::fs::read_dir(&dir).expect("dir") {
        let path = f.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read");
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("sk-test-secret-key"), "{}", path.display());
            if path.extension().is_some_and(|e| e == "parquet") {
                assert!(!text.contains("blue-secret-value"), "{}", path.display());
            }
        }
    }
}

/// A TLS acceptor serving the fixture certificate `{stem}.crt` with its key `{stem}.key`.
fn tls_acceptor(stem: &str) -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_file(format!("{stem}.crt")).expect("crt")];
    let key = PrivateKeyDer::from_pem_file(format!("{stem}.key")).expect("key");
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_spoken_and_an_untrusted_certificate_is_a_clear_error() {
    let acceptor = tls_acceptor("tests/fixtures/self-signed");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "https://localhost:{}",
        listener.local_addr().expect("addr").port()
    );
    let handshakes = Arc::new(Mutex::new(Vec::new()));
    let seen = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                // The client refuses the certificate mid-handshake: the server sees the alert.
                let outcome = acceptor
                    .accept(s)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                if let Ok(mut h) = seen.lock() {
                    h.push(outcome);
                }
            });
        }
    });
    let text = HEADERS.replace("requests = 2", "requests = 1");
    let p = prepare(&text, "tls", url, Metrics::Off);
    let dir = p.dir.clone();
    engine::run(p.schedule, p.options).await.expect("run");
    let rows = requests(&dir);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let error = rows[0].error.clone().unwrap_or_default();
    assert_eq!(rows[0].status, "error", "{rows:?}");
    assert!(
        error.to_lowercase().contains("certificate"),
        "the error names the certificate problem: {error}"
    );
    // A TLS handshake took place (the server read a ClientHello and got the client's alert).
    let h = handshakes.lock().expect("handshakes").clone();
    assert!(!h.is_empty(), "no TLS connection was attempted");
    assert!(h.iter().all(std::result::Result::is_err), "{h:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_env_flag_names_the_variable_the_key_is_read_from() {
    let (url, heads) = capturing_server().await;
    let dir = temp_dir("api-key-env");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("k.llmw");
    std::fs::write(&file, HEADERS.replace("requests = 2", "requests = 1")).expect("write");
    let out = dir.join("run");
    let (file, out2) = (file.clone(), out.clone());
    let o = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_llmw"))
            .args(["run", s(&file), "--target", &url, "--no-metrics", "-q"])
            .args(["--out", s(&out2), "--api-key-env", "LLMW_TEST_KEY"])
            .env("LLMW_TEST_KEY", "sk-from-the-named-variable")
            .env("OPENAI_API_KEY", "sk-the-default-variable")
            .output()
            .expect("runs")
    })
    .await
    .expect("joined");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let heads = heads.lock().expect("heads").clone();
    let posts: Vec<&String> = heads.iter().filter(|h| h.starts_with("POST")).collect();
    assert!(!posts.is_empty(), "{heads:?}");
    for h in posts {
        let lower = h.to_lowercase();
        assert!(
            lower.contains("authorization: bearer sk-from-the-named-variable"),
            "{h}"
        );
    }
    let meta = std::fs::read_to_string(out.join("run.json")).expect("run.json");
    assert!(!meta.contains("sk-from-the-named-variable"));
}

/// A TLS front for the simulator (as a server's ingress would be): terminates TLS with the
/// fixture certificate the test CA signed, and relays each connection to `backend` in plain TCP.
async fn tls_front(backend: std::net::SocketAddr) -> String {
    let acceptor = tls_acceptor("tests/fixtures/test-server");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    format!("https://localhost:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_behind_an_internal_ca_streams_over_tls_with_ca_cert() {
    let config = llmw::sim::SimConfig {
        model: "sim".into(),
        profile: llmw::sim::Profile {
            step_base_us: 2_000.0,
            ..llmw::sim::Profile::named(llmw::sim::ProfileName::Fast)
        },
        ..llmw::sim::SimConfig::default()
    };
    let sim = llmw::sim::start(([127, 0, 0, 1], 0).into(), config)
        .await
        .expect("simulator");
    let backend: std::net::SocketAddr = sim
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let url = tls_front(backend).await;
    let text = r#"workload "tls" {
  target { api = chat  ignore_eos = true  timeout = 20s }
  requests { input = 20  output = 30 }
  phase "p" { requests = 12  concurrency = 3 }
}"#;
    let mut p = prepare(text, "tls-ca", url, Metrics::Default);
    p.options.ca_cert = Some("tests/fixtures/test-ca.crt".into());
    let dir = p.dir.clone();
    let result = engine::run(p.schedule, p.options).await.expect("run");
    assert_eq!(result.ending, Ending::Completed);
    let rows = requests(&dir);
    assert_eq!(rows.len(), 12);
    for r in &rows {
        assert_eq!(r.status, "ok", "{r:?}");
        assert_eq!(r.output_tokens, Some(30), "{r:?}");
    }
    // Every request reached the simulator through the TLS front, and connections were kept
    // (12 requests on 3 users: at least 9 on a connection that served one before).
    assert_eq!(
        sim.requests(),
        12 + 2,
        "two chat-template probes, then the plan"
    );
    assert!(
        rows.iter().filter(|r| r.conn_reused == Some(true)).count() >= 9,
        "{rows:?}"
    );
    // The metrics scrape went through the same front and trust.
    let meta = run_json(&dir);
    let scraped = &meta["server_metrics"];
    assert!(scraped["samples"].as_u64() > Some(0), "{scraped}");
    assert_eq!(scraped["failed_scrapes"], 0, "{scraped}");
}

#[test]
fn a_ca_cert_that_is_not_a_certificate_is_a_clear_error() {
    let dir = temp_dir("bad-ca");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("w.llmw");
    std::fs::write(&file, HEADERS.replace("requests = 2", "requests = 1")).expect("write");
    let not_pem = dir.join("ca.pem");
    std::fs::write(&not_pem, "not a certificate\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(["run", file.to_str().expect("utf-8"), "--quiet", "--ca-cert"])
        .arg(&not_pem)
        .args(["--target", "https://localhost:1", "--out"])
        .arg(dir.join("run"))
        .output()
        .expect("llmw");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--ca-cert") && err.contains("no PEM certificate"),
        "{err}"
    );
}
