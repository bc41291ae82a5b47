//! Names of the node-liveness keys (documented in the parent module). All under `chat:`, so
//! none matches the adapter's channels; they are keys, not channels, anyway.
//!
//! On a Redis Cluster the liveness keys and the heartbeat channel are written in one `MULTI`,
//! which must stay within one hash slot. So there the instance id ends with [`LIVENESS_TAG`],
//! `{chat:nodes}`: every `chat:node:<instance>:…` key then hashes like `chat:nodes` itself,
//! and so does the heartbeat channel `chat:heartbeat:<p>{chat:nodes}`. The price: liveness
//! lives on one shard. It is light (one `MULTI` per node every 2 s, plus its users' arrivals and
//! departures, batched).

/// Hash tag of the liveness keys and heartbeat channel on a cluster (see the module doc).
pub const LIVENESS_TAG: &str = "{chat:nodes}";

/// A new instance id for node `node_id`: `<node-id>.<random>`, chosen at every start so that a
/// restarted node never mistakes its previous life's keys for its own; tagged on a cluster.
pub fn new_instance(node_id: &str, sharded: bool) -> String {
    let instance = format!("{node_id}.{}", crate::ids::random_hex(4));
    if sharded {
        format!("{instance}{LIVENESS_TAG}")
    } else {
        instance
    }
}

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

/// String (`1`) living a little longer than the grace: the user's last socket dropped on some node and the
/// user is still announced online; taken by the node the user comes back to.
pub fn grace_key(user_id: &str) -> String {
    format!("chat:grace:{user_id}")
}
