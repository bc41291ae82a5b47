//! The Socket.IO conformance mode of SPEC §1: namespaces `/` and `/custom`; `auth` echoes the
//! handshake; on `/`, `message` -> `message-back`, `message-with-ack` is acked with its own
//! arguments. Our extension for testing server -> client acks: `request-ack` makes the server
//! emit `ack-me` with the same arguments and an ack id, and the client's ack comes back as
//! `acked`.

use crate::connection::{Connection, Event, SocketApp};
use crate::ids::socket_id;
use actix::prelude::*;
use chat_protocol::socketio::Packet as SioPacket;
use serde_json::Value;
use std::collections::HashSet;

/// Acks this connection asked of its client.
#[derive(Debug, Default)]
pub struct SocketIoConformance {
    pending_acks: HashSet<u64>,
}

type Conn = Connection<SocketIoConformance>;

impl SocketApp for SocketIoConformance {
    type Shared = ();

    fn new(_: &()) -> SocketIoConformance {
        SocketIoConformance::default()
    }

    fn on_connect(conn: &mut Conn, nsp: String, auth: Option<Value>, ctx: &mut Context<Conn>) {
        if nsp != "/" && nsp != "/custom" {
            return conn.refuse_namespace(&nsp, ctx);
        }
        let id = socket_id();
        conn.send_connect_reply(&SioPacket::connect_ok(&nsp, &id), ctx);
        conn.sio.insert(&nsp, id);
        let auth = auth.unwrap_or_else(|| Value::Object(Default::default()));
        conn.emit(
            &nsp,
            Value::Array(vec!["auth".into(), auth]),
            None,
            &[],
            ctx,
        );
    }

    fn on_event(conn: &mut Conn, event: Event, ctx: &mut Context<Conn>) {
        let Event {
            nsp,
            mut data,
            id: ack,
            buffers,
            ..
        } = event;
        if nsp != "/" || data.is_empty() {
            return;
        }
        match data[0].as_str() {
            Some("message") => {
                data[0] = "message-back".into();
                conn.emit(&nsp, Value::Array(data), None, &buffers, ctx);
            }
            Some("message-with-ack") => {
                if let Some(id) = ack {
                    data.remove(0);
                    conn.send_ack(&nsp, id, data, &buffers, ctx);
                }
            }
            Some("request-ack") => {
                let id = conn.sio.next_ack_id();
                conn.app.pending_acks.insert(id);
                data[0] = "ack-me".into();
                conn.emit(&nsp, Value::Array(data), Some(id), &buffers, ctx);
            }
            _ => {}
        }
    }

    fn on_ack(conn: &mut Conn, ack: Event, ctx: &mut Context<Conn>) {
        let Event {
            nsp,
            data: mut args,
            id,
            buffers,
            ..
        } = ack;
        let asked = id.is_some_and(|id| conn.app.pending_acks.remove(&id));
        if asked {
            args.insert(0, "acked".into());
            conn.emit(&nsp, Value::Array(args), None, &buffers, ctx);
        }
    }
}
