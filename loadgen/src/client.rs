//! One simulated user: a WebSocket to one node, the chat handshake, then sending what the
//! scheduler hands it and timing what it receives, until told to stop.
//!
//! Each user is one tokio task owning its socket, so the hot path takes no lock: the
//! scheduler reaches a user through its command channel, and the user's counts come back as
//! the task's result.

use crate::dial::dial;
use crate::error::ClientError;
use crate::packets::{self, AckOutcome, Incoming, Stamp};
use crate::stats::ClientReport;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async_with_config, WebSocketStream};

type Socket = WebSocketStream<TcpStream>;

/// Bytes tungstenite reads from the socket at a time. It zero-fills this much of its buffer
/// before every read, so its 128 KiB default made memset two thirds of the load generator's
/// CPU (perf, 10 000 users), taken from the servers it measures on the same cores.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// How many queued sends are written before one flush: fewer syscalls when the scheduler
/// hands a user several messages at once, without holding any back.
const MAX_SENDS_PER_FLUSH: usize = 64;

/// Settings shared by every user of a run.
#[derive(Debug)]
pub struct RunSettings {
    /// The clock every stamp is measured on.
    pub base: Instant,
    pub ask_acks: bool,
    pub connect_timeout: Duration,
    /// Limits how many users are connecting at once.
    pub connect_slots: Semaphore,
}

impl RunSettings {
    /// Microseconds since the run's base instant.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// Which user this is and where it connects.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub index: usize,
    pub endpoint: String,
    /// The local address to connect from; `None` lets the kernel choose.
    pub source: Option<IpAddr>,
    pub username: String,
}

/// A message the scheduler asks a user to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: Arc<str>,
    pub stamp: Stamp,
}

/// A user that finished its handshake.
#[derive(Debug, Clone)]
pub struct Ready {
    pub user_id: String,
    pub connect_time: Duration,
}

/// Runs one user from connection to stop. Reports the handshake's outcome on `ready` as soon
/// as it is known, then keeps reading (the server broadcasts `user connected` to everyone while
/// the others connect) until `stop` turns true.
pub async fn simulate_user(
    spec: UserSpec,
    settings: Arc<RunSettings>,
    ready: mpsc::UnboundedSender<(usize, Result<Ready, ClientError>)>,
    commands: mpsc::UnboundedReceiver<Outgoing>,
    stop: watch::Receiver<bool>,
) -> ClientReport {
    let (socket, user_id) = {
        // The semaphore is never closed, so acquiring only fails if it were: connect anyway.
        let _slot = settings.connect_slots.acquire().await.ok();
        let started = Instant::now();
        let handshake = tokio::time::timeout(settings.connect_timeout, handshake(&spec)).await;
        match handshake.unwrap_or(Err(ClientError::Timeout)) {
            Ok((socket, user_id)) => {
                let connected = Ready {
                    user_id: user_id.clone(),
                    connect_time: started.elapsed(),
                };
                // The receiver only goes away when the run is over; nothing left to report then.
                let _ = ready.send((spec.index, Ok(connected)));
                (socket, user_id)
            }
            Err(error) => {
                let _ = ready.send((spec.index, Err(error)));
                return ClientReport::default();
            }
        }
    };
    let user = ConnectedUser {
        socket,
        user_id,
        settings,
        next_ack_id: 0,
        pending_acks: HashMap::new(),
    };
    user.run(commands, stop).await
}

/// Opens the WebSocket, answers the Engine.IO open with a Socket.IO CONNECT carrying
/// `{username}`, and waits for `session` (our userID) then `users`.
async fn handshake(spec: &UserSpec) -> Result<(Socket, String), ClientError> {
    let stream = dial(&spec.endpoint, spec.source).await?;
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let (mut socket, _response) =
        client_async_with_config(spec.endpoint.as_str(), stream, Some(config)).await?;
    let mut user_id = None;
    while let Some(frame) = socket.next().await {
        let text = match frame? {
            Message::Text(text) => text,
            Message::Close(_) => return Err(ClientError::Closed),
            _ => continue,
        };
        match packets::classify(text.as_str())? {
            Incoming::Open => {
                socket
                    .send(Message::text(packets::connect_with_username(
                        &spec.username,
                    )))
                    .await?
            }
            Incoming::Ping(data) => socket.send(Message::text(packets::pong(&data))).await?,
            Incoming::Refused(reason) => return Err(ClientError::Refused(reason)),
            Incoming::Close | Incoming::Disconnected => return Err(ClientError::Closed),
            Incoming::Session { user_id: id } => user_id = Some(id),
            Incoming::Users => {
                return user_id
                    .map(|id| (socket, id))
                    .ok_or(ClientError::UsersBeforeSession)
            }
            _ => {}
        }
    }
    Err(ClientError::Closed)
}

