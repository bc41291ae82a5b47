//! Who may open the admin namespace, as `@socket.io/admin-ui` checks it: the handshake's
//! `auth` carries `{username, password}` (checked against the configured bcrypt hash) or, on a
//! reconnect, the `{sessionId}` this node handed out after a successful login. A wrong
//! password, a missing one, or a chat handshake (`{username}` only, or `{sessionID}`) all get
//! the same CONNECT_ERROR `invalid credentials`, which the UI shows on its login form.

use super::config::AdminAuth;
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use thiserror::Error;

/// How many admin sessions a node remembers; the oldest is forgotten first (its UI then logs
/// in again).
const MAX_SESSIONS: usize = 1000;

/// Why an admin handshake was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Wrong or missing username or password, or an unknown session id. The text is what
    /// the UI recognises.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The session already speaks the chat on `/`: one session is a chat user or an admin UI,
    /// never both.
    #[error("not an admin session")]
    ChatSession,
}

impl AuthError {
    /// The metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::ChatSession => "chat_session",
        }
    }
}

/// What a handshake's `auth` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A session id from an earlier login.
    Session(String),
    Login {
        username: String,
        password: String,
    },
    /// Nothing usable.
    Missing,
}

impl Credentials {
    /// Reads the handshake's `auth`; anything not a string where a string belongs is missing.
    pub fn from_auth(auth: Option<&Value>) -> Credentials {
        let text = |key: &str| {
            auth.and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let Some(session) = text("sessionId").filter(|s| !s.is_empty()) {
            return Credentials::Session(session);
        }
        match (text("username"), text("password")) {
            (Some(username), Some(password)) => Credentials::Login { username, password },
            _ => Credentials::Missing,
        }
    }
}

/// The outcome of a successful check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// Authentication is off.
    Open,
    /// A known session id.
    Resumed,
    /// A good login: the UI is sent this new session id (`session` event).
    LoggedIn(String),
}

/// The session ids this node handed out (as the admin UI's in-memory store).
#[derive(Default)]
pub struct AdminSessions {
    inner: Mutex<Sessions>,
}

#[derive(Default)]
struct Sessions {
    known: HashSet<String>,
    order: VecDeque<String>,
}

impl AdminSessions {
    pub fn contains(&self, id: &str) -> bool {
        self.inner
            .lock()
            .map(|s| s.known.contains(id))
            .unwrap_or(false)
    }

    /// A fresh session id, remembered.
    pub fn open(&self) -> String {
        let id = crate::ids::random_hex(8);
        if let Ok(mut sessions) = self.inner.lock() {
            if sessions.order.len() >= MAX_SESSIONS {
                if let Some(oldest) = sessions.order.pop_front() {
                    sessions.known.remove(&oldest);
                }
            }
            sessions.known.insert(id.clone());
            sessions.order.push_back(id.clone());
        }
        id
    }
}

/// Checks `credentials` against `auth`. Blocking (bcrypt costs tens of milliseconds): run it
/// off the connection's thread.
pub fn check(
    auth: &AdminAuth,
    sessions: &AdminSessions,
    credentials: &Credentials,
) -> Result<Admitted, AuthError> {
    let AdminAuth::Basic {
        username,
        password_hash,
    } = auth
    else {
        return Ok(Admitted::Open);
    };
    match credentials {
        Credentials::Session(id) if sessions.contains(id) => Ok(Admitted::Resumed),
        Credentials::Login {
            username: given,
            password,
        } if given == username => match bcrypt::verify(password, password_hash) {
            Ok(true) => Ok(Admitted::LoggedIn(sessions.open())),
            Ok(false) | Err(_) => Err(AuthError::InvalidCredentials),
        },
        _ => Err(AuthError::InvalidCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// bcrypt of "changeit", cost 4.
    const HASH: &str = "$2b$04$3m0H2mQ0rX0mO9yUeKc0UeY1k1Ix8bK1fWc5n3p3cM9mQmQm1b0Ka";

    fn basic(hash: &str) -> AdminAuth {
        AdminAuth::Basic {
            username: "admin".into(),
            password_hash: hash.into(),
        }
    }

    #[test]
    fn reads_credentials() {
        assert_eq!(
            Credentials::from_auth(Some(&json!({"username": "a", "password": "b"}))),
            Credentials::Login {
                username: "a".into(),
                password: "b".into()
            }
        );
        assert_eq!(
            Credentials::from_auth(Some(&json!({"sessionId": "s"}))),
            Credentials::Session("s".into())
        );
        assert_eq!(
            Credentials::from_auth(Some(&json!({"username": "alice"}))),
            Credentials::Missing
        );
        assert_eq!(
            Credentials::from_auth(Some(&json!({"username": 1, "password": []}))),
            Credentials::Missing
        );
        assert_eq!(Credentials::from_auth(None), Credentials::Missing);
    }

    #[test]
    fn good_password_opens_a_session_that_resumes() {
        let hash = bcrypt::hash_with_salt("changeit", 4, [7u8; 16])
            .expect("hash")
            .to_string();
        let sessions = AdminSessions::default();
        let login = Credentials::Login {
            username: "admin".into(),
            password: "changeit".into(),
        };
        let Ok(Admitted::LoggedIn(id)) = check(&basic(&hash), &sessions, &login) else {
            panic!("login refused");
        };
        assert_eq!(
            check(&basic(&hash), &sessions, &Credentials::Session(id)),
            Ok(Admitted::Resumed)
        );
        let wrong = Credentials::Login {
            username: "admin".into(),
            password: "nope".into(),
        };
        assert_eq!(
            check(&basic(&hash), &sessions, &wrong),
            Err(AuthError::InvalidCredentials)
        );
        let stranger = Credentials::Session("unknown".into());
        assert_eq!(
            check(&basic(&hash), &sessions, &stranger),
            Err(AuthError::InvalidCredentials)
        );
    }

    #[test]
    fn a_broken_hash_refuses_and_no_auth_admits() {
        let sessions = AdminSessions::default();
        let login = Credentials::Login {
            username: "admin".into(),
            password: "changeit".into(),
        };
        assert_eq!(
            check(&basic(HASH), &sessions, &login),
            Err(AuthError::InvalidCredentials)
        );
        assert_eq!(
            check(&AdminAuth::None, &sessions, &Credentials::Missing),
            Ok(Admitted::Open)
        );
    }
}
