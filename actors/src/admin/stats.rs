//! `server_stats`, every 2 s: who this node is (server id, hostname, pid), how long it has
//! run, its Engine.IO clients (and how many are on long-polling), the sockets of each
//! namespace, and what happened since the last time (`aggregatedEvents`: connections,
//! disconnections, bytes in and out), read off the node's metrics.

use super::time::now_ms;
use crate::metrics::METRICS;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

/// The counters at the previous `server_stats`.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    connections: u64,
    active: i64,
    bytes_in: u64,
    bytes_out: u64,
}

impl Totals {
    fn now() -> Totals {
        let connections = ["polling", "websocket"]
            .iter()
            .map(|t| METRICS.connections_total.with_label_values(&[t]).get())
            .sum();
        Totals {
            connections,
            active: METRICS.connections_active.get(),
            bytes_in: METRICS.bytes_received.get(),
            bytes_out: METRICS.bytes_sent.get(),
        }
    }
}

/// Builds this node's `server_stats`.
pub struct ServerStats {
    server_id: String,
    hostname: String,
    started: Instant,
    last: Totals,
}

impl ServerStats {
    pub fn new(server_id: &str) -> ServerStats {
        ServerStats {
            server_id: server_id.to_owned(),
            hostname: hostname(),
            started: Instant::now(),
            last: Totals::now(),
        }
    }

    /// The next `server_stats`, with `namespaces` (name → local sockets).
    pub fn next(&mut self, namespaces: &[(String, usize)]) -> Value {
        let now = Totals::now();
        let last = std::mem::replace(&mut self.last, now);
        let opened = now.connections.saturating_sub(last.connections);
        // Closed = open before + opened - open now.
        let closed = (last.active + opened as i64 - now.active).max(0) as u64;
        let timestamp = now_ms() / 1000 * 1000;
        let mut events = Vec::new();
        let mut push = |kind: &str, sub: Option<&str>, count: u64| {
            if count > 0 {
                let mut event = json!({ "timestamp": timestamp, "type": kind, "count": count });
                if let Some(sub) = sub {
                    event["subType"] = json!(sub);
                }
                events.push(event);
            }
        };
        push("rawConnection", None, opened);
        push("rawDisconnection", Some("transport close"), closed);
        push("bytesIn", None, now.bytes_in.saturating_sub(last.bytes_in));
        push(
            "bytesOut",
            None,
            now.bytes_out.saturating_sub(last.bytes_out),
        );
        let polling = METRICS
            .connections_by_transport
            .with_label_values(&["polling"])
            .get()
            .max(0);
        json!({
            "serverId": self.server_id,
            "hostname": self.hostname,
            "pid": std::process::id(),
            "uptime": self.started.elapsed().as_secs_f64(),
            "clientsCount": now.active.max(0),
            "pollingClientsCount": polling,
            "aggregatedEvents": events,
            "namespaces": namespaces
                .iter()
                .map(|(name, count)| json!({ "name": name, "socketsCount": count }))
                .collect::<Vec<_>>(),
        })
    }
}

/// The namespaces to report: `/` and the admin namespace always, then any other with sockets.
pub fn namespace_counts(admin_nsp: &str, counts: HashMap<String, usize>) -> Vec<(String, usize)> {
    let mut list = vec![
        ("/".to_owned(), counts.get("/").copied().unwrap_or(0)),
        (
            admin_nsp.to_owned(),
            counts.get(admin_nsp).copied().unwrap_or(0),
        ),
    ];
    let mut others: Vec<_> = counts
        .into_iter()
        .filter(|(name, _)| name != "/" && name != admin_nsp)
        .collect();
    others.sort();
    list.extend(others);
    list
}

/// The machine's name, as Node's `os.hostname()`.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_have_the_fields_the_ui_reads() {
        let mut stats = ServerStats::new("node1");
        let value = stats.next(&namespace_counts(
            "/admin",
            HashMap::from([("/".into(), 2)]),
        ));
        assert_eq!(value["serverId"], "node1");
        assert!(value["pid"].as_u64().is_some());
        assert!(value["uptime"].as_f64().is_some());
        assert!(value["aggregatedEvents"].is_array());
        assert_eq!(
            value["namespaces"],
            json!([{"name": "/", "socketsCount": 2}, {"name": "/admin", "socketsCount": 0}])
        );
    }
}
