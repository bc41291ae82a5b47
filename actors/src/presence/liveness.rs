//! The `NodeLiveness` actor: this node's heartbeat and the list of its users in Redis, for the
//! survivors to announce them should this node die without a goodbye (SIGKILL, crash, power).
//!
//! The list mirrors the hub's users in memory and is written in one `MULTI` together with the
//! heartbeat: changes are written within [`FLUSH_DELAY`] (so a draining node's departures reach
//! Redis before it exits), everything is rewritten after a failed write, and when the registry
//! no longer knows this node (Redis restarted empty, or survivors reaped this node while it
//! was cut off) the heartbeat notices (`SADD` answers 1) and the full list is written again.
//! Every write is idempotent, so the shared connection may replay it after a reconnect.
//!
//! Every write ends with a [`Heartbeat`] published on the heartbeat channel (inside the same
//! `MULTI`): peers learn from it that this node lives, and re-read its user list when the
//! version changed. A rewrite of the whole list also deletes the `reaped` mark survivors may
//! have left while this node was cut off from Redis.

use super::heartbeat::{Heartbeat, ListChanges, MAX_CHANGES};
use super::keys::{alive_key, reaped_key, users_key, LiveUserEntry, NODE_REGISTRY_KEY};
use super::LivenessConfig;
use crate::hub::LocalPresence;
use crate::store::{RedisConnection, Replay};
use actix::prelude::*;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Presence changes are written this long after the first of them, together.
const FLUSH_DELAY: Duration = Duration::from_millis(50);
/// Fields per `HSET` when the whole list is rewritten.
const HSET_CHUNK: usize = 500;

pub struct NodeLiveness {
    instance: String,
    node_id: String,
    pub(super) conn: RedisConnection,
    config: LivenessConfig,
    /// Where heartbeats are published.
    channel: String,
    /// Version of the user list, bumped by every write that changes it.
    version: u64,
    /// userID → entry: every user with a local socket, as the hub reported them.
    users: HashMap<String, LiveUserEntry>,
    /// Users changed since the last successful write.
    dirty: HashSet<String>,
    /// The next write replaces the whole list (at start, after a failure, after the registry
    /// lost us).
    rewrite_all: bool,
    writing: bool,
    write_again: bool,
    flush_scheduled: bool,
    registered: bool,
    failing: bool,
    /// The node drained: no more heartbeats (`retire.rs`).
    pub(super) retired: bool,
}

impl NodeLiveness {
    pub fn new(
        instance: String,
        node_id: String,
        conn: RedisConnection,
        config: LivenessConfig,
        channel: String,
    ) -> NodeLiveness {
        NodeLiveness {
            instance,
            node_id,
            conn,
            config,
            channel,
            version: 0,
            users: HashMap::new(),
            dirty: HashSet::new(),
            rewrite_all: true,
            writing: false,
            write_again: false,
            flush_scheduled: false,
            registered: false,
            failing: false,
            retired: false,
        }
    }

    /// Heartbeat plus pending user changes, one write at a time.
    fn write(&mut self, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        if self.writing {
            self.write_again = true;
            return;
        }
        self.writing = true;
        let rewrite_all = std::mem::take(&mut self.rewrite_all);
        let dirty = std::mem::take(&mut self.dirty);
        if rewrite_all || !dirty.is_empty() {
            self.version += 1;
        }
        let pipeline = self.pipeline(rewrite_all, &dirty);
        let conn = self.conn.clone();
        ctx.spawn(
            async move {
                conn.query_pipeline::<Vec<i64>>(&pipeline, Replay::Safe)
                    .await
            }
            .into_actor(self)
            .map(move |result, act, ctx| {
                act.writing = false;
                match result {
                    Ok(replies) => {
                        if act.failing {
                            log::info!("liveness: heartbeat written again");
                            act.failing = false;
                        }
                        let newly_added = replies.first().copied() == Some(1);
                        if newly_added && act.registered && !rewrite_all {
                            log::warn!(
                                "liveness: the node registry lost {}; writing its user list again",
                                act.instance
                            );
                            act.rewrite_all = true;
                            act.write_again = true;
                        }
                        act.registered = true;
                    }
                    Err(e) => {
                        if !act.failing {
                            log::warn!("liveness: cannot write heartbeat: {e}");
                            act.failing = true;
                        }
                        // What was taken is lost with the failed transaction: rewrite all.
                        act.rewrite_all = true;
                    }
                }
                if std::mem::take(&mut act.write_again) {
                    act.write(ctx);
                }
            }),
        );
    }

