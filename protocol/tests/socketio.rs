//! Socket.IO packets against what Node's `socket.io-parser` 4.2.7 writes and reads.
//! The Node-side strings come from `tests/node/ground_truth.cjs`.

mod roundtrip;
mod strategy;

use chat_protocol::binary::placeholder;
use chat_protocol::socketio::{
    decode_event_as, Packet, PacketKind, MAX_ATTACHMENTS, RESERVED_EVENTS,
};
use chat_protocol::DecodeError;
use proptest::prelude::*;
use serde_json::{json, Value};

fn packet(
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    data: Option<Value>,
    attachments: usize,
) -> Packet {
    Packet {
        kind,
        nsp: nsp.to_owned(),
        id,
        data,
        attachments,
    }
}

/// (packet, what Node's `Encoder#encode` writes for it).
fn node_encodings() -> Vec<(Packet, &'static str)> {
    vec![
        (
            Packet::event("/", json!(["hello", 1]), None),
            r#"2["hello",1]"#,
        ),
        (
            Packet::ack("/custom", 12, json!(["x"])),
            r#"3/custom,12["x"]"#,
        ),
        (
            packet(
                PacketKind::BinaryEvent,
                "/",
                None,
                Some(json!(["bin", placeholder(0)])),
                1,
            ),
            r#"51-["bin",{"_placeholder":true,"num":0}]"#,
        ),
        (
            Packet::connect_ok("/custom", "x"),
            r#"0/custom,{"sid":"x"}"#,
        ),
        (packet(PacketKind::Connect, "/", None, None, 0), "0"),
        (Packet::disconnect("/custom"), "1/custom,"),
        (Packet::disconnect("/"), "1"),
        (
            Packet::connect_error("/", "Invalid namespace", Some(json!({"a": 1}))),
            r#"4{"message":"Invalid namespace","data":{"a":1}}"#,
        ),
        (
            Packet::event(
                "/",
                json!(["message-with-ack", {"z": 1, "a": [1.5, -0.0, 1e21, 1e-7, 0.1, 123456789.125, "é\u{1}\n\"\\/"]}]),
                Some(7),
            ),
            r#"27["message-with-ack",{"z":1,"a":[1.5,0,1e+21,1e-7,0.1,123456789.125,"é\u0001\n\"\\/"]}]"#,
        ),
        (
            packet(
                PacketKind::BinaryAck,
                "/",
                Some(3),
                Some(json!([{"x": placeholder(0)}, [placeholder(1), "y"]])),
                2,
            ),
            r#"62-3[{"x":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1},"y"]]"#,
        ),
        (Packet::event("/", json!([42, "n"]), None), r#"2[42,"n"]"#),
    ]
}

#[test]
fn encodes_as_node() {
    for (packet, node_text) in node_encodings() {
        assert_eq!(packet.encode(), node_text, "{packet:?}");
    }
}

#[test]
fn decodes_what_node_encodes() {
    for (packet, node_text) in node_encodings() {
        let decoded =
            Packet::decode(node_text).unwrap_or_else(|error| panic!("{node_text}: {error}"));
        assert!(
            roundtrip::same_socketio_packet(&decoded, &packet),
            "{node_text}: {decoded:?}"
        );
    }
}

/// Inputs Node's `Decoder#add` accepts, with the packet it produces.
#[test]
fn accepts_what_node_accepts() {
    let cases = [
        ("0", packet(PacketKind::Connect, "/", None, None, 0)),
        ("1", packet(PacketKind::Disconnect, "/", None, None, 0)),
        (
            "1/custom,",
            packet(PacketKind::Disconnect, "/custom", None, None, 0),
        ),
        ("2", packet(PacketKind::Event, "/", None, None, 0)),
        (
            "2/custom",
            packet(PacketKind::Event, "/custom", None, None, 0),
        ),
        (
            r#"2/custom["x"]"#,
            packet(PacketKind::Event, r#"/custom["x"]"#, None, None, 0),
        ),
        (
            r#"2/,["x"]"#,
            packet(PacketKind::Event, "/", None, Some(json!(["x"])), 0),
        ),
        (
            r#"4"err""#,
            packet(PacketKind::ConnectError, "/", None, Some(json!("err")), 0),
        ),
        (
            r#"4{"message":"m"}"#,
            packet(
                PacketKind::ConnectError,
                "/",
                None,
                Some(json!({"message": "m"})),
                0,
            ),
        ),
        (
            "40",
            packet(PacketKind::ConnectError, "/", Some(0), None, 0),
        ),
        ("22", packet(PacketKind::Event, "/", Some(2), None, 0)),
        (
            "2[1,2]",
            packet(PacketKind::Event, "/", None, Some(json!([1, 2])), 0),
        ),
        (
            "3[]",
            packet(PacketKind::Ack, "/", None, Some(json!([])), 0),
        ),
        (
            r#"510-["a"]"#,
            packet(PacketKind::BinaryEvent, "/", None, Some(json!(["a"])), 10),
        ),
        (
            r#"501-["a"]"#,
            packet(PacketKind::BinaryEvent, "/", None, Some(json!(["a"])), 1),
        ),
        ("51-", packet(PacketKind::BinaryEvent, "/", None, None, 1)),
        (
            r#"61-/c,5[{"_placeholder":true,"num":0}]"#,
            packet(
                PacketKind::BinaryAck,
                "/c",
                Some(5),
                Some(json!([placeholder(0)])),
                1,
            ),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(Packet::decode(text), Ok(expected), "{text}");
    }
}

/// Inputs Node's `Decoder#add` refuses, refused here for the same reason.
#[test]
fn refuses_what_node_refuses() {
    let cases = [
        ("2[]", DecodeError::InvalidPayload),
        ("2[{}]", DecodeError::InvalidPayload),
        (r#"2["connect"]"#, DecodeError::InvalidPayload),
        (r#"2["newListener"]"#, DecodeError::InvalidPayload),
        (r#"2{"a":1}"#, DecodeError::InvalidPayload),
        ("1{}", DecodeError::InvalidPayload),
        ("0[]", DecodeError::InvalidPayload),
        (r#"0"x""#, DecodeError::InvalidPayload),
        (r#"3{"a":1}"#, DecodeError::InvalidPayload),
        (r#"5-["a"]"#, DecodeError::Attachments),
        (r#"50-["a"]"#, DecodeError::Attachments),
        (r#"511-["a"]"#, DecodeError::Attachments),
        (r#"5["a"]"#, DecodeError::Attachments),
        (r#"5a-["a"]"#, DecodeError::Attachments),
        ("7", DecodeError::UnknownType('7')),
    ];
    for (text, expected) in cases {
        assert_eq!(Packet::decode(text), Err(expected), "{text}");
    }
    // Invalid JSON: Node says "invalid payload", we say which JSON rule broke.
    for text in ["2/a,b", r#"2["x"]x"#, "21a", "2/a/b,c"] {
        assert!(
            matches!(Packet::decode(text), Err(DecodeError::Json(_))),
            "{text}"
        );
    }
}

#[test]
fn every_reserved_event_is_refused() {
    for name in RESERVED_EVENTS {
        assert_eq!(
            Packet::decode(&format!("2[{name:?}]")),
            Err(DecodeError::InvalidPayload)
        );
        assert_eq!(
            Packet::decode(&format!("51-[{name:?}]")),
            Err(DecodeError::InvalidPayload)
        );
    }
    assert!(Packet::decode(r#"2["message"]"#).is_ok());
}

#[test]
fn dangling_placeholders_are_refused() {
    let text = r#"51-["x",{"_placeholder":true,"num":1}]"#;
    assert_eq!(Packet::decode(text), Err(DecodeError::Attachments));
    let text = r#"51-["x",{"_placeholder":true,"num":"0"}]"#;
    assert_eq!(Packet::decode(text), Err(DecodeError::Attachments));
    // In a non-binary packet a placeholder is ordinary data, as in Node.
    assert!(Packet::decode(r#"2["x",{"_placeholder":true,"num":1}]"#).is_ok());
}

#[test]
fn attachment_limit_is_nodes_default() {
    assert_eq!(MAX_ATTACHMENTS, 10);
    assert_eq!(
        Packet::decode("599999999999999999999999-[\"a\"]"),
        Err(DecodeError::Attachments)
    );
}

/// Where Node's parser follows a JavaScript quirk, we refuse: documented deviations.
#[test]
fn javascript_quirks_are_refused() {
    assert_eq!(
        Packet::decode(""),
        Err(DecodeError::Empty),
        "Node reads CONNECT /"
    );
    assert_eq!(
        Packet::decode(" "),
        Err(DecodeError::UnknownType(' ')),
        "Node reads CONNECT /"
    );
    assert_eq!(
        Packet::decode(r#"2/nsp,99999999999999999999["x"]"#),
        Err(DecodeError::AckId),
        "Node: id 1e20"
    );
    assert_eq!(
        Packet::decode(r#"51e0-["a"]"#),
        Err(DecodeError::Attachments),
        "Node: 1 attachment"
    );
    // Node reads a space as an ack id digit ("2 [..]" is id 0); we read JSON with a leading space.
    assert_eq!(
        Packet::decode(r#"2 ["x"]"#),
        Ok(Packet::event("/", json!(["x"]), None))
    );
}

#[test]
fn event_name_is_the_first_element() {
    assert_eq!(
        Packet::event("/", json!(["hello", 1]), None).event_name(),
        Some("hello".into())
    );
    assert_eq!(
        Packet::event("/", json!([42]), None).event_name(),
        Some("42".into())
    );
    assert_eq!(
        Packet::event("/", json!([1.5]), None).event_name(),
        Some("1.5".into())
    );
    assert_eq!(
        Packet::decode(r#"51-["bin",{"_placeholder":true,"num":0}]"#)
            .unwrap()
            .event_name(),
        Some("bin".into())
    );
    assert_eq!(Packet::ack("/", 1, json!(["x"])).event_name(), None);
    assert_eq!(
        packet(PacketKind::Event, "/", None, None, 0).event_name(),
        None
    );
}

#[test]
fn null_data_is_not_written_as_node_skips_it() {
    assert_eq!(
        packet(PacketKind::Connect, "/", None, Some(Value::Null), 0).encode(),
        "0"
    );
}

fn event_name() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<String>()
            .prop_filter("not reserved", |n| !RESERVED_EVENTS.contains(&n.as_str()))
            .prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
    ]
    .boxed()
}

fn args() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(strategy::json_value(), 0..4)
}

fn valid_packet() -> impl Strategy<Value = Packet> {
    let id = prop::option::of(any::<u64>());
    let nsp = strategy::namespace();
    let object = prop::collection::vec(("\\PC{0,6}", strategy::json_value()), 0..4)
        .prop_map(|entries| {
            Value::Object(
                entries
                    .into_iter()
                    .filter(|(k, _)| k != "_placeholder")
                    .collect(),
            )
        })
        .boxed();
    let binary_data = (event_name(), args(), 1..=MAX_ATTACHMENTS)
        .prop_map(|(name, mut args, attachments)| {
            args.insert(0, name);
            args.extend((0..attachments).map(placeholder));
            (Value::Array(args), attachments)
        })
        .boxed();
    prop_oneof![
        (nsp.clone(), prop::option::of(object.clone())).prop_map(|(nsp, data)| packet(
            PacketKind::Connect,
            &nsp,
            None,
            data,
            0
        )),
        nsp.clone()
            .prop_map(|nsp| packet(PacketKind::Disconnect, &nsp, None, None, 0)),
        (nsp.clone(), id.clone(), event_name(), args()).prop_map(|(nsp, id, name, mut args)| {
            args.insert(0, name);
            Packet::event(&nsp, Value::Array(args), id)
        }),
        (nsp.clone(), any::<u64>(), args()).prop_map(|(nsp, id, args)| Packet::ack(
            &nsp,
            id,
            Value::Array(args)
        )),
        (
            nsp.clone(),
            prop_oneof![object, any::<String>().prop_map(Value::from)]
        )
            .prop_map(|(nsp, data)| packet(
                PacketKind::ConnectError,
                &nsp,
                None,
                Some(data),
                0
            )),
        (nsp.clone(), id, binary_data.clone()).prop_map(|(nsp, id, (data, n))| packet(
            PacketKind::BinaryEvent,
            &nsp,
            id,
            Some(data),
            n
        )),
        (nsp, any::<u64>(), binary_data).prop_map(|(nsp, id, (data, n))| packet(
            PacketKind::BinaryAck,
            &nsp,
            Some(id),
            Some(data),
            n
        )),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(packet in valid_packet()) {
        let text = packet.encode();
        let decoded = Packet::decode(&text);
        prop_assert!(decoded.is_ok(), "{} -> {:?}", text, decoded);
        let decoded = decoded.unwrap();
        prop_assert!(roundtrip::same_socketio_packet(&decoded, &packet), "{} -> {:?}", text, decoded);
    }

    #[test]
    fn arbitrary_text_never_panics_and_round_trips(text in "[0-6]?[0-9]{0,2}-?(/[a-z,]{0,4})?[0-9]{0,3}\\PC{0,30}") {
        roundtrip::socketio(text.as_bytes());
    }

    #[test]
    fn arbitrary_json_data_never_panics_and_round_trips(kind in 0..7u8, data in strategy::json_value()) {
        let text = format!("{kind}{}", chat_protocol::json::stringify(&data));
        roundtrip::socketio(text.as_bytes());
    }
}

#[test]
fn an_event_decodes_straight_into_its_type_or_is_left_to_packet_decode() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Message<'a> {
        #[serde(borrow)]
        content: std::borrow::Cow<'a, str>,
        to: String,
    }
    type Args<'a> = (String, Message<'a>);
    let text = r#"217["private message",{"content":"hi \"you\"","to":"u2","from":"x"}]"#;
    let (id, (name, message)) = decode_event_as::<Args>(text).expect("typed");
    assert_eq!(
        (id, name.as_str(), &*message.content, message.to.as_str()),
        (Some(17), "private message", "hi \"you\"", "u2")
    );
    let (id, _) =
        decode_event_as::<Args>(r#"2["private message",{"content":"a","to":"b"}]"#).expect("no id");
    assert_eq!(id, None);
    for other in [
        r#"2/admin,["private message",{"content":"a","to":"b"}]"#,
        r#"51-["private message",{"content":"a","to":"b"}]"#,
        r#"3["private message",{"content":"a","to":"b"}]"#,
        r#"2["connect",{"content":"a","to":"b"}]"#,
        r#"2["conn\u0065ct",{"content":"a","to":"b"}]"#,
        r#"2["private message",{"content":1,"to":"b"}]"#,
        r#"2["private message",{"content":"a","to":"b"},3]"#,
        r#"299999999999999999999["private message",{"content":"a","to":"b"}]"#,
        r#"2 ["private message",{"content":"a","to":"b"}]"#,
    ] {
        assert!(decode_event_as::<Args>(other).is_none(), "{other}");
    }
}
