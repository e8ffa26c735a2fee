//! The server side of one SPDY/3.1 session over any byte stream: a reader task that takes the
//! peer's frames apart and a writer task that owns the wire and the header compressor, so
//! frames leave in the order they were queued. Streams the peer opens arrive on a channel; the
//! caller replies to or refuses each, then reads and writes it.
//!
//! Flow control: this side sends WINDOW_UPDATEs (for the stream and the session) as the caller
//! consumes data, and credits the session at once for data nobody will read. It honours the
//! peer's windows once the peer shows it keeps them (a WINDOW_UPDATE or an
//! `INITIAL_WINDOW_SIZE` setting). spdystream, the SPDY library of kubectl and the kubelet,
//! neither sends nor reads WINDOW_UPDATE, and treating its silence as a 64 KiB window would
//! stall every stream after 64 KiB; the kubelet, on the same library, never waits either.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::frame::{
    FLAG_FIN, FLAG_UNIDIRECTIONAL, Frame, FrameDecoder, FrameEncoder, SETTINGS_INITIAL_WINDOW_SIZE, goaway_status,
    rst_status,
};
use super::header_block::Headers;

/// SPDY/3.1's initial window, for each stream and for the session.
pub const INITIAL_WINDOW_BYTES: i64 = 64 * 1024;

/// The most bytes one DATA frame this side writes carries.
pub const MAX_DATA_FRAME_BYTES: usize = 16 * 1024;

/// Data frames held for a stream whose reader has not taken them yet; when full, the session
/// stops reading the wire until it has.
const BUFFERED_DATA_FRAMES: usize = 16;

/// Streams opened by the peer and not yet taken by the caller.
const PENDING_STREAMS: usize = 16;

/// Frames queued for the writer.
const QUEUED_FRAMES: usize = 64;

/// Why a stream operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The session ended (the peer went away or the wire broke).
    #[error("the SPDY session is closed")]
    SessionClosed,
    /// The peer reset the stream.
    #[error("the peer reset the stream")]
    Reset,
}

struct StreamState {
    send_window: i64,
    reset: bool,
    local_closed: bool,
    remote_closed: bool,
}

struct State {
    streams: BTreeMap<u32, StreamState>,
    session_send_window: i64,
    initial_send_window: i64,
    peer_keeps_windows: bool,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    window_opened: Notify,
    frames: mpsc::Sender<Frame>,
}

impl Shared {
    async fn send(&self, frame: Frame) -> Result<(), StreamError> {
        self.frames.send(frame).await.map_err(|_| StreamError::SessionClosed)
    }

    /// Records that one side of `stream_id` is done; forgets the stream once both are.
    fn close_side(&self, stream_id: u32, local: bool) {
        let mut state = self.state.lock();
        let Some(stream) = state.streams.get_mut(&stream_id) else { return };
        if local {
            stream.local_closed = true;
        } else {
            stream.remote_closed = true;
        }
        if stream.local_closed && stream.remote_closed {
            state.streams.remove(&stream_id);
        }
    }
}

/// A stream the peer opened.
pub struct Stream {
    headers: Headers,
    /// The peer's data.
    pub reader: StreamReader,
    /// This side's half.
    pub writer: StreamWriter,
}

impl Stream {
    /// The headers of the peer's SYN_STREAM.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The stream's id.
    pub fn id(&self) -> u32 {
        self.writer.stream_id
    }
}

/// Reads what the peer sends on one stream.
pub struct StreamReader {
    stream_id: u32,
    incoming: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
}

impl StreamReader {
    /// The next bytes; `None` once the peer finished or reset the stream or the session ended.
    /// Taking bytes opens the peer's windows by as much.
    pub async fn read(&mut self) -> Option<Bytes> {
        let data = self.incoming.recv().await?;
        let delta = u32::try_from(data.len()).unwrap_or(u32::MAX);
        if delta > 0 {
            let _ = self.shared.send(Frame::WindowUpdate { stream_id: self.stream_id, delta }).await;
            let _ = self.shared.send(Frame::WindowUpdate { stream_id: 0, delta }).await;
        }
        Some(data)
    }
}

