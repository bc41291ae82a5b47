//! `chat-server`: one node of the private-messaging chat (or a protocol conformance server).

mod allocator;
mod apps;
mod config;
mod http;
mod server;

use clap::Parser;

use std::process::ExitCode;

fn main() -> ExitCode {
    allocator::tune();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let settings = match config::Settings::resolve(config::Cli::parse()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("chat-server: {e}");
            return ExitCode::from(2);
        }
    };
    match actix_web::rt::System::new().block_on(server::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-server: {e}");
            ExitCode::FAILURE
        }
    }
}
