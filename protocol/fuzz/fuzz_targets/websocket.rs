//! Fuzzes WebSocket client frames (`websocket::decode_frame`, `Assembler`) as the server's read loop feeds them: no input may panic, every split of the input into reads gives the same messages and error, and the messages survive re-encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The same checks replay the committed corpus in `cargo test` (tests/fuzz_corpus.rs).
#[path = "../../tests/roundtrip/mod.rs"]
mod roundtrip;

fuzz_target!(|data: &[u8]| roundtrip::websocket(data));
