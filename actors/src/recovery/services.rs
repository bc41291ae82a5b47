//! The handles a connection's recovery works with (see `connection_side.rs`), gathered once
//! per node and shared by its connections.

use super::{Park, RecoveryConfig, Rejoin, Restore, SharedRecovery};
use crate::store::{MessageStore, SessionStore};
use actix::prelude::*;

/// What a chat connection needs to recover sockets: the settings, the Redis side, the hub by
/// the messages it answers, and the stores a replay across nodes reads.
#[derive(Clone)]
pub struct RecoveryServices {
    pub config: RecoveryConfig,
    /// With Redis: parked sockets shared with the other nodes.
    pub shared: Option<SharedRecovery>,
    pub park: Recipient<Park>,
    pub restore: Recipient<Restore>,
    pub rejoin: Recipient<Rejoin>,
    pub messages: Addr<MessageStore>,
    pub sessions: Addr<SessionStore>,
}
