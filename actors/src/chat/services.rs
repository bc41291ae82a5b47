//! What a chat connection talks to: the hub and the two stores of its node, the limits it
//! enforces and the handles recovery needs. One per node, shared by every connection (in an
//! `Arc`: a connection holds a pointer, not copies of a dozen actor addresses).

use super::KnownUsers;
use crate::hub::ChatHub;
use crate::recovery::RecoveryServices;
use crate::store::{MessageStore, SessionStore};
use actix::Addr;

/// The node-wide actors and settings every chat connection uses.
pub struct ChatServices {
    pub hub: Addr<ChatHub>,
    pub sessions: Addr<SessionStore>,
    pub messages: Addr<MessageStore>,
    pub limits: ChatLimits,
    /// Users seen to exist, so that messages to them skip the store check.
    pub known_users: KnownUsers,
    /// Connection state recovery (its settings say whether it is on).
    pub recovery: RecoveryServices,
}

/// Per-socket limits on what a client may send.
#[derive(Debug, Clone, Copy)]
pub struct ChatLimits {
    /// Sustained `private message` rate allowed per socket (messages per second).
    pub messages_per_sec: f64,
    /// Burst of messages allowed above the sustained rate.
    pub message_burst: f64,
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            messages_per_sec: 100.0,
            message_burst: 200.0,
        }
    }
}
