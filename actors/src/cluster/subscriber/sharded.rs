//! Being subscribed on a Redis Cluster: sharded pub/sub (`SSUBSCRIBE`), each channel on the
//! shard that owns its slot, over a cluster connection of its own speaking RESP3 (messages
//! arrive as push frames on a channel handed to the redis crate).
//!
//! Besides what the loop checks for both kinds (a failed keep-alive `PING`, to the shard of
//! `<p>#/#`), a subscription may be lost when a shard connection closes (a master killed: the
//! crate reports a `Disconnection` push) or the server drops a subscription we still want
//! (`sunsubscribe` push: its slot moved, by a resharding or a failover). Starting over means a
//! new cluster connection: the topology is discovered again from the seed nodes, so a promoted
//! replica is found, and every channel is subscribed again on the shard that owns it now. While
//! a failed master's slots have no master yet, subscribing fails and is retried after the
//! backoff.
//!
//! One loss gives no sign: the cluster re-created under the node (every master restarted
//! empty, `redis-cli --cluster create` again on the same ports) while the subscriber was
//! connecting: subscriptions made while the slots were being assigned and the masters were
//! meeting did not all end up on the slots' final owners, and nothing tells the subscriber.
//! So the slot layout (`CLUSTER SLOTS`: each range and its master's node id) is read before
//! subscribing, again right after (a difference: try again), and then every second: any
//! difference (a new cluster, a slot moved, a replica promoted) starts over, subscribing every
//! channel again where it belongs now (and the node catches up on what it missed).

use super::{Connector, LiveSubscription, Next};
use crate::cluster::room_subscriptions::SyncPlan;
use crate::metrics::METRICS;
use crate::store::cluster_client;
use futures_util::future::try_join_all;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{PushInfo, PushKind, Value};
use std::time::Duration;
use tokio::sync::mpsc;

/// Opens subscribed connections to a Redis Cluster.
pub struct ShardedConnector {
    /// Seed nodes of the cluster.
    pub urls: Vec<String>,
    /// Bound on connecting (each command is bounded by the subscriber's loop).
    pub timeout: Duration,
    /// `<p>#/#`: the shard the keep-alive `PING` goes to.
    pub home: String,
}

/// A cluster connection and the pushes it receives.
pub struct ShardedLive {
    conn: ClusterConnection,
    pushes: mpsc::UnboundedReceiver<PushInfo>,
    home: RoutingInfo,
    /// The slot layout read before subscribing.
    layout: Layout,
}

/// Each slot range with its master's node id, sorted.
type Layout = Vec<(i64, i64, String)>;

/// The slot layout as the cluster tells it now (any node's `CLUSTER SLOTS`).
async fn layout(conn: &mut ClusterConnection) -> redis::RedisResult<Layout> {
    let reply = conn
        .route_command(
            redis::cmd("CLUSTER").arg("SLOTS").to_owned(),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        )
        .await?;
    Ok(parse_layout(&reply))
}

/// `(first slot, last slot, master id)` of each range of a `CLUSTER SLOTS` reply (the master's
/// `host:port` when its id is missing), sorted; entries of another shape are skipped.
fn parse_layout(reply: &Value) -> Layout {
    let Value::Array(ranges) = reply else {
        return Vec::new();
    };
    let text = |value: &Value| match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    };
    let mut layout: Layout = ranges
        .iter()
        .filter_map(|range| {
            let Value::Array(fields) = range else {
                return None;
            };
            let (Some(Value::Int(from)), Some(Value::Int(to)), Some(Value::Array(master))) =
                (fields.first(), fields.get(1), fields.get(2))
            else {
                return None;
            };
            let id = match master.get(2).and_then(text) {
                Some(id) => id,
                None => format!("{}:{}", text(master.first()?)?, text(master.get(1)?)?),
            };
            Some((*from, *to, id))
        })
        .collect();
    layout.sort();
    layout
}

