//! Binary attachments. A Socket.IO packet with binary values is sent as a BINARY_EVENT or
//! BINARY_ACK whose JSON holds `{"_placeholder":true,"num":N}` in place of each buffer,
//! followed by N Engine.IO binary messages in order. Collecting those messages is
//! [`crate::reassembly`]'s job.

use crate::DecodeError;
use serde_json::Value;

/// The JSON placeholder standing for attachment `num`.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({ "_placeholder": true, "num": num })
}

/// If `value` is a placeholder, its attachment index.
pub fn placeholder_index(value: &Value) -> Option<usize> {
    placeholder_num(value)?.ok()
}

/// `None` when `value` is no placeholder (an object is one when its `_placeholder` is `true`,
/// as Node tests it); `Some(Err)` when it is one whose `num` is not a non-negative integer.
/// An integral float (`1.0`) counts as an integer, as it does in JavaScript.
fn placeholder_num(value: &Value) -> Option<Result<usize, DecodeError>> {
    let object = value.as_object()?;
    if object.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let num = object
        .get("num")
        .and_then(Value::as_number)
        .and_then(|num| {
            num.as_u64().or_else(|| {
                num.as_f64()
                    .filter(|float| {
                        float.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(float)
                    })
                    .map(|float| float as u64)
            })
        });
    Some(
        num.and_then(|num| usize::try_from(num).ok())
            .ok_or(DecodeError::Attachments),
    )
}

/// Checks that every placeholder in `data` points at an attachment that exists (`num <
/// attachments`); a packet with a dangling placeholder is malformed.
///
/// Like Node's `reconstructPacket`, placeholders are searched in nested arrays and objects,
/// and a placeholder's other keys are ignored.
pub fn validate_placeholders(data: &Value, attachments: usize) -> Result<(), DecodeError> {
    if let Some(num) = placeholder_num(data) {
        return match num? {
            num if num < attachments => Ok(()),
            _ => Err(DecodeError::Attachments),
        };
    }
    match data {
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| validate_placeholders(item, attachments)),
        Value::Object(map) => map
            .values()
            .try_for_each(|item| validate_placeholders(item, attachments)),
        _ => Ok(()),
    }
}
