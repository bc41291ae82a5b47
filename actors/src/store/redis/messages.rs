//! Conversations in `messages:<userID>` lists (reference layout).

use super::connection::{RedisConnection, Replay};
use super::keys::messages_key;
use super::list_append::append_once;
use super::script::StoredScript;
use crate::store::{MessageBackend, StoreError, StoredMessage};
use futures_util::future::{BoxFuture, FutureExt};
use std::sync::LazyLock;

/// KEYS: the sender's list, then the recipient's (absent when they are the same user); ARGV:
/// the entry, the cap, the TTL. A list is trimmed only once it is over the cap (`RPUSH`
/// answers the length), which spares Redis a command per list while histories are short.
///
/// One script rather than a `MULTI` of six commands: Redis answers once instead of eight
/// times (`OK`, six `QUEUED`, the `EXEC` array), and parsing those replies was the largest
/// single cost of a message on a node (callgrind); a script is just as atomic.
static APPEND: LazyLock<StoredScript> = LazyLock::new(|| {
    StoredScript::new(
        r#"
local cap = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  if redis.call('RPUSH', key, ARGV[1]) > cap then
    redis.call('LTRIM', key, -cap, -1)
  end
  redis.call('EXPIRE', key, ARGV[3])
end
return #KEYS
"#,
    )
});

/// [`MessageBackend`] over Redis. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RedisMessages {
    conn: RedisConnection,
    ttl_secs: u64,
    cap: usize,
}

impl RedisMessages {
    /// Histories expiring `ttl_secs` after their last message and keeping the newest `cap`
    /// messages (both at least 1: `EXPIRE 0` deletes, and an empty history keeps nothing).
    pub fn new(conn: RedisConnection, ttl_secs: u64, cap: usize) -> RedisMessages {
        RedisMessages {
            conn,
            ttl_secs: ttl_secs.max(1),
            cap: cap.max(1),
        }
    }
}

impl MessageBackend for RedisMessages {
    /// One atomic step ([`APPEND`]): for the sender and the recipient (once when they are the
    /// same user) `RPUSH`, `LTRIM` to the newest `cap` when over it, `EXPIRE`. Not resent
    /// after a broken connection unless it surely never reached Redis, since a second `RPUSH`
    /// would duplicate the message. On a cluster, one idempotent step per list instead
    /// (`list_append.rs`).
    fn append(&self, message: &StoredMessage) -> BoxFuture<'static, Result<(), StoreError>> {
        let conn = self.conn.clone();
        let message = message.clone();
        let ttl_secs = self.ttl_secs;
        let cap = self.cap;
        // LTRIM with a negative start keeps the last `cap` entries (cluster steps).
        let keep_from = -i64::try_from(cap).unwrap_or(i64::MAX);
        async move {
            let json =
                serde_json::to_string(&message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut owners = vec![message.from.as_str()];
            if message.to != message.from {
                owners.push(message.to.as_str());
            }
            if conn.is_cluster() {
                let steps = owners.into_iter().map(|owner| {
                    let key = messages_key(owner);
                    let (conn, json, id) = (&conn, &json, message.id.as_deref());
                    async move { append_once(conn, &key, json, id, keep_from, ttl_secs).await }
                });
                return futures_util::future::try_join_all(steps).await.map(|_| ());
            }
            let keys: Vec<String> = owners.into_iter().map(messages_key).collect();
            let arguments = |cmd: &mut ::redis::Cmd| {
                cmd.arg(keys.len())
                    .arg(&keys)
                    .arg(&json)
                    .arg(cap)
                    .arg(ttl_secs);
            };
            conn.run_script::<i64>(&APPEND, arguments, Replay::OnlyIfUnsent)
                .await
                .map(|_| ())
        }
        .boxed()
    }

    /// `LRANGE 0 -1`. Entries that are not a message (corrupt, or written by a foreign tool)
    /// are logged and skipped so that one bad entry does not hide a whole history; entries of
    /// Node nodes, which have no `id`/`ts`, parse.
    fn messages_of(
        &self,
        user_id: &str,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>> {
        let conn = self.conn.clone();
        let key = messages_key(user_id);
        async move {
            let mut cmd = ::redis::cmd("LRANGE");
            cmd.arg(&key).arg(0).arg(-1);
            let raw: Vec<Vec<u8>> = conn.query(&cmd, Replay::Safe).await?;
            Ok(raw
                .iter()
                .filter_map(|json| match serde_json::from_slice::<StoredMessage>(json) {
                    Ok(message) => Some(message),
                    Err(e) => {
                        log::warn!(
                            "skipping corrupt entry of {key}: {e}: {}",
                            String::from_utf8_lossy(json)
                        );
                        None
                    }
                })
                .collect())
        }
        .boxed()
    }
}
