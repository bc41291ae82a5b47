//! What a chat connection talks to: the hub and the two stores of its node.

use crate::hub::ChatHub;
use crate::store::{MessageStore, SessionStore};
use actix::Addr;

/// The node-wide actors every chat connection uses. Cloned into each connection (addresses are
/// cheap handles).
#[derive(Clone)]
pub struct ChatServices {
    pub hub: Addr<ChatHub>,
    pub sessions: Addr<SessionStore>,
    pub messages: Addr<MessageStore>,
}
