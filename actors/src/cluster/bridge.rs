//! The `RedisBridge` actor: this node's window on the other nodes, in whichever
//! [`WireFormat`] the cluster speaks.
//!
//! Out: every broadcast of the hub is published ([`Publish`]). In: broadcasts of other nodes
//! are handed to this node ([`LocalNode`]) for its local sockets; requests are answered;
//! responses complete our requests ([`AskPeers`]). Nothing received can panic the node:
//! undecodable messages are counted (`chat_errors_total{kind="bridge_decode"}`) and dropped.

use super::answers;
use super::channels::Channels;
use super::publisher::Publisher;
use super::requests::PendingRequests;
use super::room_subscriptions::SubscriptionMode;
use super::wire::{Publication, Received, WireFormat};
use super::{
    AskPeers, BridgeStatus, CatchUp, Inbound, LocalNode, NodesHolding, PeerQuery, PeerReport,
    Publish, StatusReport, SubscriptionChanged,
};
use crate::metrics::METRICS;
use crate::store::{RedisConnection, Replay};
use actix::prelude::*;
use chat_protocol::adapter::Request;
use std::time::Duration;

pub struct RedisBridge {
    uid: String,
    wire: Box<dyn WireFormat>,
    local: Box<dyn LocalNode>,
    channels: Channels,
    conn: RedisConnection,
    publisher: Publisher,
    pending: PendingRequests,
    request_timeout: Duration,
    subscribed: bool,
    subscriptions: u64,
    mode: SubscriptionMode,
}

impl RedisBridge {
    pub(super) fn new(
        uid: &str,
        wire: Box<dyn WireFormat>,
        local: Box<dyn LocalNode>,
        conn: RedisConnection,
        (channels, mode): (Channels, SubscriptionMode),
        request_timeout: Duration,
    ) -> Self {
        RedisBridge {
            uid: uid.to_owned(),
            wire,
            local,
            channels,
            publisher: Publisher::start(conn.clone()),
            conn,
            pending: PendingRequests::default(),
            request_timeout,
            subscribed: false,
            subscriptions: 0,
            mode,
        }
    }

    fn on_request(&mut self, request: Request, ctx: &mut Context<Self>) {
        let (uid, request_id) = answers::origin(&request);
        let own = uid == Some(self.uid.as_str())
            || request_id.is_some_and(|id| self.pending.contains(id));
        if own {
            return;
        }
        let asker = uid.unwrap_or_default().to_owned();
        METRICS.bridge_messages.with_label_values(&["in"]).inc();
        let Some(answer) = answers::answer(request, self.local.as_ref()) else {
            log::debug!("bridge: ignoring a request of a type we do not answer");
            return;
        };
        ctx.spawn(answer.into_actor(self).map(move |response, act, _| {
            let Some(response) = response else {
                return log::debug!("bridge: node shutting down, request unanswered");
            };
            if let Some(Publication { channel, payload }) = act.wire.response(&asker, response) {
                act.publisher.publish(channel, payload);
            }
        }));
    }

    /// Sends `query` to every other node and collects their answers (see `requests.rs`).
    fn ask_peers(
        &mut self,
        query: PeerQuery,
        known: usize,
    ) -> ResponseActFuture<Self, Option<PeerReport>> {
        if !self.subscribed {
            // Answers could not reach us: do not even ask.
            return Box::pin(actix::fut::ready(None));
        }
        let conn = self.conn.clone();
        let request_channel = self.wire.request_channel().to_owned();
        let counted = async move { subscribers_of(&conn, &request_channel).await };
        Box::pin(counted.into_actor(self).then(move |numsub, act, _| {
            let subscribers = match numsub {
                Ok(n) => n,
                Err(e) => {
                    log::debug!("bridge: cannot count nodes: {e}");
                    return Box::pin(actix::fut::ready(None)) as ResponseActFuture<Self, _>;
                }
            };
            // Our heartbeating peers are due to answer even if they are not subscribed yet
            // (Redis just restarted); the NUMSUB surplus is Node nodes or operators' clients.
            let expected = subscribers.saturating_sub(1).max(known);
            if expected == 0 {
                return Box::pin(actix::fut::ready(Some(PeerReport::default())));
            }
            let request_id = crate::ids::random_hex(8);
            let Publication { channel, payload } = act.wire.request(&request_id, &query);
            let answers = act.pending.register(&request_id, expected, known);
            if matches!(query, PeerQuery::SocketDetails { .. }) {
                act.pending.keep_details(&request_id);
            }
            let conn = act.conn.clone();
            let mut publish = redis::cmd(conn.publish_command());
            publish.arg(channel).arg(payload);
            let timeout = act.request_timeout;
            let wait = async move {
                if let Err(e) = conn.query::<()>(&publish, Replay::OnlyIfUnsent).await {
                    log::debug!("bridge: cannot publish a request: {e}");
                    return Asked::NotSent;
                }
                METRICS.bridge_messages.with_label_values(&["out"]).inc();
                match tokio::time::timeout(timeout, answers).await {
                    Ok(Ok(report)) => Asked::Answered(report),
                    _ => Asked::TimedOut,
                }
            };
            Box::pin(wait.into_actor(act).map(move |outcome, act, _| {
                let partial = act.pending.give_up(&request_id);
                match outcome {
                    Asked::Answered(report) => Some(report),
                    // What arrived, with its missing count: the caller decides what "unknown" means.
                    Asked::TimedOut => partial,
                    // Nobody was asked: not even a partial answer.
                    Asked::NotSent => None,
                }
            }))
        }))
    }
}

