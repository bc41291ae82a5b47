//! Long-polling: frames wait in a queue (bounded in bytes, see [`super::bound`]) until a GET
//! takes them all as one payload.

use super::bound::{exceeds, QueueError};
use super::frame::{encode_polling_body, Frame};
use std::collections::VecDeque;
use tokio::sync::oneshot;

/// How the actor answers a long-polling GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollReply {
    /// HTTP 200 with this payload.
    Body(String),
    /// The session moved to WebSocket while this GET waited: HTTP 400, as Node answers any
    /// polling request on an upgraded session.
    Upgraded,
}

/// Long-polling state: frames wait in `queue` until a GET takes them.
#[derive(Debug, Default)]
pub struct Polling {
    queue: VecDeque<Frame>,
    /// Total length of the frames in `queue`.
    queued_bytes: usize,
    waiting: Option<oneshot::Sender<PollReply>>,
}

impl Polling {
    /// Queues a frame and answers a waiting GET, if any.
    pub fn push(&mut self, frame: Frame, limit: usize) -> Result<(), QueueError> {
        if exceeds(self.queued_bytes, frame.len(), limit) {
            return Err(QueueError::SlowConsumer);
        }
        self.queued_bytes += frame.len();
        self.queue.push_back(frame);
        self.flush();
        Ok(())
    }

    /// Queues a frame ahead of the others (a heartbeat ping): the next GET carries it first.
    pub fn push_ahead(&mut self, frame: Frame) {
        self.queued_bytes += frame.len();
        self.queue.push_front(frame);
        self.flush();
    }

    /// Whether a GET is currently waiting.
    pub fn is_waiting(&self) -> bool {
        self.waiting.as_ref().is_some_and(|w| !w.is_closed())
    }

    /// A GET arrived: it is answered at once when frames are queued, else it waits.
    pub fn poll(&mut self) -> oneshot::Receiver<PollReply> {
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
            if tx
                .send(PollReply::Body(encode_polling_body(&self.queue)))
                .is_ok()
            {
                self.queue.clear();
                self.queued_bytes = 0;
            }
        }
    }

    /// Ends the waiting GET with one packet outside the queue (a noop during an upgrade, a
    /// close when the session ends).
    pub fn answer_waiting_with(&mut self, text: &str) {
        if let Some(tx) = self.waiting.take() {
            let _ = tx.send(PollReply::Body(text.to_owned()));
        }
    }

    /// Ends the waiting GET with HTTP 400: the session upgraded while it waited.
    pub fn refuse_waiting(&mut self) {
        if let Some(tx) = self.waiting.take() {
            let _ = tx.send(PollReply::Upgraded);
        }
    }

    /// Hands the queued frames over (to the WebSocket after an upgrade).
    pub fn take_queue(&mut self) -> VecDeque<Frame> {
        self.queued_bytes = 0;
        std::mem::take(&mut self.queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_answers_waiting_get_and_bounds_queue_in_bytes() {
        let mut p = Polling::default();
        p.push(Frame::Text("4a".into()), 4).unwrap();
        p.push(Frame::Text("4b".into()), 4).unwrap();
        assert_eq!(
            p.push(Frame::Text("4c".into()), 4),
            Err(QueueError::SlowConsumer)
        );
        let mut rx = p.poll();
        assert_eq!(rx.try_recv().unwrap(), PollReply::Body("4a\u{1e}4b".into()));
        let mut rx = p.poll();
        assert!(rx.try_recv().is_err());
        // Answered GETs free the budget.
        p.push(Frame::Text("2".into()), 4).unwrap();
        assert_eq!(rx.try_recv().unwrap(), PollReply::Body("2".into()));
    }

    #[test]
    fn an_empty_queue_takes_one_frame_larger_than_the_limit() {
        let mut p = Polling::default();
        p.push(Frame::Text("4".repeat(100).into()), 10).unwrap();
        assert_eq!(
            p.push(Frame::Text("2".into()), 10),
            Err(QueueError::SlowConsumer)
        );
    }

    #[test]
    fn a_ping_pushed_ahead_leaves_before_queued_frames() {
        let mut p = Polling::default();
        p.push(Frame::Text("4a".into()), 100).unwrap();
        p.push_ahead(Frame::Text("2".into()));
        let mut rx = p.poll();
        assert_eq!(rx.try_recv().unwrap(), PollReply::Body("2\u{1e}4a".into()));
    }

    #[test]
    fn abandoned_get_keeps_frames() {
        let mut p = Polling::default();
        drop(p.poll());
        p.push(Frame::Text("4a".into()), 8).unwrap();
        let mut rx = p.poll();
        assert_eq!(rx.try_recv().unwrap(), PollReply::Body("4a".into()));
    }
}
