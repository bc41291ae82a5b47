//! The Redis adapter formats against bytes and text produced by Node: notepack.io 2.2.0 (inside
//! `socket.io-redis` 6.1.1), notepack.io 3.0.1 (inside `@socket.io/redis-adapter` 8.3.0), and
//! the request/response JSON of both adapters' sources.
//! The bytes come from `tests/node/ground_truth.cjs`.

mod roundtrip;
mod strategy;

use chat_protocol::adapter::{
    broadcast_channel, decode_broadcast, decode_request, decode_response, encode_broadcast,
    encode_request, encode_response, request_channel, response_channel, Broadcast, BroadcastOpts,
    BroadcastPacket, Request, Response, SocketDetails,
};
use chat_protocol::binary::placeholder;
use chat_protocol::DecodeError;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("test hex"))
        .collect()
}

fn broadcast(
    uid: &str,
    data: Value,
    attachments: Vec<Vec<u8>>,
    nsp: &str,
    rooms: &[&str],
    except: &[&str],
    flags: Value,
) -> Broadcast {
    let Value::Object(flags) = flags else {
        panic!("flags must be an object")
    };
    Broadcast {
        uid: uid.into(),
        packet: BroadcastPacket {
            kind: 2,
            data,
            attachments,
            nsp: nsp.into(),
        },
        opts: BroadcastOpts {
            rooms: rooms.iter().map(|r| r.to_string()).collect(),
            except: except.iter().map(|r| r.to_string()).collect(),
            flags,
        },
    }
}

/// `notepack.encode([uid, packet, opts])` as both notepack versions write it (identical bytes).
fn node_broadcasts() -> Vec<(&'static str, Broadcast)> {
    vec![
        (
            "93a661626331323383a47479706502a46461746192af70726976617465206d65737361676583a7636f6e74656e74a26869a466726f6da27531a2746fa27532a36e7370a12f83a5726f6f6d7391a27532a665786365707490a5666c61677380",
            broadcast("abc123", json!(["private message", {"content": "hi", "from": "u1", "to": "u2"}]), vec![], "/", &["u2"], &[], json!({})),
        ),
        (
            "93a661626331323383a47479706502a46461746193a362696ec40301020381a17891c4026869a36e7370a12f83a5726f6f6d7390a665786365707491a473696431a5666c61677381a8766f6c6174696c65c3",
            broadcast(
                "abc123",
                json!(["bin", placeholder(0), {"x": [placeholder(1)]}]),
                vec![vec![1, 2, 3], b"hi".to_vec()],
                "/",
                &[],
                &["sid1"],
                json!({"volatile": true}),
            ),
        ),
        (
            "93a26e3183a47479706502a464617461dc0018a16e007fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf001fffffffffffffffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffe0000000000001cb3ff8000000000000cbbfd0000000000000cb01a56e1fc2f8f359a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380",
            broadcast(
                "n1",
                json!(["n", 0, 127, 128, 255, 256, 65535, 65536, 4294967295u64, 4294967296u64, 9007199254740991u64, -1, -32, -33, -128, -129, -32768, -32769, -2147483648i64, -2147483649i64, -9007199254740991i64, 1.5, -0.25, 1e-300]),
                vec![],
                "/",
                &[],
                &[],
                json!({}),
            ),
        ),
        (
            "93a2623183a47479706502a46461746193a3617272dc0010000102030405060708090a0b0c0d0e0fde0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350fa36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380",
            broadcast(
                "b1",
                json!(["arr", (0..16).collect::<Vec<u64>>(), (0..16).map(|i| (format!("k{i}"), json!(i))).collect::<Map<_, _>>()]),
                vec![],
                "/",
                &[],
                &[],
                json!({}),
            ),
        ),
    ]
}

#[test]
fn decodes_node_broadcasts() {
    for (bytes, expected) in node_broadcasts() {
        assert_eq!(decode_broadcast(&hex(bytes)), Ok(expected), "{bytes}");
    }
}

#[test]
fn encodes_broadcasts_byte_for_byte_as_notepack() {
    for (bytes, broadcast) in node_broadcasts() {
        assert_eq!(encode_broadcast(&broadcast), hex(bytes), "{broadcast:?}");
    }
}

