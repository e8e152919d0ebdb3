//! The inputs llmw takes from outside, as functions of bytes, for the cargo-fuzz targets in
//! `fuzz/` and for `tests/fuzz_corpora.rs`, which replays the committed corpora under plain
//! `cargo test`. Each must return (an error is fine); a panic or an abort is a bug.

use std::path::PathBuf;

/// A `.llmw` file: parse, check, resolve, render the diagnostics, and compile what resolves.
pub fn language(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (sources, result) = crate::load_text("fuzz.llmw", &text, &crate::Overrides::default());
    match result {
        Ok(r) => {
            // Plans up to the compiler's own limits; an hour-long phase bounds the time a run takes.
            if r.workload()
                .phases
                .iter()
                .all(|p| p.duration_ns.unwrap_or(0) <= 3_600_000_000_000)
            {
                let _ = crate::compile(&r);
            }
        }
        Err(d) => {
            let _ = crate::diag::render(&sources, &d, crate::diag::Style::Plain);
        }
    }
}

/// A streamed response: the first byte chooses the API (its low two bits) and how the rest is
/// split into network reads.
pub fn sse(data: &[u8]) {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let all = crate::schedule::Api::ALL;
    let api = all[step as usize % all.len()];
    let step = (step as usize / 4 % 64) + 1;
    let reads: Vec<&[u8]> = rest.chunks(step).collect();
    let _ = crate::engine::replay_stream(api, &reads, 16);
}

/// A scratch file of this process, for readers that take a path.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("llmw-fuzz-{}-{name}", std::process::id()))
}

