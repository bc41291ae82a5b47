//! The hub on its own: an in-memory session store and a fake cluster port, no Redis. A "tab"
//! stands in for a connection: its outbox (on long-polling, so that the test reads what it was
//! given) receives exactly what a socket's would.

use super::*;
use crate::presence::Leave;
use crate::recovery::{Park, Restore, Unrecoverable};
use crate::store::{FindSession, MemorySessions, Session, StoredMessage};
use crate::transport::{Frame, Outbox, PollReply};
use futures_util::future::BoxFuture;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

// ---------------------------------------------------------------------------------------
// The fake cluster: records what the hub tells it, answers "remote sockets" as told.

#[derive(Default)]
struct Recorded {
    published: Vec<(Vec<String>, Vec<String>, String)>,
    asked: Vec<Vec<String>>,
    gained: Vec<String>,
    lost: Vec<String>,
    presence: Vec<LocalPresence>,
    /// Answers to the next `remote_sockets` questions, in order (default: `Some(0)`).
    answers: Vec<oneshot::Receiver<Option<usize>>>,
    /// Completions to wait for before a room counts as subscribed (default: at once).
    subscriptions: Vec<oneshot::Receiver<()>>,
    /// The presence grace markers (shared by every hub on this fake, as Redis is).
    grace_markers: std::collections::HashSet<String>,
}

#[derive(Clone, Default)]
struct FakeCluster {
    state: Arc<Mutex<Recorded>>,
    per_room: bool,
}

impl FakeCluster {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next question is answered when the returned sender says so.
    fn hold_next_answer(&self) -> oneshot::Sender<Option<usize>> {
        let (tx, rx) = oneshot::channel();
        self.lock().answers.push(rx);
        tx
    }

    fn published(&self) -> Vec<(Vec<String>, Vec<String>, String)> {
        self.lock().published.clone()
    }
}

impl ClusterPort for FakeCluster {
    fn publish(&self, broadcast: Broadcast) {
        let name = broadcast.event.data()[0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.lock()
            .published
            .push((broadcast.rooms, broadcast.except, name));
    }

    fn remote_sockets(&self, rooms: Vec<String>) -> BoxFuture<'static, Option<usize>> {
        let mut state = self.lock();
        state.asked.push(rooms);
        let held = (!state.answers.is_empty()).then(|| state.answers.remove(0));
        Box::pin(async move {
            match held {
                Some(answer) => answer.await.unwrap_or(None),
                None => Some(0),
            }
        })
    }

    fn room_gained(&self, room: &str) -> BoxFuture<'static, ()> {
        let mut state = self.lock();
        state.gained.push(room.to_owned());
        let held = (!state.subscriptions.is_empty()).then(|| state.subscriptions.remove(0));
        Box::pin(async move {
            if let Some(done) = held {
                let _ = done.await;
            }
        })
    }

    fn room_lost(&self, room: &str) {
        self.lock().lost.push(room.to_owned());
    }

    fn local_presence(&self, change: LocalPresence) {
        self.lock().presence.push(change);
    }

    fn grace_started(&self, user_id: &str, _: Duration) {
        self.lock().grace_markers.insert(user_id.to_owned());
    }

    fn grace_ended(&self, user_id: &str) {
        self.lock().grace_markers.remove(user_id);
    }

    fn grace_over(&self, user_id: &str) -> BoxFuture<'static, bool> {
        let unclaimed = self.lock().grace_markers.remove(user_id);
        Box::pin(async move { unclaimed })
    }

    fn claim_grace(&self, user_id: &str) -> BoxFuture<'static, bool> {
        let claimed = self.lock().grace_markers.remove(user_id);
        Box::pin(async move { claimed })
    }

    fn retire(&self, _: Duration) {}

    fn subscribes_rooms(&self) -> bool {
        self.per_room
    }
}

// ---------------------------------------------------------------------------------------
// Tabs and the hub under test.

/// What a tab received, read through its outbox as a long-polling GET would.
struct Inbox {
    outbox: Arc<Outbox>,
    frames: VecDeque<String>,
}

