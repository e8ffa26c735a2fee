//! The dynamic caches: one informer over [`Object`] per served, stored resource (client-go's
//! metadata informers that the garbage collector, namespace and quota controllers start for
//! every discovered resource), and the ownerReferences graph kept from their changes
//! (Kubernetes' `GraphBuilder`): which uid is which cached object, which objects depend on
//! which owner uid, and which referenced owners are known to be gone.
//!
//! An owner is known gone when its deletion was observed, or when a live GET of it answered 404
//! or an object with another uid (the builder's `absentOwnerCache` and the collector's
//! `isDangling` lookup). A dependent whose owner is neither cached nor known gone is not
//! collected: the owner's informer may simply lag behind the dependent's, so its owner is
//! looked up first. Absent owners are forgotten once nothing references them, so the set is
//! bounded by the dangling references in the cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::api::{ApiRequest, Method};
use crate::client::informer::{Change, Informer};
use crate::client::paths::object_path;
use crate::client::{Incoming, Outgoing, RequestId};
use crate::controllers::garbage_collector::OWNER_REF_INVALID_NAMESPACE;
use crate::controllers::garbage_collector::graph::owner_kind;
use crate::object::Object;
use crate::object::kinds::{self, GroupResource, ResourceType};

/// The Pod collection.
pub const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
/// The ResourceQuota collection.
pub const RESOURCE_QUOTAS: GroupResource = GroupResource { group: "", resource: "resourcequotas" };
/// The PodDisruptionBudget collection.
pub const POD_DISRUPTION_BUDGETS: GroupResource = GroupResource { group: "policy", resource: "poddisruptionbudgets" };
/// The Namespace collection.
pub const NAMESPACES: GroupResource = GroupResource { group: "", resource: "namespaces" };
/// The ServiceAccount collection.
pub const SERVICE_ACCOUNTS: GroupResource = GroupResource { group: "", resource: "serviceaccounts" };

/// The workload kinds whose scale a PodDisruptionBudget's expected pods come from.
pub const SCALED_WORKLOADS: [GroupResource; 4] = [
    GroupResource { group: "apps", resource: "deployments" },
    GroupResource { group: "apps", resource: "replicasets" },
    GroupResource { group: "apps", resource: "statefulsets" },
    GroupResource { group: "", resource: "replicationcontrollers" },
];

/// How long after a failed owner lookup it is tried again.
pub const OWNER_LOOKUP_RETRY: Duration = Duration::from_secs(1);

/// One change seen by the dynamic caches.
#[derive(Clone, Debug)]
pub enum DynamicObserved {
    /// An object of `resource` changed.
    Changed {
        /// The object's resource.
        resource: &'static ResourceType,
        /// The change.
        change: Change<Object>,
    },
    /// A live lookup found that the owner with this uid is gone: its dependents are dangling.
    OwnerAbsent {
        /// The owner's uid.
        uid: String,
    },
}

/// Where a cached object lives: its informer and its namespace and name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Location {
    informer: usize,
    namespace: String,
    name: String,
}

/// A live GET of a referenced owner that is neither cached nor known gone.
#[derive(Clone, Debug)]
struct Lookup {
    resource: &'static ResourceType,
    namespace: String,
    name: String,
    not_before: Option<Timestamp>,
}

/// Informers over every served kind and the ownerReferences graph of what they hold. Empty
/// (no informer, nothing listed) unless a controller that needs it runs.
#[derive(Debug, Default)]
pub struct DynamicCaches {
    informers: Vec<Informer<Object>>,
    by_resource: BTreeMap<GroupResource, usize>,
    uids: BTreeMap<String, Location>,
    /// Owner uid → the uids of the cached objects that reference it.
    dependents: BTreeMap<String, BTreeSet<String>>,
    /// Referenced owner uids known to be gone.
    absent: BTreeSet<String>,
    /// Owner uids to look up, and the lookups in flight.
    lookups: BTreeMap<String, Lookup>,
    in_flight: BTreeMap<RequestId, String>,
    /// Dependent uid → its `OwnerRefInvalidNamespace` event.
    invalid_namespace_events: BTreeMap<String, Location>,
}

