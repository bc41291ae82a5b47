//! The `Connection` actor: one per Engine.IO session. It owns the session's transport
//! (long-polling, WebSocket, or both while upgrading), its heartbeat and its Socket.IO
//! namespaces, and hands what the client sends to its app ([`SocketApp`]: the chat, or a
//! conformance server), whose per-socket state it carries. Whatever a client sends, the worst
//! outcome is that this actor closes its own session; nothing here can affect another session.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the actor: opening, queueing frames, closing |
//! | `app.rs` | [`SocketApp`]: what an app implements |
//! | `context.rs` | [`ServerContext`]: what every connection of a server shares |
//! | `registry.rs` | [`SessionRegistry`]: live sessions by sid |
//! | `messages.rs` | what the HTTP layer sends the actor |
//! | `inbound.rs` | polling requests and WebSocket frames in, Engine.IO packets out of them |
//! | `socket_io.rs` | the Socket.IO layer: namespaces, binary reassembly, dispatch to the app |
//! | `upgrade.rs` | the actor's side of the polling -> WebSocket upgrade |
//! | `heartbeat.rs` | ping every `pingInterval`, close without a pong |

mod app;
mod context;
mod heartbeat;
mod inbound;
mod messages;
mod registry;
mod socket_io;
mod upgrade;

pub use self::app::{Event, SocketApp};
pub use self::context::ServerContext;
pub use self::messages::{AttachWebSocket, CloseSession, Poll, Post, RequestRefused};
pub use self::registry::SessionRegistry;
pub use self::socket_io::SocketIo;

use crate::event::{event_frames, packet_frames};
use crate::ids::socket_id;
use crate::metrics::METRICS;
use crate::transport::{
    Deliver, Frame, Polling, QueueError, Transport, UpgradeProbe, WsCommand, WsLink,
};
use actix::prelude::*;
use chat_protocol::engineio::Handshake;
use chat_protocol::socketio::Packet as SioPacket;
use serde_json::Value;
use std::sync::Arc;

/// One Engine.IO session.
pub struct Connection<A: SocketApp> {
    sid: String,
    server: Arc<ServerContext<A>>,
    transport: Transport,
    upgrade: Option<UpgradeProbe>,
    /// Armed when a ping is sent; fires the ping timeout unless a pong cancels it.
    pong_deadline: Option<SpawnHandle>,
    /// The Socket.IO namespaces of the session.
    pub sio: SocketIo,
    /// The app's state of this session.
    pub app: A,
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

impl<A: SocketApp> Connection<A> {
    /// Starts a session; returns its sid, its address and the open packet text (the body of
    /// the polling handshake, or the first WebSocket frame, which this already queued).
    pub fn open(
        server: Arc<ServerContext<A>>,
        initial: InitialTransport,
    ) -> (String, Addr<Connection<A>>, String) {
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
        let app = A::new(&server.shared);
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
    pub fn send(&mut self, frame: Frame, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        METRICS.bytes_sent.inc_by(frame.len() as u64);
        self.enqueue(frame, ctx);
    }

    /// Sends the Socket.IO CONNECT reply `packet`, on a WebSocket in a write of its own (see
    /// [`WsCommand::SendAlone`]).
    pub fn send_connect_reply(&mut self, packet: &SioPacket, ctx: &mut Context<Self>) {
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

    pub fn send_all(&mut self, frames: &[Frame], ctx: &mut Context<Self>) {
        for frame in frames {
            self.send(frame.clone(), ctx);
        }
    }

    /// Sends a Socket.IO packet and its attachments.
    pub fn send_packet(
        &mut self,
        packet: &SioPacket,
        attachments: &[Vec<u8>],
        ctx: &mut Context<Self>,
    ) {
        let frames = packet_frames(packet, attachments);
        self.send_all(&frames, ctx);
    }

    /// Emits `data` (`[event, ...args]`) on `nsp`, binary when there are attachments.
    pub fn emit(
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
    pub fn close(&mut self, reason: &'static str, clean: bool, ctx: &mut Context<Self>) {
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

impl<A: SocketApp> Connection<A> {
    /// The session's Engine.IO id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Whether the session is closing (nothing more is sent).
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// The server's limits.
    pub fn config(&self) -> &crate::transport::EngineConfig {
        &self.server.config
    }
}

impl<A: SocketApp> Actor for Connection<A> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        METRICS.connections_active.inc();
        METRICS
            .connections_by_transport
            .with_label_values(&[self.transport.name()])
            .inc();
        log::debug!("session {} opened ({})", self.sid, self.transport.name());
        self.schedule_ping(ctx);
        if A::speaks_socket_io() {
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

impl<A: SocketApp> Handler<Deliver> for Connection<A> {
    type Result = ();
    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        self.send_all(&msg.0, ctx);
    }
}

impl<A: SocketApp> Handler<CloseSession> for Connection<A> {
    type Result = ();
    fn handle(&mut self, msg: CloseSession, ctx: &mut Context<Self>) {
        self.close(msg.reason, true, ctx);
    }
}
