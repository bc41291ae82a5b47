//! WebSocket frames against tungstenite's encoder: client frames as tungstenite writes them
//! (masked) decode to what was sent, however the reads cut them, and every rule RFC 6455 sets
//! for a client's frames is enforced. The read loop is `roundtrip/websocket_reader.rs`, shared
//! with the fuzz target.

mod roundtrip;

use chat_protocol::websocket::{
    close_frame, decode_frame, frame_header, Assembler, DecodedFrame, Message, Opcode, WsError,
    CLOSE_INVALID_DATA, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, CLOSE_SERVER_ERROR, CLOSE_TOO_BIG,
    MAX_CONTROL_PAYLOAD,
};
use proptest::prelude::*;
use roundtrip::websocket_reader::{outcome, read_chunks, Owned};
use std::borrow::Cow;
use std::io::Cursor;
use tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame, FrameHeader};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const MAX: usize = 1 << 20;
/// The length classes of RFC 6455 5.2 at their edges: 7-bit, 16-bit and 64-bit lengths.
const LENGTHS: [usize; 7] = [0, 1, 125, 126, 127, 65535, 65536];

fn tungstenite_opcode(opcode: Opcode) -> OpCode {
    match opcode {
        Opcode::Continuation => OpCode::Data(Data::Continue),
        Opcode::Text => OpCode::Data(Data::Text),
        Opcode::Binary => OpCode::Data(Data::Binary),
        Opcode::Close => OpCode::Control(Control::Close),
        Opcode::Ping => OpCode::Control(Control::Ping),
        Opcode::Pong => OpCode::Control(Control::Pong),
    }
}

/// A frame as tungstenite writes it, masked with `mask` when given.
fn tungstenite_frame(header: FrameHeader, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    Frame::from_payload(header, payload.to_vec().into())
        .format(&mut bytes)
        .expect("writing into a Vec");
    bytes
}

/// A client's frame, as tungstenite writes it.
fn masked(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        is_final: fin,
        opcode: tungstenite_opcode(opcode),
        mask: Some(MASK),
        ..FrameHeader::default()
    };
    tungstenite_frame(header, payload)
}

/// A payload of `len` bytes, ASCII (so valid text), different at every offset modulo 4.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 23) as u8).collect()
}

fn decode(bytes: &[u8]) -> Result<Option<DecodedFrame>, WsError> {
    decode_frame(&mut bytes.to_vec(), MAX)
}

/// `frames` pushed, in order, through one assembler: its messages, owned.
fn assemble(frames: &[Vec<u8>]) -> Result<Vec<Owned>, WsError> {
    let mut assembler = Assembler::default();
    let mut messages = Vec::new();
    for frame in frames {
        let mut bytes = frame.clone();
        let decoded = decode_frame(&mut bytes, MAX)?.expect("a whole frame");
        let message = assembler.push(&decoded, &bytes[decoded.payload.clone()], MAX)?;
        messages.extend(message.map(Owned::from));
    }
    Ok(messages)
}

fn text(text: &str) -> Owned {
    Owned::Text(text.to_owned())
}

#[test]
fn decodes_what_tungstenite_writes_in_every_length_class() {
    let opcodes = [
        Opcode::Text,
        Opcode::Binary,
        Opcode::Ping,
        Opcode::Pong,
        Opcode::Close,
    ];
    for opcode in opcodes {
        for len in LENGTHS {
            if opcode.is_control() && len > MAX_CONTROL_PAYLOAD
                || opcode == Opcode::Close && len == 1
            {
                continue;
            }
            let sent = payload(len);
            let mut bytes = masked(opcode, true, &sent);
            let total = bytes.len();
            bytes.extend_from_slice(b"next frame");
            let frame = decode_frame(&mut bytes, MAX)
                .unwrap_or_else(|error| panic!("{opcode:?} {len}: {error}"))
                .unwrap_or_else(|| panic!("{opcode:?} {len}: incomplete"));
            assert_eq!(frame.opcode, opcode);
            assert!(frame.fin);
            assert_eq!(frame.consumed, total, "{opcode:?} {len}");
            assert_eq!(frame.payload.end, total);
            assert_eq!(&bytes[frame.payload.clone()], &sent[..], "{opcode:?} {len}");
            assert_eq!(&bytes[total..], b"next frame", "what follows is untouched");
        }
    }
}

