//! The `RedisBridge` actor: the hub's window on the other nodes.
//!
//! Out: every hub broadcast is published in Node's format. In: broadcasts of other nodes are
//! handed to the hub for its local sockets; requests are answered; responses complete our
//! requests. Nothing received can panic the node: undecodable messages are counted
//! (`chat_errors_total{kind="bridge_decode"}`) and dropped.

use super::answers;
use super::channels::{ChannelKind, NAMESPACE};
use super::messages::{NodesHolding, SubscriptionChanged};
use super::peers::PeerTable;
use super::publisher::Publisher;
use super::requests::{build_request, PendingRequests};
use super::room_subscriptions::SubscriptionMode;
use super::{
    AskPeers, BridgeConfig, BridgeStatus, Channels, Inbound, LivenessConfig, PeerQuery, PeerReport,
    StatusReport,
};
use crate::hub::{Broadcast, ChatHub, OutboundEvent, RemoteBroadcast};
use crate::metrics::METRICS;
use crate::store::{RedisConnection, Replay};
use actix::prelude::*;
use chat_protocol::adapter::{
    decode_broadcast, decode_request, decode_response, encode_broadcast, encode_request,
    encode_response, Broadcast as WireBroadcast, BroadcastOpts, BroadcastPacket,
};
use std::time::{Duration, Instant};

pub struct RedisBridge {
    pub(super) uid: String,
    /// How our own broadcasts begin on the wire (see [`own_prefix`]).
    own_prefix: Vec<u8>,
    pub(super) channels: Channels,
    pub(super) hub: Addr<ChatHub>,
    pub(super) conn: RedisConnection,
    /// The other nodes of ours, from their heartbeats (`peers.rs`, `membership.rs`).
    pub(super) peers: PeerTable,
    pub(super) heartbeat_channel: String,
    pub(super) liveness: LivenessConfig,
    pub(super) publisher: Publisher,
    pub(super) pending: PendingRequests,
    request_timeout: Duration,
    subscribed: bool,
    subscriptions: u64,
    mode: SubscriptionMode,
    /// On a Redis Cluster: the sharded adapter's messages (`sharded.rs`) instead of the
    /// classic format.
    pub(super) sharded: bool,
    /// `<p>#/#<uid>#`: where answers to our requests come, on a cluster.
    pub(super) own_channel: String,
}

impl RedisBridge {
    pub(super) fn new(
        config: &BridgeConfig,
        instance: &str,
        hub: Addr<ChatHub>,
        conn: RedisConnection,
    ) -> Self {
        RedisBridge {
            uid: config.node_id.clone(),
            own_prefix: own_prefix(&config.node_id),
            channels: Channels::new(&config.channel_prefix),
            hub,
            peers: PeerTable::new(
                instance,
                config.liveness.heartbeat_ttl,
                config.liveness.heartbeat_every,
            ),
            heartbeat_channel: config.heartbeat_channel(),
            liveness: config.liveness,
            publisher: Publisher::start(conn.clone()),
            conn,
            pending: PendingRequests::default(),
            request_timeout: config.request_timeout,
            subscribed: false,
            subscriptions: 0,
            mode: if config.is_sharded() {
                SubscriptionMode::Rooms
            } else {
                config.subscription_mode
            },
            sharded: config.is_sharded(),
            own_channel: super::sharded::response_channel(
                &Channels::new(&config.channel_prefix),
                &config.node_id,
            ),
        }
    }

    fn on_broadcast(&mut self, payload: &[u8]) {
        if payload.starts_with(&self.own_prefix) {
            // Redis hands our own broadcasts back (the sender's room is subscribed here too):
            // skip them before decoding.
            return;
        }
        let broadcast = match decode_broadcast(payload) {
            Ok(broadcast) => broadcast,
            Err(e) => return undecodable("broadcast", &e),
        };
        if broadcast.uid == self.uid || broadcast.packet.nsp != NAMESPACE {
            return;
        }
        METRICS.bridge_messages.with_label_values(&["in"]).inc();
        METRICS.broadcasts.with_label_values(&["remote"]).inc();
        let WireBroadcast { packet, opts, .. } = broadcast;
        self.hub.do_send(RemoteBroadcast {
            rooms: opts.rooms,
            except: opts.except,
            event: OutboundEvent::from_data(packet.data, packet.attachments),
        });
    }

    fn on_request(&mut self, payload: &[u8], ctx: &mut Context<Self>) {
        let request = match decode_request(payload) {
            Ok(request) => request,
            Err(e) => return undecodable("request", &e),
        };
        let (uid, request_id) = answers::origin(&request);
        let own = uid == Some(self.uid.as_str())
            || request_id.is_some_and(|id| self.pending.contains(id));
        if own {
            return;
        }
        METRICS.bridge_messages.with_label_values(&["in"]).inc();
        let Some(answer) = answers::answer(request, self.hub.clone()) else {
            log::debug!("bridge: ignoring a request of a type we do not answer");
            return;
        };
        let publisher = self.publisher.clone();
        let channel = self.channels.response.clone();
        ctx.spawn(
            async move {
                match answer.await {
                    Ok(response) => {
                        publisher.publish(channel, encode_response(&response).into_bytes())
                    }
                    Err(e) => log::debug!("bridge: hub gone, request unanswered: {e}"),
                }
            }
            .into_actor(self),
        );
    }

