//! Polling bodies against what Node's `engine.io-parser` 5.2.3 writes and reads.
//! The Node-side strings come from `tests/node/ground_truth.cjs`.

mod roundtrip;

use chat_protocol::engineio::Packet;
use chat_protocol::payload::{decode_payload, encode_payload, SEPARATOR};
use chat_protocol::DecodeError;
use proptest::prelude::*;

/// Node: encodePayload([message "a", message Buffer("xyz"), ping]).
const NODE_PAYLOAD: &str = "4a\u{1e}beHl6\u{1e}2";

#[test]
fn decodes_nodes_payload() {
    assert_eq!(
        decode_payload(NODE_PAYLOAD),
        Ok(vec![
            Packet::Message("a".into()),
            Packet::Binary(b"xyz".to_vec()),
            Packet::Ping(String::new())
        ])
    );
}

#[test]
fn encodes_as_node() {
    let packets = [
        Packet::Message("a".into()),
        Packet::Binary(b"xyz".to_vec()),
        Packet::Ping(String::new()),
    ];
    let segments: Vec<String> = packets.iter().map(Packet::encode_text).collect();
    assert_eq!(encode_payload(&segments), NODE_PAYLOAD);
}

#[test]
fn a_single_packet_is_its_own_payload() {
    assert_eq!(decode_payload("40"), Ok(vec![Packet::Message("0".into())]));
    assert_eq!(encode_payload(&["40"]), "40");
}

#[test]
fn an_empty_body_or_segment_is_an_error() {
    assert_eq!(decode_payload(""), Err(DecodeError::Empty));
    assert_eq!(decode_payload("4a\u{1e}"), Err(DecodeError::Empty));
    assert_eq!(decode_payload("\u{1e}4a"), Err(DecodeError::Empty));
}

#[test]
fn the_first_bad_segment_fails_the_body() {
    assert_eq!(
        decode_payload("4a\u{1e}x\u{1e}4b"),
        Err(DecodeError::UnknownType('x'))
    );
    assert_eq!(decode_payload("4a\u{1e}b@@"), Err(DecodeError::Base64));
}

#[test]
fn no_segments_is_an_empty_body() {
    let none: [&str; 0] = [];
    assert_eq!(encode_payload(&none), "");
}

/// Packets that can travel in a polling body: their text holds no separator.
fn packet() -> impl Strategy<Value = Packet> {
    let text = "[^\u{1e}]*";
    prop_oneof![
        text.prop_map(Packet::Open),
        Just(Packet::Close),
        text.prop_map(Packet::Ping),
        text.prop_map(Packet::Pong),
        text.prop_map(Packet::Message),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Packet::Binary),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(packets in prop::collection::vec(packet(), 1..8)) {
        let segments: Vec<String> = packets.iter().map(Packet::encode_text).collect();
        let body = encode_payload(&segments);
        prop_assert_eq!(body.matches(SEPARATOR).count(), packets.len() - 1);
        prop_assert_eq!(decode_payload(&body), Ok(packets));
    }

    #[test]
    fn arbitrary_bodies_never_panic_and_round_trip(body in "[0-6b4\u{1e}a-zA-Z+/=]{0,40}") {
        roundtrip::engineio(body.as_bytes());
    }
}
