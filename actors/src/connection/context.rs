//! What every connection of a server shares: its limits, the session registry, and whatever its
//! app shares (the chat's stores and hub).

use super::app::SocketApp;
use super::registry::SessionRegistry;
use crate::transport::EngineConfig;

/// Shared by every connection of one server (held in an `Arc`).
pub struct ServerContext<A: SocketApp> {
    pub config: EngineConfig,
    pub registry: SessionRegistry<A>,
    pub shared: A::Shared,
}
