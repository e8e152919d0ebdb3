//! No secret in a file: credential headers and key-like values are refused in a workload (at
//! their span), `header_env` sends a header read from the environment, and a run directory
//! holds that value nowhere, not even where the server echoed it in an error, nor a `--set`
//! that filled a header.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

const PLANTED: &str = "planted-credential-7f3e9a";
const OPENAI: &str = "sk-planted-openai-key-0042";
const TENANT: &str = "tenant-from-a-set-1234";

/// A server on a thread: each request's head is kept; the first is answered 401 echoing the
/// request's x-api-key (as some gateways do), the rest 200 with a whole completion.
fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let seen = seen.clone();
            std::thread::spawn(move || loop {
                let mut reader = BufReader::new(&mut stream);
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let key = head
                    .lines()
                    .find_map(|l| l.strip_prefix("x-api-key: "))
                    .unwrap_or("")
                    .to_string();
                let first = {
                    let mut heads = seen.lock().expect("lock");
                    heads.push(head);
                    heads.len() == 1
                };
                let (status, body) = if first {
                    (
                        "401 Unauthorized",
                        format!("{{\"error\":\"invalid key {key}\"}}"),
                    )
                } else {
                    (
                        "200 OK",
                        r#"{"choices":[{"text":"hi","finish_reason":"length"}],"usage":{"completion_tokens":2}}"#.to_string(),
                    )
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            });
        }
    });
    (format!("http://{addr}"), heads)
}

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_header_from_the_environment_is_sent_and_written_nowhere() {
    let (url, heads) = recording_server();
    let dir = common::runs::temp_dir("secrets");
    let workload = dir.with_extension("llmw");
    std::fs::write(
        &workload,
        r#"workload "secrets" {
  param tenant = "bench"
  target {
    api = completions  model = "m"  stream = false
    headers    = { "x-tenant": tenant }
    header_env = { "x-api-key": "LLMW_TEST_PLANTED" }
  }
  requests { input = 5  output = 2 }
  phase "p" { requests = 4  concurrency = 1 }
  on_error { backoff = none }
}"#,
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args([
            "run",
            workload.to_str().expect("path"),
            "--quiet",
            "--no-metrics",
        ])
        .args(["--target", &url, "--out", dir.to_str().expect("path")])
        .args(["--set", &format!("tenant=\"{TENANT}\"")])
        .env("LLMW_TEST_PLANTED", PLANTED)
        .env("OPENAI_API_KEY", OPENAI)
        .output()
        .expect("llmw runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{stderr}"
    );
    // The server got the header from the environment, the key and the --set value.
    let heads = heads.lock().expect("lock").clone();
    assert_eq!(heads.len(), 4, "{heads:?}");
    for h in &heads {
        assert!(h.contains(&format!("x-api-key: {PLANTED}\r\n")), "{h}");
        assert!(
            h.contains(&format!("authorization: Bearer {OPENAI}\r\n")),
            "{h}"
        );
        assert!(h.contains(&format!("x-tenant: {TENANT}\r\n")), "{h}");
    }
    // Nothing in the run directory holds them: not run.json, not a Parquet file (the server
    // echoed the key in its first answer, which is the error column's text).
    let all = files(&dir);
    assert!(
        all.iter().any(|p| p.ends_with("requests.parquet")),
        "{all:?}"
    );
    for path in &all {
        let bytes = std::fs::read(path).expect("read");
        for secret in [PLANTED, OPENAI, TENANT] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds {secret}",
                path.display()
            );
        }
    }
    // Parquet may compress: the decoded error column says what was taken out.
    let rows = common::runs::requests(&dir);
    let error = rows
        .iter()
        .find_map(|r| r.error.clone())
        .expect("the 401's row");
    assert!(error.contains("[redacted]"), "{error}");
    for r in &rows {
        for secret in [PLANTED, OPENAI, TENANT] {
            assert!(!format!("{r:?}").contains(secret), "{r:?}");
        }
    }
    let meta = common::runs::run_json(&dir);
    assert_eq!(
        meta["target"]["header_names"],
        serde_json::json!(["x-tenant", "x-api-key"])
    );
    let _ = std::fs::remove_file(&workload);
}

