//! The tasks that move WebSocket frames between actix-ws and a connection actor. The actor
//! never awaits the socket: it queues commands for the writer task (bounded in bytes, so a
//! client that stops reading fills it and gets closed) and receives frames from the reader
//! task, which waits for each frame to be handled before reading the next (backpressure on
//! the client).

use super::messages::{WsEnded, WsIn};
use super::transport::{QueuedBytes, WsCommand, WsLink};
use super::Connection;
use actix::Addr;
use actix_ws::{AggregatedMessageStream, Session};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

static NEXT_WS_ID: AtomicU64 = AtomicU64::new(1);

/// The writer task's end of a [`WsLink`].
#[derive(Debug)]
pub struct WsOutbox {
    rx: mpsc::UnboundedReceiver<WsCommand>,
    queued: QueuedBytes,
}

/// The queue between a connection actor and the writer task of one WebSocket, holding at
/// most `limit_bytes` (see [`super::transport`]). The link is created before the WebSocket
/// handshake so that the actor can refuse it (HTTP 400) first.
pub fn ws_channel(limit_bytes: usize) -> (WsLink, WsOutbox) {
    let (tx, rx) = mpsc::unbounded_channel::<WsCommand>();
    let queued = QueuedBytes::default();
    (
        WsLink {
            id: NEXT_WS_ID.fetch_add(1, Ordering::Relaxed),
            tx,
            queued: queued.clone(),
            limit: limit_bytes,
        },
        WsOutbox { rx, queued },
    )
}

/// Starts the writer task of `session`, draining what the actor queues on the link.
pub fn spawn_writer(mut session: Session, outbox: WsOutbox) {
    let WsOutbox { mut rx, queued } = outbox;
    actix_web::rt::spawn(async move {
        while let Some(command) = rx.recv().await {
            let sent = match command {
                WsCommand::Send(frame) => {
                    let len = frame.len();
                    let sent = match frame {
                        crate::engine::Frame::Text(t) => session.text(t).await,
                        crate::engine::Frame::Binary(b) => session.binary(b).await,
                    };
                    queued.written(len);
                    sent
                }
                WsCommand::Pong(p) => session.pong(&p).await,
                WsCommand::Close => break,
            };
            if sent.is_err() {
                return;
            }
        }
        let _ = session.close(None).await;
    });
}

/// Starts the reader task feeding `stream` to the connection actor.
pub fn spawn_reader(mut stream: AggregatedMessageStream, addr: Addr<Connection>, ws_id: u64) {
    actix_web::rt::spawn(async move {
        while let Some(item) = stream.recv().await {
            let stop = item.is_err();
            if addr.send(WsIn { ws_id, item }).await.is_err() || stop {
                return;
            }
        }
        addr.do_send(WsEnded { ws_id });
    });
}
