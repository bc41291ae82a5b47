//! Routing one private message, from the thread of the connection that received it: delivered
//! to the local sockets of its recipient and of its sender's other tabs, then published for the
//! other nodes. And whether a user is online, asked for recipients the directory does not know.

use super::{Broadcast, ChatHub, ClusterPort, Delivery};
use crate::event::OutboundEvent;
use actix::prelude::*;
use std::sync::Arc;

/// Delivers a private message from `from` (socket `sender_socket`) to `to` locally, then
/// publishes it: when the other nodes subscribe to user rooms, once to the recipient's room
/// and once to the sender's (for its other tabs) when it is another user, both `except` the
/// sending socket, so that no socket can get it twice (each is in one user room) and only nodes
/// with a recipient receive it; otherwise as one two-room broadcast on the namespace channel.
pub fn route_private(
    delivery: &Delivery,
    cluster: &dyn ClusterPort,
    (to, from): (&str, &str),
    sender_socket: &str,
    event: Arc<OutboundEvent>,
) {
    delivery.deliver(&[to, from], &[sender_socket], &event);
    if !cluster.has_peers() {
        return;
    }
    let except = vec![sender_socket.to_owned()];
    if !cluster.subscribes_rooms() {
        return cluster.publish(Broadcast {
            rooms: vec![to.to_owned(), from.to_owned()],
            except,
            event,
        });
    }
    let sender_room = (from != to).then_some(from);
    for room in std::iter::once(to).chain(sender_room) {
        cluster.publish(Broadcast {
            rooms: vec![room.to_owned()],
            except: except.clone(),
            event: event.clone(),
        });
    }
}

/// Whether `user_id` has a socket on this node or, when the node is in a cluster, on another
/// one. `None` when the other nodes could not be asked (Redis down, no answer in time).
#[derive(Message)]
#[rtype(result = "Option<bool>")]
pub struct IsOnline {
    pub user_id: String,
}

impl Handler<IsOnline> for ChatHub {
    type Result = ResponseFuture<Option<bool>>;

    fn handle(&mut self, msg: IsOnline, _: &mut Context<Self>) -> Self::Result {
        if self.local_sockets_in(&msg.user_id) > 0 {
            return Box::pin(async { Some(true) });
        }
        let remote = self.cluster.remote_sockets(vec![msg.user_id]);
        Box::pin(async move { remote.await.map(|n| n > 0) })
    }
}
