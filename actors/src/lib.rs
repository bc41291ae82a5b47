//! The actor system of the chat server.
//!
//! - [`connection::Connection`]: one actor per Engine.IO session (transport, heartbeat,
//!   Socket.IO namespaces, the user's identity).
//! - [`hub::ChatHub`]: one per node; routes events to local sockets and to other nodes.
//! - [`bridge::RedisBridge`]: links the hubs of a cluster through Redis pub/sub (Node's
//!   `socket.io-redis` format) and watches the other nodes' liveness.
//! - [`store`]: `SessionStore` and `MessageStore` actors over in-memory or Redis backends.
//! - [`recovery`]: connection state recovery (parked sockets, the broadcast log, offsets).
//! - [`engine`]: limits, the session registry and outbound frames shared by the above.

pub mod bridge;
pub mod chat;
pub mod connection;
pub mod engine;
pub mod hub;
pub mod metrics;
pub mod recovery;
pub mod store;
