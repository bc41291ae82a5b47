//! The Socket.IO conformance mode of SPEC §1: namespaces `/` and `/custom`; `auth` echoes the
//! handshake; on `/`, `message` -> `message-back`, `message-with-ack` is acked with its own
//! arguments. Our extension for testing server -> client acks: `request-ack` makes the server
//! emit `ack-me` with the same arguments and an ack id, and the client's ack comes back as
//! `acked`.

use super::Connection;
use crate::engine::socket_id;
use actix::prelude::*;
use chat_protocol::socketio::{Packet as SioPacket, PacketKind};
use serde_json::Value;
use std::collections::HashSet;

/// Acks this connection asked of its client.
#[derive(Default)]
pub(super) struct ConformanceSocket {
    pending_acks: HashSet<u64>,
}

impl Connection {
    pub(super) fn conformance_connect(
        &mut self,
        nsp: String,
        auth: Option<Value>,
        ctx: &mut Context<Self>,
    ) {
        if nsp != "/" && nsp != "/custom" {
            return self.refuse_namespace(&nsp, ctx);
        }
        let id = socket_id();
        self.send_connect_reply(&SioPacket::connect_ok(&nsp, &id), ctx);
        self.sio.insert(&nsp, id);
        let auth = auth.unwrap_or_else(|| Value::Object(Default::default()));
        self.emit(
            &nsp,
            Value::Array(vec!["auth".into(), auth]),
            None,
            &[],
            ctx,
        );
    }

    pub(super) fn conformance_event(
        &mut self,
        nsp: &str,
        mut data: Vec<Value>,
        ack: Option<u64>,
        buffers: Vec<Vec<u8>>,
        ctx: &mut Context<Self>,
    ) {
        if nsp != "/" || data.is_empty() {
            return;
        }
        match data[0].as_str() {
            Some("message") => {
                data[0] = "message-back".into();
                self.emit(nsp, Value::Array(data), None, &buffers, ctx);
            }
            Some("message-with-ack") => {
                if let Some(id) = ack {
                    data.remove(0);
                    self.send_ack(nsp, id, data, &buffers, ctx);
                }
            }
            Some("request-ack") => {
                let id = self.sio.next_ack_id();
                if let super::app::App::Conformance(state) = &mut self.app {
                    state.pending_acks.insert(id);
                }
                data[0] = "ack-me".into();
                self.emit(nsp, Value::Array(data), Some(id), &buffers, ctx);
            }
            _ => {}
        }
    }

    pub(super) fn conformance_ack(
        &mut self,
        nsp: &str,
        id: u64,
        mut args: Vec<Value>,
        buffers: Vec<Vec<u8>>,
        ctx: &mut Context<Self>,
    ) {
        let asked = match &mut self.app {
            super::app::App::Conformance(state) => state.pending_acks.remove(&id),
            _ => false,
        };
        if asked {
            args.insert(0, "acked".into());
            self.emit(nsp, Value::Array(args), None, &buffers, ctx);
        }
    }

    /// An ACK (BINARY_ACK when there are attachments) answering ack id `id`.
    pub(super) fn send_ack(
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
}
