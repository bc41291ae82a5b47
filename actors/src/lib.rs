//! The actor system of the chat server.
//!
//! - [`connection::Connection`]: one actor per Engine.IO session (transport, heartbeat,
//!   Socket.IO namespaces, the user's identity).
//! - [`hub::ChatHub`]: one per node; routes events to local sockets and to other nodes.
//! - [`store`]: `SessionStore` and `MessageStore` actors over in-memory or Redis backends.
//! - [`engine`]: limits, the session registry and outbound frames shared by the above.

pub mod chat;
pub mod connection;
pub mod engine;
pub mod hub;
pub mod metrics;
pub mod store;
