//! SPDY/3 header blocks: the name/value list (32-bit counts and lengths, lowercase names, several
//! values of one name joined by NUL) and its compression, one zlib stream per direction for the
//! whole session, primed with SPDY/3's fixed dictionary and flushed (SYNC_FLUSH) after each
//! block, as spdystream (kubectl's and the kubelet's SPDY library) writes them.

use std::sync::LazyLock;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The most bytes one decompressed header block may take; port-forward's blocks are tens of
/// bytes, so anything near this is an attack or a bug.
pub const MAX_HEADER_BLOCK_BYTES: usize = 64 * 1024;

/// The most name/value pairs one header block may hold.
pub const MAX_HEADER_PAIRS: usize = 256;

/// Why a header block could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HeaderBlockError {
    /// zlib refused the compressed bytes.
    #[error("the header block does not decompress: {0}")]
    Decompress(#[source] flate2::DecompressError),
    /// zlib failed while compressing.
    #[error("the header block does not compress: {0}")]
    Compress(#[source] flate2::CompressError),
    /// The stream asked for a dictionary other than SPDY/3's.
    #[error("the header block asks for dictionary {asked:#010x}, not SPDY/3's")]
    WrongDictionary {
        /// The Adler-32 checksum of the dictionary the stream names.
        asked: u32,
    },
    /// The block ends inside a count, a length or a string.
    #[error("the header block is truncated")]
    Truncated,
    /// The block decompresses to more than [`MAX_HEADER_BLOCK_BYTES`] or holds more than
    /// [`MAX_HEADER_PAIRS`] pairs.
    #[error("the header block is larger than the limit")]
    TooLarge,
    /// A name or value is not UTF-8.
    #[error("a header name or value is not UTF-8")]
    NotText,
}

/// A stream's headers, in the order the peer sent them; names are lowercase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The headers `pairs`, names lowercased as SPDY requires.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Headers {
        Headers(pairs.into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value.to_string())).collect())
    }

    /// The first value of `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(candidate, _)| candidate.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// The header names SPDY/3's dictionary lists, each length-prefixed, before its text tail.
const DICTIONARY_WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The dictionary's tail: status codes, reason phrases, dates and common values, unprefixed.
const DICTIONARY_TAIL: &str = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505\
203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized\
403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable\
Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT\
chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,\
text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

/// SPDY/3's zlib dictionary (section 2.6.10.1 of the draft), without a trailing NUL, as Go's
/// spdy package (and so kubectl) uses it: 1,423 bytes, Adler-32 `0xe3c6a7c2`.
pub static DICTIONARY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut dictionary = Vec::with_capacity(1423);
    for word in DICTIONARY_WORDS {
        let length = u32::try_from(word.len()).expect("dictionary words are short");
        dictionary.extend_from_slice(&length.to_be_bytes());
        dictionary.extend_from_slice(word.as_bytes());
    }
    dictionary.extend_from_slice(DICTIONARY_TAIL.as_bytes());
    dictionary
});

/// The uncompressed name/value block of `headers`.
pub fn encode_pairs(headers: &Headers) -> Vec<u8> {
    let mut block = Vec::new();
    push_length(&mut block, headers.0.len());
    for (name, value) in &headers.0 {
        push_length(&mut block, name.len());
        block.extend_from_slice(name.as_bytes());
        push_length(&mut block, value.len());
        block.extend_from_slice(value.as_bytes());
    }
    block
}

fn push_length(block: &mut Vec<u8>, length: usize) {
    // Header names and values are bounded far below 4 GiB by the frame length (24 bits).
    block.extend_from_slice(&u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes());
}

/// The headers of an uncompressed name/value block.
pub fn decode_pairs(block: &[u8]) -> Result<Headers, HeaderBlockError> {
    let mut rest = block;
    let count = take_length(&mut rest)?;
    if count > MAX_HEADER_PAIRS {
        return Err(HeaderBlockError::TooLarge);
    }
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        let name = take_text(&mut rest)?;
        let value = take_text(&mut rest)?;
        pairs.push((name.to_ascii_lowercase(), value));
    }
    Ok(Headers(pairs))
}

fn take_length(rest: &mut &[u8]) -> Result<usize, HeaderBlockError> {
    let (length, tail) = rest.split_first_chunk::<4>().ok_or(HeaderBlockError::Truncated)?;
    *rest = tail;
    usize::try_from(u32::from_be_bytes(*length)).map_err(|_| HeaderBlockError::TooLarge)
}

fn take_text(rest: &mut &[u8]) -> Result<String, HeaderBlockError> {
    let length = take_length(rest)?;
    if rest.len() < length {
        return Err(HeaderBlockError::Truncated);
    }
    let (text, tail) = rest.split_at(length);
    *rest = tail;
    String::from_utf8(text.to_vec()).map_err(|_| HeaderBlockError::NotText)
}

/// The compressing side of one direction of a session.
pub struct HeaderCompressor {
    zlib: Compress,
}

impl HeaderCompressor {
    /// A fresh compressor primed with [`DICTIONARY`].
    pub fn new() -> HeaderCompressor {
        let mut zlib = Compress::new(Compression::best(), true);
        // A fresh zlib stream always takes a dictionary; failing here is a bug in the backend.
        zlib.set_dictionary(&DICTIONARY).expect("a fresh zlib stream accepts the SPDY dictionary");
        HeaderCompressor { zlib }
    }

