//! What a connection serves above Engine.IO, and the dispatch of Socket.IO events to it.

use super::chat::ChatSocket;
use super::conformance::ConformanceSocket;
use super::context::Mode;
use super::Connection;
use actix::prelude::*;
use chat_protocol::socketio::Packet as SioPacket;
use serde_json::Value;

/// Per-connection state of the mode the server runs in.
pub(super) enum App {
    Echo,
    Conformance(ConformanceSocket),
    // Boxed: the chat state (identity, limiter, recipient cache) is much larger than the
    // other modes' and every connection carries this enum.
    Chat(Box<ChatSocket>),
}

impl App {
    pub fn new(mode: &Mode) -> App {
        match mode {
            Mode::EngineEcho => App::Echo,
            Mode::SocketIoConformance => App::Conformance(ConformanceSocket::default()),
            Mode::Chat(services) => App::Chat(Box::new(ChatSocket::new(services.clone()))),
        }
    }

    pub fn speaks_socket_io(&self) -> bool {
        !matches!(self, App::Echo)
    }
}

impl Connection {
    pub(super) fn on_connect(&mut self, nsp: String, auth: Option<Value>, ctx: &mut Context<Self>) {
        match &self.app {
            App::Echo => {}
            App::Conformance(_) => self.conformance_connect(nsp, auth, ctx),
            App::Chat(_) if nsp == "/" => self.chat_connect(auth, ctx),
            App::Chat(_) => self.refuse_namespace(&nsp, ctx),
        }
    }

    /// CONNECT_ERROR for a namespace this server does not have (Node's wording).
    pub(super) fn refuse_namespace(&mut self, nsp: &str, ctx: &mut Context<Self>) {
        crate::metrics::METRICS.error("invalid_namespace");
        crate::metrics::METRICS
            .handshakes
            .with_label_values(&["invalid_namespace"])
            .inc();
        self.send_packet(
            &SioPacket::connect_error(nsp, "Invalid namespace", None),
            &[],
            ctx,
        );
    }

    pub(super) fn on_leave(&mut self, _nsp: &str, socket_id: &str, recoverable: bool) {
        if let App::Chat(chat) = &mut self.app {
            chat.leave(socket_id, recoverable);
        }
    }

    pub(super) fn on_event(
        &mut self,
        nsp: &str,
        socket_id: &str,
        data: Vec<Value>,
        ack: Option<u64>,
        buffers: Vec<Vec<u8>>,
        ctx: &mut Context<Self>,
    ) {
        match &self.app {
            App::Echo => {}
            App::Conformance(_) => self.conformance_event(nsp, data, ack, buffers, ctx),
            App::Chat(_) => self.chat_event(socket_id, data, ack, ctx),
        }
    }

    pub(super) fn on_ack(
        &mut self,
        nsp: &str,
        id: u64,
        args: Vec<Value>,
        buffers: Vec<Vec<u8>>,
        ctx: &mut Context<Self>,
    ) {
        if let App::Conformance(_) = &self.app {
            self.conformance_ack(nsp, id, args, buffers, ctx);
        }
    }
}
