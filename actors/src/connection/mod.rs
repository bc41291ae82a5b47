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
    Frame, Outbox, OutboxWatch, QueueError, UpgradeProbe, WsReader, AFTER_ALONE,
};
use actix::prelude::*;
use bytes::Bytes;
use chat_protocol::engineio::Handshake;
use chat_protocol::socketio::Packet as SioPacket;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpStream;

/// Ids of the WebSockets of all sessions (0 is a session's own outbox in [`OutboxWatch`]).
static NEXT_WS_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh WebSocket id.
pub(super) fn next_ws_id() -> u64 {
    NEXT_WS_ID.fetch_add(1, Ordering::Relaxed)
}

/// One Engine.IO session.
pub struct Connection<A: SocketApp> {
    sid: String,
    server: Arc<ServerContext<A>>,
    /// Everything the client is sent goes through it, on either transport.
    outbox: Arc<Outbox>,
    /// The WebSocket the session is on (its id), once it has one; long-polling before.
    websocket: Option<u64>,
    /// A WebSocket opened with the session's sid, being probed.
    upgrade: Option<UpgradeProbe>,
    /// The reader of the session's first WebSocket, added to the context when it starts.
    first_reader: Option<WsReader>,
    /// Armed when a ping is sent; fires the ping timeout unless a pong cancels it.
    pong_deadline: Option<SpawnHandle>,
    /// When the session is dead without a pong: the next ping's scheduled time plus
    /// `pingTimeout`. A request arriving later finds the session dead even if the timer,
    /// which may fire a few ms late, has not yet.
    heartbeat_due: Option<std::time::Instant>,
    /// When the session was opened (its handshake answered): the first ping is due
    /// `pingInterval` after it, however late the actor starts.
    opened_at: std::time::Instant,
    /// The Socket.IO namespaces of the session.
    pub sio: SocketIo,
    /// The client's address, as the session's first request came (the admin UI shows it).
    peer: Option<SocketAddr>,
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
    /// A WebSocket whose handshake is done: its socket, and what was read after the request.
    WebSocket {
        stream: TcpStream,
        read: Bytes,
    },
}

impl<A: SocketApp> Connection<A> {
    /// Starts a session; returns its sid, its address and the open packet text (the body of
    /// the polling handshake, or the first WebSocket frame, which this already queued).
    pub fn open(
        server: Arc<ServerContext<A>>,
        initial: InitialTransport,
        peer: Option<SocketAddr>,
    ) -> (String, Addr<Connection<A>>, String) {
        let sid = socket_id();
        let upgrades = match initial {
            InitialTransport::Polling => vec!["websocket".to_owned()],
            InitialTransport::WebSocket { .. } => Vec::new(),
        };
        let open = Handshake {
            sid: sid.clone(),
            upgrades,
            ping_interval: server.config.ping_interval.as_millis() as u64,
            ping_timeout: server.config.ping_timeout.as_millis() as u64,
            max_payload: server.config.max_payload as u64,
        }
        .to_packet_text();
        let limit = server.config.outbound_buffer_bytes;
        let (outbox, websocket, first_reader) = match initial {
            InitialTransport::Polling => (Outbox::new(limit), None, None),
            InitialTransport::WebSocket { stream, read } => {
                let stream = Arc::new(stream);
                let outbox = Outbox::websocket(limit, stream.clone());
                let _ = outbox.push(Frame::Text(open.clone().into()));
                let id = next_ws_id();
                let reader = WsReader::new(id, stream, server.config.max_payload, &read);
                (outbox, Some(id), Some(reader))
            }
        };
        let app = A::new(&server.shared);
        let connection = Connection {
            sid: sid.clone(),
            server,
            outbox,
            websocket,
            upgrade: None,
            first_reader,
            pong_deadline: None,
            heartbeat_due: None,
            opened_at: std::time::Instant::now(),
            sio: SocketIo::default(),
            peer,
            app,
            closing: false,
            close_reason: None,
        };
        METRICS
            .connections_total
            .with_label_values(&[connection.transport_name()])
            .inc();
        let registry = connection.server.registry.clone();
        let addr = connection.start();
        // Registered before the handshake reply leaves, so the client's first request with
        // this sid always finds it (`started` runs later, on the actor's own turn).
        registry.insert(&sid, addr.clone());
        (sid, addr, open)
    }

