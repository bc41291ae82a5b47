//! The `Connection` actor: one per Engine.IO session. It owns the session's transport
//! (long-polling, WebSocket, or both while upgrading), its heartbeat, the Socket.IO namespace
//! state and, in the chat, the user's identity. Whatever a client sends, the worst outcome
//! is that this actor closes its own session; nothing here can affect another session.

mod app;
mod chat;
mod conformance;
mod context;
mod engine_io;
mod fragment;
mod heartbeat;
mod messages;
mod outbox;
mod recovery;
mod recovery_across_nodes;
mod socket_io;
mod transport;
mod upgrade;
mod websocket;

pub use self::context::{Mode, ServerContext};
pub use self::messages::{
    AttachWebSocket, CloseSession, Poll, Post, RequestRefused, WsEnded, WsIn,
};
pub use self::outbox::ws_channel;
pub use self::transport::{PollReply, WsCommand, WsLink};
pub use self::websocket::{spawn_reader, spawn_writer};

use self::app::App;
use self::socket_io::SocketIo;
use self::transport::{Polling, QueueError, Transport};
use self::upgrade::Upgrade;
use crate::engine::{socket_id, Frame};
use crate::hub::{event_frames, packet_frames, Deliver};
use crate::metrics::METRICS;
use actix::prelude::*;
use chat_protocol::engineio::Handshake;
use chat_protocol::socketio::Packet as SioPacket;
use serde_json::Value;
use std::sync::Arc;

/// One Engine.IO session.
pub struct Connection {
    sid: String,
    server: Arc<ServerContext>,
    transport: Transport,
    upgrade: Option<Upgrade>,
    /// Armed when a ping is sent; fires the ping timeout unless a pong cancels it.
    pong_deadline: Option<SpawnHandle>,
    sio: SocketIo,
    app: App,
    closing: bool,
    /// Why the session is closing (set by [`Connection::close`]): decides whether its
    /// sockets are parked for connection state recovery.
    close_reason: Option<&'static str>,
}

/// How a new session reaches its client first.
pub enum InitialTransport {
    Polling,
    WebSocket(WsLink),
}

impl Connection {
    /// Starts a session; returns its sid, its address and the open packet text (the body of
    /// the polling handshake, or the first WebSocket frame, which this already queued).
    pub fn open(
        server: Arc<ServerContext>,
        initial: InitialTransport,
    ) -> (String, Addr<Connection>, String) {
        let sid = socket_id();
        let upgrades = match initial {
            InitialTransport::Polling => vec!["websocket".to_owned()],
            InitialTransport::WebSocket(_) => Vec::new(),
        };
        let open = Handshake {
            sid: sid.clone(),
            upgrades,
            ping_interval: server.config.ping_interval.as_millis() as u64,
            ping_timeout: server.config.ping_timeout.as_millis() as u64,
            max_payload: server.config.max_payload as u64,
        }
        .to_packet_text();
        let transport = match initial {
            InitialTransport::Polling => Transport::Polling(Polling::default()),
            InitialTransport::WebSocket(link) => {
                let _ = link.send(WsCommand::Send(Frame::Text(open.clone().into())));
                Transport::WebSocket(link)
            }
        };
        METRICS
            .connections_total
            .with_label_values(&[transport.name()])
            .inc();
        let app = App::new(&server.mode);
        let connection = Connection {
            sid: sid.clone(),
            server,
            transport,
            upgrade: None,
            pong_deadline: None,
            sio: SocketIo::default(),
            app,
            closing: false,
            close_reason: None,
        };
        let registry = connection.server.registry.clone();
        let addr = connection.start();
        // Registered before the handshake reply leaves, so the client's first request with
        // this sid always finds it (`started` runs later, on the actor's own turn).
        registry.insert(&sid, addr.clone());
        (sid, addr, open)
    }

    /// Queues one frame; a client that cannot keep up is closed.
    fn send(&mut self, frame: Frame, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        METRICS.bytes_sent.inc_by(frame.len() as u64);
        self.enqueue(frame, ctx);
    }

    /// Sends the Socket.IO CONNECT reply `packet`, on a WebSocket in a write of its own (see
    /// [`WsCommand::SendAlone`]).
    fn send_connect_reply(&mut self, packet: &SioPacket, ctx: &mut Context<Self>) {
        // A CONNECT reply has no attachments: one frame.
        for frame in packet_frames(packet, &[]).iter() {
            if self.closing {
                return;
            }
            METRICS.bytes_sent.inc_by(frame.len() as u64);
            let queued = self
                .transport
                .push_alone(frame.clone(), self.server.config.outbound_buffer_bytes);
            self.after_queueing(queued, ctx);
        }
    }

