//! The `Membership` actor: what this node knows of its peers, from their heartbeats alone
//! ([`PeerTable`]). Heartbeats heard on the heartbeat channel come to it straight from the
//! cluster's subscriber, a peer's user list is read when its version changes, and when this
//! node's own subscription comes back after a loss longer than the others tolerate (they took
//! it for dead and announced its users) its local users are announced `user connected` again.

use super::heartbeat::Heartbeat;
use super::keys::{users_key, LiveUserEntry};
use super::peers::PeerTable;
use super::reconcile::ReannounceLocalUsers;
use super::LivenessConfig;
use crate::cluster::{Inbound, SubscriptionChanged};
use crate::hub::ChatHub;
use crate::metrics::METRICS;
use crate::store::{RedisConnection, Replay};
use actix::prelude::*;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// For the reaper: peers silent for a whole heartbeat TTL, with the users they held.
#[derive(Message, Debug)]
#[rtype(result = "Vec<(String, HashMap<String, LiveUserEntry>)>")]
pub struct SilentPeers;

/// For presence decisions: every live peer, with which of `user_ids` its last read user list
/// held.
#[derive(Message, Debug)]
#[rtype(result = "Vec<(String, HashSet<String>)>")]
pub struct LivePeers {
    pub user_ids: Vec<String>,
}

/// A peer was reaped: forget it (its next heartbeat, if any, brings it back).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct ForgetPeer(pub String);

/// The node ids (`uid`s) of the live peers, sorted (for `/health`).
#[derive(Message, Debug)]
#[rtype(result = "Vec<String>")]
pub struct LivePeerIds;

pub struct Membership {
    peers: PeerTable,
    conn: RedisConnection,
    hub: Addr<ChatHub>,
    liveness: LivenessConfig,
}

/// For each live peer's node id, how many users its last read user list held (for `/health`).
#[derive(Message, Debug)]
#[rtype(result = "Vec<(String, usize)>")]
pub struct LivePeerUserCounts;

impl Membership {
    /// The membership of instance `me`, re-announcing `hub`'s users after a long cut-off.
    pub fn new(
        me: &str,
        conn: RedisConnection,
        hub: Addr<ChatHub>,
        liveness: LivenessConfig,
    ) -> Membership {
        Membership {
            peers: PeerTable::new(me, liveness.heartbeat_ttl, liveness.heartbeat_every),
            conn,
            hub,
            liveness,
        }
    }

    fn on_heartbeat(&mut self, payload: &[u8], ctx: &mut Context<Self>) {
        let beat = match Heartbeat::decode(payload) {
            Ok(beat) => beat,
            Err(e) => {
                METRICS.error("bridge_heartbeat_decode");
                log::debug!("bridge: dropping an undecodable heartbeat: {e}");
                return;
            }
        };
        if self.peers.heard(&beat, Instant::now()) {
            self.read_users(beat.instance, beat.version, ctx);
        }
    }

    fn read_users(&mut self, instance: String, version: u64, ctx: &mut Context<Self>) {
        let conn = self.conn.clone();
        let mut read = redis::cmd("HGETALL");
        read.arg(users_key(&instance));
        ctx.spawn(
            async move {
                conn.query::<HashMap<String, String>>(&read, Replay::Safe)
                    .await
            }
            .into_actor(self)
            .map(move |result, act, _| {
                let users = match result {
                    Ok(raw) => Some(
                        raw.into_iter()
                            .filter_map(|(id, json)| {
                                serde_json::from_str::<LiveUserEntry>(&json)
                                    .ok()
                                    .map(|entry| (id, entry))
                            })
                            .collect(),
                    ),
                    Err(e) => {
                        log::debug!("bridge: cannot read the users of {instance}: {e}");
                        None
                    }
                };
                act.peers.fetched(&instance, version, users);
            }),
        );
    }
}

impl Actor for Membership {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Lists whose reading was deferred by the refresh period are read on this timer.
        ctx.run_interval(self.liveness.heartbeat_every, |act, ctx| {
            for (instance, version) in act.peers.due_refreshes(Instant::now()) {
                act.read_users(instance, version, ctx);
            }
        });
    }
}

impl Handler<Inbound> for Membership {
    type Result = ();
    fn handle(&mut self, msg: Inbound, ctx: &mut Context<Self>) {
        self.on_heartbeat(&msg.payload, ctx);
    }
}

impl Handler<SubscriptionChanged> for Membership {
    type Result = ();

    /// Our pub/sub connection came up or went down.
    fn handle(&mut self, msg: SubscriptionChanged, _: &mut Context<Self>) {
        // A quarter below the others' bound: when in doubt, announce (a `user connected` for
        // a user who is online is true; a ghost left offline is not).
        let bound = self.liveness.heartbeat_ttl * 3 / 4;
        if let Some(lost_for) = self.peers.subscription(msg.0, Instant::now()) {
            if lost_for >= bound {
                log::warn!(
                    "bridge: cut off from redis for {lost_for:?} (over {bound:?}): the other \
                     nodes may have announced our users gone; announcing them again"
                );
                self.hub.do_send(ReannounceLocalUsers);
            }
        }
    }
}

impl Handler<SilentPeers> for Membership {
    type Result = Vec<(String, HashMap<String, LiveUserEntry>)>;
    fn handle(&mut self, _: SilentPeers, _: &mut Context<Self>) -> Self::Result {
        self.peers.silent(Instant::now())
    }
}

impl Handler<LivePeers> for Membership {
    type Result = Vec<(String, HashSet<String>)>;
    fn handle(&mut self, msg: LivePeers, _: &mut Context<Self>) -> Self::Result {
        self.peers
            .live(Instant::now())
            .into_iter()
            .map(|instance| {
                let held = self
                    .peers
                    .users_of(&instance)
                    .map(|users| {
                        msg.user_ids
                            .iter()
                            .filter(|id| users.contains_key(*id))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                (instance, held)
            })
            .collect()
    }
}

impl Handler<ForgetPeer> for Membership {
    type Result = ();
    fn handle(&mut self, msg: ForgetPeer, _: &mut Context<Self>) {
        self.peers.forget(&msg.0);
    }
}

impl Handler<LivePeerIds> for Membership {
    type Result = Vec<String>;
    fn handle(&mut self, _: LivePeerIds, _: &mut Context<Self>) -> Vec<String> {
        self.peers.live_uids(Instant::now())
    }
}

impl Handler<LivePeerUserCounts> for Membership {
    type Result = Vec<(String, usize)>;
    fn handle(&mut self, _: LivePeerUserCounts, _: &mut Context<Self>) -> Self::Result {
        self.peers.live_user_counts(Instant::now())
    }
}
