//! SPDY/3.1 frames on the wire: the 8-byte header (control bit, version 3 and type, or a data
//! frame's stream id; flags; 24-bit length) and each frame type's fields. Header blocks go
//! through the session's [`HeaderCompressor`]/[`HeaderDecompressor`], so one [`FrameEncoder`]
//! and one [`FrameDecoder`] serve each direction of a session, in wire order.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::header_block::{HeaderBlockError, HeaderCompressor, HeaderDecompressor, Headers};

/// The protocol version in every control frame.
pub const VERSION: u16 = 3;

/// The largest frame this side reads or writes (the 24-bit length allows 16 MiB; nothing in
/// port-forward needs more than a data chunk).
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// `FLAG_FIN`: the sender's last frame on the stream.
pub const FLAG_FIN: u8 = 0x01;
/// `FLAG_UNIDIRECTIONAL` on SYN_STREAM: the recipient may not send on the stream.
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// `FLAG_SETTINGS_CLEAR_SETTINGS` on SETTINGS.
pub const FLAG_CLEAR_SETTINGS: u8 = 0x01;

const TYPE_SYN_STREAM: u16 = 1;
const TYPE_SYN_REPLY: u16 = 2;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_SETTINGS: u16 = 4;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const TYPE_HEADERS: u16 = 8;
const TYPE_WINDOW_UPDATE: u16 = 9;

/// RST_STREAM status codes.
pub mod rst_status {
    /// `PROTOCOL_ERROR`.
    pub const PROTOCOL_ERROR: u32 = 1;
    /// `INVALID_STREAM`: a frame for a stream that is not open.
    pub const INVALID_STREAM: u32 = 2;
    /// `REFUSED_STREAM`: the stream was not processed.
    pub const REFUSED_STREAM: u32 = 3;
    /// `CANCEL`: the stream is no longer needed.
    pub const CANCEL: u32 = 5;
    /// `FLOW_CONTROL_ERROR`.
    pub const FLOW_CONTROL_ERROR: u32 = 7;
}

/// GOAWAY status codes.
pub mod goaway_status {
    /// `OK`: a normal end of the session.
    pub const OK: u32 = 0;
    /// `PROTOCOL_ERROR`.
    pub const PROTOCOL_ERROR: u32 = 1;
}

/// The SETTINGS id of `SETTINGS_INITIAL_WINDOW_SIZE`.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u32 = 7;

/// One setting of a SETTINGS frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    /// `FLAG_SETTINGS_PERSIST_VALUE` / `FLAG_SETTINGS_PERSISTED`.
    pub flags: u8,
    /// The setting's id (24 bits).
    pub id: u32,
    /// Its value.
    pub value: u32,
}

/// One frame, unpacked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Opens a stream.
    SynStream {
        /// The new stream (odd from the client).
        stream_id: u32,
        /// The stream it is associated with (0: none).
        associated_stream_id: u32,
        /// 0 (highest) to 7.
        priority: u8,
        /// [`FLAG_FIN`] and [`FLAG_UNIDIRECTIONAL`].
        flags: u8,
        /// The stream's headers.
        headers: Headers,
    },
    /// Accepts a stream.
    SynReply {
        /// The stream.
        stream_id: u32,
        /// Whether the replier sends nothing more on it.
        fin: bool,
        /// Reply headers.
        headers: Headers,
    },
    /// Ends a stream abnormally.
    RstStream {
        /// The stream.
        stream_id: u32,
        /// One of [`rst_status`].
        status: u32,
    },
    /// Session settings.
    Settings {
        /// [`FLAG_CLEAR_SETTINGS`].
        flags: u8,
        /// The settings.
        settings: Vec<Setting>,
    },
    /// A liveness check the receiver echoes when the sender's parity is not its own.
    Ping {
        /// Odd from the client, even from the server.
        id: u32,
    },
    /// The sender opens no more streams.
    GoAway {
        /// The last stream the sender processed.
        last_good_stream_id: u32,
        /// One of [`goaway_status`].
        status: u32,
    },
    /// More headers for a stream.
    Headers {
        /// The stream.
        stream_id: u32,
        /// Whether the sender sends nothing more on it.
        fin: bool,
        /// The headers.
        headers: Headers,
    },
    /// Flow control: the receiver may take `delta` more bytes (stream 0: the whole session).
    WindowUpdate {
        /// The stream, or 0.
        stream_id: u32,
        /// How many more bytes (31 bits).
        delta: u32,
    },
    /// Stream data.
    Data {
        /// The stream.
        stream_id: u32,
        /// Whether this is the sender's last frame on the stream.
        fin: bool,
        /// The bytes.
        data: Bytes,
    },
    /// A control frame of a type this side does not know (SPDY says: ignore it).
    Unknown {
        /// Its type.
        frame_type: u16,
    },
}

