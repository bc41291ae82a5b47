//! The cluster's port to this node: what the bridge needs of the local sockets, as a trait,
//! so that the bridge never knows the hub (`node/` joins the two). Broadcasts of other nodes
//! are delivered through it, and other nodes' questions about local sockets answered.

use crate::event::OutboundEvent;
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;

/// A local socket's `(handshake, data)` by id, when known.
pub type Describer = Box<dyn Fn(&str) -> Option<(Value, Value)> + Send>;

/// Each local socket's id and rooms.
pub type SocketRooms = Vec<(String, Vec<String>)>;

/// What the cluster asks of this node. A future answering `None` means the node is shutting
/// down (the question stays unanswered).
pub trait LocalNode: 'static {
    /// A broadcast of another node: delivered to the local sockets it selects.
    fn deliver(&self, rooms: Vec<String>, except: Vec<String>, event: Arc<OutboundEvent>);

    /// The subscriptions of `rooms` are back after a loss that began at `since_ms` (ms since
    /// the epoch): deliver what their local sockets missed, if the node can tell.
    fn catch_up(&self, _rooms: Vec<String>, _since_ms: u64) {}

    /// Ids of the local sockets in any of `rooms` (all when empty).
    fn sockets(&self, rooms: Vec<String>) -> BoxFuture<'static, Option<Vec<String>>>;

    /// Every room with a local member (socket-id rooms included).
    fn rooms(&self) -> BoxFuture<'static, Option<Vec<String>>>;

    /// Id and rooms of each local socket in any of `rooms` and in none of `except`.
    fn socket_details(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> BoxFuture<'static, Option<SocketRooms>>;

    /// What gives `(handshake, data)` of a local socket for a fetch-sockets answer, when the
    /// node keeps them (its admin namespace does); otherwise the answer carries empty ones.
    fn describer(&self) -> Describer {
        Box::new(|_| None)
    }

    /// Another node's remote join, leave or disconnect request (adapter types 2, 3, 4), as
    /// received: ignored unless the node has an admin namespace.
    fn remote_command(&self, _request: &[u8]) {}
}
