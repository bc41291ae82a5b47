//! The `DeadNodeReaper` actor: finds nodes whose heartbeat expired and announces their users
//! as disconnected, so that a killed node's users do not stay "online" forever (SPEC §2).
//!
//! One round (every `check_every`, never two at once): read the registry (`SMEMBERS`, no
//! scan) and the `alive` keys of the other nodes; for each dead one, take its lock (`SET NX`,
//! so exactly one survivor reaps it), read its user list and ask every node, this one
//! included, which of those users still have a socket (a type 5 request per batch: it
//! returns each matching socket's rooms, and a user's sockets are in the room named by its
//! userID). Users without a socket anywhere get their session saved with `connected: false`
//! and a `user disconnected` broadcast through the hub (so local and remote sockets see it).
//! Then the dead node's keys are deleted.
//!
//! Answers: a killed node's pub/sub connection is closed by its kernel, so it leaves `NUMSUB`
//! at once; a node that vanished without closing it (power loss) stays counted until Redis
//! notices, and cannot answer. So a report missing at most as many answers as there are dead
//! nodes is accepted; anything more is "unknown" and the batch is retried next round.

use super::keys::{alive_key, reaper_lock_key, users_key, LiveUserEntry, NODE_REGISTRY_KEY};
use super::{AskPeers, BridgeError, LivenessConfig, PeerQuery, RedisBridge};
use crate::hub::{Broadcast, ChatHub, LocalSocketDetails, OutboundEvent};
use crate::metrics::METRICS;
use crate::store::{RedisConnection, Replay, Session, SessionStore, SetConnected};
use actix::prelude::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Users asked about per request.
const BATCH: usize = 200;

pub struct DeadNodeReaper {
    job: ReapJob,
    check_every: Duration,
    running: bool,
}

/// Everything a round needs, cloned into its future.
#[derive(Clone)]
struct ReapJob {
    instance: String,
    conn: RedisConnection,
    hub: Addr<ChatHub>,
    sessions: Addr<SessionStore>,
    bridge: Addr<RedisBridge>,
    lock_ttl: Duration,
}

impl DeadNodeReaper {
    pub fn new(
        instance: String,
        conn: RedisConnection,
        hub: Addr<ChatHub>,
        sessions: Addr<SessionStore>,
        bridge: Addr<RedisBridge>,
        config: LivenessConfig,
    ) -> DeadNodeReaper {
        DeadNodeReaper {
            job: ReapJob {
                instance,
                conn,
                hub,
                sessions,
                bridge,
                lock_ttl: config.reaper_lock_ttl,
            },
            check_every: config.check_every,
            running: false,
        }
    }
}

impl Actor for DeadNodeReaper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.check_every, |act, ctx| {
            if act.running {
                return;
            }
            act.running = true;
            let job = act.job.clone();
            ctx.spawn(
                async move { job.round().await }
                    .into_actor(act)
                    .map(|result, act, _| {
                        act.running = false;
                        if let Err(e) = result {
                            log::debug!("reaper: round failed: {e}");
                        }
                    }),
            );
        });
    }
}

impl ReapJob {
    async fn round(&self) -> Result<(), BridgeError> {
        let mut members = redis::cmd("SMEMBERS");
        members.arg(NODE_REGISTRY_KEY);
        let nodes: Vec<String> = self.conn.query(&members, Replay::Safe).await?;
        let others: Vec<String> = nodes.into_iter().filter(|n| *n != self.instance).collect();
        if others.is_empty() {
            return Ok(());
        }
        let mut exists = redis::pipe();
        for node in &others {
            exists.cmd("EXISTS").arg(alive_key(node));
        }
        let alive: Vec<bool> = self.conn.query_pipeline(&exists, Replay::Safe).await?;
        let dead: Vec<&String> = others
            .iter()
            .zip(alive)
            .filter(|(_, alive)| !alive)
            .map(|(node, _)| node)
            .collect();
        for node in &dead {
            if let Err(e) = self.reap(node, dead.len()).await {
                log::warn!("reaper: could not reap node {node} yet: {e}");
            }
        }
        Ok(())
    }

    async fn reap(&self, node: &str, tolerated_missing: usize) -> Result<(), BridgeError> {
        let lock = reaper_lock_key(node);
        let mut claim = redis::cmd("SET");
        claim
            .arg(&lock)
            .arg(&self.instance)
            .arg("NX")
            .arg("PX")
            .arg(self.lock_ttl.as_millis() as u64);
        let claimed: Option<String> = self.conn.query(&claim, Replay::Safe).await?;
        if claimed.is_none() {
            return Ok(()); // Another survivor is on it.
        }
        let outcome = self.reap_claimed(node, tolerated_missing).await;
        let mut release = redis::cmd("DEL");
        release.arg(&lock);
        let released = self.conn.query::<()>(&release, Replay::Safe).await;
        outcome?;
        released?;
        Ok(())
    }

