//! Connection state recovery (socket.io 4.6+), the whole story.
//!
//! # What a client sees
//! A client whose transport dropped for a reason that may be recovered (transport closed or
//! errored, ping timeout, server shutting down: [`is_recoverable`]) reconnects with
//! `{pid, offset}` in its auth payload and, within the window, gets its socket id, rooms and
//! chat identity back plus every broadcast it missed, instead of starting over with a new
//! `session` and the whole `users` list. The CONNECT reply carries the secret `pid`; every
//! event sent without an ack carries an offset as its last argument, which the client echoes
//! back. Anything that does not check out (unknown, expired or foreign pid, malformed or too
//! old offset, more missed events than the bound) is a normal connection, counted in metrics
//! as `recovery_<reason>` ([`Unrecoverable`]). A pid is a secret like the sessionID: it is
//! never logged.
//!
//! # On one node
//! As in Node's `SessionAwareAdapter`, the node keeps one log of the broadcasts delivered to
//! its sockets ([`BroadcastLog`], in the hub's delivery), each stamped with an offset `<epoch>-<seq>` ([`Offset`],
//! spliced into the shared frame by [`stamp_offset`]); `users` carries the log head at the
//! socket's join. A socket that drops for a recoverable reason is kept as a small
//! [`ParkedSession`] (ids and rooms, no events; [`ParkedSessions`]); on reconnection the missed
//! events are the log entries after the client's offset that the parked socket's rooms select.
//! A disconnected user therefore costs one parked entry, not a copy of the traffic, and a
//! broadcast costs one log entry however many sockets miss it (its frames, shared with the live
//! delivery). The hub keeps the parked sockets in its [`HubRecovery`]; while a socket of a user
//! is parked its user room stays subscribed, so what other nodes send it still reaches the log.
//!
//! **The invariant** (nothing broadcast around a restore is missed or sent twice, whichever
//! threads deliver meanwhile): every delivery logs its event before it looks up recipients; a
//! restore reads the missed events and rejoins the socket under the log lock; the socket's
//! outbox holds what is routed to it until the replay is queued, then drops the held events
//! already in the replay (`hub/delivery.rs` tells why this is exact).
//!
//! # Across nodes (with Redis)
//! A client whose node was drained or killed reconnects, through nginx, to another node:
//! - a socket's parked state is in Redis from the moment it connects ([`SharedRecovery`],
//!   `chat:recovery:pid:<pid>`), so a SIGKILL leaves it behind; a node recovering a pid takes it
//!   from Redis first (`GET` + `DEL`), so a pid recovered on one node cannot be replayed on
//!   another, and falls back on its own memory only when Redis does not answer;
//! - every offset carries a [`Watermark`] other nodes can read: `<epoch>-<seq>.<ms>[.<id>]`,
//!   the time of the event and, for a private message, its id;
//! - the missed events are rebuilt ([`missed_across_nodes`]) from what Redis already keeps:
//!   the user's history list (exact when the watermark names a message) and a stream of the
//!   broadcasts to everyone (presence events, replayed from [`STREAM_MARGIN_MS`] before the
//!   watermark to cover clock skew; only the last event about each user is replayed), read
//!   through a per-node cache (`stream_cache.rs`); a message id starts with a tag
//!   of the sending socket ([`sender_tag`]), so a socket's own messages are not replayed to it;
//! - the sequence (`across_nodes.rs`), while the connection handles nothing else: (1) the
//!   state was taken from Redis; (2) read the history and the stream, and check the replay
//!   fits; (3) rejoin the socket's rooms, so everything broadcast from then on reaches it live;
//!   (4) read both again and leave out the messages delivered live since (3), which the
//!   socket's outbox holds behind the replay. Nothing is lost or doubled between the replay
//!   and live delivery;
//! - the user is announced `user connected` again if its session was saved disconnected
//!   meanwhile (by the old node's drain or the survivors' reaper).
//!
//! # Files
//! | file | what |
//! |---|---|
//! | `log.rs`, `offsets.rs`, `parked.rs` | the log, offsets, parked sockets (pure) |
//! | `hub_side.rs` | [`HubRecovery`]: what the hub keeps and decides |
//! | `messages.rs` | what a connection asks of the hub ([`Park`], [`Restore`], [`Rejoin`]) |
//! | `services.rs` | [`RecoveryServices`]: the handles a connection recovers with |
//! | `connection_side.rs` | a connection's pid, its state in Redis, [`try_restore`] |
//! | `across_nodes.rs` | restoring a socket parked on another node |
//! | `shared.rs`, `stream_cache.rs`, `stream_entry.rs` | what Redis keeps, and the stream's cache |
//! | `watermark.rs`, `replay.rs`, `sender_tag.rs` | the cross-node offset, the rebuilt replay, message ids |

mod across_nodes;
mod connection_side;
mod hub_side;
mod log;
mod messages;
mod offsets;
mod parked;
mod replay;
pub mod sender_tag;
mod services;
mod shared;
mod stream_cache;
mod stream_entry;
mod watermark;

pub use self::connection_side::{connect_reply, try_restore, RecoveryAuth, SocketRecovery};
pub use self::hub_side::{HubRecovery, SWEEP_EVERY};
pub use self::log::{BroadcastLog, LOG_CAPACITY};
pub use self::messages::{Park, Rejoin, Restore, Restored};
pub use self::offsets::{split_local, stamp_offset, Offset, OffsetEpoch};
pub use self::parked::{ParkedSession, ParkedSessions};
pub use self::replay::{missed_across_nodes, ReplayedEvent};
pub use self::services::RecoveryServices;
pub use self::shared::{SharedRecovery, STREAM_MARGIN_MS};
pub use self::stream_entry::StreamedBroadcast;
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
