//! The polling -> WebSocket upgrade, as the state of the WebSocket being probed: the client
//! opens a WebSocket with the session's sid, probes it (`2probe` / `3probe`) and switches with
//! `5`. Meanwhile the pending poll is ended with a noop so the client can pause polling. The
//! connection actor owns the timers (`connection/upgrade.rs`); what a packet on the probe means
//! is decided here.

use super::frame::Frame;
use super::outbox::{WsCommand, WsLink};
use actix::SpawnHandle;
use chat_protocol::engineio::Packet as EioPacket;
use std::time::Duration;

/// How long a GET that arrives while a WebSocket is probing is held before it is ended with a
/// noop (Node checks every 100 ms). Meanwhile the client's `5` may complete the upgrade, and
/// the GET then gets HTTP 400 as on any upgraded session: the `5` and the GET travel on two
/// connections, and the GET may reach the actor first although the client sent it after.
pub const LATE_POLL_GRACE: Duration = Duration::from_millis(100);

/// A WebSocket being probed.
pub struct UpgradeProbe {
    pub link: WsLink,
    pub probed: bool,
    /// The waiting GET arrived after this WebSocket did (see [`LATE_POLL_GRACE`]); a GET that
    /// was already waiting is the client's regular poll, ended with a noop at the probe.
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
    pub fn new(link: WsLink, timer: SpawnHandle) -> UpgradeProbe {
        UpgradeProbe {
            link,
            probed: false,
            late_poll: false,
            timer,
        }
    }

    /// A packet arrived on the probe.
    pub fn on_packet(&mut self, packet: &EioPacket) -> ProbeStep {
        match packet {
            EioPacket::Ping(data) if data == "probe" => {
                let _ = self
                    .link
                    .send(WsCommand::Send(Frame::Text("3probe".into())));
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
