//! Private messaging on a chat socket (SPEC §2): the rate limit, validation, the recipient
//! check, routing (delivered from this connection's own thread straight into the recipients'
//! outboxes, and published for the other nodes), persisting, and the acknowledgement once
//! stored, written from the store's completion.

use super::handshake::store_result;
use super::payloads::PrivateMessageFields;
use super::socket::ChatConnection;
use super::{
    to_json, validate_message_fields, validate_private_message, AckError, AckOk, MessageRefusal,
};
use crate::event::OutboundEvent;
use crate::hub::{route_private, IsOnline};
use crate::metrics::METRICS;
use crate::recovery::now_millis;
use crate::recovery::sender_tag::message_id;
use crate::store::{StoreError, StoredMessage, UserExists};
use actix::prelude::*;
use futures_util::FutureExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// A validated private message whose recipient is known to exist, ready to route.
struct Route {
    message: StoredMessage,
    /// The sending socket, which must not receive its own message.
    sender_socket: String,
    /// The client's ack id.
    ack: Option<u64>,
    received: Instant,
}

/// What the recipient check of a private message found.
enum Recipient {
    /// In the user directory.
    Known,
    /// Not (or not knowably) in the directory, but has a socket on some node right now.
    Online,
    Unknown,
    StoreDown(StoreError),
}

impl ChatConnection {
    pub(super) fn chat_event(
        &mut self,
        socket_id: &str,
        data: Vec<Value>,
        ack: Option<u64>,
        ctx: &mut Context<Self>,
    ) {
        if !self.admit_event(ack, ctx) {
            return;
        }
        match data.first().and_then(Value::as_str) {
            Some("private message") => {
                let valid = validate_private_message(data.get(1));
                self.private_message(socket_id.to_owned(), valid, ack, ctx)
            }
            // Unknown events are ignored (as Node does without a handler), but counted.
            _ => METRICS.error("unknown_event"),
        }
    }

    /// A `private message` the typed path decoded (`ChatSocket::on_event_text`): the same as
    /// one through [`Self::chat_event`], from its two fields.
    pub(super) fn typed_private_message(
        &mut self,
        socket_id: String,
        PrivateMessageFields { content, to }: PrivateMessageFields<'_>,
        ack: Option<u64>,
        ctx: &mut Context<Self>,
    ) {
        if !self.admit_event(ack, ctx) {
            return;
        }
        let valid = validate_message_fields(&content, &to)
            .map(|()| (content.into_owned(), to.into_owned()));
        self.private_message(socket_id, valid, ack, ctx)
    }

    /// The rate limit of a chat event: whether it may be handled. A refused one is answered
    /// (or, past a whole burst refused in a row, the client is closed).
    fn admit_event(&mut self, ack: Option<u64>, ctx: &mut Context<Self>) -> bool {
        let chat = &mut self.app;
        if !chat.limiter.allow() {
            chat.refused_in_a_row += 1;
            // A client that keeps flooding after a whole burst was refused is not a chat
            // client having a bad second: close it.
            if chat.refused_in_a_row > chat.services.limits.message_burst as u64 {
                METRICS.error("flood_closed");
                self.close("event flood", false, ctx);
            } else {
                self.refuse_message(MessageRefusal::RateLimited, ack, ctx);
            }
            return false;
        }
        chat.refused_in_a_row = 0;
        true
    }

