//! `llmw fmt FILE...`: rewrites each workload file in the canonical layout (`llmw::layout`), in
//! place; `--check` changes nothing and names the files that would change (exit 1); `-` reads
//! standard input and writes the formatted text to standard output. A file that does not parse
//! is left as it is, with its diagnostics (exit 2).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use llmw::source::Sources;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workload files to format; `-` for standard input (written to standard output).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Change nothing: name each file whose layout is not the canonical one, and exit 1 if any.
    #[arg(long)]
    check: bool,
}

pub fn run(args: Args) -> ExitCode {
    let (mut invalid, mut differ) = (false, false);
    for file in &args.files {
        let stdin = file.as_os_str() == "-";
        let name = if stdin {
            "<stdin>".to_string()
        } else {
            file.display().to_string()
        };
        let mut text = String::new();
        let read = if stdin {
            std::io::stdin().read_to_string(&mut text).map(|_| ())
        } else {
            std::fs::read_to_string(file).map(|t| text = t)
        };
        if let Err(e) = read {
            eprintln!("error: cannot read {name}: {e}");
            invalid = true;
            continue;
        }
        let formatted = match llmw::layout::format(&text) {
            Ok(f) => f,
            Err(diags) => {
                let mut sources = Sources::new();
                sources.add(name.clone(), (!stdin).then(|| file.clone()), text);
                super::report(&sources, &diags);
                eprintln!("{name}: not formatted: it does not parse");
                invalid = true;
                continue;
            }
        };
        let changed = formatted != text;
        differ |= changed;
        match (args.check, stdin) {
            (true, _) => {
                if changed {
                    say!("{name}");
                }
            }
            (false, true) => {
                let mut out = std::io::stdout().lock();
                if let Err(e) = out
                    .write_all(formatted.as_bytes())
                    .and_then(|()| out.flush())
                {
                    eprintln!("error: cannot write to stdout: {e}");
                    return ExitCode::from(super::EXIT_FAILED);
                }
            }
            (false, false) if changed => {
                // Written beside the file, then renamed over it: never a half-written file.
                let tmp = file.with_extension("llmw.fmt-tmp");
                let written =
                    std::fs::write(&tmp, &formatted).and_then(|()| std::fs::rename(&tmp, file));
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&tmp);
                    eprintln!("error: cannot write {name}: {e}");
                    return ExitCode::from(super::EXIT_FAILED);
                }
            }
            (false, false) => {}
        }
    }
    if invalid {
        ExitCode::from(super::EXIT_INVALID)
    } else if args.check && differ {
        ExitCode::from(super::EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
