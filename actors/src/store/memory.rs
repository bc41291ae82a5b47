//! In-memory backends: the default, for a single node with no setup. Nothing survives a
//! restart; history per user is capped so memory stays bounded.

use super::{MessageBackend, Session, SessionBackend, StoreError, StoredMessage, UserEntry};
use futures_util::future::{self, BoxFuture, FutureExt};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Sessions by sessionID, plus the user directory by userID (insertion order kept so the
/// `users` list is stable). A user's id is one `Arc<str>`, shared by its key, its entry and
/// its place in the order.
#[derive(Default, Clone)]
pub struct MemorySessions {
    inner: Arc<Mutex<SessionTables>>,
}

#[derive(Default)]
struct SessionTables {
    sessions: HashMap<String, Session>,
    users: HashMap<Arc<str>, UserEntry>,
    order: Vec<Arc<str>>,
}

/// A poisoned lock only means another thread panicked mid-update of plain maps; the data is
/// still usable, so recover it rather than propagate the panic to every connection.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SessionTables {
    /// Adds a user not yet in the directory, at the end of the order.
    fn add_user(&mut self, entry: UserEntry) {
        self.order.push(entry.user_id.clone());
        self.users.insert(entry.user_id.clone(), entry);
    }
}

impl SessionBackend for MemorySessions {
    fn find(&self, session_id: &str) -> BoxFuture<'static, Result<Option<Session>, StoreError>> {
        let found = lock(&self.inner).sessions.get(session_id).cloned();
        future::ready(Ok(found)).boxed()
    }

    fn save(
        &self,
        session_id: &str,
        session: &Session,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut t = lock(&self.inner);
        t.sessions.insert(session_id.to_owned(), session.clone());
        let connected = session.connected;
        match t.users.get_mut(session.user_id.as_str()) {
            Some(entry) => {
                if *entry.username != *session.username {
                    entry.username = Arc::from(session.username.as_str());
                }
                entry.connected = connected;
            }
            None => t.add_user(UserEntry {
                user_id: Arc::from(session.user_id.as_str()),
                username: Arc::from(session.username.as_str()),
                connected,
            }),
        }
        future::ready(Ok(())).boxed()
    }

    fn list_users(&self) -> BoxFuture<'static, Result<Vec<UserEntry>, StoreError>> {
        let t = lock(&self.inner);
        let users = t
            .order
            .iter()
            .filter_map(|id| t.users.get(&**id).cloned())
            .collect();
        future::ready(Ok(users)).boxed()
    }

    fn user_exists(&self, user_id: &str) -> BoxFuture<'static, Result<bool, StoreError>> {
        let exists = lock(&self.inner).users.contains_key(user_id);
        future::ready(Ok(exists)).boxed()
    }

    fn remember_user(&self, entry: &UserEntry) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut t = lock(&self.inner);
        match t.users.get_mut(&*entry.user_id) {
            Some(known) => {
                known.username = entry.username.clone();
                known.connected = entry.connected;
            }
            None => t.add_user(entry.clone()),
        }
        future::ready(Ok(())).boxed()
    }

    fn set_user_connected(
        &self,
        user_id: &str,
        connected: bool,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        if let Some(entry) = lock(&self.inner).users.get_mut(user_id) {
            entry.connected = connected;
        }
        future::ready(Ok(())).boxed()
    }
}

/// Per-user histories, each capped at `cap` messages. A message is kept once, shared by its
/// sender's and its recipient's history; user ids are hashed with foldhash (they are ours,
/// see `hub/rooms.rs`), and the path of every message allocates nothing but the message.
#[derive(Clone)]
pub struct MemoryMessages {
    inner: Arc<Mutex<Histories>>,
    cap: usize,
}

type Histories = foldhash::HashMap<String, VecDeque<Arc<StoredMessage>>>;

impl MemoryMessages {
    pub fn new(cap: usize) -> MemoryMessages {
        MemoryMessages {
            inner: Arc::default(),
            cap: cap.max(1),
        }
    }

    fn push(&self, histories: &mut Histories, user: &str, m: &Arc<StoredMessage>) {
        let history = match histories.get_mut(user) {
            Some(history) => history,
            None => histories.entry(user.to_owned()).or_default(),
        };
        history.push_back(m.clone());
        while history.len() > self.cap {
            history.pop_front();
        }
    }
}

impl MessageBackend for MemoryMessages {
    fn append(&self, message: &StoredMessage) -> BoxFuture<'static, Result<(), StoreError>> {
        self.append_shared(Arc::new(message.clone()))
    }

    fn append_shared(
        &self,
        message: Arc<StoredMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut histories = lock(&self.inner);
        self.push(&mut histories, &message.from, &message);
        if message.to != message.from {
            self.push(&mut histories, &message.to, &message);
        }
        future::ready(Ok(())).boxed()
    }

    fn messages_of(
        &self,
        user_id: &str,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>> {
        let found = lock(&self.inner)
            .get(user_id)
            .map(|h| h.iter().map(|m| StoredMessage::clone(m)).collect())
            .unwrap_or_default();
        future::ready(Ok(found)).boxed()
    }
}
