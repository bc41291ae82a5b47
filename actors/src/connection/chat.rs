//! The chat on a connection (SPEC §2): the handshake middleware, the connection sequence
//! (`session`, own room, `users`, `user connected` to the others), and `private message`.

use super::app::App;
use super::recovery::{connect_reply, try_restore};
use super::Connection;
use crate::chat::{
    event_frame, to_json, validate_private_message, validate_username, AckError, AckOk,
    ChatServices, HandshakeAuth, MessageRefusal, RateLimiter, SessionEvent, UserEvent,
};
use crate::engine::{random_hex, socket_id};
use crate::hub::{
    Broadcast, IsOnline, Join, Leave, MessageStored, OutboundEvent, Park, Restored, RouteMessage,
};
use crate::metrics::METRICS;
use crate::recovery::sender_tag::message_id;
use crate::recovery::{now_millis, stamp_offset};
use crate::store::{
    ConversationsOf, FindSession, ListUsers, SaveSession, Session, StoreError, StoredMessage,
    UserEntry, UserExists,
};
use actix::prelude::*;
use chat_protocol::socketio::Packet as SioPacket;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;

/// Who this connection is, once its handshake succeeded.
#[derive(Debug, Clone)]
pub(super) struct Identity {
    pub session_id: String,
    pub user_id: String,
    pub username: String,
}

/// Chat state of one connection.
pub(super) struct ChatSocket {
    services: ChatServices,
    pub(super) identity: Option<Identity>,
    limiter: RateLimiter,
    /// Events refused by the limiter since the last accepted one.
    refused_in_a_row: u64,
    /// The private session id handed out in the CONNECT reply when recovery is on (a secret
    /// like the sessionID: never logged).
    pub(super) pid: Option<String>,
    /// When the socket's recovery state in Redis was last written or extended.
    pub(super) recovery_state_extended: Instant,
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

/// Why a handshake was refused; the text is the CONNECT_ERROR message.
#[derive(Debug, Clone, Copy, thiserror::Error)]
enum Refusal {
    #[error("invalid username")]
    InvalidUsername,
    #[error("session store unavailable")]
    StoreUnavailable,
}

impl ChatSocket {
    pub fn new(services: ChatServices) -> ChatSocket {
        let limits = services.limits;
        ChatSocket {
            services,
            identity: None,
            limiter: RateLimiter::new(limits.messages_per_sec, limits.message_burst),
            refused_in_a_row: 0,
            pid: None,
            recovery_state_extended: Instant::now(),
        }
    }

    pub(super) fn services(&self) -> &ChatServices {
        &self.services
    }

    /// The socket left: the hub decides whether its user is now gone. When the reason may be
    /// recovered, the hub first parks the socket under its pid.
    pub fn leave(&mut self, socket_id: &str, recoverable: bool) {
        let Some(identity) = self.identity.take() else {
            return;
        };
        let pid = self.pid.take();
        if let (Some(shared), Some(pid)) = (self.services.shared_recovery.clone(), pid.clone()) {
            // The state in Redis lasts one window from now, or goes with the socket.
            actix::spawn(async move {
                let done = if recoverable {
                    shared.parked(&pid).await
                } else {
                    shared.forget(&pid).await
                };
                if done.is_err() {
                    METRICS.error("recovery_state_write");
                }
            });
        }
        if let Some(pid) = pid.filter(|_| recoverable) {
            self.services.hub.do_send(Park {
                pid,
                socket_id: socket_id.to_owned(),
                session_id: identity.session_id.clone(),
                user_id: identity.user_id.clone(),
                username: identity.username.clone(),
            });
        }
        self.services.hub.do_send(Leave {
            socket_id: socket_id.to_owned(),
            user_id: identity.user_id.clone(),
            session_id: identity.session_id,
            session: Session {
                user_id: identity.user_id,
                username: identity.username,
                connected: true,
            },
        });
    }
}

/// Everything the connection sequence needs, gathered before anything is emitted.
struct Welcome {
    identity: Identity,
    users: Vec<UserEvent>,
    /// With recovery on, the offset `users` carries (the log's head when the socket joined).
    offset: Option<String>,
}

/// How a handshake succeeded.
enum Accepted {
    /// A normal connection: the whole sequence.
    Welcome(Welcome),
    /// A parked socket given back: its id, and the events it missed.
    Recovered { restored: Restored, pid: String },
}

fn store_result<T>(r: Result<Result<T, StoreError>, MailboxError>) -> Result<T, StoreError> {
    r.unwrap_or(Err(StoreError::Unavailable))
}

impl Connection {
    fn chat(&self) -> Option<&ChatSocket> {
        match &self.app {
            App::Chat(chat) => Some(chat),
            _ => None,
        }
    }