#[test]
fn a_frame_cut_short_anywhere_is_incomplete_and_left_untouched() {
    for len in LENGTHS {
        let mut bytes = masked(Opcode::Binary, true, &payload(len));
        let original = bytes.clone();
        for cut in 0..bytes.len() {
            assert_eq!(
                decode_frame(&mut bytes[..cut], MAX),
                Ok(None),
                "{len} cut at {cut}"
            );
        }
        assert_eq!(bytes, original, "nothing unmasked");
    }
}

#[test]
fn unfragmented_messages_are_borrowed_from_the_buffer() {
    let mut assembler = Assembler::default();
    for opcode in [Opcode::Text, Opcode::Binary] {
        let mut bytes = masked(opcode, true, b"hello");
        let frame = decode_frame(&mut bytes, MAX).unwrap().unwrap();
        let payload = &bytes[frame.payload.clone()];
        let message = assembler.push(&frame, payload, MAX).unwrap().unwrap();
        let borrowed = match &message {
            Message::Text(Cow::Borrowed(text)) => text.as_ptr(),
            Message::Binary(Cow::Borrowed(bytes)) => bytes.as_ptr(),
            other => panic!("{other:?} is not borrowed"),
        };
        assert_eq!(borrowed, payload.as_ptr(), "the caller's bytes, not a copy");
    }
    assert_eq!(assembler.held_bytes(), 0);
}

#[test]
fn control_frames_come_out_as_they_are() {
    let close = |code: u16, reason: &str| {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        masked(Opcode::Close, true, &payload)
    };
    assert_eq!(
        assemble(&[
            masked(Opcode::Ping, true, b"probe"),
            masked(Opcode::Pong, true, b""),
            masked(Opcode::Close, true, b""),
            close(1000, "bye"),
            close(1001, ""),
            close(3000, "é"),
            close(4999, "x"),
        ]),
        Ok(vec![
            Owned::Ping(b"probe".to_vec()),
            Owned::Pong(Vec::new()),
            Owned::Close(None),
            Owned::Close(Some((1000, "bye".into()))),
            Owned::Close(Some((1001, String::new()))),
            Owned::Close(Some((3000, "é".into()))),
            Owned::Close(Some((4999, "x".into()))),
        ])
    );
}

#[test]
fn close_frames_must_carry_a_whole_code_an_endpoint_may_send() {
    assert_eq!(
        assemble(&[masked(Opcode::Close, true, &[0x03])]),
        Err(WsError::InvalidClose),
        "a 1-byte payload"
    );
    // 1005, 1006 and 1015 mean "no code", "no close frame" and "TLS failed": never sent.
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, u16::MAX] {
        assert_eq!(
            assemble(&[masked(Opcode::Close, true, &code.to_be_bytes())]),
            Err(WsError::InvalidClose),
            "code {code}"
        );
    }
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend_from_slice(&[0xc3, 0x28]);
    assert_eq!(
        assemble(&[masked(Opcode::Close, true, &bad_reason)]),
        Err(WsError::InvalidUtf8)
    );
}

#[test]
fn a_fragmented_message_is_assembled_and_its_memory_given_back() {
    let mut assembler = Assembler::default();
    assert_eq!(assembler.held_bytes(), 0);
    let frames = [
        masked(Opcode::Binary, false, &[1, 2]),
        masked(Opcode::Continuation, false, &[]),
        masked(Opcode::Continuation, false, &[3]),
        masked(Opcode::Continuation, true, &[4, 5, 6]),
    ];
    let mut last = None;
    for (i, frame) in frames.iter().enumerate() {
        let mut bytes = frame.clone();
        let decoded = decode_frame(&mut bytes, MAX).unwrap().unwrap();
        let message = assembler
            .push(&decoded, &bytes[decoded.payload.clone()], MAX)
            .unwrap();
        if i + 1 < frames.len() {
            assert_eq!(message, None);
            assert!(assembler.in_progress());
            assert!(assembler.held_bytes() > 0);
        } else {
            last = message.map(Owned::from);
        }
    }
    assert_eq!(last, Some(Owned::Binary(vec![1, 2, 3, 4, 5, 6])));
    assert!(!assembler.in_progress());
    assert_eq!(
        assembler.held_bytes(),
        0,
        "no allocation once the message is complete"
    );
}

