//! Runs one core [`Component`] against an API server over HTTP: steps it with each answer,
//! watch frame and timer, sends what it asks for, and reports a lost connection as the core
//! expects (status 0 for a request, `WatchClosed` for a watch). The component's own logic
//! (informers' relist on 410, re-watch from the last resourceVersion, retry backoff) does the
//! rest: the runner decides nothing.

use std::time::Duration;

use coxswain_core::api::ApiRequest;
use coxswain_core::client::{Component, Incoming, Outgoing};
use coxswain_core::jiff::Timestamp;
use coxswain_core::limits::CLIENT_WATCH_IDLE_TIMEOUT_SECONDS;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::http::{HttpClient, Session};
use crate::clock::SharedClock;

/// A call made on the component inside its task, between steps.
type Control<C> = Box<dyn FnOnce(&mut C, Timestamp) + Send>;

/// A handle to a running component.
pub struct ComponentHandle<C> {
    control: mpsc::UnboundedSender<Control<C>>,
}

impl<C> Clone for ComponentHandle<C> {
    fn clone(&self) -> Self {
        ComponentHandle { control: self.control.clone() }
    }
}

impl<C: Send + 'static> ComponentHandle<C> {
    /// Runs `action` on the component between two steps (it is stepped right after, so what
    /// `action` asked of it goes out at once); `None` if the component has stopped.
    pub async fn call<T: Send + 'static>(
        &self,
        action: impl FnOnce(&mut C, Timestamp) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        let control: Control<C> = Box::new(move |component, now| {
            let _ = reply.send(action(component, now));
        });
        self.control.send(control).ok()?;
        answer.await.ok()
    }
}

/// Starts `component` in its own task; it stops (and the task returns it) when `shutdown` turns
/// true.
pub fn spawn<C: Component + Send + 'static>(
    name: String,
    component: C,
    client: HttpClient,
    clock: SharedClock,
    shutdown: watch::Receiver<bool>,
) -> (ComponentHandle<C>, JoinHandle<C>) {
    let (control, controls) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(name, component, client, clock, controls, shutdown));
    (ComponentHandle { control }, task)
}

/// How long the runner waits before stepping again when a component asks to be woken at a time
/// already past: a component must move its wake forward; a short pause keeps a misbehaving one
/// from spinning a core.
const PAST_WAKE_PAUSE: Duration = Duration::from_millis(10);

async fn run<C: Component>(
    name: String,
    mut component: C,
    client: HttpClient,
    clock: SharedClock,
    mut controls: mpsc::UnboundedReceiver<Control<C>>,
    mut shutdown: watch::Receiver<bool>,
) -> C {
    let (inbox, mut inputs) = mpsc::unbounded_channel::<Incoming>();
    let (requests, queued) = mpsc::unbounded_channel::<Outgoing>();
    tokio::spawn(send_in_order(client.session(), queued, inbox.clone()));
    let mut input: Option<Incoming> = None;
    let mut woken_by_timer = false;
    loop {
        let now = clock.now();
        for outgoing in component.step(input.take(), now) {
            if is_watch(&outgoing.request) {
                tokio::spawn(watch(client.clone(), outgoing, inbox.clone()));
            } else {
                let _ = requests.send(outgoing);
            }
        }
        if *shutdown.borrow() {
            break;
        }
        let now = clock.now();
        let wait = component.next_wake().map(|wake| {
            let until = Duration::try_from(wake.duration_since(now)).unwrap_or(Duration::ZERO);
            if until.is_zero() && woken_by_timer { PAST_WAKE_PAUSE } else { until }
        });
        woken_by_timer = false;
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            Some(control) = controls.recv() => control(&mut component, clock.now()),
            Some(incoming) = inputs.recv() => input = Some(incoming),
            _ = tokio::time::sleep(wait.unwrap_or(Duration::MAX)), if wait.is_some() => woken_by_timer = true,
        }
    }
    tracing::debug!(component = %name, "stopped");
    component
}

/// Sends a component's requests one after the other, in the order it made them.
async fn send_in_order(
    mut session: Session,
    mut queued: mpsc::UnboundedReceiver<Outgoing>,
    inbox: mpsc::UnboundedSender<Incoming>,
) {
    while let Some(Outgoing { id, request }) = queued.recv().await {
        let incoming = match session.send(&request).await {
            Ok(answer) => Incoming::Response { id, status: answer.status, body: answer.body },
            Err(error) => {
                tracing::debug!(%error, path = %request.path, "request failed");
                Incoming::Response { id, status: 0, body: Value::Null }
            }
        };
        if inbox.send(incoming).is_err() {
            return;
        }
    }
}

/// Opens a watch and feeds its frames to the component until it ends.
async fn watch(client: HttpClient, outgoing: Outgoing, inbox: mpsc::UnboundedSender<Incoming>) {
    let Outgoing { id, request } = outgoing;
    let mut frames = match client.watch(&request).await {
        Ok(Ok(frames)) => frames,
        Ok(Err(answer)) => {
            let _ = inbox.send(Incoming::Response { id, status: answer.status, body: answer.body });
            return;
        }
        Err(error) => {
            tracing::debug!(%error, path = %request.path, "watch failed");
            let _ = inbox.send(Incoming::Response { id, status: 0, body: Value::Null });
            return;
        }
    };
    let idle = Duration::from_secs(CLIENT_WATCH_IDLE_TIMEOUT_SECONDS);
    while let Ok(Some(frame)) = tokio::time::timeout(idle, frames.next()).await {
        if inbox.send(Incoming::WatchFrame { id, frame: std::sync::Arc::new(frame) }).is_err() {
            return;
        }
    }
    let _ = inbox.send(Incoming::WatchClosed { id });
}

fn is_watch(request: &ApiRequest) -> bool {
    matches!(request.query_param("watch"), Some("1" | "true"))
}
