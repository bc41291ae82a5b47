//! Resync after Redis lost its data (restarted empty, flushed, failed over to an empty
//! replica): the live users of this node are written back, so their sessions resume and the
//! user directory lists them again. Detected by a periodic check: Redis was unreachable and
//! is back, Redis restarted (its `run_id` changed, however short the outage), or the user
//! directory vanished (a flush). On a Redis Cluster the same, per master: every master's
//! `run_id` (a master restarted, the cluster re-created, a replica promoted), and every bucket
//! of the directory.

use crate::hub::ChatHub;
use crate::store::{RedisConnection, Replay, StoreError};
use actix::prelude::*;
use std::time::Duration;

/// Saves the session of every user with a socket on this node again (`connected: true`), so
/// that sessions and the user directory come back after Redis restarted empty.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ResaveLiveSessions;

impl Handler<ResaveLiveSessions> for ChatHub {
    type Result = usize;
    fn handle(&mut self, _: ResaveLiveSessions, _: &mut Context<Self>) -> usize {
        for (user_id, (session_id, username)) in &self.live_users {
            self.save_live_session(user_id, session_id, username);
        }
        self.live_users.len()
    }
}

/// Checks Redis every `every` for the life of the process.
pub fn watch_redis(conn: RedisConnection, hub: Addr<ChatHub>, every: Duration) {
    actix::spawn(async move {
        let mut was_down = false;
        let mut last_run_ids: Option<Vec<String>> = None;
        // The first check runs at once, so that the run_ids of the Redis this node started
        // with are known before any restart.
        let mut first = true;
        loop {
            if !first {
                actix::clock::sleep(every).await;
            }
            first = false;
            let Ok(run_ids) = run_ids(&conn).await else {
                was_down = true;
                continue;
            };
            let restarted = last_run_ids.as_ref().is_some_and(|last| *last != run_ids);
            last_run_ids = Some(run_ids);
            let directory_exists = directory_exists(&conn).await.unwrap_or(true);
            if was_down || restarted || !directory_exists {
                match hub.send(ResaveLiveSessions).await {
                    Ok(0) | Err(_) => {}
                    Ok(n) => log::info!("redis recovered: wrote back {n} live sessions"),
                }
            }
            was_down = false;
        }
    });
}

/// The `run_id` of the Redis, or of every master of a cluster (sorted): it changes when a
/// server restarted (or a master was replaced), however short the outage. Fails when any
/// master does not answer.
async fn run_ids(conn: &RedisConnection) -> Result<Vec<String>, StoreError> {
    let mut info = redis::cmd("INFO");
    info.arg("server");
    let replies: Vec<String> = if conn.is_cluster() {
        let masters = conn.masters().await?;
        let asks = masters
            .iter()
            .map(|master| conn.query_on::<String>(master, &info));
        futures_util::future::try_join_all(asks).await?
    } else {
        vec![conn.query(&info, Replay::Safe).await?]
    };
    let mut ids: Vec<String> = replies
        .iter()
        .map(|reply| {
            reply
                .lines()
                .find_map(|line| line.strip_prefix("run_id:"))
                .map(|id| id.trim().to_owned())
                .unwrap_or_default()
        })
        .collect();
    ids.sort();
    Ok(ids)
}

/// Whether any hash of the user directory exists (one key on a single Redis, the buckets of a
/// cluster, each on its own shard).
async fn directory_exists(conn: &RedisConnection) -> Result<bool, StoreError> {
    let checks = conn.directory_keys().into_iter().map(|key| async move {
        conn.query::<bool>(redis::cmd("EXISTS").arg(key), Replay::Safe)
            .await
    });
    Ok(futures_util::future::try_join_all(checks)
        .await?
        .into_iter()
        .any(|exists| exists))
}