#[test]
fn string_lengths_use_notepacks_headers() {
    // ['s1', {type: 2, data: ['s', 'x'*31, 'y'*32, 'z'*255, 'w'*256, 'é€😀', ''], nsp: '/custom'}, {rooms: ['a','b'], …}]
    let data = json!([
        "s",
        "x".repeat(31),
        "y".repeat(32),
        "z".repeat(255),
        "w".repeat(256),
        "é€😀",
        ""
    ]);
    let expected = broadcast("s1", data, vec![], "/custom", &["a", "b"], &[], json!({}));
    let bytes = encode_broadcast(&expected);
    let header = "93a2733183a47479706502a46461746197a173bf";
    assert!(bytes.starts_with(&hex(header)));
    let text = format!("{:02x?}", bytes).replace([',', ' ', '[', ']'], "");
    for marker in ["d920", "d9ff", "da0100", "a9c3a9e282acf09f9880a0"] {
        assert!(text.contains(marker), "{marker}");
    }
    assert_eq!(decode_broadcast(&bytes), Ok(expected));
    let long_binary = broadcast(
        "z",
        json!(["sz", placeholder(0)]),
        vec![vec![7; 300]],
        "/",
        &[],
        &[],
        json!({}),
    );
    assert!(encode_broadcast(&long_binary)
        .starts_with(&hex("93a17a83a47479706502a46461746192a2737ac5012c07")));
}

#[test]
fn undefined_of_notepack_2_is_null_in_arrays_and_absent_in_maps() {
    // data ['u', undefined, {a: undefined, b: 1}], flags {volatile: undefined, compress: true}
    let v2 = "93a2753183a47479706502a46461746193a175d4000082a161d40000a16201a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677382a8766f6c6174696c65d40000a8636f6d7072657373c3";
    let v3 = "93a2753183a47479706502a46461746193a175c081a16201a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677381a8636f6d7072657373c3";
    let expected = broadcast(
        "u1",
        json!(["u", null, {"b": 1}]),
        vec![],
        "/",
        &[],
        &[],
        json!({"compress": true}),
    );
    assert_eq!(decode_broadcast(&hex(v2)), Ok(expected.clone()));
    assert_eq!(decode_broadcast(&hex(v3)), Ok(expected.clone()));
    assert_eq!(encode_broadcast(&expected), hex(v3));
}

#[test]
fn dates_become_their_iso_text() {
    // data ['d', new Date(0), new Date(1700000000123), new Date(-1), new Date(253402300800000)]
    let v2 = "93a2643183a47479706502a46461746195a164d7000000000000000000d7000000018bcfe5687bd700ffffffffffffffffd7000000e677d21fdc00a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380";
    let v3 = "93a2643183a47479706502a46461746195a164d6ff00000000d7ff1d5353006553f100c70cff3b8b87c0ffffffffffffffffc70cff000000000000003afff44180a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380";
    // JSON.stringify of what notepack decodes (both versions).
    let node_json = json!([
        "d",
        "1970-01-01T00:00:00.000Z",
        "2023-11-14T22:13:20.123Z",
        "1969-12-31T23:59:59.999Z",
        "+010000-01-01T00:00:00.000Z"
    ]);
    for bytes in [v2, v3] {
        assert_eq!(
            decode_broadcast(&hex(bytes)).map(|b| b.packet.data),
            Ok(node_json.clone()),
            "{bytes}"
        );
    }
}

#[test]
fn array_buffers_of_notepack_2_are_binary() {
    // data ['ab', new Uint8Array([9]), new Uint8Array([1..8])]: notepack 2.2 writes ext type 0,
    // notepack 3 writes bin; c7 01 00 09 must not be mistaken for undefined (d4 00 00).
    let v2 = "93a2616283a47479706502a46461746193a26162c7010009c708000102030405060708a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380";
    let v3 = "93a2616283a47479706502a46461746193a26162c40109c4080102030405060708a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380";
    let expected = broadcast(
        "ab",
        json!(["ab", placeholder(0), placeholder(1)]),
        vec![vec![9], vec![1, 2, 3, 4, 5, 6, 7, 8]],
        "/",
        &[],
        &[],
        json!({}),
    );
    assert_eq!(decode_broadcast(&hex(v2)), Ok(expected.clone()));
    assert_eq!(decode_broadcast(&hex(v3)), Ok(expected.clone()));
    assert_eq!(encode_broadcast(&expected), hex(v3));
}