    /// Queues one frame ahead of those already queued (a heartbeat ping).
    fn send_ahead(&mut self, frame: Frame, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        METRICS.bytes_sent.inc_by(frame.len() as u64);
        let queued = self.transport.push_ahead(frame);
        self.after_queueing(queued, ctx);
    }

    /// Queues a frame already counted in `bytes_sent` (one moved between transports).
    fn enqueue(&mut self, frame: Frame, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        let queued = self
            .transport
            .push(frame, self.server.config.outbound_buffer_bytes);
        self.after_queueing(queued, ctx);
    }

    /// Closes the session when a frame could not be queued: a client that cannot keep up, or
    /// a transport that is gone.
    fn after_queueing(&mut self, queued: Result<(), QueueError>, ctx: &mut Context<Self>) {
        match queued {
            Ok(()) => {}
            Err(QueueError::SlowConsumer) => {
                METRICS.error("slow_consumer");
                self.close("slow consumer", false, ctx);
            }
            Err(QueueError::Closed) => self.close("transport closed", false, ctx),
        }
    }

    fn send_all(&mut self, frames: &[Frame], ctx: &mut Context<Self>) {
        for frame in frames {
            self.send(frame.clone(), ctx);
        }
    }

    /// Sends a Socket.IO packet and its attachments.
    fn send_packet(
        &mut self,
        packet: &SioPacket,
        attachments: &[Vec<u8>],
        ctx: &mut Context<Self>,
    ) {
        let frames = packet_frames(packet, attachments);
        self.send_all(&frames, ctx);
    }

    /// Emits `data` (`[event, ...args]`) on `nsp`, binary when there are attachments.
    fn emit(
        &mut self,
        nsp: &str,
        data: Value,
        ack: Option<u64>,
        attachments: &[Vec<u8>],
        ctx: &mut Context<Self>,
    ) {
        let frames = event_frames(nsp, &data, ack, attachments);
        self.send_all(&frames, ctx);
    }

    /// Counts malformed input and closes the session, as Node's engine.io does on a parse error.
    fn malformed(&mut self, kind: &str, ctx: &mut Context<Self>) {
        METRICS.error(&format!("malformed_{kind}"));
        log::debug!("session {}: malformed input ({kind}), closing", self.sid);
        self.close("parse error", false, ctx);
    }

    /// Ends the session. `clean` sends a close packet first (the client then reconnects,
    /// possibly to another node); otherwise the transport is just dropped.
    fn close(&mut self, reason: &'static str, clean: bool, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.close_reason = Some(reason);
        log::debug!("session {} closing: {reason}", self.sid);
        match &mut self.transport {
            Transport::Polling(polling) => {
                if clean {
                    let _ = polling.push(Frame::Text("1".into()), usize::MAX);
                }
                polling.answer_waiting_with("1");
            }
            Transport::WebSocket(link) => {
                if clean {
                    let _ = link.send(WsCommand::Send(Frame::Text("1".into())));
                }
                let _ = link.send(WsCommand::Close);
            }
        }
        if let Some(upgrade) = self.upgrade.take() {
            let _ = upgrade.link.send(WsCommand::Close);
        }
        ctx.stop();
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        METRICS.connections_active.inc();
        METRICS
            .connections_by_transport
            .with_label_values(&[self.transport.name()])
            .inc();
        log::debug!("session {} opened ({})", self.sid, self.transport.name());
        self.schedule_ping(ctx);
        if self.app.speaks_socket_io() {
            let timeout = self.server.config.connect_timeout;
            ctx.run_later(timeout, |act, ctx| {
                if !act.sio.any_namespace() {
                    METRICS.error("connect_timeout");
                    act.close("connect timeout", false, ctx);
                }
            });
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.server.registry.remove(&self.sid);
        METRICS.connections_active.dec();
        METRICS
            .connections_by_transport
            .with_label_values(&[self.transport.name()])
            .dec();
        log::debug!("session {} closed", self.sid);
        self.leave_all_namespaces();
    }
}

impl Handler<Deliver> for Connection {
    type Result = ();
    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        self.send_all(&msg.0, ctx);
    }
}

impl Handler<CloseSession> for Connection {
    type Result = ();
    fn handle(&mut self, msg: CloseSession, ctx: &mut Context<Self>) {
        self.close(msg.reason, true, ctx);
    }
}
