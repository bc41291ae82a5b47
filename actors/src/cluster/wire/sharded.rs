//! The format of `@socket.io/redis-adapter` 8.3's `createShardedAdapter` (subscriptionMode
//! `dynamic`) over sharded pub/sub, on a Redis Cluster, so that Node nodes using it serve in the
//! same cluster:
//!
//! | channel | content |
//! |---|---|
//! | `<p>#/#` | every `ClusterAdapter` message: broadcasts to no or several rooms, `FETCH_SOCKETS` requests (type 7) |
//! | `<p>#/#<room>#` | broadcasts to exactly that one room (not a 20-character socket id), subscribed while the room has a local socket |
//! | `<p>#/#<uid>#` | answers to the requests of node `uid` (`FETCH_SOCKETS_RESPONSE`, type 8) |
//!
//! Messages are `{type, data, uid, nsp}` (`chat_protocol::cluster_message`). The number of
//! answers due to a request is `PUBSUB SHARDNUMSUB <p>#/#` minus ourselves.

use super::{Publication, Received, Undecodable, WireFormat};
use crate::cluster::channels::{Channels, NAMESPACE};
use crate::cluster::PeerQuery;
use crate::event::OutboundEvent;
use chat_protocol::adapter::{BroadcastOpts, BroadcastPacket, Request, Response};
use chat_protocol::cluster_message::{
    decode_cluster_message, encode_cluster_message, Body, ClusterMessage,
};

/// The sharded format of node `uid`.
pub struct Sharded {
    uid: String,
    channels: Channels,
    /// `<p>#/#<uid>#`: where answers to our requests come.
    own_channel: String,
}

impl Sharded {
    pub fn new(uid: &str, channels: Channels) -> Sharded {
        Sharded {
            own_channel: response_channel(&channels, uid),
            uid: uid.to_owned(),
            channels,
        }
    }

    fn message(&self, body: Body) -> Vec<u8> {
        encode_cluster_message(&ClusterMessage {
            uid: self.uid.clone(),
            nsp: NAMESPACE.to_owned(),
            body,
        })
    }
}

/// `<p>#/#<uid>#`: where node `uid` receives answers.
pub fn response_channel(channels: &Channels, uid: &str) -> String {
    format!("{}{uid}#", channels.broadcast)
}

/// Node's `looksLikeASocketId`: a broadcast to such a room goes to `<p>#/#`, as nobody
/// subscribes a socket's own room.
fn looks_like_a_socket_id(room: &str) -> bool {
    room.chars().count() == 20
}

impl WireFormat for Sharded {
    /// As the sharded adapter's `computeChannel` does.
    fn broadcast(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
        event: &OutboundEvent,
    ) -> Publication {
        let channel = match rooms.as_slice() {
            [room] if !looks_like_a_socket_id(room) => self.channels.broadcast_to(&rooms),
            _ => self.channels.broadcast.clone(),
        };
        let payload = self.message(Body::Broadcast {
            packet: BroadcastPacket {
                kind: 2,
                data: event.data().clone(),
                attachments: event.attachments.clone(),
                nsp: NAMESPACE.to_owned(),
            },
            opts: BroadcastOpts {
                rooms,
                except,
                flags: serde_json::Map::new(),
            },
            request_id: None,
        });
        Publication { channel, payload }
    }

    fn decode(&self, channel: &str, payload: &[u8]) -> Result<Received, Undecodable> {
        let message = decode_cluster_message(payload).map_err(|error| Undecodable {
            what: "cluster message",
            error,
        })?;
        if message.uid == self.uid {
            return Ok(Received::Ignored(None));
        }
        if message.nsp != NAMESPACE {
            log::debug!("bridge: dropping a message of namespace {:?}", message.nsp);
            return Ok(Received::Ignored(Some("bridge_foreign_namespace")));
        }
        Ok(match message.body {
            Body::Broadcast {
                packet,
                opts,
                request_id,
            } => {
                if request_id.is_some() || packet.nsp != NAMESPACE {
                    // A broadcast awaiting client acks (the chat sends none), or a packet of
                    // another namespace inside ours: not ours to deliver.
                    return Ok(Received::Ignored(Some("bridge_foreign_namespace")));
                }
                Received::Broadcast {
                    rooms: opts.rooms,
                    except: opts.except,
                    event: OutboundEvent::from_data(packet.data, packet.attachments),
                }
            }
            Body::FetchSockets { request_id, opts } => Received::Request(Request::FetchSockets {
                uid: message.uid,
                request_id,
                rooms: opts.rooms,
                except: opts.except,
            }),
            Body::FetchSocketsResponse {
                request_id,
                sockets,
            } => {
                if channel != self.own_channel {
                    return Ok(Received::Ignored(None));
                }
                Received::Response(Response::FetchedSockets {
                    request_id,
                    sockets,
                })
            }
            Body::Other { kind } => {
                log::debug!("bridge: ignoring a cluster message of type {kind}");
                Received::Ignored(None)
            }
        })
    }

    /// A `FETCH_SOCKETS` (both kinds of query read the sockets' ids and rooms).
    fn request(&self, request_id: &str, query: &PeerQuery) -> Publication {
        let rooms = match query {
            PeerQuery::SocketIds { rooms }
            | PeerQuery::SocketRooms { rooms }
            | PeerQuery::SocketDetails { rooms } => rooms.clone(),
        };
        let payload = self.message(Body::FetchSockets {
            request_id: request_id.to_owned(),
            opts: BroadcastOpts {
                rooms,
                ..BroadcastOpts::default()
            },
        });
        Publication {
            channel: self.channels.broadcast.clone(),
            payload,
        }
    }

    /// Answers go to the asker's own channel, as Node's adapter sends them.
    fn response(&self, asker: &str, response: Response) -> Option<Publication> {
        let Response::FetchedSockets {
            request_id,
            sockets,
        } = response
        else {
            return None;
        };
        let payload = self.message(Body::FetchSocketsResponse {
            request_id,
            sockets,
        });
        Some(Publication {
            channel: response_channel(&self.channels, asker),
            payload,
        })
    }

    fn request_channel(&self) -> &str {
        &self.channels.broadcast
    }

    fn fixed_channels(&self) -> Vec<String> {
        vec![self.channels.broadcast.clone(), self.own_channel.clone()]
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
        let wire = Sharded::new("n1", channels);
        assert_eq!(wire.fixed_channels(), ["socket.io#/#", "socket.io#/#n1#"]);
        assert_eq!(wire.request_channel(), "socket.io#/#");
    }
}
