//! The chat's handshake (SPEC §2): the middleware (a known sessionID resumes its identity,
//! else a valid username starts a new one) and the connection sequence: `session`, the own
//! room, `users`, and `user connected` to everyone else. A CONNECT carrying `{pid, offset}` is
//! offered to connection state recovery first (`crate::recovery`); a recovered socket gets its
//! own, shorter sequence (`chat_recovered`).

use super::socket::{ChatConnection, Identity};
use super::{
    event_frame, to_json, validate_username, ChatServices, HandshakeAuth, SessionEvent, UserEvent,
};
use crate::hub::{Join, Joined};
use crate::ids::{random_hex, socket_id};
use crate::metrics::METRICS;
use crate::presence::announce_connected;
use crate::recovery::{connect_reply, stamp_offset, try_restore, RecoveryAuth, Restored};
use crate::store::{
    ConversationsOf, FindSession, ListUsers, SaveSession, Session, StoreError, StoredMessage,
    UserEntry,
};
use actix::prelude::*;
use chat_protocol::socketio::Packet as SioPacket;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Why a handshake was refused; the text is the CONNECT_ERROR message.
#[derive(Debug, Clone, Copy, thiserror::Error)]
enum Refusal {
    #[error("invalid username")]
    InvalidUsername,
    #[error("session store unavailable")]
    StoreUnavailable,
}

/// Everything the connection sequence needs, gathered before anything is emitted.
struct Welcome {
    identity: Identity,
    users: Vec<UserEvent>,
    /// With recovery on, the offset `users` carries (the log's head when the socket joined);
    /// whether the user is announced.
    joined: Joined,
}

/// How a handshake succeeded.
enum Accepted {
    /// A normal connection: the whole sequence.
    Welcome(Welcome),
    /// A parked socket given back: its id, and the events it missed.
    Recovered { restored: Restored, pid: String },
}

/// A store's answer, a gone store actor counting as unavailable.
pub(super) fn store_result<T>(
    r: Result<Result<T, StoreError>, MailboxError>,
) -> Result<T, StoreError> {
    r.unwrap_or(Err(StoreError::Unavailable))
}

impl ChatConnection {
    /// The handshake middleware and the connection sequence. Runs as the actor's only task
    /// until done (`ctx.wait`), so no event of this socket is handled before its `session`.
    pub(super) fn chat_connect(&mut self, auth: Option<Value>, ctx: &mut Context<Self>) {
        let services = self.app.services.clone();
        let socket_id = socket_id();
        // What is routed to the socket from its join on waits behind its connection sequence.
        let outbox = self.outbox().clone();
        outbox.hold();
        let joining = socket_id.clone();
        let welcome = async move {
            let auth: HandshakeAuth = auth
                .and_then(|a| serde_json::from_value(a).ok())
                .unwrap_or_default();
            let recovery = RecoveryAuth {
                pid: auth.pid.as_ref(),
                offset: auth.offset.as_ref(),
                session_id: auth.session_id.as_ref(),
            };
            if let Some((restored, pid)) = try_restore(&services.recovery, recovery, &outbox).await
            {
                return Ok(Accepted::Recovered { restored, pid });
            }
            let identity = authenticate(&services, auth).await?;
            let joined = services
                .hub
                .send(Join {
                    socket_id: joining,
                    user_id: identity.user_id.clone(),
                    session_id: identity.session_id.clone(),
                    username: identity.username.clone(),
                    outbox,
                })
                .await
                .unwrap_or(Joined {
                    offset: None,
                    announce: true,
                });
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
                joined,
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
                        act.outbox().release(None);
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
            joined: Joined { offset, announce },
        } = welcome;
        let ping_interval = self.config().ping_interval;
        let chat = &mut self.app;
        let services = chat.services.clone();
        chat.recovery.issue_pid(&services.recovery.config);
        let pid = chat.recovery.pid().map(str::to_owned);
        METRICS.handshakes.with_label_values(&["accepted"]).inc();
        // The sessionID is a secret: logs name the sid and the public userID only.
        log::debug!(
            "session {}: user {} connected",
            self.sid(),
            identity.user_id
        );
        // A user with a socket here exists: messages to it need no directory check.
        services.known_users.insert(&identity.user_id);
        self.app.identity = Some(identity.clone());
        self.sio.insert("/", socket_id.clone());
        if self.is_closing() {
            // Closed while the handshake ran: undo the join.
            self.leave_all_namespaces();
            return;
        }
        self.send_connect_reply(&connect_reply(&socket_id, pid.as_deref()), ctx);
        self.admin_socket_connected(
            "/",
            &socket_id,
            json!({ "userID": identity.user_id, "username": identity.username }),
            vec![identity.user_id.clone()],
            ctx,
        );
        let state = identity.parked_state(&socket_id);
        self.app
            .recovery
            .remember(&services.recovery, state, ping_interval);
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
        // What was routed to the socket since its join follows its `users`.
        self.outbox().release(None);
        // Back within its presence grace: nobody was told it left, so nobody is told it came.
        if announce {
            announce_connected(
                &services.hub,
                identity.user_id,
                identity.username,
                socket_id,
            );
        }
    }

    /// The recovered socket's sequence: CONNECT with the same sid and pid, the missed events
    /// in order, and `user connected` to the others if the user had been announced gone.
    fn chat_recovered(&mut self, restored: Restored, pid: String, ctx: &mut Context<Self>) {
        let Restored {
            session,
            missed,
            replayed,
            announce,
        } = restored;
        let ping_interval = self.config().ping_interval;
        let identity = Identity {
            session_id: session.session_id.clone(),
            user_id: session.user_id.clone(),
            username: session.username.clone(),
        };
        let chat = &mut self.app;
        chat.identity = Some(identity.clone());
        chat.recovery.recovered(pid.clone());
        let services = chat.services.clone();
        self.sio.insert("/", session.socket_id.clone());
        if self.is_closing() {
            // Closed while the hub answered: leave (and park) again.
            self.leave_all_namespaces();
            return;
        }
        log::debug!(
            "session {}: user {} recovered, {} missed events",
            self.sid(),
            session.user_id,
            missed.len()
        );
        self.send_connect_reply(&connect_reply(&session.socket_id, Some(&pid)), ctx);
        self.admin_socket_connected(
            "/",
            &session.socket_id,
            json!({ "userID": session.user_id, "username": session.username }),
            vec![session.user_id.clone()],
            ctx,
        );
        let state = identity.parked_state(&session.socket_id);
        self.app
            .recovery
            .remember(&services.recovery, state, ping_interval);
        for frames in &missed {
            self.send_all(frames, ctx);
        }
        self.outbox().release(replayed);
        if !announce {
            return;
        }
        services.sessions.do_send(SaveSession {
            session_id: session.session_id,
            session: Session {
                user_id: session.user_id.clone(),
                username: session.username.clone(),
                connected: true,
            },
        });
        announce_connected(
            &services.hub,
            session.user_id,
            session.username,
            session.socket_id,
        );
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
    if !listed.iter().any(|u| *u.user_id == *me.user_id) {
        listed.push(UserEntry {
            user_id: me.user_id.as_str().into(),
            username: me.username.as_str().into(),
            connected: true,
        });
    }
    listed
        .into_iter()
        .map(|user| UserEvent {
            connected: user.connected || *user.user_id == *me.user_id,
            messages: by_peer.remove(&*user.user_id).unwrap_or_default(),
            user_id: user.user_id,
            username: user.username,
        })
        .collect()
}
