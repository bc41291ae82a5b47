//! The JSON shapes of the chat events, with the exact field names of the reference design.

use crate::store::StoredMessage;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The handshake `auth` object. Fields are kept as raw JSON: their types are validated (a
/// numeric username is refused, not coerced).
#[derive(Debug, Default, Deserialize)]
pub struct HandshakeAuth {
    #[serde(rename = "sessionID", default)]
    pub session_id: Option<Value>,
    #[serde(default)]
    pub username: Option<Value>,
}

/// `session`: the secret sessionID and the public userID, sent only to the owner.
#[derive(Debug, Serialize)]
pub struct SessionEvent<'a> {
    #[serde(rename = "sessionID")]
    pub session_id: &'a str,
    #[serde(rename = "userID")]
    pub user_id: &'a str,
}

/// One entry of `users`, and the payload of `user connected` (with no messages).
#[derive(Debug, Serialize)]
pub struct UserEvent {
    #[serde(rename = "userID")]
    pub user_id: String,
    pub username: String,
    pub connected: bool,
    pub messages: Vec<StoredMessage>,
}

/// `private message` as the client sends it, before validation.
#[derive(Debug, Deserialize)]
pub struct PrivateMessageIn {
    pub content: Value,
    pub to: Value,
}

/// `private message` as delivered: `from` is always the server's idea of the sender.
pub type OutgoingMessage = StoredMessage;

/// Ack of a stored message.
#[derive(Debug, Serialize)]
pub struct AckOk<'a> {
    pub ok: bool,
    pub id: &'a str,
}

/// Ack of a refused or failed message.
#[derive(Debug, Serialize)]
pub struct AckError<'a> {
    pub error: &'a str,
}

/// A payload as JSON. Every payload of this module holds only strings, numbers, booleans and
/// vectors of them, for which serialising cannot fail.
pub fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
