//! Writing msgpack byte for byte as notepack's `encode.js` writes the same JavaScript value:
//! the smallest integer form, floats as float 64, strings as str, buffers as bin, and the
//! smallest header for each length.

use crate::binary::placeholder_index;
use serde_json::{Number, Value};

/// The length-prefixed markers of one msgpack type.
struct Markers {
    len8: Option<u8>,
    len16: u8,
    len32: u8,
}

/// An output buffer of msgpack values.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The smallest header for `length`: the fix form `base | length` when `length < limit`,
    /// else the 8-bit length form (when the type has one), else 16-bit, else 32-bit.
    fn header(&mut self, length: usize, fix: Option<(u8, usize)>, markers: Markers) {
        match (fix, markers.len8) {
            (Some((base, limit)), _) if length < limit => self.bytes.push(base | length as u8),
            (_, Some(marker)) if length < 0x100 => self.bytes.extend([marker, length as u8]),
            _ if length < 0x1_0000 => {
                self.bytes.push(markers.len16);
                self.bytes.extend((length as u16).to_be_bytes());
            }
            // Longer than u32 cannot happen: Redis refuses values over 512 MB.
            _ => {
                self.bytes.push(markers.len32);
                self.bytes.extend((length as u32).to_be_bytes());
            }
        }
    }

    pub(crate) fn array_header(&mut self, length: usize) {
        self.header(
            length,
            Some((0x90, 0x10)),
            Markers {
                len8: None,
                len16: 0xdc,
                len32: 0xdd,
            },
        );
    }

    pub(crate) fn map_header(&mut self, length: usize) {
        self.header(
            length,
            Some((0x80, 0x10)),
            Markers {
                len8: None,
                len16: 0xde,
                len32: 0xdf,
            },
        );
    }

    pub(crate) fn str(&mut self, text: &str) {
        self.header(
            text.len(),
            Some((0xa0, 0x20)),
            Markers {
                len8: Some(0xd9),
                len16: 0xda,
                len32: 0xdb,
            },
        );
        self.bytes.extend_from_slice(text.as_bytes());
    }

    pub(crate) fn bin(&mut self, bytes: &[u8]) {
        self.header(
            bytes.len(),
            None,
            Markers {
                len8: Some(0xc4),
                len16: 0xc5,
                len32: 0xc6,
            },
        );
        self.bytes.extend_from_slice(bytes);
    }

    pub(crate) fn unsigned(&mut self, number: u64) {
        if number < 0x80 {
            self.bytes.push(number as u8);
        } else if number < 0x100 {
            self.bytes.extend([0xcc, number as u8]);
        } else if number < 0x1_0000 {
            self.bytes.push(0xcd);
            self.bytes.extend((number as u16).to_be_bytes());
        } else if number < 0x1_0000_0000 {
            self.bytes.push(0xce);
            self.bytes.extend((number as u32).to_be_bytes());
        } else {
            self.bytes.push(0xcf);
            self.bytes.extend(number.to_be_bytes());
        }
    }

    fn signed(&mut self, number: i64) {
        if let Ok(unsigned) = u64::try_from(number) {
            self.unsigned(unsigned);
        } else if number >= -0x20 {
            self.bytes.push(number as u8);
        } else if number >= -0x80 {
            self.bytes.extend([0xd0, number as u8]);
        } else if number >= -0x8000 {
            self.bytes.push(0xd1);
            self.bytes.extend((number as i16).to_be_bytes());
        } else if number >= -0x8000_0000 {
            self.bytes.push(0xd2);
            self.bytes.extend((number as i32).to_be_bytes());
        } else {
            self.bytes.push(0xd3);
            self.bytes.extend(number.to_be_bytes());
        }
    }

    /// A JSON number: integers in their smallest form, other numbers as float 64. (notepack
    /// writes an integral double such as `2.0` as an integer, since JavaScript cannot tell it
    /// from `2`; we keep the float so that it decodes back to the same `serde_json` value.)
    fn number(&mut self, number: &Number) {
        if let Some(unsigned) = number.as_u64() {
            self.unsigned(unsigned);
        } else if let Some(signed) = number.as_i64() {
            self.signed(signed);
        } else {
            self.bytes.push(0xcb);
            self.bytes
                .extend(number.as_f64().unwrap_or(0.0).to_be_bytes());
        }
    }

    /// Writes `value`, each placeholder pointing into `attachments` as that attachment's
    /// `bin` (a placeholder pointing past the end stays a map).
    pub(crate) fn json(&mut self, value: &Value, attachments: &[Vec<u8>]) {
        if let Some(buffer) = placeholder_index(value).and_then(|index| attachments.get(index)) {
            self.bin(buffer);
            return;
        }
        match value {
            Value::Null => self.bytes.push(0xc0),
            Value::Bool(flag) => self.bytes.push(if *flag { 0xc3 } else { 0xc2 }),
            Value::Number(number) => self.number(number),
            Value::String(text) => self.str(text),
            Value::Array(items) => {
                self.array_header(items.len());
                for item in items {
                    self.json(item, attachments);
                }
            }
            Value::Object(map) => {
                self.map_header(map.len());
                for (key, item) in map {
                    self.str(key);
                    self.json(item, attachments);
                }
            }
        }
    }
}
