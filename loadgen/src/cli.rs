//! Command-line options. Names and defaults follow the Node probe (`probe.mjs`) of the
//! benchmark kit, so that the same arguments drive either tool against the same servers.

use clap::Parser;
use std::time::Duration;

/// Simulated chat users sending private messages between random pairs at a fixed aggregate
/// rate; prints one JSON line with delivery, latency and server cost figures.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-loadgen", version, about)]
pub struct Args {
    /// Server base URLs (http:// or ws://), comma separated; users are spread round-robin.
    #[arg(
        long,
        env = "LOADGEN_URLS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:3000"
    )]
    pub urls: Vec<String>,

    /// Number of simulated users (one WebSocket each).
    #[arg(long, default_value_t = 100)]
    pub users: usize,

    /// Aggregate offered rate of private messages per second, over all users.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,

    /// Length of the measured sending phase, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,

    /// Sending at the same rate before the measured phase; these messages are not counted.
    #[arg(long, default_value_t = 0.0)]
    pub warmup_seconds: f64,

    /// Waiting after the last send for deliveries and acks still in flight (the probe waits 2 s).
    #[arg(long, default_value_t = 2.0)]
    pub drain_seconds: f64,

    /// Connection attempts in flight at once while connecting all users.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,

    /// Giving up on one user's connection (WebSocket + CONNECT + `session` + `users`) after this.
    #[arg(long, default_value_t = 60.0)]
    pub connect_timeout_seconds: f64,

    /// Server process ids (comma separated; add Redis for cluster runs) whose CPU time and RSS
    /// are read from /proc before and after, as the probe does.
    #[arg(long, value_delimiter = ',')]
    pub pids: Vec<u32>,

    /// Send messages without asking for an acknowledgement (the reference server never acks).
    #[arg(long)]
    pub no_ack: bool,

    /// Usernames are this prefix followed by the user's index (the probe uses `u0`, `u1`, …).
    #[arg(long, default_value = "u")]
    pub username_prefix: String,

    /// Seed of the random pair choice, so that runs send the same sequence of pairs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Local addresses to connect from, comma separated (e.g. 127.0.0.2,127.0.0.3); users are
    /// spread round-robin. One address has about 28 000 ephemeral ports per server, so runs
    /// with more users need several. Default: the kernel chooses.
    #[arg(long, value_delimiter = ',')]
    pub source_addrs: Vec<std::net::IpAddr>,

    /// Worker threads of the load generator's runtime (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Why the options cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArgsError {
    #[error("--users must be at least 2 (messages go between two different users)")]
    TooFewUsers,
    #[error("--{0} must be a finite number >= 0")]
    NotANonNegativeNumber(&'static str),
    #[error("--connect-concurrency must be at least 1")]
    NoConcurrency,
    #[error("unsupported URL {0:?}: use http://host:port or ws://host:port")]
    Url(String),
}

impl Args {
    /// Checks the numbers and turns every base URL into its Engine.IO WebSocket endpoint.
    pub fn validate(&self) -> Result<Vec<String>, ArgsError> {
        if self.users < 2 {
            return Err(ArgsError::TooFewUsers);
        }
        for (name, value) in [
            ("rate", self.rate),
            ("seconds", self.seconds),
            ("warmup-seconds", self.warmup_seconds),
            ("drain-seconds", self.drain_seconds),
            ("connect-timeout-seconds", self.connect_timeout_seconds),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(ArgsError::NotANonNegativeNumber(name));
            }
        }
        if self.connect_concurrency == 0 {
            return Err(ArgsError::NoConcurrency);
        }
        self.urls
            .iter()
            .map(|url| websocket_endpoint(url))
            .collect()
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.connect_timeout_seconds)
    }
}

/// `http://host:port[/]` → `ws://host:port/socket.io/?EIO=4&transport=websocket`: the client
/// opens the WebSocket transport directly, as `socket.io-client` does with
/// `transports: ["websocket"]` (the probe's setting).
pub fn websocket_endpoint(base: &str) -> Result<String, ArgsError> {
    let trimmed = base.trim().trim_end_matches('/');
    let authority = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("ws://"))
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        .ok_or_else(|| ArgsError::Url(base.to_owned()))?;
    Ok(format!(
        "ws://{authority}/socket.io/?EIO=4&transport=websocket"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_ws_bases_become_the_engine_io_websocket_endpoint() {
        let expected = "ws://127.0.0.1:4000/socket.io/?EIO=4&transport=websocket";
        assert_eq!(
            websocket_endpoint("http://127.0.0.1:4000").as_deref(),
            Ok(expected)
        );
        assert_eq!(
            websocket_endpoint("ws://127.0.0.1:4000/").as_deref(),
            Ok(expected)
        );
    }

    #[test]
    fn tls_and_paths_are_refused() {
        assert!(websocket_endpoint("https://example.org").is_err());
        assert!(websocket_endpoint("http://host:1/chat").is_err());
        assert!(websocket_endpoint("http://").is_err());
    }

    #[test]
    fn probe_style_arguments_parse() {
        let args = Args::parse_from([
            "chat-loadgen",
            "--urls",
            "http://127.0.0.1:4000,http://127.0.0.1:4001",
            "--users",
            "200",
            "--rate",
            "2000",
            "--seconds",
            "10",
            "--pids",
            "12,34",
        ]);
        assert_eq!(args.validate().map(|urls| urls.len()), Ok(2));
        assert_eq!(args.pids, vec![12, 34]);
        assert!(!args.no_ack);
    }
}
