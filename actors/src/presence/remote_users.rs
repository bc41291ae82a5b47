//! Users announced by other nodes. Our nodes write the user directory themselves, but a
//! Node.js node of a mixed cluster only writes `session:<id>`: learning its users from the
//! `user connected` / `user disconnected` broadcasts every node sees is what lets our nodes
//! list them and accept messages to them, without scanning the keyspace.

use crate::store::{RememberUser, SessionStore, SetUserConnected, UserEntry};
use actix::Addr;
use serde_json::Value;

/// Records what a remote presence broadcast (`data` = `[event, payload]`) says, if anything.
pub fn learn_from_remote(sessions: &Addr<SessionStore>, data: &Value) {
    let Some([event, payload]) = data.as_array().map(Vec::as_slice) else {
        return;
    };
    match (event.as_str(), payload) {
        (Some("user connected"), Value::Object(user)) => {
            let (Some(Value::String(user_id)), Some(Value::String(username))) =
                (user.get("userID"), user.get("username"))
            else {
                return;
            };
            sessions.do_send(RememberUser(UserEntry {
                user_id: user_id.as_str().into(),
                username: username.as_str().into(),
                connected: true,
            }));
        }
        (Some("user disconnected"), Value::String(user_id)) => {
            sessions.do_send(SetUserConnected {
                user_id: user_id.clone(),
                connected: false,
            });
        }
        _ => {}
    }
}
