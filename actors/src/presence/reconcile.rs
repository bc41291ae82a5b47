//! Reconciliation after this node was cut off from Redis for longer than the heartbeat TTL:
//! meanwhile the other nodes took it for dead and announced its users `user disconnected`
//! (they could not ask it). Those users still have their tabs here, so each is announced
//! `user connected` again (exactly the payload of a new connection) and its session saved
//! with `connected: true`.

use super::announce::user_connected;
use crate::hub::ChatHub;
use crate::metrics::METRICS;
use actix::prelude::*;

/// Announces every user with a local socket again; answers how many.
#[derive(Message, Debug)]
#[rtype(result = "usize")]
pub struct ReannounceLocalUsers;

impl Handler<ReannounceLocalUsers> for ChatHub {
    type Result = usize;

    fn handle(&mut self, _: ReannounceLocalUsers, _: &mut Context<Self>) -> usize {
        let users: Vec<(String, String, String)> = self
            .live_users
            .iter()
            .map(|(id, (session, name))| (id.clone(), session.clone(), name.clone()))
            .collect();
        for (user_id, session_id, username) in &users {
            self.save_live_session(user_id, session_id, username);
            METRICS
                .presence_announcements
                .with_label_values(&["connected"])
                .inc();
            // Its own tabs know it is online.
            self.broadcast(
                Vec::new(),
                vec![user_id.clone()],
                user_connected(user_id.clone(), username.clone()),
            );
        }
        if !users.is_empty() {
            log::info!("presence: announced {} local users again", users.len());
        }
        users.len()
    }
}
