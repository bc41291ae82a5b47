//! The tasks that move WebSocket frames between actix-ws and a connection actor. The actor
//! never awaits the socket: it queues commands for the writer task (bounded in bytes, so a
//! client that stops reading fills it and gets closed) and receives frames from the reader
//! task, which waits for each frame to be handled before reading the next (backpressure on
//! the client).

use super::fragment::{fragment_ranges, FRAGMENT_BYTES};
use super::frame::Frame;
use super::outbox::{WsCommand, WsOutbox};
use actix::{Message, Recipient};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, Closed, Item, ProtocolError, Session};
use bytes::Bytes;
use std::time::Duration;

/// What the reader task hands the connection: one frame (or a protocol error) read from the
/// WebSocket `ws_id`, or `None` once that WebSocket ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WsIn {
    pub ws_id: u64,
    pub item: Option<Result<AggregatedMessage, ProtocolError>>,
}

/// The pause after a frame sent with [`WsCommand::SendAlone`] (the Socket.IO CONNECT reply)
/// before the writer takes the next one. The server queues the reply and the first events
/// (`auth` in the conformance server, `session` and `users` in the chat) in one turn; written
/// back to back they reach the client in one TCP read, and a client that handles one message
/// per turn of its event loop (the official protocol suites' `ws` 8.5.0 with `once`
/// listeners, awaiting between messages) dispatches both in one turn and misses the second.
/// Node's engine.io writes one message at a time while idle (the next waits for the previous
/// write's callback); this pause gives the client the same chance to read the reply alone.
/// It costs each new connection this much once and nothing per message: every other frame is
/// batched as before (everything queued leaves in as few writes as the dispatcher makes).
pub const AFTER_ALONE: Duration = Duration::from_millis(10);

/// Starts the writer task of `session`, draining what the actor queues on the link.
pub fn spawn_writer(mut session: Session, mut outbox: WsOutbox) {
    actix_web::rt::spawn(async move {
        while let Some(command) = outbox.next().await {
            let sent = match command {
                WsCommand::Send(frame) => {
                    let len = frame.len();
                    let sent = send_frame(&mut session, frame).await;
                    outbox.written(len);
                    sent
                }
                WsCommand::SendAlone(frame) => {
                    let len = frame.len();
                    let sent = send_frame(&mut session, frame).await;
                    outbox.written(len);
                    // Lets the dispatcher (same worker thread) write it now, then waits.
                    tokio::task::yield_now().await;
                    tokio::time::sleep(AFTER_ALONE).await;
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

/// Sends one frame as one WebSocket message; a long one as fragments (see
/// [`super::fragment`]), yielding after each so that the HTTP dispatcher, which runs on this
/// same worker thread, writes it out before the next is queued.
async fn send_frame(session: &mut Session, frame: Frame) -> Result<(), Closed> {
    if frame.len() <= FRAGMENT_BYTES {
        return match frame {
            Frame::Text(t) => session.text(t).await,
            Frame::Binary(b) => session.binary(b).await,
        };
    }
    let (bytes, ranges, text) = match frame {
        Frame::Text(t) => {
            let ranges = fragment_ranges(t.len(), FRAGMENT_BYTES, |i| t.is_char_boundary(i));
            (t.into_bytes(), ranges, true)
        }
        Frame::Binary(b) => {
            let ranges = fragment_ranges(b.len(), FRAGMENT_BYTES, |_| true);
            (b, ranges, false)
        }
    };
    let last = ranges.len() - 1;
    for (index, range) in ranges.into_iter().enumerate() {
        let piece: Bytes = bytes.slice(range);
        let item = match (index, text) {
            (0, true) => Item::FirstText(piece),
            (0, false) => Item::FirstBinary(piece),
            (i, _) if i == last => Item::Last(piece),
            _ => Item::Continue(piece),
        };
        session.continuation(item).await?;
        tokio::task::yield_now().await;
    }
    Ok(())
}

/// Starts the reader task feeding `stream` to the connection actor.
pub fn spawn_reader(mut stream: AggregatedMessageStream, connection: Recipient<WsIn>, ws_id: u64) {
    actix_web::rt::spawn(async move {
        while let Some(item) = stream.recv().await {
            let stop = item.is_err();
            let item = Some(item);
            if connection.send(WsIn { ws_id, item }).await.is_err() || stop {
                return;
            }
        }
        connection.do_send(WsIn { ws_id, item: None });
    });
}
