//! Presence, the whole story: who is online, and telling everyone when that changes
//! (SPEC §2: `user connected`, `user disconnected`; SPEC §5: true within bounds whatever
//! happened).
//!
//! # On one node
//! A user is online while it has a socket. When a socket connects, everyone else hears
//! `user connected` ([`announce_connected`], `announce.rs`). When a user's **last local tab**
//! leaves (`last_tab.rs`, a handler of the hub), the hub asks the other nodes whether the user
//! still has a tab there; only when nobody has one is the user announced `user disconnected`
//! and its session saved `connected: false`. A single node asks nobody and announces at once.
//!
//! # The question to the other nodes (`question.rs`)
//! A type 0 request ("which sockets are in these rooms?") goes to every node; answers are due
//! from `max(NUMSUB - 1, live peers)`. All in: decided at once (tens of ms). Timed out with at
//! least as many answers as live peers: the missing ones are the `NUMSUB` surplus (Node nodes,
//! an operator's `redis-cli SUBSCRIBE`), and the user lists of the live peers decide. Fewer
//! answers than live peers: asked again (up to 3 times), then the lists decide. Redis
//! unreachable: asked again until 12 s, then left to the survivors' reaper. "Unknown" is never
//! "nobody".
//!
//! # Live peers (`heartbeat.rs`, `peers.rs`, `membership.rs`)
//! Every node of ours publishes a [`Heartbeat`] `{"instance","uid","version","users"}` on
//! `chat:heartbeat:<p>` every 2 s and on every change of its user list, in the same `MULTI`
//! that writes its `alive` key and its user list ([`NodeLiveness`], `liveness.rs`). Every node
//! keeps, in memory, a table of the peers it hears ([`PeerTable`], owned by the [`Membership`]
//! actor; in memory so that it survives Redis restarting empty), applies the list changes a
//! heartbeat written for a change carries, and re-reads a peer's user list when it missed a
//! version (at most every 2 s). A peer not heard for 6 s while we were
//! subscribed is dead (silence while we were cut off does not count).
//!
//! # Dead nodes (`reaper.rs`)
//! One survivor reaps a dead node (a `SET NX` lock, then a `reaped` mark so that no other
//! survivor announces it again): found in the registry (`alive` key expired) or in the peer
//! table (silent 6 s); its users come from Redis or, if Redis lost them, from the last list the
//! survivor read; each user without a socket anywhere (asked with a type 5 request) is saved
//! disconnected and announced. A killed node's users are announced within about 6 + 1 + 1 s.
//!
//! # When Redis or the network misbehaves
//! - **Cut off from Redis** for longer than the others tolerate: they took this node for dead
//!   and announced its users; when its subscription comes back [`Membership`] has the hub
//!   announce every local user `user connected` again and save them connected
//!   (`reconcile.rs`).
//! - **Redis restarted empty** (its `run_id` changed) or lost the user directory: every node
//!   writes the sessions of its live users back (`resync.rs`), and its liveness actor writes its
//!   whole user list again.
//! - **Node.js nodes** of a mixed cluster write only `session:<id>`: their users are imported
//!   once at start (`node_users.rs`, one `SCAN`) and then learnt from their `user connected` /
//!   `user disconnected` broadcasts (`remote_users.rs`).
//!
//! # Keys of our own (`keys.rs`)
//! None of these matches `<p>#/#*`, `<p>-request#` or `<p>-response#`: Node nodes would choke.
//! `<instance>` is the node id plus a random suffix chosen at every start, so a restarted node
//! never mistakes its previous life's keys for its own (survivors reap those).
//!
//! | key | type | content | TTL |
//! |---|---|---|---|
//! | `chat:nodes` | set | the `<instance>` of every node that heartbeated and was not reaped yet | none |
//! | `chat:node:<instance>:alive` | string | the node id (the `uid` of its broadcasts) | heartbeat TTL (6 s) |
//! | `chat:node:<instance>:users` | hash | userID → JSON `{"sessionID","username"}` of every user with a socket on that node | 1 day, refreshed by heartbeats |
//! | `chat:node:<instance>:reaper` | string | instance id of the survivor reaping that node (`SET NX` lock) | 15 s |
//! | `chat:node:<instance>:reaped` | string | set once a dead node's users were announced | 1 h |
//! | `chat:grace:<userID>` | string | `1` while the user's presence grace runs on the node where its last socket dropped; taken (`GETDEL`) by the node the user comes back to | the grace + 10 s (so that the node deciding at its end still finds it) |

mod announce;
mod grace;
mod heartbeat;
pub mod keys;
mod last_tab;
mod liveness;
mod membership;
mod node_users;
mod peers;
mod question;
mod reaper;
mod reconcile;
mod remote_users;
mod resync;
mod retire;

pub use self::announce::{announce_connected, user_connected};
pub use self::grace::PresenceGrace;
pub use self::heartbeat::{heartbeat_channel, Heartbeat};
pub use self::last_tab::{Leave, PendingChecks};
pub use self::liveness::NodeLiveness;
pub use self::membership::{
    ForgetPeer, LivePeerIds, LivePeerUserCounts, LivePeers, Membership, SilentPeers,
};
pub use self::node_users::learn_at_start;
pub use self::peers::PeerTable;
pub use self::question::remote_sockets;
pub use self::reaper::DeadNodeReaper;
pub use self::reconcile::ReannounceLocalUsers;
pub use self::remote_users::learn_from_remote;
pub use self::resync::{watch_redis, ResaveLiveSessions};
pub use self::retire::{Retire, StopHeartbeat};

use std::time::Duration;

/// Timing of node liveness.
#[derive(Debug, Clone, Copy)]
pub struct LivenessConfig {
    /// How often a node refreshes its `alive` key.
    pub heartbeat_every: Duration,
    /// Lifetime of the `alive` key: a node is dead once it missed this long of heartbeats.
    pub heartbeat_ttl: Duration,
    /// How often survivors look for dead nodes.
    pub check_every: Duration,
    /// Lifetime of a node's user list after its last heartbeat (a safety net should nobody
    /// ever reap it).
    pub users_ttl: Duration,
    /// Lifetime of a reaper's lock (one reaping takes far less).
    pub reaper_lock_ttl: Duration,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig {
            heartbeat_every: Duration::from_secs(2),
            heartbeat_ttl: Duration::from_secs(6),
            check_every: Duration::from_secs(1),
            users_ttl: Duration::from_secs(86_400),
            reaper_lock_ttl: Duration::from_secs(15),
        }
    }
}
