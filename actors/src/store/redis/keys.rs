//! Names of the Redis keys, in one place so that the layout documented in the parent module
//! is the layout written.

/// The user directory: a hash from userID to the JSON of its [`UserEntry`](crate::store::UserEntry).
/// Our own key (the reference design scans `session:*` instead).
pub const USER_DIRECTORY_KEY: &str = "chat:users";

/// The hash holding the session whose secret id is `session_id` (reference design key).
pub fn session_key(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// The list holding every message `user_id` sent or received (reference design key).
pub fn messages_key(user_id: &str) -> String {
    format!("messages:{user_id}")
}
