//! The outbox of one session: every frame queued for its client, whoever queued it (the
//! connection itself, the hub delivering a broadcast, another worker thread routing a private
//! message), bounded in bytes, and the one place frames leave from.
//!
//! On a WebSocket the frames go straight from here to the socket: whoever queues a frame while
//! nothing is being written writes everything queued in one vectored write (`sendmsg`), on its
//! own thread, with no task to wake; frames queued meanwhile join the next write, so under load
//! many frames share a syscall and an idle socket's frame leaves at once. Only when the socket
//! cannot take more (`WouldBlock`, a partial write) does the session's own task take over,
//! waiting for the socket to be writable (`poll_socket`). Nothing here keeps a write buffer: a
//! frame is written from its own bytes, with its WebSocket header built on the stack.
//!
//! A broadcast to everyone (presence) is the exception: written inline, a connect storm of
//! N users would make the one thread that delivers them do N² single-frame writes. Such a
//! frame is queued for the session's own task instead ([`Flush::ByOwner`]), which is woken
//! once and writes everything queued meanwhile in one go, on its own thread.
//!
//! On long-polling the frames wait until a GET takes them all as one payload (a GET waiting
//! is answered by whoever queues the next frame).
//!
//! Invariants, all under the one lock:
//! - frames leave in the order they were queued, except that frames queued `ahead`
//!   (heartbeat pings) go before queued frames not yet started; a frame partly written is
//!   always finished first;
//! - at most one thread writes at a time (`writing`); it writes outside the lock from handles
//!   (cheap clones of the frames, which stay queued until written);
//! - `bytes` is the length of every queued frame not yet wholly written, the figure the
//!   bound (`--outbound-buffer-bytes`) applies to;
//! - an empty queue gives back what a burst made it grow.

use super::bound::{exceeds, QueueError};
use super::frame::{encode_polling_body, Frame};
use chat_protocol::websocket::{close_frame, frame_header, Opcode};
use smallvec::SmallVec;
use socket2::SockRef;
use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The pause after a frame queued with [`Outbox::push_alone`] (the Socket.IO CONNECT reply)
/// before the frames after it go: it costs each new connection this much once and nothing per
/// message (see `push_alone`).
pub const AFTER_ALONE: std::time::Duration = std::time::Duration::from_millis(10);

/// Capacity (in frames) a drained queue may keep; past it, it is freed. A few frames cover an
/// idle user's traffic (pings, a message now and then) without reallocating.
const KEEP_CAPACITY: usize = 8;

/// Frames written by one vectored write at most (the kernel takes 1024 iovecs, two per frame).
const MAX_BATCH: usize = 256;

/// Who writes a routed frame to a WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Whoever queued it, at once, unless a write is under way (a private message: one or two
    /// recipients, latency first).
    Now,
    /// The session's own task, woken if it was not already (a broadcast to many: frames queued
    /// meanwhile share its write, and the writes spread over the sessions' threads).
    ByOwner,
}

/// What a routed event queued by [`Outbox::queue_routed`] still needs, once the caller has
/// released the locks that ordered it ([`Outbox::finish_routed`]).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutedNext {
    /// Nothing: it was held, or someone else is writing or will be woken to write.
    Nothing,
    /// Write what is queued (or answer a waiting GET).
    Write,
    /// Wake the session's task, which writes it (`Flush::ByOwner`).
    WakeOwner,
}

/// How the actor answers a long-polling GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollReply {
    /// HTTP 200 with this payload.
    Body(String),
    /// The session moved to WebSocket while this GET waited: HTTP 400, as Node answers any
    /// polling request on an upgraded session.
    Upgraded,
}

/// Why the outbox stopped taking frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client did not read fast enough: its queue went past the bound.
    SlowConsumer,
    /// The socket failed (reset, broken pipe) or was closed.
    TransportGone,
}

impl From<Ended> for QueueError {
    fn from(ended: Ended) -> QueueError {
        match ended {
            Ended::SlowConsumer => QueueError::SlowConsumer,
            Ended::TransportGone => QueueError::Closed,
        }
    }
}

/// Where the frames go.
enum Sink {
    /// Long-polling: a GET takes them.
    Polling {
        waiting: Option<oneshot::Sender<PollReply>>,
    },
    /// A WebSocket: written to its socket.
    WebSocket { stream: Arc<TcpStream> },
}