impl Connector for ShardedConnector {
    type Live = ShardedLive;

    async fn connect(&mut self, channels: Vec<String>) -> Result<ShardedLive, String> {
        let (push, pushes) = mpsc::unbounded_channel();
        let client =
            cluster_client(&self.urls, self.timeout, Some(push)).map_err(|e| e.to_string())?;
        let attempt = async {
            let mut conn = client.get_async_connection().await?;
            let before = layout(&mut conn).await?;
            ssubscribe_each(&mut conn, &channels).await?;
            Ok::<_, redis::RedisError>((conn, before))
        };
        let (mut conn, layout) = attempt.await.map_err(|e| e.to_string())?;
        // Slots moving while we subscribed: some subscriptions may be on a former owner.
        if self::layout(&mut conn).await.map_err(|e| e.to_string())? != layout {
            return Err("the slot layout changed while subscribing".to_owned());
        }
        let home = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
            self.home.as_bytes(),
            SlotAddr::Master,
        )));
        Ok(ShardedLive {
            conn,
            pushes,
            home,
            layout,
        })
    }
}

impl LiveSubscription for ShardedLive {
    async fn next(&mut self) -> Next {
        let Some(push) = self.pushes.recv().await else {
            return Next::Lost("connection closed");
        };
        match push.kind {
            PushKind::SMessage => {
                let mut data = push.data.into_iter();
                match (data.next(), data.next()) {
                    (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) => {
                        Next::Message {
                            channel: String::from_utf8_lossy(&channel).into_owned(),
                            payload,
                        }
                    }
                    _ => {
                        METRICS.error("bridge_decode");
                        Next::Nothing
                    }
                }
            }
            PushKind::Disconnection => Next::Lost("a shard connection closed"),
            PushKind::SUnsubscribe => match push.data.first() {
                Some(Value::BulkString(channel)) => {
                    Next::Dropped(String::from_utf8_lossy(channel).into_owned())
                }
                _ => Next::Nothing,
            },
            _ => Next::Nothing,
        }
    }

    /// Each channel on its own shard.
    async fn apply(&mut self, plan: &SyncPlan) -> redis::RedisResult<()> {
        ssubscribe_each(&mut self.conn, &plan.subscribe).await?;
        let leaving = plan.unsubscribe.iter().map(|channel| {
            let mut conn = self.conn.clone();
            async move { conn.sunsubscribe(channel).await }
        });
        try_join_all(leaving).await.map(|_| ())
    }

    async fn ping(&mut self) -> redis::RedisResult<()> {
        self.conn
            .route_command(redis::cmd("PING"), self.home.clone())
            .await
            .map(|_| ())
    }

    /// The slot layout, compared with the one subscribed under: false once it differs.
    async fn still_valid(&mut self) -> redis::RedisResult<bool> {
        let now = layout(&mut self.conn).await?;
        if now != self.layout {
            log::warn!("bridge: the cluster's slot layout changed");
            return Ok(false);
        }
        Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn the_layout_names_each_range_by_its_master_id_sorted() {
        let node = |port, id: Option<&str>| {
            let mut fields = vec![bulk("127.0.0.1"), Value::Int(port)];
            fields.extend(id.map(bulk));
            Value::Array(fields)
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(5461),
                Value::Int(10922),
                node(7001, Some("b")),
            ]),
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node(7000, Some("a")),
                node(7003, Some("r")),
            ]),
            Value::Array(vec![Value::Int(10923), Value::Int(16383), node(7002, None)]),
            Value::Array(vec![bulk("junk")]),
        ]);
        assert_eq!(
            parse_layout(&reply),
            [
                (0, 5460, "a".to_owned()),
                (5461, 10922, "b".to_owned()),
                (10923, 16383, "127.0.0.1:7002".to_owned())
            ]
        );
        assert!(parse_layout(&Value::Nil).is_empty());
    }
}
