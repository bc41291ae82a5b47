//! What a chat connection talks to: the hub and the two stores of its node, the limits it
//! enforces and the handles recovery needs. One per node, shared by every connection (in an
//! `Arc`: a connection holds a pointer, not copies of a dozen actor addresses).

use super::KnownUsers;
use crate::admin::AdminServices;
use crate::hub::{ChatHub, ClusterPort, Delivery};
use crate::recovery::RecoveryServices;
use crate::store::{MessageBackend, MessageStore, SessionStore};
use actix::Addr;
use std::sync::Arc;

/// The node-wide actors and settings every chat connection uses.
pub struct ChatServices {
    pub hub: Addr<ChatHub>,
    /// The hub's routing table: private messages are delivered from the connection's thread.
    pub delivery: Arc<Delivery>,
    /// The other nodes, which the connection publishes its private messages to.
    pub cluster: Arc<dyn ClusterPort>,
    pub sessions: Addr<SessionStore>,
    pub messages: Addr<MessageStore>,
    /// Where a private message is persisted, called from the connection that has it.
    pub history: Arc<dyn MessageBackend>,
    pub limits: ChatLimits,
    /// Users seen to exist, so that messages to them skip the store check.
    pub known_users: KnownUsers,
    /// Connection state recovery (its settings say whether it is on).
    pub recovery: RecoveryServices,
    /// The admin namespace, when the operator turned it on.
    pub admin: Option<Arc<AdminServices>>,
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
