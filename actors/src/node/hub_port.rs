//! The hub's cluster port over the Redis bridge: broadcasts go to the bridge, room changes to
//! the subscriber, the hub's users to liveness, and "does this user still have a tab
//! elsewhere?" to presence's question (`crate::presence::remote_sockets`), and the presence
//! grace's marker to Redis.

use crate::cluster::{Publish, RedisBridge, RoomWatch};
use crate::hub::{Broadcast, ClusterPort, LocalPresence};
use crate::presence::keys::grace_key;
use crate::presence::{remote_sockets, Membership, StopHeartbeat};
use crate::store::{RedisConnection, Replay};
use actix::{Addr, Recipient};
use futures_util::future::BoxFuture;
use std::time::Duration;

/// How much longer than the grace its marker lives.
const GRACE_MARKER_MARGIN: Duration = Duration::from_secs(10);

pub struct BridgePort {
    pub bridge: Addr<RedisBridge>,
    pub membership: Addr<Membership>,
    pub conn: RedisConnection,
    /// In room-subscription mode: where room changes go.
    pub rooms: Option<RoomWatch>,
    pub liveness: Recipient<LocalPresence>,
    pub stop_heartbeat: Recipient<StopHeartbeat>,
}

impl ClusterPort for BridgePort {
    fn publish(&self, broadcast: Broadcast) {
        self.bridge.do_send(Publish {
            rooms: broadcast.rooms,
            except: broadcast.except,
            event: broadcast.event,
        });
    }

    fn remote_sockets(&self, rooms: Vec<String>) -> BoxFuture<'static, Option<usize>> {
        Box::pin(remote_sockets(
            self.bridge.clone(),
            self.membership.clone(),
            self.conn.clone(),
            rooms,
        ))
    }

    fn room_gained(&self, room: &str) -> BoxFuture<'static, ()> {
        let waiter = self.rooms.as_ref().map(|watch| watch.gained(room));
        Box::pin(async move {
            if let Some(waiter) = waiter {
                // Err means the subscriber is gone: nothing to wait for.
                let _ = waiter.await;
            }
        })
    }

    fn room_lost(&self, room: &str) {
        if let Some(watch) = &self.rooms {
            watch.lost(room);
        }
    }

    fn local_presence(&self, change: LocalPresence) {
        self.liveness.do_send(change);
    }

    fn grace_started(&self, user_id: &str, grace: Duration) {
        // The marker outlives the grace: the node deciding at its end must still find it (a
        // marker that expired would read as "taken over"). A node that died in the grace
        // leaves it behind for that long, which only spares a returning user one
        // `user connected`.
        let ttl = grace + GRACE_MARKER_MARGIN;
        let mut cmd = redis::cmd("SET");
        cmd.arg(grace_key(user_id))
            .arg("1")
            .arg("PX")
            .arg(ttl.as_millis() as u64);
        self.fire(cmd, "grace_started");
    }

    fn grace_ended(&self, user_id: &str) {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(grace_key(user_id));
        self.fire(cmd, "grace_ended");
    }

    fn grace_over(&self, user_id: &str) -> BoxFuture<'static, bool> {
        let conn = self.conn.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(grace_key(user_id));
        Box::pin(async move {
            // Redis unreachable: this node decides (its question to the others will be
            // retried, and "unknown" is never "nobody"). Not resent after a lost reply: the
            // second DEL would answer 0, "taken over".
            conn.query::<u64>(&cmd, Replay::OnlyIfUnsent)
                .await
                .map_or(true, |deleted| deleted > 0)
        })
    }

    fn claim_grace(&self, user_id: &str) -> BoxFuture<'static, bool> {
        let conn = self.conn.clone();
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(grace_key(user_id));
        Box::pin(async move {
            // Not resent after a lost reply: a second GETDEL would answer "nothing there".
            // Redis unreachable: announce (a second `user connected` beats a missing one).
            conn.query::<Option<String>>(&cmd, Replay::OnlyIfUnsent)
                .await
                .ok()
                .flatten()
                .is_some()
        })
    }

    fn retire(&self, grace: Duration) {
        self.stop_heartbeat
            .do_send(StopHeartbeat { alive_for: grace });
    }

    fn subscribes_rooms(&self) -> bool {
        self.rooms.is_some()
    }
}

impl BridgePort {
    /// Sends `cmd` without waiting for its reply (a failure is logged and counted).
    fn fire(&self, cmd: redis::Cmd, what: &'static str) {
        let conn = self.conn.clone();
        actix::spawn(async move {
            if let Err(e) = conn.query::<redis::Value>(&cmd, Replay::Safe).await {
                crate::metrics::METRICS.error(what);
                log::warn!("presence grace marker ({what}): {e}");
            }
        });
    }
}
