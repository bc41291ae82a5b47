//! The protocol conformance servers of SPEC §1, which the official `engine.io-protocol` and
//! `socket.io-protocol` test suites run against (`chat-server --conformance engineio|socketio`):
//! two [`SocketApp`](crate::connection::SocketApp)s on the same connection actor as the chat.
//!
//! - [`EngineEcho`] (`echo.rs`): no Socket.IO layer; every message goes back unchanged.
//! - [`SocketIoConformance`] (`socket_io.rs`): namespaces `/` and `/custom` with the echo
//!   events of the suite, plus our extension for server -> client acks.

mod echo;
mod socket_io;

pub use self::echo::EngineEcho;
pub use self::socket_io::SocketIoConformance;
