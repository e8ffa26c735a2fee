//! A typed informer: the list-then-watch protocol of client-go's reflector and the cache it
//! fills, as a state machine. It lists a kind across all namespaces in pages, then watches from
//! the list's resourceVersion with bookmarks; a closed watch resumes from the last revision seen,
//! a 410 Gone relists, and every change reaches the owner as a [`Change`] with the old and new
//! object. Failed requests are retried after a back-off that doubles, so a broken server is not
//! hammered and a shell that delivers instantly cannot spin.
//!
//! An informer can keep secondary indexes (client-go's `Indexers`): each files every cached
//! object under the values an index function gives it (its controller's uid, its node, its
//! labels), so that a controller finds what concerns one key without scanning the cache.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use k8s_openapi::{Metadata, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::paths::collection_path;
use super::trimmed::{decode_metadata_without_managed_fields, decode_without_managed_fields};
use super::{Incoming, Outgoing, RequestId, is_success};
use crate::api::{ApiRequest, Method};
use crate::object::Object;
use crate::object::kinds::{self, ResourceType};

/// Items per list page, as client-go's pager (`defaultPageSize`).
pub const LIST_PAGE_SIZE: usize = 500;

/// How long a watch stays open before the server ends it and the informer opens the next one
/// (client-go picks 5–10 minutes; a fixed value keeps runs deterministic).
pub const WATCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// First delay after a failed list or watch (client-go's reflector back-off starts at 800 ms).
pub const RETRY_INITIAL: Duration = Duration::from_millis(800);

/// Longest delay between retries (client-go caps the reflector back-off at 30 s).
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// What an informer can cache: an object with `ObjectMeta`, decoded from the wire. Every typed
/// kind is one; so is the dynamic [`Object`], which lets one informer type serve the typed
/// informers and the metadata-style informers over every served kind (client-go's dynamic
/// informers) that the garbage collector, namespace and quota controllers read.
pub trait Cached: Sized {
    /// The object's metadata.
    fn object_meta(&self) -> &ObjectMeta;

    /// Decodes one listed or watched object of `resource` without its `managedFields` (no
    /// informer holds them); `None` when it does not decode.
    fn decode(value: &Value, resource: &ResourceType) -> Option<Self>;

    /// The object's metadata, to change (an informer trims `managedFields` through it).
    fn object_meta_mut(&mut self) -> &mut ObjectMeta;

    /// Decodes the metadata and only the top-level `fields` named (client-go's metadata
    /// informers, which hold `PartialObjectMetadata`); kinds that cannot hold part of an
    /// object decode all of it.
    fn decode_keeping(value: &Value, resource: &ResourceType, fields: &[&str]) -> Option<Self> {
        let _ = fields;
        Self::decode(value, resource)
    }
}

impl<T> Cached for T
where
    T: Resource + Metadata<Ty = ObjectMeta> + DeserializeOwned,
{
    fn object_meta(&self) -> &ObjectMeta {
        self.metadata()
    }

    fn object_meta_mut(&mut self) -> &mut ObjectMeta {
        self.metadata_mut()
    }

    fn decode(value: &Value, _resource: &ResourceType) -> Option<T> {
        // Decoding from a borrowed value copies only what the typed object keeps.
        decode_without_managed_fields(value).ok()
    }
}

impl Cached for Object {
    fn object_meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn object_meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }

    /// List items may leave out `apiVersion` and `kind`; they are the resource's.
    fn decode(value: &Value, resource: &ResourceType) -> Option<Object> {
        let map = value.as_object()?;
        let kept = map
            .iter()
            .filter(|(field, _)| !matches!(field.as_str(), "apiVersion" | "kind" | "metadata"))
            .map(|(field, value)| (field.clone(), value.clone()))
            .collect();
        dynamic_object(value, resource, kept)
    }

    fn decode_keeping(value: &Value, resource: &ResourceType, fields: &[&str]) -> Option<Object> {
        let kept = fields.iter().filter_map(|field| Some((field.to_string(), value.get(*field)?.clone()))).collect();
        dynamic_object(value, resource, kept)
    }
}

