//! Wire formats spoken by the chat server, as pure functions over bytes and strings.
//!
//! Nothing here does I/O or knows about actors: the codecs can be unit-tested, property-tested
//! and fuzzed on their own, and the transports only move what these functions produce.
//!
//! - [`engineio`]: Engine.IO v4 packets (one WebSocket frame, or one segment of a polling body).
//! - [`payload`]: the HTTP long-polling body: packets joined by `\x1e`, binary as `b<base64>`.
//! - [`socketio`]: Socket.IO v5 packets carried inside Engine.IO `message` packets.
//! - [`binary`]: attachments of binary events (`{"_placeholder":true,"num":N}`).
//! - [`reassembly`]: collecting the attachments that follow a binary packet.
//! - [`adapter`]: the `socket.io-redis` v6 pub/sub format shared with Node nodes.
//! - [`cluster_message`]: the sharded adapter's `ClusterAdapter` messages (Redis Cluster).
//! - [`json`]: JSON text written exactly as JavaScript's `JSON.stringify` writes it.
//! - [`websocket`]: WebSocket frames as a server reads and writes them, over caller-owned bytes.

pub mod adapter;
pub mod binary;
pub mod cluster_message;
pub mod engineio;
pub mod error;
pub mod json;
mod msgpack;
pub mod payload;
pub mod reassembly;
pub mod socketio;
pub mod websocket;

pub use error::DecodeError;
