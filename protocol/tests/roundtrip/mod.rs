//! The round-trip checks shared by the fuzz targets (`fuzz/fuzz_targets/*.rs` include this
//! file by path) and by the tests that replay the fuzz corpus and run the property tests.
//!
//! Each check feeds arbitrary bytes to every decoder of one module and, when one succeeds,
//! asserts that encoding what it decoded and decoding again gives the same value. A panic is
//! the finding: the fuzzer records the input, `cargo test` fails.
//!
//! JSON numbers are compared as JavaScript sees them: `3.0` encodes as `3` (as
//! `JSON.stringify` writes it) and decodes as an integer, the same JavaScript value.

// Each test crate including this file uses only some of it.
#![allow(dead_code)]

use chat_protocol::adapter::{self, Response, SocketDetails};
use chat_protocol::binary::validate_placeholders;
use chat_protocol::reassembly::Reassembler;
use chat_protocol::{engineio, payload, socketio};
use serde_json::Value;

pub mod websocket_reader;

/// Engine.IO packets and polling payloads.
pub fn engineio(data: &[u8]) {
    let binary = engineio::Packet::decode_binary(data);
    let text = binary.encode_text();
    assert_eq!(
        engineio::Packet::decode_text(&text),
        Ok(binary),
        "binary packet round trip"
    );

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(packet) = engineio::Packet::decode_text(text) {
        let encoded = packet.encode_text();
        assert_eq!(
            engineio::Packet::decode_text(&encoded),
            Ok(packet),
            "packet round trip via {encoded:?}"
        );
    }
    if let Ok(packets) = payload::decode_payload(text) {
        let segments: Vec<String> = packets.iter().map(engineio::Packet::encode_text).collect();
        let body = payload::encode_payload(&segments);
        assert_eq!(
            payload::decode_payload(&body),
            Ok(packets),
            "payload round trip via {body:?}"
        );
    }
}

/// Socket.IO packets, their placeholders and their reassembly.
pub fn socketio(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((id, args)) = socketio::decode_event_as::<Vec<serde_json::Value>>(text) {
        let packet = socketio::Packet::decode(text).unwrap_or_else(|e| {
            panic!("the typed path took {text:?}, Packet::decode refused it: {e}")
        });
        assert_eq!(
            (packet.kind, packet.nsp.as_str(), packet.id, packet.data),
            (
                socketio::PacketKind::Event,
                "/",
                id,
                Some(serde_json::Value::Array(args))
            ),
            "the typed path and Packet::decode agree on {text:?}"
        );
    }
    let Ok(packet) = socketio::Packet::decode(text) else {
        return;
    };
    let _ = packet.event_name();
    let encoded = packet.encode();
    let again = socketio::Packet::decode(&encoded)
        .unwrap_or_else(|error| panic!("re-decoding {encoded:?} (from {text:?}) failed: {error}"));
    assert!(
        same_socketio_packet(&again, &packet),
        "round trip via {encoded:?}: {packet:?} became {again:?}"
    );
    assert_eq!(again.encode(), encoded, "encoding is stable");

    if packet.kind.is_binary() {
        if let Some(data) = &packet.data {
            assert_eq!(
                validate_placeholders(data, packet.attachments),
                Ok(()),
                "decode validated placeholders"
            );
        }
        let mut reassembler = Reassembler::new(packet.clone());
        for index in 0..packet.attachments {
            let complete = reassembler.push(vec![index as u8]);
            assert_eq!(
                complete.is_some(),
                index + 1 == packet.attachments,
                "reassembly completes on the last buffer"
            );
        }
    }
}

/// Broadcasts, requests and responses of the Redis adapter.
pub fn adapter(data: &[u8]) {
    if let Ok(broadcast) = adapter::decode_broadcast(data) {
        let _ =
            adapter::broadcast_channel("socket.io", &broadcast.packet.nsp, &broadcast.opts.rooms);
        let encoded = adapter::encode_broadcast(&broadcast);
        assert_eq!(
            adapter::decode_broadcast(&encoded),
            Ok(broadcast),
            "broadcast round trip"
        );
    }
    if let Ok(request) = adapter::decode_request(data) {
        let encoded = adapter::encode_request(&request);
        assert_eq!(
            adapter::decode_request(encoded.as_bytes()),
            Ok(request),
            "request round trip via {encoded}"
        );
    }
    if let Ok(response) = adapter::decode_response(data) {
        let encoded = adapter::encode_response(&response);
        let again = adapter::decode_response(encoded.as_bytes())
            .unwrap_or_else(|error| panic!("re-decoding {encoded} failed: {error}"));
        assert!(
            same_response(&again, &response),
            "response round trip via {encoded}: {response:?} became {again:?}"
        );
    }
}

/// WebSocket frames from a client, decoded and assembled as the server's read loop does
/// ([`websocket_reader::check`]).
pub fn websocket(data: &[u8]) {
    websocket_reader::check(data);
}

/// Equal as JavaScript would see them after `JSON.parse`: numbers by value, objects by keys.
pub fn same_js_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || ((x.is_f64() || y.is_f64()) && x.as_f64() == y.as_f64())
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_js_value(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(key, x)| ys.get(key).is_some_and(|y| same_js_value(x, y)))
        }
        _ => a == b,
    }
}

pub fn same_socketio_packet(a: &socketio::Packet, b: &socketio::Packet) -> bool {
    let same_data = match (&a.data, &b.data) {
        (Some(x), Some(y)) => same_js_value(x, y),
        (None, None) => true,
        _ => false,
    };
    a.kind == b.kind
        && a.nsp == b.nsp
        && a.id == b.id
        && a.attachments == b.attachments
        && same_data
}

pub fn same_response(a: &Response, b: &Response) -> bool {
    let same_socket = |x: &SocketDetails, y: &SocketDetails| {
        x.id == y.id
            && x.rooms == y.rooms
            && same_js_value(&x.handshake, &y.handshake)
            && same_js_value(&x.data, &y.data)
    };
    match (a, b) {
        (
            Response::FetchedSockets {
                request_id: id_a,
                sockets: xs,
            },
            Response::FetchedSockets {
                request_id: id_b,
                sockets: ys,
            },
        ) => {
            id_a == id_b
                && xs.len() == ys.len()
                && xs.iter().zip(ys).all(|(x, y)| same_socket(x, y))
        }
        _ => a == b,
    }
}
