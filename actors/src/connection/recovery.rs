//! Connection state recovery on a chat connection: a CONNECT carrying `{pid, offset}` asks
//! the hub for the parked socket; a recovered socket gets its id, pid and missed events back,
//! and none of the connection sequence (`session`, `users`): the client has them and the
//! replay covers the gap. See [`crate::recovery`] for the design.

use super::app::App;
use super::chat::{announce_connected, Identity};
use super::Connection;
use crate::chat::{ChatServices, HandshakeAuth};
use crate::hub::{Deliver, Restore, Restored};
use crate::metrics::METRICS;
use crate::store::{SaveSession, Session};
use actix::prelude::*;
use chat_protocol::socketio::{Packet as SioPacket, PacketKind};
use serde_json::{json, Value};

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
    let restore = Restore {
        pid: pid.clone(),
        offset: offset.clone(),
        session_id,
        recipient,
    };
    match services.hub.send(restore).await {
        Ok(Ok(restored)) => Some((restored, pid.clone())),
        Ok(Err(refused)) => {
            METRICS.error(&refused.kind());
            None
        }
        Err(_) => None,
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
