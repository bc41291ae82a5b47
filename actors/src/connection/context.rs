//! What every connection of a server shares: its limits, the session registry, and what the
//! Socket.IO layer serves (the chat, or one of the conformance modes).

use crate::chat::ChatServices;
use crate::engine::{EngineConfig, SessionRegistry};

/// What sits on top of Engine.IO.
#[derive(Clone)]
pub enum Mode {
    /// Conformance: no Socket.IO layer; every message is echoed back unchanged.
    EngineEcho,
    /// Conformance: namespaces `/` and `/custom` with the echo events of SPEC §1.
    SocketIoConformance,
    /// The private-messaging chat of SPEC §2.
    Chat(ChatServices),
}

/// Shared by every connection of one server (held in an `Arc`).
pub struct ServerContext {
    pub config: EngineConfig,
    pub registry: SessionRegistry,
    pub mode: Mode,
}
