//! Recovery after Redis lost its data (restarted empty, flushed, failed over to an empty
//! replica): the live users of this node are written back, so their sessions resume and the
//! user directory lists them again. Detected by a periodic check: Redis was unreachable and
//! is back, or the user directory vanished while this node has users.

use super::{ChatHub, ResaveLiveSessions};
use crate::store::redis_keys::USER_DIRECTORY_KEY;
use crate::store::{RedisConnection, Replay};
use actix::Addr;
use std::time::Duration;

/// Checks Redis every `every` for the life of the process.
pub fn watch_redis(conn: RedisConnection, hub: Addr<ChatHub>, every: Duration) {
    actix::spawn(async move {
        let mut was_down = false;
        loop {
            actix::clock::sleep(every).await;
            if conn.ping().await.is_err() {
                was_down = true;
                continue;
            }
            let directory_exists: bool = conn
                .query(redis::cmd("EXISTS").arg(USER_DIRECTORY_KEY), Replay::Safe)
                .await
                .unwrap_or(true);
            if was_down || !directory_exists {
                match hub.send(ResaveLiveSessions).await {
                    Ok(0) | Err(_) => {}
                    Ok(n) => log::info!("redis recovered: wrote back {n} live sessions"),
                }
            }
            was_down = false;
        }
    });
}