impl DynamicCaches {
    /// One informer per stored resource of the kinds table (the first, preferred version of
    /// each group/resource).
    pub fn for_every_served_kind() -> DynamicCaches {
        let mut caches = DynamicCaches::default();
        for resource in kinds::RESOURCES.iter().filter(|resource| resource.stored) {
            let group_resource = resource.group_resource();
            if caches.by_resource.contains_key(&group_resource) {
                continue;
            }
            caches.by_resource.insert(group_resource, caches.informers.len());
            let informer = Informer::for_resource(resource);
            let informer = match metadata_only_fields(resource) {
                Some(fields) => informer.keeping_only(fields),
                None => informer,
            };
            caches.informers.push(informer);
        }
        caches
    }

    /// The resource of each informer, in the kinds table's order.
    pub fn resources(&self) -> impl Iterator<Item = &'static ResourceType> + '_ {
        self.informers.iter().map(Informer::resource)
    }

    /// Whether any informer runs.
    pub fn is_enabled(&self) -> bool {
        !self.informers.is_empty()
    }

    /// Adds the informers' and the owner lookups' due requests to `outgoing`.
    pub fn poll_requests(&mut self, now: Timestamp, next_id: &mut RequestId, outgoing: &mut Vec<Outgoing>) {
        for informer in &mut self.informers {
            outgoing.extend(informer.poll_request(now, next_id));
        }
        let sent: BTreeSet<&String> = self.in_flight.values().collect();
        let mut due = Vec::new();
        for (uid, lookup) in &self.lookups {
            if !sent.contains(uid) && lookup.not_before.is_none_or(|at| at <= now) {
                due.push(uid.clone());
            }
        }
        for uid in due {
            let lookup = &self.lookups[&uid];
            let path = object_path(lookup.resource, &lookup.namespace, &lookup.name);
            outgoing.push(Outgoing { id: *next_id, request: ApiRequest::new(Method::Get, &path) });
            self.in_flight.insert(*next_id, uid);
            *next_id += 1;
        }
    }

    /// Offers an input to each informer and to the owner lookups; `None` when it is none of
    /// theirs. The graph already reflects the changes returned.
    pub fn handle(&mut self, input: &Incoming, now: Timestamp) -> Option<Vec<DynamicObserved>> {
        if let Some(uid) = self.in_flight.remove(&input.id()) {
            return Some(self.looked_up(uid, input, now));
        }
        let index = self.informers.iter().position(|informer| informer.owns(input.id()))?;
        let changes = self.informers[index].handle(input, now).unwrap_or_default();
        let resource = self.informers[index].resource();
        let mut observed = Vec::with_capacity(changes.len());
        for change in changes {
            self.index(index, &change);
            observed.push(DynamicObserved::Changed { resource, change });
        }
        Some(observed)
    }

    /// Whether every informer has finished its first list.
    pub fn has_synced(&self) -> bool {
        self.informers.iter().all(Informer::has_synced)
    }

    /// The earliest retry an informer or a lookup is waiting for.
    pub fn next_wake(&self) -> Option<Timestamp> {
        let informers = self.informers.iter().filter_map(Informer::next_wake);
        let lookups = self.lookups.values().filter_map(|lookup| lookup.not_before);
        informers.chain(lookups).min()
    }

    /// The cached object `namespace/name` of a resource.
    pub fn get(&self, resource: GroupResource, namespace: &str, name: &str) -> Option<&Arc<Object>> {
        self.informers.get(*self.by_resource.get(&resource)?)?.get(namespace, name)
    }

    /// The cached object with `uid`.
    pub fn by_uid(&self, uid: &str) -> Option<&Arc<Object>> {
        self.at(self.uids.get(uid)?)
    }