#[test]
fn a_ping_inside_a_fragmented_message_comes_out_at_once() {
    let mut assembler = Assembler::default();
    let mut push = |frame: Vec<u8>| {
        let mut bytes = frame;
        let decoded = decode_frame(&mut bytes, MAX).unwrap().unwrap();
        let message = assembler.push(&decoded, &bytes[decoded.payload.clone()], MAX);
        (message.map(|m| m.map(Owned::from)), assembler.held_bytes())
    };
    assert_eq!(push(masked(Opcode::Text, false, b"Hel")).0, Ok(None));
    let (ping, held) = push(masked(Opcode::Ping, true, b"are you there"));
    assert_eq!(ping, Ok(Some(Owned::Ping(b"are you there".to_vec()))));
    assert!(held > 0, "the message in progress is kept");
    assert_eq!(
        push(masked(Opcode::Close, true, &1000u16.to_be_bytes())).0,
        Ok(Some(Owned::Close(Some((1000, String::new())))))
    );
    assert_eq!(
        push(masked(Opcode::Continuation, false, b"lo, ")).0,
        Ok(None)
    );
    assert_eq!(
        push(masked(Opcode::Pong, true, b"")).0,
        Ok(Some(Owned::Pong(Vec::new())))
    );
    assert_eq!(
        push(masked(Opcode::Continuation, true, b"world")),
        (Ok(Some(text("Hello, world"))), 0)
    );
}

#[test]
fn a_character_split_across_fragments_is_valid_text() {
    let euro = "€".as_bytes(); // e2 82 ac
    assert_eq!(
        assemble(&[
            masked(Opcode::Text, false, &[b'5', euro[0]]),
            masked(Opcode::Continuation, false, &euro[1..2]),
            masked(Opcode::Continuation, true, &euro[2..]),
        ]),
        Ok(vec![text("5€")])
    );
}

#[test]
fn invalid_utf8_is_refused_whole_or_fragmented() {
    assert_eq!(
        assemble(&[masked(Opcode::Text, true, &[b'a', 0xff])]),
        Err(WsError::InvalidUtf8)
    );
    let euro = "€".as_bytes();
    assert_eq!(
        assemble(&[masked(Opcode::Text, true, &euro[..2])]),
        Err(WsError::InvalidUtf8),
        "a character cut short at the end of the message"
    );
    assert_eq!(
        assemble(&[
            masked(Opcode::Text, false, &euro[..2]),
            masked(Opcode::Continuation, true, b"x"),
        ]),
        Err(WsError::InvalidUtf8)
    );
    assert_eq!(
        assemble(&[masked(Opcode::Binary, true, &[0xff])]),
        Ok(vec![Owned::Binary(vec![0xff])]),
        "binary is any bytes"
    );
}

#[test]
fn an_oversized_frame_is_refused_from_its_header_alone() {
    // A masked binary frame announcing 2 GB: its 14-byte header and no payload.
    let mut header = vec![0x82, 0xff];
    header.extend_from_slice(&(2u64 << 30).to_be_bytes());
    header.extend_from_slice(&MASK);
    for cut in 0..header.len() {
        assert_eq!(
            decode_frame(&mut header[..cut], MAX),
            Ok(None),
            "header cut at {cut}"
        );
    }
    assert_eq!(decode_frame(&mut header, MAX), Err(WsError::TooBig));

    // One byte over the limit, in each length format.
    for limit in [10, 200, 70_000] {
        let mut bytes = masked(Opcode::Binary, true, &payload(limit + 1));
        let header_len = bytes.len() - (limit + 1);
        assert_eq!(
            decode_frame(&mut bytes[..header_len], limit),
            Err(WsError::TooBig)
        );
        let mut bytes = masked(Opcode::Binary, true, &payload(limit));
        assert!(
            decode_frame(&mut bytes, limit).unwrap().is_some(),
            "the limit itself is fine"
        );
    }

    // RFC 6455 5.2: the most significant bit of a 64-bit length must be 0.
    let mut header = vec![0x82, 0xff];
    header.extend_from_slice(&(1u64 << 63).to_be_bytes());
    header.extend_from_slice(&MASK);
    assert_eq!(decode_frame(&mut header, usize::MAX), Err(WsError::TooBig));
    let mut header = vec![0x82, 0xff];
    header.extend_from_slice(&u64::MAX.to_be_bytes());
    header.extend_from_slice(&MASK);
    assert_eq!(decode_frame(&mut header, usize::MAX), Err(WsError::TooBig));
}

