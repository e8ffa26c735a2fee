//! One open watch on the HTTP shell: a task that waits for the store's revision to move, polls
//! the core's [`WatchStream`] for the frames due, and sends each as one newline-terminated JSON
//! chunk, as kube-apiserver does; BOOKMARKs on a quiet stream when the client allows them; the
//! stream ends at its `timeoutSeconds`, after an ERROR frame, when the client goes away, or when
//! the server stops.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use coxswain_core::api::WatchStream;
use coxswain_core::limits::WATCH_BOOKMARK_INTERVAL_SECONDS;
use coxswain_core::store::Store;
use tokio::sync::mpsc;

use super::shared_api::SharedApi;

/// Frames buffered for a slow client before the watch task waits for it.
const FRAMES_BUFFERED: usize = 256;

/// Starts the task feeding `stream`'s frames; the receiver yields each encoded frame.
pub fn spawn<S: Store + Send + Sync + 'static>(
    api: Arc<SharedApi<S>>,
    mut stream: Box<WatchStream>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> mpsc::Receiver<Bytes> {
    let (frames, receiver) = mpsc::channel(FRAMES_BUFFERED);
    tokio::spawn(async move {
        let mut revisions = api.subscribe();
        let bookmark_interval = Duration::from_secs(WATCH_BOOKMARK_INTERVAL_SECONDS);
        loop {
            revisions.borrow_and_update();
            for frame in api.poll_watch(&mut stream) {
                if frames.send(encode(&frame)).await.is_err() {
                    return;
                }
            }
            let now = api.clock().now();
            if stream.finished || stream.timed_out(now) || *shutdown.borrow() {
                return;
            }
            let until_deadline = stream
                .deadline
                .map(|deadline| Duration::try_from(deadline.duration_since(now)).unwrap_or(Duration::ZERO));
            tokio::select! {
                biased;
                _ = frames.closed() => return,
                _ = shutdown.changed() => return,
                changed = revisions.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep(until_deadline.unwrap_or(Duration::MAX)), if until_deadline.is_some() => {}
                _ = tokio::time::sleep(bookmark_interval) => {
                    if let Some(bookmark) = stream.bookmark() && frames.send(encode(&bookmark)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    receiver
}

fn encode(frame: &serde_json::Value) -> Bytes {
    let mut bytes = serde_json::to_vec(frame).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}