/// The dynamic object of a listed or watched `value` holding the top-level fields `kept`: its
/// type fields (the resource's where the value leaves them out; a type field that is not a
/// string does not decode) and its metadata without `managedFields`.
fn dynamic_object(value: &Value, resource: &ResourceType, kept: Map<String, Value>) -> Option<Object> {
    let text = |field: &str, default: &str| match value.get(field) {
        None => Some(default.to_string()),
        Some(field) => field.as_str().map(str::to_string),
    };
    let metadata = match value.get("metadata") {
        None | Some(Value::Null) => ObjectMeta::default(),
        Some(metadata) => decode_metadata_without_managed_fields(metadata).ok()?,
    };
    Some(Object {
        api_version: text("apiVersion", resource.api_version)?,
        kind: text("kind", resource.kind)?,
        metadata,
        fields: kept,
    })
}

/// One observed change of a cached object.
#[derive(Clone, Debug)]
pub enum Change<T> {
    /// The object appeared (`old` is `None`) or changed.
    Applied {
        /// The object as it was cached before, if it was.
        old: Option<Arc<T>>,
        /// The object now.
        new: Arc<T>,
    },
    /// The object is gone; this is its last known state.
    Deleted(Arc<T>),
}

impl<T> Change<T> {
    /// The object after the change (the last state for a deletion).
    pub fn object(&self) -> &Arc<T> {
        match self {
            Change::Applied { new, .. } => new,
            Change::Deleted(object) => object,
        }
    }
}

/// What a secondary index files an object under (client-go's `IndexFunc`): any number of
/// values, none to leave the object out.
pub type IndexFunction<T> = fn(&T) -> Vec<String>;

/// One secondary index: index value → the cache keys of the objects filed under it.
#[derive(Debug)]
struct Index<T> {
    name: &'static str,
    function: IndexFunction<T>,
    entries: BTreeMap<String, BTreeSet<String>>,
}

impl<T> Index<T> {
    fn insert(&mut self, key: &str, object: &T) {
        for value in (self.function)(object) {
            self.entries.entry(value).or_default().insert(key.to_string());
        }
    }

