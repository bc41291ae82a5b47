//! Fuzzes Engine.IO packets (`decode_text`, `decode_binary`) and polling payloads (`decode_payload`): no input may panic, and whatever decodes must survive encode -> decode.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The same checks replay the committed corpus in `cargo test` (tests/fuzz_corpus.rs).
#[path = "../../tests/roundtrip/mod.rs"]
mod roundtrip;

fuzz_target!(|data: &[u8]| roundtrip::engineio(data));
