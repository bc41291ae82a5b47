//! The Engine.IO and Socket.IO limits of one server, fixed at start-up.

use std::time::Duration;

/// Timers and limits every connection of this server obeys.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The server pings every `ping_interval`...
    pub ping_interval: Duration,
    /// ...and closes the session when no pong arrives within `ping_timeout`.
    pub ping_timeout: Duration,
    /// Largest WebSocket frame, polling POST body or single packet accepted, in bytes.
    pub max_payload: usize,
    /// A session that has not connected any Socket.IO namespace by then is closed.
    pub connect_timeout: Duration,
    /// A polling -> WebSocket upgrade that has not completed by then is abandoned.
    pub upgrade_timeout: Duration,
    /// Bytes queued for one client before it counts as a slow consumer and is closed.
    pub outbound_buffer_bytes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            connect_timeout: Duration::from_millis(45_000),
            upgrade_timeout: Duration::from_millis(10_000),
            outbound_buffer_bytes: 4 << 20,
        }
    }
}
