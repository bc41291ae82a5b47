//! What crosses Redis between nodes, in either of the two formats our nodes speak: the
//! classic one of `socket.io-redis` 6 / `@socket.io/redis-adapter` 8 over classic pub/sub
//! ([`Classic`], `classic.rs`) and that of the sharded adapter (`createShardedAdapter`) over
//! sharded pub/sub on a Redis Cluster ([`Sharded`], `sharded.rs`). The bridge speaks to
//! [`WireFormat`] only; which one a node uses follows from its Redis (`--redis-url` or
//! `--redis-cluster-urls`).

mod classic;
mod sharded;

pub use self::classic::Classic;
pub use self::sharded::Sharded;

use super::PeerQuery;
use crate::event::OutboundEvent;
use chat_protocol::adapter::{Request, Response};
use chat_protocol::DecodeError;
use std::sync::Arc;

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub channel: String,
    pub payload: Vec<u8>,
}

/// What a message received from Redis is.
pub enum Received {
    /// A broadcast of another node, for the local sockets it selects.
    Broadcast {
        rooms: Vec<String>,
        except: Vec<String>,
        event: Arc<OutboundEvent>,
    },
    /// Another node asks something (or we hear our own request: the bridge tells).
    Request(Request),
    /// An answer, maybe to one of our requests.
    Response(Response),
    /// Nothing for us: our own broadcast, another namespace, a type we do not answer. With a
    /// metrics kind when it deserves counting.
    Ignored(Option<&'static str>),
}

/// Why a received message was dropped: what it should have been, and the decoder's error.
#[derive(Debug)]
pub struct Undecodable {
    pub what: &'static str,
    pub error: DecodeError,
}

/// A format of the messages between nodes.
pub trait WireFormat: 'static {
    /// The broadcast of `event` to `rooms` (every socket when empty), skipping sockets in any
    /// of `except`, as the adapter publishes it.
    fn broadcast(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
        event: &OutboundEvent,
    ) -> Publication;

    /// A message received on `channel`.
    fn decode(&self, channel: &str, payload: &[u8]) -> Result<Received, Undecodable>;

    /// Our request `request_id` for `query`.
    fn request(&self, request_id: &str, query: &PeerQuery) -> Publication;

    /// Our answer to a request of node `asker` (`None` for an answer this format never
    /// sends).
    fn response(&self, asker: &str, response: Response) -> Option<Publication>;

    /// The channel whose subscribers are the nodes due to answer a request (`PUBSUB NUMSUB`,
    /// or `SHARDNUMSUB` on a cluster).
    fn request_channel(&self) -> &str;

    /// The channels of this format subscribed for the life of the node (room channels come
    /// on top, in room-subscription mode).
    fn fixed_channels(&self) -> Vec<String>;
}