    /// The handshake middleware and the connection sequence. Runs as the actor's only task
    /// until done (`ctx.wait`), so no event of this socket is handled before its `session`.
    pub(super) fn chat_connect(&mut self, auth: Option<Value>, ctx: &mut Context<Self>) {
        let Some(chat) = self.chat() else { return };
        let services = chat.services.clone();
        let socket_id = socket_id();
        let recipient = ctx.address().recipient();
        let joining = socket_id.clone();
        let welcome = async move {
            let auth: HandshakeAuth = auth
                .and_then(|a| serde_json::from_value(a).ok())
                .unwrap_or_default();
            if let Some((restored, pid)) = try_restore(&services, &auth, recipient.clone()).await {
                return Ok(Accepted::Recovered { restored, pid });
            }
            let identity = authenticate(&services, auth).await?;
            let offset = services
                .hub
                .send(Join {
                    socket_id: joining,
                    user_id: identity.user_id.clone(),
                    session_id: identity.session_id.clone(),
                    username: identity.username.clone(),
                    recipient,
                })
                .await
                .ok()
                .flatten();
            let session = Session {
                user_id: identity.user_id.clone(),
                username: identity.username.clone(),
                connected: true,
            };
            let saved = services
                .sessions
                .send(SaveSession {
                    session_id: identity.session_id.clone(),
                    session,
                })
                .await;
            if let Err(e) = store_result(saved) {
                METRICS.error("store_save_session");
                log::warn!("could not save session of {}: {e}", identity.user_id);
            }
            let users = list_users_with_history(&services, &identity).await;
            Ok::<_, Refusal>(Accepted::Welcome(Welcome {
                identity,
                users,
                offset,
            }))
        };
        ctx.wait(
            welcome
                .into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(Accepted::Welcome(welcome)) => act.chat_welcome(socket_id, welcome, ctx),
                    Ok(Accepted::Recovered { restored, pid }) => {
                        act.chat_recovered(restored, pid, ctx)
                    }
                    Err(refusal) => {
                        let kind = match refusal {
                            Refusal::InvalidUsername => "invalid_username",
                            Refusal::StoreUnavailable => "handshake_store_unavailable",
                        };
                        METRICS.error(kind);
                        METRICS.handshakes.with_label_values(&[kind]).inc();
                        let packet = SioPacket::connect_error("/", &refusal.to_string(), None);
                        act.send_packet(&packet, &[], ctx);
                    }
                }),
        );
    }

    fn chat_welcome(&mut self, socket_id: String, welcome: Welcome, ctx: &mut Context<Self>) {
        let Welcome {
            identity,
            users,
            offset,
        } = welcome;
        let App::Chat(chat) = &mut self.app else {
            return;
        };
        if chat.services.recovery.enabled() {
            chat.pid = Some(random_hex(16));
        }
        let pid = chat.pid.clone();
        METRICS.handshakes.with_label_values(&["accepted"]).inc();
        // The sessionID is a secret: logs name the sid and the public userID only.
        log::debug!("session {}: user {} connected", self.sid, identity.user_id);
        // A user with a socket here exists: messages to it need no directory check.
        chat.services.known_users.insert(&identity.user_id);
        chat.identity = Some(identity.clone());
        let hub = chat.services.hub.clone();
        self.sio.insert("/", socket_id.clone());
        if self.closing {
            // Closed while the handshake ran: undo the join.
            self.leave_all_namespaces();
            return;
        }
        self.send_connect_reply(&connect_reply(&socket_id, pid.as_deref()), ctx);
        self.remember_recovery_state(&socket_id);
        let session = SessionEvent {
            session_id: &identity.session_id,
            user_id: &identity.user_id,
        };
        self.emit(
            "/",
            Value::Array(vec!["session".into(), to_json(&session)]),
            None,
            &[],
            ctx,
        );
        // `users` carries the offset a recovery starts from (`session` needs none: the
        // client only keeps an offset that is a string last argument).
        let users = event_frame("users", &users);
        match offset {
            Some(offset) => self.send_all(&stamp_offset(&[users], &offset), ctx),
            None => self.send(users, ctx),
        }
        announce_connected(&hub, identity.user_id, identity.username, socket_id);
    }

    pub(super) fn chat_event(
        &mut self,
        socket_id: &str,
        data: Vec<Value>,
        ack: Option<u64>,
        ctx: &mut Context<Self>,
    ) {
        let App::Chat(chat) = &mut self.app else {
            return;
        };
        if !chat.limiter.allow() {
            chat.refused_in_a_row += 1;
            // A client that keeps flooding after a whole burst was refused is not a chat
            // client having a bad second: close it.
            if chat.refused_in_a_row > chat.services.limits.message_burst as u64 {
                METRICS.error("flood_closed");
                return self.close("event flood", false, ctx);
            }
            return self.refuse_message(MessageRefusal::RateLimited, ack, ctx);
        }
        chat.refused_in_a_row = 0;
        match data.first().and_then(Value::as_str) {
            Some("private message") => {
                self.private_message(socket_id.to_owned(), data.get(1), ack, ctx)
            }
            // Unknown events are ignored (as Node does without a handler), but counted.
            _ => METRICS.error("unknown_event"),
        }
    }

    /// Validates, checks the recipient exists, then hands the message to the hub, which
    /// delivers and persists it and reports back ([`MessageStored`]) for the ack. Recipients
    /// already seen to exist are remembered node-wide ([`crate::chat::KnownUsers`]), so most
    /// messages need no store round trip here; the first message to a new recipient waits for
    /// the check (`ctx.wait`), keeping this socket's messages in the order they were sent.
    fn private_message(
        &mut self,
        socket_id: String,
        payload: Option<&Value>,
        ack: Option<u64>,
        ctx: &mut Context<Self>,
    ) {
        let received = Instant::now();
        let App::Chat(chat) = &mut self.app else {
            return;
        };
        let Some(me) = chat.identity.clone() else {
            return;
        };
        let (content, to) = match validate_private_message(payload) {
            Ok(valid) => valid,
            Err(refusal) => return self.refuse_message(refusal, ack, ctx),
        };
        let route = RouteMessage {
            message: StoredMessage {
                content,
                from: me.user_id.clone(),
                to: to.clone(),
                id: Some(message_id(&socket_id)),
                ts: Some(now_millis()),
            },
            sender_socket: socket_id,
            reply_to: Some(ctx.address().recipient()),
            ack,
            received,
        };
        if to == me.user_id || chat.services.known_users.contains(&to) {
            chat.services.hub.do_send(route);
            return;
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
        ctx.wait(check.into_actor(self).map(move |recipient, act, ctx| {
            let App::Chat(chat) = &mut act.app else {
                return;
            };
            match recipient {
                Recipient::Known => {
                    chat.services.known_users.insert(&route.message.to);
                    chat.services.hub.do_send(route);
                }
                Recipient::Online => chat.services.hub.do_send(route),
                Recipient::Unknown => {
                    act.refuse_message(MessageRefusal::UnknownRecipient, ack, ctx)
                }
                Recipient::StoreDown(e) => {
                    log::warn!("could not check recipient: {e}");
                    act.refuse_message(MessageRefusal::StoreUnavailable, ack, ctx);
                }
            }
        }));
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

/// The handshake middleware: a known sessionID resumes its identity; otherwise a valid
/// username starts a new one.
async fn authenticate(services: &ChatServices, auth: HandshakeAuth) -> Result<Identity, Refusal> {
    if let Some(Value::String(session_id)) = auth.session_id {
        match store_result(
            services
                .sessions
                .send(FindSession(session_id.clone()))
                .await,
        ) {
            Ok(Some(session)) => {
                return Ok(Identity {
                    session_id,
                    user_id: session.user_id,
                    username: session.username,
                });
            }
            Ok(None) => {}
            Err(e) => {
                // Handing out a new identity would silently split the user in two.
                log::warn!("session lookup failed: {e}");
                return Err(Refusal::StoreUnavailable);
            }
        }
    }
    let username = validate_username(auth.username.as_ref()).ok_or(Refusal::InvalidUsername)?;
    Ok(Identity {
        session_id: random_hex(16),
        user_id: random_hex(8),
        username,
    })
}

/// Every known user, each with its conversation with `me`, oldest first. A store failure
/// degrades to what is known (at least the user itself) rather than refusing the connection.
async fn list_users_with_history(services: &ChatServices, me: &Identity) -> Vec<UserEvent> {
    let users = store_result(services.sessions.send(ListUsers).await).unwrap_or_else(|e| {
        METRICS.error("store_list_users");
        log::warn!("could not list users: {e}");
        Vec::new()
    });
    let history = store_result(
        services
            .messages
            .send(ConversationsOf(me.user_id.clone()))
            .await,
    )
    .unwrap_or_else(|e| {
        METRICS.error("store_messages_of");
        log::warn!("could not load history of {}: {e}", me.user_id);
        Vec::new()
    });
    let mut by_peer: HashMap<String, Vec<StoredMessage>> = HashMap::new();
    for message in history {
        let peer = if message.from == me.user_id {
            message.to.clone()
        } else {
            message.from.clone()
        };
        by_peer.entry(peer).or_default().push(message);
    }
    let mut listed = users;
    if !listed.iter().any(|u| u.user_id == me.user_id) {
        listed.push(UserEntry {
            user_id: me.user_id.clone(),
            username: me.username.clone(),
            connected: true,
        });
    }
    listed
        .into_iter()
        .map(|user| UserEvent {
            connected: user.connected || user.user_id == me.user_id,
            messages: by_peer.remove(&user.user_id).unwrap_or_default(),
            user_id: user.user_id,
            username: user.username,
        })
        .collect()
}

/// Tells every other socket, on every node, that the user is connected (`user connected`).
pub(super) fn announce_connected(
    hub: &Addr<crate::hub::ChatHub>,
    user_id: String,
    username: String,
    socket_id: String,
) {
    let me = UserEvent {
        user_id,
        username,
        connected: true,
        messages: Vec::new(),
    };
    METRICS
        .presence_announcements
        .with_label_values(&["connected"])
        .inc();
    hub.do_send(Broadcast {
        rooms: Vec::new(),
        except: vec![socket_id],
        event: OutboundEvent::new("user connected", vec![to_json(&me)]),
    });
}

impl Handler<MessageStored> for Connection {
    type Result = ();

    /// The hub stored (or failed to store) a message of this socket: answer its ack.
    fn handle(&mut self, msg: MessageStored, ctx: &mut Context<Self>) {
        match msg.result {
            Ok(()) => {
                METRICS
                    .message_latency
                    .observe(msg.received.elapsed().as_secs_f64());
                if let Some(ack) = msg.ack {
                    let reply = to_json(&AckOk {
                        ok: true,
                        id: &msg.id,
                    });
                    self.send_ack("/", ack, vec![reply], &[], ctx);
                }
            }
            Err(e) => {
                METRICS.error("store_append_message");
                log::warn!("could not store message {}: {e}", msg.id);
                self.ack_refusal(MessageRefusal::StoreUnavailable, msg.ack, ctx);
            }
        }
    }
}
