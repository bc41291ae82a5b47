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
//! Dead nodes come from two sources: the registry (`chat:nodes` members whose `alive` key
//! expired) and the peer table (peers silent on the heartbeat channel for a whole TTL, see
//! `peers.rs`), which survives Redis restarting empty. For either, the users are those of the
//! list Redis still has plus those of the last list this node knew that Redis lacks. Once reaped, a node gets a
//! `reaped` mark (`chat:node:<instance>:reaped`, 1 h), so that the other survivors, which
//! remember it too, forget it instead of announcing its users a second time.
//!
//! Answers: every live heartbeating peer must answer, except as many as there are dead nodes
//! (a node that vanished without closing its connection may still be counted live for a
//! moment); anything less is "unknown" and the batch is retried next round. The `NUMSUB`
//! surplus (Node nodes, an operator's `redis-cli SUBSCRIBE`) is waited for until the request
//! timeout, never beyond.

use super::keys::{
    alive_key, reaped_key, reaper_lock_key, users_key, LiveUserEntry, NODE_REGISTRY_KEY,
};
use super::membership::{ForgetPeer, LivePeers, Membership, SilentPeers};
use super::LivenessConfig;
use crate::cluster::{AskPeers, BridgeError, PeerQuery, RedisBridge};
use crate::event::OutboundEvent;
use crate::hub::{Broadcast, ChatHub, LocalSocketDetails};
use crate::metrics::METRICS;
use crate::store::{RedisConnection, Replay, Session, SessionStore, SetConnected};
use actix::prelude::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Users asked about per request.
const BATCH: usize = 200;
/// How long the `reaped` mark of a dead node stays (its last heartbeat is long forgotten by
/// then; the node deletes it itself should it come back).
const REAPED_MARK_TTL: Duration = Duration::from_secs(3600);

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
    membership: Addr<Membership>,
    lock_ttl: Duration,
}

impl DeadNodeReaper {
    pub fn new(
        instance: String,
        conn: RedisConnection,
        hub: Addr<ChatHub>,
        sessions: Addr<SessionStore>,
        (bridge, membership): (Addr<RedisBridge>, Addr<Membership>),
        config: LivenessConfig,
    ) -> DeadNodeReaper {
        DeadNodeReaper {
            job: ReapJob {
                instance,
                conn,
                hub,
                sessions,
                bridge,
                membership,
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
        // Dead by the registry (alive key expired), with no user list but Redis's...
        let mut dead: Vec<(String, HashMap<String, LiveUserEntry>)> = Vec::new();
        if !others.is_empty() {
            let mut exists = redis::pipe();
            for node in &others {
                exists.cmd("EXISTS").arg(alive_key(node));
            }
            let alive: Vec<bool> = self.conn.query_pipeline(&exists, Replay::Safe).await?;
            dead.extend(
                others
                    .into_iter()
                    .zip(alive)
                    .filter(|(_, alive)| !alive)
                    .map(|(node, _)| (node, HashMap::new())),
            );
        }
        // ... and dead by their silence on the heartbeat channel, with the users we last knew
        // of: these are found even when Redis restarted empty and lost every key of theirs.
        for (node, users) in self.membership.send(SilentPeers).await? {
            match dead.iter_mut().find(|(known, _)| *known == node) {
                Some((_, known_users)) => *known_users = users,
                None => dead.push((node, users)),
            }
        }
        for (node, users) in &dead {
            if let Err(e) = self.reap(node, dead.len(), users).await {
                log::warn!("reaper: could not reap node {node} yet: {e}");
            }
        }
        Ok(())
    }

    async fn reap(
        &self,
        node: &str,
        tolerated_missing: usize,
        remembered: &HashMap<String, LiveUserEntry>,
    ) -> Result<(), BridgeError> {
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
        let outcome = self.reap_claimed(node, tolerated_missing, remembered).await;
        let mut release = redis::cmd("DEL");
        release.arg(&lock);
        let released = self.conn.query::<()>(&release, Replay::Safe).await;
        outcome?;
        released?;
        Ok(())
    }

    async fn reap_claimed(
        &self,
        node: &str,
        tolerated_missing: usize,
        remembered: &HashMap<String, LiveUserEntry>,
    ) -> Result<(), BridgeError> {
        let mut check = redis::pipe();
        check.cmd("EXISTS").arg(alive_key(node));
        check.cmd("EXISTS").arg(reaped_key(node));
        let (alive, reaped): (bool, bool) = self.conn.query_pipeline(&check, Replay::Safe).await?;
        if alive {
            return Ok(()); // It came back between the round's check and the lock.
        }
        if reaped {
            // Another survivor announced its users already.
            self.membership.do_send(ForgetPeer(node.to_owned()));
            return Ok(());
        }
        let users_key = users_key(node);
        let mut read = redis::cmd("HGETALL");
        read.arg(&users_key);
        let raw: HashMap<String, String> = self.conn.query(&read, Replay::Safe).await?;
        let mut settled: Vec<String> = Vec::new();
        let mut users: Vec<(String, LiveUserEntry)> = Vec::with_capacity(raw.len());
        // Redis may have lost the list or part of it (restarted empty, then the node wrote
        // only its latest changes again, or nothing, before it died): what its heartbeats told
        // us counts too.
        let missing: Vec<(String, LiveUserEntry)> = remembered
            .iter()
            .filter(|(id, _)| !raw.contains_key(*id))
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect();
        if !missing.is_empty() {
            log::info!(
                "reaper: {} users node {node} last listed are missing from {users_key}; using them",
                missing.len()
            );
        }
        let total = raw.len() + missing.len();
        users.extend(missing);
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
            cleanup
                .cmd("SET")
                .arg(reaped_key(node))
                .arg(&self.instance)
                .arg("PX")
                .arg(REAPED_MARK_TTL.as_millis() as u64)
                .ignore();
            self.conn
                .query_pipeline::<()>(&cleanup, Replay::Safe)
                .await?;
            self.membership.do_send(ForgetPeer(node.to_owned()));
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
        let known_peers = self
            .membership
            .send(LivePeers {
                user_ids: Vec::new(),
            })
            .await?
            .len();
        let query = PeerQuery::SocketRooms { rooms };
        let report = self
            .bridge
            .send(AskPeers { query, known_peers })
            .await?
            .ok_or(BridgeError::PeersUnknown)?;
        // Every heartbeating peer but the dead ones must have answered; the NUMSUB surplus
        // (Node nodes, operators' clients) is not waited for beyond the request timeout.
        if report.answered + tolerated_missing < report.known_peers {
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
