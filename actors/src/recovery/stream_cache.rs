//! The tail of the broadcast stream this node has read, shared by all its recoveries.
//!
//! Why: after a drain, every client of the drained node recovers on the survivors within a few
//! seconds, and each needs the presence events of about the same span. Read from Redis per
//! client, that is the whole span again for every client (thousands of entries each, parsed
//! each time, through the one connection every store operation shares). Read once here, each
//! recovery fetches only what was added since the last one (`XRANGE (<last id> +`) and takes
//! the rest from memory.
//!
//! Reads are coalesced: a request is served without a round trip when a read that started
//! after the request was made has completed meanwhile (the queue of recoveries behind the lock
//! then costs one read, not one each).
//!
//! Invariant: `entries` holds every stream entry with a time from `complete_from` up to
//! `last_id`, oldest first. Entries older than [`KEEP_MS`] are dropped (raising
//! `complete_from`); a request older than `complete_from` reads its span again.

use super::stream_entry::{parse_entry, StreamedBroadcast};
use crate::store::redis_keys::RECOVERY_BROADCASTS_KEY;
use crate::store::{RedisConnection, Replay, StoreError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Mutex;

/// How long entries stay cached: longer than any recovery window in practice; an older
/// request is read from Redis.
const KEEP_MS: u64 = 15 * 60 * 1000;

/// Most entries one read brings (the stream is capped near that anyway).
const READ_COUNT: usize = 25_000;

#[derive(Debug, Default)]
pub(super) struct StreamCache {
    tail: Mutex<Tail>,
}

#[derive(Debug, Default)]
struct Tail {
    /// Redis id of the newest entry read; `None` before the first read.
    last_id: Option<String>,
    complete_from: u64,
    entries: VecDeque<Arc<StreamedBroadcast>>,
    /// When the newest read was sent.
    read_sent: Option<Instant>,
}

impl StreamCache {
    /// The entries from `ms` on (Redis time), oldest first; at most `max + 1`.
    pub async fn since(
        &self,
        conn: &RedisConnection,
        ms: u64,
        max: usize,
    ) -> Result<Vec<Arc<StreamedBroadcast>>, StoreError> {
        let asked = Instant::now();
        let mut tail = self.tail.lock().await;
        let fresh = tail.read_sent.is_some_and(|sent| sent >= asked);
        if fresh && tail.last_id.is_some() && ms >= tail.complete_from {
            return Ok(tail.served(ms, max));
        }
        tail.read_sent = Some(Instant::now());
        let start = match &tail.last_id {
            Some(last) if ms >= tail.complete_from => format!("({last}"),
            _ => {
                tail.entries.clear();
                tail.complete_from = ms;
                ms.to_string()
            }
        };
        let mut cmd = ::redis::cmd("XRANGE");
        cmd.arg(RECOVERY_BROADCASTS_KEY)
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(READ_COUNT);
        let read: Vec<(String, Vec<String>)> = conn.query(&cmd, Replay::Safe).await?;
        if let Some((id, _)) = read.last() {
            tail.last_id = Some(id.clone());
        } else if tail.last_id.is_none() {
            // Nothing yet: the next read starts from the same time.
            tail.last_id = Some(format!("{}-0", ms.saturating_sub(1)));
        }
        tail.entries.extend(
            read.iter()
                .filter_map(|(id, fields)| parse_entry(id, fields))
                .map(Arc::new),
        );
        if let Some(newest) = tail.entries.back().map(|e| e.ms) {
            let horizon = newest.saturating_sub(KEEP_MS);
            while tail.entries.front().is_some_and(|e| e.ms < horizon) {
                tail.entries.pop_front();
            }
            tail.complete_from = tail.complete_from.max(horizon);
        }
        Ok(tail.served(ms, max))
    }
}

impl Tail {
    fn served(&self, ms: u64, max: usize) -> Vec<Arc<StreamedBroadcast>> {
        self.entries
            .iter()
            .filter(|e| e.ms >= ms)
            .take(max.saturating_add(1))
            .cloned()
            .collect()
    }
}
