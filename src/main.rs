//! The `llmw` command line: parses arguments and hands each subcommand to `cli`.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let args = cli::Cli::parse();
    cli::run(args)
}

/// `llmw analyze … | head`: when the reader of stdout goes away, `println!` panics with "failed
/// printing to stdout: Broken pipe". That is the normal end of such a pipeline, not a failure:
/// end quietly with status 0, as a Unix tool does.
fn quiet_on_closed_stdout() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        previous(info);
    }));
}