    fn remove(&mut self, key: &str, object: &T) {
        for value in (self.function)(object) {
            if let Some(keys) = self.entries.get_mut(&value) {
                keys.remove(key);
                if keys.is_empty() {
                    self.entries.remove(&value);
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    /// A full list must start (at `not_before`).
    NeedList { not_before: Option<Timestamp> },
    /// A list page was requested.
    Listing { id: RequestId },
    /// The next page is to be requested with this continue token.
    NeedPage { continue_token: String },
    /// A watch must open from the cached revision (at `not_before`).
    NeedWatch { not_before: Option<Timestamp> },
    /// A watch is open (or opening).
    Watching { id: RequestId },
}

/// The cache of one kind across all namespaces, kept by list and watch.
#[derive(Debug)]
pub struct Informer<T> {
    resource: &'static ResourceType,
    namespace: Option<String>,
    field_selector: Option<String>,
    objects: BTreeMap<String, Arc<T>>,
    resource_version: String,
    state: State,
    synced: bool,
    pages: Vec<Arc<T>>,
    failures: u32,
    undecodable: u64,
    indexes: Vec<Index<T>>,
    /// The only top-level fields kept besides the metadata, for a metadata informer.
    kept_fields: Option<&'static [&'static str]>,
    kind: PhantomData<T>,
}

impl<T> Informer<T>
where
    T: Resource + Metadata<Ty = ObjectMeta> + DeserializeOwned,
{
    /// An empty informer for `T`, which must be a served kind.
    pub fn new() -> Informer<T> {
        let resource = kinds::by_api_version_kind(T::API_VERSION, T::KIND)
            .expect("informers are only built for kinds the kinds table serves");
        Informer::for_resource(resource)
    }

    /// An informer for `T` that lists and watches one namespace only (client-go's
    /// `WithNamespace`), as the node lifecycle controller watches `kube-node-lease`.
    pub fn for_namespace(namespace: &str) -> Informer<T> {
        Informer { namespace: Some(namespace.to_string()), ..Informer::new() }
    }

    /// An informer for `T` across all namespaces that lists and watches only the objects a
    /// field selector matches (client-go's `WithTweakListOptions` setting `FieldSelector`), as a
    /// kubelet watches `spec.nodeName=<its node>` so its work never grows with other nodes' pods.
    pub fn with_field_selector(selector: &str) -> Informer<T> {
        Informer { field_selector: Some(selector.to_string()), ..Informer::new() }
    }
}

impl<T: Cached> Informer<T> {
    /// An empty informer for the objects of `resource`.
    pub fn for_resource(resource: &'static ResourceType) -> Informer<T> {
        Informer {
            resource,
            namespace: None,
            field_selector: None,
            objects: BTreeMap::new(),
            resource_version: String::new(),
            state: State::NeedList { not_before: None },
            synced: false,
            pages: Vec::new(),
            failures: 0,
            undecodable: 0,
            indexes: Vec::new(),
            kept_fields: None,
            kind: PhantomData,
        }
    }

    /// The informer, holding only each object's metadata and the top-level `fields` named (a
    /// metadata informer: what the garbage collector needs of a kind, not a second full copy).
    pub fn keeping_only(mut self, fields: &'static [&'static str]) -> Informer<T> {
        self.kept_fields = Some(fields);
        self
    }

    /// Decodes a listed or watched object without its `managedFields`, as kube-controller-manager's
    /// informer factories (`WithTransform(trim)`) and kube-scheduler's keep them: no controller
    /// reads them, and they are about half of a Pod's metadata, held once per cache.
    fn decode(&self, value: &Value) -> Option<T> {
        let mut object = match self.kept_fields {
            Some(fields) => T::decode_keeping(value, self.resource, fields),
            None => T::decode(value, self.resource),
        }?;
        object.object_meta_mut().managed_fields = None;
        Some(object)
    }

    /// The informer, also keeping the secondary index `name` of what `function` files each
    /// object under. Indexes are kept through every change, relist included.
    pub fn with_index(mut self, name: &'static str, function: IndexFunction<T>) -> Informer<T> {
        let mut index = Index { name, function, entries: BTreeMap::new() };
        for (key, object) in &self.objects {
            index.insert(key, object);
        }
        self.indexes.push(index);
        self
    }

    /// The cached objects the index `name` files under `value`, in key order; none when there
    /// is no such index.
    pub fn by_index<'a>(&'a self, name: &str, value: &str) -> impl Iterator<Item = &'a Arc<T>> + use<'a, T> {
        let keys = self.indexes.iter().find(|index| index.name == name).and_then(|index| index.entries.get(value));
        keys.into_iter().flatten().filter_map(|key| self.objects.get(key))
    }

    /// How many cached objects the index `name` files under `value`.
    pub fn index_count(&self, name: &str, value: &str) -> usize {
        let keys = self.indexes.iter().find(|index| index.name == name).and_then(|index| index.entries.get(value));
        keys.map_or(0, BTreeSet::len)
    }

    /// Puts `object` in the cache under `key`, keeping the indexes; returns what it replaced.
    fn store(&mut self, key: String, object: Arc<T>) -> Option<Arc<T>> {
        let old = self.objects.insert(key.clone(), object.clone());
        for index in &mut self.indexes {
            if let Some(old) = &old {
                index.remove(&key, old);
            }
            index.insert(&key, &object);
        }
        old
    }

    /// Takes the object under `key` out of the cache, keeping the indexes.
    fn forget(&mut self, key: &str) -> Option<Arc<T>> {
        let old = self.objects.remove(key)?;
        for index in &mut self.indexes {
            index.remove(key, &old);
        }
        Some(old)
    }

    /// The resource this informer lists and watches.
    pub fn resource(&self) -> &'static ResourceType {
        self.resource
    }

    /// Whether the first full list has arrived, so the cache reflects the cluster.
    pub fn has_synced(&self) -> bool {
        self.synced
    }