#[test]
fn missing_nsp_rooms_except_and_flags_take_nodes_defaults() {
    // ['x', {type: 2, data: ['e']}, {rooms: [], except: [], flags: {}}]
    let bytes =
        hex("93a17882a47479706502a46461746191a16583a5726f6f6d7390a665786365707490a5666c61677380");
    assert_eq!(
        decode_broadcast(&bytes),
        Ok(broadcast(
            "x",
            json!(["e"]),
            vec![],
            "/",
            &[],
            &[],
            json!({})
        ))
    );
    // ['x', {type: 2, data: ['e']}, {}]
    let bytes = hex("93a17882a47479706502a46461746191a16580");
    assert_eq!(
        decode_broadcast(&bytes),
        Ok(broadcast(
            "x",
            json!(["e"]),
            vec![],
            "/",
            &[],
            &[],
            json!({})
        ))
    );
}

#[test]
fn repeated_keys_keep_the_first_position_and_the_last_value() {
    // ['x', {type: 2, data: [{k: <Buffer 01>, j: 2, k: 1}]}, {}]: JavaScript reads {k: 1, j: 2};
    // the overwritten buffer must not stay behind as an attachment (found by fuzzing).
    let bytes = hex("93a17882a47479706502a4646174619183a16bc40101a16a02a16b0180");
    let expected = broadcast(
        "x",
        json!([{"k": 1, "j": 2}]),
        vec![],
        "/",
        &[],
        &[],
        json!({}),
    );
    assert_eq!(decode_broadcast(&bytes), Ok(expected));
    // {k: <Buffer 01>, k: undefined} is {} for JSON.stringify.
    let bytes = hex("93a17882a47479706502a4646174619182a16bc40101a16bd4000080");
    let expected = broadcast("x", json!([{}]), vec![], "/", &[], &[], json!({}));
    assert_eq!(decode_broadcast(&bytes), Ok(expected));
}

#[test]
fn binary_packet_type_5_is_accepted() {
    let mut expected = broadcast("x", json!(["e"]), vec![], "/", &[], &[], json!({}));
    expected.packet.kind = 5;
    assert_eq!(decode_broadcast(&encode_broadcast(&expected)), Ok(expected));
}

