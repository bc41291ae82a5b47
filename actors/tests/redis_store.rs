//! The Redis backends against a real `redis-server` (one per test, on a free port): exact key
//! layout of the reference design, the user directory, trimming and TTLs, tolerance of foreign
//! or corrupt entries, and behaviour while Redis is down.

mod support;

use chat_actors::store::{
    MessageBackend, RedisConnection, RedisMessages, RedisSessions, Session, SessionBackend,
    StoreError, StoredMessage, UserEntry,
};
use redis::aio::MultiplexedConnection;
use redis::FromRedisValue;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};
use support::redis_server::RedisServer;

const TIMEOUT: Duration = Duration::from_millis(500);
/// How long a failing operation may take at most: its timeout plus scheduling slack.
const FAIL_FAST: Duration = Duration::from_millis(1500);
const DAY: u64 = 86_400;

fn connection(server: &RedisServer) -> RedisConnection {
    RedisConnection::new(&server.url(), TIMEOUT).expect("valid redis url")
}

/// A plain connection of the test's own, to look at what the backends wrote.
async fn raw(server: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("valid redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection to the test redis")
}

async fn raw_query<T: FromRedisValue>(conn: &mut MultiplexedConnection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(conn)
        .await
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn session(user_id: &str, username: &str, connected: bool) -> Session {
    Session {
        user_id: user_id.into(),
        username: username.into(),
        connected,
    }
}

fn message(content: &str, from: &str, to: &str) -> StoredMessage {
    StoredMessage {
        content: content.into(),
        from: from.into(),
        to: to.into(),
        id: Some(format!("id-{content}")),
        ts: Some(1_700_000_000_000),
    }
}

fn contents(messages: &[StoredMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.content.as_str()).collect()
}

/// Retries `op` until it succeeds or `within` elapses; returns how many attempts it took.
async fn eventually<T, F, Fut>(within: Duration, mut op: F) -> (T, usize)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + within;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match op().await {
            Ok(value) => return (value, attempts),
            Err(e) if Instant::now() < deadline => {
                eprintln!("attempt {attempts} failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("still failing after {within:?}: {e}"),
        }
    }
}

/// Runs `op`, expecting a failure within [`FAIL_FAST`].
async fn fails_fast<T: std::fmt::Debug>(
    what: &str,
    op: impl Future<Output = Result<T, StoreError>>,
) -> StoreError {
    let started = Instant::now();
    let result = op.await;
    let elapsed = started.elapsed();
    assert!(elapsed < FAIL_FAST, "{what} took {elapsed:?} to fail");
    match result {
        Err(e) => e,
        Ok(value) => panic!("{what} succeeded with Redis down: {value:?}"),
    }
}

#[tokio::test]
async fn session_round_trip_uses_the_reference_hash_layout() {
    let server = RedisServer::start();
    let sessions = RedisSessions::new(connection(&server), DAY);
    let mut raw = raw(&server).await;

    sessions
        .save("sid-1", &session("u-1", "alice", true))
        .await
        .expect("save");
    assert_eq!(
        sessions.find("sid-1").await.expect("find"),
        Some(session("u-1", "alice", true))
    );
    assert_eq!(
        sessions.find("sid-unknown").await.expect("find unknown"),
        None
    );

    let hash: HashMap<String, String> = raw_query(&mut raw, &["HGETALL", "session:sid-1"]).await;
    let expected: HashMap<String, String> = [
        ("userID", "u-1"),
        ("username", "alice"),
        ("connected", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(hash, expected);
    let ttl: i64 = raw_query(&mut raw, &["TTL", "session:sid-1"]).await;
    assert!(ttl > 0 && ttl <= DAY as i64, "session TTL {ttl}");

    let entry: String = raw_query(&mut raw, &["HGET", "chat:users", "u-1"]).await;
    let entry: serde_json::Value = serde_json::from_str(&entry).expect("directory entry is JSON");
    assert_eq!(
        entry,
        serde_json::json!({"userID": "u-1", "username": "alice", "connected": true})
    );
}

#[tokio::test]
async fn connected_flag_is_stored_as_a_string_and_updated() {
    let server = RedisServer::start();
    let sessions = RedisSessions::new(connection(&server), DAY);
    let mut raw = raw(&server).await;

    sessions
        .save("sid-1", &session("u-1", "alice", true))
        .await
        .expect("save");
    sessions
        .save("sid-1", &session("u-1", "alice", false))
        .await
        .expect("save disconnected");

    let flag: String = raw_query(&mut raw, &["HGET", "session:sid-1", "connected"]).await;
    assert_eq!(flag, "false");
    assert_eq!(
        sessions.find("sid-1").await.expect("find"),
        Some(session("u-1", "alice", false))
    );
    let users = sessions.list_users().await.expect("list");
    assert_eq!(
        users,
        vec![UserEntry {
            user_id: "u-1".into(),
            username: "alice".into(),
            connected: false
        }]
    );
}

#[tokio::test]
async fn session_ttl_is_configurable() {
    let server = RedisServer::start();
    let sessions = RedisSessions::new(connection(&server), 120);
    let mut raw = raw(&server).await;

    sessions
        .save("sid-1", &session("u-1", "alice", true))
        .await
        .expect("save");
    let ttl: i64 = raw_query(&mut raw, &["TTL", "session:sid-1"]).await;
    assert!(ttl > 100 && ttl <= 120, "session TTL {ttl}");
}

#[tokio::test]
async fn a_session_hash_without_identity_is_treated_as_absent() {
    let server = RedisServer::start();
    let sessions = RedisSessions::new(connection(&server), DAY);
    let mut raw = raw(&server).await;

    let _: () = raw_query(&mut raw, &["HSET", "session:broken", "connected", "true"]).await;
    assert_eq!(sessions.find("broken").await.expect("find"), None);
}

#[tokio::test]
async fn users_are_listed_from_the_directory_sorted_without_scanning() {
    let server = RedisServer::start();
    let sessions = RedisSessions::new(connection(&server), DAY);
    let mut raw = raw(&server).await;

    sessions
        .save("sid-c", &session("u-c", "carol", true))
        .await
        .expect("save");
    sessions
        .save("sid-a", &session("u-a2", "alice", false))
        .await
        .expect("save");
    sessions
        .save("sid-b", &session("u-b", "bob", true))
        .await
        .expect("save");
    sessions
        .save("sid-a1", &session("u-a1", "alice", true))
        .await
        .expect("save");
    // A second session of the same user is still one user.
    sessions
        .save("sid-b-2", &session("u-b", "bob", true))
        .await
        .expect("save");
    // Keys that a scan over `session:*` would have to wade through.
    for i in 0..50 {
        let _: () = raw_query(&mut raw, &["SET", &format!("noise:{i}"), "x"]).await;
    }
    let _: () = raw_query(&mut raw, &["CONFIG", "RESETSTAT"]).await;

    let users = sessions.list_users().await.expect("list");

    let listed: Vec<(&str, &str, bool)> = users
        .iter()
        .map(|u| (&*u.user_id, &*u.username, u.connected))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("u-a1", "alice", true),
            ("u-a2", "alice", false),
            ("u-b", "bob", true),
            ("u-c", "carol", true)
        ]
    );
    let stats: String = raw_query(&mut raw, &["INFO", "commandstats"]).await;
    assert!(
        !stats.contains("cmdstat_scan:"),
        "list_users scanned the keyspace:\n{stats}"
    );
    assert!(
        !stats.contains("cmdstat_keys:"),
        "list_users used KEYS:\n{stats}"
    );
    assert!(
        stats.contains("cmdstat_hvals:"),
        "list_users did not read the directory:\n{stats}"
    );
}

#[tokio::test]
async fn corrupt_directory_entries_are_skipped() {
    let server = RedisServer::start();
    let sessions = RedisSessions::new(connection(&server), DAY);
    let mut raw = raw(&server).await;

    sessions
        .save("sid-a", &session("u-a", "alice", true))
        .await
        .expect("save");
    let _: () = raw_query(&mut raw, &["HSET", "chat:users", "u-bad", "{not json"]).await;
    let _: () = raw_query(
        &mut raw,
        &[
            "HSET",
            "chat:users",
            "u-partial",
            r#"{"userID":"u-partial"}"#,
        ],
    )
    .await;

    let users = sessions
        .list_users()
        .await
        .expect("list despite corrupt entries");
    assert_eq!(
        users,
        vec![UserEntry {
            user_id: "u-a".into(),
            username: "alice".into(),
            connected: true
        }]
    );
}

#[tokio::test]
async fn user_exists_follows_the_directory() {
    let server = RedisServer::start();
    let sessions = RedisSessions::new(connection(&server), DAY);

    assert!(!sessions.user_exists("u-a").await.expect("exists before"));
    sessions
        .save("sid-a", &session("u-a", "alice", true))
        .await
        .expect("save");
    assert!(sessions.user_exists("u-a").await.expect("exists after"));
    assert!(!sessions.user_exists("u-other").await.expect("other"));
}

#[tokio::test]
async fn a_message_is_appended_to_both_histories_as_json() {
    let server = RedisServer::start();
    let messages = RedisMessages::new(connection(&server), DAY, 100);
    let mut raw = raw(&server).await;

    let m = message("hello", "u-a", "u-b");
    messages.append(&m).await.expect("append");

    assert_eq!(
        messages.messages_of("u-a").await.expect("of a"),
        vec![m.clone()]
    );
    assert_eq!(
        messages.messages_of("u-b").await.expect("of b"),
        vec![m.clone()]
    );
    assert_eq!(messages.messages_of("u-c").await.expect("of c"), vec![]);
    for key in ["messages:u-a", "messages:u-b"] {
        let entries: Vec<String> = raw_query(&mut raw, &["LRANGE", key, "0", "-1"]).await;
        assert_eq!(entries.len(), 1, "{key}");
        let entry: serde_json::Value = serde_json::from_str(&entries[0]).expect("entry is JSON");
        assert_eq!(
            entry,
            serde_json::json!({"content": "hello", "from": "u-a", "to": "u-b", "id": "id-hello", "ts": 1_700_000_000_000u64}),
        );
        let ttl: i64 = raw_query(&mut raw, &["TTL", key]).await;
        assert!(ttl > 0 && ttl <= DAY as i64, "{key} TTL {ttl}");
    }
}

/// The append is a script sent by its hash: the first call (Redis does not know it) falls back
/// to the body, later calls are one round trip, and a Redis that lost its scripts (restart,
/// `SCRIPT FLUSH`) is given the body again without a message being lost or doubled.
#[tokio::test]
async fn the_append_script_goes_by_hash_and_survives_a_script_flush() {
    let server = RedisServer::start();
    let conn = connection(&server);
    let messages = RedisMessages::new(conn.clone(), DAY, 100);
    let mut raw = raw(&server).await;

    let before = conn.round_trips();
    messages
        .append(&message("1", "u-a", "u-b"))
        .await
        .expect("first append");
    assert_eq!(conn.round_trips() - before, 2, "EVALSHA refused, then EVAL");

    let before = conn.round_trips();
    messages
        .append(&message("2", "u-a", "u-b"))
        .await
        .expect("second append");
    assert_eq!(conn.round_trips() - before, 1, "EVALSHA alone once loaded");

    let _: () = raw_query(&mut raw, &["SCRIPT", "FLUSH"]).await;
    messages
        .append(&message("3", "u-b", "u-a"))
        .await
        .expect("append after the flush");
    for user in ["u-a", "u-b"] {
        assert_eq!(
            contents(&messages.messages_of(user).await.expect("history")),
            vec!["1", "2", "3"],
            "{user}"
        );
    }
}

#[tokio::test]
async fn a_message_to_oneself_is_stored_once() {
    let server = RedisServer::start();
    let messages = RedisMessages::new(connection(&server), DAY, 100);
    let mut raw = raw(&server).await;

    messages
        .append(&message("note", "u-a", "u-a"))
        .await
        .expect("append");

    let len: i64 = raw_query(&mut raw, &["LLEN", "messages:u-a"]).await;
    assert_eq!(len, 1);
    assert_eq!(
        contents(&messages.messages_of("u-a").await.expect("of a")),
        vec!["note"]
    );
}

#[tokio::test]
async fn histories_keep_the_newest_cap_messages_in_order() {
    let server = RedisServer::start();
    let messages = RedisMessages::new(connection(&server), DAY, 3);

    for i in 1..=5 {
        messages
            .append(&message(&format!("m{i}"), "u-a", "u-b"))
            .await
            .expect("append");
    }
    messages
        .append(&message("other", "u-c", "u-b"))
        .await
        .expect("append");

    assert_eq!(
        contents(&messages.messages_of("u-a").await.expect("of a")),
        vec!["m3", "m4", "m5"]
    );
    assert_eq!(
        contents(&messages.messages_of("u-b").await.expect("of b")),
        vec!["m4", "m5", "other"]
    );
    assert_eq!(
        contents(&messages.messages_of("u-c").await.expect("of c")),
        vec!["other"]
    );
}

#[tokio::test]
async fn every_message_refreshes_the_ttl_of_both_histories() {
    let server = RedisServer::start();
    let messages = RedisMessages::new(connection(&server), 600, 100);
    let mut raw = raw(&server).await;

    messages
        .append(&message("first", "u-a", "u-b"))
        .await
        .expect("append");
    let _: () = raw_query(&mut raw, &["EXPIRE", "messages:u-a", "5"]).await;
    let _: () = raw_query(&mut raw, &["EXPIRE", "messages:u-b", "5"]).await;

    messages
        .append(&message("second", "u-a", "u-b"))
        .await
        .expect("append");
    for key in ["messages:u-a", "messages:u-b"] {
        let ttl: i64 = raw_query(&mut raw, &["TTL", key]).await;
        assert!(ttl > 500 && ttl <= 600, "{key} TTL {ttl} not refreshed");
    }
}

#[tokio::test]
async fn entries_written_by_node_nodes_parse_and_corrupt_ones_are_skipped() {
    let server = RedisServer::start();
    let messages = RedisMessages::new(connection(&server), DAY, 100);
    let mut raw = raw(&server).await;

    let node_entry = r#"{"content":"from node","from":"u-a","to":"u-b"}"#;
    let _: () = raw_query(&mut raw, &["RPUSH", "messages:u-a", node_entry]).await;
    let _: () = raw_query(&mut raw, &["RPUSH", "messages:u-a", "{corrupt"]).await;
    let _: () = raw_query(
        &mut raw,
        &["RPUSH", "messages:u-a", r#"{"content":"no from"}"#],
    )
    .await;
    messages
        .append(&message("from rust", "u-a", "u-b"))
        .await
        .expect("append");

    let history = messages
        .messages_of("u-a")
        .await
        .expect("history despite corrupt entries");
    assert_eq!(
        history,
        vec![
            StoredMessage {
                content: "from node".into(),
                from: "u-a".into(),
                to: "u-b".into(),
                id: None,
                ts: None
            },
            message("from rust", "u-a", "u-b"),
        ]
    );
}

#[tokio::test]
async fn round_trips_are_counted() {
    let server = RedisServer::start();
    let conn = connection(&server);
    let sessions = RedisSessions::new(conn.clone(), DAY);
    let counter = conn.round_trip_counter();

    let before = conn.round_trips();
    sessions
        .save("sid-a", &session("u-a", "alice", true))
        .await
        .expect("save");
    sessions.list_users().await.expect("list");
    conn.ping().await.expect("ping");
    assert_eq!(
        conn.round_trips() - before,
        3,
        "a transaction is one round trip"
    );
    assert_eq!(
        counter.load(std::sync::atomic::Ordering::Relaxed),
        conn.round_trips()
    );
}

#[tokio::test]
async fn a_command_redis_does_not_answer_times_out() {
    let server = RedisServer::start();
    let conn = RedisConnection::new(&server.url(), Duration::from_millis(200)).expect("url");
    let sessions = RedisSessions::new(conn.clone(), DAY);
    let mut raw = raw(&server).await;
    conn.ping().await.expect("ping while answering");

    // Redis keeps the connection open but answers nobody for 1.5 s.
    let _: () = raw_query(&mut raw, &["CLIENT", "PAUSE", "1500", "ALL"]).await;
    let started = Instant::now();
    let result = sessions.find("sid-a").await;
    let elapsed = started.elapsed();

    assert!(
        matches!(result, Err(StoreError::Timeout)),
        "expected a timeout, got {result:?}"
    );
    assert!(
        elapsed < Duration::from_millis(1000),
        "timed out after {elapsed:?}"
    );
}

#[tokio::test]
async fn operations_fail_fast_while_redis_is_down_and_recover_after_it_restarts() {
    let mut server = RedisServer::start();
    let conn = connection(&server);
    let sessions = RedisSessions::new(conn.clone(), DAY);
    let messages = RedisMessages::new(conn.clone(), DAY, 100);
    sessions
        .save("sid-a", &session("u-a", "alice", true))
        .await
        .expect("save while up");
    conn.ping().await.expect("ping while up");

    server.kill();
    for _ in 0..3 {
        fails_fast("ping", conn.ping()).await;
        fails_fast("find", sessions.find("sid-a")).await;
        fails_fast("save", sessions.save("sid-b", &session("u-b", "bob", true))).await;
        fails_fast("list_users", sessions.list_users()).await;
        fails_fast("user_exists", sessions.user_exists("u-a")).await;
        fails_fast("append", messages.append(&message("lost", "u-a", "u-b"))).await;
        fails_fast("messages_of", messages.messages_of("u-a")).await;
    }

    server.resume();
    // The restarted server is empty (nothing persisted): recovery means working again.
    let (_, attempts) = eventually(Duration::from_secs(5), || conn.ping()).await;
    assert_eq!(
        attempts, 1,
        "the first command after the restart should reconnect and succeed"
    );
    sessions
        .save("sid-b", &session("u-b", "bob", true))
        .await
        .expect("save after restart");
    assert_eq!(
        sessions.find("sid-b").await.expect("find after restart"),
        Some(session("u-b", "bob", true))
    );
    messages
        .append(&message("kept", "u-a", "u-b"))
        .await
        .expect("append after restart");
    assert_eq!(
        contents(&messages.messages_of("u-b").await.expect("of b")),
        vec!["kept"]
    );
}

#[tokio::test]
async fn a_redis_restart_between_two_reads_is_invisible() {
    let mut server = RedisServer::start();
    let conn = connection(&server);
    let sessions = RedisSessions::new(conn.clone(), DAY);
    sessions
        .save("sid-a", &session("u-a", "alice", true))
        .await
        .expect("save");

    server.restart();

    // The old connection is dead; the read is resent once over a new one.
    assert_eq!(
        sessions
            .find("sid-a")
            .await
            .expect("find right after the restart"),
        None
    );
    sessions
        .save("sid-a", &session("u-a", "alice", true))
        .await
        .expect("save after restart");
    assert!(sessions.user_exists("u-a").await.expect("exists"));
}

#[tokio::test]
async fn the_backends_can_be_built_while_redis_is_down() {
    let mut server = RedisServer::start();
    server.kill();

    let conn = connection(&server);
    let sessions = RedisSessions::new(conn.clone(), DAY);
    let messages = RedisMessages::new(conn.clone(), DAY, 100);
    let error = fails_fast("ping", conn.ping()).await;
    assert!(
        matches!(error, StoreError::Redis(_)),
        "refused connection is a redis error: {error:?}"
    );
    fails_fast(
        "save",
        sessions.save("sid-a", &session("u-a", "alice", true)),
    )
    .await;

    server.resume();
    eventually(Duration::from_secs(5), || {
        sessions.save("sid-a", &session("u-a", "alice", true))
    })
    .await;
    assert!(sessions.user_exists("u-a").await.expect("exists"));
    messages
        .append(&message("hi", "u-a", "u-a"))
        .await
        .expect("append");
    assert_eq!(
        contents(&messages.messages_of("u-a").await.expect("of a")),
        vec!["hi"]
    );
}

#[test]
fn an_invalid_url_is_refused_at_construction() {
    let error = RedisConnection::new("not a url", TIMEOUT).expect_err("invalid url");
    assert!(matches!(error, StoreError::Redis(_)));
}
