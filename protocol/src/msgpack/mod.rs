//! MessagePack as Node's `notepack.io` speaks it: version 2.2 inside `socket.io-redis` 6.1.1,
//! version 3.0 inside `@socket.io/redis-adapter` 8.
//!
//! A generic msgpack library is not enough here: notepack 2.2 writes JavaScript `undefined`
//! as the fixext-1 `d4 00 00` but a one-byte `ArrayBuffer` as the ext-8 `c7 01 00 xx`, two
//! forms that generic decoders (rmpv included) merge into the same value. So the decoder
//! works on markers, mirroring notepack's `decode.js` case by case, and produces [`Node`]: the
//! value notepack would hand to JavaScript. [`Node::into_json`] then applies what
//! `JSON.stringify` would do with it, which is what the Socket.IO layer finally sends.

mod date;
mod decode;
mod encode;

pub(crate) use decode::decode;
pub(crate) use encode::Writer;

use crate::DecodeError;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// One decoded msgpack value, as notepack hands it to JavaScript.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// JavaScript `undefined` (notepack 2.2's `d4 00 00`).
    Undefined,
    Nil,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Str(String),
    /// msgpack `bin`, or notepack 2.2's `ArrayBuffer` (ext 8/16/32 of type 0).
    Binary(Vec<u8>),
    /// A JavaScript `Date` (notepack timestamps), as its time value in milliseconds; `None`
    /// for an invalid date (out of JavaScript's ±8.64e15 ms range).
    Date(Option<i64>),
    Array(Vec<Node>),
    /// Keys as JavaScript sees them: strings (integer keys become their decimal text).
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The JSON that `JSON.stringify` makes of this value once Node has it: `undefined` is
    /// dropped from objects (`Ok(None)`) and becomes `null` in arrays, dates become their ISO
    /// text, NaN and infinities become `null`. Binary values become Socket.IO placeholders
    /// numbered in depth-first order and are moved into `binary`; with `binary` `None`, binary
    /// is refused. A map that already looks like a placeholder is refused in binary mode, so
    /// that placeholders and attachments always correspond one to one.
    pub(crate) fn into_json(
        self,
        binary: &mut Option<&mut Vec<Vec<u8>>>,
    ) -> Result<Option<Value>, DecodeError> {
        Ok(Some(match self {
            Node::Undefined => return Ok(None),
            Node::Nil => Value::Null,
            Node::Bool(flag) => Value::Bool(flag),
            Node::Unsigned(number) => Value::from(number),
            Node::Signed(number) => Value::from(number),
            Node::Float(number) => Number::from_f64(number).map_or(Value::Null, Value::Number),
            Node::Str(text) => Value::String(text),
            Node::Date(time) => time.map_or(Value::Null, |ms| Value::String(date::iso_text(ms))),
            Node::Binary(bytes) => match binary {
                Some(attachments) => {
                    attachments.push(bytes);
                    crate::binary::placeholder(attachments.len() - 1)
                }
                None => return Err(DecodeError::Shape("binary value outside packet data")),
            },
            Node::Array(items) => {
                let mut array = Vec::with_capacity(items.len());
                for item in items {
                    array.push(item.into_json(binary)?.unwrap_or(Value::Null));
                }
                Value::Array(array)
            }
            Node::Map(entries) => {
                let mut object = Map::new();
                for (key, item) in merge_repeated_keys(entries) {
                    // `obj[key] = undefined`: the key disappears from the JSON.
                    if let Some(value) = item.into_json(binary)? {
                        object.insert(key, value);
                    }
                }
                if binary.is_some() && object.get("_placeholder") == Some(&Value::Bool(true)) {
                    return Err(DecodeError::Shape("placeholder object in binary data"));
                }
                Value::Object(object)
            }
        }))
    }
}

/// The entries of a map as the JavaScript object notepack builds from them (`obj[key] = value`
/// in order): a repeated key keeps its first position and takes its last value. Merging
/// before converting matters: a binary value overwritten by a later one must not leave an
/// attachment behind that no placeholder points at.
fn merge_repeated_keys(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let mut positions: HashMap<String, usize> = HashMap::new();
    let mut merged: Vec<(String, Node)> = Vec::with_capacity(entries.len());
    for (key, item) in entries {
        match positions.get(&key) {
            Some(&position) => merged[position].1 = item,
            None => {
                positions.insert(key.clone(), merged.len());
                merged.push((key, item));
            }
        }
    }
    merged
}
