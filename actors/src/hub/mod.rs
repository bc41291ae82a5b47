//! The `ChatHub` actor: one per node, the one writer of membership. It knows which local
//! sockets are in which rooms and which users are live here, delivers broadcasts to the local
//! sockets, and hands them to the cluster through its [`ClusterPort`].
//!
//! The hub is the actor; the features that decide what it does live in their own folders and
//! add their handlers to it: presence (`crate::presence`: a user's last tab leaving, announcing
//! users again, writing sessions back) and connection state recovery (`crate::recovery`:
//! logging broadcasts, parking and restoring sockets; the handlers here in `recovery.rs` only
//! pass messages to its [`HubRecovery`](crate::recovery::HubRecovery)).
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the actor, joining a socket, delivering and broadcasting |
//! | `messages.rs` | its messages (join, broadcasts, what other nodes ask about local sockets) |
//! | `rooms.rs` | room membership of the local sockets |
//! | `route.rs` | routing and persisting one private message |
//! | `cluster_port.rs` | [`ClusterPort`]: what the hub needs from other nodes; [`SingleNode`] |
//! | `recovery.rs` | recovery's messages, handed to [`crate::recovery::HubRecovery`] |
//! | `tests.rs` | the hub with a fake cluster, without Redis |

mod cluster_port;
mod messages;
mod recovery;
mod rooms;
mod route;
#[cfg(test)]
mod tests;

pub use self::cluster_port::{ClusterPort, LocalPresence, SingleNode};
pub use self::messages::{
    Broadcast, Join, LocalRooms, LocalSocketDetails, LocalSockets, RemoteBroadcast,
};
pub use self::rooms::Rooms;
pub use self::route::{IsOnline, MessageStored, RouteMessage};

use crate::event::OutboundEvent;
use crate::metrics::METRICS;
use crate::recovery::{HubRecovery, RecoveryConfig, SharedRecovery};
use crate::store::{MessageStore, SaveSession, Session, SessionStore};
use crate::transport::Deliver;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Routes events between the local sockets of namespace `/` and to the other nodes.
pub struct ChatHub {
    pub(crate) rooms: Rooms<Recipient<Deliver>>,
    pub(crate) sessions: Addr<SessionStore>,
    /// Where routed messages are persisted.
    messages: Addr<MessageStore>,
    /// The other nodes ([`SingleNode`] when there are none).
    pub(crate) cluster: Box<dyn ClusterPort>,
    /// Presence questions to other nodes still waiting for an answer (a drain waits for them,
    /// so that the users of a stopping node get announced).
    pub(crate) pending_checks: usize,
    /// userID -> (sessionID, username) of every user with a local socket.
    pub(crate) live_users: HashMap<String, (String, String)>,
    /// Connection state recovery (`None` when it is off).
    pub(crate) recovery: Option<HubRecovery>,
}

impl ChatHub {
    /// A hub over its node's stores and cluster; with `recovery` on (a non-zero window) it
    /// logs broadcasts and parks dropped sockets, keeping broadcasts to everyone in `shared`
    /// (Redis) too when given.
    pub fn new(
        sessions: Addr<SessionStore>,
        messages: Addr<MessageStore>,
        cluster: Box<dyn ClusterPort>,
        recovery: RecoveryConfig,
        shared: Option<SharedRecovery>,
    ) -> ChatHub {
        ChatHub {
            rooms: Rooms::default(),
            sessions,
            messages,
            cluster,
            pending_checks: 0,
            live_users: HashMap::new(),
            recovery: recovery
                .enabled()
                .then(|| HubRecovery::new(recovery, shared)),
        }
    }