    /// The cached objects that reference the owner `uid`, in uid order.
    pub fn dependents<'a>(&'a self, uid: &str) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.dependents.get(uid).into_iter().flatten().filter_map(|dependent| self.by_uid(dependent))
    }

    /// Whether the owner `uid` is known to be gone.
    pub fn known_absent(&self, uid: &str) -> bool {
        self.absent.contains(uid)
    }

    /// Whether the informer of `resource` has seen every change up to `revision`, so that what
    /// it does not hold did not exist at that revision.
    pub fn has_seen(&self, resource: GroupResource, revision: &str) -> bool {
        let Some(informer) = self.by_resource.get(&resource).and_then(|index| self.informers.get(*index)) else {
            return false;
        };
        match (informer.resource_version().parse::<u64>(), revision.parse::<u64>()) {
            (Ok(seen), Ok(revision)) => informer.has_synced() && seen >= revision,
            _ => false,
        }
    }

    /// The `OwnerRefInvalidNamespace` event recorded on the dependent `uid`, if cached.
    pub fn invalid_namespace_event(&self, uid: &str) -> Option<&Arc<Object>> {
        self.at(self.invalid_namespace_events.get(uid)?)
    }

    /// Every cached object of `resource` in `namespace`.
    pub fn of_resource_in<'a>(
        &'a self,
        resource: GroupResource,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        let informer = self.by_resource.get(&resource).and_then(|index| self.informers.get(*index));
        informer.into_iter().flat_map(move |informer| informer.in_namespace(namespace))
    }

    /// Every cached object of `resource`.
    pub fn of_resource(&self, resource: GroupResource) -> impl Iterator<Item = &Arc<Object>> {
        let informer = self.by_resource.get(&resource).and_then(|index| self.informers.get(*index));
        informer.into_iter().flat_map(Informer::iter)
    }

    /// Every cached namespaced object in `namespace`, resource by resource.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.informers
            .iter()
            .filter(|informer| informer.resource().is_namespaced())
            .flat_map(move |informer| informer.in_namespace(namespace))
    }

    /// Every cached object with a uid, for a new leader's first pass.
    pub fn uids(&self) -> impl Iterator<Item = &String> {
        self.uids.keys()
    }

    fn at(&self, location: &Location) -> Option<&Arc<Object>> {
        self.informers.get(location.informer)?.get(&location.namespace, &location.name)
    }

    /// Keeps the graph true to one change of informer `index`.
    fn index(&mut self, index: usize, change: &Change<Object>) {
        match change {
            Change::Applied { old, new } => {
                self.link(index, new);
                if let Some(old) = old {
                    if uid(old) == uid(new) {
                        self.unlink(old, Some(new));
                    } else {
                        self.unlink(old, None);
                        self.forget_owner(old);
                    }
                }
            }
            Change::Deleted(object) => {
                self.unlink(object, None);
                self.forget_owner(object);
            }
        }
    }

    /// Records a cached object: its uid, its references, and the lookups of owners not seen.
    fn link(&mut self, index: usize, object: &Object) {
        let Some(object_uid) = uid(object) else { return };
        let location =
            Location { informer: index, namespace: object.namespace().to_string(), name: object.name().to_string() };
        self.uids.insert(object_uid.to_string(), location.clone());
        self.absent.remove(object_uid);
        self.lookups.remove(object_uid);
        if object.kind == "Event"
            && object.field("reason").and_then(Value::as_str) == Some(OWNER_REF_INVALID_NAMESPACE)
            && let Some(involved) = object.field("involvedObject").and_then(|o| o.get("uid")).and_then(Value::as_str)
        {
            self.invalid_namespace_events.insert(involved.to_string(), location);
        }
        for reference in references(&object.metadata) {
            self.dependents.entry(reference.uid.clone()).or_default().insert(object_uid.to_string());
            if !self.uids.contains_key(&reference.uid) && !self.absent.contains(&reference.uid) {
                self.want_lookup(object, reference);
            }
        }
    }

    /// Forgets an object's references (and its event) once it is gone, or the references its
    /// new version `kept` no longer holds.
    fn unlink(&mut self, object: &Object, kept: Option<&Object>) {
        let Some(object_uid) = uid(object) else { return };
        let still = |owner: &str| kept.is_some_and(|kept| references(&kept.metadata).any(|r| r.uid == owner));
        for reference in references(&object.metadata).filter(|reference| !still(&reference.uid)) {
            if let Some(dependents) = self.dependents.get_mut(&reference.uid) {
                dependents.remove(object_uid);
                if dependents.is_empty() {
                    self.dependents.remove(&reference.uid);
                    self.absent.remove(&reference.uid);
                    self.lookups.remove(&reference.uid);
                }
            }
        }
        if object.kind == "Event"
            && kept.is_none()
            && let Some(involved) = object.field("involvedObject").and_then(|o| o.get("uid")).and_then(Value::as_str)
        {
            let here = |location: &Location| location.namespace == object.namespace() && location.name == object.name();
            if self.invalid_namespace_events.get(involved).is_some_and(here) {
                self.invalid_namespace_events.remove(involved);
            }
        }
    }

    /// An object is gone: its uid is no longer cached, and if anything references it, it is
    /// a known absent owner.
    fn forget_owner(&mut self, object: &Object) {
        let Some(object_uid) = uid(object) else { return };
        self.uids.remove(object_uid);
        if self.dependents.contains_key(object_uid) {
            self.absent.insert(object_uid.to_string());
        }
    }

    fn want_lookup(&mut self, dependent: &Object, reference: &OwnerReference) {
        let Some(resource) = owner_kind(reference) else { return };
        let namespace = if resource.is_namespaced() { dependent.namespace() } else { "" };
        if resource.is_namespaced() && namespace.is_empty() {
            return;
        }
        self.lookups.entry(reference.uid.clone()).or_insert_with(|| Lookup {
            resource,
            namespace: namespace.to_string(),
            name: reference.name.clone(),
            not_before: None,
        });
    }

    /// A lookup's answer: 404 or another uid means the owner is gone; the owner found means
    /// its informer lags and will deliver it; anything else is retried.
    fn looked_up(&mut self, owner_uid: String, input: &Incoming, now: Timestamp) -> Vec<DynamicObserved> {
        let Incoming::Response { status, body, .. } = input else { return Vec::new() };
        let Some(lookup) = self.lookups.get_mut(&owner_uid) else { return Vec::new() };
        let found_uid = body["metadata"]["uid"].as_str();
        if *status == 404 || (*status == 200 && found_uid != Some(owner_uid.as_str())) {
            self.lookups.remove(&owner_uid);
            if self.dependents.contains_key(&owner_uid) && !self.uids.contains_key(&owner_uid) {
                self.absent.insert(owner_uid.clone());
                return vec![DynamicObserved::OwnerAbsent { uid: owner_uid }];
            }
            return Vec::new();
        }
        if *status == 200 {
            self.lookups.remove(&owner_uid);
        } else {
            let retry = SignedDuration::try_from(OWNER_LOOKUP_RETRY).unwrap_or(SignedDuration::ZERO);
            lookup.not_before = Some(now + retry);
        }
        Vec::new()
    }
}

/// The kinds the typed caches already hold in full, or whose bodies no dynamic controller reads,
/// are held as metadata (and the fields named) only: Pods (the quota and namespace controllers
/// read the typed pods), Nodes and Leases (only their ownerReferences matter here), and Events
/// (the garbage collector reads an Event's reason and involved object).
fn metadata_only_fields(resource: &ResourceType) -> Option<&'static [&'static str]> {
    match (resource.group, resource.kind) {
        ("", "Pod" | "Node") | ("coordination.k8s.io", "Lease") => Some(&[]),
        (_, "Event") => Some(&["reason", "involvedObject"]),
        _ => None,
    }
}

/// The object's uid, if it has a non-empty one.
fn uid(object: &Object) -> Option<&str> {
    object.metadata.uid.as_deref().filter(|uid| !uid.is_empty())
}

fn references(metadata: &ObjectMeta) -> impl Iterator<Item = &OwnerReference> {
    metadata.owner_references.iter().flatten()
}
