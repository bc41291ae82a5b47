//! The connection's side of the admin namespace, for any app that has one ([`AdminApp`]):
//! the handshake (refused on a chat session, credentials checked off the connection's
//! thread), commands in (parsed, refused in read-only mode, acknowledged when the UI asks),
//! events out ([`AdminPush`]), what a command does to a socket ([`AdminOrder`]), and the
//! reports of the app's own sockets to the directory and the hub.

use super::auth::{check, Admitted, AuthError, Credentials};
use super::commands::{parse, CommandError};
use super::directory::Entry;
use super::messages::*;
use super::AdminServices;
use crate::connection::{Connection, Event, SocketApp};
use crate::ids::socket_id;
use crate::metrics::METRICS;
use actix::prelude::*;
use chat_protocol::socketio::{Packet as SioPacket, PacketKind};
use serde_json::{json, Value};
use std::sync::Arc;

/// An app whose node may have an admin namespace.
pub trait AdminApp: SocketApp {
    /// The node's admin services, when the admin namespace is on.
    fn admin(&self) -> Option<&Arc<AdminServices>>;
}

/// Whether `nsp` is the node's admin namespace.
pub fn is_admin_namespace<A: AdminApp>(conn: &Connection<A>, nsp: &str) -> bool {
    conn.app
        .admin()
        .is_some_and(|admin| admin.config.namespace == nsp)
}

/// The CONNECT reply of a socket of `nsp`.
fn connect_reply(nsp: &str, socket_id: &str) -> SioPacket {
    SioPacket {
        kind: PacketKind::Connect,
        nsp: nsp.to_owned(),
        id: None,
        data: Some(json!({ "sid": socket_id })),
        attachments: 0,
    }
}

impl<A: AdminApp> Connection<A> {
    /// A CONNECT to the admin namespace.
    pub fn admin_connect(&mut self, nsp: String, auth: Option<Value>, ctx: &mut Context<Self>) {
        let Some(admin) = self.app.admin().cloned() else {
            return self.refuse_namespace(&nsp, ctx);
        };
        // A chat user's session never becomes a dashboard.
        if self.sio.any_namespace() {
            return self.refuse_admin(&nsp, AuthError::ChatSession, ctx);
        }
        let credentials = Credentials::from_auth(auth.as_ref());
        let checker = admin.clone();
        let checked = tokio::task::spawn_blocking(move || {
            check(&checker.config.auth, &checker.sessions, &credentials)
        });
        ctx.spawn(checked.into_actor(self).map(move |result, act, ctx| {
            let admitted = match result {
                Ok(Ok(admitted)) => admitted,
                Ok(Err(refusal)) => return act.refuse_admin(&nsp, refusal, ctx),
                Err(_) => return act.refuse_admin(&nsp, AuthError::InvalidCredentials, ctx),
            };
            if act.is_closing() {
                return;
            }
            // The chat's handshake finished meanwhile on this session.
            if act.sio.any_namespace() {
                return act.refuse_admin(&nsp, AuthError::ChatSession, ctx);
            }
            let id = socket_id();
            act.sio.insert(&nsp, id.clone());
            METRICS
                .admin_connections
                .with_label_values(&["accepted"])
                .inc();
            act.send_connect_reply(&connect_reply(&nsp, &id), ctx);
            if let Admitted::LoggedIn(session) = admitted {
                act.emit(&nsp, json!(["session", session]), None, &[], ctx);
            }
            let entry = Entry::new(
                &nsp,
                (&id, act.sid()),
                (act.transport(), act.address()),
                json!({}),
                ctx.address().recipient(),
            );
            admin.directory.insert(&id, entry);
            admin.hub.do_send(AdminJoined {
                socket_id: id,
                push: ctx.address().recipient(),
            });
        }));
    }

    fn refuse_admin(&mut self, nsp: &str, refusal: AuthError, ctx: &mut Context<Self>) {
        METRICS
            .admin_connections
            .with_label_values(&[refusal.kind()])
            .inc();
        log::debug!("session {}: admin namespace refused: {refusal}", self.sid());
        let packet = SioPacket::connect_error(nsp, &refusal.to_string(), None);
        self.send_packet(&packet, &[], ctx);
    }

