//! Appending a message to one `messages:<userID>` list on a Redis Cluster.
//!
//! The sender's and the recipient's lists hash to different slots, so the single `MULTI` of a
//! lone Redis cannot hold both: each list gets its own atomic step, a Lua script (`RPUSH`,
//! `LTRIM` to the cap, `EXPIRE`), run on the two lists' shards concurrently.
//!
//! What a crash between the two can leave: the message in one of the two histories only (the
//! other shard failed, or the node died in between). The sender then got no acknowledgement
//! (it is sent only once both lists have the message), so the client knows the message was
//! not stored. Nothing is left half-written inside one list: each script is atomic.
//!
//! Why a script rather than `MULTI`: it makes the step idempotent by message id. Before
//! pushing, it looks for the message's `"id":"<id>"` among the newest [`RECENT`] entries and
//! pushes nothing when it is there, so the connection may resend a step whose reply was lost
//! (a failover under it) without duplicating the message; a JSON-escaped content cannot
//! contain that marker (its quotes would be `\"`). Messages without an id (never ours) are not
//! resent.

use super::connection::{RedisConnection, Replay};
use super::script::StoredScript;
use crate::store::StoreError;
use std::sync::LazyLock;

/// How far back a replay looks for its message: messages of other conversations may have been
/// appended to the same list between the first attempt and its replay.
const RECENT: i64 = 32;

static SCRIPT: LazyLock<StoredScript> = LazyLock::new(|| StoredScript::new(BODY));

/// KEYS[1] the list; ARGV: the entry, the id marker (empty = none), the LTRIM start, the TTL,
/// how many newest entries to search. Returns 1 when pushed, 0 when already there.
const BODY: &str = r#"
if ARGV[2] ~= '' then
  for _, entry in ipairs(redis.call('LRANGE', KEYS[1], -tonumber(ARGV[5]), -1)) do
    if string.find(entry, ARGV[2], 1, true) then
      redis.call('EXPIRE', KEYS[1], ARGV[4])
      return 0
    end
  end
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], ARGV[3], -1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"#;

/// Appends `json` (the message with id `id`) to the list `key`, keeping the newest entries from
/// `keep_from` (negative) on, and sets its TTL.
pub async fn append_once(
    conn: &RedisConnection,
    key: &str,
    json: &str,
    id: Option<&str>,
    keep_from: i64,
    ttl_secs: u64,
) -> Result<(), StoreError> {
    let marker = id.map(id_marker).unwrap_or_default();
    let arguments = |cmd: &mut ::redis::Cmd| {
        cmd.arg(1)
            .arg(key)
            .arg(json)
            .arg(&marker)
            .arg(keep_from)
            .arg(ttl_secs)
            .arg(RECENT);
    };
    let replay = if marker.is_empty() {
        Replay::OnlyIfUnsent
    } else {
        Replay::Safe
    };
    conn.run_script::<i64>(&SCRIPT, arguments, replay)
        .await
        .map(|_| ())
}

/// How message `id` appears in its JSON entry (`serde_json` writes no spaces).
fn id_marker(id: &str) -> String {
    format!("\"id\":{}", serde_json::Value::from(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredMessage;

    #[test]
    fn the_marker_is_in_the_entry_and_not_in_an_escaped_content() {
        let message = StoredMessage {
            content: r#"fake "id":"abc" here"#.into(),
            from: "a".into(),
            to: "b".into(),
            id: Some("abc".into()),
            ts: Some(1),
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(json.matches(&id_marker("abc")).count(), 1, "{json}");
    }
}
