//! The `ChatHub` actor: one per node, it knows which local sockets belong to which users and
//! routes events to them, and it forwards broadcasts to the other nodes through the bridge.

mod event;
mod messages;
mod reconcile;
mod recovery;
mod recovery_across_nodes;
mod redis_recovery;
mod remote_presence;
mod room_channels;
mod rooms;
mod route;

pub use self::event::{event_frames, packet_frames, OutboundEvent};
pub use self::messages::{
    Broadcast, Deliver, Join, Leave, LocalPresence, LocalRooms, LocalSocketDetails, LocalSockets,
    PeerSockets, PendingChecks, RemoteBroadcast, ResaveLiveSessions, SetPeers,
};
pub use self::reconcile::ReannounceLocalUsers;
pub use self::recovery::{Park, Restore, Restored};
pub use self::recovery_across_nodes::{DeliveredSince, Rejoin, ShareRecovery};
pub use self::redis_recovery::watch_redis;
pub use self::room_channels::WatchRooms;
pub use self::rooms::Rooms;
pub use self::route::{IsOnline, MessageStored, RouteMessage};

use self::recovery::HubRecovery;
use crate::metrics::METRICS;
use crate::recovery::RecoveryConfig;
use crate::store::{MessageStore, SaveSession, Session, SessionStore, SetConnected};
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Routes events between the local sockets of namespace `/` and to the other nodes.
pub struct ChatHub {
    rooms: Rooms<Recipient<Deliver>>,
    sessions: Addr<SessionStore>,
    /// Where routed messages are persisted (set with [`ChatHub::with_message_store`]).
    messages: Option<Addr<MessageStore>>,
    /// The cross-node bridge, when the node runs in a cluster.
    peers: Option<Recipient<PeerSockets>>,
    publish: Option<Recipient<Broadcast>>,
    presence: Option<Recipient<LocalPresence>>,
    /// Presence questions to other nodes still waiting for an answer (a drain waits for them,
    /// so that the users of a stopping node get announced).
    pending_checks: usize,
    /// userID -> (sessionID, username) of every user with a local socket.
    live_users: HashMap<String, (String, String)>,
    /// Where user rooms gaining or losing their local sockets are reported, in
    /// room-subscription mode (`room_channels.rs`).
    room_watch: Option<crate::bridge::RoomWatch>,
    /// Connection state recovery (set with [`ChatHub::with_recovery`]).
    recovery: Option<HubRecovery>,
}

impl ChatHub {
    pub fn new(sessions: Addr<SessionStore>) -> ChatHub {
        ChatHub {
            rooms: Rooms::default(),
            sessions,
            messages: None,
            peers: None,
            publish: None,
            presence: None,
            pending_checks: 0,
            live_users: HashMap::new(),
            room_watch: None,
            recovery: None,
        }
    }

    /// Turns connection state recovery on (a zero window leaves it off).
    pub fn with_recovery(mut self, config: RecoveryConfig) -> ChatHub {
        self.recovery = config.enabled().then(|| HubRecovery::new(config));
        self
    }

    /// Lets the hub persist the private messages it routes.
    pub fn with_message_store(mut self, messages: Addr<MessageStore>) -> ChatHub {
        self.messages = Some(messages);
        self
    }

