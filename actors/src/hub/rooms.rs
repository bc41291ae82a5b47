//! Which local sockets are in which rooms. A socket is always in the room named by its own
//! socket id (that is how a sender excludes itself from a broadcast) and, in the chat, in the
//! room named by its userID.
//!
//! A socket's own room is not stored as a room: its one member is the socket of that id, so
//! `sockets` answers for it, and every idle user saved a one-member set and an entry of the
//! room map (about 200 bytes of the hub's memory per connection). `rooms` holds the other
//! rooms only; a room's members are those of its list plus the socket named like it, if any.
//!
//! The maps hash with foldhash instead of SipHash: every routed message looks up its rooms and
//! sockets here, and SipHash was 5 % of a delivered message's instructions (callgrind). Every
//! key is an id the server generated (socket ids, userIDs), so a client cannot choose keys to
//! collide; foldhash is still seeded per process.

use foldhash::{HashMap, HashMapExt, HashSet};
use smallvec::SmallVec;
use std::sync::Arc;

/// Room membership of the local sockets of one namespace.
pub struct Rooms<S> {
    sockets: HashMap<Arc<str>, Member<S>>,
    /// Every room but the sockets' own: a socket is never listed in the room of its own id.
    rooms: HashMap<Arc<str>, Vec<Joined<S>>>,
}

struct Member<S> {
    /// Its own room first, then the others, each once.
    rooms: Vec<Arc<str>>,
    handle: S,
}

/// A socket as a room lists it: its id (the very `Arc` of its entry's key, so that a visit tells
/// members apart by pointer) and a copy of its handle. Delivering to a room then reads the
/// room's list alone: no lookup of each member's entry, no string compared. On a busy node
/// those lookups were cache misses, one chain per recipient, and the largest share of routing
/// a private message (perf). A room's list is short (a user's tabs); leaving is linear in it.
struct Joined<S> {
    id: Arc<str>,
    handle: S,
}

/// The identity of a socket's id during one visit: the address its `Arc` points to.
fn key(id: &Arc<str>) -> usize {
    Arc::as_ptr(id) as *const u8 as usize
}

/// The sockets a visit of several rooms has met, by [`key`]: a few on the stack, searched in
/// turn (a private message's two user rooms hold a few tabs), a hash set past that.
#[derive(Default)]
struct Seen {
    few: SmallVec<[usize; 8]>,
    many: Option<HashSet<usize>>,
}

impl Seen {
    /// Past this many, the sockets met go into a hash set.
    const FEW: usize = 32;

