//! What a node knows of its peers (the other nodes of ours), from their heartbeats alone: who
//! is alive, and which users each one holds. This table lives in memory, so it survives Redis
//! restarting empty: a node killed right after such a restart, before it could write its keys
//! again, is still known here and its users still get announced.
//!
//! - A peer is **live** while it was heard within the heartbeat TTL. Silence is counted from
//!   the later of its last heartbeat and our own last (re)subscription: while we are cut off
//!   from Redis we hear nobody, and that says nothing about the others.
//! - A peer is **silent** (dead) once it was not heard for a whole TTL while we were
//!   subscribed; the reaper then announces its users (see `reaper.rs`).
//! - Its users: a copy of `chat:node:<instance>:users`, kept current by the changes its
//!   heartbeats carry (applied when they start from the version we hold), and re-read when a
//!   heartbeat carries a version we cannot reach that way, at most once per refresh period (a
//!   connect storm changes the list at every flush).

use super::heartbeat::{Heartbeat, ListChanges};
use super::keys::LiveUserEntry;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct PeerTable {
    me: String,
    ttl: Duration,
    refresh_every: Duration,
    peers: HashMap<String, Peer>,
    /// Since when our subscription is up; `None` while it is down.
    subscribed_since: Option<Instant>,
    /// Since when our subscription is down; `None` while it is up.
    lost_since: Option<Instant>,
    /// When our own last heartbeat came back to us: the last moment we know the other nodes
    /// heard us (they judge us by the same heartbeats).
    last_own_echo: Option<Instant>,
}

#[derive(Debug)]
struct Peer {
    /// The node id its broadcasts carry.
    uid: String,
    last_heard: Instant,
    /// Version of its last heartbeat.
    version: u64,
    /// Version of `users` (`None`: never read).
    users_version: Option<u64>,
    users: HashMap<String, LiveUserEntry>,
    fetching: bool,
    last_fetch: Option<Instant>,
    /// Changes heard while a read of the list was in flight, applied once it lands (the read
    /// may be older than they are).
    pending: Vec<(u64, ListChanges)>,
}

impl Peer {
    /// Applies `changes` (bringing the list to `version`) if they start from the version held.
    fn apply(&mut self, version: u64, changes: &ListChanges) -> bool {
        if self.users_version != Some(changes.since) {
            return false;
        }
        for (id, entry) in &changes.set {
            self.users.insert(id.clone(), entry.clone());
        }
        for id in &changes.removed {
            self.users.remove(id);
        }
        self.users_version = Some(version);
        true
    }
}

impl PeerTable {
    /// `me`: our own instance (our heartbeats come back to us and are ignored).
    pub fn new(me: &str, ttl: Duration, refresh_every: Duration) -> PeerTable {
        PeerTable {
            me: me.to_owned(),
            ttl,
            refresh_every,
            peers: HashMap::new(),
            subscribed_since: None,
            lost_since: None,
            last_own_echo: None,
        }
    }

    /// Records `beat`; returns whether its user list should be read now.
    pub fn heard(&mut self, beat: &Heartbeat, now: Instant) -> bool {
        if beat.instance == self.me {
            self.last_own_echo = Some(now);
            return false;
        }
        let peer = self
            .peers
            .entry(beat.instance.clone())
            .or_insert_with(|| Peer {
                uid: beat.uid.clone(),
                last_heard: now,
                version: beat.version,
                users_version: None,
                users: HashMap::new(),
                fetching: false,
                last_fetch: None,
                pending: Vec::new(),
            });
        peer.last_heard = now;
        peer.version = beat.version;
        if let Some(changes) = &beat.changes {
            if !peer.apply(beat.version, changes) && peer.fetching {
                peer.pending.push((beat.version, changes.clone()));
            }
        }
        if beat.users == 0 {
            // Nothing to read: the list is empty.
            peer.users.clear();
            peer.users_version = Some(beat.version);
        }
        let due = peer
            .last_fetch
            .is_none_or(|at| now.duration_since(at) >= self.refresh_every);
        let stale = peer.users_version != Some(beat.version);
        if stale && due && !peer.fetching {
            peer.fetching = true;
            peer.last_fetch = Some(now);
            return true;
        }
        false
    }

