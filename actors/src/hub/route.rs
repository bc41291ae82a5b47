//! Routing of one private message: deliver it (locally and to the other nodes), persist it,
//! then tell the sending connection. Done by the hub rather than the connection so that the
//! store round trip stays on the hub's thread: per message, the only cross-thread hops are
//! connection -> hub, hub -> each recipient, and store -> sender for the acknowledgement.

use super::{Broadcast, ChatHub};
use crate::event::OutboundEvent;
use crate::metrics::METRICS;
use crate::store::{AppendMessage, StoreError, StoredMessage};
use actix::prelude::*;
use std::sync::Arc;
use std::time::Instant;

/// Routes and persists a validated private message whose recipient is known to exist.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RouteMessage {
    pub message: StoredMessage,
    /// The sending socket, which must not receive its own message.
    pub sender_socket: String,
    /// Told once the message is stored (or could not be).
    pub reply_to: Option<Recipient<MessageStored>>,
    /// The client's ack id, handed back in [`MessageStored`].
    pub ack: Option<u64>,
    pub received: Instant,
}

/// To the sending connection: the outcome of persisting its message.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MessageStored {
    pub ack: Option<u64>,
    pub id: String,
    pub result: Result<(), StoreError>,
    pub received: Instant,
}

impl Handler<RouteMessage> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: RouteMessage, ctx: &mut Context<Self>) {
        let RouteMessage {
            message,
            sender_socket,
            reply_to,
            ack,
            received,
        } = msg;
        METRICS.messages_routed.inc();
        let payload = serde_json::to_value(&message).unwrap_or(serde_json::Value::Null);
        let event = OutboundEvent::new("private message", vec![payload]);
        let (to, from) = (message.to.clone(), message.from.clone());
        self.broadcast_private(to, from, sender_socket, event);
        let id = message.id.clone().unwrap_or_default();
        let store = self.messages.clone();
        ctx.spawn(
            store
                .send(AppendMessage(message))
                .into_actor(self)
                .map(move |result, _, _| {
                    let result = result.unwrap_or(Err(StoreError::Unavailable));
                    if let Some(reply_to) = reply_to {
                        reply_to.do_send(MessageStored {
                            ack,
                            id,
                            result,
                            received,
                        });
                    }
                }),
        );
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
        if self.rooms.room_size(&msg.user_id) > 0 {
            return Box::pin(async { Some(true) });
        }
        let remote = self.cluster.remote_sockets(vec![msg.user_id]);
        Box::pin(async move { remote.await.map(|n| n > 0) })
    }
}

impl ChatHub {
    /// Delivers a private message locally to `to` and `from`, then publishes it for the other
    /// nodes: when they subscribe to user rooms, once to the recipient's room and once to the
    /// sender's (for its other tabs) when it is another user, both `except` the sending socket,
    /// so that no socket can get it twice (each is in one user room) and only nodes with a
    /// recipient receive it; otherwise as one two-room broadcast on the namespace channel.
    fn broadcast_private(
        &mut self,
        to: String,
        from: String,
        sender_socket: String,
        event: Arc<OutboundEvent>,
    ) {
        if !self.cluster.subscribes_rooms() {
            return self.broadcast(vec![to, from], vec![sender_socket], event);
        }
        let except = vec![sender_socket];
        self.deliver_locally(&[to.clone(), from.clone()], &except, &event);
        let sender_room = (from != to).then_some(from);
        for room in std::iter::once(to).chain(sender_room) {
            self.cluster.publish(Broadcast {
                rooms: vec![room],
                except: except.clone(),
                event: event.clone(),
            });
        }
    }
}
