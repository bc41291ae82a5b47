//! One queue for everything this node publishes, drained by a single task that sends whatever
//! accumulated as one pipeline.
//!
//! Why: messages from one node must reach the others in the order the hub produced them (a
//! user's two private messages must not swap), and one round trip per broadcast would cap the
//! throughput at the Redis latency. A single sender keeps the order; batching keeps the
//! throughput. The queue is bounded so that a Redis black hole (commands time out instead of
//! failing fast) cannot make memory grow without limit: when it is full, publications are
//! dropped and counted. While Redis is down every batch fails at once and is dropped: the
//! other nodes miss those broadcasts (they are live events; history is in the store).

use crate::metrics::METRICS;
use crate::store::RedisConnection;
use tokio::sync::mpsc;

/// Publications waiting at most (about 10 s of a busy node's broadcasts).
const QUEUE_CAPACITY: usize = 16_384;
/// Publications sent in one pipeline at most.
const MAX_BATCH: usize = 512;

/// One `PUBLISH`.
#[derive(Debug)]
struct Publication {
    channel: String,
    payload: Vec<u8>,
}

/// The sending side of the queue; cheap to clone. The draining task ends once every clone is
/// dropped.
#[derive(Clone, Debug)]
pub struct Publisher {
    queue: mpsc::Sender<Publication>,
}

impl Publisher {
    /// Starts the draining task on the current actix arbiter.
    pub fn start(conn: RedisConnection) -> Publisher {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        actix::spawn(drain(conn, receiver));
        Publisher { queue }
    }

    /// Queues `payload` for `channel`; never waits.
    pub fn publish(&self, channel: String, payload: Vec<u8>) {
        match self.queue.try_send(Publication { channel, payload }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => METRICS.error("bridge_publish_overflow"),
            Err(mpsc::error::TrySendError::Closed(_)) => METRICS.error("bridge_publish_closed"),
        }
    }
}

async fn drain(conn: RedisConnection, mut receiver: mpsc::Receiver<Publication>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut failing = false;
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let count = batch.len() as u64;
        let sent = conn
            .publish_all(&batch, |p| (p.channel.as_str(), p.payload.as_slice()))
            .await;
        match sent {
            Ok(()) => {
                METRICS
                    .bridge_messages
                    .with_label_values(&["out"])
                    .inc_by(count);
                if failing {
                    log::info!("bridge: publishing to redis again");
                    failing = false;
                }
            }
            Err(e) => {
                METRICS
                    .errors
                    .with_label_values(&["bridge_publish"])
                    .inc_by(count);
                if !failing {
                    log::warn!("bridge: cannot publish to redis ({e}); other nodes miss broadcasts until it is back");
                    failing = true;
                }
            }
        }
        batch.clear();
    }
}