/// What goes on the wire: an Engine.IO frame, or the pong of a WebSocket ping.
#[derive(Clone)]
enum Wire {
    Frame(Frame),
    Pong(bytes::Bytes),
}

impl Wire {
    fn opcode(&self) -> Opcode {
        match self {
            Wire::Frame(Frame::Text(_)) => Opcode::Text,
            Wire::Frame(Frame::Binary(_)) => Opcode::Binary,
            Wire::Pong(_) => Opcode::Pong,
        }
    }

    fn payload(&self) -> &[u8] {
        match self {
            Wire::Frame(Frame::Text(text)) => text.as_bytes(),
            Wire::Frame(Frame::Binary(bytes)) | Wire::Pong(bytes) => bytes,
        }
    }

    /// Bytes of the payload (what the byte bound counts).
    fn len(&self) -> usize {
        self.payload().len()
    }

    /// Length on the wire: header and payload.
    fn wire_len(&self) -> usize {
        frame_header(self.opcode(), true, self.len()).1 + self.len()
    }
}

/// One queued frame.
struct Queued {
    wire: Wire,
    /// Nothing after this frame is written until [`Outbox::resume`] (the CONNECT reply).
    alone: bool,
}

struct State {
    /// Frames going before `queue` (heartbeat pings, which must not wait behind megabytes of
    /// presence traffic or the client misses `pingTimeout`).
    ahead: VecDeque<Queued>,
    queue: VecDeque<Queued>,
    /// Bytes already written of the frame at the front of `ahead` (`in_ahead`) or `queue`.
    partial: Option<(bool, usize)>,
    bytes: usize,
    sink: Sink,
    /// A thread is writing (outside the lock).
    writing: bool,
    /// A frame written alone is out: wait for [`Outbox::resume`].
    paused: bool,
    /// The socket took no more: the session's task waits for it to be writable.
    blocked: bool,
    ended: Option<Ended>,
    /// After the queued frames, a close frame with this code and the end of the socket.
    closing: Option<u16>,
    /// The session's task, woken when it must act (the socket is blocked, the outbox ended).
    owner: Option<Waker>,
    /// While the session is joining (its CONNECT reply and first events not yet queued):
    /// what was routed to it meanwhile, in order, released behind those events.
    held: Option<Vec<Held>>,
}

/// One event routed to a session while it was held.
pub struct Held {
    /// Its position in the node's broadcast log (with recovery on).
    pub seq: Option<u64>,
    /// The private message it is, if it is one.
    pub message_id: Option<Arc<str>>,
    pub frames: Arc<[Frame]>,
}

/// The outbox of one session (shared: `Arc<Outbox>`).
pub struct Outbox {
    state: Mutex<State>,
    /// The byte bound (see `bound.rs`).
    limit: usize,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// What the session's task must do, as [`Outbox::poll_socket`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxEvent {
    /// The outbox ended: close the session.
    Ended(Ended),
    /// Everything was written and the close frame sent (after [`Outbox::close`]).
    Closed,
}

