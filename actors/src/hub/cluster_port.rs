//! The hub's port to the rest of the cluster: everything the hub needs from other nodes,
//! as a trait, so that the hub never knows the Redis bridge (which knows nothing of the hub
//! either: `node/` builds both and joins them). A single node uses [`SingleNode`], whose
//! answers are those of a cluster of one; the hub's unit tests use a fake.

use super::Broadcast;
use futures_util::future::BoxFuture;

/// What the hub asks of the cluster. Shared with the connections (`Arc`), which publish the
/// private messages they route themselves.
pub trait ClusterPort: Send + Sync + 'static {
    /// Publishes a broadcast (already delivered locally) for the other nodes.
    fn publish(&self, broadcast: Broadcast);

    /// How many sockets the other nodes hold in any of `rooms`; `None` when that cannot be
    /// known (Redis down, a node did not answer): "unknown" is never "nobody".
    fn remote_sockets(&self, rooms: Vec<String>) -> BoxFuture<'static, Option<usize>>;

    /// `room` got its first local socket: resolves once broadcasts to it reach this node.
    fn room_gained(&self, room: &str) -> BoxFuture<'static, ()>;

    /// `room` lost its last local socket.
    fn room_lost(&self, room: &str);

    /// A user's presence on this node changed (its list in Redis lets survivors announce it
    /// should this node die).
    fn local_presence(&self, change: LocalPresence);

    /// Whether the other nodes subscribe to user rooms one by one (a private message is then
    /// published once per room) rather than receive every broadcast.
    fn subscribes_rooms(&self) -> bool;
}

/// A user's presence on this node changed.
#[derive(actix::Message, Debug, Clone, PartialEq, Eq)]
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

/// The cluster of one node: nothing to publish, nobody else holds a socket.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleNode;

impl ClusterPort for SingleNode {
    fn publish(&self, _: Broadcast) {}

    fn remote_sockets(&self, _: Vec<String>) -> BoxFuture<'static, Option<usize>> {
        Box::pin(async { Some(0) })
    }

    fn room_gained(&self, _: &str) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }

    fn room_lost(&self, _: &str) {}

    fn local_presence(&self, _: LocalPresence) {}

    fn subscribes_rooms(&self) -> bool {
        false
    }
}
