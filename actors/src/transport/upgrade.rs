//! The polling -> WebSocket upgrade, as the state of the WebSocket being probed: the client
//! opens a WebSocket with the session's sid, probes it (`2probe` / `3probe`) and switches with
//! `5`. Meanwhile the pending poll is ended with a noop so the client can pause polling. The
//! probing WebSocket writes through an outbox of its own until the session's outbox takes the
//! socket over. The connection actor owns the timers (`connection/upgrade.rs`); what a packet
//! on the probe means is decided here.

use super::frame::Frame;
use super::outbox::Outbox;
use actix::SpawnHandle;
use chat_protocol::engineio::Packet as EioPacket;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long a GET that arrives while a WebSocket is probing is held before it is ended with a
/// noop (Node checks every 100 ms). Meanwhile the client's `5` may complete the upgrade, and
/// the GET then gets HTTP 400 as on any upgraded session: the `5` and the GET travel on two
/// connections, and the GET may reach the actor first although the client sent it after.
pub const LATE_POLL_GRACE: Duration = Duration::from_millis(100);

/// A WebSocket being probed.
pub struct UpgradeProbe {
    /// Which WebSocket of the session it is (its reader's items carry it).
    pub id: u64,
    pub stream: Arc<TcpStream>,
    /// Its own outbox (`3probe`, pongs), retired when the session's outbox takes the socket.
    pub outbox: Arc<Outbox>,
    pub probed: bool,
    /// The waiting GET is held (see [`LATE_POLL_GRACE`]): it arrived after this WebSocket
    /// did, or was waiting when it did. Otherwise the probe ends the waiting poll at once.
    pub late_poll: bool,
    /// Abandons the upgrade once `upgradeTimeout` passed.
    pub timer: SpawnHandle,
}

/// What a packet on the probing WebSocket asks of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeStep {
    /// `2probe` was answered; `end_waiting_poll`: end the regular poll with a noop now.
    Probed { end_waiting_poll: bool },
    /// `5` after a probe: the session moves to this WebSocket.
    Complete,
    /// Anything else: the upgrade is abandoned, the session stays on polling.
    Abandon,
}

impl UpgradeProbe {
    /// A packet arrived on the probe.
    pub fn on_packet(&mut self, packet: &EioPacket) -> ProbeStep {
        match packet {
            EioPacket::Ping(data) if data == "probe" => {
                if self.outbox.push(Frame::Text("3probe".into())).is_err() {
                    return ProbeStep::Abandon;
                }
                self.probed = true;
                ProbeStep::Probed {
                    end_waiting_poll: !self.late_poll,
                }
            }
            EioPacket::Upgrade if self.probed => ProbeStep::Complete,
            _ => ProbeStep::Abandon,
        }
    }
}
