//! Every bound of the core in one place (DESIGN.md principle 7), with Kubernetes' value where
//! Kubernetes has one.

/// Largest request body or manifest file accepted: 3 MiB, as the Kubernetes API server.
pub const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;

/// Deepest nesting of YAML or JSON collections accepted in one document.
pub const MAX_DOCUMENT_DEPTH: usize = 100;

/// Most YAML alias references accepted in one manifest; a document that needs more is refused
/// before it is expanded (this stops "billion laughs" documents).
pub const MAX_YAML_ALIASES: usize = 1_000;

/// Most YAML nodes (scalars, sequences, mappings) accepted in one manifest, after alias
/// expansion would be counted.
pub const MAX_YAML_NODES: usize = 1_000_000;

/// Most documents accepted in one manifest stream.
pub const MAX_DOCUMENTS: usize = 10_000;

/// Most operations accepted in one JSON patch (RFC 6902) body, as the Kubernetes API server
/// (`maxJSONPatchOperations`).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Most bytes the `copy` operations of one JSON patch may add to the document: 3 MiB, the
/// Kubernetes API server's `JSONPatchMaxCopyBytes` default.
pub const JSON_PATCH_COPY_BYTES_MAX: usize = 3 * 1024 * 1024;

/// Most revisions of history a store keeps for watches and for paginated or historical lists:
/// 102,400, the upper bound of the Kubernetes API server's watch cache capacity
/// (`defaultUpperBoundCapacity = 100 * 1024`). Each write is one revision and one event, so this
/// is also the number of events kept. A store drops older events on its own once it holds more;
/// a watch or continue token older than the kept history gets 410 Gone ("too old resource
/// version").
pub const WATCH_WINDOW_REVISIONS: u64 = 100 * 1024;

/// How long, in seconds, a shell keeps history before it calls `Store::compact`: 300 s, the
/// Kubernetes API server's default etcd compaction interval (`--etcd-compaction-interval=5m`).
/// Core has no clock, so this policy is the shell's: every `WATCH_WINDOW_SECONDS` it compacts to
/// the revision that was current `WATCH_WINDOW_SECONDS` earlier. Whichever of this and
/// [`WATCH_WINDOW_REVISIONS`] keeps less history wins.
pub const WATCH_WINDOW_SECONDS: u64 = 300;

/// Most events one poll of a watch returns; the rest wait for the next poll, so one slow watcher
/// catching up on the whole window cannot take a single unbounded step.
pub const WATCH_POLL_EVENTS_MAX: usize = 10_000;

/// Most create attempts for an object named by `generateName` whose generated names collide
/// with existing objects: 8, as Kubernetes (`maxNameGenerationCreateAttempts`).
pub const GENERATE_NAME_ATTEMPTS_MAX: usize = 8;

/// Longest a watch stays open, in seconds, when the client names no `timeoutSeconds` (and the most
/// it may name): 30 minutes, the Kubernetes API server's `--min-request-timeout` (1800 s).
pub const WATCH_TIMEOUT_SECONDS_MAX: i64 = 1_800;

/// Keys each controller of the controller manager syncs at once: 5, kube-controller-manager's
/// default for `--concurrent-replicaset-syncs`, `--concurrent-deployment-syncs`,
/// `--concurrent-job-syncs`, `--concurrent-ttl-after-finished-syncs` and the others.
pub const CONTROLLER_WORKERS: usize = 5;

/// Most pods the scheduler component places per step before it lets its inputs in again, so a
/// burst of pending pods cannot starve watch events.
pub const SCHEDULER_PODS_PER_STEP: usize = 1_000;

/// Most non-mutating requests (gets and lists; watches are long-running and not counted) the API
/// server's HTTP shell serves at once before it answers 429 with `Retry-After`: kube-apiserver's
/// `--max-requests-inflight` default.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 400;

/// Most mutating requests served at once before 429: kube-apiserver's
/// `--max-mutating-requests-inflight` default.
pub const MAX_MUTATING_REQUESTS_IN_FLIGHT: usize = 200;

/// How long a client of the API server waits for an answer before it gives the request up (and
/// its component sees a lost connection).
pub const CLIENT_REQUEST_TIMEOUT_SECONDS: u64 = 30;

/// How long an open watch may stay silent (no event, no bookmark) before its client closes it and
/// watches again from its last resourceVersion: a half-open connection cannot hold a component
/// blind for longer.
pub const CLIENT_WATCH_IDLE_TIMEOUT_SECONDS: u64 = 300;

/// How often the API server's HTTP shell sends a BOOKMARK on a quiet watch that allows them
/// (kube-apiserver sends one about every minute).
pub const WATCH_BOOKMARK_INTERVAL_SECONDS: u64 = 60;

/// How long an Event lives after its last write (kube-apiserver `--event-ttl`, default 1 h).
pub const EVENT_TTL: std::time::Duration = std::time::Duration::from_secs(60 * 60);
