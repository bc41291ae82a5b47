//! The pub/sub channel names of namespace `/` and which of them a received message came on.

use chat_protocol::adapter::{broadcast_channel, request_channel, response_channel};

/// The namespace every chat node serves; broadcasts and requests of other namespaces are
/// ignored.
pub const NAMESPACE: &str = "/";

/// Channel names derived from the configured prefix `<p>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    pub prefix: String,
    /// `<p>#/#`: broadcasts to every room or several rooms; one-room broadcasts append `<room>#`.
    pub broadcast: String,
    /// `<p>#/#*` with the glob characters of `<p>` escaped, for `PSUBSCRIBE`.
    pub pattern: String,
    /// `<p>-request#/#`
    pub request: String,
    /// `<p>-response#/#`
    pub response: String,
}

/// What a received message is, by its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    Broadcast,
    Request,
    Response,
    /// Not one of ours (cannot happen with our subscriptions, but costs nothing to check).
    Foreign,
}

impl Channels {
    pub fn new(prefix: &str) -> Channels {
        let broadcast = broadcast_channel(prefix, NAMESPACE, &[]);
        Channels {
            prefix: prefix.to_owned(),
            pattern: format!("{}*", escape_glob(&broadcast)),
            broadcast,
            request: request_channel(prefix, NAMESPACE),
            response: response_channel(prefix, NAMESPACE),
        }
    }

    /// The channel a broadcast to `rooms` goes to (Node's choice: a room channel for exactly
    /// one room).
    pub fn broadcast_to(&self, rooms: &[String]) -> String {
        broadcast_channel(&self.prefix, NAMESPACE, rooms)
    }

    /// The room of a one-room broadcast channel (`<p>#/#<room>#`).
    pub fn room_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel
            .strip_prefix(self.broadcast.as_str())?
            .strip_suffix('#')
            .filter(|room| !room.is_empty())
    }

    pub fn classify(&self, channel: &str) -> ChannelKind {
        if channel == self.request {
            ChannelKind::Request
        } else if channel == self.response {
            ChannelKind::Response
        } else if channel.starts_with(&self.broadcast) {
            ChannelKind::Broadcast
        } else {
            ChannelKind::Foreign
        }
    }
}

/// Escapes Redis glob special characters so a prefix such as `app[1]` matches literally.
fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_nodes_adapter() {
        let c = Channels::new("socket.io");
        assert_eq!(c.broadcast, "socket.io#/#");
        assert_eq!(c.pattern, "socket.io#/#*");
        assert_eq!(c.request, "socket.io-request#/#");
        assert_eq!(c.response, "socket.io-response#/#");
        assert_eq!(c.broadcast_to(&["alice".into()]), "socket.io#/#alice#");
        assert_eq!(c.broadcast_to(&["a".into(), "b".into()]), "socket.io#/#");
        assert_eq!(c.classify("socket.io#/#alice#"), ChannelKind::Broadcast);
        assert_eq!(c.classify("socket.io-request#/#"), ChannelKind::Request);
        assert_eq!(c.classify("socket.io-response#/#"), ChannelKind::Response);
        assert_eq!(c.classify("socket.io#/other#"), ChannelKind::Foreign);
        assert_eq!(Channels::new("a*[b]").pattern, "a\\*\\[b\\]#/#*");
    }

    #[test]
    fn the_room_of_a_room_channel() {
        let c = Channels::new("socket.io");
        assert_eq!(c.room_of(&c.broadcast_to(&["alice".into()])), Some("alice"));
        assert_eq!(c.room_of("socket.io#/#"), None);
        assert_eq!(c.room_of("socket.io#/##"), None);
        assert_eq!(c.room_of("other#/#alice#"), None);
    }
}
