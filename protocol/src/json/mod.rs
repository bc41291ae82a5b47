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

/// [`stringify`] appended to `out`, for encoders that build a whole packet in one buffer.
pub fn stringify_into(out: &mut String, value: &Value) {
    write_value(out, value);
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
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

/// `JSON.stringify` of the string `text`, appended to `out`: for encoders that write a known
/// shape of JSON themselves rather than through a [`Value`].
pub fn string_into(out: &mut String, text: &str) {
    write_string(out, text);
}

/// A number as [`number_text`] writes it; integers (all but a float's) without allocating.
fn write_number(out: &mut String, number: &serde_json::Number) {
    let mut digits = itoa::Buffer::new();
    if let Some(unsigned) = number.as_u64() {
        out.push_str(digits.format(unsigned));
    } else if let Some(signed) = number.as_i64() {
        out.push_str(digits.format(signed));
    } else {
        out.push_str(&number_text(number));
    }
}

/// `JSON.stringify` of a string: `"` and `\` escaped, control characters as `\b \t \n \f \r`
/// or `\u00xx` (lowercase hex), everything else (including non-ASCII) written as is.
///
/// Copies the runs between escapes whole: a message's content usually has none, and pushing
/// it a `char` at a time was a measurable part of encoding a message (callgrind). Every byte
/// that needs escaping is ASCII, so the run boundaries are `char` boundaries.
fn write_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push('"');
    let mut run_start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let short = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[run_start..index]);
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(short);
        }
        run_start = index + 1;
    }
    out.push_str(&text[run_start..]);
    out.push('"');
}
