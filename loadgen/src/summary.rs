//! The one JSON line a run prints. The first fields carry the probe's names and units
//! (`probe.mjs`), so that a line from either tool can be compared field by field; the
//! rest is what only the load generator measures (acks, its own CPU, errors by kind).

use crate::stats::{round_to, ErrorTally, LatencySummary};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Summary {
    pub tool: &'static str,
    // --- the probe's fields ---
    pub urls: usize,
    pub users: usize,
    pub rate: f64,
    pub seconds: f64,
    /// Time until every user had its `users` list ("connect all").
    pub connect_wall_ms: u64,
    pub connect_p50_ms: Option<f64>,
    pub connect_p99_ms: Option<f64>,
    pub sent: u64,
    pub delivered: u64,
    pub lost: i64,
    pub wrong_target: u64,
    pub delivered_per_s: u64,
    pub lat_p50_ms: Option<f64>,
    pub lat_p99_ms: Option<f64>,
    pub lat_p999_ms: Option<f64>,
    pub lat_max_ms: Option<f64>,
    /// CPU seconds of the `--pids` from the start of the measured phase to the end of the drain.
    pub server_cpu_s: f64,
    /// Those CPU seconds per delivered message, in microseconds.
    pub server_cpu_us_per_msg: Option<u64>,
    /// RSS growth of the `--pids` from before connecting to 0.5 s after everyone connected,
    /// per user, in KiB.
    pub server_rss_kib_per_conn: Option<f64>,
    /// The same growth measured at the end of the run (after sending and draining), per user:
    /// what an idle run settles at, once connect-time buffers are given back.
    pub server_rss_end_kib_per_conn: Option<f64>,
    pub server_rss_mib: Option<u64>,
    /// The serial work of the busiest server thread per delivered message, in microseconds:
    /// what one core must do per message, so 1e6 / it bounds the rate whatever the cores.
    pub server_busiest_thread_us_per_msg: Option<f64>,
    /// Each server thread that did anything (`<pid>/<tid> <name>`: µs per delivered message).
    pub server_threads_us_per_msg: Vec<(String, f64)>,
    // --- the load generator's own ---
    pub connected: usize,
    pub warmup_seconds: f64,
    /// Messages actually offered per second during the measured phase.
    pub sent_per_s: f64,
    pub acked: Option<u64>,
    pub ack_p50_ms: Option<f64>,
    pub ack_p99_ms: Option<f64>,
    /// CPU seconds the load generator itself used over the same window as `server_cpu_s`:
    /// on a shared machine it competes with the servers for the same cores.
    pub loadgen_cpu_s: f64,
    pub errors: ErrorTally,
}

/// The raw figures of a run, before rounding and derivation.
#[derive(Debug, Default)]
pub struct Measurements {
    pub urls: usize,
    pub users: usize,
    pub rate: f64,
    pub seconds: f64,
    pub warmup_seconds: f64,
    pub connect_wall_ms: u64,
    pub connect_us: Vec<u64>,
    pub sent: u64,
    pub send_wall_s: f64,
    pub delivered: u64,
    pub wrong_target: u64,
    pub latencies_us: Vec<u64>,
    /// `None` when the run did not ask for acks.
    pub acked: Option<u64>,
    pub ack_latencies_us: Vec<u64>,
    /// `None` when no pid was given.
    pub server: Option<ServerCost>,
    pub loadgen_cpu_s: f64,
    pub errors: ErrorTally,
}

/// What the server processes used.
#[derive(Debug, Clone)]
pub struct ServerCost {
    pub cpu_s: f64,
    pub rss_before_kib: u64,
    pub rss_connected_kib: u64,
    pub rss_end_kib: u64,
    /// CPU seconds per thread over the same window, busiest first.
    pub threads_cpu_s: Vec<(String, f64)>,
}

