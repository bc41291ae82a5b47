//! Engine.IO session plumbing shared by the connection actor and the HTTP layer: limits,
//! the registry of live sessions, outbound frames and random identifiers.

mod config;
mod frame;
mod ids;
mod registry;

pub use self::config::EngineConfig;
pub use self::frame::{encode_polling_body, Frame};
pub use self::ids::{random_hex, socket_id};
pub use self::registry::SessionRegistry;
