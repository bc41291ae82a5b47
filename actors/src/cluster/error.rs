//! Why a bridge operation failed. None of these stops the node: they are logged, counted and
//! retried by the loop that hit them.

use crate::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BridgeError {
    #[error("invalid redis url: {0}")]
    InvalidUrl(String),
    #[error(transparent)]
    Redis(#[from] StoreError),
    /// An actor the operation needed is gone (the node is shutting down).
    #[error("actor mailbox closed")]
    Mailbox(#[from] actix::MailboxError),
    /// The other nodes could not be asked, or not all of them answered in time.
    #[error("the other nodes did not all answer")]
    PeersUnknown,
}
