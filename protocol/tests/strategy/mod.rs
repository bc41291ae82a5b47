//! Proptest strategies shared by the property tests of several modules.

// Each test crate including this file uses only some of it.
#![allow(dead_code)]

use chat_protocol::binary::placeholder;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Any JSON value a peer could send, a few levels deep. Object keys never are `_placeholder`
/// (a key a peer may not use in binary data), floats are finite (JSON has no others).
pub fn json_value() -> BoxedStrategy<Value> {
    json_tree(Just(Value::Null).boxed()).boxed()
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON floats are finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ]
    .boxed()
}

fn json_tree(extra_leaf: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    prop_oneof![4 => json_leaf(), 1 => extra_leaf].prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{0,3}|\\PC{0,8}", inner), 0..6).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .filter(|(k, _)| k != "_placeholder")
                        .collect(),
                )
            }),
        ]
    })
}

/// The key marking, while generating, where a binary value goes.
const BINARY_MARK: &str = "\u{0}binary";

/// JSON holding binary values: the JSON with placeholders numbered in depth-first order and
/// the attachments they stand for, the canonical form the decoders produce.
pub fn json_with_binary() -> BoxedStrategy<(Value, Vec<Vec<u8>>)> {
    let binary = prop::collection::vec(any::<u8>(), 0..20)
        .prop_map(|bytes| {
            let mut mark = Map::new();
            mark.insert(BINARY_MARK.to_owned(), Value::from(bytes));
            Value::Object(mark)
        })
        .boxed();
    json_tree(binary)
        .prop_map(|mut value| {
            let mut attachments = Vec::new();
            replace_marks(&mut value, &mut attachments);
            (value, attachments)
        })
        .boxed()
}

fn replace_marks(value: &mut Value, attachments: &mut Vec<Vec<u8>>) {
    if let Some(Value::Array(bytes)) = value.get(BINARY_MARK) {
        attachments.push(
            bytes
                .iter()
                .filter_map(Value::as_u64)
                .map(|b| b as u8)
                .collect(),
        );
        *value = placeholder(attachments.len() - 1);
        return;
    }
    match value {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace_marks(item, attachments)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| replace_marks(item, attachments)),
        _ => {}
    }
}

/// A namespace as clients write them: `/` or `/name` (never a comma, which ends it).
pub fn namespace() -> BoxedStrategy<String> {
    prop_oneof![
        Just("/".to_owned()),
        "/[a-zA-Z0-9_\\-/.]{1,12}",
        "/[^,]{1,10}"
    ]
    .boxed()
}
