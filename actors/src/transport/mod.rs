//! How frames reach a client and come back: everything between a connection actor and its
//! sockets, independent of what the frames mean.
//!
//! A session reaches its client over long-polling ([`Polling`]: frames wait until a GET takes
//! them) or a WebSocket ([`WsLink`] / [`WsOutbox`]: the actor queues, a writer task writes,
//! a reader task hands frames back as [`WsIn`]), and moves from the first to the second by
//! the upgrade ([`UpgradeProbe`]). Every queue is bounded in bytes ([`bound`]): a client that
//! stops reading is closed, never buffered for ever. Long messages leave a WebSocket in
//! fragments ([`fragment`]) so that no connection keeps a large write buffer.
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | [`EngineConfig`]: the Engine.IO limits and timers of a server |
//! | `frame.rs` | [`Frame`]: an encoded Engine.IO packet; the polling body |
//! | `deliver.rs` | [`Deliver`]: frames handed to a session from elsewhere |
//! | `bound.rs` | the byte bound of every queue ([`QueueError`]) |
//! | `polling.rs` | the long-polling queue and how a GET is answered |
//! | `outbox.rs` | the queue between a connection actor and its WebSocket's writer task |
//! | `websocket.rs` | the reader and writer tasks over actix-ws |
//! | `fragment.rs` | where a long message is cut |
//! | `current.rs` | [`Transport`]: whichever of the two a session is on now |
//! | `upgrade.rs` | the WebSocket being probed during an upgrade |

pub mod bound;
mod config;
mod current;
mod deliver;
mod fragment;
mod frame;
mod outbox;
mod polling;
mod upgrade;
mod websocket;

pub use self::bound::QueueError;
pub use self::config::EngineConfig;
pub use self::current::Transport;
pub use self::deliver::Deliver;
pub use self::frame::{encode_polling_body, Frame};
pub use self::outbox::{ws_channel, WsCommand, WsLink, WsOutbox};
pub use self::polling::{PollReply, Polling};
pub use self::upgrade::{ProbeStep, UpgradeProbe, LATE_POLL_GRACE};
pub use self::websocket::{spawn_reader, spawn_writer, WsIn, AFTER_ALONE};