/// Why bytes are not a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A control frame of another SPDY version.
    #[error("unsupported SPDY version {0}")]
    UnsupportedVersion(u16),
    /// A frame longer than [`MAX_FRAME_BYTES`].
    #[error("a frame of {length} bytes is larger than the limit of {MAX_FRAME_BYTES}")]
    TooLarge {
        /// The declared length.
        length: usize,
    },
    /// A control frame shorter than its fixed fields.
    #[error("a control frame of type {frame_type} is too short ({length} bytes)")]
    Short {
        /// Its type.
        frame_type: u16,
        /// Its length.
        length: usize,
    },
    /// The header block is broken; the session's compression state is lost with it.
    #[error(transparent)]
    HeaderBlock(#[from] HeaderBlockError),
}

/// Reads frames of one direction.
#[derive(Default)]
pub struct FrameDecoder {
    headers: HeaderDecompressor,
}

impl FrameDecoder {
    /// A decoder at the start of a session.
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// The next frame when `buffer` holds a whole one (taken out of the buffer); `Ok(None)` when
    /// more bytes are needed.
    pub fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let Some(header) = buffer.first_chunk::<8>() else { return Ok(None) };
        let length = usize::from(header[5]) << 16 | usize::from(header[6]) << 8 | usize::from(header[7]);
        if length > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge { length });
        }
        if buffer.len() < 8 + length {
            return Ok(None);
        }
        let mut frame = buffer.split_to(8 + length).freeze();
        let first = frame.get_u32();
        let flags = frame.get_u8();
        frame.advance(3);
        if first & 0x8000_0000 == 0 {
            return Ok(Some(Frame::Data { stream_id: first & 0x7fff_ffff, fin: flags & FLAG_FIN != 0, data: frame }));
        }
        let version = ((first >> 16) & 0x7fff) as u16;
        if version != VERSION {
            return Err(FrameError::UnsupportedVersion(version));
        }
        self.control((first & 0xffff) as u16, flags, frame).map(Some)
    }

    fn control(&mut self, frame_type: u16, flags: u8, mut payload: Bytes) -> Result<Frame, FrameError> {
        let minimum = match frame_type {
            TYPE_SYN_STREAM => 10,
            TYPE_RST_STREAM | TYPE_GOAWAY | TYPE_WINDOW_UPDATE => 8,
            TYPE_SYN_REPLY | TYPE_SETTINGS | TYPE_PING | TYPE_HEADERS => 4,
            _ => 0,
        };
        if payload.len() < minimum {
            return Err(FrameError::Short { frame_type, length: payload.len() });
        }
        let fin = flags & FLAG_FIN != 0;
        Ok(match frame_type {
            TYPE_SYN_STREAM => {
                let stream_id = payload.get_u32() & 0x7fff_ffff;
                let associated_stream_id = payload.get_u32() & 0x7fff_ffff;
                let priority = payload.get_u8() >> 5;
                payload.advance(1); // The credential slot, unused.
                let headers = self.headers.decompress(&payload)?;
                Frame::SynStream { stream_id, associated_stream_id, priority, flags, headers }
            }
            TYPE_SYN_REPLY | TYPE_HEADERS => {
                let stream_id = payload.get_u32() & 0x7fff_ffff;
                let headers = self.headers.decompress(&payload)?;
                if frame_type == TYPE_SYN_REPLY {
                    Frame::SynReply { stream_id, fin, headers }
                } else {
                    Frame::Headers { stream_id, fin, headers }
                }
            }
            TYPE_RST_STREAM => {
                Frame::RstStream { stream_id: payload.get_u32() & 0x7fff_ffff, status: payload.get_u32() }
            }
            TYPE_SETTINGS => {
                let count = payload.get_u32() as usize;
                if payload.len() < count.saturating_mul(8) {
                    return Err(FrameError::Short { frame_type, length: payload.len() + 4 });
                }
                let settings = (0..count)
                    .map(|_| {
                        let flags_and_id = payload.get_u32();
                        Setting {
                            flags: (flags_and_id >> 24) as u8,
                            id: flags_and_id & 0x00ff_ffff,
                            value: payload.get_u32(),
                        }
                    })
                    .collect();
                Frame::Settings { flags, settings }
            }
            TYPE_PING => Frame::Ping { id: payload.get_u32() },
            TYPE_GOAWAY => {
                Frame::GoAway { last_good_stream_id: payload.get_u32() & 0x7fff_ffff, status: payload.get_u32() }
            }
            TYPE_WINDOW_UPDATE => Frame::WindowUpdate {
                stream_id: payload.get_u32() & 0x7fff_ffff,
                delta: payload.get_u32() & 0x7fff_ffff,
            },
            _ => Frame::Unknown { frame_type },
        })
    }
}

