//! Putting a binary packet back together: a BINARY_EVENT or BINARY_ACK announces N
//! attachments (see [`crate::binary`]), and the next N Engine.IO binary messages are them.

use crate::socketio::Packet;

/// Collects the binary messages that follow a binary packet.
#[derive(Debug)]
pub struct Reassembler {
    packet: Packet,
    buffers: Vec<Vec<u8>>,
}

impl Reassembler {
    /// Starts waiting for `packet.attachments` buffers. The packet's placeholders must already
    /// have been validated.
    pub fn new(packet: Packet) -> Reassembler {
        Reassembler {
            packet,
            buffers: Vec::new(),
        }
    }

    /// Adds the next buffer; returns the complete packet and its buffers once all have arrived.
    /// The reassembler is spent once it has returned `Some`: drop it.
    ///
    /// A packet announcing 0 attachments needs no buffer and is complete as soon as it is
    /// decoded ([`Packet::decode`] refuses `5-`/`50-` anyway, as Node's parser does), so no
    /// reassembler should be built for it; if one is, the first buffer completes it and comes
    /// back as a surplus buffer (`buffers.len() > packet.attachments`), never silently lost.
    pub fn push(&mut self, buffer: Vec<u8>) -> Option<(Packet, Vec<Vec<u8>>)> {
        self.buffers.push(buffer);
        if self.buffers.len() < self.packet.attachments {
            return None;
        }
        Some((self.packet.clone(), std::mem::take(&mut self.buffers)))
    }
}
