//! The subscriber on a Redis Cluster: sharded pub/sub (`SSUBSCRIBE`), each channel on the shard
//! that owns its slot, over a cluster connection of its own speaking RESP3 (messages arrive as
//! push frames on a channel handed to the redis crate).
//!
//! Like the single-Redis subscriber (`subscriber.rs`), it is a loop of our own that knows when
//! the subscriptions are in place ([`SubscriptionChanged`]) and starts over, with the same
//! backoff, whenever something may have cost a subscription:
//! - a shard connection closed (a master killed: the crate reports a `Disconnection` push);
//! - the server dropped a subscription we still want (`sunsubscribe` push: its slot moved to
//!   another shard, by a resharding or a failover);
//! - the keep-alive `PING` to the shard of `<p>#/#` failed or timed out.
//!
//! Starting over means a new cluster connection: the topology is discovered again from the
//! seed nodes, so a promoted replica is found, and every channel is subscribed again on the
//! shard that owns it now. While a failed master's slots have no master yet, subscribing
//! fails and is retried after the backoff (100 ms doubling to 2 s).

use super::room_subscriptions::{RoomChange, RoomSubscriptions, SyncPlan};
use super::subscriber::{keep_subscribed, next_changes, Subscription, PING_EVERY};
use super::{Channels, Inbound, SubscriptionChanged};
use crate::store::cluster_client;
use actix::Recipient;
use futures_util::future::try_join_all;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{PushInfo, PushKind, Value};
use std::time::Duration;
use tokio::sync::mpsc;

pub struct ShardedSubscriberConfig {
    /// Seed nodes of the cluster.
    pub urls: Vec<String>,
    pub channels: Channels,
    /// Subscribed for the life of the node: `<p>#/#`, our response channel, our heartbeats.
    pub fixed: Vec<String>,
    /// Bound on connecting + subscribing and on each keep-alive PING.
    pub timeout: Duration,
}

struct ShardedSubscriber {
    config: ShardedSubscriberConfig,
    inbound: Recipient<Inbound>,
    rooms: RoomSubscriptions,
    changes: Option<mpsc::UnboundedReceiver<RoomChange>>,
}

/// Spawns the subscriber loop on the current arbiter. It ends when the bridge is gone.
pub(super) fn spawn(
    config: ShardedSubscriberConfig,
    inbound: Recipient<Inbound>,
    state: Recipient<SubscriptionChanged>,
    changes: mpsc::UnboundedReceiver<RoomChange>,
) {
    let subscriber = ShardedSubscriber {
        rooms: RoomSubscriptions::new(config.channels.clone()),
        config,
        inbound,
        changes: Some(changes),
    };
    actix::spawn(keep_subscribed(subscriber, state));
}

type Pushes = mpsc::UnboundedReceiver<PushInfo>;

