//! The `SessionStore` actor: the node's single entry point to sessions, whatever the backend.

use super::{Session, SessionBackend, StoreError, UserEntry};
use actix::prelude::*;

/// Owns the session backend; every request is answered by a future so the mailbox never waits
/// on a round trip.
pub struct SessionStore {
    backend: Box<dyn SessionBackend>,
}

impl SessionStore {
    pub fn new(backend: Box<dyn SessionBackend>) -> SessionStore {
        SessionStore { backend }
    }
}

impl Actor for SessionStore {
    type Context = Context<Self>;
}

/// Looks a session up by its secret id.
#[derive(Message)]
#[rtype(result = "Result<Option<Session>, StoreError>")]
pub struct FindSession(pub String);

/// Creates or replaces a session (and its directory entry).
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct SaveSession {
    pub session_id: String,
    pub session: Session,
}

/// Marks a session connected or not (a save with the new flag).
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct SetConnected {
    pub session_id: String,
    pub session: Session,
    pub connected: bool,
}

/// Every known user.
#[derive(Message)]
#[rtype(result = "Result<Vec<UserEntry>, StoreError>")]
pub struct ListUsers;

/// Whether a userID is known.
#[derive(Message)]
#[rtype(result = "Result<bool, StoreError>")]
pub struct UserExists(pub String);

impl Handler<FindSession> for SessionStore {
    type Result = ResponseFuture<Result<Option<Session>, StoreError>>;
    fn handle(&mut self, msg: FindSession, _: &mut Context<Self>) -> Self::Result {
        self.backend.find(&msg.0)
    }
}

impl Handler<SaveSession> for SessionStore {
    type Result = ResponseFuture<Result<(), StoreError>>;
    fn handle(&mut self, msg: SaveSession, _: &mut Context<Self>) -> Self::Result {
        self.backend.save(&msg.session_id, &msg.session)
    }
}

impl Handler<SetConnected> for SessionStore {
    type Result = ResponseFuture<Result<(), StoreError>>;
    fn handle(&mut self, msg: SetConnected, _: &mut Context<Self>) -> Self::Result {
        let session = Session {
            connected: msg.connected,
            ..msg.session
        };
        self.backend.save(&msg.session_id, &session)
    }
}

impl Handler<ListUsers> for SessionStore {
    type Result = ResponseFuture<Result<Vec<UserEntry>, StoreError>>;
    fn handle(&mut self, _: ListUsers, _: &mut Context<Self>) -> Self::Result {
        self.backend.list_users()
    }
}

impl Handler<UserExists> for SessionStore {
    type Result = ResponseFuture<Result<bool, StoreError>>;
    fn handle(&mut self, msg: UserExists, _: &mut Context<Self>) -> Self::Result {
        self.backend.user_exists(&msg.0)
    }
}

/// Records a user announced by another node (see [`SessionBackend::remember_user`]).
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct RememberUser(pub UserEntry);

/// Updates a listed user's `connected` flag (see [`SessionBackend::set_user_connected`]).
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct SetUserConnected {
    pub user_id: String,
    pub connected: bool,
}

impl Handler<RememberUser> for SessionStore {
    type Result = ResponseFuture<Result<(), StoreError>>;
    fn handle(&mut self, msg: RememberUser, _: &mut Context<Self>) -> Self::Result {
        self.backend.remember_user(&msg.0)
    }
}

impl Handler<SetUserConnected> for SessionStore {
    type Result = ResponseFuture<Result<(), StoreError>>;
    fn handle(&mut self, msg: SetUserConnected, _: &mut Context<Self>) -> Self::Result {
        self.backend.set_user_connected(&msg.user_id, msg.connected)
    }
}