impl Inbox {
    /// The next frame, within a second.
    async fn next(&mut self) -> String {
        if let Some(frame) = self.frames.pop_front() {
            return frame;
        }
        let reply = self.outbox.poll().expect("one GET at a time");
        let body = tokio::time::timeout(Duration::from_secs(1), reply)
            .await
            .expect("a frame within 1 s")
            .expect("the outbox is alive");
        let PollReply::Body(body) = body else {
            panic!("a polling outbox answers with frames")
        };
        self.frames.extend(body.split('\u{1e}').map(str::to_owned));
        self.frames.pop_front().unwrap_or_default()
    }

    /// Everything received so far (after the hub handled what was sent before: see
    /// [`Harness::settle`]).
    fn drain(&mut self) -> Vec<String> {
        let mut frames: Vec<String> = self.frames.drain(..).collect();
        frames.extend(
            self.outbox
                .take_queued()
                .into_iter()
                .map(|frame| match frame {
                    Frame::Text(text) => text.to_string(),
                    Frame::Binary(_) => "binary".to_owned(),
                }),
        );
        frames
    }
}

fn tab() -> (Arc<Outbox>, Inbox) {
    let outbox = Outbox::new(1 << 20);
    let inbox = Inbox {
        outbox: outbox.clone(),
        frames: VecDeque::new(),
    };
    (outbox, inbox)
}

struct Harness {
    hub: Addr<ChatHub>,
    cluster: FakeCluster,
    sessions: Addr<SessionStore>,
    delivery: Arc<Delivery>,
}

fn harness(cluster: FakeCluster, recovery: RecoveryConfig) -> Harness {
    harness_with_grace(cluster, recovery, Duration::ZERO)
}

fn harness_with_grace(cluster: FakeCluster, recovery: RecoveryConfig, grace: Duration) -> Harness {
    let sessions = SessionStore::new(Box::new(MemorySessions::default())).start();
    let delivery = Delivery::new(recovery);
    let hub = ChatHub::new(
        sessions.clone(),
        delivery.clone(),
        Arc::new(cluster.clone()),
        (recovery, None),
        grace,
    )
    .start();
    Harness {
        hub,
        cluster,
        sessions,
        delivery,
    }
}

impl Harness {
    async fn join(&self, socket: &str, user: &str) -> (Option<String>, Inbox) {
        let (joined, inbox) = self.join_tab(socket, user).await;
        (joined.offset, inbox)
    }

    async fn join_tab(&self, socket: &str, user: &str) -> (Joined, Inbox) {
        let (outbox, inbox) = tab();
        let joined = self
            .hub
            .send(Join {
                socket_id: socket.into(),
                user_id: user.into(),
                session_id: format!("session-{user}"),
                username: format!("name-{user}"),
                outbox,
            })
            .await
            .expect("hub alive");
        (joined, inbox)
    }

    /// The client disconnected its socket (no grace).
    fn leave(&self, socket: &str, user: &str) {
        self.depart(socket, user, false);
    }

    /// The socket's transport dropped (a reason that can be recovered: the grace applies).
    fn drop_tab(&self, socket: &str, user: &str) {
        self.depart(socket, user, true);
    }

    fn depart(&self, socket: &str, user: &str, recoverable: bool) {
        self.hub.do_send(Leave {
            socket_id: socket.into(),
            user_id: user.into(),
            session_id: format!("session-{user}"),
            session: Session {
                user_id: user.into(),
                username: format!("name-{user}"),
                connected: true,
            },
            recoverable,
        });
    }

    /// Waits until the hub has handled everything sent before, and the futures those spawned
    /// that are ready.
    async fn settle(&self) {
        for _ in 0..3 {
            let _ = self.hub.send(LocalRooms).await;
            tokio::task::yield_now().await;
        }
    }

    async fn stored_connected(&self, user: &str) -> Option<bool> {
        let found = self
            .sessions
            .send(FindSession(format!("session-{user}")))
            .await
            .expect("store alive")
            .expect("memory store");
        found.map(|s| s.connected)
    }
}

fn event(name: &str) -> Arc<OutboundEvent> {
    OutboundEvent::new(name, vec![serde_json::json!("x")])
}

// ---------------------------------------------------------------------------------------
// Join, broadcast, leave.

