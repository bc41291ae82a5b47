//! Recovering a socket that was parked on another node (drained, killed, or simply not this
//! one): its state comes from Redis and its missed events are rebuilt from the user's history
//! and the stream of broadcasts to everyone ([`crate::recovery::missed_across_nodes`]).
//!
//! The sequence, all while the connection handles nothing else (`ctx.wait` in
//! `chat_connect`, so live deliveries queue in its mailbox behind the replay):
//! 1. the parked state was taken from Redis (once: the pid is used up, as in Node), and this
//!    node's memory did not have the socket;
//! 2. read the history and the stream and check the replay fits (a refusal here leaves no
//!    trace: the client gets a normal connection);
//! 3. rejoin the socket's rooms, so that everything broadcast from then on reaches it live;
//! 4. read both again, for what was written between 2 and 3, and drop the messages the hub
//!    delivered live since 3, which the mailbox already holds.

use crate::chat::ChatServices;
use crate::engine::Frame;
use crate::hub::{Deliver, DeliveredSince, OutboundEvent, Rejoin, Restored};
use crate::recovery::stamp_offset;
use crate::recovery::{
    local_part, missed_across_nodes, split_local, ParkedSession, ReplayedEvent, SharedRecovery,
    Unrecoverable, Watermark, STREAM_MARGIN_MS,
};
use crate::store::{ConversationsOf, FindSession};
use actix::prelude::*;
use std::sync::Arc;

/// Restores `session`, just taken from Redis, or says why not.
pub(super) async fn restore_from_redis(
    services: &ChatServices,
    shared: &SharedRecovery,
    session: ParkedSession,
    offset: &str,
    recipient: Recipient<Deliver>,
) -> Result<Restored, Unrecoverable> {
    // A genuine pid with an unusable offset is used up all the same, as in Node.
    let mark = Watermark::parse(offset).ok_or(Unrecoverable::MalformedOffset)?;
    let max = services.recovery.max_events;
    missed(services, shared, &session, &mark, offset).await?;
    let head = services
        .hub
        .send(Rejoin {
            session: session.clone(),
            recipient,
        })
        .await
        .map_err(|_| Unrecoverable::StoreUnavailable)?;
    // Rejoined: from here on the socket is recovered whatever Redis does; a failed second
    // read replays the first one.
    let second = missed(services, shared, &session, &mark, offset).await;
    let delivered = services
        .hub
        .send(DeliveredSince {
            after: head.clone(),
            rooms: session.rooms.clone(),
        })
        .await
        .unwrap_or_default();
    let events = match second {
        Ok(events) => events,
        Err(refused) => {
            log::warn!(
                "recovery of a socket of {}: second read failed ({refused}), nothing replayed",
                session.user_id
            );
            Vec::new()
        }
    };
    let local = local_part(&head);
    let missed_frames: Vec<Arc<[Frame]>> = events
        .into_iter()
        .filter(|event| {
            event
                .watermark
                .message_id
                .as_ref()
                .is_none_or(|id| !delivered.contains(id))
        })
        .take(max)
        .map(|event| frames_of(event, local))
        .collect();
    let announce = match services
        .sessions
        .send(FindSession(session.session_id.clone()))
        .await
    {
        Ok(Ok(Some(stored))) => !stored.connected,
        Ok(Ok(None)) => true,
        _ => false,
    };
    Ok(Restored {
        session,
        missed: missed_frames,
        announce,
    })
}

/// Reads the history and the stream and rebuilds what `session` missed after `mark`.
async fn missed(
    services: &ChatServices,
    shared: &SharedRecovery,
    session: &ParkedSession,
    mark: &Watermark,
    offset: &str,
) -> Result<Vec<ReplayedEvent>, Unrecoverable> {
    let max = services.recovery.max_events;
    let (history, broadcasts) = futures_util::join!(
        services
            .messages
            .send(ConversationsOf(session.user_id.clone())),
        shared.broadcasts_since(mark.ms.saturating_sub(STREAM_MARGIN_MS), max)
    );
    let history = history
        .ok()
        .and_then(Result::ok)
        .ok_or(Unrecoverable::StoreUnavailable)?;
    let broadcasts = broadcasts.map_err(|_| Unrecoverable::StoreUnavailable)?;
    missed_across_nodes(
        session,
        mark,
        split_local(offset),
        &history,
        &broadcasts,
        max,
    )
}

/// The frames of a replayed event, its offset made of this node's head and its watermark.
fn frames_of(event: ReplayedEvent, local: &str) -> Arc<[Frame]> {
    let offset = event.watermark.append_to(local);
    let outbound = OutboundEvent::from_data(event.data, Vec::new());
    stamp_offset(&outbound.frames, &offset)
}
