//! `user connected`: told to every other socket, on every node, when a user's socket connects
//! (or comes back after it had been announced gone). The payload is that of one entry of
//! `users` (`{"userID","username","connected","messages"}`, in that order), with no messages.

use crate::event::OutboundEvent;
use crate::hub::{Broadcast, ChatHub};
use crate::metrics::METRICS;
use actix::Addr;
use std::sync::Arc;

/// The `user connected` event of `user_id`.
pub fn user_connected(user_id: String, username: String) -> Arc<OutboundEvent> {
    let payload = serde_json::json!({
        "userID": user_id,
        "username": username,
        "connected": true,
        "messages": [],
    });
    OutboundEvent::new("user connected", vec![payload])
}

/// Tells every other socket, on every node, that the user is connected; `socket_id` (the
/// announcing socket) is left out.
pub fn announce_connected(
    hub: &Addr<ChatHub>,
    user_id: String,
    username: String,
    socket_id: String,
) {
    METRICS
        .presence_announcements
        .with_label_values(&["connected"])
        .inc();
    hub.do_send(Broadcast {
        rooms: Vec::new(),
        except: vec![socket_id],
        event: user_connected(user_id, username),
    });
}
