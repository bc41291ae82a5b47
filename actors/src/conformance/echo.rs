//! The engine.io conformance server: no Socket.IO layer; every message a client sends (text or
//! binary) is sent back to it unchanged.

use crate::connection::{Connection, Event, SocketApp};
use crate::transport::Frame;
use actix::Context;
use chat_protocol::engineio::Packet as EioPacket;
use serde_json::Value;

/// The echo app: no state.
#[derive(Debug, Default)]
pub struct EngineEcho;

impl SocketApp for EngineEcho {
    type Shared = ();

    fn new(_: &()) -> EngineEcho {
        EngineEcho
    }

    fn speaks_socket_io() -> bool {
        false
    }

    fn on_message(
        conn: &mut Connection<Self>,
        packet: EioPacket,
        ctx: &mut Context<Connection<Self>>,
    ) {
        let frame = match packet {
            EioPacket::Binary(bytes) => Frame::Binary(bytes.into()),
            other => Frame::Text(other.encode_text().into()),
        };
        conn.send(frame, ctx);
    }

    // Never called: without the Socket.IO layer no CONNECT or EVENT is decoded.
    fn on_connect(
        _: &mut Connection<Self>,
        _: String,
        _: Option<Value>,
        _: &mut Context<Connection<Self>>,
    ) {
    }

    fn on_event(_: &mut Connection<Self>, _: Event, _: &mut Context<Connection<Self>>) {}
}
