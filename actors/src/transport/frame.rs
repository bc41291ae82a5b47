//! What a connection sends: Engine.IO packets already encoded, cheap to clone, so that a
//! broadcast is encoded once and shared by every recipient.

use base64::Engine as _;
use bytes::Bytes;
use bytestring::ByteString;
use chat_protocol::payload::SEPARATOR;

/// One outbound Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text packet (type digit included, e.g. `42["event"]`).
    Text(ByteString),
    /// A binary message (a Socket.IO attachment, or an echoed binary packet).
    Binary(Bytes),
}

impl Frame {
    /// Size on the wire, for metrics and queue accounting.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame carries no bytes (never true for a valid packet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Joins frames into one long-polling response body: text as is, binary as `b<base64>`,
/// separated by `\x1e`.
pub fn encode_polling_body<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> String {
    let mut body = String::new();
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 {
            body.push(SEPARATOR);
        }
        match frame {
            Frame::Text(t) => body.push_str(t),
            Frame::Binary(b) => {
                body.push('b');
                base64::engine::general_purpose::STANDARD.encode_string(b, &mut body);
            }
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_body_joins_text_and_base64_binary() {
        let frames = [
            Frame::Text("4hello".into()),
            Frame::Binary(Bytes::from_static(&[1, 2, 3])),
            Frame::Text("2".into()),
        ];
        assert_eq!(encode_polling_body(&frames), "4hello\u{1e}bAQID\u{1e}2");
    }
}
