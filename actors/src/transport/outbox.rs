//! The queue between a connection actor and the writer task of one WebSocket: two `VecDeque`s
//! (frames queued ahead, the others in order) and a byte count behind one mutex, bounded in
//! bytes (see [`super::bound`]).
//!
//! It is not a tokio channel because of what an idle connection keeps: a tokio mpsc channel
//! allocates a block of 32 slots when it is created and keeps the blocks a burst made it grow
//! for as long as it lives, and each connection had two (measured with heaptrack, 2 000 idle
//! users: 7.9 KiB per connection, a fifth of its heap). An empty `VecDeque` owns no memory,
//! and the queue gives back what a burst (a connect storm's presence frames) made it grow as
//! soon as the writer has drained it. The actor and the writer task usually share a worker
//! thread, so the lock is uncontended; a session upgraded from long-polling may have them on
//! two threads, which the mutex covers.

use super::bound::{exceeds, QueueError};
use super::frame::Frame;
use bytes::Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

/// A command for the task that writes one WebSocket.
#[derive(Debug)]
pub enum WsCommand {
    Send(Frame),
    /// A frame written with a write of its own, the next frame following only after
    /// a pause (`AFTER_ALONE` in `websocket.rs`): the Socket.IO CONNECT reply (see there why).
    SendAlone(Frame),
    /// Answer to a WebSocket-level ping (not an Engine.IO ping).
    Pong(Bytes),
    /// Send a close frame after everything queued before it, then stop.
    Close,
}

/// Capacity (in commands) a drained queue may keep; past it, it is freed. A few commands
/// cover an idle user's traffic (pings, a message now and then) without reallocating.
const KEEP_CAPACITY: usize = 8;

static NEXT_WS_ID: AtomicU64 = AtomicU64::new(1);

/// What both ends share.
#[derive(Debug, Default)]
struct State {
    /// Taken before `queue` (heartbeat pings, which must not wait behind megabytes of
    /// presence traffic or the client misses `pingTimeout`).
    ahead: VecDeque<WsCommand>,
    queue: VecDeque<WsCommand>,
    /// Bytes of frames queued and not yet handed to actix-ws: added when the actor queues a
    /// frame, subtracted once the writer wrote it.
    bytes: usize,
    /// Live [`WsLink`]s; the writer ends once none is left and the queues are empty.
    links: usize,
    /// The writer task is gone: queueing fails with [`QueueError::Closed`].
    writer_gone: bool,
    /// The writer task waiting for a command.
    waiting: Option<Waker>,
}

#[derive(Debug, Default)]
struct Shared(Mutex<State>);

impl Shared {
    /// The state; a panic while it was held cannot leave it inconsistent (every update is a
    /// push, a pop or an addition), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The write side of one WebSocket, as held by the connection actor.
#[derive(Debug)]
pub struct WsLink {
    /// Distinguishes the probing WebSocket of an upgrade from the session's current one.
    pub id: u64,
    shared: Arc<Shared>,
    /// Bound on the queued bytes (see the module documentation).
    limit: usize,
}

/// The writer task's end of a [`WsLink`].
#[derive(Debug)]
pub struct WsOutbox {
    shared: Arc<Shared>,
}

/// A linked pair holding at most `limit_bytes` of queued frames, the link with a fresh id. The
/// link is created before the WebSocket handshake so that the actor can refuse it (HTTP 400)
/// first.
pub fn ws_channel(limit_bytes: usize) -> (WsLink, WsOutbox) {
    let id = NEXT_WS_ID.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::new(Shared(Mutex::new(State {
        links: 1,
        ..State::default()
    })));
    (
        WsLink {
            id,
            shared: shared.clone(),
            limit: limit_bytes,
        },
        WsOutbox { shared },
    )
}

impl WsLink {
    /// Queues `command` after those already queued; a frame that would take the queue past
    /// its bound is refused (a client that cannot keep up).
    pub fn send(&self, command: WsCommand) -> Result<(), QueueError> {
        let mut state = self.shared.lock();
        if state.writer_gone {
            return Err(QueueError::Closed);
        }
        if let WsCommand::Send(frame) | WsCommand::SendAlone(frame) = &command {
            if exceeds(state.bytes, frame.len(), self.limit) {
                return Err(QueueError::SlowConsumer);
            }
            state.bytes += frame.len();
        }
        state.queue.push_back(command);
        wake(state);
        Ok(())
    }

    /// Queues `frame` ahead of everything already queued. It is counted in the byte budget
    /// (the writer subtracts every frame it writes) but never refused for it: it is tiny.
    pub fn send_ahead(&self, frame: Frame) -> Result<(), QueueError> {
        let mut state = self.shared.lock();
        if state.writer_gone {
            return Err(QueueError::Closed);
        }
        state.bytes += frame.len();
        state.ahead.push_back(WsCommand::Send(frame));
        wake(state);
        Ok(())
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.shared.lock().bytes
    }
}

/// Wakes the waiting writer, after releasing the lock.
fn wake(mut state: MutexGuard<'_, State>) {
    let waiting = state.waiting.take();
    drop(state);
    if let Some(waker) = waiting {
        waker.wake();
    }
}

impl Clone for WsLink {
    fn clone(&self) -> Self {
        self.shared.lock().links += 1;
        WsLink {
            id: self.id,
            shared: self.shared.clone(),
            limit: self.limit,
        }
    }
}

impl Drop for WsLink {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.links -= 1;
        if state.links == 0 {
            wake(state);
        }
    }
}

