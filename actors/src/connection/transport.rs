//! The two ways a session reaches its client, and how frames are queued on each. Both queues
//! are bounded: a client that stops reading is closed rather than buffered for forever.

use crate::engine::{encode_polling_body, Frame};
use bytes::Bytes;
use std::collections::VecDeque;
use tokio::sync::{mpsc, oneshot};

/// A command for the task that writes one WebSocket.
#[derive(Debug)]
pub enum WsCommand {
    Send(Frame),
    /// Answer to a WebSocket-level ping (not an Engine.IO ping).
    Pong(Bytes),
    /// Send a close frame after everything queued before it, then stop.
    Close,
}

/// The write side of one WebSocket, as held by the connection actor.
#[derive(Debug, Clone)]
pub struct WsLink {
    /// Distinguishes the probing WebSocket of an upgrade from the session's current one.
    pub id: u64,
    pub tx: mpsc::Sender<WsCommand>,
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The client is not reading fast enough: its queue is full.
    SlowConsumer,
    /// The transport is gone.
    Closed,
}

impl WsLink {
    pub fn send(&self, command: WsCommand) -> Result<(), QueueError> {
        self.tx.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => QueueError::SlowConsumer,
            mpsc::error::TrySendError::Closed(_) => QueueError::Closed,
        })
    }
}

/// Long-polling state: frames wait in `queue` until a GET takes them.
#[derive(Debug, Default)]
pub struct Polling {
    queue: VecDeque<Frame>,
    waiting: Option<oneshot::Sender<String>>,
}

impl Polling {
    /// Queues a frame and answers a waiting GET, if any.
    pub fn push(&mut self, frame: Frame, capacity: usize) -> Result<(), QueueError> {
        if self.queue.len() >= capacity {
            return Err(QueueError::SlowConsumer);
        }
        self.queue.push_back(frame);
        self.flush();
        Ok(())
    }

    /// Whether a GET is currently waiting.
    pub fn is_waiting(&self) -> bool {
        self.waiting.as_ref().is_some_and(|w| !w.is_closed())
    }

    /// A GET arrived: it is answered at once when frames are queued, else it waits.
    pub fn poll(&mut self) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        self.waiting = Some(tx);
        self.flush();
        rx
    }

    /// Answers the waiting GET with every queued frame. The queue is only cleared once the
    /// body reached a live request, so a GET abandoned by its client loses nothing.
    pub fn flush(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        if let Some(tx) = self.waiting.take() {
            if tx.send(encode_polling_body(&self.queue)).is_ok() {
                self.queue.clear();
            }
        }
    }

    /// Ends the waiting GET with one packet outside the queue (a noop during an upgrade, a
    /// close when the session ends).
    pub fn answer_waiting_with(&mut self, text: &str) {
        if let Some(tx) = self.waiting.take() {
            let _ = tx.send(text.to_owned());
        }
    }

    /// Hands the queued frames over (to the WebSocket after an upgrade).
    pub fn take_queue(&mut self) -> VecDeque<Frame> {
        std::mem::take(&mut self.queue)
    }
}

/// The session's current transport.
#[derive(Debug)]
pub enum Transport {
    Polling(Polling),
    WebSocket(WsLink),
}

impl Transport {
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Polling(_) => "polling",
            Transport::WebSocket(_) => "websocket",
        }
    }

    pub fn push(&mut self, frame: Frame, capacity: usize) -> Result<(), QueueError> {
        match self {
            Transport::Polling(p) => p.push(frame, capacity),
            Transport::WebSocket(ws) => ws.send(WsCommand::Send(frame)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_answers_waiting_get_and_bounds_queue() {
        let mut p = Polling::default();
        p.push(Frame::Text("4a".into()), 2).unwrap();
        p.push(Frame::Text("4b".into()), 2).unwrap();
        assert_eq!(
            p.push(Frame::Text("4c".into()), 2),
            Err(QueueError::SlowConsumer)
        );
        let mut rx = p.poll();
        assert_eq!(rx.try_recv().unwrap(), "4a\u{1e}4b");
        let mut rx = p.poll();
        assert!(rx.try_recv().is_err());
        p.push(Frame::Text("2".into()), 2).unwrap();
        assert_eq!(rx.try_recv().unwrap(), "2");
    }

    #[test]
    fn abandoned_get_keeps_frames() {
        let mut p = Polling::default();
        drop(p.poll());
        p.push(Frame::Text("4a".into()), 8).unwrap();
        let mut rx = p.poll();
        assert_eq!(rx.try_recv().unwrap(), "4a");
    }
}
