//! Fuzzes Redis adapter broadcasts (msgpack), requests and responses (JSON or msgpack): no input may panic, and whatever decodes must survive encode -> decode.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The same checks replay the committed corpus in `cargo test` (tests/fuzz_corpus.rs).
#[path = "../../tests/roundtrip/mod.rs"]
mod roundtrip;

fuzz_target!(|data: &[u8]| roundtrip::adapter(data));