    /// Delivers to the selected local sockets. With recovery on, the broadcast is logged
    /// and its frames carry its offset, whether or not any local socket receives it now: a
    /// socket parked here may be selected by it.
    fn deliver_locally(&mut self, rooms: &[String], except: &[String], event: &Arc<OutboundEvent>) {
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

    /// Saves the session of a user with a local socket as connected (Redis lost it, or this
    /// node was taken for dead while cut off).
    fn save_live_session(&self, user_id: &str, session_id: &str, username: &str) {
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
    fn join_socket(
        &mut self,
        socket_id: &str,
        others: &[&str],
        (user_id, session_id, username): (&str, &str, &str),
        recipient: Recipient<Deliver>,
    ) -> ResponseFuture<()> {
        self.rooms.join(socket_id, others, recipient);
        let subscribed: ResponseFuture<()> = if self.rooms.room_size(user_id) == 1 {
            Box::pin(self.room_gained(user_id))
        } else {
            Box::pin(async {})
        };
        self.note_live(user_id, session_id, username);
        subscribed
    }

    /// Records that `user_id` has a local socket (announcing it to the bridge when new).
    fn note_live(&mut self, user_id: &str, session_id: &str, username: &str) {
        let entry = (session_id.to_owned(), username.to_owned());
        if self.live_users.get(user_id) != Some(&entry) {
            if let Some(presence) = &self.presence {
                presence.do_send(LocalPresence::Online {
                    user_id: user_id.to_owned(),
                    session_id: entry.0.clone(),
                    username: entry.1.clone(),
                });
            }
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

impl Handler<SetPeers> for ChatHub {
    type Result = ();
    fn handle(&mut self, msg: SetPeers, _: &mut Context<Self>) {
        self.peers = Some(msg.peers);
        self.publish = Some(msg.publish);
        self.presence = Some(msg.presence);
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

impl Handler<Leave> for ChatHub {
    type Result = ();

    /// A socket left. When it was its user's last socket on this node, ask the other nodes
    /// (if any) whether the user still has a tab there; only when nobody has one is the user
    /// announced as disconnected and its session saved with `connected: false`.
    fn handle(&mut self, msg: Leave, ctx: &mut Context<Self>) {
        if self.rooms.leave(&msg.socket_id).is_none() {
            return;
        }
        if self.rooms.room_size(&msg.user_id) > 0 {
            return;
        }
        self.live_users.remove(&msg.user_id);
        // A parked socket of the user keeps its room: what it misses from other nodes must
        // reach this node's log to be replayed (released by the recovery sweep).
        if !self
            .recovery
            .as_ref()
            .is_some_and(|r| r.holds_parked(&msg.user_id))
        {
            self.room_lost(&msg.user_id);
        }
        if let Some(presence) = &self.presence {
            presence.do_send(LocalPresence::Offline {
                user_id: msg.user_id.clone(),
            });
        }
        let Some(peers) = self.peers.clone() else {
            self.announce_disconnect(msg);
            return;
        };
        let query = PeerSockets {
            rooms: vec![msg.user_id.clone()],
        };
        self.pending_checks += 1;
        ctx.spawn(
            peers
                .send(query)
                .into_actor(self)
                .map(move |answer, hub, _| {
                    hub.pending_checks -= 1;
                    // Between the question and the answer the user may have come back on this node.
                    if hub.rooms.room_size(&msg.user_id) > 0 {
                        return;
                    }
                    match answer {
                        Ok(Some(remote)) if remote > 0 => {}
                        Ok(Some(_)) => hub.announce_disconnect(msg),
                        // "Unknown" is not "nobody": a node that did not answer may still hold a tab.
                        // Node liveness tracking announces users of nodes that really died.
                        _ => log::warn!(
                            "could not learn whether {} has other tabs; not announcing",
                            msg.user_id
                        ),
                    }
                }),
        );
    }
}

impl ChatHub {
    fn announce_disconnect(&mut self, msg: Leave) {
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.announced_gone(&msg.user_id);
        }
        self.sessions.do_send(SetConnected {
            session_id: msg.session_id,
            session: msg.session,
            connected: false,
        });
        METRICS
            .presence_announcements
            .with_label_values(&["disconnected"])
            .inc();
        let event = OutboundEvent::new("user disconnected", vec![msg.user_id.into()]);
        self.broadcast(Vec::new(), Vec::new(), event);
    }

    fn broadcast(&mut self, rooms: Vec<String>, except: Vec<String>, event: Arc<OutboundEvent>) {
        self.deliver_locally(&rooms, &except, &event);
        if let Some(recovery) = &self.recovery {
            recovery.share_broadcast(&rooms, &except, &event);
        }
        if let Some(publish) = &self.publish {
            publish.do_send(Broadcast {
                rooms,
                except,
                event,
            });
        }
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
        remote_presence::learn_from_remote(&self.sessions, &msg.event.data);
    }
}

impl Handler<ResaveLiveSessions> for ChatHub {
    type Result = usize;
    fn handle(&mut self, _: ResaveLiveSessions, _: &mut Context<Self>) -> usize {
        for (user_id, (session_id, username)) in &self.live_users {
            self.save_live_session(user_id, session_id, username);
        }
        self.live_users.len()
    }
}

impl Handler<PendingChecks> for ChatHub {
    type Result = usize;
    fn handle(&mut self, _: PendingChecks, _: &mut Context<Self>) -> usize {
        self.pending_checks
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
