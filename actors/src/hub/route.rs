//! Routing of one private message: deliver it (locally and to the other nodes), persist it,
//! then tell the sending connection. Done by the hub rather than the connection so that the
//! store round trip stays on the hub's thread: per message, the only cross-thread hops are
//! connection -> hub, hub -> each recipient, and store -> sender for the acknowledgement.

use super::{ChatHub, OutboundEvent};
use crate::chat::to_json;
use crate::metrics::METRICS;
use crate::store::{AppendMessage, StoreError, StoredMessage};
use actix::prelude::*;
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
        let event = OutboundEvent::new("private message", vec![to_json(&message)]);
        let (to, from) = (message.to.clone(), message.from.clone());
        self.broadcast_private(to, from, sender_socket, event);
        let id = message.id.clone().unwrap_or_default();
        let Some(store) = self.messages.clone() else {
            if let Some(reply_to) = reply_to {
                reply_to.do_send(MessageStored {
                    ack,
                    id,
                    result: Err(StoreError::Unavailable),
                    received,
                });
            }
            return;
        };
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
        let Some(peers) = self.peers.clone() else {
            return Box::pin(async { Some(false) });
        };
        let query = super::PeerSockets {
            rooms: vec![msg.user_id],
        };
        Box::pin(async move { peers.send(query).await.ok().flatten().map(|n| n > 0) })
    }
}
