//! Persistence of sessions and conversations, behind small async backend traits so that the
//! in-memory default and the Redis backend are interchangeable.
//!
//! The traits return `'static` boxed futures: the store actors ([`SessionStore`],
//! [`MessageStore`]) hand them to the actor runtime without holding a borrow of themselves, so
//! a slow Redis round trip never blocks the actor's mailbox.

mod memory;
mod message_store;
mod redis;
/// Names of our Redis keys.
pub use self::redis::keys as redis_keys;
mod session_store;
mod types;

pub use self::memory::{MemoryMessages, MemorySessions};
pub use self::message_store::{AppendMessage, ConversationsOf, MessageStore};
pub(crate) use self::redis::cluster_client;
pub use self::redis::{
    Master, RedisConnection, RedisMessages, RedisSessions, Replay, ShardStatus,
    DEFAULT_MESSAGE_TTL_SECS, DEFAULT_SESSION_TTL_SECS,
};
pub use self::session_store::{
    FindSession, ListUsers, RememberUser, SaveSession, SessionStore, SetConnected,
    SetUserConnected, UserExists,
};
pub use self::types::{Session, StoreError, StoredMessage, UserEntry};

use futures_util::future::BoxFuture;
use std::sync::Arc;

/// Where sessions live. A session maps a secret sessionID to a public user identity.
pub trait SessionBackend: Send + Sync + 'static {
    /// The session stored under `session_id`, if any (expired sessions are absent).
    fn find(&self, session_id: &str) -> BoxFuture<'static, Result<Option<Session>, StoreError>>;

    /// Creates or replaces the session and refreshes its TTL; also records the user in the
    /// user directory so that [`SessionBackend::list_users`] sees it.
    fn save(
        &self,
        session_id: &str,
        session: &Session,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Every known user (one entry per userID, whatever the number of its sessions), with
    /// whether it is connected. Must not scan the keyspace: backed by a user directory.
    fn list_users(&self) -> BoxFuture<'static, Result<Vec<UserEntry>, StoreError>>;

    /// Whether `user_id` is a known user (a message to an unknown user is refused).
    fn user_exists(&self, user_id: &str) -> BoxFuture<'static, Result<bool, StoreError>>;

    /// Records a user announced by another node (a Node.js node of a mixed cluster writes only
    /// `session:<id>`, never our directory), so that it is listed and can be messaged.
    fn remember_user(&self, entry: &UserEntry) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Updates the `connected` flag of a listed user (announced disconnected by another node);
    /// an unknown user is left unknown.
    fn set_user_connected(
        &self,
        user_id: &str,
        connected: bool,
    ) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// Where conversations live: each message is kept in the sender's and the recipient's history.
pub trait MessageBackend: Send + Sync + 'static {
    /// Appends `message` to the history of `message.from` and of `message.to` (once when they
    /// are the same user), trimming each history to the configured cap, oldest dropped first.
    fn append(&self, message: &StoredMessage) -> BoxFuture<'static, Result<(), StoreError>>;

    /// [`MessageBackend::append`] of a message the caller has no further use for: a backend
    /// that keeps messages in memory keeps this one as it is instead of a copy.
    fn append_shared(
        &self,
        message: Arc<StoredMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.append(&message)
    }

    /// Every stored message `user_id` sent or received, oldest first.
    fn messages_of(
        &self,
        user_id: &str,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>>;
}
