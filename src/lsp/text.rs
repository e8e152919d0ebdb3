//! Positions in a document as the protocol counts them (0-based lines, UTF-16 code units in a
//! line) and byte offsets as llmw's spans do; file URIs and paths; and the word around a place.

use std::path::{Path, PathBuf};

/// The protocol's `{line, character}` of byte `offset` of `text`.
pub fn position(text: &str, offset: usize) -> (u32, u32) {
    let offset = floor(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = before[start..].chars().map(char::len_utf16).sum();
    (line as u32, character as u32)
}

/// The byte offset of the protocol's `{line, character}` in `text` (clamped to the line's end,
/// and to the text's end).
pub fn offset(text: &str, line: u32, character: u32) -> usize {
    let mut start = 0;
    for _ in 0..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut units = 0;
    for (i, c) in text[start..end].char_indices() {
        if units >= character as usize {
            return start + i;
        }
        units += c.len_utf16();
    }
    end
}

fn floor(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The path of a `file://` URI (percent-escapes decoded); `None` for any other scheme.
pub fn path_of(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // `file:///abs` (no host) or `file://localhost/abs`.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                let h = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(PathBuf::from)
}

/// The `file://` URI of an absolute `path`, with what a URI path cannot hold percent-escaped.
pub fn uri_of(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The word around byte `at` of `text` (name characters, and a number's unit: `30s`, `8/s`,
/// `ttft.p99`), with its start; `None` between words.
pub fn word_at(text: &str, at: usize) -> Option<(usize, &str)> {
    let part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '%');
    let at = floor(text, at.min(text.len()));
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| part(*c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| !part(*c))
        .map_or(text.len(), |(i, _)| at + i);
    // A range's ends are words of their own (`30s..60s`): the one the cursor is in.
    let mut start = start;
    let mut word = &text[start..end];
    while let Some(i) = word.find("..") {
        if start + i >= at {
            word = &word[..i];
        } else {
            start += i + 2;
            word = &word[i + 2..];
        }
    }
    let trimmed = word.trim_start_matches('.');
    let start = start + (word.len() - trimmed.len());
    let word = trimmed.trim_end_matches('.');
    (!word.is_empty()).then_some((start, word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_and_round_trip() {
        let text = "a = 1\n  é😀 = 2\n";
        let at = text
            .find('=')
            .map(|_| text.rfind('=').unwrap_or(0))
            .unwrap_or(0);
        // `é` is one UTF-16 unit, `😀` two: the second `=` is at character 6 of line 1.
        assert_eq!(position(text, at), (1, 6));
        assert_eq!(offset(text, 1, 6), at);
        assert_eq!(offset(text, 9, 0), text.len());
        assert_eq!(offset(text, 0, 99), 5, "clamped to the line's end");
    }

    #[test]
    fn file_uris_and_paths() {
        let p = Path::new("/tmp/a b/ü.llmw");
        let uri = uri_of(p);
        assert_eq!(uri, "file:///tmp/a%20b/%C3%BC.llmw");
        assert_eq!(path_of(&uri).as_deref(), Some(p));
        assert_eq!(path_of("untitled:Untitled-1"), None);
    }

    #[test]
    fn words_with_units() {
        let t = "  duration = 30s  rate = 8/s";
        assert_eq!(word_at(t, 4), Some((2, "duration")));
        assert_eq!(
            word_at(t, t.find("30s").unwrap_or(0) + 1).map(|w| w.1),
            Some("30s")
        );
        assert_eq!(word_at(t, t.len()).map(|w| w.1), Some("8/s"));
        assert_eq!(word_at(t, 0), None);
        let r = "window = 30s..60s";
        assert_eq!(word_at(r, 10), Some((9, "30s")));
        assert_eq!(word_at(r, 15), Some((14, "60s")));
    }
}