impl WsOutbox {
    /// The next command to write: one queued ahead first, then the others in order. `None`
    /// once every link is dropped and everything queued was taken.
    pub async fn next(&mut self) -> Option<WsCommand> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            match take(&mut state) {
                Some(command) => Poll::Ready(Some(command)),
                None if state.links == 0 => Poll::Ready(None),
                None => {
                    state.waiting = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// The next command if one is queued, without waiting.
    pub fn try_next(&mut self) -> Option<WsCommand> {
        take(&mut self.shared.lock())
    }

    /// The writer handed a frame of `bytes` to the socket: frees that much of the budget.
    pub fn written(&self, bytes: usize) {
        let mut state = self.shared.lock();
        state.bytes = state.bytes.saturating_sub(bytes);
    }
}

/// Pops the next command; a queue left empty gives back the memory a burst made it grow.
fn take(state: &mut State) -> Option<WsCommand> {
    let command = match state.ahead.pop_front() {
        Some(command) => {
            release_if_drained(&mut state.ahead);
            command
        }
        None => {
            let command = state.queue.pop_front()?;
            release_if_drained(&mut state.queue);
            command
        }
    };
    Some(command)
}

fn release_if_drained(queue: &mut VecDeque<WsCommand>) {
    if queue.is_empty() && queue.capacity() > KEEP_CAPACITY {
        *queue = VecDeque::new();
    }
}

impl Drop for WsOutbox {
    /// The writer ended: later sends fail, and what was queued is freed now rather than when
    /// the actor drops its link.
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.writer_gone = true;
        state.ahead = VecDeque::new();
        state.queue = VecDeque::new();
        state.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(outbox: &mut WsOutbox) -> Option<String> {
        match outbox.try_next()? {
            WsCommand::Send(Frame::Text(t)) => Some(t.to_string()),
            other => panic!("a text frame was expected, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_writer_takes_frames_queued_ahead_first() {
        let (link, mut outbox) = ws_channel(1 << 20);
        link.send(WsCommand::Send(Frame::Text("4a".into())))
            .unwrap();
        link.send(WsCommand::Send(Frame::Text("4b".into())))
            .unwrap();
        link.send_ahead(Frame::Text("2".into())).unwrap();
        let mut order = Vec::new();
        for _ in 0..3 {
            match outbox.next().await {
                Some(WsCommand::Send(Frame::Text(t))) => order.push(t.to_string()),
                other => panic!("a text frame was expected, got {other:?}"),
            }
        }
        assert_eq!(order, ["2", "4a", "4b"]);
        drop(link);
        assert!(
            outbox.next().await.is_none(),
            "a dropped link ends the writer"
        );
    }

    #[test]
    fn the_budget_is_freed_as_the_writer_writes() {
        let (link, mut outbox) = ws_channel(5);
        let frame = || WsCommand::Send(Frame::Text("4abc".into()));
        link.send(frame()).unwrap();
        assert_eq!(link.send(frame()), Err(QueueError::SlowConsumer));
        // Control commands carry no budget.
        link.send(WsCommand::Pong(Bytes::new())).unwrap();
        assert_eq!(text(&mut outbox).as_deref(), Some("4abc"));
        assert_eq!(link.queued_bytes(), 4, "taken but not yet written");
        outbox.written(4);
        link.send(frame()).unwrap();
        drop(outbox);
        assert_eq!(
            link.send(WsCommand::Close),
            Err(QueueError::Closed),
            "a gone writer is reported as such, not as a slow client"
        );
    }

    #[tokio::test]
    async fn the_writer_ends_after_the_last_of_several_links_and_what_they_queued() {
        let (link, mut outbox) = ws_channel(1 << 20);
        let other = link.clone();
        drop(link);
        other
            .send(WsCommand::Send(Frame::Text("4a".into())))
            .unwrap();
        drop(other);
        assert_eq!(text(&mut outbox).as_deref(), Some("4a"));
        assert!(outbox.next().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_writer_is_woken_by_a_frame_queued_on_another_task() {
        let (link, mut outbox) = ws_channel(1 << 20);
        let writer = tokio::spawn(async move { outbox.next().await.is_some() });
        tokio::task::yield_now().await;
        link.send(WsCommand::Close).unwrap();
        assert!(writer.await.unwrap());
    }

    #[test]
    fn a_drained_queue_gives_back_what_a_burst_made_it_grow() {
        let (link, mut outbox) = ws_channel(1 << 20);
        for _ in 0..1000 {
            link.send(WsCommand::Send(Frame::Text("4x".into())))
                .unwrap();
        }
        assert!(outbox.shared.lock().queue.capacity() >= 1000);
        while outbox.try_next().is_some() {}
        assert_eq!(outbox.shared.lock().queue.capacity(), 0);
        // A few frames at a time keep their small allocation.
        link.send(WsCommand::Send(Frame::Text("4y".into())))
            .unwrap();
        assert_eq!(text(&mut outbox).as_deref(), Some("4y"));
        assert!(outbox.shared.lock().queue.capacity() <= KEEP_CAPACITY);
    }
}
