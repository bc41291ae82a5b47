//! The local sockets as the dashboard sees them: namespace, transport, rooms, who, since when,
//! and how to reach each one's connection. Shared (a lock, not an actor): connections write
//! their own entry, the admin hub reads it for `all_sockets` and commands, and the bridge
//! reads it to answer other nodes' fetch-sockets requests with the same details.

use super::messages::AdminOrder;
use super::time::iso_now;
use actix::Recipient;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

/// One local socket.
#[derive(Clone)]
pub struct Entry {
    pub nsp: String,
    /// The Engine.IO session's id, first 12 characters (as the admin UI shows it).
    pub client_id: String,
    pub transport: &'static str,
    /// `socket.data` as the dashboard shows it (`{userID, username}` for a chat socket).
    pub data: Value,
    /// Its own id first, then the rooms it joined.
    pub rooms: Vec<String>,
    /// Those of `rooms` joined by a dashboard's command: the chat's routing does not know
    /// them, so broadcasts from other nodes to them are delivered from here.
    pub extra: Vec<String>,
    /// The client's address (`ip` of its first request).
    pub address: String,
    /// ISO time of the handshake.
    pub issued_at: String,
    pub issued_ms: u64,
    pub order: Recipient<AdminOrder>,
}

impl Entry {
    pub fn new(
        nsp: &str,
        (socket_id, sid): (&str, &str),
        (transport, address): (&'static str, String),
        data: Value,
        order: Recipient<AdminOrder>,
    ) -> Entry {
        let (issued_at, issued_ms) = iso_now();
        Entry {
            nsp: nsp.to_owned(),
            client_id: sid.chars().take(12).collect(),
            transport,
            data,
            rooms: vec![socket_id.to_owned()],
            extra: Vec::new(),
            address,
            issued_at,
            issued_ms,
            order,
        }
    }

    /// The `handshake` of Node's serialized socket (what the hub keeps of it).
    fn handshake(&self) -> Value {
        json!({
            "address": self.address,
            "headers": {},
            "query": {},
            "auth": {},
            "issued": self.issued_ms,
            "time": self.issued_at,
            "secure": false,
            "url": "",
            "xdomain": false,
        })
    }

    /// `socket.data` with the admin UI's `_admin` part, as a fetch-sockets answer carries it.
    fn data_with_admin(&self) -> Value {
        let mut data = match &self.data {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        data.insert(
            "_admin".to_owned(),
            json!({ "clientId": self.client_id, "transport": self.transport }),
        );
        Value::Object(data)
    }

    /// The socket as the admin UI's `all_sockets` and `socket_connected` carry it.
    pub fn serialize(&self, id: &str) -> Value {
        json!({
            "id": id,
            "clientId": self.client_id,
            "transport": self.transport,
            "nsp": self.nsp,
            "data": self.data,
            "handshake": self.handshake(),
            "rooms": self.rooms,
        })
    }
}

/// Every local socket by id.
#[derive(Default)]
pub struct Directory {
    entries: RwLock<HashMap<String, Entry>>,
    /// Memberships joined by dashboard commands, all sockets together (0: nothing to look up
    /// on a broadcast).
    extra_memberships: AtomicUsize,
}

impl Directory {
    pub fn insert(&self, id: &str, entry: Entry) {
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(id.to_owned(), entry);
        }
    }

    pub fn remove(&self, id: &str) -> Option<Entry> {
        let entry = self.entries.write().ok()?.remove(id)?;
        self.extra_memberships
            .fetch_sub(entry.extra.len(), Ordering::Relaxed);
        Some(entry)
    }

    /// Sets the transport of every socket of the session `client_id`; returns their ids and
    /// namespaces.
    pub fn set_transport(&self, ids: &[String], transport: &'static str) -> Vec<(String, String)> {
        let Ok(mut entries) = self.entries.write() else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|id| {
                let entry = entries.get_mut(id)?;
                entry.transport = transport;
                Some((id.clone(), entry.nsp.clone()))
            })
            .collect()
    }

    /// Every socket of `nsp` serialized, or of every namespace when `nsp` is `None`.
    pub fn serialize_all(&self) -> Vec<Value> {
        let Ok(entries) = self.entries.read() else {
            return Vec::new();
        };
        entries.iter().map(|(id, e)| e.serialize(id)).collect()
    }