    /// The user list of `instance` read at heartbeat version `version` (or `None` on failure).
    pub fn fetched(
        &mut self,
        instance: &str,
        version: u64,
        users: Option<HashMap<String, LiveUserEntry>>,
    ) {
        let Some(peer) = self.peers.get_mut(instance) else {
            return;
        };
        peer.fetching = false;
        // A list read at an older version than the changes applied meanwhile is stale.
        let older = peer.users_version.is_some_and(|held| held > version);
        if let (Some(users), false) = (users, older) {
            peer.users = users;
            peer.users_version = Some(version);
        }
        // What was heard during the read, in order (applying a change the read already saw
        // changes nothing).
        for (version, changes) in std::mem::take(&mut peer.pending) {
            peer.apply(version, &changes);
        }
    }

    /// Peers whose list is older than their last heartbeat and may be read again now.
    pub fn due_refreshes(&mut self, now: Instant) -> Vec<(String, u64)> {
        let mut due = Vec::new();
        for (instance, peer) in &mut self.peers {
            let stale = peer.users_version != Some(peer.version);
            let ready = peer
                .last_fetch
                .is_none_or(|at| now.duration_since(at) >= self.refresh_every);
            if stale && ready && !peer.fetching {
                peer.fetching = true;
                peer.last_fetch = Some(now);
                due.push((instance.clone(), peer.version));
            }
        }
        due
    }

    /// Our subscription came up (`true`) or went down; returns, when it came up, how long the
    /// other nodes may have gone without hearing us: since our last heartbeat that came back
    /// to us before the loss (the loss is only noticed seconds later, by a failed PING), or
    /// since the loss was noticed if none ever did.
    pub fn subscription(&mut self, up: bool, now: Instant) -> Option<Duration> {
        if up {
            self.subscribed_since = Some(now);
            self.lost_since
                .take()
                .map(|at| now.saturating_duration_since(at))
        } else {
            self.subscribed_since = None;
            let last_sign = self.last_own_echo.map_or(now, |echo| echo.min(now));
            self.lost_since.get_or_insert(last_sign);
            None
        }
    }

    /// How long `peer` has been silent while we could have heard it.
    fn silence(&self, peer: &Peer, now: Instant) -> Duration {
        let since = match self.subscribed_since {
            Some(subscribed) => peer.last_heard.max(subscribed),
            None => now, // We hear nobody: nobody is silent.
        };
        now.saturating_duration_since(since)
    }

    /// Instances of the peers still live (heard within the TTL, or within the TTL after we
    /// subscribed again).
    pub fn live(&self, now: Instant) -> Vec<String> {
        self.peers
            .iter()
            .filter(|(_, peer)| self.silence(peer, now) < self.ttl)
            .map(|(instance, _)| instance.clone())
            .collect()
    }

    /// The node ids (`uid`s) of the live peers, sorted.
    pub fn live_uids(&self, now: Instant) -> Vec<String> {
        let mut uids: Vec<String> = self
            .peers
            .values()
            .filter(|peer| self.silence(peer, now) < self.ttl)
            .map(|peer| peer.uid.clone())
            .collect();
        uids.sort();
        uids.dedup();
        uids
    }

