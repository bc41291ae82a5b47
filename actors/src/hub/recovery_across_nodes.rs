//! The hub's part of recovering a socket parked on another node (its state came from Redis):
//! it rejoins the socket's rooms first, so that nothing broadcast from then on can be missed,
//! and then tells the connection which of the messages Redis will replay it has already
//! delivered live since, so that none arrives twice. See `connection/recovery.rs` for the
//! sequence and [`crate::recovery`] for the design.

use super::{ChatHub, Deliver};
use crate::recovery::{ParkedSession, SharedRecovery};
use actix::prelude::*;
use std::collections::HashSet;

/// From a connection recovering a socket whose state came from Redis: join its rooms with
/// `recipient`. Resolves, once the user room is subscribed, with the offset of the log's head
/// (the local part of the offsets the replay carries). Whether the user must be announced
/// again is the session store's to say (whichever node announced it gone saved it so).
#[derive(Message)]
#[rtype(result = "String")]
pub struct Rejoin {
    pub session: ParkedSession,
    pub recipient: Recipient<Deliver>,
}

/// The ids of the private messages logged after `after` (a [`Rejoin`]'s head) that selected
/// `rooms`: delivered live to a rejoined socket already.
#[derive(Message)]
#[rtype(result = "HashSet<String>")]
pub struct DeliveredSince {
    pub after: String,
    pub rooms: Vec<String>,
}

/// Gives the hub the Redis side of recovery, so that broadcasts to everyone are kept there.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ShareRecovery(pub SharedRecovery);

impl Handler<Rejoin> for ChatHub {
    type Result = ResponseFuture<String>;
    fn handle(&mut self, msg: Rejoin, _: &mut Context<Self>) -> Self::Result {
        let session = msg.session;
        let subscribed = self.rejoin(&session, msg.recipient);
        let head = self
            .recovery
            .as_mut()
            .map(|recovery| recovery.joined_at_head(&session.user_id))
            .unwrap_or_default();
        Box::pin(async move {
            subscribed.await;
            head
        })
    }
}

impl Handler<DeliveredSince> for ChatHub {
    type Result = MessageResult<DeliveredSince>;
    fn handle(&mut self, msg: DeliveredSince, _: &mut Context<Self>) -> Self::Result {
        let ids = self
            .recovery
            .as_ref()
            .map(|recovery| recovery.message_ids_after(&msg.after, &msg.rooms))
            .unwrap_or_default();
        MessageResult(ids)
    }
}

impl Handler<ShareRecovery> for ChatHub {
    type Result = ();
    fn handle(&mut self, msg: ShareRecovery, _: &mut Context<Self>) {
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.shared = Some(msg.0);
        }
    }
}
