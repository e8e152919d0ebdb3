//! The tokens of a `.llmw` source as the formatter sees them: words (names, numbers with their
//! units, strings) kept byte for byte as written, punctuation, comments and line ends. It reads
//! only text the parser has accepted, so it needs no errors of its own: anything it does not
//! know is one character of punctuation, kept as it is.

/// One token; `text` is exactly its bytes in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A name, a number (with its unit: `30s`, `8/s`, `1_000`), a dotted name (`ttft.p99`), a
    /// string with its quotes.
    Word(&'a str),
    /// `{ } ( ) [ ] , : = < > <= >= ..` and anything else of one character.
    Punct(&'a str),
    /// `# ...` to the end of its line, trailing spaces left out.
    Comment(&'a str),
    Newline,
}

/// The tokens of `text`, in order.
pub fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b'\n' => {
                out.push(Token::Newline);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                out.push(Token::Comment(text[start..i].trim_end()));
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.push(Token::Word(&text[start..i]));
            }
            b'.' if bytes.get(i + 1) == Some(&b'.') => {
                out.push(Token::Punct(".."));
                i += 2;
            }
            b'<' | b'>' if bytes.get(i + 1) == Some(&b'=') => {
                out.push(Token::Punct(&text[i..i + 2]));
                i += 2;
            }
            // A number's `/s` unit, and `-` of a negative number, are the word's.
            _ if word_start(bytes, i) => {
                i = word_end(bytes, i);
                out.push(Token::Word(&text[start..i]));
            }
            _ => {
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push(Token::Punct(&text[i..i + len]));
                i += len;
            }
        }
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn word_start(bytes: &[u8], i: usize) -> bool {
    is_word(bytes[i]) || (bytes[i] == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
}

/// The end of the word starting at `i`: name and digit characters, a decimal point or a dot
/// between names (not `..`), an exponent's sign, a `/s` or `%` unit after a number.
fn word_end(bytes: &[u8], mut i: usize) -> usize {
    let number = bytes[i].is_ascii_digit() || bytes[i] == b'-';
    i += 1;
    loop {
        match bytes.get(i) {
            Some(&c) if is_word(c) => i += 1,
            Some(b'.') if bytes.get(i + 1).is_some_and(|&n| is_word(n)) => i += 1,
            Some(b'+' | b'-') if number && matches!(bytes[i - 1], b'e' | b'E') => i += 1,
            Some(b'/') if number && bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => {
                i += 1;
            }
            Some(b'%') if number => i += 1,
            _ => return i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_units_and_ranges_split() {
        let t = tokens("rate = 8/s  x = 1..4096 clamp 1e-3..2s # hi \n ttft.p99 <= 2s, -3");
        let words: Vec<&str> = t
            .iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(*w),
                _ => None,
            })
            .collect();
        assert_eq!(
            words,
            ["rate", "8/s", "x", "1", "4096", "clamp", "1e-3", "2s", "ttft.p99", "2s", "-3"]
        );
        assert!(t.contains(&Token::Comment("# hi")));
        assert!(t.contains(&Token::Punct("<=")));
        assert!(t.contains(&Token::Punct("..")));
    }

    #[test]
    fn strings_are_whole_with_their_escapes() {
        let t = tokens(r#"a = "x \" # not a comment" # a comment"#);
        assert_eq!(t[2], Token::Word(r#""x \" # not a comment""#));
        assert_eq!(t[3], Token::Comment("# a comment"));
    }
}
