//! `llmw lsp`: a Language Server Protocol server on standard input and output, over the
//! `lsp-server` crate (rust-analyzer's transport: framing, the initialize and shutdown
//! handshakes). Full-text sync; on open and on every change the document is checked as
//! `llmw check` checks a file (its includes and data files read from beside it) and the
//! diagnostics are published, per file; hover, completion, go-to-definition and formatting
//! answer from [`features`]. A request it does not serve gets the protocol's "method not found".

mod features;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use serde_json::{json, Value};

/// Serves the protocol on standard input and output until the client's `exit`.
pub fn serve_stdio() -> Result<(), String> {
    let (conn, io) = Connection::stdio();
    serve(&conn)?;
    drop(conn);
    io.join().map_err(|e| e.to_string())
}

/// One open document: its path (for resolving what it names) and its text.
struct Doc {
    path: PathBuf,
    text: String,
    /// The other files diagnostics were last published for, to clear when fixed.
    others: BTreeSet<PathBuf>,
}

/// Serves one connection: the handshake, then every message until `shutdown` and `exit`.
pub fn serve(conn: &Connection) -> Result<(), String> {
    let capabilities = json!({
        "textDocumentSync": {"openClose": true, "change": 1},
        "hoverProvider": true,
        "completionProvider": {"triggerCharacters": ["=", " "]},
        "definitionProvider": true,
        "documentFormattingProvider": true,
    });
    let (id, _) = conn.initialize_start().map_err(|e| e.to_string())?;
    let info = json!({"capabilities": capabilities,
        "serverInfo": {"name": "llmw", "version": env!("CARGO_PKG_VERSION")}});
    conn.initialize_finish(id, info)
        .map_err(|e| e.to_string())?;
    let mut docs: BTreeMap<String, Doc> = BTreeMap::new();
    for msg in &conn.receiver {
        match msg {
            Message::Request(req) => {
                if conn.handle_shutdown(&req).map_err(|e| e.to_string())? {
                    return Ok(());
                }
                let resp = answer(&docs, req);
                conn.sender.send(resp.into()).map_err(|e| e.to_string())?;
            }
            Message::Notification(n) => {
                if let Some(uri) = changed(&mut docs, &n) {
                    publish(conn, &mut docs, &uri)?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// Applies a document notification; the URI whose diagnostics are now due.
fn changed(docs: &mut BTreeMap<String, Doc>, n: &Notification) -> Option<String> {
    let uri = n.params.pointer("/textDocument/uri")?.as_str()?.to_string();
    let text = match n.method.as_str() {
        "textDocument/didOpen" => n.params.pointer("/textDocument/text")?.as_str()?,
        // Full sync: the last change holds the whole text.
        "textDocument/didChange" => n
            .params
            .get("contentChanges")?
            .as_array()?
            .last()?
            .get("text")?
            .as_str()?,
        "textDocument/didClose" => {
            docs.remove(&uri);
            return None;
        }
        _ => return None,
    };
    let path = text::path_of(&uri).unwrap_or_else(|| {
        // An unsaved buffer: its relative paths resolve against the server's directory.
        std::env::current_dir()
            .unwrap_or_default()
            .join("untitled.llmw")
    });
    let others = docs.remove(&uri).map(|d| d.others).unwrap_or_default();
    docs.insert(
        uri.clone(),
        Doc {
            path,
            text: text.to_string(),
            others,
        },
    );
    Some(uri)
}

/// Publishes `uri`'s diagnostics, and its included files' (clearing those that no longer
/// have any).
fn publish(conn: &Connection, docs: &mut BTreeMap<String, Doc>, uri: &str) -> Result<(), String> {
    let Some(doc) = docs.get_mut(uri) else {
        return Ok(());
    };
    let mut by_file = features::diagnostics(&doc.path, &doc.text);
    let own = by_file.remove(&doc.path).unwrap_or_default();
    let mut sends = vec![(uri.to_string(), own)];
    for gone in doc.others.iter().filter(|p| !by_file.contains_key(*p)) {
        sends.push((text::uri_of(gone), Vec::new()));
    }
    doc.others = by_file.keys().cloned().collect();
    sends.extend(by_file.into_iter().map(|(p, d)| (text::uri_of(&p), d)));
    for (uri, diagnostics) in sends {
        let n = Notification::new(
            "textDocument/publishDiagnostics".into(),
            json!({"uri": uri, "diagnostics": diagnostics}),
        );
        conn.sender.send(n.into()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The response to one request.
fn answer(docs: &BTreeMap<String, Doc>, req: Request) -> Response {
    let doc = req
        .params
        .pointer("/textDocument/uri")
        .and_then(Value::as_str)
        .and_then(|u| docs.get(u));
    let Some(doc) = doc else {
        return match req.method.as_str() {
            "textDocument/hover" | "textDocument/definition" | "textDocument/formatting" => {
                Response::new_ok(req.id, Value::Null)
            }
            "textDocument/completion" => Response::new_ok(req.id, json!([])),
            _ => not_found(req),
        };
    };
    let at = features::at(&doc.text, &req.params);
    let result = match req.method.as_str() {
        "textDocument/hover" => features::hover(&doc.text, at).unwrap_or(Value::Null),
        "textDocument/completion" => features::completion(&doc.text, at),
        "textDocument/definition" => {
            features::definition(&doc.path, &doc.text, at).map_or(Value::Null, features::location)
        }
        "textDocument/formatting" => features::formatting(&doc.text).unwrap_or(Value::Null),
        _ => return not_found(req),
    };
    Response::new_ok(req.id, result)
}

fn not_found(req: Request) -> Response {
    Response::new_err(
        req.id,
        ErrorCode::MethodNotFound as i32,
        format!("llmw lsp does not serve {}", req.method),
    )
}
