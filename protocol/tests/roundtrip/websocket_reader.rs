//! The server's WebSocket read loop in miniature, and the check the `websocket` fuzz target
//! runs with it.
//!
//! [`Reader`] does with each read what the server does: the bytes land in a buffer (the
//! worker's shared buffer when nothing was pending for the connection, else after the
//! connection's partial frame), frames are decoded until `decode_frame` answers `None`, the
//! frames' bytes are dropped and only an incomplete frame's are kept.

use chat_protocol::websocket::{decode_frame, frame_header, Assembler, Message, Opcode, WsError};

/// A message, owned, to compare what several ways of reading the same bytes gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
}

impl From<Message<'_>> for Owned {
    fn from(message: Message<'_>) -> Owned {
        match message {
            Message::Text(text) => Owned::Text(text.into_owned()),
            Message::Binary(bytes) => Owned::Binary(bytes.into_owned()),
            Message::Ping(bytes) => Owned::Ping(bytes.to_vec()),
            Message::Pong(bytes) => Owned::Pong(bytes.to_vec()),
            Message::Close(close) => {
                Owned::Close(close.map(|(code, reason)| (code, reason.to_owned())))
            }
        }
    }
}

/// One connection's read side.
#[derive(Debug, Default)]
pub struct Reader {
    /// The bytes of a frame that a read cut short (still masked).
    pub pending: Vec<u8>,
    pub assembler: Assembler,
    pub messages: Vec<Owned>,
    /// The first error; nothing is read, or kept, after it.
    pub error: Option<WsError>,
}

impl Reader {
    /// One read of `bytes`, with the frame and message limit `max`.
    pub fn read(&mut self, bytes: &[u8], max: usize) {
        if self.error.is_some() {
            return;
        }
        let outcome = if self.pending.is_empty() {
            // Decoded where the read put them; only an incomplete frame is copied out.
            let mut shared = bytes.to_vec();
            let outcome = self.decode(&mut shared, max);
            self.pending.extend_from_slice(&shared[outcome.0..]);
            outcome
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(bytes);
            let outcome = self.decode(&mut pending, max);
            pending.drain(..outcome.0);
            self.pending = pending;
            outcome
        };
        self.error = outcome.1.err();
        if self.error.is_some() {
            // The connection is failed: nothing more is kept for it.
            self.pending = Vec::new();
        }
    }

    /// Decodes the frames at the start of `buf`: how many bytes they took, and the error that
    /// stopped them if any.
    fn decode(&mut self, buf: &mut [u8], max: usize) -> (usize, Result<(), WsError>) {
        let mut start = 0;
        loop {
            let rest = &mut buf[start..];
            let before = rest.to_vec();
            let frame = match decode_frame(rest, max) {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    assert_eq!(rest, &before[..], "an incomplete frame is left untouched");
                    return (start, Ok(()));
                }
                Err(error) => return (start, Err(error)),
            };
            assert!(frame.consumed <= rest.len(), "{frame:?} within the buffer");
            assert_eq!(
                frame.payload.end, frame.consumed,
                "{frame:?}: payload ends it"
            );
            assert!((2..=14).contains(&frame.payload.start), "{frame:?}: header");
            assert!(frame.payload.len() <= max, "{frame:?} over the limit {max}");
            assert_eq!(
                rest[frame.consumed..],
                before[frame.consumed..],
                "decoding touches no byte after the frame"
            );
            let payload = &rest[frame.payload.clone()];
            match self.assembler.push(&frame, payload, max) {
                Ok(Some(message)) => self.messages.push(message.into()),
                Ok(None) => assert!(self.assembler.in_progress(), "{frame:?} left a fragment"),
                Err(error) => {
                    assert_eq!(
                        self.assembler.held_bytes(),
                        0,
                        "an error frees the fragments"
                    );
                    return (start, Err(error));
                }
            }
            if !self.assembler.in_progress() {
                assert_eq!(
                    self.assembler.held_bytes(),
                    0,
                    "nothing held between messages"
                );
            }
            start += frame.consumed;
        }
    }
}

/// Reads `chunks` one after the other, as successive reads of one connection.
pub fn read_chunks(chunks: &[&[u8]], max: usize) -> Reader {
    let mut reader = Reader::default();
    for chunk in chunks {
        reader.read(chunk, max);
    }
    reader
}

/// What a reader ended with: its messages, its error, the bytes it still waits on.
pub fn outcome(reader: &Reader) -> (&[Owned], Option<WsError>, &[u8]) {
    (&reader.messages, reader.error, &reader.pending)
}

/// A client frame (masked with `mask`) of `opcode` carrying `payload`.
pub fn client_frame(opcode: Opcode, fin: bool, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let (header, used) = frame_header(opcode, fin, payload.len());
    let mut frame = header[..used].to_vec();
    frame[1] |= 0x80;
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// `message` as one client frame.
pub fn encode_client_message(message: &Owned, mask: [u8; 4]) -> Vec<u8> {
    let (opcode, payload) = match message {
        Owned::Text(text) => (Opcode::Text, text.as_bytes().to_vec()),
        Owned::Binary(bytes) => (Opcode::Binary, bytes.clone()),
        Owned::Ping(bytes) => (Opcode::Ping, bytes.clone()),
        Owned::Pong(bytes) => (Opcode::Pong, bytes.clone()),
        Owned::Close(None) => (Opcode::Close, Vec::new()),
        Owned::Close(Some((code, reason))) => {
            let mut payload = code.to_be_bytes().to_vec();
            payload.extend_from_slice(reason.as_bytes());
            (Opcode::Close, payload)
        }
    };
    client_frame(opcode, true, &payload, mask)
}

/// The limit the check reads with: small, so that fuzzed inputs reach it.
pub const FUZZ_MAX: usize = 1000;

/// Arbitrary bytes as what a client sent on one connection: no panic, the same outcome however
/// the bytes are split into reads, and every message read again the same once re-encoded.
pub fn check(data: &[u8]) {
    let whole = read_chunks(&[data], FUZZ_MAX);
    let splits: Vec<usize> = if data.len() <= 256 {
        (0..=data.len()).collect()
    } else {
        (0..=16).map(|i| data.len() * i / 16).collect()
    };
    for split in splits {
        let (first, second) = data.split_at(split);
        let parts = read_chunks(&[first, second], FUZZ_MAX);
        assert_eq!(outcome(&parts), outcome(&whole), "split at {split}");
    }
    let one_by_one: Vec<&[u8]> = data.chunks(1).take(512).collect();
    if one_by_one.len() == data.len() {
        let bytes = read_chunks(&one_by_one, FUZZ_MAX);
        assert_eq!(outcome(&bytes), outcome(&whole), "one byte per read");
    }

    let mask = [data.first().copied().unwrap_or(0), 0x5a, 0xa5, 0xff];
    let again: Vec<u8> = whole
        .messages
        .iter()
        .flat_map(|message| encode_client_message(message, mask))
        .collect();
    let reread = read_chunks(&[&again], FUZZ_MAX);
    assert_eq!(reread.error, None, "re-encoded messages decode");
    assert_eq!(
        reread.messages, whole.messages,
        "messages survive re-encoding"
    );
    assert!(reread.pending.is_empty());
}
