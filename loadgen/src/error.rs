//! Why a simulated user could not connect or stopped early.

use chat_protocol::DecodeError;
use tokio_tungstenite::tungstenite;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connect: {0}")]
    Io(#[from] std::io::Error),
    #[error("endpoint {0:?} names no host")]
    Endpoint(String),
    #[error("websocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
    #[error("timed out")]
    Timeout,
    #[error("refused: {0}")]
    Refused(String),
    #[error("closed by the server")]
    Closed,
    #[error("malformed packet: {}", .0.kind())]
    Decode(#[from] DecodeError),
    #[error("`users` arrived before `session`")]
    UsersBeforeSession,
}