#[test]
fn malformed_broadcasts_are_errors() {
    let cases: [(&str, &str); 10] = [
        ("", "empty"),
        ("c0", "nil"),
        ("92a17882", "two elements"),
        ("9301a17880", "uid not a string"),
        ("93a1788180", "packet not a map"),
        ("93a17882a47479706503a46461746191a16580", "type 3"),
        ("93a17882a47479706502a4646174618080", "data not an array"),
        ("93a17882a47479706502a46461746191a165c0", "opts nil"),
        ("93a17882a47479706502a46461746191a16580c0", "trailing byte"),
        (
            "93a17882a47479706502a46461746191a16581a5726f6f6d7391c403010203",
            "room not a string",
        ),
    ];
    for (bytes, why) in cases {
        assert!(decode_broadcast(&hex(bytes)).is_err(), "{why}");
    }
    // A map that already is a placeholder would be confused with real binary.
    let literal = broadcast(
        "x",
        json!(["e", placeholder(0)]),
        vec![],
        "/",
        &[],
        &[],
        json!({}),
    );
    assert_eq!(
        decode_broadcast(&encode_broadcast(&literal)),
        Err(DecodeError::Shape("placeholder object in binary data"))
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut bytes = hex("93a17883a47479706502a464617461");
    bytes.extend(std::iter::repeat_n(0x91, 100_000));
    assert!(matches!(
        decode_broadcast(&bytes),
        Err(DecodeError::MsgPack(_))
    ));
}

#[test]
fn huge_announced_lengths_are_refused_without_allocating() {
    for bytes in [
        "dfffffffff",
        "ddffffffff",
        "c6ffffffff",
        "dbffffffff",
        "c9ffffffff00",
    ] {
        assert!(
            matches!(decode_broadcast(&hex(bytes)), Err(DecodeError::MsgPack(_))),
            "{bytes}"
        );
    }
}

#[test]
fn channels_are_nodes() {
    assert_eq!(broadcast_channel("socket.io", "/", &[]), "socket.io#/#");
    assert_eq!(
        broadcast_channel("socket.io", "/", &["room1".into()]),
        "socket.io#/#room1#"
    );
    assert_eq!(
        broadcast_channel("p", "/chat", &["a".into(), "b".into()]),
        "p#/chat#"
    );
    assert_eq!(request_channel("socket.io", "/"), "socket.io-request#/#");
    assert_eq!(response_channel("socket.io", "/"), "socket.io-response#/#");
}

#[test]
fn requests_of_socket_io_redis_6() {
    // JSON.stringify({requestId, type: RequestType.SOCKETS, rooms: [...rooms]}): no uid.
    let sockets = r#"{"requestId":"Xy12ab","type":0,"rooms":["room1"]}"#;
    let request = Request::Sockets {
        uid: String::new(),
        request_id: "Xy12ab".into(),
        rooms: vec!["room1".into()],
    };
    assert_eq!(decode_request(sockets.as_bytes()), Ok(request.clone()));
    assert_eq!(encode_request(&request), sockets);

    let all_rooms = r#"{"requestId":"r","type":1}"#;
    let request = Request::AllRooms {
        uid: String::new(),
        request_id: "r".into(),
    };
    assert_eq!(decode_request(all_rooms.as_bytes()), Ok(request.clone()));
    assert_eq!(encode_request(&request), all_rooms);

    let fetch = r#"{"requestId":"f","type":5,"opts":{"rooms":["a"],"except":["b"]}}"#;
    let request = Request::FetchSockets {
        uid: String::new(),
        request_id: "f".into(),
        rooms: vec!["a".into()],
        except: vec!["b".into()],
    };
    assert_eq!(decode_request(fetch.as_bytes()), Ok(request.clone()));
    assert_eq!(encode_request(&request), fetch);

    let join = r#"{"requestId":"j","type":2,"sid":"s","room":"r"}"#;
    let request = Request::Other {
        uid: None,
        request_id: Some("j".into()),
        kind: 2,
    };
    assert_eq!(decode_request(join.as_bytes()), Ok(request));
    let remote_join = r#"{"type":2,"opts":{"rooms":[],"except":[]},"rooms":["x"]}"#;
    assert_eq!(
        decode_request(remote_join.as_bytes()),
        Ok(Request::Other {
            uid: None,
            request_id: None,
            kind: 2
        })
    );
}

#[test]
fn requests_of_redis_adapter_8() {
    let all_rooms = r#"{"uid":"node8","requestId":"r","type":1}"#;
    let request = Request::AllRooms {
        uid: "node8".into(),
        request_id: "r".into(),
    };
    assert_eq!(decode_request(all_rooms.as_bytes()), Ok(request.clone()));
    assert_eq!(encode_request(&request), all_rooms);
    let fetch = r#"{"uid":"node8","requestId":"f","type":5,"opts":{"rooms":[],"except":[]}}"#;
    let request = Request::FetchSockets {
        uid: "node8".into(),
        request_id: "f".into(),
        rooms: vec![],
        except: vec![],
    };
    assert_eq!(decode_request(fetch.as_bytes()), Ok(request.clone()));
    assert_eq!(encode_request(&request), fetch);
    // broadcastWithAck: msgpack {uid, requestId, type: 7, packet (with a Buffer), opts}
    let bytes = hex("85a3756964a56e6f646538a9726571756573744964a27231a47479706507a67061636b657483a47479706502a46461746192a165c40101a36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f757464");
    assert_eq!(
        decode_request(&bytes),
        Ok(Request::Other {
            uid: Some("node8".into()),
            request_id: Some("r1".into()),
            kind: 7
        })
    );
}

#[test]
fn request_defaults_and_errors() {
    let request = Request::Sockets {
        uid: String::new(),
        request_id: "r".into(),
        rooms: vec![],
    };
    assert_eq!(
        decode_request(br#"{"requestId":"r","type":0}"#),
        Ok(request)
    );
    assert_eq!(
        decode_request(br#"{"type":0.0,"requestId":"r"}"#)
            .map(|r| matches!(r, Request::Sockets { .. })),
        Ok(true)
    );
    assert_eq!(
        decode_request(br#"{"type":42,"uid":7}"#),
        Ok(Request::Other {
            uid: None,
            request_id: None,
            kind: 42
        })
    );
    for bad in [
        &br#"{"requestId":"r"}"#[..],
        br#"{"type":"0","requestId":"r"}"#,
        br#"{"type":-1}"#,
        br#"{"type":0}"#,
        br#"{"type":0,"requestId":"r","rooms":"a"}"#,
        br#"{"type":0,"requestId":"r","rooms":[1]}"#,
        br#"{"type":5,"requestId":"r"}"#,
        br#"{"type":1,"requestId":"r","uid":3}"#,
        br#"[0]"#,
        b"{",
        b"",
        b"\xff",
    ] {
        assert!(
            decode_request(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn responses_as_node_writes_them() {
    let sockets = r#"{"requestId":"r","sockets":["s1","s2"]}"#;
    let response = Response::Sockets {
        request_id: "r".into(),
        sockets: vec!["s1".into(), "s2".into()],
    };
    assert_eq!(decode_response(sockets.as_bytes()), Ok(response.clone()));
    assert_eq!(encode_response(&response), sockets);

    let rooms = r#"{"requestId":"r","rooms":["a","s1"]}"#;
    let response = Response::Rooms {
        request_id: "r".into(),
        rooms: vec!["a".into(), "s1".into()],
    };
    assert_eq!(decode_response(rooms.as_bytes()), Ok(response.clone()));
    assert_eq!(encode_response(&response), rooms);

    let fetched = r#"{"requestId":"r","sockets":[{"id":"s1","handshake":{"headers":{},"time":"now","address":"::1","xdomain":false,"secure":false,"issued":1700000000000,"url":"/socket.io/?EIO=4","query":{"EIO":"4"},"auth":{"username":"ann"}},"rooms":["s1","ann"],"data":{}}]}"#;
    let response = Response::FetchedSockets {
        request_id: "r".into(),
        sockets: vec![SocketDetails {
            id: "s1".into(),
            rooms: vec!["s1".into(), "ann".into()],
            handshake: json!({"headers": {}, "time": "now", "address": "::1", "xdomain": false, "secure": false,
                "issued": 1700000000000u64, "url": "/socket.io/?EIO=4", "query": {"EIO": "4"}, "auth": {"username": "ann"}}),
            data: json!({}),
        }],
    };
    assert_eq!(decode_response(fetched.as_bytes()), Ok(response.clone()));
    assert_eq!(encode_response(&response), fetched);

    let joined = r#"{"requestId":"j"}"#;
    assert_eq!(
        decode_response(joined.as_bytes()),
        Ok(Response::Other {
            request_id: Some("j".into())
        })
    );
    assert_eq!(
        encode_response(&Response::Other {
            request_id: Some("j".into())
        }),
        joined
    );
    assert_eq!(
        Response::Other {
            request_id: Some("j".into())
        }
        .request_id(),
        Some("j")
    );
}

#[test]
fn responses_of_redis_adapter_8() {
    let count = r#"{"type":8,"requestId":"r1","clientCount":3}"#;
    assert_eq!(
        decode_response(count.as_bytes()),
        Ok(Response::Other {
            request_id: Some("r1".into())
        })
    );
    // {type: 9, requestId: 'r1', packet: ['ok', Buffer [2]]} in msgpack
    let ack = hex("83a47479706509a9726571756573744964a27231a67061636b657492a26f6bc40102");
    assert_eq!(
        decode_response(&ack),
        Ok(Response::Other {
            request_id: Some("r1".into())
        })
    );
}

#[test]
fn empty_sockets_is_a_type_0_answer() {
    let response = decode_response(br#"{"requestId":"r","sockets":[]}"#);
    assert_eq!(
        response,
        Ok(Response::Sockets {
            request_id: "r".into(),
            sockets: vec![]
        })
    );
}

#[test]
fn malformed_responses() {
    assert_eq!(
        decode_response(br#"{"sockets":["a"]}"#),
        Ok(Response::Other { request_id: None })
    );
    for bad in [
        &br#"{"requestId":"r","sockets":"a"}"#[..],
        br#"{"requestId":"r","sockets":["a",{"id":"b"}]}"#,
        br#"{"requestId":"r","sockets":[{"rooms":[]}]}"#,
        br#"{"requestId":"r","rooms":[1]}"#,
        br#""r""#,
        b"",
    ] {
        assert!(
            decode_response(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

fn rooms() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(any::<String>(), 0..4)
}

fn flags() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec(("[a-z]{1,8}", strategy::json_value()), 0..3)
        .prop_map(|entries| entries.into_iter().collect())
}

fn any_broadcast() -> impl Strategy<Value = Broadcast> {
    let data = (
        any::<String>(),
        prop::collection::vec(strategy::json_with_binary(), 0..3),
    );
    (
        any::<String>(),
        prop_oneof![Just(2u8), Just(5u8)],
        data,
        any::<String>(),
        rooms(),
        rooms(),
        flags(),
    )
        .prop_map(|(uid, kind, (event, args), nsp, rooms, except, flags)| {
            // Renumber the placeholders of each argument after those of the previous ones.
            let mut data = vec![Value::from(event)];
            let mut attachments = Vec::new();
            for (mut arg, buffers) in args {
                shift_placeholders(&mut arg, attachments.len());
                attachments.extend(buffers);
                data.push(arg);
            }
            Broadcast {
                uid,
                packet: BroadcastPacket {
                    kind,
                    data: Value::Array(data),
                    attachments,
                    nsp,
                },
                opts: BroadcastOpts {
                    rooms,
                    except,
                    flags,
                },
            }
        })
}

fn shift_placeholders(value: &mut Value, offset: usize) {
    if let Some(index) = chat_protocol::binary::placeholder_index(value) {
        *value = placeholder(index + offset);
        return;
    }
    match value {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| shift_placeholders(item, offset)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| shift_placeholders(item, offset)),
        _ => {}
    }
}

fn any_request() -> impl Strategy<Value = Request> {
    let uid = any::<String>();
    let id = any::<String>();
    prop_oneof![
        (uid, id, rooms()).prop_map(|(uid, request_id, rooms)| Request::Sockets {
            uid,
            request_id,
            rooms
        }),
        (uid, id).prop_map(|(uid, request_id)| Request::AllRooms { uid, request_id }),
        (uid, id, rooms(), rooms()).prop_map(|(uid, request_id, rooms, except)| {
            Request::FetchSockets {
                uid,
                request_id,
                rooms,
                except,
            }
        }),
        (
            prop::option::of(uid),
            prop::option::of(id),
            any::<u64>().prop_filter("untyped", |k| ![0, 1, 5].contains(k))
        )
            .prop_map(|(uid, request_id, kind)| Request::Other {
                uid,
                request_id,
                kind
            }),
    ]
}

fn any_response() -> impl Strategy<Value = Response> {
    let id = any::<String>();
    let socket = (
        any::<String>(),
        rooms(),
        strategy::json_value(),
        strategy::json_value(),
    )
        .prop_map(|(id, rooms, handshake, data)| SocketDetails {
            id,
            rooms,
            handshake,
            data,
        });
    prop_oneof![
        (id, rooms()).prop_map(|(request_id, sockets)| Response::Sockets {
            request_id,
            sockets
        }),
        (id, rooms()).prop_map(|(request_id, rooms)| Response::Rooms { request_id, rooms }),
        (id, prop::collection::vec(socket, 1..3)).prop_map(|(request_id, sockets)| {
            Response::FetchedSockets {
                request_id,
                sockets,
            }
        }),
        prop::option::of(id).prop_map(|request_id| Response::Other { request_id }),
    ]
}

proptest! {
    #[test]
    fn broadcast_encode_then_decode_is_identity(broadcast in any_broadcast()) {
        prop_assert_eq!(decode_broadcast(&encode_broadcast(&broadcast)), Ok(broadcast));
    }

    #[test]
    fn request_encode_then_decode_is_identity(request in any_request()) {
        prop_assert_eq!(decode_request(encode_request(&request).as_bytes()), Ok(request));
    }

    #[test]
    fn response_encode_then_decode_is_identity(response in any_response()) {
        let decoded = decode_response(encode_response(&response).as_bytes());
        prop_assert!(decoded.as_ref().is_ok_and(|decoded| roundtrip::same_response(decoded, &response)), "{:?}", decoded);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        roundtrip::adapter(&bytes);
    }

    #[test]
    fn mutated_broadcasts_never_panic(broadcast in any_broadcast(), position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = encode_broadcast(&broadcast);
        let index = position.index(bytes.len());
        bytes[index] = byte;
        roundtrip::adapter(&bytes);
        bytes.truncate(index);
        roundtrip::adapter(&bytes);
    }
}
