//! Reading a session's WebSocket: the [`WsReader`] stream a connection actor adds to its
//! context once it owns the socket (writing is the outbox's, `outbox.rs`).
//!
//! Nothing is held while idle: every read goes through one buffer per worker thread
//! ([`READ_BUFFER_BYTES`], shared by all its connections), complete frames are decoded from it
//! where they lie (unmasked in place, `chat_protocol::websocket`), and a connection keeps only
//! the bytes of a frame cut by the end of a read, given back as soon as the frame completes. A
//! fragmented message is assembled in the decoder's own buffer, freed when it completes.
//!
//! The actor handles each message before the stream is polled again (backpressure on the
//! client: a client that floods is read no faster than its messages are handled).

use super::outbox::Outbox;
use chat_protocol::engineio::Packet as EioPacket;
use chat_protocol::websocket::{decode_frame, Assembler, Message, WsError};
use socket2::SockRef;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// The read buffer of each worker thread.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

/// A connection keeps a partial frame's buffer of at most this capacity between reads; a
/// larger one (a burst, a long message) is given back once drained.
const KEEP_PARTIAL: usize = 256;

thread_local! {
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUFFER_BYTES]);
}

/// What a WebSocket of a session delivered.
#[derive(Debug)]
pub enum WsItem {
    /// An Engine.IO packet.
    Packet(EioPacket),
    /// A text message that is no Engine.IO packet (the metrics kind).
    Malformed(&'static str),
    /// The WebSocket broke the protocol (or went over `maxPayload`); it is closed with the
    /// error's close code.
    Violation(WsError),
    /// A WebSocket ping: the session answers it with a pong on this WebSocket.
    Ping(Vec<u8>),
    /// The client closed the WebSocket (a close frame, or the end of the stream).
    Closed,
}

/// One item of the WebSocket `ws_id` of a session, and the bytes of its message (0 for
/// control frames).
#[derive(Debug)]
pub struct WsIn {
    pub ws_id: u64,
    pub item: WsItem,
    pub len: usize,
}

/// The read side of one WebSocket.
pub struct WsReader {
    id: u64,
    stream: Arc<TcpStream>,
    max_payload: usize,
    /// Bytes of a frame the last read cut short.
    partial: Vec<u8>,
    assembler: Assembler,
    /// Items decoded and not yet handed out (one read may bring several frames), with the
    /// bytes of their messages.
    ready: VecDeque<(WsItem, usize)>,
    done: bool,
}

impl WsReader {
    /// Reads `stream` (whose first bytes, read with the HTTP request, are `already_read`) as
    /// the WebSocket `id`.
    pub fn new(
        id: u64,
        stream: Arc<TcpStream>,
        max_payload: usize,
        already_read: &[u8],
    ) -> WsReader {
        let mut reader = WsReader {
            id,
            stream,
            max_payload,
            partial: Vec::new(),
            assembler: Assembler::default(),
            ready: VecDeque::new(),
            done: false,
        };
        if !already_read.is_empty() {
            let mut bytes = already_read.to_vec();
            reader.consume(&mut bytes);
        }
        reader
    }

    /// Decodes the complete frames of `bytes` (just read), keeping a cut frame's bytes.
    fn consume(&mut self, bytes: &mut [u8]) {
        if self.partial.is_empty() {
            let used = self.decode(bytes);
            self.partial.extend_from_slice(&bytes[used..]);
        } else {
            let mut partial = std::mem::take(&mut self.partial);
            partial.extend_from_slice(bytes);
            let used = self.decode(&mut partial);
            partial.drain(..used);
            self.partial = partial;
        }
        if self.partial.is_empty() && self.partial.capacity() > KEEP_PARTIAL {
            self.partial = Vec::new();
        }
    }

    /// Decodes frames from the start of `bytes` until one is incomplete; returns the bytes
    /// used. After a violation nothing more is read.
    fn decode(&mut self, bytes: &mut [u8]) -> usize {
        let mut used = 0;
        while !self.done {
            let frame = match decode_frame(&mut bytes[used..], self.max_payload) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    self.violation(error);
                    break;
                }
            };
            let start = used;
            used += frame.consumed;
            let payload = &bytes[start..][frame.payload.clone()];
            let item = match self.assembler.push(&frame, payload, self.max_payload) {
                Ok(Some(message)) => {
                    let len = match &message {
                        Message::Text(text) => text.len(),
                        Message::Binary(bytes) => bytes.len(),
                        _ => 0,
                    };
                    item_of(message).map(|item| (item, len))
                }
                Ok(None) => None,
                Err(error) => {
                    self.violation(error);
                    None
                }
            };
            if let Some((item, len)) = item {
                if matches!(item, WsItem::Closed) {
                    self.done = true;
                }
                self.ready.push_back((item, len));
            }
        }
        used
    }

    fn violation(&mut self, error: WsError) {
        self.ready.push_back((WsItem::Violation(error), 0));
        self.done = true;
    }
}