impl Summary {
    pub fn new(m: Measurements) -> Summary {
        let connect = LatencySummary::from_micros(&m.connect_us);
        let latency = LatencySummary::from_micros(&m.latencies_us);
        let ack = LatencySummary::from_micros(&m.ack_latencies_us);
        let cpu_s = m.server.as_ref().map_or(0.0, |cost| cost.cpu_s);
        Summary {
            tool: "chat-loadgen",
            urls: m.urls,
            users: m.users,
            rate: m.rate,
            seconds: m.seconds,
            connect_wall_ms: m.connect_wall_ms,
            connect_p50_ms: connect.map(|c| round_to(c.p50_ms, 1)),
            connect_p99_ms: connect.map(|c| round_to(c.p99_ms, 1)),
            sent: m.sent,
            delivered: m.delivered,
            lost: m.sent as i64 - m.delivered as i64,
            wrong_target: m.wrong_target,
            delivered_per_s: per_second(m.delivered as f64, m.seconds).round() as u64,
            lat_p50_ms: latency.map(|l| l.p50_ms),
            lat_p99_ms: latency.map(|l| l.p99_ms),
            lat_p999_ms: latency.map(|l| l.p999_ms),
            lat_max_ms: latency.map(|l| l.max_ms),
            server_cpu_s: round_to(cpu_s, 2),
            server_cpu_us_per_msg: (m.server.is_some() && m.delivered > 0)
                .then(|| (cpu_s * 1e6 / m.delivered as f64).round() as u64),
            server_rss_kib_per_conn: m
                .server
                .as_ref()
                .filter(|_| m.users > 0)
                .map(|cost| kib_per_user(cost.rss_connected_kib, cost.rss_before_kib, m.users)),
            server_rss_end_kib_per_conn: m
                .server
                .as_ref()
                .filter(|_| m.users > 0)
                .map(|cost| kib_per_user(cost.rss_end_kib, cost.rss_before_kib, m.users)),
            server_rss_mib: m
                .server
                .as_ref()
                .map(|cost| (cost.rss_end_kib as f64 / 1024.0).round() as u64),
            server_busiest_thread_us_per_msg: m
                .server
                .as_ref()
                .filter(|_| m.delivered > 0)
                .and_then(|cost| cost.threads_cpu_s.first())
                .map(|(_, cpu)| round_to(cpu * 1e6 / m.delivered as f64, 2)),
            server_threads_us_per_msg: m
                .server
                .as_ref()
                .filter(|_| m.delivered > 0)
                .map(|cost| {
                    cost.threads_cpu_s
                        .iter()
                        .filter(|(_, cpu)| *cpu > 0.0)
                        .map(|(name, cpu)| {
                            (name.clone(), round_to(cpu * 1e6 / m.delivered as f64, 2))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            connected: m.connect_us.len(),
            warmup_seconds: m.warmup_seconds,
            sent_per_s: round_to(per_second(m.sent as f64, m.send_wall_s), 1),
            acked: m.acked,
            ack_p50_ms: ack.map(|a| a.p50_ms),
            ack_p99_ms: ack.map(|a| a.p99_ms),
            loadgen_cpu_s: round_to(m.loadgen_cpu_s, 2),
            errors: m.errors,
        }
    }
}

fn kib_per_user(rss_kib: u64, rss_before_kib: u64, users: usize) -> f64 {
    round_to((rss_kib as f64 - rss_before_kib as f64) / users as f64, 1)
}

fn per_second(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_fields_follow_the_probe() {
        let summary = Summary::new(Measurements {
            users: 200,
            seconds: 10.0,
            send_wall_s: 10.0,
            connect_us: vec![1_000; 200],
            sent: 20_000,
            delivered: 19_990,
            latencies_us: vec![1_500; 19_990],
            server: Some(ServerCost {
                cpu_s: 1.999,
                rss_before_kib: 10_000,
                rss_connected_kib: 12_000,
                rss_end_kib: 20_480,
                threads_cpu_s: vec![("1/2 worker".into(), 1.5), ("1/3 idle".into(), 0.0)],
            }),
            ..Default::default()
        });
        assert_eq!(summary.lost, 10);
        assert_eq!(summary.delivered_per_s, 1999);
        assert_eq!(summary.server_cpu_us_per_msg, Some(100));
        assert_eq!(summary.server_rss_kib_per_conn, Some(10.0));
        assert_eq!(summary.server_rss_end_kib_per_conn, Some(52.4));
        assert_eq!(summary.server_rss_mib, Some(20));
        assert_eq!(summary.server_busiest_thread_us_per_msg, Some(75.04));
        assert_eq!(
            summary.server_threads_us_per_msg,
            vec![("1/2 worker".to_string(), 75.04)]
        );
        assert_eq!(summary.lat_p50_ms, Some(1.5));
        assert_eq!(summary.sent_per_s, 2000.0);
        assert_eq!(summary.connected, 200);
    }

    #[test]
    fn without_pids_or_deliveries_the_costs_are_null() {
        let summary = Summary::new(Measurements {
            users: 2,
            ..Default::default()
        });
        let json = serde_json::to_value(&summary).expect("serializable");
        assert_eq!(json["server_cpu_us_per_msg"], serde_json::Value::Null);
        assert_eq!(json["server_rss_kib_per_conn"], serde_json::Value::Null);
        assert_eq!(json["lat_p50_ms"], serde_json::Value::Null);
        assert_eq!(json["errors"], serde_json::json!({}));
    }
}
