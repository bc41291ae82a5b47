//! The Socket.IO v5 layer of a connection: decoding packets out of Engine.IO messages,
//! reassembling binary packets, tracking connected namespaces, and dispatching to the app.

use super::app::{Event, SocketApp};
use super::Connection;
use crate::metrics::METRICS;
use actix::prelude::*;
use chat_protocol::binary::validate_placeholders;
use chat_protocol::engineio::Packet as EioPacket;
use chat_protocol::reassembly::Reassembler;
use chat_protocol::socketio::{Packet as SioPacket, PacketKind};
use serde_json::Value;

/// More attachments than this in one packet is refused: each costs a frame and a buffer, and
/// no legitimate client needs thousands.
const MAX_ATTACHMENTS: usize = 256;

/// Namespace state of one session.
#[derive(Default)]
pub struct SocketIo {
    /// Connected namespaces and the socket id of each, in the order they connected. A list,
    /// not a map: a session connects one namespace or two (the chat, a dashboard), and an
    /// idle session's smallest map was 200 bytes more than a one-entry list.
    namespaces: Vec<(String, String)>,
    /// A binary packet waiting for its attachments.
    reassembler: Option<Reassembler>,
    /// Counts binary packets started, so a timer knows whether its packet is still waiting.
    reassembly: u64,
    next_ack_id: u64,
}

impl SocketIo {
    pub fn any_namespace(&self) -> bool {
        !self.namespaces.is_empty()
    }

    pub fn socket_id(&self, nsp: &str) -> Option<&str> {
        self.namespaces
            .iter()
            .find(|(name, _)| name == nsp)
            .map(|(_, id)| id.as_str())
    }

    /// Connects `nsp` as socket `socket_id` (replacing its socket if it was connected).
    pub fn insert(&mut self, nsp: &str, socket_id: String) {
        match self.namespaces.iter_mut().find(|(name, _)| name == nsp) {
            Some((_, id)) => *id = socket_id,
            None => {
                // One more slot, not the four a first push reserves.
                self.namespaces.reserve_exact(1);
                self.namespaces.push((nsp.to_owned(), socket_id));
            }
        }
    }

    pub fn remove(&mut self, nsp: &str) -> Option<String> {
        let at = self.namespaces.iter().position(|(name, _)| name == nsp)?;
        Some(self.namespaces.remove(at).1)
    }

    /// The socket ids of every connected namespace.
    pub fn socket_ids(&self) -> Vec<String> {
        self.namespaces.iter().map(|(_, id)| id.clone()).collect()
    }

    /// The namespace of socket `socket_id`.
    pub fn namespace_of(&self, socket_id: &str) -> Option<String> {
        self.namespaces
            .iter()
            .find(|(_, id)| *id == socket_id)
            .map(|(nsp, _)| nsp.clone())
    }

    pub fn drain(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.namespaces)
    }

    /// A fresh id for an ack the server asks of the client.
    pub fn next_ack_id(&mut self) -> u64 {
        let id = self.next_ack_id;
        self.next_ack_id += 1;
        id
    }
}

impl<A: SocketApp> Connection<A> {
    /// An Engine.IO message decoded as Socket.IO (the default of [`SocketApp::on_message`]).
    pub fn on_socket_io_message(&mut self, packet: EioPacket, ctx: &mut Context<Self>) {
        match packet {
            EioPacket::Message(text) => self.on_message_text(text, ctx),
            EioPacket::Binary(bytes) => self.on_message_binary(bytes, ctx),
            _ => {}
        }
    }

    fn on_message_text(&mut self, text: String, ctx: &mut Context<Self>) {
        if self.sio.reassembler.is_some() {
            return self.malformed("text_during_attachments", ctx);
        }
        if A::on_event_text(self, &text, ctx) {
            return;
        }
        let packet = match SioPacket::decode(&text) {
            Ok(packet) => packet,
            Err(e) => return self.malformed(e.kind(), ctx),
        };
        if packet.attachments > 0 {
            if packet.attachments > MAX_ATTACHMENTS {
                return self.malformed("attachments", ctx);
            }
            let placeholders = packet
                .data
                .as_ref()
                .map(|d| validate_placeholders(d, packet.attachments));
            if let Some(Err(e)) = placeholders {
                return self.malformed(e.kind(), ctx);
            }
            self.sio.reassembler = Some(Reassembler::new(packet));
            self.sio.reassembly += 1;
            // Attachments follow their packet at once; a client that announces buffers and
            // never sends them would otherwise pin the packet forever.
            let reassembly = self.sio.reassembly;
            let patience = self.server.config.ping_interval + self.server.config.ping_timeout;
            ctx.run_later(patience, move |act, ctx| {
                if act.sio.reassembler.is_some() && act.sio.reassembly == reassembly {
                    act.malformed("attachments_missing", ctx);
                }
            });
            return;
        }
        self.on_socket_packet(packet, Vec::new(), ctx);
    }

