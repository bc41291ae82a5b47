//! Values kept by the stores, with the exact field names of the reference design.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use thiserror::Error;

/// What a sessionID resolves to. The sessionID itself is the key, never a field: it is a
/// secret and must not travel with the identity it protects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "userID")]
    pub user_id: String,
    pub username: String,
    pub connected: bool,
}

/// One user as listed in the `users` event (without its messages).
///
/// The id and the name are shared (`Arc<str>`): every newcomer is sent the whole directory,
/// and a copy of each user's two strings for every one of them made a connect storm of N
/// users allocate N² tiny strings, short-lived but scattered among the pages of long-lived
/// state, which then stayed resident with a few live objects each (idle memory, see
/// bench/HISTORY.md). Listing the directory now copies pointers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    #[serde(rename = "userID")]
    pub user_id: Arc<str>,
    pub username: Arc<str>,
    pub connected: bool,
}

/// One private message as stored in `messages:<userID>` and sent to clients. `id` and `ts`
/// (milliseconds since the epoch) are our additions; entries written by Node nodes lack them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub content: String,
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<u64>,
}

/// Why a store operation failed. The chat reports it to the client (ack error) and metrics.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(String),
    #[error("redis command timed out")]
    Timeout,
    /// Redis does not have a script sent by its hash; `RedisConnection::run_script` then sends
    /// the body, so callers of it never see this.
    #[error("redis: no such script")]
    NoScript,
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    #[error("store actor unavailable")]
    Unavailable,
}
