//! Messages of the `ChatHub` actor.

use super::OutboundEvent;
use crate::engine::Frame;
use crate::store::Session;
use actix::prelude::*;
use std::sync::Arc;

/// To a connection: frames to send to its client, shared with the other recipients.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver(pub Arc<[Frame]>);

/// A socket joins its own room and the room of its user. Answered, when recovery is on, with
/// the offset of the log's head at the join.
#[derive(Message)]
#[rtype(result = "Option<String>")]
pub struct Join {
    pub socket_id: String,
    pub user_id: String,
    /// Kept so the hub can write the live sessions back if Redis lost them.
    pub session_id: String,
    pub username: String,
    pub recipient: Recipient<Deliver>,
}

/// A socket left (namespace disconnect or closed session). The session is carried so that
/// the hub can save it with `connected: false` when this was the user's last socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub socket_id: String,
    pub user_id: String,
    pub session_id: String,
    pub session: Session,
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

/// A broadcast that came from another node: delivered to local sockets only.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoteBroadcast {
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

/// To the bridge: how many sockets the other nodes have in any of `rooms`. `None` when that
/// cannot be known (Redis down, a node did not answer in time).
#[derive(Message)]
#[rtype(result = "Option<usize>")]
pub struct PeerSockets {
    pub rooms: Vec<String>,
}

/// Connects the hub to the cross-node bridge.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetPeers {
    pub peers: Recipient<PeerSockets>,
    pub publish: Recipient<Broadcast>,
    /// Told when a user gets its first / loses its last local socket, so that the bridge can
    /// keep this node's user list in Redis for the survivors should the node die.
    pub presence: Recipient<LocalPresence>,
}

/// To the bridge: a user's presence on this node changed.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum LocalPresence {
    /// The user has a local socket now (or its session changed).
    Online {
        user_id: String,
        session_id: String,
        username: String,
    },
    /// The user's last local socket left.
    Offline { user_id: String },
}

/// How many presence questions to other nodes are still unanswered (0 = idle).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct PendingChecks;

/// Saves the session of every user with a socket on this node again (`connected: true`), so
/// that sessions and the user directory come back after Redis restarted empty.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ResaveLiveSessions;