#[test]
fn an_oversized_fragmented_message_is_refused() {
    let mut assembler = Assembler::default();
    let limit = 10;
    let mut push = |frame: Vec<u8>| {
        let mut bytes = frame;
        let decoded = decode_frame(&mut bytes, limit).unwrap().unwrap();
        let message = assembler.push(&decoded, &bytes[decoded.payload.clone()], limit);
        (message.map(|m| m.map(Owned::from)), assembler.held_bytes())
    };
    assert_eq!(push(masked(Opcode::Text, false, b"12345")).0, Ok(None));
    assert_eq!(
        push(masked(Opcode::Continuation, false, b"67890")).0,
        Ok(None)
    );
    assert_eq!(
        push(masked(Opcode::Continuation, true, b"1")),
        (Err(WsError::TooBig), 0),
        "11 bytes in all; the fragments are freed"
    );
    // Exactly the limit is fine.
    assert_eq!(
        assemble(&[
            masked(Opcode::Binary, false, &[0; 5]),
            masked(Opcode::Continuation, true, &[0; 5]),
        ])
        .map(|messages| messages.len()),
        Ok(1)
    );
}

#[test]
fn an_unmasked_frame_is_refused() {
    for opcode in [Opcode::Text, Opcode::Binary, Opcode::Ping, Opcode::Close] {
        let header = FrameHeader {
            opcode: tungstenite_opcode(opcode),
            ..FrameHeader::default()
        };
        assert_eq!(
            decode(&tungstenite_frame(header, b"")),
            Err(WsError::Unmasked)
        );
    }
    // The server's own frames are unmasked: a client echoing them is refused.
    let (header, used) = frame_header(Opcode::Text, true, 2);
    let mut frame = header[..used].to_vec();
    frame.extend_from_slice(b"hi");
    assert_eq!(decode(&frame), Err(WsError::Unmasked));
}

#[test]
fn reserved_bits_are_refused() {
    for bit in 0..3 {
        let header = FrameHeader {
            opcode: OpCode::Data(Data::Text),
            rsv1: bit == 0,
            rsv2: bit == 1,
            rsv3: bit == 2,
            mask: Some(MASK),
            ..FrameHeader::default()
        };
        assert_eq!(
            decode(&tungstenite_frame(header, b"x")),
            Err(WsError::ReservedBits)
        );
    }
}

#[test]
fn reserved_opcodes_are_refused_once_the_header_is_whole() {
    for code in (3..=7).chain(11..=15) {
        let frame = [0x80 | code, 0x80, 1, 2, 3, 4];
        for cut in 0..frame.len() {
            assert_eq!(
                decode(&frame[..cut]),
                Ok(None),
                "opcode {code} cut at {cut}"
            );
        }
        assert_eq!(
            decode(&frame),
            Err(WsError::ReservedOpcode),
            "opcode {code}"
        );
    }
}

#[test]
fn control_frames_must_be_short_and_whole() {
    for opcode in [Opcode::Ping, Opcode::Pong, Opcode::Close] {
        let long = masked(opcode, true, &payload(126));
        assert_eq!(
            decode(&long),
            Err(WsError::InvalidControl),
            "{opcode:?} of 126 bytes"
        );
        let header_len = long.len() - 126;
        assert_eq!(
            decode(&long[..header_len]),
            Err(WsError::InvalidControl),
            "refused from the header"
        );
        let fragmented = masked(opcode, false, &[3, 232]);
        assert_eq!(
            decode(&fragmented),
            Err(WsError::InvalidControl),
            "{opcode:?} not final"
        );
    }
}