    /// For each live peer's node id (`uid`), how many users its last read list held (0 when
    /// never read yet), sorted by node id.
    pub fn live_user_counts(&self, now: Instant) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = self
            .peers
            .values()
            .filter(|peer| self.silence(peer, now) < self.ttl)
            .map(|peer| (peer.uid.clone(), peer.users.len()))
            .collect();
        counts.sort();
        counts.dedup_by(|a, b| a.0 == b.0);
        counts
    }

    /// Peers silent for a whole TTL, with the users they were last known to hold.
    pub fn silent(&self, now: Instant) -> Vec<(String, HashMap<String, LiveUserEntry>)> {
        self.peers
            .iter()
            .filter(|(_, peer)| self.silence(peer, now) >= self.ttl)
            .map(|(instance, peer)| (instance.clone(), peer.users.clone()))
            .collect()
    }

    /// The users `instance` was last known to hold (empty if unknown).
    pub fn users_of(&self, instance: &str) -> Option<&HashMap<String, LiveUserEntry>> {
        self.peers.get(instance).map(|peer| &peer.users)
    }

    /// Drops a peer that was reaped (it is re-learnt from its next heartbeat, should it come
    /// back).
    pub fn forget(&mut self, instance: &str) {
        self.peers.remove(instance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(6);

    fn beat(instance: &str, version: u64, users: usize) -> Heartbeat {
        Heartbeat {
            instance: instance.into(),
            uid: instance.split('.').next().unwrap_or_default().into(),
            version,
            users,
            changes: None,
        }
    }

    fn entry(session: &str) -> LiveUserEntry {
        LiveUserEntry {
            session_id: session.into(),
            username: session.into(),
        }
    }

    #[test]
    fn a_peer_is_live_until_silent_for_a_whole_ttl_while_we_listen() {
        let t0 = Instant::now();
        let mut table = PeerTable::new("me.1", TTL, Duration::from_secs(2));
        table.subscription(true, t0);
        assert!(!table.heard(&beat("me.1", 1, 1), t0), "our own heartbeat");
        table.heard(&beat("n2.a", 1, 0), t0);
        assert_eq!(table.live(t0 + Duration::from_secs(5)), vec!["n2.a"]);
        assert_eq!(table.live_uids(t0 + Duration::from_secs(5)), vec!["n2"]);
        assert!(table.silent(t0 + Duration::from_secs(5)).is_empty());
        assert_eq!(table.silent(t0 + TTL).len(), 1);
        assert!(table.live(t0 + TTL).is_empty());
        assert!(table.live_uids(t0 + TTL).is_empty());
    }

    #[test]
    fn live_user_counts_name_each_live_peer_with_its_last_read_list() {
        let t0 = Instant::now();
        let mut table = PeerTable::new("me.1", TTL, Duration::from_secs(2));
        table.subscription(true, t0);
        table.heard(&beat("n2.a", 1, 2), t0);
        table.heard(&beat("n3.b", 1, 0), t0);
        assert_eq!(
            table.live_user_counts(t0),
            vec![("n2".to_owned(), 0), ("n3".to_owned(), 0)],
            "not read yet"
        );
        let users = HashMap::from([
            ("u1".to_owned(), entry("s1")),
            ("u2".to_owned(), entry("s2")),
        ]);
        table.fetched("n2.a", 1, Some(users));
        assert_eq!(
            table.live_user_counts(t0 + Duration::from_secs(1)),
            vec![("n2".to_owned(), 2), ("n3".to_owned(), 0)]
        );
        assert!(
            table.live_user_counts(t0 + TTL).is_empty(),
            "silent peers are left out"
        );
    }

    #[test]
    fn a_loss_counts_from_our_last_heartbeat_that_came_back() {
        let t0 = Instant::now();
        let mut table = PeerTable::new("me.1", TTL, Duration::from_secs(2));
        table.subscription(true, t0);
        table.heard(&beat("me.1", 1, 1), t0 + Duration::from_secs(1));
        // The loss is noticed 4 s after the last echo (a failed PING); the others stopped
        // hearing us at the echo.
        table.subscription(false, t0 + Duration::from_secs(5));
        assert_eq!(
            table.subscription(true, t0 + Duration::from_secs(8)),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn silence_while_we_are_cut_off_does_not_count() {
        let t0 = Instant::now();
        let mut table = PeerTable::new("me.1", TTL, Duration::from_secs(2));
        table.subscription(true, t0);
        table.heard(&beat("n2.a", 1, 0), t0);
        table.subscription(false, t0 + Duration::from_secs(1));
        let back = t0 + Duration::from_secs(20);
        assert!(
            table.silent(back).is_empty(),
            "we heard nobody: nobody is silent"
        );
        assert_eq!(
            table.subscription(true, back),
            Some(Duration::from_secs(19))
        );
        assert_eq!(table.live(back + Duration::from_secs(5)), vec!["n2.a"]);
        assert_eq!(
            table.silent(back + TTL).len(),
            1,
            "silent a whole TTL since"
        );
    }

    #[test]
    fn the_changes_a_heartbeat_carries_keep_the_list_current_without_a_read() {
        let t0 = Instant::now();
        let mut table = PeerTable::new("me.1", TTL, Duration::from_secs(2));
        table.subscription(true, t0);
        assert!(table.heard(&beat("n2.a", 1, 1), t0));
        table.fetched(
            "n2.a",
            1,
            Some(HashMap::from([("u1".to_owned(), entry("s1"))])),
        );
        let changed = |since, version, set: &[&str], removed: &[&str]| Heartbeat {
            changes: Some(ListChanges {
                since,
                set: set.iter().map(|u| (u.to_string(), entry(u))).collect(),
                removed: removed.iter().map(|u| u.to_string()).collect(),
            }),
            ..beat("n2.a", version, 2)
        };
        let soon = t0 + Duration::from_millis(100);
        assert!(
            !table.heard(&changed(1, 2, &["u2"], &["u1"]), soon),
            "no read needed"
        );
        let users = table.users_of("n2.a").unwrap();
        assert!(users.contains_key("u2") && !users.contains_key("u1"));
        // A gap (version 3 never heard): the change cannot apply; read when due.
        assert!(!table.heard(&changed(3, 4, &["u3"], &[]), soon));
        assert!(!table.users_of("n2.a").unwrap().contains_key("u3"));
        assert_eq!(
            table.due_refreshes(t0 + Duration::from_secs(2)),
            vec![("n2.a".into(), 4)]
        );
        // A read of an older version than the one held is not taken.
        table.fetched("n2.a", 1, Some(HashMap::new()));
        assert!(table.users_of("n2.a").unwrap().contains_key("u2"));
        // Changes heard while a read is in flight are applied once it lands.
        let mut table = PeerTable::new("me.1", TTL, Duration::from_secs(2));
        table.subscription(true, t0);
        assert!(table.heard(&beat("n2.a", 1, 1), t0), "a read starts");
        assert!(!table.heard(&changed(1, 2, &["late"], &[]), soon));
        table.fetched(
            "n2.a",
            1,
            Some(HashMap::from([("u1".to_owned(), entry("s1"))])),
        );
        let users = table.users_of("n2.a").unwrap();
        assert!(users.contains_key("late") && users.contains_key("u1"));
    }

    #[test]
    fn user_lists_are_read_on_new_versions_at_most_once_per_period() {
        let t0 = Instant::now();
        let refresh = Duration::from_secs(2);
        let mut table = PeerTable::new("me.1", TTL, refresh);
        table.subscription(true, t0);
        assert!(table.heard(&beat("n2.a", 1, 1), t0), "first list is read");
        assert!(!table.heard(&beat("n2.a", 2, 2), t0), "one read at a time");
        let users = HashMap::from([("u1".to_owned(), entry("s1"))]);
        table.fetched("n2.a", 1, Some(users));
        assert!(
            !table.heard(&beat("n2.a", 3, 2), t0 + Duration::from_millis(100)),
            "not again within the refresh period"
        );
        assert!(table.due_refreshes(t0 + Duration::from_secs(1)).is_empty());
        assert_eq!(table.due_refreshes(t0 + refresh), vec![("n2.a".into(), 3)]);
        assert_eq!(table.users_of("n2.a").unwrap().len(), 1);
        table.fetched("n2.a", 3, None);
        table.heard(&beat("n2.a", 4, 0), t0 + refresh);
        assert!(
            table.users_of("n2.a").unwrap().is_empty(),
            "an empty list needs no read"
        );
        table.forget("n2.a");
        assert!(table.users_of("n2.a").is_none());
    }
}
