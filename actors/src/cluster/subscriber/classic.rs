//! Being subscribed on classic pub/sub (one Redis): one connection, `SUBSCRIBE` of every channel
//! as arguments of one command (one round trip however many rooms), plus `PSUBSCRIBE` of the
//! broadcast pattern in pattern mode.

use super::{Connector, LiveSubscription, Next};
use crate::cluster::room_subscriptions::SyncPlan;
use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};

/// Opens subscribed connections to one Redis.
pub struct ClassicConnector {
    pub client: redis::Client,
    /// `PSUBSCRIBE`d too, in pattern mode.
    pub pattern: Option<String>,
}

/// A subscribed classic connection, split so that commands go out while messages come in.
pub struct ClassicLive {
    sink: PubSubSink,
    stream: PubSubStream,
}

impl Connector for ClassicConnector {
    type Live = ClassicLive;

    async fn connect(&mut self, channels: Vec<String>) -> Result<ClassicLive, String> {
        let attempt = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            if let Some(pattern) = &self.pattern {
                pubsub.psubscribe(pattern).await?;
            }
            pubsub.subscribe(&channels).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let (sink, stream) = attempt.await.map_err(|e| e.to_string())?.split();
        Ok(ClassicLive { sink, stream })
    }
}

impl LiveSubscription for ClassicLive {
    async fn next(&mut self) -> Next {
        match self.stream.next().await {
            Some(message) => Next::Message {
                channel: message.get_channel_name().to_owned(),
                payload: message.get_payload_bytes().to_vec(),
            },
            None => Next::Lost("connection closed"),
        }
    }

    async fn apply(&mut self, plan: &SyncPlan) -> redis::RedisResult<()> {
        if !plan.subscribe.is_empty() {
            self.sink.subscribe(&plan.subscribe).await?;
        }
        if !plan.unsubscribe.is_empty() {
            self.sink.unsubscribe(&plan.unsubscribe).await?;
        }
        Ok(())
    }

    async fn ping(&mut self) -> redis::RedisResult<()> {
        // In subscribed mode PING answers an array, hence the untyped reply.
        self.sink.ping::<redis::Value>().await.map(|_| ())
    }
}
