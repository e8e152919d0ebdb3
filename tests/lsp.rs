//! `llmw lsp` driven by a client that speaks the protocol to the binary over its standard input
//! and output (Content-Length framing): initialize → didOpen with an error → its diagnostics →
//! didChange fixing it → no diagnostics → hover → completion → definition → formatting →
//! shutdown → exit.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::{json, Value};

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_llmw"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("llmw lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let v: Value = serde_json::from_slice(&body).expect("JSON from the server");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            next_id: 1,
        }
    }

    fn send(&mut self, v: Value) {
        let body = v.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its result, passing over notifications on the way.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let v = self.recv();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn recv(&mut self) -> Value {
        // Generous: a debug build on a busy machine checks a file in milliseconds, not seconds.
        self.incoming
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers")
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let v = self.recv();
            if v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == uri {
                return v["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
        }
    }
}

const BROKEN: &str = "workload \"w\" {\n  param rate = 8/s\n  requests { input = 100  output = 20 }\n  class \"chat\" { input = 50 }\n  phase \"p\" {\n    duration = 10s\n    arival = poisson(rate: rate)\n    class \"chat\" { output = 10 }\n  }\n}\n";

#[test]
fn a_session_from_initialize_to_exit() {
    let dir = common::runs::temp_dir("lsp");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("w.llmw");
    std::fs::write(&path, BROKEN).expect("write");
    let uri = format!("file://{}", path.display());
    let mut c = Client::start();

    let init = c.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    assert_eq!(init["serverInfo"]["name"], "llmw");
    for cap in [
        "hoverProvider",
        "completionProvider",
        "definitionProvider",
        "documentFormattingProvider",
    ] {
        assert!(!init["capabilities"][cap].is_null(), "{cap}: {init}");
    }
    c.notify("initialized", json!({}));

    // Open with an error: the same message and place as `llmw check`.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "llmw", "version": 1, "text": BROKEN}}),
    );
    let d = c.diagnostics(&uri);
    let typo = d
        .iter()
        .find(|x| {
            x["message"]
                .as_str()
                .unwrap_or("")
                .contains("unknown field 'arival'")
        })
        .unwrap_or_else(|| panic!("{d:?}"));
    assert_eq!(typo["range"]["start"], json!({"line": 6, "character": 4}));
    assert_eq!(typo["range"]["end"], json!({"line": 6, "character": 10}));
    assert!(typo["message"]
        .as_str()
        .unwrap_or("")
        .contains("did you mean 'arrival'"));
    assert_eq!(typo["severity"], 1);

    // Fixed: the diagnostics clear.
    let fixed = BROKEN.replace("arival", "arrival");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());

    let pos = |line: u32, character: u32| json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
    // Hover on a field, a unit and a param.
    let mut hover = |line: u32, character: u32| {
        let h = c.request("textDocument/hover", pos(line, character));
        h["contents"]["value"].as_str().unwrap_or("").to_string()
    };
    let field = hover(5, 5);
    assert!(
        field.contains("**duration** (field)") && field.contains("default:"),
        "{field}"
    );
    assert!(hover(5, 16).contains("seconds"), "the unit of 10s");
    assert!(hover(6, 30).contains("param rate"), "the param");

    // Completion: the phase's fields inside a phase; after `arrival =`, the arrival processes.
    let items = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["label"].as_str().map(String::from))
            .collect()
    };
    let in_phase = items(&c.request("textDocument/completion", pos(5, 4)));
    for f in ["duration", "arrival", "concurrency", "think", "class"] {
        assert!(in_phase.contains(&f.to_string()), "{f}: {in_phase:?}");
    }
    assert!(
        !in_phase.contains(&"tool_result".to_string()),
        "a session field is not a phase's"
    );
    let after_eq = items(&c.request("textDocument/completion", pos(6, 14)));
    for f in ["poisson", "gamma", "trace", "rate"] {
        assert!(after_eq.contains(&f.to_string()), "{f}: {after_eq:?}");
    }

    // Definition: a param's use goes to its declaration; a phase's class override to the class.
    let def = c.request("textDocument/definition", pos(6, 30));
    assert_eq!(def["uri"], uri);
    assert_eq!(def["range"]["start"], json!({"line": 1, "character": 8}));
    let def = c.request("textDocument/definition", pos(7, 13));
    assert_eq!(def["range"]["start"], json!({"line": 3, "character": 8}));

    // Formatting: one edit whose text is what `llmw fmt` writes.
    let messy = fixed.replace("  duration = 10s", "duration=10s");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": messy}]}),
    );
    let _ = c.diagnostics(&uri);
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = edits.as_array().cloned().expect("edits");
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0]["newText"].as_str(),
        llmw::layout::format(&messy).ok().as_deref()
    );
    assert_eq!(
        edits[0]["range"]["start"],
        json!({"line": 0, "character": 0})
    );

    assert_eq!(c.request("shutdown", Value::Null), Value::Null);
    c.notify("exit", Value::Null);
    let status = c.child.wait().expect("exits");
    assert!(status.success(), "{status:?}");
}

#[test]
fn an_included_files_problem_is_published_for_that_file() {
    let dir = common::runs::temp_dir("lsp-include");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("shape.llmw"),
        "# not class \"chat\" here\nrequests { input = 100  outptu = 20 }\nclass \"chat\" { input = 20 }\n",
    )
    .expect("write");
    let main = "workload \"w\" {\n  include \"shape.llmw\"\n  phase \"p\" { duration = 5s  arrival = poisson(rate: 2/s)\n    class \"chat\" { output = 4 } }\n}\n";
    let path = dir.join("w.llmw");
    std::fs::write(&path, main).expect("write");
    let (uri, inc) = (
        format!("file://{}", path.display()),
        format!("file://{}", dir.join("shape.llmw").display()),
    );
    let mut c = Client::start();
    let _ = c.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "llmw", "version": 1, "text": main}}),
    );
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 2 {
        let v = c.recv();
        if v["method"] == "textDocument/publishDiagnostics" {
            seen.insert(
                v["params"]["uri"].as_str().unwrap_or("").to_string(),
                v["params"]["diagnostics"].clone(),
            );
        }
    }
    assert!(seen[&inc].to_string().contains("outptu"), "{seen:?}");
    // Go to the included file from its name.
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 14}}),
    );
    assert_eq!(def["uri"], inc);
    // A class the phase overrides, declared in the included file (not in its comment).
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 12}}),
    );
    assert_eq!(def["uri"], inc);
    assert_eq!(def["range"]["start"], json!({"line": 2, "character": 6}));
    let _ = c.request("shutdown", Value::Null);
    c.notify("exit", Value::Null);
    assert!(c.child.wait().expect("exits").success());
}
