//! Validation of what a client may send: usernames and private messages. Everything a client
//! controls is checked here before it reaches a store or another user.

use serde_json::Value;
use thiserror::Error;

/// Longest username, in characters, after trimming.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest private message, in characters.
pub const MAX_CONTENT_CHARS: usize = 10_000;

/// A valid username: a string of 1..=64 characters after trimming, without control
/// characters. Returns the trimmed name, which is what gets stored.
pub fn validate_username(raw: Option<&Value>) -> Option<String> {
    let name = raw?.as_str()?.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS || name.chars().any(char::is_control) {
        return None;
    }
    Some(name.to_owned())
}

/// Why a private message was refused; the text is what the client's ack receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MessageRefusal {
    #[error("invalid payload")]
    InvalidPayload,
    #[error("invalid content")]
    InvalidContent,
    #[error("content too long")]
    ContentTooLong,
    #[error("invalid recipient")]
    InvalidRecipient,
    #[error("unknown recipient")]
    UnknownRecipient,
    #[error("store unavailable")]
    StoreUnavailable,
    #[error("rate limited")]
    RateLimited,
}

impl MessageRefusal {
    /// Metrics label.
    pub fn kind(self) -> &'static str {
        match self {
            MessageRefusal::InvalidPayload => "message_invalid_payload",
            MessageRefusal::InvalidContent => "message_invalid_content",
            MessageRefusal::ContentTooLong => "message_content_too_long",
            MessageRefusal::InvalidRecipient => "message_invalid_recipient",
            MessageRefusal::UnknownRecipient => "message_unknown_recipient",
            MessageRefusal::StoreUnavailable => "message_store_unavailable",
            MessageRefusal::RateLimited => "message_rate_limited",
        }
    }
}

/// Checks the first argument of a `private message` event; returns `(content, to)`.
/// Any `from` the client put in is ignored by construction: only these two fields are read.
pub fn validate_private_message(
    payload: Option<&Value>,
) -> Result<(String, String), MessageRefusal> {
    let Some(Value::Object(fields)) = payload else {
        return Err(MessageRefusal::InvalidPayload);
    };
    let content = match fields.get("content") {
        Some(Value::String(s)) => s,
        _ => return Err(MessageRefusal::InvalidContent),
    };
    check_content(content)?;
    let to = match fields.get("to") {
        Some(Value::String(s)) => s,
        _ => return Err(MessageRefusal::InvalidRecipient),
    };
    check_recipient(to)?;
    Ok((content.clone(), to.clone()))
}

/// Checks a private message's `content` and `to` once both are known to be strings (the
/// typed path's decoding made sure): the same refusals, in the same order, as
/// [`validate_private_message`].
pub fn validate_message_fields(content: &str, to: &str) -> Result<(), MessageRefusal> {
    check_content(content)?;
    check_recipient(to)
}

fn check_content(content: &str) -> Result<(), MessageRefusal> {
    if content.is_empty() {
        return Err(MessageRefusal::InvalidContent);
    }
    if content.chars().count() > MAX_CONTENT_CHARS {
        return Err(MessageRefusal::ContentTooLong);
    }
    Ok(())
}

fn check_recipient(to: &str) -> Result<(), MessageRefusal> {
    if to.is_empty() {
        return Err(MessageRefusal::InvalidRecipient);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_typed_path_refuses_what_the_generic_path_refuses() {
        let long = "é".repeat(MAX_CONTENT_CHARS + 1);
        let longest = "é".repeat(MAX_CONTENT_CHARS);
        for (content, to) in [
            ("hi", "u2"),
            ("", "u2"),
            ("hi", ""),
            ("", ""),
            (long.as_str(), "u2"),
            (long.as_str(), ""),
            (longest.as_str(), "u2"),
        ] {
            let generic = validate_private_message(Some(&json!({"content": content, "to": to})));
            let typed =
                validate_message_fields(content, to).map(|()| (content.to_owned(), to.to_owned()));
            assert_eq!(typed, generic, "{content:.10?} to {to:?}");
        }
    }

    #[test]
    fn usernames() {
        assert_eq!(
            validate_username(Some(&json!("  bob "))).as_deref(),
            Some("bob")
        );
        assert_eq!(
            validate_username(Some(&json!("x".repeat(64)))).map(|s| s.len()),
            Some(64)
        );
        assert_eq!(
            validate_username(Some(&json!("é".repeat(64)))).map(|s| s.chars().count()),
            Some(64)
        );
        for bad in [
            json!(""),
            json!("   "),
            json!(42),
            json!({}),
            json!(null),
            json!("x".repeat(65)),
            json!("a\u{7}b"),
            json!("a\nb"),
        ] {
            assert_eq!(validate_username(Some(&bad)), None, "{bad}");
        }
        assert_eq!(validate_username(None), None);
    }

    #[test]
    fn private_messages() {
        let ok = json!({"content": "hi", "to": "u1", "from": "forged"});
        assert_eq!(
            validate_private_message(Some(&ok)),
            Ok(("hi".into(), "u1".into()))
        );
        let long = json!({"content": "x".repeat(10_000), "to": "u"});
        assert!(validate_private_message(Some(&long)).is_ok());
        let cases = [
            (json!("hi"), MessageRefusal::InvalidPayload),
            (json!(null), MessageRefusal::InvalidPayload),
            (json!([1]), MessageRefusal::InvalidPayload),
            (json!({"to": "u"}), MessageRefusal::InvalidContent),
            (
                json!({"content": 5, "to": "u"}),
                MessageRefusal::InvalidContent,
            ),
            (
                json!({"content": "", "to": "u"}),
                MessageRefusal::InvalidContent,
            ),
            (
                json!({"content": "x".repeat(10_001), "to": "u"}),
                MessageRefusal::ContentTooLong,
            ),
            (json!({"content": "x"}), MessageRefusal::InvalidRecipient),
            (
                json!({"content": "x", "to": 7}),
                MessageRefusal::InvalidRecipient,
            ),
        ];
        for (payload, want) in cases {
            assert_eq!(
                validate_private_message(Some(&payload)),
                Err(want),
                "{payload}"
            );
        }
        assert_eq!(
            validate_private_message(None),
            Err(MessageRefusal::InvalidPayload)
        );
    }
}