/// A user past its handshake.
struct ConnectedUser {
    socket: Socket,
    user_id: String,
    settings: Arc<RunSettings>,
    next_ack_id: u64,
    /// Ack id → the stamp of the message it acknowledges.
    pending_acks: HashMap<u64, Stamp>,
}

/// Whether the user goes on after handling something.
enum Flow {
    Continue,
    Stop,
}

impl ConnectedUser {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Outgoing>,
        mut stop: watch::Receiver<bool>,
    ) -> ClientReport {
        let mut report = ClientReport::default();
        let mut commands_open = true;
        loop {
            let flow = tokio::select! {
                _ = stop.changed() => Flow::Stop,
                frame = self.socket.next() => match frame {
                    Some(Ok(message)) => self.on_message(message, &mut report).await,
                    Some(Err(error)) => {
                        report.errors.add(format!("websocket: {error}"));
                        Flow::Stop
                    }
                    None => {
                        report.errors.add("closed by the server");
                        Flow::Stop
                    }
                },
                command = commands.recv(), if commands_open => match command {
                    Some(first) => self.send_batch(first, &mut commands, &mut report).await,
                    None => {
                        commands_open = false;
                        Flow::Continue
                    }
                },
            };
            if let Flow::Stop = flow {
                break;
            }
        }
        let unanswered = self
            .pending_acks
            .values()
            .filter(|stamp| stamp.measured)
            .count();
        report
            .errors
            .add_many("ack: none before the end", unanswered as u64);
        // A polite close, but the run's results do not wait for a slow one.
        let _ = tokio::time::timeout(Duration::from_millis(200), self.socket.close(None)).await;
        report
    }

    /// Writes `first` and whatever else is already queued, then flushes once.
    async fn send_batch(
        &mut self,
        first: Outgoing,
        commands: &mut mpsc::UnboundedReceiver<Outgoing>,
        report: &mut ClientReport,
    ) -> Flow {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(outgoing) = next.take() {
            let ack_id = self.settings.ask_acks.then(|| {
                self.next_ack_id += 1;
                self.pending_acks.insert(self.next_ack_id, outgoing.stamp);
                self.next_ack_id
            });
            let frame =
                packets::private_message(&outgoing.stamp.to_content(), &outgoing.to, ack_id);
            if let Err(error) = self.socket.feed(Message::text(frame)).await {
                report.errors.add(format!("send: {error}"));
                return Flow::Stop;
            }
            written += 1;
            if written < MAX_SENDS_PER_FLUSH {
                next = commands.try_recv().ok();
            }
        }
        match self.socket.flush().await {
            Ok(()) => Flow::Continue,
            Err(error) => {
                report.errors.add(format!("send: {error}"));
                Flow::Stop
            }
        }
    }

    async fn on_message(&mut self, message: Message, report: &mut ClientReport) -> Flow {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => {
                report.errors.add("closed by the server");
                return Flow::Stop;
            }
            _ => return Flow::Continue,
        };
        let incoming = match packets::classify(text.as_str()) {
            Ok(incoming) => incoming,
            Err(error) => {
                report
                    .errors
                    .add(format!("malformed packet: {}", error.kind()));
                return Flow::Continue;
            }
        };
        match incoming {
            Incoming::PrivateMessage { content, to } => {
                self.on_private_message(&content, &to, report)
            }
            Incoming::Ack { id, outcome } => self.on_ack(id, outcome, report),
            Incoming::Ping(data) => {
                if let Err(error) = self.socket.send(Message::text(packets::pong(&data))).await {
                    report.errors.add(format!("send: {error}"));
                    return Flow::Stop;
                }
            }
            Incoming::Close | Incoming::Disconnected => {
                report.errors.add("disconnected by the server");
                return Flow::Stop;
            }
            _ => {}
        }
        Flow::Continue
    }

    fn on_private_message(&self, content: &str, to: &str, report: &mut ClientReport) {
        if to != self.user_id {
            report.wrong_target += 1;
            return;
        }
        match Stamp::parse(content) {
            Some(stamp) if stamp.measured => {
                report.delivered += 1;
                report
                    .latencies_us
                    .push(self.settings.now_us().saturating_sub(stamp.sent_us));
            }
            Some(_) => {} // warm-up traffic
            None => report.errors.add("message: content not ours"),
        }
    }

    fn on_ack(&mut self, id: u64, outcome: AckOutcome, report: &mut ClientReport) {
        let Some(stamp) = self.pending_acks.remove(&id) else {
            report.errors.add("ack: unknown id");
            return;
        };
        if !stamp.measured {
            return;
        }
        match outcome {
            AckOutcome::Ok => {
                report.acked += 1;
                report
                    .ack_latencies_us
                    .push(self.settings.now_us().saturating_sub(stamp.sent_us));
            }
            AckOutcome::Error(reason) => report.errors.add(format!("ack: {reason}")),
        }
    }
}