#[test]
fn continuations_need_a_message_and_messages_do_not_interleave() {
    for fin in [true, false] {
        assert_eq!(
            assemble(&[masked(Opcode::Continuation, fin, b"x")]),
            Err(WsError::UnexpectedContinuation)
        );
    }
    assert_eq!(
        assemble(&[
            masked(Opcode::Text, true, b"a"),
            masked(Opcode::Continuation, true, b"b"),
        ]),
        Err(WsError::UnexpectedContinuation),
        "after a complete message"
    );
    for second in [Opcode::Text, Opcode::Binary] {
        for fin in [true, false] {
            assert_eq!(
                assemble(&[masked(Opcode::Text, false, b"a"), masked(second, fin, b"b")]),
                Err(WsError::Interleaved),
                "{second:?} inside a fragmented text"
            );
        }
    }
}

#[test]
fn an_error_leaves_the_assembler_empty() {
    let mut assembler = Assembler::default();
    let mut bytes = masked(Opcode::Text, false, b"abc");
    let frame = decode_frame(&mut bytes, MAX).unwrap().unwrap();
    assembler
        .push(&frame, &bytes[frame.payload.clone()], MAX)
        .unwrap();
    assert!(assembler.held_bytes() > 0);
    let mut bytes = masked(Opcode::Binary, true, b"def");
    let frame = decode_frame(&mut bytes, MAX).unwrap().unwrap();
    let result = assembler.push(&frame, &bytes[frame.payload.clone()], MAX);
    assert_eq!(result, Err(WsError::Interleaved));
    assert_eq!(assembler.held_bytes(), 0);
    assert!(!assembler.in_progress());
}

/// A conversation: every kind of frame, every length format, a fragmented text message with
/// control frames and a character cut between its fragments.
fn conversation() -> (Vec<u8>, Vec<Owned>) {
    let snowman = "☃".as_bytes();
    let long_text = "42[\"private message\",{\"to\":\"x\"}]".repeat(5);
    let frames = [
        masked(Opcode::Text, true, b"40"),
        masked(Opcode::Text, false, &[b'4', b'2', snowman[0]]),
        masked(Opcode::Ping, true, b"p"),
        masked(Opcode::Continuation, false, &snowman[1..]),
        masked(Opcode::Continuation, false, b""),
        masked(Opcode::Pong, true, b""),
        masked(Opcode::Continuation, true, b"!"),
        masked(Opcode::Binary, true, &payload(300)),
        masked(Opcode::Text, true, long_text.as_bytes()),
        masked(Opcode::Binary, false, &payload(130)),
        masked(Opcode::Continuation, true, &payload(3)),
        masked(Opcode::Binary, true, b""),
        masked(Opcode::Close, true, &[0x03, 0xe8, b'o', b'k']),
    ];
    let mut whole = payload(130);
    whole.extend(payload(3));
    let messages = vec![
        text("40"),
        Owned::Ping(b"p".to_vec()),
        Owned::Pong(Vec::new()),
        text("42☃!"),
        Owned::Binary(payload(300)),
        Owned::Text(long_text),
        Owned::Binary(whole),
        Owned::Binary(Vec::new()),
        Owned::Close(Some((1000, "ok".into()))),
    ];
    (frames.concat(), messages)
}

#[test]
fn a_conversation_split_into_two_reads_at_every_byte_reads_the_same() {
    let (bytes, expected) = conversation();
    for split in 0..=bytes.len() {
        let (first, second) = bytes.split_at(split);
        let reader = read_chunks(&[first, second], MAX);
        assert_eq!(
            outcome(&reader),
            (&expected[..], None, &[][..]),
            "split at {split}"
        );
    }
    let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
    let reader = read_chunks(&one_by_one, MAX);
    assert_eq!(
        outcome(&reader),
        (&expected[..], None, &[][..]),
        "one byte per read"
    );
}

#[test]
fn a_frame_of_each_length_class_split_into_two_reads_reads_the_same() {
    for len in LENGTHS {
        let sent = payload(len);
        let bytes = masked(Opcode::Binary, true, &sent);
        // Every offset through the header and a little payload, then some further in.
        let splits = (0..bytes.len().min(40)).chain((40..bytes.len()).step_by(997));
        for split in splits.chain([bytes.len() - 1, bytes.len()]) {
            let (first, second) = bytes.split_at(split);
            let reader = read_chunks(&[first, second], MAX);
            let expected = [Owned::Binary(sent.clone())];
            assert_eq!(
                outcome(&reader),
                (&expected[..], None, &[][..]),
                "{len}, {split}"
            );
        }
    }
}

