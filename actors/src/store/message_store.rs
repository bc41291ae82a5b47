//! The `MessageStore` actor: the node's single entry point to conversation history.

use super::{MessageBackend, StoreError, StoredMessage};
use actix::prelude::*;

/// Serves the message backend to actors; requests are answered by futures (see
/// [`super::SessionStore`]). The backend is shared: a connection persists its private
/// messages through it directly.
pub struct MessageStore {
    backend: std::sync::Arc<dyn MessageBackend>,
}

impl MessageStore {
    pub fn new(backend: std::sync::Arc<dyn MessageBackend>) -> MessageStore {
        MessageStore { backend }
    }
}

impl Actor for MessageStore {
    type Context = Context<Self>;
}

/// Persists one message in both participants' histories.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct AppendMessage(pub StoredMessage);

/// Every message a user sent or received, oldest first.
#[derive(Message)]
#[rtype(result = "Result<Vec<StoredMessage>, StoreError>")]
pub struct ConversationsOf(pub String);

impl Handler<AppendMessage> for MessageStore {
    type Result = ResponseFuture<Result<(), StoreError>>;
    fn handle(&mut self, msg: AppendMessage, _: &mut Context<Self>) -> Self::Result {
        self.backend.append(&msg.0)
    }
}

impl Handler<ConversationsOf> for MessageStore {
    type Result = ResponseFuture<Result<Vec<StoredMessage>, StoreError>>;
    fn handle(&mut self, msg: ConversationsOf, _: &mut Context<Self>) -> Self::Result {
        self.backend.messages_of(&msg.0)
    }
}
