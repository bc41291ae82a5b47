//! The private-messaging chat on namespace `/` (SPEC §2), as the app of a connection.
//!
//! A socket first goes through the handshake (`handshake.rs`): a known sessionID resumes its
//! identity, else a valid username starts a new one (or, with `{pid, offset}`, recovery gives
//! a parked socket back); then it gets `session`, joins its user's room, gets `users` with
//! every known user and their conversation, and everyone else hears `user connected`. From
//! then on it sends `private message`s (`private_message.rs`): limited in rate, validated,
//! checked for a recipient that exists, routed and persisted by the hub, acknowledged once
//! stored. When it leaves, presence decides whether its user is gone (`crate::presence`).
//!
//! | file | what |
//! |---|---|
//! | `socket.rs` | [`ChatSocket`]: a socket's identity, limits and recovery state; the app |
//! | `handshake.rs` | the middleware and the connection sequence |
//! | `private_message.rs` | a private message from receipt to acknowledgement |
//! | `payloads.rs` | the JSON shapes of the events |
//! | `validate.rs` | what a client may send |
//! | `rate_limit.rs` | the token bucket per socket |
//! | `known_users.rs` | recipients known to exist, node-wide |
//! | `services.rs` | [`ChatServices`]: what every chat connection of a node shares |

mod handshake;
mod known_users;
mod payloads;
mod private_message;
mod rate_limit;
mod services;
mod socket;
mod validate;

pub use self::known_users::KnownUsers;
pub use self::payloads::{
    event_frame, to_json, AckError, AckOk, HandshakeAuth, OutgoingMessage, SessionEvent, UserEvent,
};
pub use self::rate_limit::RateLimiter;
pub use self::services::{ChatLimits, ChatServices};
pub use self::socket::{ChatConnection, ChatSocket};
pub use self::validate::{
    validate_message_fields, validate_private_message, validate_username, MessageRefusal,
};