    /// Delivers to the selected local sockets. With recovery on, the broadcast is logged
    /// and its frames carry its offset, whether or not any local socket receives it now: a
    /// socket parked here may be selected by it.
    pub(crate) fn deliver_locally(
        &mut self,
        rooms: &[String],
        except: &[String],
        event: &Arc<OutboundEvent>,
    ) {
        let frames = match self.recovery.as_mut() {
            Some(recovery) => recovery.stamp(rooms, except, event),
            None => event.frames.clone(),
        };
        let recipients = self.rooms.select(rooms, except);
        METRICS.deliveries.inc_by(recipients.len() as u64);
        for (_, recipient) in recipients {
            recipient.do_send(Deliver(frames.clone()));
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
        self.deliver_locally(&rooms, &except, &event);
        if let Some(recovery) = &self.recovery {
            recovery.share_broadcast(&rooms, &except, &event);
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

    /// Puts a socket in its own room and `others`, and records its user as live; resolves
    /// once broadcasts to the user's room reach this node (its first local socket subscribes
    /// it). `user` is (userID, sessionID, username).
    pub(crate) fn join_socket(
        &mut self,
        socket_id: &str,
        others: &[&str],
        (user_id, session_id, username): (&str, &str, &str),
        recipient: Recipient<Deliver>,
    ) -> ResponseFuture<()> {
        self.rooms.join(socket_id, others, recipient);
        let subscribed: ResponseFuture<()> = if self.rooms.room_size(user_id) == 1 {
            self.cluster.room_gained(user_id)
        } else {
            Box::pin(async {})
        };
        self.note_live(user_id, session_id, username);
        subscribed
    }

    /// Records that `user_id` has a local socket (telling the cluster when new).
    fn note_live(&mut self, user_id: &str, session_id: &str, username: &str) {
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
    type Result = ResponseFuture<Option<String>>;

    /// Resolves once broadcasts to the user's room reach this node, so that a message sent to
    /// a fresh tab right after its `session` is not lost to a subscription still in flight;
    /// with recovery on, with the offset the socket's `users` carries (every broadcast logged
    /// after it may concern the socket).
    fn handle(&mut self, msg: Join, _: &mut Context<Self>) -> Self::Result {
        let subscribed = self.join_socket(
            &msg.socket_id,
            &[msg.user_id.as_str()],
            (&msg.user_id, &msg.session_id, &msg.username),
            msg.recipient,
        );
        let offset = self
            .recovery
            .as_mut()
            .map(|recovery| recovery.joined_at_head(&msg.user_id));
        Box::pin(async move {
            subscribed.await;
            offset
        })
    }
}

impl Handler<Broadcast> for ChatHub {
    type Result = ();
    fn handle(&mut self, msg: Broadcast, _: &mut Context<Self>) {
        self.broadcast(msg.rooms, msg.except, msg.event);
    }
}

impl Handler<RemoteBroadcast> for ChatHub {
    type Result = ();
    fn handle(&mut self, msg: RemoteBroadcast, _: &mut Context<Self>) {
        self.deliver_locally(&msg.rooms, &msg.except, &msg.event);
    }
}

impl Handler<LocalSockets> for ChatHub {
    type Result = Vec<String>;
    fn handle(&mut self, msg: LocalSockets, _: &mut Context<Self>) -> Vec<String> {
        self.rooms
            .select(&msg.rooms, &[])
            .into_iter()
            .map(|(id, _)| id.to_owned())
            .collect()
    }
}

impl Handler<LocalRooms> for ChatHub {
    type Result = Vec<String>;
    fn handle(&mut self, _: LocalRooms, _: &mut Context<Self>) -> Vec<String> {
        self.rooms.all_rooms()
    }
}

impl Handler<LocalSocketDetails> for ChatHub {
    type Result = Vec<(String, Vec<String>)>;
    fn handle(&mut self, msg: LocalSocketDetails, _: &mut Context<Self>) -> Self::Result {
        let ids: Vec<String> = self
            .rooms
            .select(&msg.rooms, &msg.except)
            .into_iter()
            .map(|(id, _)| id.to_owned())
            .collect();
        ids.into_iter()
            .map(|id| {
                let rooms = self.rooms.rooms_of(&id);
                (id, rooms)
            })
            .collect()
    }
}
