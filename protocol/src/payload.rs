//! HTTP long-polling bodies: Engine.IO packets joined by the record separator `\x1e`.

use crate::engineio::Packet;
use crate::DecodeError;

/// Separates packets in a polling body.
pub const SEPARATOR: char = '\u{1e}';

/// Splits a POSTed body into packets. Fails on the first malformed segment (the caller then
/// closes the session, as Node's engine.io does). An empty body is an error.
pub fn decode_payload(body: &str) -> Result<Vec<Packet>, DecodeError> {
    body.split(SEPARATOR).map(Packet::decode_text).collect()
}

/// Joins already-encoded segments (each the output of [`Packet::encode_text`]) into one body.
pub fn encode_payload<S: AsRef<str>>(segments: &[S]) -> String {
    let mut body = String::new();
    for (index, segment) in segments.iter().enumerate() {
        if index > 0 {
            body.push(SEPARATOR);
        }
        body.push_str(segment.as_ref());
    }
    body
}
