//! Sessions in `session:<sessionID>` hashes (reference layout) plus the user directory
//! (`chat:users`, bucketed on a cluster: `directory.rs`).

use super::connection::{RedisConnection, Replay};
use super::directory::Directory;
use super::keys::session_key;
use crate::store::{Session, SessionBackend, StoreError, UserEntry};
use futures_util::future::{BoxFuture, FutureExt};

/// Fields of a session hash, in the order `find` reads them.
const SESSION_FIELDS: [&str; 3] = ["userID", "username", "connected"];

/// [`SessionBackend`] over Redis. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RedisSessions {
    conn: RedisConnection,
    ttl_secs: u64,
    directory: Directory,
}

impl RedisSessions {
    /// Sessions expiring `ttl_secs` after their last save (at least one second: `EXPIRE 0`
    /// would delete the session as it is written).
    pub fn new(conn: RedisConnection, ttl_secs: u64) -> RedisSessions {
        let directory = Directory::of(&conn);
        RedisSessions {
            conn,
            ttl_secs: ttl_secs.max(1),
            directory,
        }
    }
}

impl SessionBackend for RedisSessions {
    fn find(&self, session_id: &str) -> BoxFuture<'static, Result<Option<Session>, StoreError>> {
        let conn = self.conn.clone();
        let key = session_key(session_id);
        async move {
            let mut cmd = ::redis::cmd("HMGET");
            cmd.arg(&key).arg(&SESSION_FIELDS[..]);
            let fields: Vec<Option<Vec<u8>>> = conn.query(&cmd, Replay::Safe).await?;
            Ok(session_from_fields(&key, fields))
        }
        .boxed()
    }

    /// One transaction: the session hash and its TTL, and the user's directory entry. The
    /// directory key gets the session TTL too, so that a deployment left idle for that long
    /// forgets its users along with their sessions instead of keeping them forever.
    ///
    /// On a cluster the two keys live in different slots, so they are two transactions, the
    /// session first. A crash between them leaves a session whose user is missing from (or
    /// stale in) the directory until its next save; both are idempotent, so a replay is safe.
    fn save(
        &self,
        session_id: &str,
        session: &Session,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let conn = self.conn.clone();
        let key = session_key(session_id);
        let session = session.clone();
        let ttl_secs = self.ttl_secs;
        let directory = self.directory;
        async move {
            let entry = UserEntry {
                user_id: session.user_id.as_str().into(),
                username: session.username.as_str().into(),
                connected: session.connected,
            };
            let entry_json =
                serde_json::to_string(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let connected = if session.connected { "true" } else { "false" };
            let mut tx = ::redis::pipe();
            tx.atomic()
                .cmd("HSET")
                .arg(&key)
                .arg("userID")
                .arg(&session.user_id)
                .arg("username")
                .arg(&session.username)
                .arg("connected")
                .arg(connected)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(ttl_secs)
                .ignore();
            let directory_key = directory.key_of(&session.user_id);
            if directory == Directory::Single {
                add_entry(
                    &mut tx,
                    &directory_key,
                    &session.user_id,
                    &entry_json,
                    ttl_secs,
                );
                return conn.query_pipeline::<()>(&tx, Replay::Safe).await;
            }
            conn.query_pipeline::<()>(&tx, Replay::Safe).await?;
            let mut entry_tx = ::redis::pipe();
            entry_tx.atomic();
            add_entry(
                &mut entry_tx,
                &directory_key,
                &session.user_id,
                &entry_json,
                ttl_secs,
            );
            conn.query_pipeline::<()>(&entry_tx, Replay::Safe).await?;
            Ok(())
        }
        .boxed()
    }

    /// `HVALS chat:users` (of every bucket, concurrently, on a cluster): a fixed number of key
    /// reads, however large the keyspace. Entries that do not parse
    /// are logged and left out rather than failing the whole list, so one bad write (or a
    /// foreign tool) cannot stop every user from connecting. Sorted by username then userID so
    /// that every node lists users in the same order.
    fn list_users(&self) -> BoxFuture<'static, Result<Vec<UserEntry>, StoreError>> {
        let conn = self.conn.clone();
        let keys = self.directory.all_keys();
        async move {
            let reads = keys.iter().map(|key| {
                let mut cmd = ::redis::cmd("HVALS");
                cmd.arg(key);
                let conn = conn.clone();
                async move { conn.query::<Vec<Vec<u8>>>(&cmd, Replay::Safe).await }
            });
            let raw: Vec<Vec<u8>> = futures_util::future::try_join_all(reads)
                .await?
                .into_iter()
                .flatten()
                .collect();
            let mut users: Vec<UserEntry> = raw
                .iter()
                .filter_map(|json| match serde_json::from_slice::<UserEntry>(json) {
                    Ok(entry) => Some(entry),
                    Err(e) => {
                        log::warn!(
                            "skipping corrupt entry of the user directory: {e}: {}",
                            String::from_utf8_lossy(json)
                        );
                        None
                    }
                })
                .collect();
            users.sort_by(|a, b| (&a.username, &a.user_id).cmp(&(&b.username, &b.user_id)));
            Ok(users)
        }
        .boxed()
    }

    fn user_exists(&self, user_id: &str) -> BoxFuture<'static, Result<bool, StoreError>> {
        let conn = self.conn.clone();
        let user_id = user_id.to_owned();
        let key = self.directory.key_of(&user_id);
        async move {
            let mut cmd = ::redis::cmd("HEXISTS");
            cmd.arg(&key).arg(&user_id);
            conn.query(&cmd, Replay::Safe).await
        }
        .boxed()
    }

    fn remember_user(&self, entry: &UserEntry) -> BoxFuture<'static, Result<(), StoreError>> {
        let conn = self.conn.clone();
        let entry = entry.clone();
        let key = self.directory.key_of(&entry.user_id);
        async move {
            let json =
                serde_json::to_string(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut cmd = ::redis::cmd("HSET");
            cmd.arg(&key).arg(&*entry.user_id).arg(json);
            conn.query::<()>(&cmd, Replay::Safe).await
        }
        .boxed()
    }

    fn set_user_connected(
        &self,
        user_id: &str,
        connected: bool,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let conn = self.conn.clone();
        let user_id = user_id.to_owned();
        let key = self.directory.key_of(&user_id);
        async move {
            // Read-modify-write without a transaction: the worst a race can do is leave the
            // flag of the later of two concurrent announcements, which is the right one.
            let mut get = ::redis::cmd("HGET");
            get.arg(&key).arg(&user_id);
            let Some(json) = conn.query::<Option<String>>(&get, Replay::Safe).await? else {
                return Ok(());
            };
            let mut entry: UserEntry =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            entry.connected = connected;
            let json =
                serde_json::to_string(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut set = ::redis::cmd("HSET");
            set.arg(&key).arg(&user_id).arg(json);
            conn.query::<()>(&set, Replay::Safe).await
        }
        .boxed()
    }
}

