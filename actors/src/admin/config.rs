//! What an operator configures of the admin namespace.

use std::fmt;

/// How an admin UI proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum AdminAuth {
    /// No authentication at all: only when the operator chose it explicitly.
    None,
    /// The UI's "basic" login: this username, and a password matching this bcrypt hash.
    Basic {
        username: String,
        password_hash: String,
    },
}

impl fmt::Debug for AdminAuth {
    /// Never prints the hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminAuth::None => f.write_str("None"),
            AdminAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// The admin namespace of a node (off unless the node has one).
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// The namespace the UI connects to (`/admin` by default).
    pub namespace: String,
    pub auth: AdminAuth,
    /// Refuse every command (emit, join, leave, disconnect): the dashboard only watches.
    pub read_only: bool,
    /// The `serverId` of this node's `server_stats` (the node id by default).
    pub server_id: String,
    /// Send the chat sockets' incoming events, message contents included, to the dashboard
    /// (`event_received`). Off by default.
    pub show_events: bool,
}

impl AdminConfig {
    /// Whether `hash` is a bcrypt hash the checker can use (`$2a$`, `$2b$`, `$2y$`, cost and
    /// 53 characters of salt and digest).
    pub fn is_bcrypt_hash(hash: &str) -> bool {
        let parts: Vec<&str> = hash.split('$').collect();
        matches!(parts.as_slice(), ["", version, cost, rest]
            if matches!(*version, "2a" | "2b" | "2y")
                && cost.len() == 2
                && cost.parse::<u32>().is_ok_and(|c| (4..=31).contains(&c))
                && rest.len() == 53)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_bcrypt_hashes() {
        let hash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";
        assert!(AdminConfig::is_bcrypt_hash(hash));
        assert!(!AdminConfig::is_bcrypt_hash("changeit"));
        assert!(!AdminConfig::is_bcrypt_hash(
            "$2b$99$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS"
        ));
        assert!(!AdminConfig::is_bcrypt_hash("$2b$10$short"));
    }

    #[test]
    fn debug_never_shows_the_hash() {
        let auth = AdminAuth::Basic {
            username: "admin".into(),
            password_hash: "$2b$10$secret".into(),
        };
        assert!(!format!("{auth:?}").contains("secret"));
    }
}
