//! Users of Node.js nodes in a mixed cluster. A Node node writes only `session:<id>`, never
//! our user directory (`chat:users`), so our nodes would list its users only once they saw
//! their `user connected` broadcast (`remote_users.rs`). At start a node therefore
//! reads every `session:*` once (one `SCAN`, never again: listing users must not scan the
//! keyspace per connection) and adds the users missing from the directory with `HSETNX`, so
//! that entries of ours are never overwritten. From then on, broadcasts keep it current. On a
//! Redis Cluster a `SCAN` covers only the node it is sent to, so it runs on every master (from
//! `CLUSTER SLOTS`), and each entry goes to its bucket of the directory (`chat:users:<n>`).
//!
//! What cannot be done: a Node node's user whose session hash expired, or who connected to a
//! Node node while no node of ours was up to see the broadcast and after this node started,
//! is listed only from its next `user connected`.

use crate::store::redis_keys::USER_DIRECTORY_KEY;
use crate::store::{Master, RedisConnection, Replay, StoreError, UserEntry};
use std::time::Duration;

const SCAN_COUNT: usize = 1000;
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// Spawns the one-time import, retried until Redis answers.
pub fn learn_at_start(conn: RedisConnection) {
    actix::spawn(async move {
        loop {
            match import(&conn).await {
                Ok((seen, added)) => {
                    if added > 0 {
                        log::info!(
                            "users: {added} of {seen} sessions in redis were missing from \
                             {USER_DIRECTORY_KEY} (written by Node nodes); listed now"
                        );
                    }
                    return;
                }
                Err(e) => {
                    log::debug!("users: cannot read the sessions yet: {e}");
                    actix::clock::sleep(RETRY_EVERY).await;
                }
            }
        }
    });
}

/// Returns (sessions seen, directory entries added): one `SCAN` of the Redis, or one of each
/// master of a cluster (a `SCAN` sees only the keys of the node it is sent to).
async fn import(conn: &RedisConnection) -> Result<(usize, usize), StoreError> {
    if !conn.is_cluster() {
        return import_from(conn, None).await;
    }
    let (mut seen, mut added) = (0, 0);
    for master in conn.masters().await? {
        let (s, a) = import_from(conn, Some(&master)).await?;
        seen += s;
        added += a;
    }
    Ok((seen, added))
}

/// The import of the sessions of one Redis (`None`) or one cluster master.
async fn import_from(
    conn: &RedisConnection,
    master: Option<&Master>,
) -> Result<(usize, usize), StoreError> {
    let mut cursor: u64 = 0;
    let (mut seen, mut added) = (0, 0);
    loop {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg("session:*")
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .arg("TYPE")
            .arg("hash");
        let (next, keys): (u64, Vec<String>) = match master {
            Some(master) => conn.query_on(master, &scan).await?,
            None => conn.query(&scan, Replay::Safe).await?,
        };
        if !keys.is_empty() {
            let mut entries = Vec::new();
            for (user_id, username, connected) in read_sessions(conn, &keys).await? {
                let (Some(user_id), Some(username)) = (user_id, username) else {
                    continue;
                };
                seen += 1;
                let entry = UserEntry {
                    user_id: user_id.into(),
                    username: username.into(),
                    connected: connected.as_deref() == Some("true"),
                };
                let json = serde_json::to_string(&entry)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                entries.push((entry.user_id.to_string(), json));
            }
            added += add_missing(conn, &entries).await?;
        }
        if next == 0 {
            return Ok((seen, added));
        }
        cursor = next;
    }
}

type SessionFields = (Option<String>, Option<String>, Option<String>);

/// `userID`, `username`, `connected` of each session hash: one pipeline on a single Redis;
/// on a cluster, where a pipeline may only touch one slot, one `HMGET` per key, at once.
async fn read_sessions(
    conn: &RedisConnection,
    keys: &[String],
) -> Result<Vec<SessionFields>, StoreError> {
    let hmget = |key: &str| {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(key).arg("userID").arg("username").arg("connected");
        cmd
    };
    if conn.is_cluster() {
        let reads = keys.iter().map(|key| {
            let cmd = hmget(key);
            async move { conn.query::<SessionFields>(&cmd, Replay::Safe).await }
        });
        return futures_util::future::try_join_all(reads).await;
    }
    let mut read = redis::pipe();
    for key in keys {
        read.add_command(hmget(key));
    }
    conn.query_pipeline(&read, Replay::Safe).await
}

/// `HSETNX` of each (userID, entry) into its directory hash, so that entries of ours are never
/// overwritten; returns how many were missing. One pipeline on a single Redis, one command
/// per entry on a cluster (each bucket is on its own shard).
async fn add_missing(
    conn: &RedisConnection,
    entries: &[(String, String)],
) -> Result<usize, StoreError> {
    if entries.is_empty() {
        return Ok(0);
    }
    let hsetnx = |(user_id, json): &(String, String)| {
        let mut cmd = redis::cmd("HSETNX");
        cmd.arg(conn.directory_key_of(user_id))
            .arg(user_id)
            .arg(json);
        cmd
    };
    let results: Vec<i64> = if conn.is_cluster() {
        let writes = entries.iter().map(|entry| {
            let cmd = hsetnx(entry);
            async move { conn.query::<i64>(&cmd, Replay::Safe).await }
        });
        futures_util::future::try_join_all(writes).await?
    } else {
        let mut write = redis::pipe();
        for entry in entries {
            write.add_command(hsetnx(entry));
        }
        conn.query_pipeline(&write, Replay::Safe).await?
    };
    Ok(results.iter().filter(|r| **r == 1).count())
}
