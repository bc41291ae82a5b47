//! One entry of the stream of broadcasts to everyone (`chat:recovery:broadcasts`), as a
//! recovery on another node reads it back: fields `d` (JSON `[event, ...args]`), `x` (JSON
//! except-rooms) and `o` (the entry's position in the publishing node's log).

use serde_json::Value;

/// One broadcast to everyone read back from the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedBroadcast {
    /// Redis time of the entry, ms since the epoch.
    pub ms: u64,
    /// `[event, ...args]`.
    pub data: Value,
    /// Rooms excluded (the announcing socket, or a user's own room).
    pub except: Vec<String>,
    /// The entry's local offset in the log of the node that published it: a client whose
    /// offset is of that log knows exactly whether it received it.
    pub origin: Option<String>,
}

/// The entry `id` (`<ms>-<seq>`) with `fields` (name, value, name, value...); `None` when it
/// is not one of ours.
pub fn parse_entry(id: &str, fields: &[String]) -> Option<StreamedBroadcast> {
    let ms = id.split_once('-')?.0.parse().ok()?;
    let mut data = None;
    let mut except = Vec::new();
    let mut origin = None;
    for pair in fields.chunks(2) {
        match pair {
            [name, value] if name == "d" => data = serde_json::from_str(value).ok(),
            [name, value] if name == "x" => except = serde_json::from_str(value).ok()?,
            [name, value] if name == "o" => origin = Some(value.clone()),
            _ => {}
        }
    }
    let data: Value = data?;
    data.is_array().then_some(StreamedBroadcast {
        ms,
        data,
        except,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(pairs: &[(&str, &str)]) -> Vec<String> {
        pairs
            .iter()
            .flat_map(|(k, v)| [k.to_string(), v.to_string()])
            .collect()
    }

    #[test]
    fn stream_entries_parse_or_are_skipped() {
        let ok = parse_entry(
            "1700-3",
            &fields(&[
                ("d", r#"["user disconnected","u1"]"#),
                ("x", r#"["s1"]"#),
                ("o", "ab-3"),
            ]),
        );
        assert_eq!(
            ok,
            Some(StreamedBroadcast {
                ms: 1700,
                data: json!(["user disconnected", "u1"]),
                except: vec!["s1".into()],
                origin: Some("ab-3".into()),
            })
        );
        assert!(parse_entry("1700-3", &fields(&[("d", "{}")])).is_none());
        assert!(parse_entry("x", &fields(&[("d", "[]")])).is_none());
        assert!(parse_entry("1-0", &fields(&[("d", "[]"), ("x", "7")])).is_none());
        assert!(parse_entry("1-0", &fields(&[("x", "[]")])).is_none());
    }
}
