//! Random identifiers. Engine.IO sids, socket ids and sessionIDs are all unguessable: a sid
//! or socket id lets its holder post into a session, a sessionID is a user's credential.

use base64::Engine as _;
use rand::RngCore;

/// `bytes` random bytes as lowercase hex (so 16 bytes = 128 bits = 32 characters). Every
/// private message gets one (its id), so no formatter runs per byte.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A 20-character URL-safe id (120 random bits), the shape Node's engine.io uses for sids
/// and socket ids.
pub fn socket_id() -> String {
    let mut buf = [0u8; 15];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_promised_shape() {
        let hex = random_hex(16);
        assert_eq!(hex.len(), 32);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(random_hex(16), hex);
        let sid = socket_id();
        assert_eq!(sid.len(), 20);
        assert!(sid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
