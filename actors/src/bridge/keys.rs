//! Names of the node-liveness keys (documented in the parent module). All under `chat:`, so
//! none matches the adapter's channels; they are keys, not channels, anyway.

/// Set of the instance ids of every registered node.
pub const NODE_REGISTRY_KEY: &str = "chat:nodes";

/// String with a TTL, refreshed by every heartbeat of `instance`.
pub fn alive_key(instance: &str) -> String {
    format!("chat:node:{instance}:alive")
}

/// Hash userID → JSON [`LiveUserEntry`] of the users with a socket on `instance`.
pub fn users_key(instance: &str) -> String {
    format!("chat:node:{instance}:users")
}

/// `SET NX` lock of the survivor reaping `instance`.
pub fn reaper_lock_key(instance: &str) -> String {
    format!("chat:node:{instance}:reaper")
}

/// One entry of a node's user list: what a survivor needs to save the session with
/// `connected: false` (the sessionID is the key of `session:<sessionID>`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveUserEntry {
    #[serde(rename = "sessionID")]
    pub session_id: String,
    pub username: String,
}

/// Set (with a TTL) once a survivor has announced the users of a dead `instance`, so that
/// the other survivors, which remember that node from its heartbeats, do not announce them
/// again. Deleted by the node itself should it come back (it was only cut off).
pub fn reaped_key(instance: &str) -> String {
    format!("chat:node:{instance}:reaped")
}
