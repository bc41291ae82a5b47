//! The `ChatHub` actor: one per node, the one writer of membership. It joins and removes the
//! local sockets in the routing table it publishes ([`Delivery`]: who is in which room, with
//! each socket's outbox), knows which users are live here, and tells the cluster through its
//! [`ClusterPort`]. Events themselves do not go through it: whichever thread has one delivers
//! it straight from the table into the recipients' outboxes ([`Delivery::deliver`]); a
//! private message is routed by the connection that received it ([`route_private`]).
//!
//! The hub is the actor; the features that decide what it does live in their own folders and
//! add their handlers to it: presence (`crate::presence`: a user's last tab leaving, announcing
//! users again, writing sessions back) and connection state recovery (`crate::recovery`:
//! parking and restoring sockets; the handlers here in `recovery.rs` only pass messages to its
//! [`HubRecovery`](crate::recovery::HubRecovery)).
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the actor: joining a socket, broadcasting |
//! | `delivery.rs` | [`Delivery`]: the routing table and the broadcast log, read from any thread |
//! | `recent.rs` | the private messages delivered lately, by room (on a Redis Cluster) |
//! | `messages.rs` | its messages (join, broadcasts, what other nodes ask about local sockets) |
//! | `rooms.rs` | room membership of the local sockets |
//! | `route.rs` | routing one private message; whether a user is online |
//! | `cluster_port.rs` | [`ClusterPort`]: what the hub needs from other nodes; [`SingleNode`] |
//! | `recovery.rs` | recovery's messages, handed to [`crate::recovery::HubRecovery`] |
//! | `tests.rs` | the hub with a fake cluster, without Redis |

mod cluster_port;
mod delivery;
mod messages;
mod recent;
mod recovery;
mod rooms;
mod route;
#[cfg(test)]
mod tests;

pub use self::cluster_port::{ClusterPort, LocalPresence, SingleNode};
pub use self::delivery::{Delivery, Routes};
pub use self::messages::{Broadcast, Join, Joined, LocalRooms, LocalSocketDetails, LocalSockets};
pub use self::rooms::Rooms;
pub use self::route::{route_private, IsOnline};

use crate::event::OutboundEvent;
use crate::presence::PresenceGrace;
use crate::recovery::{HubRecovery, RecoveryConfig, SharedRecovery};
use crate::store::{SaveSession, Session, SessionStore};
use crate::transport::Outbox;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The membership of the local sockets of namespace `/`.
pub struct ChatHub {
    /// The routing table (and log) it publishes.
    pub(crate) delivery: Arc<Delivery>,
    pub(crate) sessions: Addr<SessionStore>,
    /// The other nodes ([`SingleNode`] when there are none).
    pub(crate) cluster: Arc<dyn ClusterPort>,
    /// Presence questions to other nodes still waiting for an answer (a drain waits for them,
    /// so that the users of a stopping node get announced).
    pub(crate) pending_checks: usize,
    /// userID -> (sessionID, username) of every user with a local socket.
    pub(crate) live_users: HashMap<String, (String, String)>,
    /// Connection state recovery (`None` when it is off).
    pub(crate) recovery: Option<HubRecovery>,
    /// Users whose last local socket dropped and who may still come back unannounced.
    pub(crate) grace: PresenceGrace,
}

impl ChatHub {
    /// A hub publishing its routing table in `delivery` (whose log says whether recovery is
    /// on), telling `cluster` of its changes; with recovery, broadcasts to everyone are kept in
    /// `shared` (Redis) too when given. A user whose socket dropped for a reason that can be
    /// recovered is announced gone only if it is not back after `presence_grace`.
    pub fn new(
        sessions: Addr<SessionStore>,
        delivery: Arc<Delivery>,
        cluster: Arc<dyn ClusterPort>,
        (recovery, shared): (RecoveryConfig, Option<SharedRecovery>),
        presence_grace: Duration,
    ) -> ChatHub {
        ChatHub {
            delivery,
            sessions,
            cluster,
            pending_checks: 0,
            live_users: HashMap::new(),
            recovery: recovery
                .enabled()
                .then(|| HubRecovery::new(recovery, shared)),
            grace: PresenceGrace::new(presence_grace),
        }
    }

    /// Delivers locally, keeps a broadcast to everyone for recoveries on other nodes, and
    /// publishes it for the other nodes.
    pub(crate) fn broadcast(
        &mut self,
        rooms: Vec<String>,
        except: Vec<String>,
        event: Arc<OutboundEvent>,
    ) {
        let origin = self
            .delivery
            .deliver(&rooms, &except, &event)
            .and_then(|seq| self.delivery.offset_at(seq));
        if let (Some(recovery), Some(origin)) = (&self.recovery, origin) {
            recovery.share_broadcast(&rooms, &except, &event, &origin);
        }
        self.cluster.publish(Broadcast {
            rooms,
            except,
            event,
        });
    }

