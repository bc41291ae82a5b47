//! The cluster's port to this node: other nodes' broadcasts are delivered from the bridge's
//! thread straight into the local recipients' outboxes (the hub's routing table, no hop to the
//! hub), and their presence events teach the user directory about users of Node nodes
//! (`crate::presence::learn_from_remote`); their questions about local sockets are answered
//! from the same table.
//!
//! On a Redis Cluster the node also catches up after its subscriptions were lost (a slot of a
//! room channel moved to another master, which drops the channel's subscribers; a master
//! failed over): what was published meanwhile reached nobody here, yet each private message is
//! in its recipient's and its sender's histories, whose shards the publication did not need. So
//! the newest entries of each local user's `messages:<userID>` since shortly before the loss
//! are delivered to that user's local sockets (never to the socket that sent one, which its id
//! names), except those the node delivered already: [`Delivery`] remembers which private
//! message went to which room lately and delivers none twice, also when a live copy comes
//! after its catch-up.

use crate::admin::{AdminOrder, Directory, RemoteRequest};
use crate::cluster::{Describer, LocalNode, SocketRooms};
use crate::event::OutboundEvent;
use crate::hub::{local_socket_details, Delivery};
use crate::metrics::METRICS;
use crate::presence::learn_from_remote;
use crate::recovery::sender_tag::sent_by;
use crate::store::{redis_keys, RedisConnection, Replay, SessionStore, StoreError, StoredMessage};
use actix::{Addr, Recipient};
use futures_util::future::{ready, BoxFuture};
use futures_util::FutureExt;
use futures_util::StreamExt;
use std::sync::Arc;

pub struct HubNode {
    pub delivery: Arc<Delivery>,
    pub sessions: Addr<SessionStore>,
    /// With an admin namespace: the sockets' details and the hub applying remote commands.
    pub admin: Option<(Arc<Directory>, Recipient<RemoteRequest>)>,
    /// On a Redis Cluster: where the histories a catch-up reads are.
    pub histories: Option<RedisConnection>,
}

/// How far before the loss of the subscriptions a catch-up looks (the clocks of the node that
/// stamped a message and of this one may differ; what was delivered is skipped anyway).
const CATCH_UP_MARGIN_MS: u64 = 2_000;
/// The newest entries of a history a catch-up reads.
const CATCH_UP_ENTRIES: i64 = 200;
/// Histories read at once by a catch-up.
const CATCH_UP_READS: usize = 16;

/// Delivers to the local sockets of `room` the messages of its history stamped since `since_ms`
/// that were not delivered to it yet; returns how many.
async fn catch_up_room(
    conn: &RedisConnection,
    delivery: &Delivery,
    room: &str,
    since_ms: u64,
) -> Result<usize, StoreError> {
    let mut range = ::redis::cmd("LRANGE");
    range
        .arg(redis_keys::messages_key(room))
        .arg(-CATCH_UP_ENTRIES)
        .arg(-1);
    let entries: Vec<Vec<u8>> = conn.query(&range, Replay::Safe).await?;
    let mut delivered = 0;
    for entry in entries {
        let Ok(message) = serde_json::from_slice::<StoredMessage>(&entry) else {
            continue;
        };
        let (Some(id), Some(ts)) = (message.id.as_deref(), message.ts) else {
            continue;
        };
        if ts < since_ms {
            continue;
        }
        let rooms = [room.to_owned()];
        let except: Vec<String> = delivery
            .routes()
            .select(&rooms, &[])
            .into_iter()
            .map(|(socket, _)| socket.to_owned())
            .filter(|socket| sent_by(id, socket))
            .collect();
        let event = OutboundEvent::private_message(&message, id, ts);
        if delivery.deliver_new(&rooms, &except, &event).is_some() {
            delivered += 1;
        }
    }
    Ok(delivered)
}

impl LocalNode for HubNode {
    fn deliver(&self, rooms: Vec<String>, except: Vec<String>, event: Arc<OutboundEvent>) {
        self.delivery.deliver(&rooms, &except, &event);
        if let Some((directory, _)) = &self.admin {
            let extra = directory.extra_targets(&rooms, &except);
            if !extra.is_empty() {
                let data = Arc::new(event.data().clone());
                for order in extra {
                    order.do_send(AdminOrder::Emit {
                        nsp: "/".to_owned(),
                        data: data.clone(),
                    });
                }
            }
        }
        learn_from_remote(&self.sessions, event.data());
    }

    fn catch_up(&self, rooms: Vec<String>, since_ms: u64) {
        let Some(conn) = self.histories.clone() else {
            return;
        };
        let delivery = self.delivery.clone();
        let since_ms = since_ms.saturating_sub(CATCH_UP_MARGIN_MS);
        actix::spawn(async move {
            let reads = futures_util::stream::iter(rooms).map(|room| {
                let (conn, delivery) = (&conn, &delivery);
                async move { (catch_up_room(conn, delivery, &room, since_ms).await, room) }
            });
            let results: Vec<_> = reads.buffer_unordered(CATCH_UP_READS).collect().await;
            let (mut caught_up, mut failed) = (0, 0);
            for (result, room) in results {
                match result {
                    Ok(n) => caught_up += n,
                    Err(e) => {
                        failed += 1;
                        log::warn!("bridge: cannot catch up room {room}: {e}");
                    }
                }
            }
            if caught_up > 0 || failed > 0 {
                log::info!(
                    "bridge: caught up {caught_up} private messages missed while unsubscribed \
                     ({failed} histories unread)"
                );
            }
            METRICS.caught_up.inc_by(caught_up as u64);
        });
    }

    fn sockets(&self, rooms: Vec<String>) -> BoxFuture<'static, Option<Vec<String>>> {
        let sockets = self
            .delivery
            .routes()
            .select(&rooms, &[])
            .into_iter()
            .map(|(id, _)| id.to_owned())
            .collect();
        ready(Some(sockets)).boxed()
    }

    fn rooms(&self) -> BoxFuture<'static, Option<Vec<String>>> {
        ready(Some(self.delivery.routes().all_rooms())).boxed()
    }

    fn socket_details(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> BoxFuture<'static, Option<SocketRooms>> {
        let details = local_socket_details(&self.delivery.routes(), &rooms, &except);
        ready(Some(details)).boxed()
    }

    fn describer(&self) -> Describer {
        match &self.admin {
            Some((directory, _)) => {
                let directory = directory.clone();
                Box::new(move |id| directory.describe(id))
            }
            None => Box::new(|_| None),
        }
    }

    fn remote_command(&self, request: &[u8]) {
        if let Some((_, hub)) = &self.admin {
            hub.do_send(RemoteRequest {
                payload: request.to_vec(),
            });
        }
    }
}
