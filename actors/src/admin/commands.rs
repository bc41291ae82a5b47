//! The dashboard's commands, as the UI sends them (events on the admin namespace):
//!
//! - `emit(nsp, filter, event, ...args)`: emit to the sockets of `nsp` in room `filter` (all
//!   when it is empty);
//! - `join(nsp, room, filter)` / `leave(nsp, room, filter)`: make them join / leave `room`;
//! - `_disconnect(nsp, close, filter)`: disconnect them (`close`: their whole session).
//!
//! A filter is a room name, and every socket is in the room of its own id: the UI's buttons
//! on one socket send that socket's id. Parsing is strict: anything else is an
//! [`CommandError`], answered to the UI (when it asked for an ack) and counted.

use serde_json::Value;
use thiserror::Error;

/// One command.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub nsp: String,
    /// A room; `None`: every socket of the namespace.
    pub filter: Option<String>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `[event, ...args]`.
    Emit(Value),
    Join(String),
    Leave(String),
    Disconnect {
        close: bool,
    },
}

impl Command {
    /// The metrics label.
    pub fn name(&self) -> &'static str {
        match self.action {
            Action::Emit(_) => "emit",
            Action::Join(_) => "join",
            Action::Leave(_) => "leave",
            Action::Disconnect { .. } => "disconnect",
        }
    }

    /// The filter as a room list (empty: everyone).
    pub fn rooms(&self) -> Vec<String> {
        self.filter.iter().cloned().collect()
    }
}

/// Why an event on the admin namespace is not a command.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CommandError {
    #[error("unknown command")]
    Unknown,
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("read-only")]
    ReadOnly,
}

impl CommandError {
    pub fn kind(&self) -> &'static str {
        match self {
            CommandError::Unknown => "unknown",
            CommandError::Invalid(_) => "invalid",
            CommandError::ReadOnly => "read_only",
        }
    }
}

/// Reads `[name, ...args]`.
pub fn parse(data: &[Value]) -> Result<Command, CommandError> {
    let name = data.first().and_then(Value::as_str);
    let args = data.get(1..).unwrap_or_default();
    let nsp = match args.first() {
        Some(Value::String(nsp)) if nsp.starts_with('/') => nsp.clone(),
        _ => return Err(CommandError::Invalid("namespace")),
    };
    let filter_at = |i: usize| match args.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CommandError::Invalid("filter")),
    };
    let room_at = |i: usize| match args.get(i) {
        Some(Value::String(room)) if !room.is_empty() => Ok(room.clone()),
        _ => Err(CommandError::Invalid("room")),
    };
    let (filter, action) = match name {
        Some("emit") => {
            let event = match args.get(2) {
                Some(Value::String(event)) if !event.is_empty() => event.clone(),
                _ => return Err(CommandError::Invalid("event")),
            };
            let mut payload = vec![Value::String(event)];
            payload.extend(args.get(3..).unwrap_or_default().iter().cloned());
            (filter_at(1)?, Action::Emit(Value::Array(payload)))
        }
        Some("join") => (filter_at(2)?, Action::Join(room_at(1)?)),
        Some("leave") => (filter_at(2)?, Action::Leave(room_at(1)?)),
        Some("_disconnect") => {
            let close = match args.get(1) {
                Some(Value::Bool(close)) => *close,
                None | Some(Value::Null) => false,
                Some(_) => return Err(CommandError::Invalid("close")),
            };
            (filter_at(2)?, Action::Disconnect { close })
        }
        _ => return Err(CommandError::Unknown),
    };
    Ok(Command {
        nsp,
        filter,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(v: Value) -> Result<Command, CommandError> {
        parse(v.as_array().expect("array"))
    }

    #[test]
    fn reads_the_four_commands() {
        assert_eq!(
            parse_json(json!(["emit", "/", "sid1", "hello", 1, {"a": 2}])),
            Ok(Command {
                nsp: "/".into(),
                filter: Some("sid1".into()),
                action: Action::Emit(json!(["hello", 1, {"a": 2}])),
            })
        );
        assert_eq!(
            parse_json(json!(["join", "/", "room1", "sid1"])).map(|c| c.action),
            Ok(Action::Join("room1".into()))
        );
        assert_eq!(
            parse_json(json!(["leave", "/", "room1"])).map(|c| c.filter),
            Ok(None)
        );
        assert_eq!(
            parse_json(json!(["_disconnect", "/", true, "sid1"])),
            Ok(Command {
                nsp: "/".into(),
                filter: Some("sid1".into()),
                action: Action::Disconnect { close: true },
            })
        );
        assert_eq!(
            parse_json(json!(["_disconnect", "/", false])).map(|c| c.filter),
            Ok(None)
        );
    }

    #[test]
    fn refuses_what_is_not_a_command() {
        assert_eq!(parse_json(json!(["drop", "/"])), Err(CommandError::Unknown));
        assert_eq!(
            parse_json(json!(["emit", 3, null, "x"])),
            Err(CommandError::Invalid("namespace"))
        );
        assert_eq!(
            parse_json(json!(["emit", "/", null])),
            Err(CommandError::Invalid("event"))
        );
        assert_eq!(
            parse_json(json!(["join", "/", "", "x"])),
            Err(CommandError::Invalid("room"))
        );
        assert_eq!(
            parse_json(json!(["_disconnect", "/", "yes"])),
            Err(CommandError::Invalid("close"))
        );
        assert_eq!(
            parse_json(json!(["_disconnect", "/", true, 5])),
            Err(CommandError::Invalid("filter"))
        );
        assert_eq!(parse(&[]), Err(CommandError::Invalid("namespace")));
    }
}
