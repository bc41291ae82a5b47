//! Messages of the `ChatHub` actor (presence's and recovery's are in their own folders).

use crate::event::OutboundEvent;
use crate::transport::Outbox;
use actix::prelude::*;
use std::sync::Arc;

/// A socket joins its own room and the room of its user, with the outbox its events go to
/// (held by the socket until its connection sequence is queued); answered with [`Joined`].
#[derive(Message)]
#[rtype(result = "Joined")]
pub struct Join {
    pub socket_id: String,
    pub user_id: String,
    /// Kept so the hub can write the live sessions back if Redis lost them.
    pub session_id: String,
    pub username: String,
    pub outbox: Arc<Outbox>,
}

/// The answer to a [`Join`].
#[derive(Debug, Clone, PartialEq, Eq, MessageResponse)]
pub struct Joined {
    /// With recovery on: the offset of the log's head at the join.
    pub offset: Option<String>,
    /// Whether the others are to hear `user connected`: false when the user came back within
    /// its presence grace (on this node or another), for which nobody announced it gone.
    pub announce: bool,
}

/// Sends `event` to the sockets in any of `rooms` (all when empty) except those in any room of
/// `except`, on this node and on every other node.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Broadcast {
    pub rooms: Vec<String>,
    pub except: Vec<String>,
    pub event: Arc<OutboundEvent>,
}

/// Ids of the local sockets in any of `rooms` (all when empty).
#[derive(Message)]
#[rtype(result = "Vec<String>")]
pub struct LocalSockets {
    pub rooms: Vec<String>,
}

/// Every room with a local member.
#[derive(Message)]
#[rtype(result = "Vec<String>")]
pub struct LocalRooms;

/// Id and rooms of each local socket matching `rooms`/`except`.
#[derive(Message)]
#[rtype(result = "Vec<(String, Vec<String>)>")]
pub struct LocalSocketDetails {
    pub rooms: Vec<String>,
    pub except: Vec<String>,
}
