//! What recovery keeps in Redis so that a client can come back on another node: the parked
//! state of each socket by pid, and the broadcasts to everyone (presence announcements).
//! Private messages need nothing more: every one is already in both users' history lists,
//! which is where a replay across nodes reads them ([`super::replay`]).
//!
//! The parked state is written when the socket connects, not when it drops, so that it is there
//! after the node is killed: a node that dies cannot write anything. While the socket is
//! connected its key lives `window × 1.5 + ping interval` and is extended at most every half
//! window (on a pong, so idle users cost no timer); when the socket drops for a recoverable
//! reason the key is set to expire one window later, and dropped otherwise. After a crash a
//! pid therefore stays usable between one and one and a half windows. The key holds the
//! pid, a secret: Redis is trusted with secrets already (`session:<sessionID>`).

use super::stream_cache::StreamCache;
use super::stream_entry::StreamedBroadcast;
use super::{ParkedSession, Unrecoverable};
use crate::store::redis_keys::{recovery_key, RECOVERY_BROADCASTS_KEY};
use crate::store::{RedisConnection, Replay, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Broadcasts to everyone kept in the stream (`XADD MAXLEN ~`): presence events only, a few
/// per connection, so this covers the window of any plausible connection churn.
const STREAM_LENGTH: usize = 20_000;

/// How far before a client's watermark the broadcast stream is replayed: covers the clock
/// skew between the node that stamped the watermark and Redis, whose clock names the stream's
/// entries. Replaying a presence event twice is harmless (it sets a state).
pub const STREAM_MARGIN_MS: u64 = 2_000;

/// The Redis side of recovery. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SharedRecovery {
    conn: RedisConnection,
    window: Duration,
    stream: Arc<StreamCache>,
}

impl SharedRecovery {
    pub fn new(conn: RedisConnection, window: Duration) -> SharedRecovery {
        SharedRecovery {
            conn,
            window,
            stream: Arc::default(),
        }
    }

    /// How long the key of a connected socket lives (see the module doc).
    pub fn live_ttl(&self, ping_interval: Duration) -> Duration {
        self.window + self.window / 2 + ping_interval
    }

    /// How often the key of a connected socket is extended.
    pub fn extend_every(&self) -> Duration {
        self.window / 2
    }

    /// Writes the parked state of a socket that just connected (or was recovered).
    pub async fn remember(
        &self,
        pid: &str,
        session: &ParkedSession,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(recovery_key(pid))
            .arg(json)
            .arg("EX")
            .arg(ttl.as_secs().max(1));
        self.conn.query(&cmd, Replay::Safe).await
    }

    /// The socket dropped for a recoverable reason: usable for one window from now.
    pub async fn parked(&self, pid: &str) -> Result<(), StoreError> {
        self.extend(pid, self.window).await
    }

    /// Extends the key of `pid` (no effect when it is gone, e.g. taken by another node).
    pub async fn extend(&self, pid: &str, ttl: Duration) -> Result<(), StoreError> {
        let mut cmd = ::redis::cmd("EXPIRE");
        cmd.arg(recovery_key(pid)).arg(ttl.as_secs().max(1));
        self.conn.query(&cmd, Replay::Safe).await
    }

    /// The socket ended for good, or was recovered here from this node's memory.
    pub async fn forget(&self, pid: &str) -> Result<(), StoreError> {
        let mut cmd = ::redis::cmd("DEL");
        cmd.arg(recovery_key(pid));
        self.conn.query(&cmd, Replay::Safe).await
    }

    /// Takes the parked state of `pid`, once: it must exist and, when the client presented a
    /// sessionID too, be of that session (a pid with another user's sessionID stays for its
    /// owner). Two nodes racing for one pid: only the one whose `DEL` removed the key wins.
    pub async fn take(
        &self,
        pid: &str,
        session_id: Option<&str>,
    ) -> Result<ParkedSession, Unrecoverable> {
        let key = recovery_key(pid);
        let mut get = ::redis::cmd("GET");
        get.arg(&key);
        let raw: Option<String> = self
            .conn
            .query(&get, Replay::Safe)
            .await
            .map_err(|_| Unrecoverable::StoreUnavailable)?;
        let raw = raw.ok_or(Unrecoverable::UnknownPid)?;
        let session: ParkedSession =
            serde_json::from_str(&raw).map_err(|_| Unrecoverable::UnknownPid)?;
        if session_id.is_some_and(|id| id != session.session_id) {
            return Err(Unrecoverable::ForeignSession);
        }
        let mut del = ::redis::cmd("DEL");
        del.arg(&key);
        let removed: u64 = self
            .conn
            .query(&del, Replay::OnlyIfUnsent)
            .await
            .map_err(|_| Unrecoverable::StoreUnavailable)?;
        if removed == 0 {
            return Err(Unrecoverable::UnknownPid);
        }
        Ok(session)
    }

    /// Appends a broadcast to everyone (`data`: its JSON `[event, ...args]`) to the stream,
    /// with its position in this node's log.
    pub async fn log_broadcast(
        &self,
        except: &[String],
        data: &str,
        origin: &str,
    ) -> Result<(), StoreError> {
        let except = serde_json::to_string(except).unwrap_or_else(|_| "[]".to_owned());
        let mut cmd = ::redis::cmd("XADD");
        cmd.arg(RECOVERY_BROADCASTS_KEY)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_LENGTH)
            .arg("*")
            .arg("d")
            .arg(data)
            .arg("x")
            .arg(except)
            .arg("o")
            .arg(origin);
        let _id: String = self.conn.query(&cmd, Replay::OnlyIfUnsent).await?;
        Ok(())
    }

    /// The broadcasts to everyone since `ms` (Redis time), oldest first; at most `max + 1`,
    /// so that a caller can tell "more than `max`". Entries that do not parse are skipped.
    /// Served from this node's [`StreamCache`] (only what is new is read from Redis).
    pub async fn broadcasts_since(
        &self,
        ms: u64,
        max: usize,
    ) -> Result<Vec<Arc<StreamedBroadcast>>, StoreError> {
        self.stream.since(&self.conn, ms, max).await
    }
}