/// Writes `user_id`'s directory entry into `key` and refreshes the key's TTL.
fn add_entry(tx: &mut ::redis::Pipeline, key: &str, user_id: &str, json: &str, ttl_secs: u64) {
    tx.cmd("HSET")
        .arg(key)
        .arg(user_id)
        .arg(json)
        .ignore()
        .cmd("EXPIRE")
        .arg(key)
        .arg(ttl_secs)
        .ignore();
}

/// The session from the `HMGET` reply; `None` when the hash does not exist. A hash that exists
/// but lacks its identity (written by something else, or half-deleted by hand) is also treated
/// as absent, with a warning: the client then starts over with its username instead of being
/// refused forever on a session that cannot be repaired.
fn session_from_fields(key: &str, fields: Vec<Option<Vec<u8>>>) -> Option<Session> {
    let mut fields = fields
        .into_iter()
        .map(|f| f.and_then(|bytes| String::from_utf8(bytes).ok()));
    let (user_id, username, connected) = (
        fields.next().flatten(),
        fields.next().flatten(),
        fields.next().flatten(),
    );
    match (user_id, username) {
        (Some(user_id), Some(username)) => Some(Session {
            user_id,
            username,
            connected: connected.as_deref() == Some("true"),
        }),
        (None, None) if connected.is_none() => None,
        _ => {
            log::warn!(
                "ignoring corrupt session hash {key}: userID or username missing or not UTF-8"
            );
            None
        }
    }
}
