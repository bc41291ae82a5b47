//! The bridge on a Redis Cluster: the format of `@socket.io/redis-adapter` 8.3's
//! `createShardedAdapter` (subscriptionMode `dynamic`) over sharded pub/sub, so that Node nodes
//! using it serve in the same cluster.
//!
//! # Channels (`<p>` = channel prefix)
//!
//! | channel          | content                                                               |
//! |------------------|-----------------------------------------------------------------------|
//! | `<p>#/#`         | every `ClusterAdapter` message: broadcasts to no or several rooms, `FETCH_SOCKETS` requests (type 7) |
//! | `<p>#/#<room>#`  | broadcasts to exactly that one room (not a 20-character socket id), subscribed while the room has a local socket |
//! | `<p>#/#<uid>#`   | answers to the requests of node `uid` (`FETCH_SOCKETS_RESPONSE`, type 8) |
//!
//! Messages are `{type, data, uid, nsp}` (`chat_protocol::cluster_message`). The number of
//! answers due to a request is `PUBSUB SHARDNUMSUB <p>#/#` minus ourselves.
//!
//! # Liveness on a cluster
//!
//! The liveness keys (`chat:nodes`, `chat:node:<instance>:…`) and the heartbeat channel are
//! written in one `MULTI`, which on a cluster must stay within one hash slot. So on a cluster
//! the instance id ends with [`LIVENESS_TAG`], `{chat:nodes}`: every `chat:node:<instance>:…`
//! key then hashes like `chat:nodes` itself, and so does the heartbeat channel
//! `chat:heartbeat:<p>{chat:nodes}`. The price: liveness lives on one shard. It is light (one
//! `MULTI` per node every 2 s, plus its users' arrivals and departures, batched).

use super::answers;
use super::channels::NAMESPACE;
use super::redis_bridge::undecodable;
use super::{Channels, PeerQuery, RedisBridge};
use crate::hub::{OutboundEvent, RemoteBroadcast};
use crate::metrics::METRICS;
use actix::prelude::*;
use chat_protocol::adapter::{BroadcastOpts, BroadcastPacket, Request, Response};
use chat_protocol::cluster_message::{
    decode_cluster_message, encode_cluster_message, Body, ClusterMessage,
};
use std::sync::Arc;

/// Hash tag of the liveness keys and heartbeat channel on a cluster (see the module doc).
pub const LIVENESS_TAG: &str = "{chat:nodes}";

/// `<p>#/#<uid>#`: where node `uid` receives answers.
pub fn response_channel(channels: &Channels, uid: &str) -> String {
    format!("{}{uid}#", channels.broadcast)
}

/// Node's `looksLikeASocketId`: a broadcast to such a room goes to `<p>#/#`, as nobody
/// subscribes a socket's own room.
fn looks_like_a_socket_id(room: &str) -> bool {
    room.chars().count() == 20
}

/// Our `FETCH_SOCKETS` for `query` (both kinds of query read the sockets' ids and rooms).
pub fn encode_request(uid: &str, request_id: &str, query: &PeerQuery) -> Vec<u8> {
    let rooms = match query {
        PeerQuery::SocketIds { rooms } | PeerQuery::SocketRooms { rooms } => rooms.clone(),
    };
    encode_cluster_message(&ClusterMessage {
        uid: uid.to_owned(),
        nsp: NAMESPACE.to_owned(),
        body: Body::FetchSockets {
            request_id: request_id.to_owned(),
            opts: BroadcastOpts {
                rooms,
                ..BroadcastOpts::default()
            },
        },
    })
}

impl RedisBridge {
    /// Where requests go and are counted: `<p>-request#/#`, or `<p>#/#` on a cluster.
    pub(super) fn request_channel(&self) -> &str {
        if self.sharded {
            &self.channels.broadcast
        } else {
            &self.channels.request
        }
    }

