//! The byte bound of every outgoing queue. A client that stops reading is closed rather than
//! buffered for ever.
//!
//! The bound is in bytes, not frames, because what a reading client must absorb in a burst
//! is a number of small frames that grows with the number of users: a connect storm of N
//! users sends every early user N-1 `user connected` frames within seconds, and a frame
//! bound small enough to protect memory from a few large messages would close healthy
//! clients then. A single frame larger than the bound is still accepted into an empty queue.

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The client is not reading fast enough: its queue is full.
    SlowConsumer,
    /// The transport is gone.
    Closed,
}

/// Whether adding `bytes` to a queue holding `queued` goes past `limit`. An empty queue takes
/// any one frame, so a limit below the largest frame cannot close a client that reads.
pub fn exceeds(queued: usize, bytes: usize, limit: usize) -> bool {
    queued > 0 && queued.saturating_add(bytes) > limit
}
