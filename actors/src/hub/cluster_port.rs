//! The hub's port to the rest of the cluster: everything the hub needs from other nodes,
//! as a trait, so that the hub never knows the Redis bridge (which knows nothing of the hub
//! either: `node/` builds both and joins them). A single node uses [`SingleNode`], whose
//! answers are those of a cluster of one; the hub's unit tests use a fake.

use super::Broadcast;
use futures_util::future::BoxFuture;
use std::time::Duration;

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

    /// The user's last local socket dropped and its presence grace started: the other nodes
    /// can learn, for `grace`, that it is still announced online (`crate::presence` grace).
    fn grace_started(&self, user_id: &str, grace: Duration);

    /// The user came back here within its grace.
    fn grace_ended(&self, user_id: &str);

    /// The user's grace here is over: resolves to whether it is still this node's to decide
    /// (false: it came back on another node, which took it over).
    fn grace_over(&self, user_id: &str) -> BoxFuture<'static, bool>;

    /// A socket of the user joins here: resolves to whether the user was in its grace on
    /// another node (and is taken over by this one: nobody announces it).
    fn claim_grace(&self, user_id: &str) -> BoxFuture<'static, bool>;

    /// This node drained: it stops heartbeating and counts as dead once `grace` is over, so
    /// that the other nodes announce those of its users who did not come back.
    fn retire(&self, grace: Duration);

    /// Whether the other nodes subscribe to user rooms one by one (a private message is then
    /// published once per room) rather than receive every broadcast.
    fn subscribes_rooms(&self) -> bool;

    /// Whether there are other nodes to publish to at all (a single node builds no
    /// [`Broadcast`] for a private message).
    fn has_peers(&self) -> bool {
        true
    }
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

    fn grace_started(&self, _: &str, _: Duration) {}

    fn grace_ended(&self, _: &str) {}

    fn grace_over(&self, _: &str) -> BoxFuture<'static, bool> {
        Box::pin(async { true })
    }

    fn claim_grace(&self, _: &str) -> BoxFuture<'static, bool> {
        Box::pin(async { false })
    }

    fn retire(&self, _: Duration) {}

    fn subscribes_rooms(&self) -> bool {
        false
    }

    fn has_peers(&self) -> bool {
        false
    }
}