    fn pipeline(&self, rewrite_all: bool, dirty: &HashSet<String>) -> redis::Pipeline {
        let users_key = users_key(&self.instance);
        let mut pipeline = redis::pipe();
        pipeline.atomic();
        pipeline
            .cmd("SET")
            .arg(alive_key(&self.instance))
            .arg(&self.node_id)
            .arg("PX")
            .arg(millis(self.config.heartbeat_ttl))
            .ignore();
        // The one reply kept: 1 when the registry did not know this node.
        pipeline
            .cmd("SADD")
            .arg(NODE_REGISTRY_KEY)
            .arg(&self.instance);
        if rewrite_all {
            pipeline.cmd("DEL").arg(&users_key).ignore();
            pipeline.cmd("DEL").arg(reaped_key(&self.instance)).ignore();
            let entries: Vec<(&String, String)> = self
                .users
                .iter()
                .map(|(id, entry)| (id, entry_json(entry)))
                .collect();
            for chunk in entries.chunks(HSET_CHUNK) {
                let hset = pipeline.cmd("HSET").arg(&users_key);
                for (id, json) in chunk {
                    hset.arg(*id).arg(json);
                }
                hset.ignore();
            }
        } else {
            for id in dirty {
                match self.users.get(id) {
                    Some(entry) => pipeline
                        .cmd("HSET")
                        .arg(&users_key)
                        .arg(id)
                        .arg(entry_json(entry))
                        .ignore(),
                    None => pipeline.cmd("HDEL").arg(&users_key).arg(id).ignore(),
                };
            }
        }
        pipeline
            .cmd("PEXPIRE")
            .arg(&users_key)
            .arg(millis(self.config.users_ttl))
            .ignore();
        let beat = Heartbeat {
            instance: self.instance.clone(),
            uid: self.node_id.clone(),
            version: self.version,
            users: self.users.len(),
            changes: (!rewrite_all && !dirty.is_empty() && dirty.len() <= MAX_CHANGES)
                .then(|| self.changes(dirty)),
        };
        // SPUBLISH on a cluster: the channel shares the hash slot of the keys above
        // (`keys.rs`), so the whole MULTI stays on one shard.
        pipeline
            .cmd(self.conn.publish_command())
            .arg(&self.channel)
            .arg(beat.encode())
            .ignore();
        pipeline
    }
}

impl NodeLiveness {
    /// The last write of a drained node: its pending user-list changes and a last heartbeat
    /// (departures decided during the drain must reach the list, or the survivors would
    /// announce those users again), then its `alive` key expires after `alive_for` (its list
    /// stays, for the survivors' reaper).
    pub(super) fn last_words(&mut self, alive_for: Duration) -> redis::Pipeline {
        let rewrite_all = std::mem::take(&mut self.rewrite_all);
        let dirty = std::mem::take(&mut self.dirty);
        if rewrite_all || !dirty.is_empty() {
            self.version += 1;
        }
        let mut pipeline = self.pipeline(rewrite_all, &dirty);
        let key = alive_key(&self.instance);
        if alive_for.is_zero() {
            pipeline.cmd("DEL").arg(key).ignore();
        } else {
            pipeline
                .cmd("PEXPIRE")
                .arg(key)
                .arg(millis(alive_for))
                .ignore();
        }
        pipeline
    }

    /// The change `dirty` made to the list, from the previous version to this one.
    fn changes(&self, dirty: &HashSet<String>) -> ListChanges {
        let mut changes = ListChanges {
            since: self.version - 1,
            set: HashMap::new(),
            removed: Vec::new(),
        };
        for id in dirty {
            match self.users.get(id) {
                Some(entry) => {
                    changes.set.insert(id.clone(), entry.clone());
                }
                None => changes.removed.push(id.clone()),
            }
        }
        changes
    }
}

fn entry_json(entry: &LiveUserEntry) -> String {
    // Serialising two strings cannot fail.
    serde_json::to_string(entry).unwrap_or_default()
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX).max(1)
}

impl Actor for NodeLiveness {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.write(ctx);
        ctx.run_interval(self.config.heartbeat_every, |act, ctx| act.write(ctx));
    }
}

impl Handler<LocalPresence> for NodeLiveness {
    type Result = ();

    fn handle(&mut self, msg: LocalPresence, ctx: &mut Context<Self>) {
        match msg {
            LocalPresence::Online {
                user_id,
                session_id,
                username,
            } => {
                self.users.insert(
                    user_id.clone(),
                    LiveUserEntry {
                        session_id,
                        username,
                    },
                );
                self.dirty.insert(user_id);
            }
            LocalPresence::Offline { user_id } => {
                self.users.remove(&user_id);
                self.dirty.insert(user_id);
            }
        }
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            ctx.run_later(FLUSH_DELAY, |act, ctx| {
                act.flush_scheduled = false;
                act.write(ctx);
            });
        }
    }
}
