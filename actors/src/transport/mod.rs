//! How frames reach a client and come back: everything between a connection actor and its
//! sockets, independent of what the frames mean.
//!
//! Every frame for a session goes into its [`Outbox`], whoever sends it (the session itself,
//! the hub delivering a broadcast, another thread routing a private message). On long-polling
//! a GET takes them; on a WebSocket they are written straight from the outbox to the socket,
//! which the session owns once the HTTP layer handed it over after the handshake. What the
//! client sends on a WebSocket comes back through a [`WsReader`], which reads through a buffer
//! per worker thread and keeps nothing between messages. A session moves from polling to a
//! WebSocket by the upgrade ([`UpgradeProbe`]). The outbox is bounded in bytes ([`bound`]): a
//! client that stops reading is closed, never buffered for ever.
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | [`EngineConfig`]: the Engine.IO limits and timers of a server |
//! | `frame.rs` | [`Frame`]: an encoded Engine.IO packet; the polling body |
//! | `bound.rs` | the byte bound of every queue ([`QueueError`]) |
//! | `outbox.rs` | [`Outbox`]: queueing, polling replies, vectored writes to the socket |
//! | `websocket.rs` | [`WsReader`]: reading a WebSocket; [`OutboxWatch`]: an outbox's events for its session |
//! | `upgrade.rs` | the WebSocket being probed during an upgrade |

pub mod bound;
mod config;
mod frame;
mod outbox;
mod upgrade;
mod websocket;

pub use self::bound::QueueError;
pub use self::config::EngineConfig;
pub use self::frame::{encode_polling_body, Frame};
pub use self::outbox::{
    Ended, Flush, Held, Outbox, OutboxEvent, PollReply, RoutedNext, AFTER_ALONE,
};
pub use self::upgrade::{ProbeStep, UpgradeProbe, LATE_POLL_GRACE};
pub use self::websocket::{OutboxWatch, WsIn, WsItem, WsReader, READ_BUFFER_BYTES};