impl ShardedSubscriber {
    /// A new cluster connection with every channel subscribed on its shard.
    async fn subscribe(&mut self) -> Result<(ClusterConnection, Pushes), String> {
        let (push, pushes) = mpsc::unbounded_channel();
        let client = cluster_client(&self.config.urls, self.config.timeout, Some(push))
            .map_err(|e| e.to_string())?;
        let rooms = self.rooms.resubscribe_all();
        let all: Vec<String> = self
            .config
            .fixed
            .iter()
            .chain(&rooms.subscribe)
            .cloned()
            .collect();
        let attempt = async {
            let mut conn = client.get_async_connection().await?;
            ssubscribe_each(&mut conn, &all).await?;
            Ok::<_, redis::RedisError>(conn)
        };
        let conn = match tokio::time::timeout(self.config.timeout, attempt).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("timed out".to_owned()),
        };
        if !rooms.subscribe.is_empty() {
            log::info!(
                "bridge: subscribed to {} room channels",
                rooms.subscribe.len()
            );
        }
        self.rooms.synced(rooms);
        Ok((conn, pushes))
    }

    /// Forwards messages and applies room changes until a subscription may be lost.
    async fn pump(&mut self, mut conn: ClusterConnection, mut pushes: Pushes) -> &'static str {
        let timeout = self.config.timeout;
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut batch = Vec::new();
        let home = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
            self.config.channels.broadcast.as_bytes(),
            SlotAddr::Master,
        )));
        loop {
            tokio::select! {
                push = pushes.recv() => {
                    let Some(push) = push else { return "connection closed" };
                    if !self.inbound.connected() {
                        return "bridge stopped";
                    }
                    if let Some(reason) = self.on_push(push) {
                        return reason;
                    }
                }
                received = next_changes(&mut self.changes, &mut batch) => {
                    if received == 0 {
                        continue;
                    }
                    for change in batch.drain(..) {
                        self.rooms.apply(change);
                    }
                    let plan = self.rooms.plan();
                    if !plan.is_empty() {
                        if let Err(reason) = apply_plan(&mut conn, &plan, timeout).await {
                            return reason;
                        }
                    }
                    self.rooms.synced(plan);
                }
                _ = ping.tick() => {
                    let check = conn.route_command(redis::cmd("PING"), home.clone());
                    match tokio::time::timeout(timeout, check).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(_)) => return "ping failed",
                        Err(_) => return "ping timed out",
                    }
                }
            }
        }
    }

    /// Hands a sharded message to the bridge; returns why to start over, if it must.
    fn on_push(&mut self, push: PushInfo) -> Option<&'static str> {
        match push.kind {
            PushKind::SMessage => {
                let mut data = push.data.into_iter();
                match (data.next(), data.next()) {
                    (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) => {
                        self.inbound.do_send(Inbound {
                            channel: String::from_utf8_lossy(&channel).into_owned(),
                            payload,
                        });
                    }
                    _ => crate::metrics::METRICS.error("bridge_decode"),
                }
                None
            }
            PushKind::Disconnection => Some("a shard connection closed"),
            PushKind::SUnsubscribe => {
                let channel = match push.data.first() {
                    Some(Value::BulkString(channel)) => {
                        String::from_utf8_lossy(channel).into_owned()
                    }
                    _ => return None,
                };
                // Ours when we no longer want it; the server's (slot moved) otherwise.
                let wanted = self.config.fixed.contains(&channel) || self.rooms.wants(&channel);
                wanted.then_some("a slot moved to another shard")
            }
            _ => None,
        }
    }
}

/// `SSUBSCRIBE` of each channel, concurrently: one command may only name channels of one slot.
async fn ssubscribe_each(
    conn: &mut ClusterConnection,
    channels: &[String],
) -> redis::RedisResult<()> {
    let commands = channels.iter().map(|channel| {
        let mut conn = conn.clone();
        async move { conn.ssubscribe(channel).await }
    });
    try_join_all(commands).await.map(|_| ())
}

/// Sends the commands of `plan`, each channel on its own shard.
async fn apply_plan(
    conn: &mut ClusterConnection,
    plan: &SyncPlan,
    timeout: Duration,
) -> Result<(), &'static str> {
    let commands = async {
        ssubscribe_each(conn, &plan.subscribe).await?;
        let leaving = plan.unsubscribe.iter().map(|channel| {
            let mut conn = conn.clone();
            async move { conn.sunsubscribe(channel).await }
        });
        try_join_all(leaving).await.map(|_| ())
    };
    match tokio::time::timeout(timeout, commands).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("room subscription failed"),
        Err(_) => Err("room subscription timed out"),
    }
}

impl Subscription for ShardedSubscriber {
    type Live = (ClusterConnection, Pushes);

    async fn subscribe(&mut self) -> Result<Self::Live, String> {
        ShardedSubscriber::subscribe(self).await
    }

    async fn pump(&mut self, (conn, pushes): Self::Live) -> &'static str {
        ShardedSubscriber::pump(self, conn, pushes).await
    }

    fn bridge_alive(&self) -> bool {
        self.inbound.connected()
    }

    fn rooms(
        &mut self,
    ) -> (
        &mut RoomSubscriptions,
        &mut Option<mpsc::UnboundedReceiver<RoomChange>>,
    ) {
        (&mut self.rooms, &mut self.changes)
    }
}