/// A trace file: the first byte picks the format (Azure, BurstGPT, Mooncake, CSV, JSONL, an
/// llmw requests Parquet file), whether generic formats map `session` and `turn` columns
/// (0x40), and whether bad rows are skipped (0x80); the rest is the file. Then stats, a
/// transformation (copies of rows and conversations), and a one-phase workload replaying it,
/// planned: its conversations grouped, their turns ordered and their prompts' history fitted.
pub fn trace(data: &[u8]) {
    use crate::trace::{Format, ReadOptions};
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (format, ext) = match pick % 6 {
        0 => (Format::Azure, "csv"),
        1 => (Format::Burstgpt, "csv"),
        2 => (Format::Mooncake, "jsonl"),
        3 => (Format::Csv, "csv"),
        4 => (Format::Jsonl, "jsonl"),
        _ => (Format::Llmw, "parquet"),
    };
    let path = scratch(&format!("trace.{ext}"));
    if std::fs::write(&path, rest).is_err() {
        return;
    }
    let opts = ReadOptions {
        columns: if matches!(format, Format::Csv | Format::Jsonl) {
            let mut c = vec![
                ("at".into(), "t".into()),
                ("input".into(), "in".into()),
                ("output".into(), "out".into()),
            ];
            if pick & 0x40 != 0 {
                c.push(("session".into(), "s".into()));
                c.push(("turn".into(), "k".into()));
            }
            c
        } else {
            Vec::new()
        },
        time_unit: None,
        skip_bad_rows: pick & 0x80 != 0,
    };
    if let Ok(t) = crate::trace::read(&path, format, &opts) {
        let _ = crate::trace::stats(&t);
        let _ = crate::trace::transform(
            &t,
            &crate::trace::Transform {
                speed: 2.0,
                limit: Some(1000),
                scale: Some(1.5),
                ..Default::default()
            },
        );
        let columns = if pick & 0x40 != 0 {
            r#", columns: { at: "t", input: "in", output: "out", session: "s", turn: "k" }"#
        } else {
            r#", columns: { at: "t", input: "in", output: "out" }"#
        };
        let columns = if matches!(format, Format::Csv | Format::Jsonl) {
            columns
        } else {
            ""
        };
        let failed = if format == Format::Burstgpt {
            ", failed: skip"
        } else {
            ""
        };
        let text = format!(
            "workload \"f\" {{ phase \"r\" {{ arrival = trace({:?}, format: {}, limit: 1000, skip_bad_rows: {}{failed}{columns}) }} }}",
            path.display().to_string(),
            format.name(),
            pick & 0x80 != 0,
        );
        if let (_, Ok(resolved)) = crate::load_text("fuzz.llmw", &text, &Default::default()) {
            if let Ok(plan) = crate::compile(&resolved) {
                for unit in crate::schedule::units(&plan.requests).take(50) {
                    let _ = crate::prompt::conversation(&plan, unit, unit.len() - 1, None);
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// A run directory whose `run.json` is the input, beside small valid tables: the typed reader
/// and the analysis must read it or say why. The tables are written once per process; each input
/// only replaces `run.json`.
pub fn run_json(data: &[u8]) {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = scratch("run");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        crate::engine::writer::TraceWriter::create(&dir, vec!["p".into()], vec!["default".into()])
            .and_then(|w| w.finish(true))
            .ok()?;
        Some(dir)
    });
    let Some(dir) = dir else { return };
    if std::fs::write(dir.join("run.json"), data).is_ok() {
        if let Ok(a) = crate::analysis::load(dir)
            .and_then(|run| crate::analysis::analyze(&run, &Default::default()))
        {
            let _ = crate::analysis::text::analysis(&a);
            let _ = crate::analysis::report::html(&[a]);
        }
    }
}

/// A response body's framing: the first byte chooses the framing (chunked, a length, until
/// close) and the sizes of the network reads; the body taken off in those pieces must give the
/// same data and the same end as a plain decoder that reads it whole.
pub fn framing(data: &[u8]) {
    use crate::engine::{Chunk, Framing};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let framing = match mode % 4 {
        0 | 1 => Framing::Chunked(Chunk::Size),
        2 => Framing::Length(u64::from(mode / 4)),
        _ => Framing::UntilClose,
    };
    let pieces: Vec<usize> = rest
        .iter()
        .take(8)
        .map(|b| usize::from(b % 17) + 1)
        .collect();
    let streamed = crate::engine::deframe_in_pieces(framing, rest, &pieces);
    let whole = reference_deframe(framing, rest);
    assert_eq!(
        (
            streamed.0.as_slice(),
            streamed.1.is_err(),
            streamed.1.as_ref().ok()
        ),
        (whole.0.as_slice(), whole.1.is_err(), whole.1.as_ref().ok()),
        "read in pieces of {pieces:?} vs whole: {streamed:?} vs {whole:?}"
    );
}

/// The framing taken off a whole input at once, written as plainly as RFC 9112 reads
/// (chunk-size lines as httparse takes them: 1–16 hex digits, spaces after, `;` and anything
/// after it; `\r\n` or a bare `\n` ends a line; `\r` nowhere else).
fn reference_deframe(framing: crate::engine::Framing, input: &[u8]) -> crate::engine::Deframed {
    use crate::engine::Framing;
    match framing {
        Framing::UntilClose => (input.to_vec(), Ok(None)),
        Framing::Length(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if input.len() >= n {
                (input[..n].to_vec(), Ok(Some(n)))
            } else {
                (input.to_vec(), Ok(None))
            }
        }
        Framing::Chunked(_) => {
            let mut data = Vec::new();
            let mut at = 0;
            let line = |at: usize| -> Option<(&[u8], usize)> {
                let nl = input[at..].iter().position(|b| *b == b'\n')?;
                let l = &input[at..at + nl];
                Some((l.strip_suffix(b"\r").unwrap_or(l), at + nl + 1))
            };
            loop {
                let Some((size_line, next)) = line(at) else {
                    return (data, Ok(None));
                };
                let Some(size) = reference_chunk_size(size_line) else {
                    return (data, Err("chunk size".into()));
                };
                at = next;
                if size == 0 {
                    break;
                }
                let left = input.len() - at;
                if (left as u64) < size {
                    data.extend_from_slice(&input[at..]);
                    return (data, Ok(None));
                }
                let size = size as usize;
                data.extend_from_slice(&input[at..at + size]);
                at += size;
                match line(at) {
                    None => return (data, Ok(None)),
                    Some((b"", next)) => at = next,
                    Some(_) => return (data, Err("data longer than its size".into())),
                }
            }
            // Trailer lines until a blank one.
            loop {
                match line(at) {
                    None => return (data, Ok(None)),
                    Some((l, next)) => {
                        at = next;
                        if l.is_empty() {
                            return (data, Ok(Some(at)));
                        }
                    }
                }
            }
        }
    }
}

fn reference_chunk_size(line: &[u8]) -> Option<u64> {
    let (size, ext) = match line.iter().position(|b| *b == b';') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if line.contains(&b'\r') || ext.is_some_and(|e| e.contains(&b'\n')) {
        return None;
    }
    let digits_end = size
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(size.len());
    let (hex, after) = size.split_at(digits_end);
    if hex.is_empty() || hex.len() > 16 || !after.iter().all(|b| *b == b' ' || *b == b'\t') {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}
