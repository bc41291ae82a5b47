//! Connection state recovery on a chat connection: a CONNECT carrying `{pid, offset}` asks
//! the hub for the parked socket; a recovered socket gets its id, pid and missed events back,
//! and none of the connection sequence (`session`, `users`): the client has them and the
//! replay covers the gap. See [`crate::recovery`] for the design.

use super::app::App;
use super::chat::{announce_connected, Identity};
use super::recovery_across_nodes::restore_from_redis;
use super::Connection;
use crate::chat::{ChatServices, HandshakeAuth};
use crate::hub::{Deliver, Restore, Restored};
use crate::metrics::METRICS;
use crate::recovery::{ParkedSession, Unrecoverable};
use crate::store::{SaveSession, Session};
use actix::prelude::*;
use chat_protocol::socketio::{Packet as SioPacket, PacketKind};
use serde_json::{json, Value};
use std::time::Instant;

/// The CONNECT reply: `{"sid"}`, plus `"pid"` when recovery is on.
pub(super) fn connect_reply(socket_id: &str, pid: Option<&str>) -> SioPacket {
    let data = match pid {
        Some(pid) => json!({ "sid": socket_id, "pid": pid }),
        None => json!({ "sid": socket_id }),
    };
    SioPacket {
        kind: PacketKind::Connect,
        nsp: "/".to_owned(),
        id: None,
        data: Some(data),
        attachments: 0,
    }
}

/// The parked socket named by the handshake's `pid`, restored by the hub, with that pid; or
/// `None` for a normal connection (no pid, recovery off, or a refusal, counted in metrics).
pub(super) async fn try_restore(
    services: &ChatServices,
    auth: &HandshakeAuth,
    recipient: Recipient<Deliver>,
) -> Option<(Restored, String)> {
    if !services.recovery.enabled() {
        return None;
    }
    let (pid, offset) = match (&auth.pid, &auth.offset) {
        (None, _) => return None,
        (Some(Value::String(pid)), Some(Value::String(offset))) => (pid, offset),
        _ => {
            METRICS.error("recovery_malformed_auth");
            return None;
        }
    };
    let session_id = match &auth.session_id {
        Some(Value::String(id)) => Some(id.clone()),
        _ => None,
    };
    // With Redis, the shared state decides whether the pid is still good (it may have been
    // used on another node since it was parked here); without an answer from Redis, this
    // node's memory alone does.
    let shared = services.shared_recovery.as_ref();
    let taken = match shared {
        Some(shared) => Some(shared.take(pid, session_id.as_deref()).await),
        None => None,
    };
    let restored = match taken {
        Some(Err(refused)) if refused != Unrecoverable::StoreUnavailable => Err(refused),
        _ => {
            let restore = Restore {
                pid: pid.clone(),
                offset: offset.clone(),
                session_id: session_id.clone(),
                recipient: recipient.clone(),
            };
            let local = services
                .hub
                .send(restore)
                .await
                .unwrap_or(Err(Unrecoverable::UnknownPid));
            match (local, shared, taken) {
                // Parked on another node: rebuild its state from Redis.
                (Err(Unrecoverable::UnknownPid), Some(shared), Some(Ok(session))) => {
                    let restored =
                        restore_from_redis(services, shared, session, offset, recipient).await;
                    if restored.is_ok() {
                        METRICS
                            .handshakes
                            .with_label_values(&["recovered_from_redis"])
                            .inc();
                    }
                    restored
                }
                (local, _, _) => local,
            }
        }
    };
    match restored {
        Ok(restored) => Some((restored, pid.clone())),
        Err(refused) => {
            METRICS.error(&refused.kind());
            None
        }
    }
}

/// The parked state of a connected socket, as kept in Redis for the other nodes.
fn parked_state(socket_id: &str, identity: &Identity) -> ParkedSession {
    ParkedSession {
        socket_id: socket_id.to_owned(),
        session_id: identity.session_id.clone(),
        user_id: identity.user_id.clone(),
        username: identity.username.clone(),
        rooms: vec![socket_id.to_owned(), identity.user_id.clone()],
    }
}

impl Connection {
    /// A socket with a pid just connected or was recovered: its state goes to Redis now, so
    /// that it is there if this node dies (no-op without Redis).
    pub(super) fn remember_recovery_state(&mut self, socket_id: &str) {
        let ttl_base = self.server.config.ping_interval;
        let App::Chat(chat) = &mut self.app else {
            return;
        };
        let (Some(shared), Some(pid), Some(identity)) = (
            chat.services().shared_recovery.clone(),
            chat.pid.clone(),
            &chat.identity,
        ) else {
            return;
        };
        chat.recovery_state_extended = Instant::now();
        let state = parked_state(socket_id, identity);
        let ttl = shared.live_ttl(ttl_base);
        actix::spawn(async move {
            if let Err(e) = shared.remember(&pid, &state, ttl).await {
                METRICS.error("recovery_state_write");
                log::warn!(
                    "could not keep recovery state of a socket of {}: {e}",
                    state.user_id
                );
            }
        });
    }

    /// On a pong: extends the socket's state in Redis when half a window has passed.
    pub(super) fn extend_recovery_state(&mut self) {
        let ping_interval = self.server.config.ping_interval;
        let App::Chat(chat) = &mut self.app else {
            return;
        };
        let (Some(shared), Some(pid)) = (chat.services().shared_recovery.clone(), chat.pid.clone())
        else {
            return;
        };
        if chat.recovery_state_extended.elapsed() < shared.extend_every() {
            return;
        }
        chat.recovery_state_extended = Instant::now();
        let ttl = shared.live_ttl(ping_interval);
        actix::spawn(async move {
            if shared.extend(&pid, ttl).await.is_err() {
                METRICS.error("recovery_state_write");
            }
        });
    }
}

impl Connection {
    /// The recovered socket's sequence: CONNECT with the same sid and pid, the missed events
    /// in order, and `user connected` to the others if the user had been announced gone.
    pub(super) fn chat_recovered(
        &mut self,
        restored: Restored,
        pid: String,
        ctx: &mut Context<Self>,
    ) {
        let Restored {
            session,
            missed,
            announce,
        } = restored;
        let App::Chat(chat) = &mut self.app else {
            return;
        };
        chat.identity = Some(Identity {
            session_id: session.session_id.clone(),
            user_id: session.user_id.clone(),
            username: session.username.clone(),
        });
        chat.pid = Some(pid.clone());
        let services = chat.services().clone();
        self.sio.insert("/", session.socket_id.clone());
        if self.closing {
            // Closed while the hub answered: leave (and park) again.
            self.leave_all_namespaces();
            return;
        }
        log::debug!(
            "session {}: user {} recovered, {} missed events",
            self.sid,
            session.user_id,
            missed.len()
        );
        self.send_connect_reply(&connect_reply(&session.socket_id, Some(&pid)), ctx);
        self.remember_recovery_state(&session.socket_id);
        for frames in &missed {
            self.send_all(frames, ctx);
        }
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
