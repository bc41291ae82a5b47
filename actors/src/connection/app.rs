//! What sits above Engine.IO on a connection: the chat, or one of the conformance servers.
//!
//! The connection actor is generic over its app, so the apps depend on the connection and never
//! the other way round: `chat/` and `conformance/` implement [`SocketApp`] with the connection's
//! own methods (send, emit, close) and keep their per-socket state in [`Connection::app`].

use super::Connection;
use actix::Context;
use chat_protocol::engineio::Packet as EioPacket;
use serde_json::Value;

/// The protocol a connection serves above Engine.IO. Handlers are associated functions taking
/// the connection, so that an app can send, spawn futures on the actor and read its own state
/// (`conn.app`) in one place.
pub trait SocketApp: Sized + Unpin + 'static {
    /// What every connection of a server shares (the chat's stores and hub; nothing for the
    /// conformance servers).
    type Shared: Send + Sync + 'static;

    /// The per-connection state of a new session.
    fn new(shared: &Self::Shared) -> Self;

    /// Whether the session must join a Socket.IO namespace within `connectTimeout`.
    fn speaks_socket_io() -> bool {
        true
    }

    /// An Engine.IO message (text or binary) from the client; by default the Socket.IO layer
    /// decodes it and calls the handlers below.
    fn on_message(
        conn: &mut Connection<Self>,
        packet: EioPacket,
        ctx: &mut Context<Connection<Self>>,
    ) {
        conn.on_socket_io_message(packet, ctx);
    }

    /// A Socket.IO CONNECT to `nsp` (not yet connected on this session).
    fn on_connect(
        conn: &mut Connection<Self>,
        nsp: String,
        auth: Option<Value>,
        ctx: &mut Context<Connection<Self>>,
    );

    /// A text Socket.IO packet before it is decoded: an app that can handle the event it may
    /// be straight from its text (typed, without the JSON tree [`SocketApp::on_event`] gets)
    /// does so and returns true. False leaves the packet to the generic decoding.
    fn on_event_text(
        _conn: &mut Connection<Self>,
        _text: &str,
        _ctx: &mut Context<Connection<Self>>,
    ) -> bool {
        false
    }

    /// An EVENT (or reassembled BINARY_EVENT) on a connected namespace.
    fn on_event(conn: &mut Connection<Self>, event: Event, ctx: &mut Context<Connection<Self>>);

    /// An ACK from the client on a connected namespace.
    fn on_ack(_conn: &mut Connection<Self>, _ack: Event, _ctx: &mut Context<Connection<Self>>) {}

    /// The socket `socket_id` left `nsp` (a DISCONNECT, or the session ended); `recoverable`
    /// when it ended for a reason connection state recovery covers.
    fn on_leave(_conn: &mut Connection<Self>, _nsp: &str, _socket_id: &str, _recoverable: bool) {}

    /// The session moved from long-polling to WebSocket.
    fn on_upgrade(_conn: &mut Connection<Self>) {}

    /// The client answered a heartbeat ping.
    fn on_pong(_conn: &mut Connection<Self>) {}
}

/// One EVENT or ACK of the client: its namespace and socket, `data` (`[event, ...args]` for an
/// event, the arguments for an ack), the ack id, and the binary attachments.
#[derive(Debug)]
pub struct Event {
    pub nsp: String,
    pub socket_id: String,
    pub data: Vec<Value>,
    pub id: Option<u64>,
    pub buffers: Vec<Vec<u8>>,
}