impl Outbox {
    /// An outbox holding at most `limit` bytes of frames, on long-polling until a WebSocket is
    /// attached.
    pub fn new(limit: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            state: Mutex::new(State {
                ahead: VecDeque::new(),
                queue: VecDeque::new(),
                partial: None,
                bytes: 0,
                sink: Sink::Polling { waiting: None },
                writing: false,
                paused: false,
                blocked: false,
                ended: None,
                closing: None,
                owner: None,
                held: None,
            }),
            limit,
        })
    }

    /// An outbox writing to `stream` from the start (a session opened as a WebSocket).
    pub fn websocket(limit: usize, stream: Arc<TcpStream>) -> Arc<Outbox> {
        let outbox = Outbox::new(limit);
        outbox.lock().sink = Sink::WebSocket { stream };
        outbox
    }

    /// The state; a panic while it was held cannot leave it inconsistent (every update is a
    /// push, a pop or an addition), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `frame` after those already queued; a frame that would take the queue past its
    /// bound ends the outbox (a client that cannot keep up).
    pub fn push(&self, frame: Frame) -> Result<(), QueueError> {
        self.enqueue(Wire::Frame(frame), false, false)
    }

    /// Queues `frame` ahead of everything not yet started (a heartbeat ping). It counts in the
    /// byte budget but is never refused for it: it is tiny.
    pub fn push_ahead(&self, frame: Frame) -> Result<(), QueueError> {
        self.enqueue(Wire::Frame(frame), true, false)
    }

    /// Queues the pong answering a WebSocket ping (ahead, like a heartbeat). A pong still
    /// waiting (not started, and in no write under way) is replaced instead: a pong may answer
    /// only the most recent ping (RFC 6455 5.5.3), and pongs are not refused for the byte bound,
    /// so a client that pings and never reads holds one pong here, not one per ping.
    pub fn push_pong(&self, payload: &[u8]) -> Result<(), QueueError> {
        let payload = bytes::Bytes::copy_from_slice(payload);
        {
            let mut state = self.lock();
            if !state.writing && state.ended.is_none() && state.closing.is_none() {
                let started = usize::from(matches!(state.partial, Some((true, _))));
                let waiting = state
                    .ahead
                    .iter_mut()
                    .skip(started)
                    .find(|q| matches!(q.wire, Wire::Pong(_)));
                if let Some(queued) = waiting {
                    let replaced = queued.wire.len();
                    let len = payload.len();
                    queued.wire = Wire::Pong(payload);
                    state.bytes = state.bytes - replaced + len;
                    return Ok(());
                }
            }
        }
        self.enqueue(Wire::Pong(payload), true, false)
    }

    /// Queues `frame` to be written with a write of its own, the frames after it waiting for
    /// [`Outbox::resume`]: the Socket.IO CONNECT reply. The server queues the reply and the
    /// first events (`auth` in the conformance server, `session` and `users` in the chat) in
    /// one turn; written back to back they reach the client in one TCP read, and a client that
    /// handles one message per turn of its event loop (the official protocol suites' `ws`
    /// 8.5.0 with `once` listeners, awaiting between messages) dispatches both in one turn and
    /// misses the second. Node's engine.io writes one message at a time while idle; the pause
    /// gives the client the same chance to read the reply alone. Long-polling has no such
    /// thing: a GET takes what is queued.
    pub fn push_alone(&self, frame: Frame) -> Result<(), QueueError> {
        self.enqueue(Wire::Frame(frame), false, true)
    }

    fn enqueue(&self, wire: Wire, ahead: bool, alone: bool) -> Result<(), QueueError> {
        let mut state = self.lock();
        if let Some(ended) = state.ended {
            return Err(ended.into());
        }
        if state.closing.is_some() {
            return Err(QueueError::Closed);
        }
        if !ahead && exceeds(state.bytes, wire.len(), self.limit) {
            state.ended = Some(Ended::SlowConsumer);
            drop_queued(&mut state);
            wake_owner(state);
            return Err(QueueError::SlowConsumer);
        }
        state.bytes += wire.len();
        // Only a WebSocket writes frames one by one; a GET takes whatever is queued.
        let alone = alone && matches!(state.sink, Sink::WebSocket { .. });
        let queued = Queued { wire, alone };
        if ahead {
            state.ahead.push_back(queued);
        } else {
            state.queue.push_back(queued);
        }
        self.flush(state);
        Ok(())
    }

    /// Queues an event routed to this session, or holds it while the session joins, and says
    /// what is left to do ([`Outbox::finish_routed`]): the part of a delivery that must happen
    /// in the order of the node's broadcast log, so cheap enough to do under its lock, with no
    /// syscall and no task woken (except when the event ends the outbox, a slow consumer's
    /// rare end, whose task is woken at once). `seq` is its position in that log, and
    /// `message_id` names it when it is a private message (see [`Outbox::release`]).
    pub fn queue_routed(
        &self,
        frames: &Arc<[Frame]>,
        seq: Option<u64>,
        message_id: Option<&Arc<str>>,
        flush: Flush,
    ) -> Result<RoutedNext, QueueError> {
        let mut state = self.lock();
        if let Some(held) = state.held.as_mut() {
            let len: usize = frames.iter().map(Frame::len).sum();
            held.push(Held {
                seq,
                message_id: message_id.cloned(),
                frames: frames.clone(),
            });
            state.bytes += len;
            if exceeds(state.bytes - len, len, self.limit) {
                state.ended = Some(Ended::SlowConsumer);
                state.held = None;
                drop_queued(&mut state);
                wake_owner(state);
                return Err(QueueError::SlowConsumer);
            }
            return Ok(RoutedNext::Nothing);
        }
        if let Some(ended) = state.ended {
            return Err(ended.into());
        }
        if state.closing.is_some() {
            return Err(QueueError::Closed);
        }
        let len: usize = frames.iter().map(Frame::len).sum();
        if exceeds(state.bytes, len, self.limit) {
            state.ended = Some(Ended::SlowConsumer);
            drop_queued(&mut state);
            wake_owner(state);
            return Err(QueueError::SlowConsumer);
        }
        state.bytes += len;
        for frame in frames.iter() {
            state.queue.push_back(Queued {
                wire: Wire::Frame(frame.clone()),
                alone: false,
            });
        }
        Ok(match (flush, &state.sink) {
            (Flush::ByOwner, Sink::WebSocket { .. }) => {
                if !state.writing && !state.blocked {
                    // The owner's task writes it once it finds the socket writable (at once,
                    // usually), with whatever else was queued by then. Marked blocked now, so
                    // that nobody writes meanwhile; woken by `finish_routed`.
                    state.blocked = true;
                    RoutedNext::WakeOwner
                } else {
                    RoutedNext::Nothing
                }
            }
            _ => RoutedNext::Write,
        })
    }

    /// Does what [`Outbox::queue_routed`] left to do: writes what is queued (answers a waiting
    /// GET) or wakes the session's task.
    pub fn finish_routed(&self, next: RoutedNext) {
        match next {
            RoutedNext::Nothing => {}
            RoutedNext::Write => self.flush(self.lock()),
            RoutedNext::WakeOwner => wake_owner(self.lock()),
        }
    }

    /// Holds what is routed to the session until [`Outbox::release`]: between its join and
    /// the frames that must reach the client first (the CONNECT reply, `session`, `users`, or
    /// a recovered socket's missed events).
    pub fn hold(&self) {
        let mut state = self.lock();
        if state.held.is_none() {
            state.held = Some(Vec::new());
        }
    }

    /// The private messages held so far (a recovery across nodes leaves them out of its
    /// replay: they reach the client live).
    pub fn held_message_ids(&self) -> Vec<Arc<str>> {
        self.lock()
            .held
            .iter()
            .flatten()
            .filter_map(|h| h.message_id.clone())
            .collect()
    }

    /// Queues what was held behind everything queued so far, except the events at or before
    /// log position `replayed` (a recovered socket was replayed those already).
    pub fn release(&self, replayed: Option<u64>) {
        let mut state = self.lock();
        let Some(held) = state.held.take() else {
            return;
        };
        for event in held {
            let len: usize = event.frames.iter().map(Frame::len).sum();
            state.bytes -= len;
            let skip = matches!((replayed, event.seq), (Some(floor), Some(seq)) if seq <= floor);
            if skip {
                continue;
            }
            for frame in event.frames.iter() {
                state.bytes += frame.len();
                state.queue.push_back(Queued {
                    wire: Wire::Frame(frame.clone()),
                    alone: false,
                });
            }
        }
        self.flush(state);
    }

    /// The frame written alone was given its moment: the frames after it may go.
    pub fn resume(&self) {
        let mut state = self.lock();
        state.paused = false;
        self.flush(state);
    }

    /// Sends what is queued, as the sink allows: answers a waiting GET, or writes to the
    /// socket unless someone is writing or the socket is blocked.
    fn flush<'a>(&'a self, mut state: MutexGuard<'a, State>) {
        let stream = match &state.sink {
            Sink::Polling { .. } => return answer_poll(&mut state),
            Sink::WebSocket { stream } => stream.clone(),
        };
        if state.writing || state.blocked || state.paused {
            return;
        }
        self.write(state, &stream);
    }

    /// Writes what is queued to `stream` until nothing is left, the socket blocks, or a frame
    /// written alone pauses the rest. Called with the lock held and `writing` false; releases
    /// the lock around each write.
    fn write<'a>(&'a self, mut state: MutexGuard<'a, State>, stream: &TcpStream) {
        loop {
            if state.paused || state.ended.is_some() {
                break;
            }
            let batch = next_batch(&state);
            if batch.frames.is_empty() {
                if let Some(code) = state.closing {
                    // Everything went: the close frame, then the end of the socket.
                    state.writing = true;
                    drop(state);
                    let close = close_frame(code, "");
                    let _ = stream.try_write(&close);
                    state = self.lock();
                    state.writing = false;
                    state.ended = Some(Ended::TransportGone);
                    wake_owner(state);
                    return;
                }
                break;
            }
            state.writing = true;
            drop(state);
            let written = write_batch(stream, &batch);
            state = self.lock();
            state.writing = false;
            match written {
                Ok(n) => {
                    let finished_alone = account(&mut state, &batch, n);
                    if finished_alone {
                        state.paused = true;
                    }
                    if n < batch.total {
                        // The socket took less than offered: wait for it to be writable.
                        state.blocked = true;
                        return wake_owner(state);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    state.blocked = true;
                    return wake_owner(state);
                }
                Err(_) => {
                    state.ended = Some(Ended::TransportGone);
                    drop_queued(&mut state);
                    return wake_owner(state);
                }
            }
        }
        release_if_drained(&mut state);
    }

    /// For the session's task: registers its waker and, when the socket was blocked and is
    /// writable now, writes what is queued. Ready with what the session must do.
    pub fn poll_socket(&self, cx: &mut Context<'_>) -> Poll<OutboxEvent> {
        let mut state = self.lock();
        loop {
            if let Some(ended) = state.ended {
                return Poll::Ready(
                    if state.closing.is_some() && ended == Ended::TransportGone {
                        OutboxEvent::Closed
                    } else {
                        OutboxEvent::Ended(ended)
                    },
                );
            }
            if !state.blocked {
                if !state
                    .owner
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    state.owner = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            let Sink::WebSocket { stream } = &state.sink else {
                state.blocked = false;
                continue;
            };
            let stream = stream.clone();
            match stream.poll_write_ready(cx) {
                Poll::Pending => {
                    state.owner = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                Poll::Ready(Err(_)) => {
                    state.ended = Some(Ended::TransportGone);
                    drop_queued(&mut state);
                }
                Poll::Ready(Ok(())) => {
                    state.blocked = false;
                    if state.writing {
                        continue;
                    }
                    self.write(state, &stream);
                    state = self.lock();
                }
            }
        }
    }

    /// Long-polling: a GET arrived. Answered at once when frames are queued, else it waits;
    /// `None` when a GET is already waiting (the caller refuses the second one).
    pub fn poll(&self) -> Option<oneshot::Receiver<PollReply>> {
        let mut state = self.lock();
        let Sink::Polling { waiting } = &mut state.sink else {
            let (tx, rx) = oneshot::channel();
            let _ = tx.send(PollReply::Upgraded);
            return Some(rx);
        };
        if waiting.as_ref().is_some_and(|w| !w.is_closed()) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        *waiting = Some(tx);
        answer_poll(&mut state);
        Some(rx)
    }

    /// Whether a GET is waiting.
    pub fn is_polled(&self) -> bool {
        matches!(&self.lock().sink, Sink::Polling { waiting: Some(w) } if !w.is_closed())
    }

    /// Ends the waiting GET with one packet outside the queue (a noop during an upgrade, a
    /// close when the session ends); returns whether a GET was waiting.
    pub fn answer_waiting_with(&self, text: &str) -> bool {
        if let Sink::Polling { waiting } = &mut self.lock().sink {
            if let Some(tx) = waiting.take() {
                let _ = tx.send(PollReply::Body(text.to_owned()));
                return true;
            }
        }
        false
    }

    /// Ends the waiting GET with HTTP 400: the session upgraded while it waited.
    pub fn refuse_waiting(&self) {
        if let Sink::Polling { waiting } = &mut self.lock().sink {
            if let Some(tx) = waiting.take() {
                let _ = tx.send(PollReply::Upgraded);
            }
        }
    }

    /// The session moved to a WebSocket: the frames no GET took go to `stream` now, and so
    /// does everything after them. A GET still waiting is left to the caller.
    pub fn attach(&self, stream: Arc<TcpStream>) {
        let mut state = self.lock();
        state.sink = Sink::WebSocket { stream };
        self.flush(state);
    }

    /// No more frames: on a WebSocket, what is queued is written, then a close frame with
    /// `code` (1000, or why the session broke the protocol), then the socket ends
    /// ([`OutboxEvent::Closed`]). On long-polling the queue stays for the last GET (the
    /// connection answers it).
    pub fn close(&self, code: u16) {
        let mut state = self.lock();
        if state.closing.is_some() || state.ended.is_some() {
            return;
        }
        state.closing = Some(code);
        // A closing session waits for nothing: what is queued goes now.
        state.paused = false;
        self.flush(state);
    }

    /// The socket is someone else's now (a probed WebSocket the session's own outbox took
    /// over): this outbox ends without writing anything more.
    pub fn retire(&self) {
        let mut state = self.lock();
        state.ended = Some(Ended::TransportGone);
        drop_queued(&mut state);
        wake_owner(state);
    }

    /// Drives a closing outbox to its end after its session stopped (the socket could not take
    /// everything at once); bounded by the caller.
    pub async fn finish(self: Arc<Self>) {
        std::future::poll_fn(|cx| self.poll_socket(cx).map(|_| ())).await;
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Frames taken by GETs or written, in order, from the front of the queue: for tests and
    /// the upgrade's hand-over of what polling did not deliver.
    pub fn take_queued(&self) -> Vec<Frame> {
        let mut state = self.lock();
        let state = &mut *state;
        let frames = state
            .ahead
            .drain(..)
            .chain(state.queue.drain(..))
            .filter_map(|q| match q.wire {
                Wire::Frame(frame) => Some(frame),
                Wire::Pong(_) => None,
            })
            .collect();
        state.bytes = 0;
        state.partial = None;
        frames
    }
}

/// Answers the waiting GET with every queued frame. The queue is only cleared once the body
/// reached a live request, so a GET abandoned by its client loses nothing.
fn answer_poll(state: &mut State) {
    if state.ahead.is_empty() && state.queue.is_empty() {
        return;
    }
    let Sink::Polling { waiting } = &mut state.sink else {
        return;
    };
    let Some(tx) = waiting.take() else { return };
    let body = encode_polling_body(
        state
            .ahead
            .iter()
            .chain(state.queue.iter())
            .filter_map(|q| match &q.wire {
                Wire::Frame(frame) => Some(frame),
                Wire::Pong(_) => None,
            }),
    );
    if tx.send(PollReply::Body(body)).is_ok() {
        state.ahead.clear();
        state.queue.clear();
        state.bytes = 0;
        release_if_drained(state);
    }
}

/// One frame of a write: a handle on the queued frame, whether it was queued alone, whether
/// it is at the front of `ahead` (else of `queue`).
struct Batched {
    wire: Wire,
    alone: bool,
    from_ahead: bool,
}

/// The frames of one write, the first maybe partly written.
struct Batch {
    frames: SmallVec<[Batched; 4]>,
    /// Bytes of the first frame (header included) already written.
    skip: usize,
    /// Bytes to write in all.
    total: usize,
}

/// The frames to write next, in order: the one partly written, then `ahead`, then `queue`,
/// up to [`MAX_BATCH`] and up to a frame written alone.
fn next_batch(state: &State) -> Batch {
    let mut frames = SmallVec::new();
    let mut skip = 0;
    let mut total = 0;
    let mut take = |queued: &Queued, from_ahead: bool, frames: &mut SmallVec<[Batched; 4]>| {
        total += queued.wire.wire_len();
        frames.push(Batched {
            wire: queued.wire.clone(),
            alone: queued.alone,
            from_ahead,
        });
        !queued.alone && frames.len() < MAX_BATCH
    };
    let (partial_in_ahead, written) = match state.partial {
        Some((in_ahead, written)) => (Some(in_ahead), written),
        None => (None, 0),
    };
    let mut ahead = state.ahead.iter();
    let mut queue = state.queue.iter();
    if let Some(in_ahead) = partial_in_ahead {
        let first = if in_ahead { ahead.next() } else { queue.next() };
        if let Some(first) = first {
            skip = written;
            if !take(first, in_ahead, &mut frames) {
                return Batch {
                    frames,
                    skip,
                    total: total - skip,
                };
            }
        }
    }
    let rest = ahead.map(|q| (q, true)).chain(queue.map(|q| (q, false)));
    for (queued, from_ahead) in rest {
        if !take(queued, from_ahead, &mut frames) {
            break;
        }
    }
    Batch {
        frames,
        skip,
        total: total - skip,
    }
}

/// One vectored write of `batch`; how many bytes the socket took. It is a `sendmsg`, not a
/// `writev`: the same iovecs, but straight to the socket layer, without the file layer's work
/// on every call (the position lock of `fdget_pos`, the VFS checks and `fsnotify`), which perf
/// showed as about a tenth of the kernel time of a delivered message. The headers and the
/// iovecs of a few frames stay on the stack.
fn write_batch(stream: &TcpStream, batch: &Batch) -> std::io::Result<usize> {
    let headers: SmallVec<[([u8; 10], usize); 4]> = batch
        .frames
        .iter()
        .map(|b| frame_header(b.wire.opcode(), true, b.wire.len()))
        .collect();
    let mut slices: SmallVec<[IoSlice<'_>; 8]> = SmallVec::with_capacity(batch.frames.len() * 2);
    let mut skip = batch.skip;
    for (batched, (header, header_len)) in batch.frames.iter().zip(&headers) {
        for part in [&header[..*header_len], batched.wire.payload()] {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            slices.push(IoSlice::new(&part[skip..]));
            skip = 0;
        }
    }
    // As `TcpStream::try_write_vectored` does: a `WouldBlock` clears the write readiness.
    stream.try_io(Interest::WRITABLE, || {
        SockRef::from(stream).send_vectored(&slices)
    })
}

/// Accounts `n` bytes of `batch` as written: whole frames leave the queues, a frame cut short
/// stays as the partial one. Returns whether a frame written alone went out whole.
fn account(state: &mut State, batch: &Batch, mut n: usize) -> bool {
    let mut skip = batch.skip;
    let mut finished_alone = false;
    for batched in &batch.frames {
        let len = batched.wire.wire_len() - skip;
        if n < len {
            if n > 0 || skip > 0 {
                state.partial = Some((batched.from_ahead, skip + n));
            }
            return finished_alone;
        }
        n -= len;
        skip = 0;
        state.partial = None;
        let popped = if batched.from_ahead {
            state.ahead.pop_front()
        } else {
            state.queue.pop_front()
        };
        if let Some(queued) = popped {
            state.bytes = state.bytes.saturating_sub(queued.wire.len());
        }
        finished_alone |= batched.alone;
    }
    finished_alone
}

/// The outbox ended: what was queued will never be written.
fn drop_queued(state: &mut State) {
    state.ahead = VecDeque::new();
    state.queue = VecDeque::new();
    state.bytes = 0;
    state.partial = None;
}

/// Wakes the session's task, after releasing the lock.
fn wake_owner(mut state: MutexGuard<'_, State>) {
    let owner = state.owner.take();
    drop(state);
    if let Some(waker) = owner {
        waker.wake();
    }
}

fn release_if_drained(state: &mut State) {
    for queue in [&mut state.ahead, &mut state.queue] {
        if queue.is_empty() && queue.capacity() > KEEP_CAPACITY {
            *queue = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::websocket::{decode_frame, Opcode as Op};
    use tokio::io::AsyncReadExt;

    /// A connected pair: the server's end (tokio, shared as the outbox holds it) and a plain
    /// client end to read what was written.
    async fn pair() -> (Arc<TcpStream>, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Arc::new(server), client)
    }

    /// Reads server frames (unmasked) until `count` arrived; their texts.
    async fn read_texts(client: &mut tokio::net::TcpStream, count: usize) -> Vec<String> {
        let mut bytes = Vec::new();
        let mut texts = Vec::new();
        let mut buf = [0u8; 4096];
        while texts.len() < count {
            let n = tokio::time::timeout(std::time::Duration::from_secs(2), client.read(&mut buf))
                .await
                .expect("frames within 2 s")
                .unwrap();
            assert!(n > 0, "the socket ended");
            bytes.extend_from_slice(&buf[..n]);
            loop {
                // Server frames are unmasked: parse the header by hand (2-byte form).
                if bytes.len() < 2 {
                    break;
                }
                let len = (bytes[1] & 0x7f) as usize;
                assert!(len < 126, "short frames only in this test");
                if bytes.len() < 2 + len {
                    break;
                }
                texts.push(String::from_utf8(bytes[2..2 + len].to_vec()).unwrap());
                bytes.drain(..2 + len);
            }
        }
        let _ = decode_frame;
        let _ = Op::Text;
        texts
    }

    fn text(t: &str) -> Frame {
        Frame::Text(t.to_owned().into())
    }

    #[tokio::test]
    async fn frames_leave_in_order_pings_first_and_the_reply_alone() {
        let (server, mut client) = pair().await;
        let outbox = Outbox::websocket(1 << 20, server);
        outbox.push(text("0open")).unwrap();
        outbox.push_alone(text("40")).unwrap();
        outbox.push(text("42a")).unwrap();
        outbox.push_ahead(text("2")).unwrap();
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let _ = outbox.poll_socket(&mut cx);
        assert_eq!(read_texts(&mut client, 2).await, ["0open", "40"]);
        outbox.resume();
        let rest = read_texts(&mut client, 2).await;
        assert_eq!(rest, ["2", "42a"], "after the pause: the ping first");
        let routed: Arc<[Frame]> = vec![text("42b")].into();
        let next = outbox
            .queue_routed(&routed, None, None, Flush::Now)
            .unwrap();
        assert_eq!(
            next,
            RoutedNext::Write,
            "the queuer writes a private message itself"
        );
        outbox.finish_routed(next);
        assert_eq!(read_texts(&mut client, 1).await, ["42b"]);
    }

    #[tokio::test]
    async fn a_broadcast_is_written_by_the_owner_with_what_was_queued_meanwhile() {
        let (server, mut client) = pair().await;
        let outbox = Outbox::websocket(1 << 20, server);
        let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let waker = futures_util::task::waker(Arc::new(CountingWaker(woken.clone())));
        let mut cx = Context::from_waker(&waker);
        assert!(outbox.poll_socket(&mut cx).is_pending(), "the owner waits");
        for name in ["a", "b", "c"] {
            let routed: Arc<[Frame]> = vec![text(&format!("42{name}"))].into();
            let next = outbox
                .queue_routed(&routed, None, None, Flush::ByOwner)
                .unwrap();
            outbox.finish_routed(next);
        }
        assert_eq!(
            woken.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "woken once for the three"
        );
        assert_eq!(outbox.queued_bytes(), 9, "nothing written by the pusher");
        let _ = outbox.poll_socket(&mut cx);
        assert_eq!(read_texts(&mut client, 3).await, ["42a", "42b", "42c"]);
        assert_eq!(outbox.queued_bytes(), 0);
    }

    struct CountingWaker(Arc<std::sync::atomic::AtomicUsize>);

    impl futures_util::task::ArcWake for CountingWaker {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn pings_while_nothing_leaves_hold_one_pong_the_latest() {
        let (server, mut client) = pair().await;
        let outbox = Outbox::websocket(1 << 20, server);
        outbox.push_alone(text("40")).unwrap();
        // Paused after the reply: nothing more leaves until resume, as with a blocked socket.
        for i in 0..1000u32 {
            outbox.push_pong(format!("ping {i}").as_bytes()).unwrap();
        }
        assert_eq!(outbox.queued_bytes(), "ping 999".len(), "one pong queued");
        assert_eq!(outbox.lock().ahead.len(), 1);
        outbox.push(text("42a")).unwrap();
        outbox.resume();
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        // "40" (2 + 2 bytes), the pong (2 + 8), "42a" (2 + 3).
        while bytes.len() < 19 {
            let n = tokio::time::timeout(std::time::Duration::from_secs(2), client.read(&mut buf))
                .await
                .expect("frames within 2 s")
                .unwrap();
            assert!(n > 0, "the socket ended");
            bytes.extend_from_slice(&buf[..n]);
        }
        assert_eq!(&bytes[..4], [0x81, 2, b'4', b'0']);
        assert_eq!(&bytes[4..6], [0x8a, 8], "one pong");
        assert_eq!(&bytes[6..14], b"ping 999", "answering the latest ping");
        assert_eq!(&bytes[14..19], [0x81, 3, b'4', b'2', b'a']);
    }
}
