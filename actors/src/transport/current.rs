//! The transport a session currently reaches its client by (long-polling, or a WebSocket
//! once the session opened one or upgraded to one), and queueing on whichever it is.

use super::bound::QueueError;
use super::frame::Frame;
use super::outbox::{WsCommand, WsLink};
use super::polling::Polling;

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

    pub fn push(&mut self, frame: Frame, limit: usize) -> Result<(), QueueError> {
        match self {
            Transport::Polling(p) => p.push(frame, limit),
            Transport::WebSocket(ws) => ws.send(WsCommand::Send(frame)),
        }
    }

    /// Queues a frame that must not share a write with the frames after it (see
    /// [`WsCommand::SendAlone`]); long-polling has no such thing: a GET takes what is queued.
    pub fn push_alone(&mut self, frame: Frame, limit: usize) -> Result<(), QueueError> {
        match self {
            Transport::Polling(p) => p.push(frame, limit),
            Transport::WebSocket(ws) => ws.send(WsCommand::SendAlone(frame)),
        }
    }

    /// Queues a frame ahead of those already queued (see [`WsLink::send_ahead`]).
    pub fn push_ahead(&mut self, frame: Frame) -> Result<(), QueueError> {
        match self {
            Transport::Polling(p) => {
                p.push_ahead(frame);
                Ok(())
            }
            Transport::WebSocket(ws) => ws.send_ahead(frame),
        }
    }
}
