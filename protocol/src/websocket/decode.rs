//! One client frame at the start of a slice.
//!
//! tungstenite's `FrameHeader::parse` reads the header: the three length formats, the mask,
//! and the opcode, refusing the reserved ones. It answers `Ok(None)`, consuming nothing, until
//! the whole header (2 to 14 bytes) has arrived, mask included, and it checks nothing a server
//! must check on top: that the frame is masked, that no reserved bit is set, that a control
//! frame is short and final, and that the length is within the limit. Those are checked here,
//! on the header alone, so that a client announcing a huge frame is refused at once instead of
//! being buffered for.

use super::WsError;
use std::io::Cursor;
use std::ops::Range;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

/// The opcodes of RFC 6455 (the reserved ones are refused when decoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    /// Close, ping and pong: short, never fragmented, allowed inside a fragmented message.
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }

    /// The 4-bit code on the wire.
    pub fn code(self) -> u8 {
        u8::from(self.to_tungstenite())
    }

    pub(super) fn to_tungstenite(self) -> OpCode {
        match self {
            Opcode::Continuation => OpCode::Data(Data::Continue),
            Opcode::Text => OpCode::Data(Data::Text),
            Opcode::Binary => OpCode::Data(Data::Binary),
            Opcode::Close => OpCode::Control(Control::Close),
            Opcode::Ping => OpCode::Control(Control::Ping),
            Opcode::Pong => OpCode::Control(Control::Pong),
        }
    }

    fn from_tungstenite(opcode: OpCode) -> Result<Opcode, WsError> {
        Ok(match opcode {
            OpCode::Data(Data::Continue) => Opcode::Continuation,
            OpCode::Data(Data::Text) => Opcode::Text,
            OpCode::Data(Data::Binary) => Opcode::Binary,
            OpCode::Control(Control::Close) => Opcode::Close,
            OpCode::Control(Control::Ping) => Opcode::Ping,
            OpCode::Control(Control::Pong) => Opcode::Pong,
            OpCode::Data(Data::Reserved(_)) | OpCode::Control(Control::Reserved(_)) => {
                return Err(WsError::ReservedOpcode)
            }
        })
    }
}

/// A complete frame at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFrame {
    /// The last frame of its message.
    pub fin: bool,
    pub opcode: Opcode,
    /// Where its payload lies in the buffer given to [`decode_frame`], already unmasked.
    pub payload: Range<usize>,
    /// Bytes of the buffer the frame took (header and payload): the next frame starts there.
    pub consumed: usize,
}

/// The longest payload of a control frame (RFC 6455 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Decodes the client frame at the start of `buf`, unmasking its payload in place.
///
/// `Ok(None)` while `buf` does not hold the whole frame (`buf` is left untouched then: call
/// again with more bytes). A frame announcing a payload over `max_payload` is refused as soon
/// as its header is complete, before any of its payload has arrived.
pub fn decode_frame(buf: &mut [u8], max_payload: usize) -> Result<Option<DecodedFrame>, WsError> {
    let mut cursor = Cursor::new(&*buf);
    let (header, length) = match FrameHeader::parse(&mut cursor) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Ok(None),
        // A cursor over a slice fails on nothing but a reserved opcode (running short is
        // `Ok(None)`), and parse reports it only once the whole header is there.
        Err(_) => return Err(WsError::ReservedOpcode),
    };
    // At most 14: the cursor moved over the header only.
    let header_len = cursor.position() as usize;
    if header.rsv1 || header.rsv2 || header.rsv3 {
        return Err(WsError::ReservedBits);
    }
    let opcode = Opcode::from_tungstenite(header.opcode)?;
    let Some(mask) = header.mask else {
        return Err(WsError::Unmasked);
    };
    if opcode.is_control() && (length > MAX_CONTROL_PAYLOAD as u64 || !header.is_final) {
        return Err(WsError::InvalidControl);
    }
    // A 64-bit length must have its most significant bit clear (RFC 6455 5.2): such a length
    // is over any limit. tungstenite accepts a length not written in its shortest form, and so
    // does this (the rule binds the sender only).
    let limit = (max_payload as u64).min(i64::MAX as u64);
    if length > limit {
        return Err(WsError::TooBig);
    }
    let end = usize::try_from(length)
        .ok()
        .and_then(|length| length.checked_add(header_len))
        .ok_or(WsError::TooBig)?;
    let Some(payload) = buf.get_mut(header_len..end) else {
        return Ok(None);
    };
    unmask(payload, mask);
    Ok(Some(DecodedFrame {
        fin: header.is_final,
        opcode,
        payload: header_len..end,
        consumed: end,
    }))
}

/// XORs `payload` with the client's mask (RFC 6455 5.3), four bytes at a time. tungstenite's
/// own `apply_mask` is private.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let word = u32::from_ne_bytes(mask);
    let mut chunks = payload.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u32::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    // The remainder starts at a multiple of 4: it is masked from the mask's first byte.
    for (byte, key) in chunks.into_remainder().iter_mut().zip(mask) {
        *byte ^= key;
    }
}

#[cfg(test)]
mod tests {
    use super::unmask;

    fn unmask_bytewise(payload: &mut [u8], mask: [u8; 4]) {
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
    }

    #[test]
    fn unmasking_is_the_xor_of_rfc_6455() {
        // RFC 6455 5.7: "Hello" masked with 37 fa 21 3d.
        let mut hello = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        unmask(&mut hello, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(&hello, b"Hello");
    }

    #[test]
    fn unmasking_by_words_is_unmasking_byte_by_byte_at_any_length() {
        let mask = [0x6d, 0xb6, 0xb2, 0x80];
        let data: Vec<u8> = (0..=40u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..=data.len() {
            let (mut words, mut bytes) = (data[..len].to_vec(), data[..len].to_vec());
            unmask(&mut words, mask);
            unmask_bytewise(&mut bytes, mask);
            assert_eq!(words, bytes, "length {len}");
            unmask(&mut words, mask);
            assert_eq!(words, &data[..len], "masking twice is the identity");
        }
    }
}
