//! Prometheus metrics of one node. A single process-wide set: every actor and HTTP handler
//! counts into the same registry, and `GET /metrics` renders it.

use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use std::sync::LazyLock;

/// Every metric the node exports.
pub struct Metrics {
    registry: Registry,
    /// Engine.IO sessions currently open.
    pub connections_active: IntGauge,
    /// Engine.IO sessions opened since start, by initial transport.
    pub connections_total: IntCounterVec,
    /// Private messages accepted and routed.
    pub messages_routed: IntCounter,
    /// Frames handed to local sockets (one per recipient socket).
    pub deliveries: IntCounter,
    /// Bytes received from clients (WebSocket frames and polling bodies).
    pub bytes_received: IntCounter,
    /// Bytes queued to clients.
    pub bytes_sent: IntCounter,
    /// Refused or failed input and internal failures, by kind.
    pub errors: IntCounterVec,
    /// Commands sent to Redis.
    pub redis_round_trips: IntCounter,
    /// Broadcasts published to / received from other nodes.
    pub bridge_messages: IntCounterVec,
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric name");
    registry
        .register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

fn counter_vec(registry: &Registry, name: &str, help: &str, label: &str) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric name");
    registry
        .register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        let connections_active = IntGauge::new(
            "chat_connections_active",
            "Engine.IO sessions currently open",
        )
        .expect("valid metric name");
        registry
            .register(Box::new(connections_active.clone()))
            .expect("metric registered once");
        Metrics {
            connections_active,
            connections_total: counter_vec(
                &registry,
                "chat_connections_total",
                "Engine.IO sessions opened, by initial transport",
                "transport",
            ),
            messages_routed: counter(
                &registry,
                "chat_messages_routed_total",
                "Private messages accepted and routed",
            ),
            deliveries: counter(
                &registry,
                "chat_deliveries_total",
                "Broadcast packets handed to local sockets",
            ),
            bytes_received: counter(
                &registry,
                "chat_bytes_received_total",
                "Bytes received from clients",
            ),
            bytes_sent: counter(
                &registry,
                "chat_bytes_sent_total",
                "Bytes queued to clients",
            ),
            errors: counter_vec(
                &registry,
                "chat_errors_total",
                "Refused input and internal failures, by kind",
                "kind",
            ),
            redis_round_trips: counter(
                &registry,
                "chat_redis_round_trips_total",
                "Commands sent to Redis",
            ),
            bridge_messages: counter_vec(
                &registry,
                "chat_bridge_messages_total",
                "Cross-node pub/sub messages, by direction",
                "direction",
            ),
            registry,
        }
    }

    /// Counts one error of `kind` (a short stable label such as `malformed_packet`).
    pub fn error(&self, kind: &str) {
        self.errors.with_label_values(&[kind]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The node's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counted_errors() {
        METRICS.error("unit_test_kind");
        let text = METRICS.render();
        assert!(
            text.contains("chat_errors_total{kind=\"unit_test_kind\"} 1"),
            "{text}"
        );
        assert!(text.contains("chat_connections_active"));
    }
}
