//! A request's failure: its kind (the `error_kind` column) and its words (the `error` column),
//! with every secret the run sends taken out before the words are shortened.

use crate::rundir::record::ErrorKind;

/// Error bodies and messages are cut to this many characters.
const MESSAGE_CHARS: usize = 200;

/// Why a request did not end `ok`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// The words as the `error` column records them: every secret in `secrets` (of at least
    /// four characters) replaced by `[redacted]` — a server that echoes a credential must not
    /// put it in the run's files — then on one line, cut to [`MESSAGE_CHARS`].
    pub fn recorded<'a>(&self, secrets: impl Iterator<Item = &'a str>) -> String {
        let mut message = self.message.clone();
        for s in secrets.filter(|s| s.len() >= 4) {
            if message.contains(s) {
                message = message.replace(s, "[redacted]");
            }
        }
        short(&message)
    }
}

/// On one line, at most [`MESSAGE_CHARS`] characters (an ellipsis says it was cut).
pub fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MESSAGE_CHARS {
        format!(
            "{}…",
            one_line.chars().take(MESSAGE_CHARS).collect::<String>()
        )
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_redacted_before_the_message_is_cut() {
        // The key straddles the cut: shortening first would leave its first half in the file.
        let key = "sk-0123456789abcdef0123456789";
        let f = Failure::new(
            ErrorKind::HttpStatus,
            format!("{}{key} tail", "x".repeat(190)),
        );
        let out = f.recorded([key].into_iter());
        assert!(!out.contains("sk-0123"), "{out}");
        assert!(out.contains("[redac"), "{out}");
        assert!(out.chars().count() <= MESSAGE_CHARS + 1);
        assert_eq!(short("a\n  b"), "a b");
    }
}
