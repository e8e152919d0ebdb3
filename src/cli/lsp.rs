//! `llmw lsp`: the language server on standard input and output, for editors
//! ([docs/authoring.md](../../docs/authoring.md)).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_: Args) -> ExitCode {
    match llmw::lsp::serve_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: llmw lsp: {e}");
            ExitCode::from(super::EXIT_FAILED)
        }
    }
}
