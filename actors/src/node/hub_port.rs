//! The hub's cluster port over the Redis bridge: broadcasts go to the bridge, room changes to
//! the subscriber, the hub's users to liveness, and "does this user still have a tab
//! elsewhere?" to presence's question (`crate::presence::remote_sockets`).

use crate::cluster::{Publish, RedisBridge, RoomWatch};
use crate::hub::{Broadcast, ClusterPort, LocalPresence};
use crate::presence::{remote_sockets, Membership};
use crate::store::RedisConnection;
use actix::{Addr, Recipient};
use futures_util::future::BoxFuture;

pub struct BridgePort {
    pub bridge: Addr<RedisBridge>,
    pub membership: Addr<Membership>,
    pub conn: RedisConnection,
    /// In room-subscription mode: where room changes go.
    pub rooms: Option<RoomWatch>,
    pub liveness: Recipient<LocalPresence>,
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

    fn subscribes_rooms(&self) -> bool {
        self.rooms.is_some()
    }
}
