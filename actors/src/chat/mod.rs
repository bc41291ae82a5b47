//! The private-messaging chat on namespace `/` (SPEC §2): payload shapes, input validation and
//! the services a connection needs to serve a user.

mod known_users;
mod payloads;
mod rate_limit;
mod services;
mod validate;

pub use self::known_users::KnownUsers;
pub use self::payloads::{
    event_frame, to_json, AckError, AckOk, HandshakeAuth, OutgoingMessage, PrivateMessageIn,
    SessionEvent, UserEvent,
};
pub use self::rate_limit::RateLimiter;
pub use self::services::{ChatLimits, ChatServices};
pub use self::validate::{validate_private_message, validate_username, MessageRefusal};