/// Writes this side of one stream; clones share it.
#[derive(Clone)]
pub struct StreamWriter {
    stream_id: u32,
    shared: Arc<Shared>,
}

impl StreamWriter {
    /// Accepts the stream (SYN_REPLY, no headers).
    pub async fn reply(&self) -> Result<(), StreamError> {
        self.shared.send(Frame::SynReply { stream_id: self.stream_id, fin: false, headers: Headers::default() }).await
    }

    /// Refuses the stream (RST_STREAM `REFUSED_STREAM`), as the kubelet refuses a stream
    /// whose headers it cannot use.
    pub async fn refuse(&self) {
        self.reset(rst_status::REFUSED_STREAM).await;
    }

    /// Sends `data`, in frames of at most [`MAX_DATA_FRAME_BYTES`], within the peer's windows.
    pub async fn write(&self, mut data: &[u8]) -> Result<(), StreamError> {
        while !data.is_empty() {
            let granted = self.reserve(data.len().min(MAX_DATA_FRAME_BYTES)).await?;
            let (chunk, rest) = data.split_at(granted);
            let frame = Frame::Data { stream_id: self.stream_id, fin: false, data: Bytes::copy_from_slice(chunk) };
            self.shared.send(frame).await?;
            data = rest;
        }
        Ok(())
    }

    /// Ends this side of the stream (an empty DATA frame with FLAG_FIN).
    pub async fn finish(&self) -> Result<(), StreamError> {
        self.shared.send(Frame::Data { stream_id: self.stream_id, fin: true, data: Bytes::new() }).await?;
        self.shared.close_side(self.stream_id, true);
        Ok(())
    }

    /// Ends the stream abnormally with `status` (one of [`rst_status`]).
    pub async fn reset(&self, status: u32) {
        let _ = self.shared.send(Frame::RstStream { stream_id: self.stream_id, status }).await;
        self.shared.close_side(self.stream_id, true);
        self.shared.close_side(self.stream_id, false);
    }

    /// Waits until the peer's windows allow some of `wanted` bytes; returns how many.
    async fn reserve(&self, wanted: usize) -> Result<usize, StreamError> {
        loop {
            let opened = self.shared.window_opened.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            {
                let mut state = self.shared.state.lock();
                let State { streams, session_send_window, peer_keeps_windows, closed, .. } = &mut *state;
                if *closed {
                    return Err(StreamError::SessionClosed);
                }
                let stream = streams.get_mut(&self.stream_id).ok_or(StreamError::Reset)?;
                if stream.reset {
                    return Err(StreamError::Reset);
                }
                if !*peer_keeps_windows {
                    return Ok(wanted);
                }
                let available = stream.send_window.min(*session_send_window);
                if available > 0 {
                    let granted = wanted.min(usize::try_from(available).unwrap_or(usize::MAX));
                    let granted_bytes = i64::try_from(granted).unwrap_or(i64::MAX);
                    stream.send_window -= granted_bytes;
                    *session_send_window -= granted_bytes;
                    return Ok(granted);
                }
            }
            opened.await;
        }
    }
}

/// Serves a session over `io`: streams the peer opens come out of the returned channel; the
/// task ends when the peer closes the connection and every stream handle is gone.
pub fn serve<T>(io: T) -> (mpsc::Receiver<Stream>, JoinHandle<()>)
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let (frames, queued) = mpsc::channel(QUEUED_FRAMES);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            streams: BTreeMap::new(),
            session_send_window: INITIAL_WINDOW_BYTES,
            initial_send_window: INITIAL_WINDOW_BYTES,
            peer_keeps_windows: false,
            closed: false,
        }),
        window_opened: Notify::new(),
        frames,
    });
    let (accepted, streams) = mpsc::channel(PENDING_STREAMS);
    let writer = tokio::spawn(write_frames(write, queued));
    let task = tokio::spawn(async move {
        Reader { shared, accepted, incoming: BTreeMap::new(), last_peer_stream: 0, going_away: false }.run(read).await;
        let _ = writer.await;
    });
    (streams, task)
}

