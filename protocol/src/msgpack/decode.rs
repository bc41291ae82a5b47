//! Reading msgpack the way notepack's `decode.js` does, without ever panicking: every length
//! is checked against the bytes that are really there, nesting is bounded, and trailing bytes
//! are refused as notepack refuses them.

use super::date;
use super::Node;
use crate::DecodeError;

/// Arrays and maps nested deeper than this are refused (serde_json's own parsing limit), so
/// that hostile input cannot exhaust the stack of the decoder or of whoever walks the result.
const MAX_DEPTH: usize = 128;

/// Decodes exactly one msgpack value filling all of `bytes`.
pub(crate) fn decode(bytes: &[u8]) -> Result<Node, DecodeError> {
    let mut reader = Reader { bytes, position: 0 };
    let node = reader.value(MAX_DEPTH)?;
    if reader.position != bytes.len() {
        return Err(error("trailing bytes"));
    }
    Ok(node)
}

fn error(reason: &str) -> DecodeError {
    DecodeError::MsgPack(reason.to_owned())
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .position
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| error("truncated"))?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn ext_type(&mut self) -> Result<i8, DecodeError> {
        Ok(self.u8()? as i8)
    }

    /// A count of elements, each taking at least one byte, so a count larger than what is
    /// left is refused before anything is allocated for it.
    fn count(&mut self, count: usize) -> Result<usize, DecodeError> {
        if count > self.bytes.len() - self.position {
            return Err(error("truncated"));
        }
        Ok(count)
    }

    fn string(&mut self, length: usize) -> Result<Node, DecodeError> {
        // Node's `buffer.toString("utf8")` replaces invalid sequences with U+FFFD, as this does.
        Ok(Node::Str(
            String::from_utf8_lossy(self.take(length)?).into_owned(),
        ))
    }

    fn binary(&mut self, length: usize) -> Result<Node, DecodeError> {
        Ok(Node::Binary(self.take(length)?.to_vec()))
    }

    fn sequence(&mut self, count: usize, depth: usize) -> Result<Node, DecodeError> {
        let count = self.count(count)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.value(depth - 1)?);
        }
        Ok(Node::Array(items))
    }

    fn map(&mut self, count: usize, depth: usize) -> Result<Node, DecodeError> {
        let count = self.count(count)?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let key = match self.value(depth - 1)? {
                Node::Str(key) => key,
                // JavaScript turns a number key into its decimal text.
                Node::Unsigned(key) => key.to_string(),
                Node::Signed(key) => key.to_string(),
                _ => return Err(error("map key is not a string")),
            };
            entries.push((key, self.value(depth - 1)?));
        }
        Ok(Node::Map(entries))
    }

    /// notepack's ext 8/16/32: type 0 is its (2.2) `ArrayBuffer`, type -1 of 12 bytes a
    /// timestamp 96 (3.0); anything else would reach JavaScript as `[type, Buffer]`, which no
    /// Socket.IO peer sends, so it is refused.
    fn ext(&mut self, length: usize, allow_timestamp: bool) -> Result<Node, DecodeError> {
        match self.ext_type()? {
            0 => self.binary(length),
            -1 if allow_timestamp && length == 12 => {
                let nanoseconds = self.u32()?;
                let seconds = self.u64()? as i64;
                Ok(Node::Date(date::from_parts(seconds, nanoseconds)))
            }
            _ => Err(error("unsupported ext type")),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, DecodeError> {
        if depth == 0 {
            return Err(error("nested too deeply"));
        }
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Node::Unsigned(u64::from(marker)),
            0x80..=0x8f => return self.map(usize::from(marker & 0x0f), depth),
            0x90..=0x9f => return self.sequence(usize::from(marker & 0x0f), depth),
            0xa0..=0xbf => return self.string(usize::from(marker & 0x1f)),
            0xc0 => Node::Nil,
            0xc1 => return Err(error("reserved marker 0xc1")),
            0xc2 => Node::Bool(false),
            0xc3 => Node::Bool(true),
            0xc4 => {
                let length = self.u8()?;
                return self.binary(usize::from(length));
            }
            0xc5 => {
                let length = self.u16()?;
                return self.binary(usize::from(length));
            }
            0xc6 => {
                let length = self.u32()?;
                return self.binary(length as usize);
            }
            0xc7 => {
                let length = self.u8()?;
                return self.ext(usize::from(length), true);
            }
            0xc8 => {
                let length = self.u16()?;
                return self.ext(usize::from(length), false);
            }
            0xc9 => {
                let length = self.u32()?;
                return self.ext(length as usize, false);
            }
            0xca => Node::Float(f64::from(f32::from_bits(self.u32()?))),
            0xcb => Node::Float(f64::from_bits(self.u64()?)),
            0xcc => Node::Unsigned(u64::from(self.u8()?)),
            0xcd => Node::Unsigned(u64::from(self.u16()?)),
            0xce => Node::Unsigned(u64::from(self.u32()?)),
            0xcf => Node::Unsigned(self.u64()?),
            0xd0 => Node::Signed(i64::from(self.u8()? as i8)),
            0xd1 => Node::Signed(i64::from(self.u16()? as i16)),
            0xd2 => Node::Signed(i64::from(self.u32()? as i32)),
            0xd3 => Node::Signed(self.u64()? as i64),
            // fixext 1 of type 0: notepack 2.2's `undefined` (its data byte is ignored).
            0xd4 => match self.ext_type()? {
                0 => {
                    self.take(1)?;
                    Node::Undefined
                }
                _ => return Err(error("unsupported ext type")),
            },
            // fixext 4 of type -1: a timestamp 32 (seconds).
            0xd6 => match self.ext_type()? {
                -1 => Node::Date(date::from_parts(i64::from(self.u32()?), 0)),
                _ => return Err(error("unsupported ext type")),
            },
            // fixext 8: notepack 2.2's `Date` (type 0, milliseconds as a signed 64-bit
            // integer) or a timestamp 64 (type -1: 30 bits of nanoseconds, 34 of seconds).
            0xd7 => match self.ext_type()? {
                0 => {
                    let high = i64::from(self.u32()? as i32);
                    let low = i64::from(self.u32()?);
                    Node::Date(date::from_millis(high * (1 << 32) + low))
                }
                -1 => {
                    let high = self.u32()?;
                    let low = self.u32()?;
                    let seconds = (i64::from(high & 0x3) << 32) + i64::from(low);
                    Node::Date(date::from_parts(seconds, high >> 2))
                }
                _ => return Err(error("unsupported ext type")),
            },
            0xd5 | 0xd8 => return Err(error("unsupported ext type")),
            0xd9 => {
                let length = self.u8()?;
                return self.string(usize::from(length));
            }
            0xda => {
                let length = self.u16()?;
                return self.string(usize::from(length));
            }
            0xdb => {
                let length = self.u32()?;
                return self.string(length as usize);
            }
            0xdc => {
                let count = self.u16()?;
                return self.sequence(usize::from(count), depth);
            }
            0xdd => {
                let count = self.u32()?;
                return self.sequence(count as usize, depth);
            }
            0xde => {
                let count = self.u16()?;
                return self.map(usize::from(count), depth);
            }
            0xdf => {
                let count = self.u32()?;
                return self.map(count as usize, depth);
            }
            0xe0..=0xff => Node::Signed(i64::from(marker as i8)),
        })
    }
}