/// Writes frames of one direction.
#[derive(Default)]
pub struct FrameEncoder {
    headers: HeaderCompressor,
}

impl FrameEncoder {
    /// An encoder at the start of a session.
    pub fn new() -> FrameEncoder {
        FrameEncoder::default()
    }

    /// Appends `frame`'s bytes to `out`.
    pub fn encode(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), FrameError> {
        let mut payload = BytesMut::new();
        let (frame_type, flags) = match frame {
            Frame::Data { stream_id, fin, data } => {
                out.put_u32(stream_id & 0x7fff_ffff);
                put_flags_and_length(out, if *fin { FLAG_FIN } else { 0 }, data.len())?;
                out.extend_from_slice(data);
                return Ok(());
            }
            Frame::SynStream { stream_id, associated_stream_id, priority, flags, headers } => {
                payload.put_u32(stream_id & 0x7fff_ffff);
                payload.put_u32(associated_stream_id & 0x7fff_ffff);
                payload.put_u8((priority & 0x07) << 5);
                payload.put_u8(0);
                payload.extend_from_slice(&self.headers.compress(headers)?);
                (TYPE_SYN_STREAM, *flags)
            }
            Frame::SynReply { stream_id, fin, headers } | Frame::Headers { stream_id, fin, headers } => {
                payload.put_u32(stream_id & 0x7fff_ffff);
                payload.extend_from_slice(&self.headers.compress(headers)?);
                let frame_type = if matches!(frame, Frame::SynReply { .. }) { TYPE_SYN_REPLY } else { TYPE_HEADERS };
                (frame_type, if *fin { FLAG_FIN } else { 0 })
            }
            Frame::RstStream { stream_id, status } => {
                payload.put_u32(stream_id & 0x7fff_ffff);
                payload.put_u32(*status);
                (TYPE_RST_STREAM, 0)
            }
            Frame::Settings { flags, settings } => {
                payload.put_u32(u32::try_from(settings.len()).unwrap_or(u32::MAX));
                for setting in settings {
                    payload.put_u32(u32::from(setting.flags) << 24 | (setting.id & 0x00ff_ffff));
                    payload.put_u32(setting.value);
                }
                (TYPE_SETTINGS, *flags)
            }
            Frame::Ping { id } => {
                payload.put_u32(*id);
                (TYPE_PING, 0)
            }
            Frame::GoAway { last_good_stream_id, status } => {
                payload.put_u32(last_good_stream_id & 0x7fff_ffff);
                payload.put_u32(*status);
                (TYPE_GOAWAY, 0)
            }
            Frame::WindowUpdate { stream_id, delta } => {
                payload.put_u32(stream_id & 0x7fff_ffff);
                payload.put_u32(delta & 0x7fff_ffff);
                (TYPE_WINDOW_UPDATE, 0)
            }
            Frame::Unknown { frame_type } => (*frame_type, 0),
        };
        out.put_u16(0x8000 | VERSION);
        out.put_u16(frame_type);
        put_flags_and_length(out, flags, payload.len())?;
        out.extend_from_slice(&payload);
        Ok(())
    }
}