    async fn reap_claimed(&self, node: &str, tolerated_missing: usize) -> Result<(), BridgeError> {
        let mut check = redis::cmd("EXISTS");
        check.arg(alive_key(node));
        if self.conn.query::<bool>(&check, Replay::Safe).await? {
            return Ok(()); // It came back between the round's check and the lock.
        }
        let users_key = users_key(node);
        let mut read = redis::cmd("HGETALL");
        read.arg(&users_key);
        let raw: HashMap<String, String> = self.conn.query(&read, Replay::Safe).await?;
        let total = raw.len();
        let mut settled: Vec<String> = Vec::new();
        let mut users: Vec<(String, LiveUserEntry)> = Vec::with_capacity(total);
        for (user_id, json) in raw {
            match serde_json::from_str::<LiveUserEntry>(&json) {
                Ok(entry) => users.push((user_id, entry)),
                Err(e) => {
                    METRICS.error("bridge_liveness_decode");
                    log::warn!("reaper: dropping unreadable entry {user_id} of {users_key}: {e}");
                    settled.push(user_id);
                }
            }
        }
        let mut announced = 0;
        let mut unknown = None;
        for batch in users.chunks(BATCH) {
            match self.settle(batch, tolerated_missing).await {
                Ok(done) => {
                    announced += done.announced;
                    settled.extend(done.settled);
                }
                Err(e) => unknown = Some(e),
            }
        }
        if settled.len() == total {
            let mut cleanup = redis::pipe();
            cleanup.atomic();
            cleanup.cmd("DEL").arg(&users_key).ignore();
            cleanup.cmd("DEL").arg(alive_key(node)).ignore();
            cleanup
                .cmd("SREM")
                .arg(NODE_REGISTRY_KEY)
                .arg(node)
                .ignore();
            self.conn
                .query_pipeline::<()>(&cleanup, Replay::Safe)
                .await?;
            log::info!(
                "reaper: node {node} is gone; {announced} of its {total} users announced disconnected"
            );
            return Ok(());
        }
        if !settled.is_empty() {
            let mut forget = redis::cmd("HDEL");
            forget.arg(&users_key).arg(&settled);
            self.conn.query::<()>(&forget, Replay::Safe).await?;
        }
        Err(unknown.unwrap_or(BridgeError::PeersUnknown))
    }

    /// Announces the users of `batch` that have no socket anywhere; returns the users dealt
    /// with (announced, or found still connected).
    async fn settle(
        &self,
        batch: &[(String, LiveUserEntry)],
        tolerated_missing: usize,
    ) -> Result<Settled, BridgeError> {
        let rooms: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
        let local = self
            .hub
            .send(LocalSocketDetails {
                rooms: rooms.clone(),
                except: Vec::new(),
            })
            .await?;
        let report = self
            .bridge
            .send(AskPeers(PeerQuery::SocketRooms { rooms }))
            .await?
            .ok_or(BridgeError::PeersUnknown)?;
        if report.missing() > tolerated_missing {
            return Err(BridgeError::PeersUnknown);
        }
        let present: HashSet<&str> = local
            .iter()
            .flat_map(|(_, rooms)| rooms.iter())
            .chain(report.sockets.values().flatten())
            .map(String::as_str)
            .collect();
        let mut done = Settled::default();
        for (user_id, entry) in batch {
            if present.contains(user_id.as_str()) {
                done.settled.push(user_id.clone());
                continue;
            }
            let saved = self
                .sessions
                .send(SetConnected {
                    session_id: entry.session_id.clone(),
                    session: Session {
                        user_id: user_id.clone(),
                        username: entry.username.clone(),
                        connected: false,
                    },
                    connected: false,
                })
                .await?;
            if let Err(e) = saved {
                log::warn!("reaper: cannot save {user_id} as disconnected: {e}");
                continue;
            }
            METRICS
                .presence_announcements
                .with_label_values(&["disconnected"])
                .inc();
            self.hub.do_send(Broadcast {
                rooms: Vec::new(),
                except: Vec::new(),
                event: OutboundEvent::new(
                    "user disconnected",
                    vec![Value::String(user_id.clone())],
                ),
            });
            done.announced += 1;
            done.settled.push(user_id.clone());
        }
        Ok(done)
    }
}

#[derive(Default)]
struct Settled {
    settled: Vec<String>,
    announced: usize,
}