#[test]
fn an_incomplete_frame_is_all_a_reader_keeps() {
    let (mut bytes, _) = conversation();
    let next = masked(Opcode::Text, true, b"next");
    bytes.extend_from_slice(&next[..5]);
    let reader = read_chunks(&[&bytes], MAX);
    assert_eq!(reader.pending, &next[..5]);
    assert_eq!(reader.assembler.held_bytes(), 0);
}

#[test]
fn errors_close_with_their_codes_and_count_by_kind() {
    let all = [
        WsError::Unmasked,
        WsError::ReservedBits,
        WsError::ReservedOpcode,
        WsError::InvalidControl,
        WsError::UnexpectedContinuation,
        WsError::Interleaved,
        WsError::InvalidClose,
        WsError::InvalidUtf8,
        WsError::TooBig,
    ];
    for error in all {
        let expected = match error {
            WsError::InvalidUtf8 => 1007,
            WsError::TooBig => 1009,
            _ => 1002,
        };
        assert_eq!(error.close_code(), expected, "{error:?}");
        assert!(error.kind().starts_with("ws_"), "{error:?}");
    }
    let mut kinds: Vec<&str> = all.iter().map(WsError::kind).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), all.len(), "one label per kind");
    assert_eq!(
        [
            CLOSE_NORMAL,
            CLOSE_PROTOCOL_ERROR,
            CLOSE_INVALID_DATA,
            CLOSE_TOO_BIG,
            CLOSE_SERVER_ERROR
        ],
        [1000, 1002, 1007, 1009, 1011]
    );
}

#[test]
fn frame_headers_are_tungstenites() {
    let opcodes = [
        Opcode::Continuation,
        Opcode::Text,
        Opcode::Binary,
        Opcode::Close,
        Opcode::Ping,
        Opcode::Pong,
    ];
    let lengths = LENGTHS.into_iter().chain([1 << 32, usize::MAX >> 1]);
    for len in lengths {
        for opcode in opcodes {
            for fin in [true, false] {
                let header = FrameHeader {
                    is_final: fin,
                    opcode: tungstenite_opcode(opcode),
                    ..FrameHeader::default()
                };
                let mut expected = Vec::new();
                header.format(len as u64, &mut expected).unwrap();
                let (bytes, used) = frame_header(opcode, fin, len);
                assert_eq!(&bytes[..used], &expected[..], "{opcode:?} {fin} {len}");
                assert_eq!(used, header.len(len as u64));
                assert_eq!(bytes[0] & 0x0f, opcode.code());
            }
        }
    }
}

#[test]
fn a_server_frame_is_read_by_tungstenite() {
    let payload = payload(70_000);
    let (header, used) = frame_header(Opcode::Binary, true, payload.len());
    let mut cursor = Cursor::new([&header[..used], &payload].concat());
    let (parsed, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
    assert_eq!(len, 70_000);
    assert_eq!(parsed.opcode, OpCode::Data(Data::Binary));
    assert!(parsed.is_final && parsed.mask.is_none());
    assert_eq!(cursor.position() as usize, used);
}

#[test]
fn close_frames_are_tungstenites() {
    for (code, reason) in [(1000, "bye"), (1002, ""), (1009, "too big"), (1011, "é")] {
        let expected = tungstenite_frame(
            FrameHeader::default(),
            &Frame::close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            }))
            .into_payload(),
        );
        assert_eq!(close_frame(code, reason), expected, "{code} {reason:?}");
    }
}