async fn write_frames<W: AsyncWrite + Unpin>(mut write: W, mut queued: mpsc::Receiver<Frame>) {
    let mut encoder = FrameEncoder::new();
    let mut wire = BytesMut::new();
    while let Some(frame) = queued.recv().await {
        wire.clear();
        let mut next = Some(frame);
        // Batch what is already queued into one write.
        while let Some(frame) = next.take() {
            tracing::trace!(?frame, "SPDY frame out");
            if let Err(error) = encoder.encode(&frame, &mut wire) {
                tracing::warn!(%error, "a SPDY frame could not be written");
                return;
            }
            if wire.len() < 64 * 1024 {
                next = queued.try_recv().ok();
            }
        }
        if write.write_all(&wire).await.is_err() || write.flush().await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}

struct Reader {
    shared: Arc<Shared>,
    accepted: mpsc::Sender<Stream>,
    /// Where each open stream's data goes, until the peer finishes it.
    incoming: BTreeMap<u32, mpsc::Sender<Bytes>>,
    last_peer_stream: u32,
    going_away: bool,
}

impl Reader {
    async fn run<R: AsyncRead + Unpin>(mut self, mut read: R) {
        let mut decoder = FrameDecoder::new();
        let mut buffer = BytesMut::with_capacity(16 * 1024);
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(frame)) => {
                    tracing::trace!(?frame, "SPDY frame in");
                    self.handle(frame).await;
                }
                Ok(None) => match read.read_buf(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                Err(error) => {
                    tracing::debug!(%error, "a SPDY peer sent a malformed frame");
                    let last_good_stream_id = self.last_peer_stream;
                    let _ = self
                        .shared
                        .send(Frame::GoAway { last_good_stream_id, status: goaway_status::PROTOCOL_ERROR })
                        .await;
                    break;
                }
            }
        }
        self.shared.state.lock().closed = true;
        self.shared.window_opened.notify_waiters();
    }

    async fn handle(&mut self, frame: Frame) {
        match frame {
            Frame::SynStream { stream_id, flags, headers, .. } => self.open(stream_id, flags, headers).await,
            Frame::Data { stream_id, fin, data } => self.data(stream_id, fin, data).await,
            Frame::Headers { stream_id, fin: true, .. } => self.remote_finished(stream_id),
            Frame::RstStream { stream_id, .. } => {
                self.incoming.remove(&stream_id);
                if let Some(stream) = self.shared.state.lock().streams.get_mut(&stream_id) {
                    stream.reset = true;
                }
                self.shared.close_side(stream_id, false);
                self.shared.window_opened.notify_waiters();
            }
            Frame::Settings { settings, .. } => {
                for setting in settings.iter().filter(|setting| setting.id == SETTINGS_INITIAL_WINDOW_SIZE) {
                    let mut state = self.shared.state.lock();
                    let delta = i64::from(setting.value) - state.initial_send_window;
                    state.initial_send_window = i64::from(setting.value);
                    state.peer_keeps_windows = true;
                    for stream in state.streams.values_mut() {
                        stream.send_window += delta;
                    }
                }
                self.shared.window_opened.notify_waiters();
            }
            Frame::WindowUpdate { stream_id, delta } => {
                {
                    let mut state = self.shared.state.lock();
                    state.peer_keeps_windows = true;
                    if stream_id == 0 {
                        state.session_send_window += i64::from(delta);
                    } else if let Some(stream) = state.streams.get_mut(&stream_id) {
                        stream.send_window += i64::from(delta);
                    }
                }
                self.shared.window_opened.notify_waiters();
            }
            // The client's pings are odd; echo them. This side sends none of its own.
            Frame::Ping { id } if !id.is_multiple_of(2) => {
                let _ = self.shared.send(Frame::Ping { id }).await;
            }
            Frame::GoAway { .. } => self.going_away = true,
            Frame::Ping { .. } | Frame::SynReply { .. } | Frame::Headers { .. } | Frame::Unknown { .. } => {}
        }
    }

    async fn open(&mut self, stream_id: u32, flags: u8, headers: Headers) {
        if stream_id == 0 || stream_id.is_multiple_of(2) || stream_id <= self.last_peer_stream {
            let _ = self.shared.send(Frame::RstStream { stream_id, status: rst_status::PROTOCOL_ERROR }).await;
            return;
        }
        self.last_peer_stream = stream_id;
        if self.going_away {
            let _ = self.shared.send(Frame::RstStream { stream_id, status: rst_status::REFUSED_STREAM }).await;
            return;
        }
        let (sender, incoming) = mpsc::channel(BUFFERED_DATA_FRAMES);
        let remote_closed = flags & FLAG_FIN != 0;
        if !remote_closed {
            self.incoming.insert(stream_id, sender);
        }
        {
            let mut state = self.shared.state.lock();
            let send_window = state.initial_send_window;
            let local_closed = flags & FLAG_UNIDIRECTIONAL != 0;
            state.streams.insert(stream_id, StreamState { send_window, reset: false, local_closed, remote_closed });
        }
        let stream = Stream {
            headers,
            reader: StreamReader { stream_id, incoming, shared: Arc::clone(&self.shared) },
            writer: StreamWriter { stream_id, shared: Arc::clone(&self.shared) },
        };
        if self.accepted.send(stream).await.is_err() {
            let _ = self.shared.send(Frame::RstStream { stream_id, status: rst_status::REFUSED_STREAM }).await;
        }
    }

    async fn data(&mut self, stream_id: u32, fin: bool, data: Bytes) {
        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let delivered = match self.incoming.get(&stream_id) {
            Some(sender) if length > 0 => sender.send(data).await.is_ok(),
            _ => false,
        };
        if !delivered && length > 0 {
            // Nobody reads these bytes: give them back to the session window now.
            let _ = self.shared.send(Frame::WindowUpdate { stream_id: 0, delta: length }).await;
        }
        if fin {
            self.remote_finished(stream_id);
        }
    }

    fn remote_finished(&mut self, stream_id: u32) {
        self.incoming.remove(&stream_id);
        self.shared.close_side(stream_id, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::DuplexStream;

    /// A client end speaking frames to a served session.
    struct Client {
        wire: DuplexStream,
        encoder: FrameEncoder,
        decoder: FrameDecoder,
        buffer: BytesMut,
    }

    impl Client {
        async fn send(&mut self, frame: Frame) {
            let mut out = BytesMut::new();
            self.encoder.encode(&frame, &mut out).unwrap();
            self.wire.write_all(&out).await.unwrap();
        }

        async fn receive(&mut self) -> Frame {
            loop {
                if let Some(frame) = self.decoder.decode(&mut self.buffer).unwrap() {
                    return frame;
                }
                let read =
                    tokio::time::timeout(std::time::Duration::from_secs(5), self.wire.read_buf(&mut self.buffer))
                        .await
                        .expect("the session answers")
                        .unwrap();
                assert!(read > 0, "the session closed the wire");
            }
        }

        /// The next frame that is not a WINDOW_UPDATE.
        async fn receive_skipping_window_updates(&mut self) -> Frame {
            loop {
                match self.receive().await {
                    Frame::WindowUpdate { .. } => {}
                    frame => return frame,
                }
            }
        }
    }

    fn start() -> (Client, mpsc::Receiver<Stream>) {
        let (server, client) = tokio::io::duplex(256 * 1024);
        let (streams, _task) = serve(server);
        let client = Client {
            wire: client,
            encoder: FrameEncoder::new(),
            decoder: FrameDecoder::new(),
            buffer: BytesMut::new(),
        };
        (client, streams)
    }

    fn syn_stream(stream_id: u32, flags: u8) -> Frame {
        let headers = Headers::new([("streamType", "data"), ("port", "80"), ("requestID", "0")]);
        Frame::SynStream { stream_id, associated_stream_id: 0, priority: 0, flags, headers }
    }

    #[tokio::test]
    async fn a_stream_is_replied_to_read_and_written() {
        let (mut client, mut streams) = start();
        client.send(syn_stream(1, 0)).await;
        let mut stream = streams.recv().await.unwrap();
        assert_eq!((stream.id(), stream.headers().get("port")), (1, Some("80")));
        stream.writer.reply().await.unwrap();
        assert!(matches!(client.receive().await, Frame::SynReply { stream_id: 1, fin: false, .. }));

        client.send(Frame::Data { stream_id: 1, fin: true, data: Bytes::from_static(b"ping") }).await;
        assert_eq!(stream.reader.read().await.as_deref(), Some(&b"ping"[..]));
        assert_eq!(stream.reader.read().await, None, "FIN ends the peer's data");
        assert_eq!(client.receive().await, Frame::WindowUpdate { stream_id: 1, delta: 4 });
        assert_eq!(client.receive().await, Frame::WindowUpdate { stream_id: 0, delta: 4 });

        stream.writer.write(b"pong").await.unwrap();
        stream.writer.finish().await.unwrap();
        assert_eq!(client.receive().await, Frame::Data { stream_id: 1, fin: false, data: Bytes::from_static(b"pong") });
        assert_eq!(client.receive().await, Frame::Data { stream_id: 1, fin: true, data: Bytes::new() });
    }

    #[tokio::test]
    async fn client_pings_are_echoed_and_bad_stream_ids_reset() {
        let (mut client, mut streams) = start();
        client.send(Frame::Ping { id: 1 }).await;
        assert_eq!(client.receive().await, Frame::Ping { id: 1 });
        client.send(syn_stream(2, 0)).await;
        assert_eq!(client.receive().await, Frame::RstStream { stream_id: 2, status: rst_status::PROTOCOL_ERROR });
        client.send(syn_stream(3, 0)).await;
        assert_eq!(streams.recv().await.unwrap().id(), 3);
        client.send(syn_stream(3, 0)).await;
        assert_eq!(client.receive().await, Frame::RstStream { stream_id: 3, status: rst_status::PROTOCOL_ERROR });
        client.send(Frame::GoAway { last_good_stream_id: 0, status: goaway_status::OK }).await;
        client.send(syn_stream(5, 0)).await;
        assert_eq!(client.receive().await, Frame::RstStream { stream_id: 5, status: rst_status::REFUSED_STREAM });
    }

    #[tokio::test]
    async fn writes_wait_for_a_window_once_the_peer_keeps_windows() {
        let (mut client, mut streams) = start();
        client
            .send(Frame::Settings {
                flags: 0,
                settings: vec![super::super::frame::Setting { flags: 0, id: SETTINGS_INITIAL_WINDOW_SIZE, value: 10 }],
            })
            .await;
        client.send(syn_stream(1, FLAG_FIN)).await;
        let stream = streams.recv().await.unwrap();
        let writer = stream.writer.clone();
        let writing = tokio::spawn(async move { writer.write(b"0123456789abcdef").await });
        assert_eq!(
            client.receive_skipping_window_updates().await,
            Frame::Data { stream_id: 1, fin: false, data: Bytes::from_static(b"0123456789") }
        );
        tokio::task::yield_now().await;
        assert!(!writing.is_finished(), "the stream's window is spent");
        client.send(Frame::WindowUpdate { stream_id: 1, delta: 100 }).await;
        assert_eq!(
            client.receive_skipping_window_updates().await,
            Frame::Data { stream_id: 1, fin: false, data: Bytes::from_static(b"abcdef") }
        );
        writing.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_reset_stream_stops_its_writer() {
        let (mut client, mut streams) = start();
        client.send(syn_stream(1, 0)).await;
        let stream = streams.recv().await.unwrap();
        client.send(Frame::RstStream { stream_id: 1, status: rst_status::CANCEL }).await;
        // The reset is read before the next frame; a ping round trip orders the two.
        client.send(Frame::Ping { id: 3 }).await;
        assert_eq!(client.receive().await, Frame::Ping { id: 3 });
        assert_eq!(stream.writer.write(b"late").await, Err(StreamError::Reset));
    }

    #[tokio::test]
    async fn data_nobody_reads_is_credited_back_to_the_session() {
        let (mut client, mut streams) = start();
        client.send(syn_stream(1, 0)).await;
        drop(streams.recv().await.unwrap());
        client.send(Frame::Data { stream_id: 1, fin: false, data: Bytes::from_static(b"ignored") }).await;
        assert_eq!(client.receive().await, Frame::WindowUpdate { stream_id: 0, delta: 7 });
    }
}