#[actix::test]
async fn a_broadcast_reaches_the_selected_local_sockets_and_the_cluster() {
    let h = harness(FakeCluster::default(), RecoveryConfig::OFF);
    let (_, mut a1) = h.join("a1", "alice").await;
    let (_, mut a2) = h.join("a2", "alice").await;
    let (_, mut b1) = h.join("b1", "bob").await;
    h.hub.do_send(Broadcast {
        rooms: Vec::new(),
        except: vec!["a1".into()],
        event: event("hello"),
    });
    assert_eq!(a2.next().await, r#"42["hello","x"]"#);
    assert_eq!(b1.next().await, r#"42["hello","x"]"#);
    h.hub.do_send(Broadcast {
        rooms: vec!["bob".into()],
        except: Vec::new(),
        event: event("to bob"),
    });
    assert_eq!(b1.next().await, r#"42["to bob","x"]"#);
    h.settle().await;
    assert!(a1.drain().is_empty(), "excluded, then not selected");
    assert!(a2.drain().is_empty(), "not in bob's room");
    assert_eq!(
        h.cluster.published(),
        [
            (vec![], vec!["a1".to_string()], "hello".to_string()),
            (vec!["bob".to_string()], vec![], "to bob".to_string()),
        ]
    );
}

#[actix::test]
async fn a_users_first_socket_waits_for_its_room_and_tells_the_cluster() {
    let cluster = FakeCluster::default();
    let (subscribed, waiting) = oneshot::channel();
    cluster.lock().subscriptions.push(waiting);
    let h = harness(cluster, RecoveryConfig::OFF);
    let joining = {
        let hub = h.hub.clone();
        let (outbox, _inbox) = tab();
        tokio::spawn(async move {
            hub.send(Join {
                socket_id: "a1".into(),
                user_id: "alice".into(),
                session_id: "session-alice".into(),
                username: "name-alice".into(),
                outbox,
            })
            .await
        })
    };
    h.settle().await;
    assert!(
        !joining.is_finished(),
        "the join waits for the room's subscription"
    );
    subscribed.send(()).expect("join still waiting");
    joining.await.expect("join task").expect("hub alive");
    // A second tab of the same user changes neither the rooms nor the live users.
    h.join("a2", "alice").await;
    let state = h.cluster.lock();
    assert_eq!(state.gained, ["alice"]);
    assert_eq!(
        state.presence,
        [LocalPresence::Online {
            user_id: "alice".into(),
            session_id: "session-alice".into(),
            username: "name-alice".into(),
        }]
    );
}

// ---------------------------------------------------------------------------------------
// The presence grace.

const GRACE: Duration = Duration::from_millis(200);

#[actix::test]
async fn a_tab_back_within_its_grace_is_announced_neither_gone_nor_again() {
    let h = harness_with_grace(FakeCluster::default(), RecoveryConfig::OFF, GRACE);
    h.join("a1", "alice").await;
    let (_, mut bob) = h.join("b1", "bob").await;
    h.drop_tab("a1", "alice");
    h.settle().await;
    assert!(h.cluster.lock().grace_markers.contains("alice"));
    let (joined, _a2) = h.join_tab("a2", "alice").await;
    assert!(
        !joined.announce,
        "back within the grace: no second `user connected`"
    );
    assert!(
        !h.cluster.lock().grace_markers.contains("alice"),
        "the marker goes with the grace"
    );
    // The grace's timer fires (the wait is the subject of the test) and decides nothing.
    actix::clock::sleep(GRACE * 2).await;
    h.settle().await;
    assert!(bob.drain().is_empty(), "nobody heard alice leave");
    let state = h.cluster.lock();
    assert!(state.asked.is_empty(), "nobody was asked about alice");
    assert!(
        !state.presence.contains(&LocalPresence::Offline {
            user_id: "alice".into()
        }),
        "alice stayed on this node's list"
    );
}

#[actix::test]
async fn a_tab_that_stays_away_is_announced_once_when_its_grace_is_over() {
    let h = harness_with_grace(FakeCluster::default(), RecoveryConfig::OFF, GRACE);
    h.join("a1", "alice").await;
    let (_, mut bob) = h.join("b1", "bob").await;
    let dropped = std::time::Instant::now();
    h.drop_tab("a1", "alice");
    h.settle().await;
    assert!(bob.drain().is_empty(), "not during the grace");
    assert!(h.cluster.lock().asked.is_empty());
    assert_eq!(bob.next().await, r#"42["user disconnected","alice"]"#);
    assert!(dropped.elapsed() >= GRACE, "announced only after the grace");
    h.settle().await;
    assert_eq!(h.cluster.lock().asked, [vec!["alice".to_string()]]);
    assert_eq!(h.stored_connected("alice").await, Some(false));
    // Still nothing more for bob: one announcement. A fresh join announces the user again.
    assert!(bob.drain().is_empty());
    let (joined, _a2) = h.join_tab("a2", "alice").await;
    assert!(joined.announce);
}

#[actix::test]
async fn an_explicit_disconnect_is_announced_at_once_despite_the_grace() {
    let h = harness_with_grace(
        FakeCluster::default(),
        RecoveryConfig::OFF,
        Duration::from_secs(60),
    );
    h.join("a1", "alice").await;
    let (_, mut bob) = h.join("b1", "bob").await;
    h.leave("a1", "alice");
    // `next` waits 1 s at most: far less than the grace.
    assert_eq!(bob.next().await, r#"42["user disconnected","alice"]"#);
    assert!(h.cluster.lock().grace_markers.is_empty());
}

#[actix::test]
async fn a_user_back_on_another_node_is_that_nodes_and_the_first_forgets_it_silently() {
    let cluster = FakeCluster::default();
    let first = harness_with_grace(cluster.clone(), RecoveryConfig::OFF, GRACE);
    let second = harness_with_grace(cluster.clone(), RecoveryConfig::OFF, GRACE);
    first.join("a1", "alice").await;
    let (_, mut bob) = first.join("b1", "bob").await;
    first.drop_tab("a1", "alice");
    first.settle().await;
    let (joined, _a2) = second.join_tab("a2", "alice").await;
    assert!(!joined.announce, "the other node's grace was taken over");
    actix::clock::sleep(GRACE * 2).await;
    first.settle().await;
    assert!(bob.drain().is_empty(), "nobody heard alice leave");
    let state = cluster.lock();
    assert!(state.asked.is_empty(), "the first node asked nothing");
    assert!(
        state.presence.contains(&LocalPresence::Offline {
            user_id: "alice".into()
        }),
        "the first node dropped alice from its list"
    );
}

// ---------------------------------------------------------------------------------------
// The last tab (presence's handler on the hub).

#[actix::test]
async fn only_the_last_tab_leaving_asks_the_cluster_and_announces_the_user() {
    let h = harness(FakeCluster::default(), RecoveryConfig::OFF);
    h.join("a1", "alice").await;
    h.join("a2", "alice").await;
    let (_, mut bob) = h.join("b1", "bob").await;
    h.leave("a1", "alice");
    h.settle().await;
    assert!(
        h.cluster.lock().asked.is_empty(),
        "alice still has a tab here"
    );
    assert!(bob.drain().is_empty());
    h.leave("a2", "alice");
    assert_eq!(bob.next().await, r#"42["user disconnected","alice"]"#);
    h.settle().await;
    {
        let state = h.cluster.lock();
        assert_eq!(state.asked, [vec!["alice".to_string()]]);
        assert_eq!(state.lost, ["alice"]);
        assert_eq!(
            state.presence.last(),
            Some(&LocalPresence::Offline {
                user_id: "alice".into()
            })
        );
    }
    assert_eq!(h.stored_connected("alice").await, Some(false));
    assert_eq!(
        h.cluster.published().last(),
        Some(&(vec![], vec![], "user disconnected".to_string()))
    );
}

#[actix::test]
async fn a_tab_elsewhere_or_an_unknown_answer_announces_nothing() {
    let h = harness(FakeCluster::default(), RecoveryConfig::OFF);
    let (_, mut bob) = h.join("b1", "bob").await;
    for answer in [Some(1), None] {
        h.join("a1", "alice").await;
        let reply = h.cluster.hold_next_answer();
        h.leave("a1", "alice");
        h.settle().await;
        assert_eq!(
            h.hub.send(crate::presence::PendingChecks).await.ok(),
            Some(1)
        );
        reply.send(answer).expect("question pending");
        h.settle().await;
        assert_eq!(
            h.hub.send(crate::presence::PendingChecks).await.ok(),
            Some(0)
        );
    }
    // A positive sync point: an announcement that must arrive, after the two that must not.
    h.hub.do_send(Broadcast {
        rooms: Vec::new(),
        except: Vec::new(),
        event: event("after"),
    });
    assert_eq!(bob.next().await, r#"42["after","x"]"#);
    assert_eq!(
        h.stored_connected("alice").await,
        None,
        "never saved disconnected"
    );
}

#[actix::test]
async fn a_user_back_before_the_answer_is_not_announced() {
    let h = harness(FakeCluster::default(), RecoveryConfig::OFF);
    let (_, mut bob) = h.join("b1", "bob").await;
    h.join("a1", "alice").await;
    let reply = h.cluster.hold_next_answer();
    h.leave("a1", "alice");
    h.settle().await;
    h.join("a2", "alice").await;
    reply.send(Some(0)).expect("question pending");
    h.settle().await;
    h.hub.do_send(Broadcast {
        rooms: Vec::new(),
        except: Vec::new(),
        event: event("after"),
    });
    assert_eq!(
        bob.next().await,
        r#"42["after","x"]"#,
        "no departure before it"
    );
}

// ---------------------------------------------------------------------------------------
// Private messages.

fn message(from: &str, to: &str, content: &str) -> StoredMessage {
    StoredMessage {
        content: content.into(),
        from: from.into(),
        to: to.into(),
        id: Some(format!("id-{content}")),
        ts: Some(1),
    }
}

#[actix::test]
async fn a_private_message_reaches_the_recipient_and_the_senders_other_tabs_only() {
    for per_room in [false, true] {
        let cluster = FakeCluster {
            per_room,
            ..FakeCluster::default()
        };
        let h = harness(cluster, RecoveryConfig::OFF);
        let (_, mut a1) = h.join("a1", "alice").await;
        let (_, mut a2) = h.join("a2", "alice").await;
        let (_, mut b1) = h.join("b1", "bob").await;
        let message = message("alice", "bob", "hi");
        let payload = serde_json::to_value(&message).unwrap_or_default();
        route_private(
            &h.delivery,
            &h.cluster,
            ("bob", "alice"),
            "a1",
            OutboundEvent::new("private message", vec![payload]),
        );
        let expected = r#"42["private message",{"content":"hi","from":"alice","to":"bob","id":"id-hi","ts":1}]"#;
        assert_eq!(b1.next().await, expected);
        assert_eq!(a2.next().await, expected);
        assert!(a1.drain().is_empty(), "never back to the sending socket");
        let published = h.cluster.published();
        let except = vec!["a1".to_string()];
        let name = "private message".to_string();
        if per_room {
            assert_eq!(
                published,
                [
                    (vec!["bob".to_string()], except.clone(), name.clone()),
                    (vec!["alice".to_string()], except, name),
                ]
            );
        } else {
            assert_eq!(
                published,
                [(vec!["bob".to_string(), "alice".to_string()], except, name)]
            );
        }
    }
}

#[actix::test]
async fn is_online_asks_the_cluster_only_for_users_without_a_local_socket() {
    let h = harness(FakeCluster::default(), RecoveryConfig::OFF);
    h.join("a1", "alice").await;
    let here = h.hub.send(IsOnline {
        user_id: "alice".into(),
    });
    assert_eq!(here.await.ok(), Some(Some(true)));
    let reply = h.cluster.hold_next_answer();
    let elsewhere = h.hub.send(IsOnline {
        user_id: "carol".into(),
    });
    reply.send(Some(2)).expect("question pending");
    assert_eq!(elsewhere.await.ok(), Some(Some(true)));
    assert_eq!(h.cluster.lock().asked, [vec!["carol".to_string()]]);
}

// ---------------------------------------------------------------------------------------
// Recovery's handlers on the hub.

fn recovery_on() -> RecoveryConfig {
    RecoveryConfig {
        window: Duration::from_secs(60),
        max_events: 10,
    }
}

fn park(socket: &str, user: &str, pid: &str) -> Park {
    Park {
        pid: pid.into(),
        socket_id: socket.into(),
        session_id: format!("session-{user}"),
        user_id: user.into(),
        username: format!("name-{user}"),
    }
}

#[actix::test]
async fn a_parked_socket_comes_back_with_what_it_missed_and_its_room_kept() {
    let h = harness(FakeCluster::default(), recovery_on());
    let (offset, _gone) = h.join("a1", "alice").await;
    let offset = offset.expect("recovery on: the join hands out an offset");
    let (_, mut bob) = h.join("b1", "bob").await;
    h.hub.do_send(park("a1", "alice", "pid-1"));
    h.leave("a1", "alice");
    assert!(bob
        .next()
        .await
        .starts_with(r#"42["user disconnected","alice","#));
    h.hub.do_send(Broadcast {
        rooms: vec!["alice".into()],
        except: Vec::new(),
        event: event("for alice"),
    });
    h.hub.do_send(Broadcast {
        rooms: vec!["bob".into()],
        except: Vec::new(),
        event: event("for bob"),
    });
    assert!(bob.next().await.starts_with(r#"42["for bob","x","#));
    h.settle().await;
    assert!(
        h.cluster.lock().lost.is_empty(),
        "a parked socket keeps its user room subscribed"
    );
    assert_eq!(
        h.hub
            .send(Restore {
                pid: "pid-1".into(),
                offset: offset.clone(),
                session_id: Some("session-other".into()),
                outbox: tab().0,
            })
            .await
            .ok()
            .map(|r| r.err()),
        Some(Some(Unrecoverable::ForeignSession)),
        "a pid with another session's id stays parked for its owner"
    );
    let (outbox, mut back) = tab();
    outbox.hold();
    let restored = h
        .hub
        .send(Restore {
            pid: "pid-1".into(),
            offset,
            session_id: Some("session-alice".into()),
            outbox: outbox.clone(),
        })
        .await
        .expect("hub alive")
        .unwrap_or_else(|e| panic!("restored: {e}"));
    assert_eq!(restored.session.socket_id, "a1");
    assert!(restored.announce, "alice had been announced gone");
    let missed: Vec<String> = restored
        .missed
        .iter()
        .map(|frames| match &frames[0] {
            Frame::Text(text) => text.to_string(),
            Frame::Binary(_) => panic!("text expected"),
        })
        .collect();
    assert_eq!(
        missed.len(),
        2,
        "its departure and the message to its room: {missed:?}"
    );
    assert!(missed[0].starts_with(r#"42["user disconnected","alice","#));
    assert!(missed[1].starts_with(r#"42["for alice","x","#));
    outbox.release(restored.replayed);
    // Rejoined: live again.
    h.hub.do_send(Broadcast {
        rooms: vec!["alice".into()],
        except: Vec::new(),
        event: event("live"),
    });
    assert!(back.next().await.starts_with(r#"42["live","x","#));
    // Used up.
    let again = h
        .hub
        .send(Restore {
            pid: "pid-1".into(),
            offset: "x".into(),
            session_id: None,
            outbox: tab().0,
        })
        .await
        .expect("hub alive");
    assert_eq!(again.err(), Some(Unrecoverable::UnknownPid));
}

#[actix::test]
async fn without_recovery_nothing_is_parked_or_stamped() {
    let h = harness(FakeCluster::default(), RecoveryConfig::OFF);
    let (offset, _) = h.join("a1", "alice").await;
    assert_eq!(offset, None);
    let (_, mut bob) = h.join("b1", "bob").await;
    h.hub.do_send(park("a1", "alice", "pid-1"));
    h.leave("a1", "alice");
    assert_eq!(bob.next().await, r#"42["user disconnected","alice"]"#);
    let restored = h
        .hub
        .send(Restore {
            pid: "pid-1".into(),
            offset: "anything".into(),
            session_id: None,
            outbox: tab().0,
        })
        .await
        .expect("hub alive");
    assert_eq!(restored.err(), Some(Unrecoverable::UnknownPid));
}