#[test]
fn a_long_close_reason_is_cut_at_a_character() {
    let reason = "é".repeat(100); // 200 bytes
    let frame = close_frame(1011, &reason);
    let mut cursor = Cursor::new(&frame);
    let (header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
    assert_eq!(header.opcode, OpCode::Control(Control::Close));
    assert_eq!(
        len, 124,
        "2 bytes of code and 61 'é' (123 bytes would cut one)"
    );
    let payload = &frame[cursor.position() as usize..];
    assert_eq!(payload[..2], 1011u16.to_be_bytes());
    assert_eq!(std::str::from_utf8(&payload[2..]), Ok(&reason[..122]));
}

/// A message as a client may send it: its frames (fragmented anyhow), each with the message
/// it completes (the last one only, for a fragmented message).
fn sent_message() -> impl Strategy<Value = Vec<(Vec<u8>, Option<Owned>)>> {
    let text = any::<String>().prop_map(|text| (Opcode::Text, text.into_bytes()));
    let binary = prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| (Opcode::Binary, b));
    let cuts = prop::collection::vec(any::<prop::sample::Index>(), 0..4);
    let fragmented = (prop_oneof![text, binary], cuts).prop_map(|((opcode, bytes), cuts)| {
        let mut ends: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
        ends.sort();
        ends.push(bytes.len());
        let mut frames = Vec::new();
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            let kind = if i == 0 { opcode } else { Opcode::Continuation };
            frames.push((masked(kind, i + 1 == ends.len(), &bytes[start..end]), None));
            start = end;
        }
        let message = match opcode {
            Opcode::Text => Owned::Text(String::from_utf8(bytes).expect("a String's bytes")),
            _ => Owned::Binary(bytes),
        };
        if let Some(last) = frames.last_mut() {
            last.1 = Some(message);
        }
        frames
    });
    let control =
        (any::<bool>(), prop::collection::vec(any::<u8>(), 0..=125)).prop_map(|(ping, bytes)| {
            let (opcode, message) = if ping {
                (Opcode::Ping, Owned::Ping(bytes.clone()))
            } else {
                (Opcode::Pong, Owned::Pong(bytes.clone()))
            };
            vec![(masked(opcode, true, &bytes), Some(message))]
        });
    prop_oneof![3 => fragmented, 1 => control]
}

proptest! {
    #[test]
    fn messages_fragmented_and_read_in_any_pieces_come_out_whole(
        messages in prop::collection::vec(sent_message(), 0..8),
        pings in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut frames: Vec<(Vec<u8>, Option<Owned>)> = messages.into_iter().flatten().collect();
        // Pings anywhere, inside fragmented messages too: each comes out where it was sent,
        // the message it interrupts intact.
        let mut at: Vec<usize> = pings.iter().map(|ping| ping.index(frames.len() + 1)).collect();
        at.sort();
        for (shift, position) in at.into_iter().enumerate() {
            let ping = (masked(Opcode::Ping, true, b"!"), Some(Owned::Ping(b"!".to_vec())));
            frames.insert(position + shift, ping);
        }
        let expected: Vec<Owned> = frames.iter().filter_map(|(_, message)| message.clone()).collect();
        let bytes: Vec<u8> = frames.into_iter().flat_map(|(frame, _)| frame).collect();
        let mut ends: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
        ends.sort();
        ends.push(bytes.len());
        let mut chunks = Vec::new();
        let mut start = 0;
        for end in ends {
            chunks.push(&bytes[start..end]);
            start = end;
        }
        let reader = read_chunks(&chunks, MAX);
        prop_assert_eq!(outcome(&reader), (&expected[..], None, &[][..]));
        prop_assert_eq!(reader.assembler.held_bytes(), 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_read_the_same_in_any_split(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        roundtrip::websocket(&bytes);
    }

    #[test]
    fn client_frames_with_arbitrary_headers_never_panic(
        first in any::<u8>(),
        len in prop_oneof![0u64..130, 65530u64..65540, any::<u64>()],
        payload in prop::collection::vec(any::<u8>(), 0..140),
    ) {
        let mut bytes = vec![first];
        match len {
            0..=125 => bytes.push(0x80 | len as u8),
            126..=65535 => { bytes.push(0x80 | 126); bytes.extend((len as u16).to_be_bytes()); }
            _ => { bytes.push(0x80 | 127); bytes.extend(len.to_be_bytes()); }
        }
        bytes.extend(MASK);
        bytes.extend(payload);
        roundtrip::websocket(&bytes);
    }
}

#[test]
fn the_frames_of_a_fragmented_message_read_in_reverse_are_refused() {
    let frames = [
        masked(Opcode::Continuation, true, b"b"),
        masked(Opcode::Text, false, b"a"),
    ];
    assert_eq!(assemble(&frames), Err(WsError::UnexpectedContinuation));
}
