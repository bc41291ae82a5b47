//! One chat socket: who it is once its handshake succeeded, what it may still send, and its
//! recovery state; and the [`SocketApp`] that hands a connection's Socket.IO traffic to the
//! handshake (`handshake.rs`) and to private messaging (`private_message.rs`).

use super::payloads::PrivateMessageEvent;
use super::{ChatServices, RateLimiter};
use crate::admin::{is_admin_namespace, AdminApp, AdminServices};
use crate::connection::{Connection, Event, SocketApp};
use crate::metrics::METRICS;
use crate::presence::Leave;
use crate::recovery::{ParkedSession, SocketRecovery};
use crate::store::Session;
use actix::Context;
use chat_protocol::socketio::{decode_event_as, Packet as SioPacket};
use serde_json::Value;
use std::sync::Arc;

/// Who this connection is, once its handshake succeeded.
#[derive(Debug, Clone)]
pub(super) struct Identity {
    pub session_id: String,
    pub user_id: String,
    pub username: String,
}

impl Identity {
    /// The state of its socket `socket_id` as recovery keeps it (own room and user room).
    pub fn parked_state(&self, socket_id: &str) -> ParkedSession {
        ParkedSession {
            socket_id: socket_id.to_owned(),
            session_id: self.session_id.clone(),
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            rooms: vec![socket_id.to_owned(), self.user_id.clone()],
        }
    }
}

/// Chat state of one connection.
pub struct ChatSocket {
    pub(super) services: Arc<ChatServices>,
    pub(super) identity: Option<Identity>,
    pub(super) limiter: RateLimiter,
    /// Events refused by the limiter since the last accepted one.
    pub(super) refused_in_a_row: u64,
    pub(super) recovery: SocketRecovery,
}

/// A connection serving the chat.
pub type ChatConnection = Connection<ChatSocket>;

impl SocketApp for ChatSocket {
    type Shared = Arc<ChatServices>;

    fn new(services: &Arc<ChatServices>) -> ChatSocket {
        let limits = services.limits;
        ChatSocket {
            services: services.clone(),
            identity: None,
            limiter: RateLimiter::new(limits.messages_per_sec, limits.message_burst),
            refused_in_a_row: 0,
            recovery: SocketRecovery::default(),
        }
    }

    fn on_connect(
        conn: &mut ChatConnection,
        nsp: String,
        auth: Option<Value>,
        ctx: &mut Context<ChatConnection>,
    ) {
        if is_admin_namespace(conn, &nsp) {
            conn.admin_connect(nsp, auth, ctx);
        } else if nsp == "/" && conn.sio.any_namespace() {
            // A dashboard's session never becomes a chat user.
            METRICS
                .handshakes
                .with_label_values(&["admin_session"])
                .inc();
            let packet = SioPacket::connect_error("/", "not a chat session", None);
            conn.send_packet(&packet, &[], ctx);
        } else if nsp == "/" {
            conn.chat_connect(auth, ctx);
        } else {
            conn.refuse_namespace(&nsp, ctx);
        }
    }

    /// The typed path of the chat's one bulk event: a `private message` on the main
    /// namespace is validated from its two fields, with no JSON tree built. Anything else, and
    /// everything while the admin UI shows events (it wants their arguments as JSON), goes
    /// through [`SocketApp::on_event`].
    fn on_event_text(
        conn: &mut ChatConnection,
        text: &str,
        ctx: &mut Context<ChatConnection>,
    ) -> bool {
        if conn
            .app
            .admin()
            .is_some_and(|admin| admin.config.show_events)
        {
            return false;
        }
        let Some((ack, PrivateMessageEvent(name, fields))) = decode_event_as(text) else {
            return false;
        };
        if name != "private message" {
            return false;
        }
        let Some(socket_id) = conn.sio.socket_id("/").map(str::to_owned) else {
            return false;
        };
        conn.typed_private_message(socket_id, fields, ack, ctx);
        true
    }

    fn on_event(conn: &mut ChatConnection, event: Event, ctx: &mut Context<ChatConnection>) {
        if event.nsp != "/" {
            return conn.admin_event(event, ctx);
        }
        conn.admin_event_received(&event.nsp, &event.socket_id, &event.data);
        conn.chat_event(&event.socket_id, event.data, event.id, ctx);
    }

    fn on_upgrade(conn: &mut ChatConnection) {
        conn.admin_upgraded();
    }

    /// The socket left: the hub decides whether its user is now gone. When the reason may be
    /// recovered, the hub first parks the socket under its pid.
    fn on_leave(conn: &mut ChatConnection, nsp: &str, socket_id: &str, recoverable: bool) {
        let reason = conn.leave_reason();
        conn.admin_socket_left(nsp, socket_id, reason);
        if nsp != "/" {
            return;
        }
        let chat = &mut conn.app;
        let Some(identity) = chat.identity.take() else {
            return;
        };
        let services = chat.services.clone();
        chat.recovery.leave(
            &services.recovery,
            identity.parked_state(socket_id),
            recoverable,
        );
        services.hub.do_send(Leave {
            socket_id: socket_id.to_owned(),
            user_id: identity.user_id.clone(),
            session_id: identity.session_id,
            session: Session {
                user_id: identity.user_id,
                username: identity.username,
                connected: true,
            },
            recoverable,
        });
    }

    /// On a pong the socket's recovery state in Redis is extended now and then.
    fn on_pong(conn: &mut ChatConnection) {
        let ping_interval = conn.config().ping_interval;
        let chat = &mut conn.app;
        chat.recovery.extend(&chat.services.recovery, ping_interval);
    }
}

impl AdminApp for ChatSocket {
    fn admin(&self) -> Option<&Arc<AdminServices>> {
        self.services.admin.as_ref()
    }
}
