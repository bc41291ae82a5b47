//! The health of each shard of a Redis Cluster, for `/health`: the masters and their slot
//! ranges as the cluster reports them (`CLUSTER SLOTS`), each `PING`ed directly. And what must
//! be asked of every master rather than of a key's shard (a `SCAN` of the keyspace, each
//! master's `run_id`): [`RedisConnection::masters`] and [`RedisConnection::query_on`].

use super::connection::RedisConnection;
use crate::store::StoreError;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, FromRedisValue, Value};
use serde::Serialize;

/// One shard: its master and whether it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardStatus {
    /// `host:port` of the master.
    pub master: String,
    /// Slot ranges served, `"0-5460"`.
    pub slots: Vec<String>,
    /// Whether the master answered a `PING` within the timeout.
    pub up: bool,
}

impl RedisConnection {
    /// Every shard of the cluster with whether its master answers; `None` on a single Redis,
    /// or when the cluster cannot be asked at all (no node answers).
    pub async fn shards(&self) -> Option<Vec<ShardStatus>> {
        let mut conn = self.cluster_connection().await?;
        let slots = self.cluster_slots(&mut conn).await.ok()?;
        let mut shards: Vec<(String, u16, Vec<String>)> = Vec::new();
        for (from, to, host, port) in masters_of(&slots) {
            let master = format!("{host}:{port}");
            match shards.iter_mut().find(|(m, _, _)| *m == master) {
                Some((_, _, ranges)) => ranges.push(format!("{from}-{to}")),
                None => shards.push((master, port, vec![format!("{from}-{to}")])),
            }
        }
        let mut report = Vec::with_capacity(shards.len());
        for (master, port, slots) in shards {
            let host = master
                .rsplit_once(':')
                .map_or(master.as_str(), |(h, _)| h)
                .to_owned();
            let ping = conn.route_command(
                redis::cmd("PING"),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port }),
            );
            let up = matches!(tokio::time::timeout(self.timeout(), ping).await, Ok(Ok(_)));
            report.push(ShardStatus { master, slots, up });
        }
        report.sort_by(|a, b| a.slots.cmp(&b.slots));
        Some(report)
    }
}

/// A master of the cluster: host and port.
pub type Master = (String, u16);

impl RedisConnection {
    /// The masters serving slots now (`CLUSTER SLOTS` of any node), each once, in slot order.
    /// Fails on a single Redis.
    pub async fn masters(&self) -> Result<Vec<Master>, StoreError> {
        let unavailable = || StoreError::Redis("no cluster node answers".to_owned());
        let mut conn = self.cluster_connection().await.ok_or_else(unavailable)?;
        let slots = self.cluster_slots(&mut conn).await?;
        let mut ranges = masters_of(&slots);
        ranges.sort_by_key(|(from, ..)| *from);
        let mut masters: Vec<Master> = Vec::new();
        for (_, _, host, port) in ranges {
            if !masters.iter().any(|(h, p)| *h == host && *p == port) {
                masters.push((host, port));
            }
        }
        if masters.is_empty() {
            return Err(unavailable());
        }
        Ok(masters)
    }

    /// Any node's `CLUSTER SLOTS` reply, within the timeout.
    async fn cluster_slots(&self, conn: &mut ClusterConnection) -> Result<Value, StoreError> {
        tokio::time::timeout(
            self.timeout(),
            conn.route_command(
                redis::cmd("CLUSTER").arg("SLOTS").to_owned(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            ),
        )
        .await
        .map_err(|_| StoreError::Timeout)?
        .map_err(|e| StoreError::Redis(e.to_string()))
    }

    /// Sends `cmd` to the cluster node `master` (whatever keys it names) and converts its
    /// reply, within the timeout. Fails on a single Redis.
    pub async fn query_on<T: FromRedisValue>(
        &self,
        (host, port): &Master,
        cmd: &Cmd,
    ) -> Result<T, StoreError> {
        let mut conn = self
            .cluster_connection()
            .await
            .ok_or_else(|| StoreError::Redis("no cluster node answers".to_owned()))?;
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: host.clone(),
            port: *port,
        });
        let reply = tokio::time::timeout(self.timeout(), conn.route_command(cmd.clone(), route))
            .await
            .map_err(|_| StoreError::Timeout)?
            .map_err(|e| StoreError::Redis(e.to_string()))?;
        T::from_redis_value(reply).map_err(|e| StoreError::Redis(e.to_string()))
    }
}

/// `(first slot, last slot, master host, master port)` of each range of a `CLUSTER SLOTS`
/// reply; entries of another shape are skipped.
fn masters_of(reply: &Value) -> Vec<(i64, i64, String, u16)> {
    let Value::Array(ranges) = reply else {
        return Vec::new();
    };
    ranges
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
            let host = match master.first()? {
                Value::BulkString(host) => String::from_utf8_lossy(host).into_owned(),
                Value::SimpleString(host) => host.clone(),
                _ => return None,
            };
            let Value::Int(port) = master.get(1)? else {
                return None;
            };
            Some((*from, *to, host, u16::try_from(*port).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn reads_the_masters_of_cluster_slots_and_skips_odd_entries() {
        let node = |port| Value::Array(vec![bulk("127.0.0.1"), Value::Int(port), bulk("id")]);
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node(7000),
                node(7003),
            ]),
            Value::Array(vec![Value::Int(5461), Value::Int(10922), node(7001)]),
            Value::Array(vec![bulk("junk")]),
            Value::Array(vec![Value::Int(1), Value::Int(2), node(70_000)]),
        ]);
        assert_eq!(
            masters_of(&reply),
            [
                (0, 5460, "127.0.0.1".to_owned(), 7000),
                (5461, 10922, "127.0.0.1".to_owned(), 7001)
            ]
        );
        assert!(masters_of(&Value::Nil).is_empty());
    }
}