    /// The revision the cache is at.
    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }

    /// Objects the informer could not decode and skipped (a bug or a newer server).
    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }

    /// The cached object `namespace/name` (`name` for cluster-scoped kinds).
    pub fn get(&self, namespace: &str, name: &str) -> Option<&Arc<T>> {
        self.objects.get(&cache_key(namespace, name))
    }

    /// Every cached object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<T>> {
        self.objects.values()
    }

    /// The cached objects of one namespace, in name order.
    pub fn in_namespace<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Arc<T>> + 'a {
        let prefix = format!("{namespace}/");
        self.objects.range(prefix.clone()..).take_while(move |(key, _)| key.starts_with(&prefix)).map(|(_, v)| v)
    }

    /// How many objects are cached.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The next request to send, if one is due at `now`; `next_id` is the owner's counter.
    pub fn poll_request(&mut self, now: Timestamp, next_id: &mut RequestId) -> Option<Outgoing> {
        // Built only when a request goes out: the manager polls every informer on every step.
        let path = || collection_path(self.resource, self.namespace.as_deref());
        let (request, next_state) = match &self.state {
            State::NeedList { not_before } if not_before.is_none_or(|at| at <= now) => {
                self.pages.clear();
                (list_request(&path(), None, self.field_selector.as_deref()), State::Listing { id: *next_id })
            }
            State::NeedPage { continue_token } => (
                list_request(&path(), Some(continue_token), self.field_selector.as_deref()),
                State::Listing { id: *next_id },
            ),
            State::NeedWatch { not_before } if not_before.is_none_or(|at| at <= now) => {
                let mut request = ApiRequest::new(Method::Get, &path());
                request.query.push(("watch".into(), "1".into()));
                request.query.push(("allowWatchBookmarks".into(), "true".into()));
                request.query.push(("resourceVersion".into(), self.resource_version.clone()));
                request.query.push(("timeoutSeconds".into(), WATCH_TIMEOUT.as_secs().to_string()));
                if let Some(selector) = &self.field_selector {
                    request.query.push(("fieldSelector".into(), selector.clone()));
                }
                (request, State::Watching { id: *next_id })
            }
            _ => return None,
        };
        let id = *next_id;
        *next_id += 1;
        self.state = next_state;
        Some(Outgoing { id, request })
    }

    /// When the informer next wants to send something without being fed (a retry).
    pub fn next_wake(&self) -> Option<Timestamp> {
        match self.state {
            State::NeedList { not_before } | State::NeedWatch { not_before } => not_before,
            _ => None,
        }
    }

    /// Whether `id` is the informer's current request.
    pub fn owns(&self, id: RequestId) -> bool {
        matches!(self.state, State::Listing { id: mine } | State::Watching { id: mine } if mine == id)
    }

    /// Feeds an input; returns the changes it caused, or `None` when the input is not this
    /// informer's (so the owner can offer it to the next one).
    pub fn handle(&mut self, input: &Incoming, now: Timestamp) -> Option<Vec<Change<T>>> {
        if !self.owns(input.id()) {
            return None;
        }
        let changes = match (input, &self.state) {
            (Incoming::Response { status, body, .. }, State::Listing { .. }) => self.list_page(*status, body, now),
            // A server that answers a too-old watch with an HTTP 410 instead of an ERROR event:
            // client-go's reflector relists on either.
            (Incoming::Response { status: 410, .. }, State::Watching { .. }) => {
                self.state = State::NeedList { not_before: None };
                Vec::new()
            }
            (Incoming::Response { .. } | Incoming::WatchClosed { .. }, State::Watching { .. }) => {
                self.retry_watch(now, matches!(input, Incoming::Response { .. }));
                Vec::new()
            }
            (Incoming::WatchFrame { frame, .. }, State::Watching { .. }) => self.watch_frame(frame, now),
            _ => Vec::new(),
        };
        Some(changes)
    }

    fn list_page(&mut self, status: u16, body: &Value, now: Timestamp) -> Vec<Change<T>> {
        if !is_success(status) {
            self.state = State::NeedList { not_before: Some(self.back_off(now)) };
            return Vec::new();
        }
        for item in body["items"].as_array().into_iter().flatten() {
            match self.decode(item) {
                Some(object) => self.pages.push(Arc::new(object)),
                None => self.undecodable += 1,
            }
        }
        let metadata = &body["metadata"];
        if let Some(token) = metadata["continue"].as_str().filter(|token| !token.is_empty()) {
            self.state = State::NeedPage { continue_token: token.to_string() };
            return Vec::new();
        }
        self.resource_version = metadata["resourceVersion"].as_str().unwrap_or_default().to_string();
        self.synced = true;
        self.failures = 0;
        self.state = State::NeedWatch { not_before: None };
        let listed = std::mem::take(&mut self.pages);
        self.replace(listed)
    }

    /// Replaces the cache by a full list, reporting what changed since the cache was filled.
    fn replace(&mut self, listed: Vec<Arc<T>>) -> Vec<Change<T>> {
        let mut fresh: BTreeMap<String, Arc<T>> = BTreeMap::new();
        for object in listed {
            fresh.insert(key_of(object.object_meta()), object);
        }
        let mut changes = Vec::new();
        for (key, old) in &self.objects {
            if !fresh.contains_key(key) {
                changes.push(Change::Deleted(old.clone()));
            }
        }
        for (key, new) in &fresh {
            let old = self.objects.get(key);
            if old.is_none_or(|old| old.object_meta().resource_version != new.object_meta().resource_version) {
                changes.push(Change::Applied { old: old.cloned(), new: new.clone() });
            }
        }
        self.objects = fresh;
        for index in &mut self.indexes {
            index.entries.clear();
            for (key, object) in &self.objects {
                index.insert(key, object);
            }
        }
        changes
    }

    fn watch_frame(&mut self, frame: &Value, now: Timestamp) -> Vec<Change<T>> {
        let event_type = frame["type"].as_str().unwrap_or_default();
        let object = &frame["object"];
        match event_type {
            "BOOKMARK" => {
                if let Some(revision) = object["metadata"]["resourceVersion"].as_str() {
                    self.resource_version = revision.to_string();
                }
                Vec::new()
            }
            "ERROR" => {
                let gone = object["code"].as_u64() == Some(410);
                self.state = if gone {
                    State::NeedList { not_before: None }
                } else {
                    State::NeedWatch { not_before: Some(self.back_off(now)) }
                };
                Vec::new()
            }
            "ADDED" | "MODIFIED" | "DELETED" => {
                let Some(typed) = self.decode(object) else {
                    self.undecodable += 1;
                    return Vec::new();
                };
                self.failures = 0;
                let typed = Arc::new(typed);
                if let Some(revision) = typed.object_meta().resource_version.as_deref() {
                    self.resource_version = revision.to_string();
                }
                let key = key_of(typed.object_meta());
                if event_type == "DELETED" {
                    self.forget(&key);
                    vec![Change::Deleted(typed)]
                } else {
                    let old = self.store(key, typed.clone());
                    vec![Change::Applied { old, new: typed }]
                }
            }
            _ => Vec::new(),
        }
    }

    /// A watch ended: reopen it from the cached revision, at once after a clean end (server
    /// timeout), after a back-off when the server refused it.
    fn retry_watch(&mut self, now: Timestamp, refused: bool) {
        let not_before = refused.then(|| self.back_off(now));
        self.state = State::NeedWatch { not_before };
    }

    fn back_off(&mut self, now: Timestamp) -> Timestamp {
        let delay = RETRY_INITIAL.saturating_mul(1 << self.failures.min(16)).min(RETRY_MAX);
        self.failures += 1;
        now + SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX)
    }
}