    /// Publishes a hub broadcast as the sharded adapter does (`computeChannel`).
    pub(super) fn publish_sharded(
        &mut self,
        event: Arc<OutboundEvent>,
        rooms: Vec<String>,
        except: Vec<String>,
    ) {
        let channel = match rooms.as_slice() {
            [room] if !looks_like_a_socket_id(room) => self.channels.broadcast_to(&rooms),
            _ => self.channels.broadcast.clone(),
        };
        let message = ClusterMessage {
            uid: self.uid.clone(),
            nsp: NAMESPACE.to_owned(),
            body: Body::Broadcast {
                packet: BroadcastPacket {
                    kind: 2,
                    data: event.data.clone(),
                    attachments: event.attachments.clone(),
                    nsp: NAMESPACE.to_owned(),
                },
                opts: BroadcastOpts {
                    rooms,
                    except,
                    flags: serde_json::Map::new(),
                },
                request_id: None,
            },
        };
        self.publisher
            .publish(channel, encode_cluster_message(&message));
    }

    /// One message received on a sharded channel other than our heartbeats. What cannot be
    /// decoded, or belongs to another namespace, is counted and dropped.
    pub(super) fn on_cluster_message(
        &mut self,
        channel: &str,
        payload: &[u8],
        ctx: &mut Context<Self>,
    ) {
        let message = match decode_cluster_message(payload) {
            Ok(message) => message,
            Err(e) => return undecodable("cluster message", &e),
        };
        if message.uid == self.uid {
            return;
        }
        if message.nsp != NAMESPACE {
            METRICS.error("bridge_foreign_namespace");
            return log::debug!("bridge: dropping a message of namespace {:?}", message.nsp);
        }
        match message.body {
            Body::Broadcast {
                packet,
                opts,
                request_id,
            } => {
                if request_id.is_some() || packet.nsp != NAMESPACE {
                    // A broadcast awaiting client acks (the chat sends none), or a packet of
                    // another namespace inside ours: not ours to deliver.
                    METRICS.error("bridge_foreign_namespace");
                    return;
                }
                METRICS.bridge_messages.with_label_values(&["in"]).inc();
                METRICS.broadcasts.with_label_values(&["remote"]).inc();
                self.hub.do_send(RemoteBroadcast {
                    rooms: opts.rooms,
                    except: opts.except,
                    event: OutboundEvent::from_data(packet.data, packet.attachments),
                });
            }
            Body::FetchSockets { request_id, opts } => {
                METRICS.bridge_messages.with_label_values(&["in"]).inc();
                self.answer_fetch(message.uid, request_id, opts, ctx);
            }
            Body::FetchSocketsResponse {
                request_id,
                sockets,
            } => {
                if channel != self.own_channel {
                    return;
                }
                let response = Response::FetchedSockets {
                    request_id,
                    sockets,
                };
                if self.pending.answer(response) {
                    METRICS.bridge_messages.with_label_values(&["in"]).inc();
                }
            }
            Body::Other { kind } => {
                log::debug!("bridge: ignoring a cluster message of type {kind}");
            }
        }
    }

    /// Answers a `FETCH_SOCKETS` of node `asker` on its channel, as Node's adapter does.
    fn answer_fetch(
        &mut self,
        asker: String,
        request_id: String,
        opts: BroadcastOpts,
        ctx: &mut Context<Self>,
    ) {
        let request = Request::FetchSockets {
            uid: asker.clone(),
            request_id,
            rooms: opts.rooms,
            except: opts.except,
        };
        let Some(answer) = answers::answer(request, self.hub.clone()) else {
            return;
        };
        let publisher = self.publisher.clone();
        let channel = response_channel(&self.channels, &asker);
        let uid = self.uid.clone();
        ctx.spawn(
            async move {
                match answer.await {
                    Ok(Response::FetchedSockets {
                        request_id,
                        sockets,
                    }) => {
                        let message = ClusterMessage {
                            uid,
                            nsp: NAMESPACE.to_owned(),
                            body: Body::FetchSocketsResponse {
                                request_id,
                                sockets,
                            },
                        };
                        publisher.publish(channel, encode_cluster_message(&message));
                    }
                    Ok(_) => {}
                    Err(e) => log::debug!("bridge: hub gone, request unanswered: {e}"),
                }
            }
            .into_actor(self),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_the_sharded_adapters() {
        let channels = Channels::new("socket.io");
        assert_eq!(response_channel(&channels, "n1"), "socket.io#/#n1#");
        assert!(looks_like_a_socket_id("abcdefghij0123456789"));
        assert!(!looks_like_a_socket_id("0123456789abcdef"));
    }
}
