//! Redis backends of the stores.
//!
//! # Keys
//!
//! The first two are the keys of the reference (Node.js) design, byte for byte, so that Node
//! nodes and operators see the same data; the third is our own.
//!
//! | key                   | type | content                                                                                  | TTL                         |
//! |-----------------------|------|------------------------------------------------------------------------------------------|-----------------------------|
//! | `session:<sessionID>` | hash | `userID`, `username`, `connected` (`"true"`/`"false"`)                                   | session TTL, on every save  |
//! | `messages:<userID>`   | list | JSON strings `{"content","from","to","id","ts"}` (`id`, `ts` absent in Node's entries), oldest first, newest `cap` kept | message TTL, on every message |
//! | `chat:users`          | hash | field `<userID>` → JSON `{"userID","username","connected"}`: the user directory         | session TTL, on every save  |
//!
//! `chat:users` exists so that listing users reads one key instead of scanning the keyspace
//! for `session:*` on every connection. Every write is atomic (a `MULTI`/`EXEC` transaction, or
//! one script for a message's two histories) so a crash between two commands never leaves a
//! key without its TTL.
//!
//! On a Redis Cluster (`RedisConnection::new_cluster`) the same keys are used, except that the
//! directory is spread over `chat:users:<0..15>` (`directory.rs`); a transaction never spans
//! two slots: a session and its directory entry are two transactions, the two histories of a
//! message two idempotent scripts (`list_append.rs`).

mod connection;
mod directory;
pub mod keys;
mod list_append;
mod messages;
mod script;
mod sessions;
mod shards;

pub(crate) use self::connection::cluster_client;
pub use self::connection::{RedisConnection, Replay};
pub use self::messages::RedisMessages;
pub use self::sessions::RedisSessions;
pub use self::shards::{Master, ShardStatus};

/// Default lifetime of a `session:<sessionID>` hash after its last save, as in the reference
/// design.
pub const DEFAULT_SESSION_TTL_SECS: u64 = 86_400;

/// Default lifetime of a `messages:<userID>` list after its last message, as in the reference
/// design.
pub const DEFAULT_MESSAGE_TTL_SECS: u64 = 86_400;
