//! The classic format (SPEC §4), shared with Node's `socket.io-redis` 6 and
//! `@socket.io/redis-adapter` 8 on one Redis:
//!
//! | channel | direction | content |
//! |---|---|---|
//! | `<p>#/#`, `<p>#/#<room>#` | both | msgpack `[uid, {type: 2, data, nsp: "/"}, {rooms, except, flags}]` |
//! | `<p>-request#/#` | both | JSON requests (we send types 0 and 5, answer 0, 1 and 5) |
//! | `<p>-response#/#` | both | JSON answers, matched by `requestId` |

use super::{Publication, Received, Undecodable, WireFormat};
use crate::cluster::channels::{ChannelKind, Channels, NAMESPACE};
use crate::cluster::requests::build_request;
use crate::cluster::PeerQuery;
use crate::cluster::SubscriptionMode;
use crate::event::OutboundEvent;
use chat_protocol::adapter::{
    decode_broadcast, decode_request, decode_response, encode_broadcast, encode_request,
    encode_response, Broadcast as WireBroadcast, BroadcastOpts, BroadcastPacket, Response,
};

/// The classic format of node `uid`.
pub struct Classic {
    uid: String,
    /// How our own broadcasts begin on the wire (see [`own_prefix`]).
    own_prefix: Vec<u8>,
    channels: Channels,
    mode: SubscriptionMode,
}

impl Classic {
    pub fn new(uid: &str, channels: Channels, mode: SubscriptionMode) -> Classic {
        Classic {
            uid: uid.to_owned(),
            own_prefix: own_prefix(uid),
            channels,
            mode,
        }
    }
}

impl WireFormat for Classic {
    fn broadcast(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
        event: &OutboundEvent,
    ) -> Publication {
        let channel = self.channels.broadcast_to(&rooms);
        let wire = WireBroadcast {
            uid: self.uid.clone(),
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
        };
        Publication {
            channel,
            payload: encode_broadcast(&wire),
        }
    }

    fn decode(&self, channel: &str, payload: &[u8]) -> Result<Received, Undecodable> {
        match self.channels.classify(channel) {
            ChannelKind::Broadcast => {
                if payload.starts_with(&self.own_prefix) {
                    // Redis hands our own broadcasts back (the sender's room is subscribed
                    // here too): skip them before decoding.
                    return Ok(Received::Ignored(None));
                }
                let broadcast = decode_broadcast(payload).map_err(|error| Undecodable {
                    what: "broadcast",
                    error,
                })?;
                if broadcast.uid == self.uid || broadcast.packet.nsp != NAMESPACE {
                    return Ok(Received::Ignored(None));
                }
                let WireBroadcast { packet, opts, .. } = broadcast;
                Ok(Received::Broadcast {
                    rooms: opts.rooms,
                    except: opts.except,
                    event: OutboundEvent::from_data(packet.data, packet.attachments),
                })
            }
            ChannelKind::Request => {
                decode_request(payload)
                    .map(Received::Request)
                    .map_err(|error| Undecodable {
                        what: "request",
                        error,
                    })
            }
            ChannelKind::Response => {
                decode_response(payload)
                    .map(Received::Response)
                    .map_err(|error| Undecodable {
                        what: "response",
                        error,
                    })
            }
            ChannelKind::Foreign => {
                log::debug!("bridge: ignoring channel {channel}");
                Ok(Received::Ignored(None))
            }
        }
    }

    fn request(&self, request_id: &str, query: &PeerQuery) -> Publication {
        Publication {
            channel: self.channels.request.clone(),
            payload: encode_request(&build_request(&self.uid, request_id, query)).into_bytes(),
        }
    }

    fn response(&self, _asker: &str, response: Response) -> Option<Publication> {
        Some(Publication {
            channel: self.channels.response.clone(),
            payload: encode_response(&response).into_bytes(),
        })
    }

    fn request_channel(&self) -> &str {
        &self.channels.request
    }

    fn fixed_channels(&self) -> Vec<String> {
        let mut fixed = vec![
            self.channels.request.clone(),
            self.channels.response.clone(),
        ];
        if self.mode == SubscriptionMode::Rooms {
            fixed.push(self.channels.broadcast.clone());
        }
        fixed
    }
}

/// The first bytes of a broadcast of ours, as any msgpack encoder writes them: a 3-element
/// array (`0x93`), then `uid` as a minimal-length string. A payload starting with them has our
/// uid as its first element, which decoding would only find to ignore it.
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