/// How many clients are subscribed to `channel` (`PUBSUB NUMSUB`, or `SHARDNUMSUB` summed
/// over the cluster's nodes).
async fn subscribers_of(
    conn: &RedisConnection,
    channel: &str,
) -> Result<usize, crate::store::StoreError> {
    let mut numsub = redis::cmd("PUBSUB");
    numsub.arg(conn.numsub_subcommand()).arg(channel);
    let counts: std::collections::HashMap<String, usize> =
        conn.query(&numsub, Replay::Safe).await?;
    Ok(counts.get(channel).copied().unwrap_or(0))
}

/// How a request went.
enum Asked {
    Answered(PeerReport),
    TimedOut,
    NotSent,
}

impl Actor for RedisBridge {
    type Context = Context<Self>;
}

impl Handler<Publish> for RedisBridge {
    type Result = ();

    /// Publishes a hub broadcast exactly as Node's adapter would.
    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) {
        let Publication { channel, payload } =
            self.wire
                .broadcast(distinct(msg.rooms), distinct(msg.except), &msg.event);
        self.publisher.publish(channel, payload);
    }
}

/// Node sends rooms as `[...new Set(rooms)]`: first occurrence order, no duplicates.
fn distinct(mut rooms: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(rooms.len());
    rooms.retain(|room| seen.insert(room.clone()));
    rooms
}

impl Handler<AskPeers> for RedisBridge {
    type Result = ResponseActFuture<Self, Option<PeerReport>>;
    fn handle(&mut self, msg: AskPeers, _: &mut Context<Self>) -> Self::Result {
        self.ask_peers(msg.query, msg.known_peers)
    }
}

impl Handler<Inbound> for RedisBridge {
    type Result = ();
    fn handle(&mut self, msg: Inbound, ctx: &mut Context<Self>) {
        let received = match self.wire.decode(&msg.channel, &msg.payload) {
            Ok(received) => received,
            Err(undecodable) => {
                METRICS.error("bridge_decode");
                return log::debug!(
                    "bridge: dropping an undecodable {}: {}",
                    undecodable.what,
                    undecodable.error
                );
            }
        };
        match received {
            Received::Broadcast {
                rooms,
                except,
                event,
            } => {
                METRICS.bridge_messages.with_label_values(&["in"]).inc();
                METRICS.broadcasts.with_label_values(&["remote"]).inc();
                self.local.deliver(rooms, except, event);
            }
            // The adapter's remote join, leave and disconnect (requests 2, 3, 4): for the
            // node, which applies them when it has an admin namespace.
            Received::Request(Request::Other {
                kind: 2..=4, uid, ..
            }) if uid.as_deref() != Some(self.uid.as_str()) => {
                METRICS.bridge_messages.with_label_values(&["in"]).inc();
                self.local.remote_command(&msg.payload);
            }
            Received::Request(request) => self.on_request(request, ctx),
            Received::Response(response) => {
                if self.pending.answer(response) {
                    METRICS.bridge_messages.with_label_values(&["in"]).inc();
                }
            }
            Received::Ignored(Some(kind)) => METRICS.error(kind),
            Received::Ignored(None) => {}
        }
    }
}

impl Handler<CatchUp> for RedisBridge {
    type Result = ();
    fn handle(&mut self, msg: CatchUp, _: &mut Context<Self>) {
        self.local.catch_up(msg.rooms, msg.since_ms);
    }
}

impl Handler<SubscriptionChanged> for RedisBridge {
    type Result = ();
    fn handle(&mut self, msg: SubscriptionChanged, _: &mut Context<Self>) {
        self.subscribed = msg.0;
        if msg.0 {
            self.subscriptions += 1;
        }
    }
}

impl Handler<NodesHolding> for RedisBridge {
    type Result = ResponseFuture<Option<usize>>;
    fn handle(&mut self, msg: NodesHolding, _: &mut Context<Self>) -> Self::Result {
        if self.mode != SubscriptionMode::Rooms {
            return Box::pin(async { None });
        }
        let conn = self.conn.clone();
        let channel = self.channels.broadcast_to(&[msg.room]);
        Box::pin(async move { subscribers_of(&conn, &channel).await.ok() })
    }
}

impl Handler<BridgeStatus> for RedisBridge {
    type Result = StatusReport;
    fn handle(&mut self, _: BridgeStatus, _: &mut Context<Self>) -> StatusReport {
        StatusReport {
            subscribed: self.subscribed,
            subscriptions: self.subscriptions,
            pending_requests: self.pending.len(),
        }
    }
}