    fn on_message_binary(&mut self, bytes: Vec<u8>, ctx: &mut Context<Self>) {
        let Some(reassembler) = self.sio.reassembler.as_mut() else {
            return self.malformed("unexpected_binary", ctx);
        };
        if let Some((packet, buffers)) = reassembler.push(bytes) {
            self.sio.reassembler = None;
            self.on_socket_packet(packet, buffers, ctx);
        }
    }

    fn on_socket_packet(
        &mut self,
        packet: SioPacket,
        buffers: Vec<Vec<u8>>,
        ctx: &mut Context<Self>,
    ) {
        let nsp = packet.nsp;
        match packet.kind {
            PacketKind::Connect => {
                // A second CONNECT to a connected namespace is ignored, as Node does.
                if self.sio.socket_id(&nsp).is_none() {
                    A::on_connect(self, nsp, packet.data, ctx);
                }
            }
            PacketKind::Disconnect => {
                // The client left on purpose: nothing to recover.
                if let Some(socket_id) = self.sio.remove(&nsp) {
                    A::on_leave(self, &nsp, &socket_id, false);
                }
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                // Events for a namespace the client never joined are dropped, as Node does.
                let Some(socket_id) = self.sio.socket_id(&nsp).map(str::to_owned) else {
                    METRICS.error("event_without_namespace");
                    return;
                };
                let data = match packet.data {
                    Some(Value::Array(data)) => data,
                    _ => return self.malformed("event_data", ctx),
                };
                let event = Event {
                    nsp,
                    socket_id,
                    data,
                    id: packet.id,
                    buffers,
                };
                A::on_event(self, event, ctx);
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                let (Some(id), Some(Value::Array(args))) = (packet.id, packet.data) else {
                    return self.malformed("ack", ctx);
                };
                if let Some(socket_id) = self.sio.socket_id(&nsp).map(str::to_owned) {
                    let ack = Event {
                        nsp,
                        socket_id,
                        data: args,
                        id: Some(id),
                        buffers,
                    };
                    A::on_ack(self, ack, ctx);
                }
            }
            PacketKind::ConnectError => self.malformed("connect_error_from_client", ctx),
        }
    }

    /// CONNECT_ERROR for a namespace this server does not have (Node's wording).
    pub fn refuse_namespace(&mut self, nsp: &str, ctx: &mut Context<Self>) {
        METRICS.error("invalid_namespace");
        METRICS
            .handshakes
            .with_label_values(&["invalid_namespace"])
            .inc();
        self.send_packet(
            &SioPacket::connect_error(nsp, "Invalid namespace", None),
            &[],
            ctx,
        );
    }

    /// An ACK (BINARY_ACK when there are attachments) answering ack id `id`.
    pub fn send_ack(
        &mut self,
        nsp: &str,
        id: u64,
        args: Vec<Value>,
        attachments: &[Vec<u8>],
        ctx: &mut Context<Self>,
    ) {
        let mut packet = SioPacket::ack(nsp, id, Value::Array(args));
        if !attachments.is_empty() {
            packet.kind = PacketKind::BinaryAck;
            packet.attachments = attachments.len();
        }
        self.send_packet(&packet, attachments, ctx);
    }

    /// Leaves every namespace when the session ends; the sockets may be recovered when the
    /// session ended for such a reason.
    pub fn leave_all_namespaces(&mut self) {
        let recoverable = self
            .close_reason
            .is_some_and(crate::recovery::is_recoverable);
        for (nsp, socket_id) in self.sio.drain() {
            A::on_leave(self, &nsp, &socket_id, recoverable);
        }
    }
}