fn put_flags_and_length(out: &mut BytesMut, flags: u8, length: usize) -> Result<(), FrameError> {
    if length > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { length });
    }
    out.put_u8(flags);
    out.put_uint(length as u64, 3);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(frames: &[Frame]) -> Vec<Frame> {
        let mut encoder = FrameEncoder::new();
        let mut wire = BytesMut::new();
        for frame in frames {
            encoder.encode(frame, &mut wire).unwrap();
        }
        let mut decoder = FrameDecoder::new();
        let mut decoded = Vec::new();
        while let Some(frame) = decoder.decode(&mut wire).unwrap() {
            decoded.push(frame);
        }
        assert!(wire.is_empty(), "every byte belongs to a frame");
        decoded
    }

    #[test]
    fn every_frame_type_round_trips() {
        let headers = Headers::new([("streamType", "error"), ("port", "80"), ("requestID", "0")]);
        let frames = vec![
            Frame::SynStream { stream_id: 1, associated_stream_id: 0, priority: 3, flags: 0, headers: headers.clone() },
            Frame::SynReply { stream_id: 1, fin: false, headers: Headers::default() },
            Frame::Data { stream_id: 1, fin: true, data: Bytes::from_static(b"GET / HTTP/1.1\r\n\r\n") },
            Frame::Data { stream_id: 3, fin: true, data: Bytes::new() },
            Frame::RstStream { stream_id: 3, status: rst_status::CANCEL },
            Frame::Settings {
                flags: FLAG_CLEAR_SETTINGS,
                settings: vec![Setting { flags: 1, id: SETTINGS_INITIAL_WINDOW_SIZE, value: 1 << 20 }],
            },
            Frame::Ping { id: 7 },
            Frame::GoAway { last_good_stream_id: 5, status: goaway_status::OK },
            Frame::Headers { stream_id: 5, fin: true, headers },
            Frame::WindowUpdate { stream_id: 0, delta: 65_536 },
        ];
        assert_eq!(round_trip(&frames), frames);
    }

    #[test]
    fn a_syn_stream_written_by_go_decodes() {
        // SYN_STREAM for stream 1, priority 0, `streamtype: stdout`, as spdystream wrote it as
        // the first frame of a session (the header block starts the zlib stream).
        let wire: &[u8] = b"\x80\x03\x00\x01\x00\x00\x00\x2b\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\
            \x78\xf9\xe3\xc6\xa7\xc2\x62\x60\x60\x60\x04\xa7\xb3\x92\xa2\xd4\xc4\x5c\x68\x51\xc2\x56\x5c\
            \x92\x92\x5f\x5a\x02\x00\x00\x00\xff\xff";
        let mut buffer = BytesMut::from(wire);
        let frame = FrameDecoder::new().decode(&mut buffer).unwrap();
        assert_eq!(
            frame,
            Some(Frame::SynStream {
                stream_id: 1,
                associated_stream_id: 0,
                priority: 0,
                flags: 0,
                headers: Headers::new([("streamtype", "stdout")]),
            })
        );
    }

    #[test]
    fn a_partial_frame_waits_for_more_bytes() {
        let mut wire = BytesMut::new();
        FrameEncoder::new().encode(&Frame::Ping { id: 1 }, &mut wire).unwrap();
        assert_eq!(&wire[..], b"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", "PING's wire form");
        let mut partial = BytesMut::from(&wire[..7]);
        let mut decoder = FrameDecoder::new();
        assert_eq!(decoder.decode(&mut partial).unwrap(), None);
        partial.extend_from_slice(&wire[7..]);
        assert_eq!(decoder.decode(&mut partial).unwrap(), Some(Frame::Ping { id: 1 }));
    }

    #[test]
    fn unknown_control_frames_are_skipped_and_bad_ones_refused() {
        let mut decoder = FrameDecoder::new();
        let mut unknown = BytesMut::from(&b"\x80\x03\x00\x0a\x00\x00\x00\x02\xaa\xbb"[..]);
        assert_eq!(decoder.decode(&mut unknown).unwrap(), Some(Frame::Unknown { frame_type: 10 }));
        let mut version2 = BytesMut::from(&b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01"[..]);
        assert!(matches!(decoder.decode(&mut version2), Err(FrameError::UnsupportedVersion(2))));
        let mut short = BytesMut::from(&b"\x80\x03\x00\x03\x00\x00\x00\x04\x00\x00\x00\x01"[..]);
        assert!(matches!(decoder.decode(&mut short), Err(FrameError::Short { frame_type: 3, .. })));
        let mut huge = BytesMut::from(&b"\x00\x00\x00\x01\x00\xff\xff\xff"[..]);
        assert!(matches!(decoder.decode(&mut huge), Err(FrameError::TooLarge { .. })));
    }
}
