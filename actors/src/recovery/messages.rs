//! What a connection asks of its hub about recovery. The hub handles these (`hub/recovery.rs`,
//! by way of [`super::HubRecovery`]); a connection reaches them through typed recipients
//! ([`super::RecoveryServices`]), so nothing here needs the hub.

use super::{ParkedSession, Unrecoverable};
use crate::transport::{Frame, Outbox};
use actix::prelude::*;
use std::sync::Arc;

/// From a connection about to leave for a reason that may be recovered: keep its socket for
/// the window under `pid`. Sent before the socket's `Leave`, while the hub still knows the
/// socket's rooms.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Park {
    pub pid: String,
    pub socket_id: String,
    pub session_id: String,
    pub user_id: String,
    pub username: String,
}

/// From a connection whose CONNECT carried `{pid, offset}`: the parked socket, rejoined to
/// its rooms with `outbox` (held by the connection), and the frames it missed, or why not.
#[derive(Message)]
#[rtype(result = "Result<Restored, Unrecoverable>")]
pub struct Restore {
    pub pid: String,
    pub offset: String,
    /// The sessionID the client presented alongside, if any: it must be the parked one's.
    pub session_id: Option<String>,
    pub outbox: Arc<Outbox>,
}

/// A recovered socket.
pub struct Restored {
    pub session: ParkedSession,
    /// The missed events, oldest first, each as sent live (offset appended).
    pub missed: Vec<Arc<[Frame]>>,
    /// The log position the replay ends at: what the outbox held at or before it is in the
    /// replay already (`None` for a replay rebuilt from Redis, which leaves out the messages
    /// the outbox holds instead).
    pub replayed: Option<u64>,
    /// The user had been announced gone: the others must be told it is back.
    pub announce: bool,
}

/// From a connection recovering a socket whose state came from Redis: join its rooms with
/// `outbox` (held by the connection). Resolves, once the user room is subscribed, with the
/// offset of the log's head (the local part of the offsets the replay carries). Whether the
/// user must be announced again is the session store's to say (whichever node announced it
/// gone saved it so).
#[derive(Message)]
#[rtype(result = "String")]
pub struct Rejoin {
    pub session: ParkedSession,
    pub outbox: Arc<Outbox>,
}
