//! Prometheus metrics of one node. A single process-wide set: every actor and HTTP handler
//! counts into the same registry, and `GET /metrics` renders it.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::sync::LazyLock;

/// Every metric the node exports.
pub struct Metrics {
    registry: Registry,
    /// Engine.IO sessions currently open.
    pub connections_active: IntGauge,
    /// Engine.IO sessions currently open, by current transport.
    pub connections_by_transport: IntGaugeVec,
    /// Engine.IO sessions opened since start, by initial transport.
    pub connections_total: IntCounterVec,
    /// Private messages accepted and routed.
    pub messages_routed: IntCounter,
    /// Socket.IO handshakes on the chat namespace, by result (`accepted` or the refusal).
    pub handshakes: IntCounterVec,
    /// Broadcasts handled by the hub, by origin (`local` sockets or a `remote` node).
    pub broadcasts: IntCounterVec,
    /// `user connected` / `user disconnected` announcements made by this node.
    pub presence_announcements: IntCounterVec,
    /// Time from receiving a private message to acknowledging it (stored and routed).
    pub message_latency: Histogram,
    /// Frames handed to local sockets (one per recipient socket).
    pub deliveries: IntCounter,
    /// Private messages delivered from the histories after a lost subscription (Redis Cluster).
    pub caught_up: IntCounter,
    /// Bytes received from clients (WebSocket frames and polling bodies).
    pub bytes_received: IntCounter,
    /// Bytes queued to clients.
    pub bytes_sent: IntCounter,
    /// Refused or failed input and internal failures, by kind.
    pub errors: IntCounterVec,
    /// Commands sent to Redis.
    pub redis_round_trips: IntCounter,
    /// Redis commands that failed, by kind (`timeout`, `error`).
    pub redis_errors: IntCounterVec,
    /// Broadcasts published to / received from other nodes.
    pub bridge_messages: IntCounterVec,
    /// Admin UI sockets currently connected to this node's admin namespace.
    pub admin_connections_active: IntGauge,
    /// Broadcasts in the connection state recovery log.
    pub recovery_log_entries: IntGauge,
    /// Bytes of the frames those broadcasts hold (what a replay would send).
    pub recovery_log_frame_bytes: IntGauge,
    /// Connections to the admin namespace, by result (`accepted` or the refusal).
    pub admin_connections: IntCounterVec,
    /// Admin UI commands, by `command` and `result` (`applied`, `read_only`, `invalid`).
    pub admin_commands: IntCounterVec,
}

/// Registers a freshly built metric and hands it back. Names and labels are literals of this
/// file and each is registered once, so neither step can fail at run time.
fn registered<T: Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<T>,
) -> T {
    let metric = metric.expect("valid metric name");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    registered(registry, IntCounter::new(name, help))
}

fn counter_vec(registry: &Registry, name: &str, help: &str, label: &str) -> IntCounterVec {
    registered(
        registry,
        IntCounterVec::new(Opts::new(name, help), &[label]),
    )
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        let connections_active = registered(
            &registry,
            IntGauge::new(
                "chat_connections_active",
                "Engine.IO sessions currently open",
            ),
        );
        let connections_by_transport = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "chat_connections_open",
                    "Engine.IO sessions currently open, by transport",
                ),
                &["transport"],
            ),
        );
        let message_latency = registered(
            &registry,
            Histogram::with_opts(
                HistogramOpts::new(
                    "chat_private_message_seconds",
                    "Time from receiving a private message to acknowledging it",
                )
                .buckets(vec![
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                    1.0,
                ]),
            ),
        );
        let admin_connections_active = registered(
            &registry,
            IntGauge::new(
                "chat_admin_connections_active",
                "Admin UI sockets connected to this node",
            ),
        );
        let admin_commands = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "chat_admin_commands_total",
                    "Admin UI commands, by command and result",
                ),
                &["command", "result"],
            ),
        );
        let recovery_log_entries = registered(
            &registry,
            IntGauge::new(
                "chat_recovery_log_entries",
                "Broadcasts kept in the connection state recovery log",
            ),
        );
        let recovery_log_frame_bytes = registered(
            &registry,
            IntGauge::new(
                "chat_recovery_log_frame_bytes",
                "Bytes of the frames of the broadcasts kept in the recovery log",
            ),
        );
        Metrics {
            admin_connections_active,
            recovery_log_entries,
            recovery_log_frame_bytes,
            admin_commands,
            admin_connections: counter_vec(
                &registry,
                "chat_admin_connections_total",
                "Connections to the admin namespace, by result",
                "result",
            ),
            connections_active,
            connections_by_transport,
            message_latency,
            handshakes: counter_vec(
                &registry,
                "chat_handshakes_total",
                "Chat handshakes, by result",
                "result",
            ),
            broadcasts: counter_vec(
                &registry,
                "chat_broadcasts_total",
                "Broadcasts handled by the hub, by origin",
                "origin",
            ),
            presence_announcements: counter_vec(
                &registry,
                "chat_presence_announcements_total",
                "Presence announcements made by this node, by kind",
                "kind",
            ),
            redis_errors: counter_vec(
                &registry,
                "chat_redis_errors_total",
                "Redis commands that failed, by kind",
                "kind",
            ),
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
            caught_up: counter(
                &registry,
                "chat_caught_up_messages_total",
                "Private messages missed while unsubscribed, delivered from the histories",
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
