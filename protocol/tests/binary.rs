//! Placeholders and reassembly of binary packets, as Node's `socket.io-parser` 4.2.7 does them.

use chat_protocol::binary::{placeholder, placeholder_index, validate_placeholders};
use chat_protocol::reassembly::Reassembler;
use chat_protocol::socketio::{Packet, PacketKind};
use chat_protocol::DecodeError;
use proptest::prelude::*;
use serde_json::json;

#[test]
fn placeholder_is_nodes_object() {
    assert_eq!(
        chat_protocol::json::stringify(&placeholder(3)),
        r#"{"_placeholder":true,"num":3}"#
    );
}

#[test]
fn placeholder_index_reads_only_placeholders() {
    assert_eq!(placeholder_index(&placeholder(2)), Some(2));
    assert_eq!(
        placeholder_index(&json!({"_placeholder": true, "num": 1.0})),
        Some(1),
        "1.0 is 1 in JS"
    );
    assert_eq!(
        placeholder_index(&json!({"num": 1, "_placeholder": true, "extra": "x"})),
        Some(1)
    );
    assert_eq!(
        placeholder_index(&json!({"_placeholder": false, "num": 1})),
        None
    );
    assert_eq!(
        placeholder_index(&json!({"_placeholder": "true", "num": 1})),
        None
    );
    assert_eq!(
        placeholder_index(&json!({"_placeholder": true, "num": -1})),
        None
    );
    assert_eq!(
        placeholder_index(&json!({"_placeholder": true, "num": 0.5})),
        None
    );
    assert_eq!(placeholder_index(&json!({"_placeholder": true})), None);
    assert_eq!(
        placeholder_index(&json!([{"_placeholder": true, "num": 0}])),
        None
    );
    assert_eq!(placeholder_index(&json!("x")), None);
}

#[test]
fn validate_walks_arrays_and_objects() {
    let data = json!(["ev", {"a": [1, {"b": placeholder(1)}]}, placeholder(0)]);
    assert_eq!(validate_placeholders(&data, 2), Ok(()));
    assert_eq!(
        validate_placeholders(&data, 1),
        Err(DecodeError::Attachments)
    );
    assert_eq!(validate_placeholders(&json!(["no binary"]), 0), Ok(()));
}

#[test]
fn validate_refuses_placeholders_node_would_refuse() {
    // Node's reconstructPacket throws "illegal attachments" when num is not a number in range.
    for bad in [
        json!({"_placeholder": true, "num": "0"}),
        json!({"_placeholder": true, "num": -1}),
        json!({"_placeholder": true}),
        json!({"_placeholder": true, "num": 2}),
        json!({"_placeholder": true, "num": 0.5}),
    ] {
        assert_eq!(
            validate_placeholders(&json!(["x", bad]), 2),
            Err(DecodeError::Attachments),
            "{bad}"
        );
    }
}

fn binary_event(attachments: usize) -> Packet {
    let mut data = vec![json!("bin")];
    data.extend((0..attachments).map(placeholder));
    Packet {
        kind: PacketKind::BinaryEvent,
        nsp: "/".into(),
        id: Some(1),
        data: Some(data.into()),
        attachments,
    }
}

#[test]
fn reassembler_completes_on_the_last_buffer() {
    let packet = binary_event(2);
    let mut reassembler = Reassembler::new(packet.clone());
    assert_eq!(reassembler.push(vec![1]), None);
    assert_eq!(
        reassembler.push(vec![2, 3]),
        Some((packet, vec![vec![1], vec![2, 3]]))
    );
}

#[test]
fn reassembler_of_zero_attachments_returns_the_surplus_buffer() {
    let packet = binary_event(0);
    let mut reassembler = Reassembler::new(packet.clone());
    assert_eq!(reassembler.push(vec![9]), Some((packet, vec![vec![9]])));
}

proptest! {
    #[test]
    fn reassembler_returns_every_buffer_in_order(buffers in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..10)) {
        let packet = binary_event(buffers.len());
        let mut reassembler = Reassembler::new(packet.clone());
        let mut result = None;
        for (index, buffer) in buffers.iter().enumerate() {
            result = reassembler.push(buffer.clone());
            prop_assert_eq!(result.is_some(), index + 1 == buffers.len());
        }
        prop_assert_eq!(result, Some((packet, buffers)));
    }
}