    /// Sockets per namespace.
    pub fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        if let Ok(entries) = self.entries.read() {
            for entry in entries.values() {
                *counts.entry(entry.nsp.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The sockets of `nsp` in any of `rooms` (all of `nsp` when empty) and in none of
    /// `except`: their ids and connections.
    pub fn select(
        &self,
        nsp: &str,
        rooms: &[String],
        except: &[String],
    ) -> Vec<(String, Recipient<AdminOrder>)> {
        let Ok(entries) = self.entries.read() else {
            return Vec::new();
        };
        entries
            .iter()
            .filter(|(_, e)| e.nsp == nsp)
            .filter(|(_, e)| rooms.is_empty() || e.rooms.iter().any(|r| rooms.contains(r)))
            .filter(|(_, e)| !e.rooms.iter().any(|r| except.contains(r)))
            .map(|(id, e)| (id.clone(), e.order.clone()))
            .collect()
    }

    /// `id` joins (`true`) or leaves `room`, `by_admin` when a dashboard's command says so;
    /// returns whether that changed anything. A socket never leaves its own room.
    pub fn change_room(&self, id: &str, room: &str, join: bool, by_admin: bool) -> bool {
        let Ok(mut entries) = self.entries.write() else {
            return false;
        };
        let Some(entry) = entries.get_mut(id) else {
            return false;
        };
        let present = entry.rooms.iter().any(|r| r == room);
        match (join, present) {
            (true, false) => {
                entry.rooms.push(room.to_owned());
                if by_admin {
                    entry.extra.push(room.to_owned());
                    self.extra_memberships.fetch_add(1, Ordering::Relaxed);
                }
                true
            }
            (false, true) if room != id => {
                entry.rooms.retain(|r| r != room);
                let before = entry.extra.len();
                entry.extra.retain(|r| r != room);
                self.extra_memberships
                    .fetch_sub(before - entry.extra.len(), Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// The sockets of `/` that a broadcast to `rooms` (except `except`) reaches only through
    /// rooms joined by a dashboard: in one of those, in none of `except`, and in none of
    /// `rooms` by the chat's own rooms (those the chat's routing delivered to already).
    pub fn extra_targets(&self, rooms: &[String], except: &[String]) -> Vec<Recipient<AdminOrder>> {
        if rooms.is_empty() || self.extra_memberships.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let Ok(entries) = self.entries.read() else {
            return Vec::new();
        };
        entries
            .values()
            .filter(|e| e.nsp == "/" && e.extra.iter().any(|r| rooms.contains(r)))
            .filter(|e| !e.rooms.iter().any(|r| except.contains(r)))
            .filter(|e| {
                !e.rooms
                    .iter()
                    .filter(|r| !e.extra.contains(r))
                    .any(|r| rooms.contains(r))
            })
            .map(|e| e.order.clone())
            .collect()
    }

    /// The rooms of `id` (empty when unknown).
    pub fn rooms_of(&self, id: &str) -> Vec<String> {
        self.entries
            .read()
            .ok()
            .and_then(|entries| entries.get(id).map(|e| e.rooms.clone()))
            .unwrap_or_default()
    }

    /// `(handshake, data)` of `id` for a fetch-sockets answer to another node.
    pub fn describe(&self, id: &str) -> Option<(Value, Value)> {
        let entries = self.entries.read().ok()?;
        let entry = entries.get(id)?;
        Some((entry.handshake(), entry.data_with_admin()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::prelude::*;

    struct Sink;
    impl Actor for Sink {
        type Context = Context<Self>;
    }
    impl Handler<AdminOrder> for Sink {
        type Result = ();
        fn handle(&mut self, _: AdminOrder, _: &mut Context<Self>) {}
    }

    fn entry(id: &str, rooms: &[&str]) -> Entry {
        let mut entry = Entry::new(
            "/",
            (id, "sessionid-of-20-chars"),
            ("websocket", "127.0.0.1".into()),
            json!({}),
            Sink.start().recipient(),
        );
        entry.rooms.extend(rooms.iter().map(|r| r.to_string()));
        entry
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[actix::test]
    async fn selects_by_room_and_except() {
        let directory = Directory::default();
        directory.insert("a", entry("a", &["alice"]));
        directory.insert("b", entry("b", &["bob"]));
        let ids = |rooms: &[&str], except: &[&str]| {
            let mut ids: Vec<String> = directory
                .select("/", &strings(rooms), &strings(except))
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&[], &[]), ["a", "b"]);
        assert_eq!(ids(&["alice"], &[]), ["a"]);
        assert_eq!(ids(&[], &["b"]), ["a"]);
        assert!(directory.select("/admin", &[], &[]).is_empty());
        assert_eq!(directory.counts()["/"], 2);
        let serialized = directory.serialize_all();
        let a = serialized.iter().find(|s| s["id"] == "a").expect("a");
        assert_eq!(a["clientId"], "sessionid-of");
        assert_eq!(a["handshake"]["address"], "127.0.0.1");
        assert_eq!(a["rooms"], json!(["a", "alice"]));
    }

    #[actix::test]
    async fn rooms_joined_by_a_dashboard_are_delivered_from_here_once() {
        let directory = Directory::default();
        directory.insert("a", entry("a", &["alice"]));
        directory.insert("b", entry("b", &["bob"]));
        assert!(directory.extra_targets(&strings(&["ops"]), &[]).is_empty());
        assert!(directory.change_room("a", "ops", true, true));
        assert!(!directory.change_room("a", "ops", true, true), "already in");
        assert!(directory.change_room("b", "ops", true, true));
        assert_eq!(directory.extra_targets(&strings(&["ops"]), &[]).len(), 2);
        // b is reached by its own room already: only a is left to deliver.
        assert_eq!(
            directory.extra_targets(&strings(&["ops", "b"]), &[]).len(),
            1
        );
        assert_eq!(
            directory
                .extra_targets(&strings(&["ops"]), &strings(&["alice"]))
                .len(),
            1
        );
        assert!(directory.change_room("a", "ops", false, true));
        assert!(
            !directory.change_room("a", "a", false, true),
            "never leaves its own room"
        );
        assert_eq!(directory.extra_targets(&strings(&["ops"]), &[]).len(), 1);
        directory.remove("b");
        assert!(directory.extra_targets(&strings(&["ops"]), &[]).is_empty());
        let (handshake, data) = directory.describe("a").expect("a");
        assert_eq!(handshake["address"], "127.0.0.1");
        assert_eq!(
            data["_admin"],
            json!({"clientId": "sessionid-of", "transport": "websocket"})
        );
        assert_eq!(directory.rooms_of("a"), ["a", "alice"]);
    }
}