    /// An event on the admin namespace: a command.
    pub fn admin_event(&mut self, event: Event, ctx: &mut Context<Self>) {
        let Some(admin) = self.app.admin().cloned() else {
            return;
        };
        let result = parse(&event.data).and_then(|command| match admin.config.read_only {
            true => Err(CommandError::ReadOnly),
            false => Ok(command),
        });
        let name = event
            .data
            .first()
            .and_then(Value::as_str)
            .filter(|n| matches!(*n, "emit" | "join" | "leave" | "_disconnect"))
            .map_or("other", |n| n.trim_start_matches('_'));
        let reply = match result {
            Ok(command) => {
                METRICS
                    .admin_commands
                    .with_label_values(&[command.name(), "applied"])
                    .inc();
                admin.hub.do_send(RunCommand(command));
                json!({ "ok": true })
            }
            Err(refusal) => {
                METRICS
                    .admin_commands
                    .with_label_values(&[name, refusal.kind()])
                    .inc();
                json!({ "error": refusal.to_string() })
            }
        };
        // The UI never asks for an ack; a script may, and learns why a command was refused.
        if let Some(id) = event.id {
            self.send_ack(&event.nsp, id, vec![reply], &[], ctx);
        }
    }

    /// The app's socket `socket_id` of `nsp` connected: the dashboards hear of it, and of its
    /// joining `rooms`. `data` is its `socket.data`.
    pub fn admin_socket_connected(
        &mut self,
        nsp: &str,
        socket_id: &str,
        data: Value,
        rooms: Vec<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some(admin) = self.app.admin().cloned() else {
            return;
        };
        let entry = Entry::new(
            nsp,
            (socket_id, self.sid()),
            (self.transport(), self.address()),
            data,
            ctx.address().recipient(),
        );
        admin.directory.insert(socket_id, entry);
        admin.hub.do_send(SocketConnected {
            socket_id: socket_id.to_owned(),
            rooms,
        });
    }

    /// A socket of this session (the app's or a dashboard) left.
    pub fn admin_socket_left(&mut self, nsp: &str, socket_id: &str, reason: &str) {
        let Some(admin) = self.app.admin().cloned() else {
            return;
        };
        let Some(entry) = admin.directory.remove(socket_id) else {
            return;
        };
        if admin.config.namespace == nsp {
            admin.hub.do_send(AdminLeft {
                socket_id: socket_id.to_owned(),
            });
        }
        admin.hub.do_send(SocketDisconnected {
            nsp: nsp.to_owned(),
            socket_id: socket_id.to_owned(),
            reason: reason.to_owned(),
            rooms: entry.rooms,
        });
    }

    /// The client's IP address as text (empty when unknown).
    fn address(&self) -> String {
        self.peer()
            .map(|peer| peer.ip().to_string())
            .unwrap_or_default()
    }

    /// Why a socket of this session is leaving, in Node's words.
    pub fn leave_reason(&self) -> &'static str {
        match self.close_reason() {
            None => "client namespace disconnect",
            Some("ping timeout") => "ping timeout",
            Some("server shutting down") | Some("forced close") => "server shutting down",
            Some(_) => "transport close",
        }
    }

    /// The session moved to WebSocket: the dashboards see its sockets' new transport.
    pub fn admin_upgraded(&mut self) {
        let Some(admin) = self.app.admin().cloned() else {
            return;
        };
        let transport = self.transport();
        let sockets = admin
            .directory
            .set_transport(&self.sio.socket_ids(), transport);
        if !sockets.is_empty() {
            admin.hub.do_send(TransportChanged { sockets, transport });
        }
    }

    /// A chat socket's event, for the dashboards when the operator shows events.
    pub fn admin_event_received(&self, nsp: &str, socket_id: &str, data: &[Value]) {
        if let Some(admin) = self.app.admin().filter(|a| a.config.show_events) {
            admin.hub.do_send(EventReceived {
                nsp: nsp.to_owned(),
                socket_id: socket_id.to_owned(),
                data: data.to_vec(),
            });
        }
    }
}

impl<A: AdminApp> Handler<AdminPush> for Connection<A> {
    type Result = ();
    fn handle(&mut self, msg: AdminPush, ctx: &mut Context<Self>) {
        self.send_all(&msg.frames, ctx);
    }
}

impl<A: AdminApp> Handler<AdminOrder> for Connection<A> {
    type Result = ();
    fn handle(&mut self, order: AdminOrder, ctx: &mut Context<Self>) {
        match order {
            AdminOrder::Emit { nsp, data } => {
                if self.sio.socket_id(&nsp).is_some() {
                    self.emit(&nsp, (*data).clone(), None, &[], ctx);
                }
            }
            AdminOrder::Disconnect { socket_id, close } => {
                let namespaces: Vec<(String, String)> = if close {
                    self.sio.drain()
                } else {
                    self.sio
                        .namespace_of(&socket_id)
                        .and_then(|nsp| self.sio.remove(&nsp).map(|id| (nsp, id)))
                        .into_iter()
                        .collect()
                };
                for (nsp, id) in namespaces {
                    self.send_packet(&SioPacket::disconnect(&nsp), &[], ctx);
                    self.admin_socket_left(&nsp, &id, "server namespace disconnect");
                    A::on_leave(self, &nsp, &id, false);
                }
                if close {
                    self.close("forced close", true, ctx);
                }
            }
        }
    }
}
