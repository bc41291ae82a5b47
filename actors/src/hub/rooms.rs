//! Which local sockets are in which rooms. A socket is always in the room named by its own
//! socket id (that is how a sender excludes itself from a broadcast) and, in the chat, in the
//! room named by its userID.
//!
//! The maps hash with foldhash instead of SipHash: every routed message looks up its rooms and
//! sockets here, and SipHash was 5 % of a delivered message's instructions (callgrind). Every
//! key is an id the server generated (socket ids, userIDs), so a client cannot choose keys to
//! collide; foldhash is still seeded per process.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::Arc;

/// Room membership of the local sockets of one namespace.
pub struct Rooms<S> {
    sockets: HashMap<Arc<str>, Member<S>>,
    rooms: HashMap<Arc<str>, HashSet<Arc<str>>>,
}

struct Member<S> {
    rooms: Vec<Arc<str>>,
    handle: S,
}

impl<S> Default for Rooms<S> {
    fn default() -> Self {
        Rooms {
            sockets: HashMap::new(),
            rooms: HashMap::new(),
        }
    }
}

impl<S> Rooms<S> {
    /// Adds a socket to its own room and to `rooms`.
    pub fn join(&mut self, socket_id: &str, rooms: &[&str], handle: S) {
        self.leave(socket_id);
        let id: Arc<str> = Arc::from(socket_id);
        let mut member_rooms = Vec::with_capacity(rooms.len() + 1);
        member_rooms.push(id.clone());
        member_rooms.extend(
            rooms
                .iter()
                .filter(|r| **r != socket_id)
                .map(|r| Arc::from(*r)),
        );
        for room in &member_rooms {
            self.rooms
                .entry(room.clone())
                .or_default()
                .insert(id.clone());
        }
        self.sockets.insert(
            id,
            Member {
                rooms: member_rooms,
                handle,
            },
        );
    }

    /// Removes a socket from every room; returns its handle if it was present.
    pub fn leave(&mut self, socket_id: &str) -> Option<S> {
        let member = self.sockets.remove(socket_id)?;
        for room in &member.rooms {
            if let Some(set) = self.rooms.get_mut(room) {
                set.remove(socket_id);
                if set.is_empty() {
                    self.rooms.remove(room);
                }
            }
        }
        Some(member.handle)
    }

    /// Number of local sockets in `room`.
    pub fn room_size(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, HashSet::len)
    }

    /// Ids of the sockets in any of `rooms` (every socket when `rooms` is empty), minus those in
    /// any room of `except`: the recipients of a broadcast, as Node's adapter computes them.
    pub fn select(&self, rooms: &[String], except: &[String]) -> Vec<(&str, &S)> {
        let excluded_member = |m: &Member<S>| -> bool {
            m.rooms
                .iter()
                .any(|r| except.iter().any(|e| e.as_str() == &**r))
        };
        let excluded = |id: &str| -> bool {
            !except.is_empty() && self.sockets.get(id).is_some_and(excluded_member)
        };
        if rooms.is_empty() {
            // Everyone: walk the sockets themselves, no lookup per recipient.
            return self
                .sockets
                .iter()
                .filter(|(_, member)| except.is_empty() || !excluded_member(member))
                .map(|(id, member)| (&**id, &member.handle))
                .collect();
        }
        let mut out = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for room in rooms {
            let Some(set) = self.rooms.get(room.as_str()) else {
                continue;
            };
            for id in set {
                if seen.insert(id) && !excluded(id) {
                    if let Some(member) = self.sockets.get(&**id) {
                        out.push((&**id, &member.handle));
                    }
                }
            }
        }
        out
    }

    /// Calls `f` with the handle of every socket [`Rooms::select`] would select, each once,
    /// without collecting them (the path of every delivered message).
    pub fn visit(&self, rooms: &[String], except: &[String], mut f: impl FnMut(&S)) {
        let excluded = |m: &Member<S>| -> bool {
            !except.is_empty()
                && m.rooms
                    .iter()
                    .any(|r| except.iter().any(|e| e.as_str() == &**r))
        };
        if rooms.is_empty() {
            for member in self.sockets.values() {
                if !excluded(member) {
                    f(&member.handle);
                }
            }
            return;
        }
        for (at, room) in rooms.iter().enumerate() {
            let Some(set) = self.rooms.get(room.as_str()) else {
                continue;
            };
            for id in set {
                let Some(member) = self.sockets.get(&**id) else {
                    continue;
                };
                // A socket in several of `rooms` is visited once: for the first of them.
                let seen = rooms[..at]
                    .iter()
                    .any(|earlier| member.rooms.iter().any(|r| **r == **earlier));
                if !seen && !excluded(member) {
                    f(&member.handle);
                }
            }
        }
    }

    /// Every room that has a local member (socket-id rooms included, as Node reports them).
    pub fn all_rooms(&self) -> Vec<String> {
        self.rooms.keys().map(|r| r.to_string()).collect()
    }

    /// The rooms of one local socket.
    pub fn rooms_of(&self, socket_id: &str) -> Vec<String> {
        self.sockets
            .get(socket_id)
            .map(|m| m.rooms.iter().map(|r| r.to_string()).collect())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(rooms: &Rooms<u8>, r: &[&str], e: &[&str]) -> Vec<String> {
        let r: Vec<String> = r.iter().map(|s| s.to_string()).collect();
        let e: Vec<String> = e.iter().map(|s| s.to_string()).collect();
        let mut v: Vec<String> = rooms
            .select(&r, &e)
            .into_iter()
            .map(|(id, _)| id.to_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn selects_like_nodes_adapter() {
        let mut rooms = Rooms::default();
        rooms.join("a1", &["alice"], 1);
        rooms.join("a2", &["alice"], 2);
        rooms.join("b1", &["bob"], 3);
        assert_eq!(ids(&rooms, &[], &[]), ["a1", "a2", "b1"]);
        assert_eq!(ids(&rooms, &[], &["a1"]), ["a2", "b1"]);
        assert_eq!(ids(&rooms, &["bob", "alice"], &["a1"]), ["a2", "b1"]);
        assert_eq!(ids(&rooms, &["alice"], &["alice"]), Vec::<String>::new());
        assert_eq!(ids(&rooms, &["nobody"], &[]), Vec::<String>::new());
        let visited = |r: &[&str], e: &[&str]| {
            let r: Vec<String> = r.iter().map(|s| s.to_string()).collect();
            let e: Vec<String> = e.iter().map(|s| s.to_string()).collect();
            let mut v = Vec::new();
            rooms.visit(&r, &e, |handle| v.push(*handle));
            v.sort();
            v
        };
        assert_eq!(
            visited(&["bob", "alice"], &["a1"]),
            [2, 3],
            "as select does"
        );
        assert_eq!(visited(&["alice", "a1"], &[]), [1, 2], "a1 once");
        assert_eq!(visited(&[], &["alice"]), [3]);
        assert_eq!(rooms.room_size("alice"), 2);
        assert_eq!(rooms.leave("a1"), Some(1));
        assert_eq!(rooms.room_size("alice"), 1);
        assert_eq!(rooms.leave("a1"), None);
        rooms.leave("a2");
        assert_eq!(rooms.room_size("alice"), 0);
        assert!(!rooms.all_rooms().contains(&"alice".to_string()));
    }
}
