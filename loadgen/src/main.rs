//! `chat-loadgen`: many simulated chat users on one or more nodes, sending private messages
//! between random pairs at a fixed aggregate rate; prints one JSON line (see [`summary`]).
//!
//! It speaks Engine.IO v4 / Socket.IO v5 over WebSocket itself, through the `chat-protocol`
//! codecs, so that it can drive far more traffic than the Node probe of the benchmark kit
//! (one JavaScript thread) while reporting the same figures.

mod cli;
mod client;
mod dial;
mod error;
mod packets;
mod proc_stats;
mod run;
mod schedule;
mod stats;
mod summary;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let endpoints = match args.validate() {
        Ok(endpoints) => endpoints,
        Err(error) => {
            eprintln!("chat-loadgen: {error}");
            return ExitCode::from(2);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chat-loadgen: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let summary = runtime.block_on(run::run(&args, &endpoints));
    match serde_json::to_string(&summary) {
        Ok(line) => println!("{line}"),
        Err(error) => {
            eprintln!("chat-loadgen: cannot write the summary: {error}");
            return ExitCode::FAILURE;
        }
    }
    // Users still closing their sockets are not waited for.
    runtime.shutdown_background();
    if summary.connected < 2 {
        // Nothing could be measured; the JSON line says why (errors).
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
