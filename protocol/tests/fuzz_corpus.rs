//! Replays every file of the fuzz corpus (`fuzz/corpus/<target>/`, seeds and minimized
//! crashers) through the checks the fuzz targets run, so that `cargo test` on stable Rust
//! keeps every input the fuzzer ever found interesting passing.

mod roundtrip;

use std::fs;
use std::path::PathBuf;

/// Each corpus file's bytes, with its path for the failure message.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let entries =
        fs::read_dir(&directory).unwrap_or_else(|error| panic!("{}: {error}", directory.display()));
    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| entry.expect("readable corpus directory").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes =
                fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (path, bytes)
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 12,
        "{target}: expected at least a dozen seeds, found {}",
        files.len()
    );
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(
            outcome.is_ok(),
            "{target} corpus file {} fails its check",
            path.display()
        );
    }
}

#[test]
fn engineio_corpus() {
    replay("engineio", roundtrip::engineio);
}

#[test]
fn socketio_corpus() {
    replay("socketio", roundtrip::socketio);
}

#[test]
fn adapter_corpus() {
    replay("adapter", roundtrip::adapter);
}

#[test]
fn websocket_corpus() {
    replay("websocket", roundtrip::websocket);
}

/// The seeds are realistic traffic: most of them must decode, or they would only exercise
/// the error paths.
#[test]
fn seeds_decode() {
    use chat_protocol::{adapter, engineio, payload, socketio};
    use roundtrip::websocket_reader::{read_chunks, FUZZ_MAX};
    let decodes = |target: &str, decode: &dyn Fn(&[u8]) -> bool| {
        let files = corpus(target);
        let decoded = files.iter().filter(|(_, bytes)| decode(bytes)).count();
        assert!(
            decoded >= 12,
            "{target}: only {decoded} of {} corpus files decode",
            files.len()
        );
    };
    decodes("engineio", &|bytes| {
        std::str::from_utf8(bytes).is_ok_and(|text| {
            engineio::Packet::decode_text(text).is_ok() || payload::decode_payload(text).is_ok()
        })
    });
    decodes("socketio", &|bytes| {
        std::str::from_utf8(bytes).is_ok_and(|text| socketio::Packet::decode(text).is_ok())
    });
    decodes("adapter", &|bytes| {
        adapter::decode_broadcast(bytes).is_ok()
            || adapter::decode_request(bytes).is_ok()
            || adapter::decode_response(bytes).is_ok()
    });
    decodes("websocket", &|bytes| {
        let reader = read_chunks(&[bytes], FUZZ_MAX);
        reader.error.is_none() && !reader.messages.is_empty()
    });
}