    /// The compressed block of `headers`, continuing the session's zlib stream.
    pub fn compress(&mut self, headers: &Headers) -> Result<Vec<u8>, HeaderBlockError> {
        let input = encode_pairs(headers);
        let mut output = Vec::with_capacity(input.len() + 64);
        let start = self.zlib.total_in();
        loop {
            let consumed = usize::try_from(self.zlib.total_in() - start).unwrap_or(usize::MAX);
            if output.capacity() - output.len() < 64 {
                output.reserve(256);
            }
            self.zlib
                .compress_vec(&input[consumed..], &mut output, FlushCompress::Sync)
                .map_err(HeaderBlockError::Compress)?;
            let consumed = usize::try_from(self.zlib.total_in() - start).unwrap_or(usize::MAX);
            // The sync flush is complete once all input is in and zlib left spare room.
            if consumed == input.len() && output.len() < output.capacity() {
                return Ok(output);
            }
        }
    }
}

impl Default for HeaderCompressor {
    fn default() -> HeaderCompressor {
        HeaderCompressor::new()
    }
}

/// The decompressing side of one direction of a session.
pub struct HeaderDecompressor {
    zlib: Decompress,
}

impl HeaderDecompressor {
    /// A fresh decompressor; the dictionary goes in when the stream asks for it.
    pub fn new() -> HeaderDecompressor {
        HeaderDecompressor { zlib: Decompress::new(true) }
    }

    /// The headers of one compressed block, continuing the session's zlib stream.
    pub fn decompress(&mut self, compressed: &[u8]) -> Result<Headers, HeaderBlockError> {
        let mut output = Vec::with_capacity(256);
        let start = self.zlib.total_in();
        loop {
            let consumed = usize::try_from(self.zlib.total_in() - start).unwrap_or(usize::MAX);
            if output.capacity() - output.len() < 64 {
                output.reserve(output.capacity().max(256));
            }
            match self.zlib.decompress_vec(&compressed[consumed..], &mut output, FlushDecompress::Sync) {
                Ok(Status::Ok | Status::BufError | Status::StreamEnd) => {}
                Err(error) => match error.needs_dictionary() {
                    Some(asked) => {
                        let offered = self.zlib.set_dictionary(&DICTIONARY).map_err(HeaderBlockError::Decompress)?;
                        if offered != asked {
                            return Err(HeaderBlockError::WrongDictionary { asked });
                        }
                    }
                    None => return Err(HeaderBlockError::Decompress(error)),
                },
            }
            if output.len() > MAX_HEADER_BLOCK_BYTES {
                return Err(HeaderBlockError::TooLarge);
            }
            let consumed = usize::try_from(self.zlib.total_in() - start).unwrap_or(usize::MAX);
            if consumed == compressed.len() && output.len() < output.capacity() {
                return decode_pairs(&output);
            }
        }
    }
}

impl Default for HeaderDecompressor {
    fn default() -> HeaderDecompressor {
        HeaderDecompressor::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port_forward_headers(stream_type: &str, request: &str) -> Headers {
        Headers::new([("streamType", stream_type), ("port", "80"), ("requestID", request)])
    }

    #[test]
    fn the_dictionary_is_spdy3s_as_go_uses_it() {
        assert_eq!(DICTIONARY.len(), 1423);
        let mut zlib = Compress::new(Compression::default(), true);
        assert_eq!(zlib.set_dictionary(&DICTIONARY).unwrap(), 0xe3c6_a7c2, "Adler-32 of Go's headerDictionary");
        assert!(DICTIONARY.ends_with(b",*,enq=0."));
    }

    #[test]
    fn a_block_decoded_from_go_names_the_stream_type() {
        // A SYN_STREAM header block as spdystream compressed `streamtype: stdout` (the first
        // block of its session), taken from a captured kubectl exec frame.
        let compressed: &[u8] = b"\x78\xf9\xe3\xc6\xa7\xc2\x62\x60\x60\x60\x04\xa7\xb3\x92\xa2\xd4\xc4\x5c\
            \x68\x51\xc2\x56\x5c\x92\x92\x5f\x5a\x02\x00\x00\x00\xff\xff";
        let headers = HeaderDecompressor::new().decompress(compressed).unwrap();
        assert_eq!(headers, Headers::new([("streamtype", "stdout")]));
    }

    #[test]
    fn blocks_round_trip_through_one_session_stream() {
        let mut compressor = HeaderCompressor::new();
        let mut decompressor = HeaderDecompressor::new();
        for request in ["0", "1", "2"] {
            for stream_type in ["error", "data"] {
                let headers = port_forward_headers(stream_type, request);
                let compressed = compressor.compress(&headers).unwrap();
                assert!(compressed.ends_with(&[0, 0, 0xff, 0xff]), "each block ends in a sync flush");
                assert_eq!(decompressor.decompress(&compressed).unwrap(), headers);
            }
        }
        assert_eq!(compressor.compress(&Headers::default()).map(|block| block.is_empty()).ok(), Some(false));
    }

    #[test]
    fn names_are_lowercase_and_lookups_ignore_case() {
        let headers = port_forward_headers("data", "7");
        assert_eq!(headers.0[0].0, "streamtype");
        assert_eq!(headers.get("StreamType"), Some("data"));
        assert_eq!(headers.get("requestid"), Some("7"));
        assert_eq!(headers.get("missing"), None);
    }

    #[test]
    fn malformed_blocks_are_errors_not_panics() {
        assert!(matches!(decode_pairs(&[0, 0, 0]), Err(HeaderBlockError::Truncated)));
        assert!(matches!(decode_pairs(&[0, 0, 0, 1, 0, 0, 0, 9, b'a']), Err(HeaderBlockError::Truncated)));
        assert!(matches!(decode_pairs(&[0xff, 0xff, 0xff, 0xff]), Err(HeaderBlockError::TooLarge)));
        assert!(HeaderDecompressor::new().decompress(b"not zlib at all").is_err());
    }
}
