//! The JSON shapes of the chat events, with the exact field names of the reference design.

use crate::store::StoredMessage;
use crate::transport::Frame;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// The handshake `auth` object. Fields are kept as raw JSON: their types are validated (a
/// numeric username is refused, not coerced).
#[derive(Debug, Default, Deserialize)]
pub struct HandshakeAuth {
    #[serde(rename = "sessionID", default)]
    pub session_id: Option<Value>,
    #[serde(default)]
    pub username: Option<Value>,
    /// Connection state recovery: the private session id of the socket to restore.
    #[serde(default)]
    pub pid: Option<Value>,
    /// Connection state recovery: the offset of the last event the client received.
    #[serde(default)]
    pub offset: Option<Value>,
}

/// `session`: the secret sessionID and the public userID, sent only to the owner.
#[derive(Debug, Serialize)]
pub struct SessionEvent<'a> {
    #[serde(rename = "sessionID")]
    pub session_id: &'a str,
    #[serde(rename = "userID")]
    pub user_id: &'a str,
}

/// One entry of `users`, and the payload of `user connected` (with no messages). The id and
/// the name are the directory's own (see [`UserEntry`](crate::store::UserEntry)).
#[derive(Debug, Serialize)]
pub struct UserEvent {
    #[serde(rename = "userID")]
    pub user_id: Arc<str>,
    pub username: Arc<str>,
    pub connected: bool,
    pub messages: Vec<StoredMessage>,
}

/// A `private message` event as the typed path decodes it
/// (`chat_protocol::socketio::decode_event_as`): the event's name and its first argument,
/// with no JSON tree built.
#[derive(Debug, Deserialize)]
pub struct PrivateMessageEvent<'a>(
    #[serde(borrow)] pub Cow<'a, str>,
    #[serde(borrow)] pub PrivateMessageFields<'a>,
);

/// The two fields of a `private message` the server reads, borrowed from the packet unless
/// an escape had to be undone. Any other field (a `from` the client put in) is skipped
/// unread; a field that is no string, a missing or a repeated one makes the typed decoding
/// fail, and the generic path then refuses the message as it always did.
#[derive(Debug, Deserialize)]
pub struct PrivateMessageFields<'a> {
    #[serde(borrow)]
    pub content: Cow<'a, str>,
    #[serde(borrow)]
    pub to: Cow<'a, str>,
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

/// The Engine.IO frame of the Socket.IO EVENT `42[event, payload]` on `/`, serialised straight
/// from `payload` without building a `serde_json::Value` tree first. `users` lists one entry
/// per known user to every newcomer, so a connect storm of N users serialises O(N²) entries:
/// the tree (a map, four keys and their strings per user) cost more than the text itself.
///
/// Byte-exact with `JSON.stringify` for the payloads of this module, which hold only strings,
/// integers, booleans and arrays of them: serde_json escapes strings exactly as it does
/// (`"`, `\\`, control characters, lowercase `\u00xx`) and writes integers alike. Floats would
/// differ (`1e21` vs `1e+21`); those go through `chat_protocol::json` instead.
pub fn event_frame<T: Serialize>(event: &str, payload: &T) -> Frame {
    // Serialising these structs into memory cannot fail; a `null` payload would be the
    // visible result if it ever did.
    let mut text = serde_json::to_string(&(event, payload))
        .unwrap_or_else(|_| to_json(&(event, ())).to_string());
    text.insert_str(0, "42");
    Frame::Text(text.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::json::stringify;

    #[test]
    fn event_frame_matches_the_json_stringify_of_the_value_tree() {
        let awkward = "quote \" backslash \\ tab \t nul \u{0} unit \u{1f} del \u{7f} é 😀 \u{2028}";
        let users = vec![UserEvent {
            user_id: "0123456789abcdef".into(),
            username: awkward.into(),
            connected: true,
            messages: vec![StoredMessage {
                content: awkward.to_owned(),
                from: "a".to_owned(),
                to: "b".to_owned(),
                id: Some("m1".to_owned()),
                ts: Some(u64::MAX),
            }],
        }];
        let expected = format!(
            "42{}",
            stringify(&Value::Array(vec!["users".into(), to_json(&users)]))
        );
        match event_frame("users", &users) {
            Frame::Text(text) => assert_eq!(&*text, expected.as_str()),
            Frame::Binary(_) => panic!("a text frame was expected"),
        }
    }
}