/// The item a complete message makes (a pong makes none).
fn item_of(message: Message<'_>) -> Option<WsItem> {
    Some(match message {
        Message::Text(text) => match EioPacket::decode_text(&text) {
            Ok(packet) => WsItem::Packet(packet),
            Err(e) => WsItem::Malformed(e.kind()),
        },
        Message::Binary(bytes) => WsItem::Packet(EioPacket::decode_binary(&bytes)),
        Message::Ping(payload) => WsItem::Ping(payload.to_vec()),
        Message::Pong(_) => return None,
        Message::Close(_) => WsItem::Closed,
    })
}

impl futures_util::Stream for WsReader {
    type Item = WsIn;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsIn>> {
        let reader = self.get_mut();
        loop {
            if let Some((item, len)) = reader.ready.pop_front() {
                if reader.ready.is_empty() && reader.ready.capacity() > 4 {
                    reader.ready = VecDeque::new();
                }
                return Poll::Ready(Some(WsIn {
                    ws_id: reader.id,
                    item,
                    len,
                }));
            }
            if reader.done {
                return Poll::Ready(None);
            }
            match reader.stream.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => {
                    reader.done = true;
                    reader.ready.push_back((WsItem::Closed, 0));
                    continue;
                }
                Poll::Ready(Ok(())) => {}
            }
            READ_BUFFER.with(|buffer| {
                let mut buffer = buffer.borrow_mut();
                match read_once(&reader.stream, &mut buffer) {
                    Ok(0) => {
                        reader.done = true;
                        reader.ready.push_back((WsItem::Closed, 0));
                    }
                    Ok(n) => reader.consume(&mut buffer[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => {
                        reader.done = true;
                        reader.ready.push_back((WsItem::Closed, 0));
                    }
                }
            });
        }
    }
}

/// Reads once from `stream` into `buffer`. A read that returns less than the buffer has
/// drained the socket (TCP hands over all it holds, up to the buffer's length), so its
/// readiness is cleared at once, as tokio's own `poll_read` does: otherwise the next poll would
/// find out with one more `recv` that fails with `EAGAIN`, a syscall per message received.
/// Clearing is safe against data that arrives meanwhile: tokio clears only the readiness event
/// the read started from, and a newer event keeps the socket readable.
fn read_once(stream: &TcpStream, buffer: &mut [u8]) -> std::io::Result<usize> {
    let capacity = buffer.len();
    let mut read = None;
    let cleared = stream.try_io(Interest::READABLE, || {
        // A `recv` (socket2's `Read`), not a `read`: straight to the socket layer, without the
        // file layer's work on every call (see the outbox's `write_batch`).
        let n = (&*SockRef::from(stream)).read(buffer)?;
        read = Some(n);
        if n > 0 && n < capacity {
            // Tells `try_io` the socket is drained (it then clears the readiness); the bytes
            // read are returned below.
            Err(std::io::ErrorKind::WouldBlock.into())
        } else {
            Ok(n)
        }
    });
    match read {
        Some(n) => Ok(n),
        None => cleared,
    }
}

/// The events of an outbox for the session's task, as a stream the connection actor adds to
/// its context (for the session's outbox, and for a probing WebSocket's own): it ends with the
/// first event. `id` says whose outbox it is (0: the session's; else the WebSocket's id).
pub struct OutboxWatch {
    id: u64,
    outbox: Arc<Outbox>,
    done: bool,
}

impl OutboxWatch {
    pub fn new(id: u64, outbox: Arc<Outbox>) -> OutboxWatch {
        OutboxWatch {
            id,
            outbox,
            done: false,
        }
    }
}

impl futures_util::Stream for OutboxWatch {
    type Item = (u64, super::outbox::OutboxEvent);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let watch = self.get_mut();
        if watch.done {
            return Poll::Ready(None);
        }
        match watch.outbox.poll_socket(cx) {
            Poll::Ready(event) => {
                watch.done = true;
                Poll::Ready(Some((watch.id, event)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