impl<T> Default for Informer<T>
where
    T: Resource + Metadata<Ty = ObjectMeta> + DeserializeOwned,
{
    fn default() -> Informer<T> {
        Informer::new()
    }
}

fn list_request(path: &str, continue_token: Option<&str>, field_selector: Option<&str>) -> ApiRequest {
    let mut request = ApiRequest::new(Method::Get, path);
    request.query.push(("limit".into(), LIST_PAGE_SIZE.to_string()));
    if let Some(selector) = field_selector {
        request.query.push(("fieldSelector".into(), selector.to_string()));
    }
    if let Some(token) = continue_token {
        request.query.push(("continue".into(), token.to_string()));
    }
    request
}

/// The cache key `namespace/name`, or `name` for cluster-scoped objects.
pub fn cache_key(namespace: &str, name: &str) -> String {
    if namespace.is_empty() { name.to_string() } else { format!("{namespace}/{name}") }
}

/// The cache key of an object.
pub fn key_of(metadata: &ObjectMeta) -> String {
    cache_key(metadata.namespace.as_deref().unwrap_or_default(), metadata.name.as_deref().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    use super::*;

    fn node_of(pod: &Pod) -> Vec<String> {
        pod.spec.as_ref().and_then(|spec| spec.node_name.clone()).into_iter().collect()
    }

    fn pod(name: &str, node: &str, revision: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "default", "resourceVersion": revision},
               "spec": {"nodeName": node, "containers": []}})
    }

    fn names<'a>(pods: impl Iterator<Item = &'a Arc<Pod>>) -> Vec<String> {
        pods.filter_map(|pod| pod.metadata.name.clone()).collect()
    }

    /// Lists `items`, then opens the watch; returns the watch's request id.
    fn listed(informer: &mut Informer<Pod>, items: Vec<Value>, now: Timestamp) -> RequestId {
        let mut next_id = 1;
        let list = informer.poll_request(now, &mut next_id).expect("a list is due");
        let body = json!({"metadata": {"resourceVersion": "10"}, "items": items});
        informer.handle(&Incoming::Response { id: list.id, status: 200, body }, now);
        informer.poll_request(now, &mut next_id).expect("a watch is due").id
    }

    fn frame(informer: &mut Informer<Pod>, id: RequestId, event: &str, object: Value, now: Timestamp) {
        let frame = json!({"type": event, "object": object});
        informer.handle(&Incoming::WatchFrame { id, frame: frame.into() }, now);
    }

    #[test]
    fn an_index_follows_every_add_move_delete_and_relist() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a valid time");
        let mut informer = Informer::<Pod>::new().with_index("node", node_of);
        let watch = listed(&mut informer, vec![pod("a", "node-1", "1"), pod("b", "node-2", "2")], now);
        assert_eq!(names(informer.by_index("node", "node-1")), ["a"]);
        frame(&mut informer, watch, "ADDED", pod("c", "node-1", "11"), now);
        assert_eq!(names(informer.by_index("node", "node-1")), ["a", "c"]);
        frame(&mut informer, watch, "MODIFIED", pod("a", "node-2", "12"), now);
        assert_eq!(names(informer.by_index("node", "node-1")), ["c"], "a moved away");
        assert_eq!(names(informer.by_index("node", "node-2")), ["a", "b"]);
        frame(&mut informer, watch, "DELETED", pod("b", "node-2", "13"), now);
        assert_eq!(names(informer.by_index("node", "node-2")), ["a"]);
        assert_eq!(informer.index_count("node", "node-2"), 1);
        assert_eq!(names(informer.by_index("missing-index", "node-2")), Vec::<String>::new());
        // A 410 relists: the index is rebuilt from the new list alone.
        frame(&mut informer, watch, "ERROR", json!({"code": 410}), now);
        listed(&mut informer, vec![pod("d", "node-3", "20")], now);
        assert_eq!(names(informer.by_index("node", "node-3")), ["d"]);
        assert_eq!(informer.index_count("node", "node-1") + informer.index_count("node", "node-2"), 0);
    }

    #[test]
    fn cached_objects_lose_their_managed_fields_as_the_controller_managers_informers_trim_them() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a valid time");
        let with_managers = |name: &str, revision: &str| {
            let mut value = pod(name, "node-1", revision);
            value["metadata"]["managedFields"] = json!([{"manager": "kubectl", "operation": "Update",
                "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:nodeName": {}}}}]);
            value
        };
        let mut informer = Informer::<Pod>::new();
        let watch = listed(&mut informer, vec![with_managers("listed", "1")], now);
        frame(&mut informer, watch, "ADDED", with_managers("watched", "11"), now);
        for name in ["listed", "watched"] {
            let pod = informer.get("default", name).expect("cached");
            assert_eq!(pod.metadata.managed_fields, None, "{name}");
            assert_eq!(pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()), Some("node-1"), "{name}");
        }
    }

    /// client-go's reflector relists when a watch is refused as expired, whether the server says
    /// so with an ERROR event or an HTTP 410; re-watching from the same revision would be refused
    /// forever.
    #[test]
    fn a_watch_refused_as_expired_relists_instead_of_rewatching_the_same_revision() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a valid time");
        let mut informer = Informer::<Pod>::new();
        let watch = listed(&mut informer, vec![pod("a", "node-1", "1")], now);
        let gone = json!({"kind": "Status", "code": 410, "reason": "Expired"});
        informer.handle(&Incoming::Response { id: watch, status: 410, body: gone }, now);
        let mut next_id = 100;
        let next = informer.poll_request(now, &mut next_id).expect("due at once");
        assert!(!next.request.query.iter().any(|(name, _)| name == "watch"), "a list, not a watch: {:?}", next.request);

        let list = json!({"metadata": {"resourceVersion": "30"}, "items": [pod("b", "node-1", "30")]});
        informer.handle(&Incoming::Response { id: next.id, status: 200, body: list }, now);
        assert_eq!(informer.resource_version(), "30");
        let watch = informer.poll_request(now, &mut next_id).expect("a watch is due").id;
        informer.handle(&Incoming::Response { id: watch, status: 500, body: json!({}) }, now);
        assert!(informer.poll_request(now, &mut next_id).is_none(), "another refusal backs off before re-watching");
    }

    #[test]
    fn a_dynamic_object_decodes_without_managed_fields_with_the_resources_type_fields_and_its_field_order() {
        let config_maps = kinds::by_api_version_kind("v1", "ConfigMap").expect("ConfigMap is served");
        let value = json!({"metadata": {"name": "c", "namespace": "default", "managedFields": [{"manager": "m"}]},
                           "immutable": false, "data": {"a": "1"}, "binaryData": {}});
        let object = Object::decode(&value, config_maps).expect("it decodes");
        assert_eq!((object.api_version.as_str(), object.kind.as_str()), ("v1", "ConfigMap"));
        assert_eq!(object.metadata.name.as_deref(), Some("c"));
        assert_eq!(object.metadata.managed_fields, None);
        assert_eq!(object.fields.keys().collect::<Vec<_>>(), ["immutable", "data", "binaryData"]);
        let keeping = Object::decode_keeping(&value, config_maps, &["data"]).expect("it decodes");
        assert_eq!(keeping.metadata, object.metadata);
        assert_eq!(keeping.fields.keys().collect::<Vec<_>>(), ["data"]);
        assert!(Object::decode(&json!({"kind": 7, "metadata": {}}), config_maps).is_none(), "a kind that is no string");
    }

    #[test]
    fn a_metadata_informer_keeps_only_the_metadata_and_the_fields_named() {
        let events = kinds::by_api_version_kind("v1", "Event").expect("Event is served");
        let value = json!({"metadata": {"name": "e", "namespace": "default", "uid": "1"},
                           "reason": "Created", "involvedObject": {"uid": "2"}, "message": "a long text"});
        let object = Object::decode_keeping(&value, events, &["reason", "involvedObject"]).expect("it decodes");
        assert_eq!((object.api_version.as_str(), object.kind.as_str()), ("v1", "Event"));
        assert_eq!(object.metadata.uid.as_deref(), Some("1"));
        assert_eq!(object.field("reason"), Some(&json!("Created")));
        assert!(object.field("message").is_none(), "what no reader needs is not held");
    }
}
