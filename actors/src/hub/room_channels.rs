//! The hub's side of room subscriptions (see `bridge/room_subscriptions.rs`): it tells the
//! bridge when a user room gains its first local socket or loses its last one, and, since only
//! nodes holding a room then receive broadcasts to it, publishes a private message as one-room
//! broadcasts instead of one two-room broadcast on the namespace channel.

use super::{Broadcast, ChatHub, OutboundEvent};
use crate::bridge::RoomWatch;
use actix::prelude::*;
use std::sync::Arc;

/// From the bridge, in room-subscription mode: where to report room changes. Without it (one
/// node, or `--subscription-mode pattern`) the hub publishes as socket.io-redis 6 does.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WatchRooms(pub RoomWatch);

impl Handler<WatchRooms> for ChatHub {
    type Result = ();
    fn handle(&mut self, msg: WatchRooms, _: &mut Context<Self>) {
        self.room_watch = Some(msg.0);
    }
}

impl ChatHub {
    /// `user_id`'s room just got its first local socket: resolves once broadcasts to it reach
    /// this node (at once when rooms are not watched).
    pub(super) fn room_gained(&self, user_id: &str) -> impl std::future::Future<Output = ()> {
        let waiter = self.room_watch.as_ref().map(|watch| watch.gained(user_id));
        async move {
            if let Some(waiter) = waiter {
                // Err means the subscriber is gone: nothing to wait for.
                let _ = waiter.await;
            }
        }
    }

    /// `user_id`'s room just lost its last local socket.
    pub(super) fn room_lost(&self, user_id: &str) {
        if let Some(watch) = &self.room_watch {
            watch.lost(user_id);
        }
    }

    /// Delivers a private message locally to `to` and `from`, then publishes it for the other
    /// nodes: with room subscriptions, once to the recipient's room and once to the sender's
    /// (for its other tabs) when it is another user, both `except` the sending socket, so that
    /// no socket can get it twice (each is in one user room) and only nodes with a recipient
    /// receive it; otherwise as one two-room broadcast on the namespace channel.
    pub(super) fn broadcast_private(
        &mut self,
        to: String,
        from: String,
        sender_socket: String,
        event: Arc<OutboundEvent>,
    ) {
        if self.room_watch.is_none() {
            return self.broadcast(vec![to, from], vec![sender_socket], event);
        }
        let except = vec![sender_socket];
        self.deliver_locally(&[to.clone(), from.clone()], &except, &event);
        let Some(publish) = &self.publish else { return };
        let sender_room = (from != to).then_some(from);
        for room in std::iter::once(to).chain(sender_room) {
            publish.do_send(Broadcast {
                rooms: vec![room],
                except: except.clone(),
                event: event.clone(),
            });
        }
    }
}
