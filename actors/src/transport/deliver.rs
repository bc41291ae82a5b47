//! Frames handed to a session from elsewhere (a broadcast, a replay), already encoded and
//! shared by every recipient.

use super::frame::Frame;
use actix::Message;
use std::sync::Arc;

/// To a connection: frames to send to its client, shared with the other recipients.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver(pub Arc<[Frame]>);
