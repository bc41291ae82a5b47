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

/// The parked state of the socket whose private session id is `pid` (connection state
/// recovery across nodes; JSON of a [`ParkedSession`](crate::recovery::ParkedSession)).
pub fn recovery_key(pid: &str) -> String {
    format!("chat:recovery:pid:{pid}")
}

/// The stream of broadcasts to every socket (presence announcements), kept for recovery
/// across nodes; private messages are recovered from the `messages:<userID>` lists instead.
pub const RECOVERY_BROADCASTS_KEY: &str = "chat:recovery:broadcasts";
