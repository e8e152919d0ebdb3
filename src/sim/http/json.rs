//! JSON written by hand, for the SSE events an API writes per chunk (one string per event and
//! no `Value` tree, so that the simulator, not its JSON, is what a client benchmark measures).
//! A leaf.

use serde_json::Value;

/// Appends `s` as a JSON string.
pub(super) fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::from(s).to_string());
    }
}
