//! `llmw sim`: the simulated OpenAI-compatible LLM server, standalone, until Ctrl-C.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use llmw::sim::{self, SimConfig};

use super::sim_args::{BehaviourArgs, FaultArgs, ProfileArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, short, default_value_t = 8000)]
    port: u16,
    /// The model name the server reports and accepts.
    #[arg(long, default_value = "llmw-sim")]
    model: String,
    /// Keep every streamed request's own TTFT and decode time, served at GET /llmw/timings
    /// (for measuring client overhead; memory grows with the number of requests).
    #[arg(long)]
    record_timings: bool,
    #[command(flatten)]
    profile: ProfileArgs,
    #[command(flatten, next_help_heading = "Fault injection")]
    faults: FaultArgs,
    #[command(flatten, next_help_heading = "Real servers' ways (docs/servers.md)")]
    behaviour: BehaviourArgs,
}

pub fn run(args: Args) -> ExitCode {
    let faults = match args.faults.faults() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_INVALID);
        }
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let config = SimConfig {
            model: args.model,
            profile: args.profile.profile(),
            faults,
            behaviour: args.behaviour.behaviour(),
            record_timings: args.record_timings,
        };
        let server = match sim::start(SocketAddr::new(args.host, args.port), config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot listen on {}:{}: {e}", args.host, args.port);
                return ExitCode::from(super::EXIT_INVALID);
            }
        };
        say!("llmw sim listening on {}", server.url());
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown();
        ExitCode::SUCCESS
    })
}