#[test]
fn a_missing_header_variable_is_named_before_anything_is_sent() {
    let dir = common::runs::temp_dir("secrets-missing");
    let workload = dir.with_extension("llmw");
    std::fs::write(
        &workload,
        r#"workload "w" {
  target { header_env = { "x-api-key": "LLMW_TEST_NOT_SET_ANYWHERE" } }
  requests { input = 5  output = 2 }
  phase "p" { requests = 1  concurrency = 1 }
}"#,
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(["run", workload.to_str().expect("path"), "--quiet"])
        .args(["--out", dir.to_str().expect("path")])
        .env_remove("LLMW_TEST_NOT_SET_ANYWHERE")
        .output()
        .expect("llmw runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LLMW_TEST_NOT_SET_ANYWHERE (for the x-api-key header)"),
        "{stderr}"
    );
    assert!(
        !dir.exists(),
        "no run directory for a run that never started"
    );
    let _ = std::fs::remove_file(&workload);
}

fn headers_error(headers: &str) -> String {
    common::errors(&format!(
        "workload \"w\" {{\n  target {{ {headers} }}\n  requests {{ input = 5  output = 2 }}\n  phase \"p\" {{ requests = 1  concurrency = 1 }}\n}}"
    ))
}

#[test]
fn credentials_and_framing_headers_are_refused_at_their_span() {
    for name in [
        "x-api-key",
        "api-key",
        "Cookie",
        "Proxy-Authorization",
        "Authorization",
    ] {
        let e = headers_error(&format!("headers = {{ \"{name}\": \"v\" }}"));
        assert!(
            e.contains(&format!("the {name} header carries a credential")),
            "{e}"
        );
        assert!(e.contains("header_env"), "{e}");
        assert!(e.contains("test.llmw:2:24"), "at the name's span: {e}");
    }
    for value in [
        "sk-proj-abcdefghijklmnop",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "0123456789abcdef0123456789abcdef",
    ] {
        let e = headers_error(&format!("headers = {{ \"x-custom\": \"{value}\" }}"));
        assert!(e.contains("looks like"), "{e}");
        assert!(e.contains("header_env = { \"x-custom\""), "{e}");
    }
    for name in [
        "Host",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "TE",
        "Upgrade",
        "Expect",
        "Content-Type",
    ] {
        let e = headers_error(&format!("headers = {{ \"{name}\": \"3\" }}"));
        assert!(
            e.contains(&format!("llmw sets the {name} header itself")),
            "{e}"
        );
    }
    let e = headers_error(r#"headers = { "bad name": "x" }"#);
    assert!(e.contains("'bad name' is not an HTTP header name"), "{e}");
    let e = headers_error(r#"headers = { "x-a": "line\nbreak" }"#);
    assert!(e.contains("line break or control character"), "{e}");
    let e = headers_error(r#"header_env = { "x-api-key": "not a name" }"#);
    assert!(e.contains("is not one"), "{e}");
    let e = headers_error(r#"header_env = { "Content-Length": "LEN" }"#);
    assert!(
        e.contains("llmw sets the Content-Length header itself"),
        "{e}"
    );
    // A plain header, and a credential header from the environment, are fine.
    let s = common::plan(
        "workload \"w\" { target { headers = { \"x-tenant\": \"bench\" }  header_env = { \"x-api-key\": \"KEY\" } } requests { input = 5  output = 2 } phase \"p\" { requests = 1  concurrency = 1 } }",
    );
    assert_eq!(
        s.target.headers,
        vec![("x-tenant".to_string(), "bench".to_string())]
    );
    assert_eq!(
        s.target.header_env,
        vec![("x-api-key".to_string(), "KEY".to_string())]
    );
}