    /// The name of the session's transport (`polling` or `websocket`).
    pub fn transport(&self) -> &'static str {
        self.transport_name()
    }

    /// The client's address (of its first request), when known.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Why the session is closing, once it is.
    pub fn close_reason(&self) -> Option<&'static str> {
        self.close_reason
    }

    /// The name of the session's transport, for metrics and logs.
    fn transport_name(&self) -> &'static str {
        match self.websocket {
            Some(_) => "websocket",
            None => "polling",
        }
    }

    /// The session's outbox: where frames for its client go, from anywhere.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Queues one frame; a client that cannot keep up is closed.
    pub fn send(&mut self, frame: Frame, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        METRICS.bytes_sent.inc_by(frame.len() as u64);
        let queued = self.outbox.push(frame);
        self.after_queueing(queued, ctx);
    }

    /// Sends the Socket.IO CONNECT reply `packet`, on a WebSocket in a write of its own (see
    /// [`Outbox::push_alone`]).
    pub fn send_connect_reply(&mut self, packet: &SioPacket, ctx: &mut Context<Self>) {
        // A CONNECT reply has no attachments: one frame.
        for frame in packet_frames(packet, &[]) {
            if self.closing {
                return;
            }
            METRICS.bytes_sent.inc_by(frame.len() as u64);
            let queued = self.outbox.push_alone(frame);
            self.after_queueing(queued, ctx);
            let outbox = self.outbox.clone();
            ctx.run_later(AFTER_ALONE, move |_, _| outbox.resume());
        }
    }

    /// Queues one frame ahead of those already queued (a heartbeat ping).
    fn send_ahead(&mut self, frame: Frame, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        METRICS.bytes_sent.inc_by(frame.len() as u64);
        let queued = self.outbox.push_ahead(frame);
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
        self.close_with(reason, clean, CLOSE_NORMAL, ctx);
    }

    /// [`Connection::close`] with the WebSocket close code `code`.
    fn close_with(
        &mut self,
        reason: &'static str,
        clean: bool,
        code: u16,
        ctx: &mut Context<Self>,
    ) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.close_reason = Some(reason);
        log::debug!("session {} closing: {reason}", self.sid);
        if clean {
            let _ = self.outbox.push(Frame::Text("1".into()));
        }
        match self.websocket {
            None => {
                self.outbox.answer_waiting_with("1");
            }
            Some(_) => self.outbox.close(code),
        }
        if let Some(upgrade) = self.upgrade.take() {
            upgrade.outbox.close(CLOSE_NORMAL);
        }
        ctx.stop();
    }
}

/// The WebSocket close code of a session that ends normally.
pub(super) const CLOSE_NORMAL: u16 = 1000;

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
            .with_label_values(&[self.transport_name()])
            .inc();
        log::debug!("session {} opened ({})", self.sid, self.transport_name());
        ctx.add_stream(OutboxWatch::new(0, self.outbox.clone()));
        if let Some(reader) = self.first_reader.take() {
            ctx.add_stream(reader);
        }
        self.schedule_ping(self.opened_at, ctx);
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
            .with_label_values(&[self.transport_name()])
            .dec();
        log::debug!("session {} closed", self.sid);
        self.leave_all_namespaces();
        // What the socket could not take at once still goes, then the close frame; bounded,
        // so that a client that stopped reading cannot keep the socket for ever.
        if self.websocket.is_some() && self.outbox.queued_bytes() > 0 {
            let finish = self.outbox.clone().finish();
            let bound = self.server.config.ping_timeout;
            actix::spawn(async move {
                let _ = tokio::time::timeout(bound, finish).await;
            });
        }
    }
}

impl<A: SocketApp> Handler<CloseSession> for Connection<A> {
    type Result = ();
    fn handle(&mut self, msg: CloseSession, ctx: &mut Context<Self>) {
        self.close(msg.reason, true, ctx);
    }
}
