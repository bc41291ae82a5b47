//! Connection state recovery (socket.io 4.6+): a client whose transport dropped for a reason
//! that may be recovered (transport closed or errored, ping timeout, server shutting down)
//! reconnects with `{pid, offset}` in its auth payload and, within the window, gets its socket
//! id, rooms and chat identity back plus every broadcast it missed, instead of starting over
//! with a new `session` and the whole `users` list.
//!
//! The design follows Node's `SessionAwareAdapter`: the hub keeps one node-wide log of the
//! broadcasts it delivered ([`BroadcastLog`]), each stamped with an offset the client echoes
//! back; a disconnected socket is kept as a small [`ParkedSession`] (ids and rooms, no events);
//! on reconnection the missed events are the log entries after the client's offset that the
//! parked socket's rooms select. A disconnected user therefore costs one parked entry, not a
//! copy of the traffic, and a broadcast costs one log entry however many sockets miss it.
//!
//! Anything that does not check out (unknown, expired or foreign pid, malformed or too old
//! offset, more missed events than the bound) is a normal connection, counted in metrics as
//! `recovery_<reason>`. A pid is a secret like the sessionID: it is never logged.
//!
//! Across nodes (with Redis): a socket's parked state is also in Redis from the moment it
//! connects ([`SharedRecovery`]), and every offset carries a watermark another node can read
//! ([`Watermark`]); a node that does not know a pid takes its state from Redis and rebuilds
//! the missed events from the user's history list and the stream of broadcasts to everyone
//! ([`missed_across_nodes`]). That is how a client whose node was drained or killed recovers
//! on the node nginx sends it to next.

mod log;
mod offsets;
mod parked;
mod replay;
pub mod sender_tag;
mod shared;
mod stream_cache;
mod watermark;

pub use self::log::{BroadcastLog, LoggedEvent, LOG_CAPACITY};
pub use self::offsets::{split_local, stamp_offset, Offset, OffsetEpoch};
pub use self::parked::{ParkedSession, ParkedSessions};
pub use self::replay::{missed_across_nodes, ReplayedEvent};
pub use self::shared::{SharedRecovery, StreamedBroadcast, STREAM_MARGIN_MS};
pub use self::watermark::{local_part, now_millis, Watermark};

use std::time::Duration;

/// Recovery settings of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected socket can come back (socket.io's
    /// `maxDisconnectionDuration`); zero turns recovery off.
    pub window: Duration,
    /// Most events replayed to one recovering socket; past it the client gets a normal
    /// connection (a fresh `users` list is then cheaper than the replay).
    pub max_events: usize,
}

impl RecoveryConfig {
    /// Recovery turned off: no `pid`, no offsets, the wire as before.
    pub const OFF: RecoveryConfig = RecoveryConfig {
        window: Duration::ZERO,
        max_events: 0,
    };

    pub fn enabled(&self) -> bool {
        !self.window.is_zero()
    }
}

/// Why a session ended, as the connection names it, for which Node's socket.io keeps the
/// socket for recovery (`RECOVERABLE_DISCONNECT_REASONS`; a client's Engine.IO close packet
/// is Node's "transport close", and an overlapping poll, which a browser sends when it retries
/// a GET cut by the network, is its "transport error"). A namespace DISCONNECT, a parse error,
/// a flood or a slow consumer are not recoverable.
pub fn is_recoverable(reason: &str) -> bool {
    matches!(
        reason,
        "transport close"
            | "transport closed"
            | "transport error"
            | "client close"
            | "duplicate poll"
            | "ping timeout"
            | "server shutting down"
    )
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            window: Duration::from_secs(120),
            max_events: 5000,
        }
    }
}

/// Why a reconnection was not recovered (the client then gets a normal connection). The
/// text is the metrics kind, after `recovery_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unrecoverable {
    /// No parked session has this pid (forged, already used, or lost with its node).
    #[error("unknown_pid")]
    UnknownPid,
    /// The session was parked longer ago than the window.
    #[error("expired")]
    Expired,
    /// The pid belongs to a session of another user than the sessionID presented.
    #[error("foreign_session")]
    ForeignSession,
    /// The offset is not one this node handed out.
    #[error("malformed_offset")]
    MalformedOffset,
    /// The offset is older than the log still holds.
    #[error("offset_too_old")]
    OffsetTooOld,
    /// More missed events than `max_events`.
    #[error("overflow")]
    Overflow,
    /// Redis, which holds the state of sockets parked on other nodes, did not answer.
    #[error("store_unavailable")]
    StoreUnavailable,
}

impl Unrecoverable {
    /// The metrics kind (`chat_errors_total{kind}`).
    pub fn kind(&self) -> String {
        format!("recovery_{self}")
    }
}
