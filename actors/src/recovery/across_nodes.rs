//! Restoring a socket that was parked on another node (drained, killed, or simply not this
//! one): its state came from Redis and its missed events are rebuilt from the user's history and
//! the stream of broadcasts to everyone, in the four steps of the module doc
//! ([`super`], "Across nodes"): read, rejoin, read again, drop what was delivered live.

use super::services::RecoveryServices;
use super::{
    local_part, missed_across_nodes, split_local, stamp_offset, ParkedSession, Rejoin,
    ReplayedEvent, Restored, SharedRecovery, Unrecoverable, Watermark, STREAM_MARGIN_MS,
};
use crate::event::OutboundEvent;
use crate::store::{ConversationsOf, FindSession};
use crate::transport::{Frame, Outbox};
use std::sync::Arc;

/// Restores `session`, just taken from Redis, or says why not.
pub(super) async fn restore_from_redis(
    services: &RecoveryServices,
    shared: &SharedRecovery,
    session: ParkedSession,
    offset: &str,
    outbox: Arc<Outbox>,
) -> Result<Restored, Unrecoverable> {
    // A genuine pid with an unusable offset is used up all the same, as in Node.
    let mark = Watermark::parse(offset).ok_or(Unrecoverable::MalformedOffset)?;
    let max = services.config.max_events;
    missed(services, shared, &session, &mark, offset).await?;
    let head = services
        .rejoin
        .send(Rejoin {
            session: session.clone(),
            outbox: outbox.clone(),
        })
        .await
        .map_err(|_| Unrecoverable::StoreUnavailable)?;
    // Rejoined: from here on the socket is recovered whatever Redis does; a failed second
    // read replays the first one.
    let second = missed(services, shared, &session, &mark, offset).await;
    // Delivered live since the rejoin, and held for the client behind the replay.
    let delivered = outbox.held_message_ids();
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
                .is_none_or(|id| !delivered.iter().any(|held| **held == **id))
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
        replayed: None,
        announce,
    })
}

/// Reads the history and the stream and rebuilds what `session` missed after `mark`.
async fn missed(
    services: &RecoveryServices,
    shared: &SharedRecovery,
    session: &ParkedSession,
    mark: &Watermark,
    offset: &str,
) -> Result<Vec<ReplayedEvent>, Unrecoverable> {
    let max = services.config.max_events;
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