    /// Whether `key` is met for the first time (it is recorded).
    fn first_time(&mut self, key: usize) -> bool {
        if let Some(many) = self.many.as_mut() {
            return many.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        self.few.push(key);
        if self.few.len() > Self::FEW {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

impl<S> Default for Rooms<S> {
    fn default() -> Self {
        Rooms {
            sockets: HashMap::new(),
            rooms: HashMap::new(),
        }
    }
}

impl<S: Clone> Rooms<S> {
    /// Adds a socket to its own room and to `rooms`.
    pub fn join(&mut self, socket_id: &str, rooms: &[&str], handle: S) {
        self.leave(socket_id);
        let id: Arc<str> = Arc::from(socket_id);
        let mut member_rooms: Vec<Arc<str>> = Vec::with_capacity(rooms.len() + 1);
        member_rooms.push(id.clone());
        for room in rooms {
            if !member_rooms.iter().any(|r| **r == **room) {
                member_rooms.push(Arc::from(*room));
            }
        }
        for room in &member_rooms[1..] {
            self.rooms.entry(room.clone()).or_default().push(Joined {
                id: id.clone(),
                handle: handle.clone(),
            });
        }
        self.sockets.insert(
            id,
            Member {
                rooms: member_rooms,
                handle,
            },
        );
    }
}

impl<S> Rooms<S> {
    /// Removes a socket from every room; returns its handle if it was present.
    pub fn leave(&mut self, socket_id: &str) -> Option<S> {
        let (id, member) = self.sockets.remove_entry(socket_id)?;
        for room in &member.rooms[1..] {
            if let Some(list) = self.rooms.get_mut(room) {
                if let Some(at) = list.iter().position(|j| Arc::ptr_eq(&j.id, &id)) {
                    list.swap_remove(at);
                }
                if list.is_empty() {
                    self.rooms.remove(room);
                }
            }
        }
        Some(member.handle)
    }

    /// Number of local sockets in `room`.
    pub fn room_size(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, Vec::len) + usize::from(self.sockets.contains_key(room))
    }

    /// Every member of `room`, each once: the socket named like it, if any, then the sockets
    /// that joined it.
    fn members<'a>(&'a self, room: &str) -> impl Iterator<Item = (&'a Arc<str>, &'a S)> {
        let own = self
            .sockets
            .get_key_value(room)
            .map(|(id, member)| (id, &member.handle));
        let joined = self
            .rooms
            .get(room)
            .into_iter()
            .flatten()
            .map(|j| (&j.id, &j.handle));
        own.into_iter().chain(joined)
    }

    /// The sockets in any room of `except`, by [`key`], sorted (to search).
    fn excluded(&self, except: &[impl AsRef<str>]) -> SmallVec<[usize; 4]> {
        let mut excluded: SmallVec<[usize; 4]> = except
            .iter()
            .flat_map(|room| self.members(room.as_ref()))
            .map(|(id, _)| key(id))
            .collect();
        excluded.sort_unstable();
        excluded
    }

    /// Ids of the sockets in any of `rooms` (every socket when `rooms` is empty), minus those in
    /// any room of `except`: the recipients of a broadcast, as Node's adapter computes them.
    pub fn select(&self, rooms: &[String], except: &[String]) -> Vec<(&str, &S)> {
        let mut out = Vec::new();
        self.each(rooms, except, |id, handle| out.push((&**id, handle)));
        out
    }

    /// Calls `f` with the handle of every socket [`Rooms::select`] would select, each once,
    /// without collecting them (the path of every delivered message).
    pub fn visit<'a>(
        &'a self,
        rooms: &[impl AsRef<str>],
        except: &[impl AsRef<str>],
        mut f: impl FnMut(&'a S),
    ) {
        self.each(rooms, except, |_, handle| f(handle));
    }

    fn each<'a>(
        &'a self,
        rooms: &[impl AsRef<str>],
        except: &[impl AsRef<str>],
        mut f: impl FnMut(&'a Arc<str>, &'a S),
    ) {
        let excluded = self.excluded(except);
        if rooms.is_empty() {
            // Everyone: walk the sockets themselves, no lookup per recipient.
            for (id, member) in &self.sockets {
                if excluded.binary_search(&key(id)).is_err() {
                    f(id, &member.handle);
                }
            }
            return;
        }
        // A socket in several of `rooms` is visited once: for the first of them.
        let mut seen = Seen::default();
        for (id, handle) in rooms.iter().flat_map(|room| self.members(room.as_ref())) {
            let key = key(id);
            if excluded.binary_search(&key).is_ok() || (rooms.len() > 1 && !seen.first_time(key)) {
                continue;
            }
            f(id, handle);
        }
    }

    /// Every room that has a local member (socket-id rooms included, as Node reports them).
    pub fn all_rooms(&self) -> Vec<String> {
        let others = self
            .rooms
            .keys()
            .filter(|r| !self.sockets.contains_key(&***r));
        self.sockets
            .keys()
            .chain(others)
            .map(|r| r.to_string())
            .collect()
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

    /// Nobody left out (as `except`).
    const NOBODY: &[&str] = &[];

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

    #[test]
    fn a_sockets_own_room_is_its_entry() {
        let mut rooms = Rooms::default();
        rooms.join("a1", &["alice"], 1);
        rooms.join("b1", &["bob"], 2);
        assert_eq!(rooms.room_size("a1"), 1);
        assert_eq!(ids(&rooms, &["a1"], &[]), ["a1"]);
        assert_eq!(ids(&rooms, &["a1", "alice"], &[]), ["a1"], "once");
        assert_eq!(ids(&rooms, &["b1"], &["bob"]), Vec::<String>::new());
        let mut all = rooms.all_rooms();
        all.sort();
        assert_eq!(all, ["a1", "alice", "b1", "bob"]);
        assert_eq!(rooms.rooms_of("a1"), ["a1", "alice"]);
        assert_eq!(rooms.room_size("nobody"), 0);
    }

    #[test]
    fn a_room_named_like_a_socket_holds_it_and_its_joiners() {
        let mut rooms = Rooms::default();
        rooms.join("a1", &[], 1);
        rooms.join("b1", &["a1"], 2);
        assert_eq!(rooms.room_size("a1"), 2);
        assert_eq!(ids(&rooms, &["a1"], &[]), ["a1", "b1"]);
        let mut visited = Vec::new();
        rooms.visit(&["a1".to_owned(), "b1".to_owned()], NOBODY, |h| {
            visited.push(*h)
        });
        visited.sort();
        assert_eq!(visited, [1, 2], "each once");
        let mut all = rooms.all_rooms();
        all.sort();
        assert_eq!(all, ["a1", "b1"], "a1 listed once");
        rooms.leave("a1");
        assert_eq!(rooms.room_size("a1"), 1, "b1 still joined it");
        assert_eq!(rooms.all_rooms().len(), 2);
        rooms.leave("b1");
        assert!(rooms.all_rooms().is_empty());
    }
}
