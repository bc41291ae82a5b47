//! Resync after Redis lost its data (restarted empty, flushed, failed over to an empty
//! replica): the live users of this node are written back, so their sessions resume and the
//! user directory lists them again. Detected by a periodic check: Redis was unreachable and
//! is back, Redis restarted (its `run_id` changed, however short the outage), or the user
//! directory vanished (a flush).

use crate::hub::ChatHub;
use crate::store::redis_keys::USER_DIRECTORY_KEY;
use crate::store::{RedisConnection, Replay};
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
        let mut last_run_id: Option<String> = None;
        // The first check runs at once, so that the run_id of the Redis this node started
        // with is known before any restart.
        let mut first = true;
        loop {
            if !first {
                actix::clock::sleep(every).await;
            }
            first = false;
            let info: Result<String, _> = conn
                .query(redis::cmd("INFO").arg("server"), Replay::Safe)
                .await;
            let Ok(info) = info else {
                was_down = true;
                continue;
            };
            let run_id = info
                .lines()
                .find_map(|line| line.strip_prefix("run_id:"))
                .map(|id| id.trim().to_owned());
            let restarted = last_run_id.is_some() && run_id != last_run_id;
            last_run_id = run_id;
            let directory_exists: bool = conn
                .query(redis::cmd("EXISTS").arg(USER_DIRECTORY_KEY), Replay::Safe)
                .await
                .unwrap_or(true);
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