    /// Validates, checks the recipient exists, then routes and persists it ([`Self::route`]).
    /// Recipients already seen to exist are remembered node-wide
    /// ([`crate::chat::KnownUsers`]), so most messages need no store round trip here; the first
    /// message to a new recipient waits for the check (`ctx.wait`), keeping this socket's
    /// messages in the order they were sent.
    fn private_message(
        &mut self,
        socket_id: String,
        valid: Result<(String, String), MessageRefusal>,
        ack: Option<u64>,
        ctx: &mut Context<Self>,
    ) {
        let received = Instant::now();
        let chat = &mut self.app;
        let Some(me) = chat.identity.clone() else {
            return;
        };
        let (content, to) = match valid {
            Ok(valid) => valid,
            Err(refusal) => return self.refuse_message(refusal, ack, ctx),
        };
        let route = Route {
            message: StoredMessage {
                content,
                from: me.user_id.clone(),
                to: to.clone(),
                id: Some(message_id(&socket_id)),
                ts: Some(now_millis()),
            },
            sender_socket: socket_id,
            ack,
            received,
        };
        if to == me.user_id || chat.services.known_users.contains(&to) {
            return self.route(route, ctx);
        }
        let sessions = chat.services.sessions.clone();
        let hub = chat.services.hub.clone();
        let check = async move {
            let stored = store_result(sessions.send(UserExists(to.clone())).await);
            if let Ok(true) = stored {
                return Recipient::Known;
            }
            // Not in our directory (a user created by a Node node of a mixed cluster) or the
            // store is down: a user with a socket somewhere exists all the same, and local
            // delivery must keep working through a Redis outage.
            match (hub.send(IsOnline { user_id: to }).await, stored) {
                (Ok(Some(true)), _) => Recipient::Online,
                (_, Ok(_)) => Recipient::Unknown,
                (_, Err(e)) => Recipient::StoreDown(e),
            }
        };
        ctx.wait(
            check
                .into_actor(self)
                .map(move |recipient, act, ctx| match recipient {
                    Recipient::Known => {
                        act.app.services.known_users.insert(&route.message.to);
                        act.route(route, ctx);
                    }
                    Recipient::Online => act.route(route, ctx),
                    Recipient::Unknown => {
                        act.refuse_message(MessageRefusal::UnknownRecipient, ack, ctx)
                    }
                    Recipient::StoreDown(e) => {
                        log::warn!("could not check recipient: {e}");
                        act.refuse_message(MessageRefusal::StoreUnavailable, ack, ctx);
                    }
                }),
        );
    }

    /// Delivers the message (here, to the local recipients, and to the other nodes), then
    /// persists it; the client's ack is answered when the store has it.
    fn route(&mut self, route: Route, ctx: &mut Context<Self>) {
        let Route {
            message,
            sender_socket,
            ack,
            received,
        } = route;
        METRICS.messages_routed.inc();
        let services = self.app.services.clone();
        let id = message.id.clone().unwrap_or_default();
        let event = OutboundEvent::private_message(&message, &id, message.ts.unwrap_or(0));
        route_private(
            &services.delivery,
            services.cluster.as_ref(),
            (&message.to, &message.from),
            &sender_socket,
            event,
        );
        let mut stored = services.history.append_shared(Arc::new(message));
        // The in-memory store answers at once: no future to spawn then.
        match (&mut stored).now_or_never() {
            Some(result) => self.on_stored(ack, &id, result, received, ctx),
            None => {
                ctx.spawn(
                    stored.into_actor(self).map(move |result, act, ctx| {
                        act.on_stored(ack, &id, result, received, ctx)
                    }),
                );
            }
        }
    }

    /// The store has the message (or could not store it): answers the client's ack.
    fn on_stored(
        &mut self,
        ack: Option<u64>,
        id: &str,
        result: Result<(), StoreError>,
        received: Instant,
        ctx: &mut Context<Self>,
    ) {
        match result {
            Ok(()) => {
                METRICS
                    .message_latency
                    .observe(received.elapsed().as_secs_f64());
                if let Some(ack) = ack {
                    let reply = to_json(&AckOk { ok: true, id });
                    self.send_ack("/", ack, vec![reply], &[], ctx);
                }
            }
            Err(e) => {
                METRICS.error("store_append_message");
                log::warn!("could not store message {id}: {e}");
                self.ack_refusal(MessageRefusal::StoreUnavailable, ack, ctx);
            }
        }
    }

    fn refuse_message(
        &mut self,
        refusal: MessageRefusal,
        ack: Option<u64>,
        ctx: &mut Context<Self>,
    ) {
        METRICS.error(refusal.kind());
        self.ack_refusal(refusal, ack, ctx);
    }

    /// Answers the client's ack, if it asked for one, with `{"error": <refusal>}`.
    fn ack_refusal(&mut self, refusal: MessageRefusal, ack: Option<u64>, ctx: &mut Context<Self>) {
        if let Some(ack) = ack {
            let reply = to_json(&AckError {
                error: &refusal.to_string(),
            });
            self.send_ack("/", ack, vec![reply], &[], ctx);
        }
    }
}
