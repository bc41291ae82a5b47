//! JSON text exactly as JavaScript's `JSON.stringify` writes it.
//!
//! Node peers never see a difference in meaning, but byte-identical output keeps our packets
//! comparable with Node's in tests and captures: numbers use JavaScript's `Number#toString`
//! (`1e+21`, `0.000001`, never `1.0`), strings escape only what `JSON.stringify` escapes, and
//! object keys keep their insertion order (serde_json's `preserve_order` feature).

mod number;

pub use number::{js_float_text, number_text};

use serde_json::Value;

/// `JSON.stringify(value)`. Infallible: every [`Value`] has a JSON text.
pub fn stringify(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => out.push_str(&number_text(number)),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// `JSON.stringify` of a string: `"` and `\` escaped, control characters as `\b \t \n \f \r`
/// or `\u00xx` (lowercase hex), everything else (including non-ASCII) written as is.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