    fn on_response(&mut self, payload: &[u8]) {
        match decode_response(payload) {
            Ok(response) => {
                if self.pending.answer(response) {
                    METRICS.bridge_messages.with_label_values(&["in"]).inc();
                }
            }
            Err(e) => undecodable("response", &e),
        }
    }

    /// Sends `query` to every other node and collects their answers (see `requests.rs`).
    fn ask_peers(&mut self, query: PeerQuery) -> ResponseActFuture<Self, Option<PeerReport>> {
        if !self.subscribed {
            // Answers could not reach us: do not even ask.
            return Box::pin(actix::fut::ready(None));
        }
        let conn = self.conn.clone();
        let request_channel = self.request_channel().to_owned();
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
            let known = act.peers.live(Instant::now()).len();
            let expected = subscribers.saturating_sub(1).max(known);
            if expected == 0 {
                return Box::pin(actix::fut::ready(Some(PeerReport::default())));
            }
            let request_id = crate::engine::random_hex(8);
            let request = if act.sharded {
                super::sharded::encode_request(&act.uid, &request_id, &query)
            } else {
                encode_request(&build_request(&act.uid, &request_id, &query)).into_bytes()
            };
            let answers = act.pending.register(&request_id, expected, known);
            let conn = act.conn.clone();
            let mut publish = redis::cmd(conn.publish_command());
            publish.arg(act.request_channel()).arg(request);
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

/// The first bytes of a broadcast of ours, as any msgpack encoder writes them: a 3-element
/// array (`0x93`), then `uid` as a minimal-length string. A payload starting with them has our
/// uid as its first element, which [`RedisBridge::on_broadcast`] would ignore after decoding.
fn own_prefix(uid: &str) -> Vec<u8> {
    let len = uid.len();
    let mut prefix = vec![0x93];
    match len {
        0..=31 => prefix.push(0xa0 | len as u8),
        32..=255 => prefix.extend([0xd9, len as u8]),
        _ => prefix.extend([0xda, (len >> 8) as u8, len as u8]),
    }
    prefix.extend_from_slice(uid.as_bytes());
    prefix
}

/// How a request went.
enum Asked {
    Answered(PeerReport),
    TimedOut,
    NotSent,
}

pub(super) fn undecodable(what: &str, error: &chat_protocol::DecodeError) {
    METRICS.error("bridge_decode");
    log::debug!("bridge: dropping an undecodable {what}: {error}");
}

impl Actor for RedisBridge {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.start_membership(ctx);
    }
}

impl Handler<Broadcast> for RedisBridge {
    type Result = ();

    /// Publishes a hub broadcast exactly as Node's adapter would.
    fn handle(&mut self, msg: Broadcast, _: &mut Context<Self>) {
        let rooms = distinct(msg.rooms);
        if self.sharded {
            return self.publish_sharded(msg.event, rooms, distinct(msg.except));
        }
        let channel = self.channels.broadcast_to(&rooms);
        let wire = WireBroadcast {
            uid: self.uid.clone(),
            packet: BroadcastPacket {
                kind: 2,
                data: msg.event.data.clone(),
                attachments: msg.event.attachments.clone(),
                nsp: NAMESPACE.to_owned(),
            },
            opts: BroadcastOpts {
                rooms,
                except: distinct(msg.except),
                flags: serde_json::Map::new(),
            },
        };
        self.publisher.publish(channel, encode_broadcast(&wire));
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
        self.ask_peers(msg.0)
    }
}

impl Handler<Inbound> for RedisBridge {
    type Result = ();
    fn handle(&mut self, msg: Inbound, ctx: &mut Context<Self>) {
        if msg.channel == self.heartbeat_channel {
            return self.on_heartbeat(&msg.payload, ctx);
        }
        if self.sharded {
            return self.on_cluster_message(&msg.channel, &msg.payload, ctx);
        }
        match self.channels.classify(&msg.channel) {
            ChannelKind::Broadcast => self.on_broadcast(&msg.payload),
            ChannelKind::Request => self.on_request(&msg.payload, ctx),
            ChannelKind::Response => self.on_response(&msg.payload),
            ChannelKind::Foreign => log::debug!("bridge: ignoring channel {}", msg.channel),
        }
    }
}

impl Handler<SubscriptionChanged> for RedisBridge {
    type Result = ();
    fn handle(&mut self, msg: SubscriptionChanged, _: &mut Context<Self>) {
        self.on_subscription(msg.0);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_prefix_matches_the_encoder() {
        for uid in ["n1", &"x".repeat(40), &"y".repeat(300)] {
            let wire = encode_broadcast(&WireBroadcast {
                uid: uid.to_owned(),
                packet: BroadcastPacket {
                    kind: 2,
                    data: serde_json::json!(["e"]),
                    attachments: Vec::new(),
                    nsp: NAMESPACE.to_owned(),
                },
                opts: BroadcastOpts::default(),
            });
            assert!(
                wire.starts_with(&own_prefix(uid)),
                "uid of {} bytes",
                uid.len()
            );
            assert!(!wire.starts_with(&own_prefix("n")));
        }
    }
}