    /// Saves the session of a user with a local socket as connected (Redis lost it, or this
    /// node was taken for dead while cut off).
    pub(crate) fn save_live_session(&self, user_id: &str, session_id: &str, username: &str) {
        self.sessions.do_send(SaveSession {
            session_id: session_id.to_owned(),
            session: Session {
                user_id: user_id.to_owned(),
                username: username.to_owned(),
                connected: true,
            },
        });
    }

    /// Removes a socket from every room; returns whether it was there.
    pub(crate) fn leave_socket(&mut self, socket_id: &str) -> bool {
        self.delivery.routes_mut().leave(socket_id).is_some()
    }

    /// How many local sockets are in `room`.
    pub(crate) fn local_sockets_in(&self, room: &str) -> usize {
        self.delivery.routes().room_size(room)
    }

    /// Puts a socket in its own room and `others` with `outbox`, and records its user as
    /// live; resolves once broadcasts to the user's room reach this node (its first local
    /// socket subscribes it), with recovery on with the offset of everything logged so far.
    /// `user` is (userID, sessionID, username).
    pub(crate) fn join_socket(
        &mut self,
        socket_id: &str,
        others: &[&str],
        (user_id, session_id, username): (&str, &str, &str),
        outbox: Arc<Outbox>,
    ) -> (ResponseFuture<()>, Option<String>) {
        let (first, head) = self.delivery.join(socket_id, others, outbox, user_id);
        let subscribed: ResponseFuture<()> = if first {
            self.cluster.room_gained(user_id)
        } else {
            Box::pin(async {})
        };
        self.note_live(user_id, session_id, username);
        (subscribed, head.map(|offset| offset.as_str().to_owned()))
    }

    /// Records that `user_id` has a local socket (telling the cluster when new), which ends
    /// its presence grace if it was in one here.
    pub(crate) fn note_live(&mut self, user_id: &str, session_id: &str, username: &str) {
        if self.grace.end(user_id) {
            self.cluster.grace_ended(user_id);
        }
        let entry = (session_id.to_owned(), username.to_owned());
        if self.live_users.get(user_id) != Some(&entry) {
            self.cluster.local_presence(LocalPresence::Online {
                user_id: user_id.to_owned(),
                session_id: entry.0.clone(),
                username: entry.1.clone(),
            });
        }
        self.live_users.insert(user_id.to_owned(), entry);
    }
}

impl Actor for ChatHub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.start_recovery_sweep(ctx);
    }
}

impl Handler<Join> for ChatHub {
    type Result = ResponseFuture<Joined>;

    /// Resolves once broadcasts to the user's room reach this node, so that a message sent to
    /// a fresh tab right after its `session` is not lost to a subscription still in flight;
    /// with recovery on, with the offset the socket's `users` carries (every broadcast logged
    /// after it may concern the socket); and once it is known whether the user comes back
    /// within its presence grace (here, or from another node).
    fn handle(&mut self, msg: Join, _: &mut Context<Self>) -> Self::Result {
        let back_here = self.grace.holds(&msg.user_id);
        let claimed = (!back_here && self.local_sockets_in(&msg.user_id) == 0)
            .then(|| self.cluster.claim_grace(&msg.user_id));
        let (subscribed, offset) = self.join_socket(
            &msg.socket_id,
            &[msg.user_id.as_str()],
            (&msg.user_id, &msg.session_id, &msg.username),
            msg.outbox,
        );
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.back(&msg.user_id);
        }
        Box::pin(async move {
            subscribed.await;
            let back_elsewhere = match claimed {
                Some(claimed) => claimed.await,
                None => false,
            };
            Joined {
                offset,
                announce: !back_here && !back_elsewhere,
            }
        })
    }
}

impl Handler<Broadcast> for ChatHub {
    type Result = ();
    fn handle(&mut self, msg: Broadcast, _: &mut Context<Self>) {
        self.broadcast(msg.rooms, msg.except, msg.event);
    }
}

impl Handler<LocalSockets> for ChatHub {
    type Result = Vec<String>;
    fn handle(&mut self, msg: LocalSockets, _: &mut Context<Self>) -> Vec<String> {
        self.delivery
            .routes()
            .select(&msg.rooms, &[])
            .into_iter()
            .map(|(id, _)| id.to_owned())
            .collect()
    }
}

impl Handler<LocalRooms> for ChatHub {
    type Result = Vec<String>;
    fn handle(&mut self, _: LocalRooms, _: &mut Context<Self>) -> Vec<String> {
        self.delivery.routes().all_rooms()
    }
}

impl Handler<LocalSocketDetails> for ChatHub {
    type Result = Vec<(String, Vec<String>)>;
    fn handle(&mut self, msg: LocalSocketDetails, _: &mut Context<Self>) -> Self::Result {
        local_socket_details(&self.delivery.routes(), &msg.rooms, &msg.except)
    }
}

/// Id and rooms of each local socket in any of `rooms` and in none of `except`.
pub fn local_socket_details(
    routes: &Routes,
    rooms: &[String],
    except: &[String],
) -> Vec<(String, Vec<String>)> {
    routes
        .select(rooms, except)
        .into_iter()
        .map(|(id, _)| (id.to_owned(), routes.rooms_of(id)))
        .collect()
}
