//! Engine.IO packets against what Node's `engine.io-parser` 5.2.3 writes and reads.
//! The Node-side strings come from `tests/node/ground_truth.cjs`.

mod roundtrip;

use chat_protocol::engineio::{Handshake, Packet};
use chat_protocol::DecodeError;
use proptest::prelude::*;

#[test]
fn decodes_every_packet_type() {
    assert_eq!(
        Packet::decode_text("0{\"sid\":\"a\"}"),
        Ok(Packet::Open("{\"sid\":\"a\"}".into()))
    );
    assert_eq!(Packet::decode_text("1"), Ok(Packet::Close));
    assert_eq!(Packet::decode_text("2"), Ok(Packet::Ping(String::new())));
    assert_eq!(
        Packet::decode_text("2probe"),
        Ok(Packet::Ping("probe".into()))
    );
    assert_eq!(
        Packet::decode_text("3probe"),
        Ok(Packet::Pong("probe".into()))
    );
    assert_eq!(
        Packet::decode_text("4hello"),
        Ok(Packet::Message("hello".into()))
    );
    assert_eq!(Packet::decode_text("5"), Ok(Packet::Upgrade));
    assert_eq!(Packet::decode_text("6"), Ok(Packet::Noop));
}

#[test]
fn an_empty_message_is_a_message() {
    // Node: decodePacket("4") is {type: "message"} without data.
    assert_eq!(Packet::decode_text("4"), Ok(Packet::Message(String::new())));
}

#[test]
fn data_after_close_upgrade_or_noop_is_tolerated_and_dropped_as_node_does() {
    // Node: decodePacket("1junk") is {type: "close", data: "junk"}; the data is never used.
    assert_eq!(Packet::decode_text("1junk"), Ok(Packet::Close));
    assert_eq!(Packet::decode_text("5x"), Ok(Packet::Upgrade));
    assert_eq!(Packet::decode_text("6probe"), Ok(Packet::Noop));
}

#[test]
fn base64_segments_are_binary_messages() {
    // Node: encodePacket({type: "message", data: Buffer [1,2,3,250]}, false) is "bAQID+g==".
    assert_eq!(
        Packet::decode_text("bAQID+g=="),
        Ok(Packet::Binary(vec![1, 2, 3, 250]))
    );
    assert_eq!(
        Packet::decode_text("bAQID+g"),
        Ok(Packet::Binary(vec![1, 2, 3, 250])),
        "padding is optional"
    );
    assert_eq!(Packet::decode_text("b"), Ok(Packet::Binary(Vec::new())));
    assert_eq!(Packet::decode_text("b!!!!"), Err(DecodeError::Base64));
    assert_eq!(Packet::decode_text("bA"), Err(DecodeError::Base64));
}

#[test]
fn refuses_empty_and_unknown_packets() {
    assert_eq!(Packet::decode_text(""), Err(DecodeError::Empty));
    assert_eq!(Packet::decode_text("x"), Err(DecodeError::UnknownType('x')));
    assert_eq!(Packet::decode_text("7"), Err(DecodeError::UnknownType('7')));
    assert_eq!(
        Packet::decode_text("é4"),
        Err(DecodeError::UnknownType('é'))
    );
}

#[test]
fn encodes_as_node() {
    assert_eq!(
        Packet::Binary(vec![1, 2, 3, 250]).encode_text(),
        "bAQID+g=="
    );
    assert_eq!(Packet::Message("hello".into()).encode_text(), "4hello");
    assert_eq!(Packet::Ping("probe".into()).encode_text(), "2probe");
    assert_eq!(Packet::Pong(String::new()).encode_text(), "3");
    assert_eq!(Packet::Close.encode_text(), "1");
    assert_eq!(Packet::Upgrade.encode_text(), "5");
    assert_eq!(Packet::Noop.encode_text(), "6");
    assert_eq!(Packet::Open("{}".into()).encode_text(), "0{}");
}

#[test]
fn a_binary_frame_is_a_binary_message() {
    assert_eq!(
        Packet::decode_binary(&[0, 255]),
        Packet::Binary(vec![0, 255])
    );
}

#[test]
fn handshake_is_nodes_open_packet() {
    let handshake = Handshake {
        sid: "lv_VI97HAXpY6yYWAAAC".into(),
        upgrades: vec!["websocket".into()],
        ping_interval: 25000,
        ping_timeout: 20000,
        max_payload: 1000000,
    };
    assert_eq!(
        handshake.to_packet_text(),
        r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
    );
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        any::<String>().prop_map(Packet::Open),
        Just(Packet::Close),
        any::<String>().prop_map(Packet::Ping),
        any::<String>().prop_map(Packet::Pong),
        any::<String>().prop_map(Packet::Message),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Packet::Binary),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(packet in packet()) {
        prop_assert_eq!(Packet::decode_text(&packet.encode_text()), Ok(packet));
    }

    #[test]
    fn arbitrary_text_never_panics_and_round_trips(text in any::<String>()) {
        roundtrip::engineio(text.as_bytes());
    }
}
