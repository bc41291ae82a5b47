//! Users of Node.js nodes in a mixed cluster. A Node node writes only `session:<id>`, never
//! our user directory (`chat:users`), so our nodes would list its users only once they saw
//! their `user connected` broadcast (`remote_users.rs`). At start a node therefore
//! reads every `session:*` once (one `SCAN`, never again: listing users must not scan the
//! keyspace per connection) and adds the users missing from the directory with `HSETNX`, so
//! that entries of ours are never overwritten. From then on, broadcasts keep it current.
//!
//! What cannot be done: a Node node's user whose session hash expired, or who connected to a
//! Node node while no node of ours was up to see the broadcast and after this node started,
//! is listed only from its next `user connected`.

use crate::store::redis_keys::USER_DIRECTORY_KEY;
use crate::store::{RedisConnection, Replay, StoreError, UserEntry};
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

/// Returns (sessions seen, directory entries added).
async fn import(conn: &RedisConnection) -> Result<(usize, usize), StoreError> {
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
        let (next, keys): (u64, Vec<String>) = conn.query(&scan, Replay::Safe).await?;
        if !keys.is_empty() {
            let mut read = redis::pipe();
            for key in &keys {
                read.cmd("HMGET")
                    .arg(key)
                    .arg("userID")
                    .arg("username")
                    .arg("connected");
            }
            let fields: Vec<(Option<String>, Option<String>, Option<String>)> =
                conn.query_pipeline(&read, Replay::Safe).await?;
            let mut write = redis::pipe();
            let mut writes = 0;
            for (user_id, username, connected) in fields {
                let (Some(user_id), Some(username)) = (user_id, username) else {
                    continue;
                };
                seen += 1;
                let entry = UserEntry {
                    user_id: user_id.clone(),
                    username,
                    connected: connected.as_deref() == Some("true"),
                };
                let json = serde_json::to_string(&entry)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                write
                    .cmd("HSETNX")
                    .arg(USER_DIRECTORY_KEY)
                    .arg(user_id)
                    .arg(json);
                writes += 1;
            }
            if writes > 0 {
                let results: Vec<i64> = conn.query_pipeline(&write, Replay::Safe).await?;
                added += results.iter().filter(|r| **r == 1).count();
            }
        }
        if next == 0 {
            return Ok((seen, added));
        }
        cursor = next;
    }
}
