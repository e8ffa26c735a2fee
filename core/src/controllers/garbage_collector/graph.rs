//! The ownerReferences dependency graph (Kubernetes' `GraphBuilder.uidToNode`): one node per uid,
//! observed objects and "virtual" nodes for owners that are referenced but not observed, and an
//! edge from each owner to each dependent carrying the dependent's ownerReference.
//!
//! Owner identity is the uid, as in Kubernetes: a dependent's reference resolves to the live
//! object found by its coordinates (group, kind, the dependent's namespace for namespaced kinds,
//! name), and a live object whose uid differs from the reference's counts as absent.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::api::FOREGROUND_DELETION_FINALIZER;
use crate::object::Object;
use crate::object::kinds::{self, ResourceType};

/// One node of the graph.
#[derive(Clone, Copy, Debug)]
pub enum Node<'a> {
    /// An object the shell listed.
    Observed(&'a Object),
    /// An owner known only from the ownerReferences that name its uid.
    Virtual {
        /// The referenced uid.
        uid: &'a str,
    },
}

/// Where a live owner is found: group, kind, namespace ("" for cluster-scoped kinds) and name.
type Coordinates<'a> = (&'a str, &'a str, &'a str, &'a str);

/// What one ownerReference of a dependent points at (`classifyReferences`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// The owner lives and is not waiting for its dependents' deletion.
    Solid,
    /// No live object with the reference's coordinates and uid: the owner is gone.
    Dangling,
    /// The owner lives, is being deleted and carries the `foregroundDeletion` finalizer.
    WaitingForDependentsDeletion,
    /// The reference names a kind that is not served, or a namespaced owner of a cluster-scoped
    /// object: it can never be resolved, so the dependent is left alone.
    Unresolvable,
}

/// The dependency graph of a set of observed objects.
pub struct DependencyGraph<'a> {
    graph: DiGraph<Node<'a>, &'a OwnerReference>,
    by_uid: BTreeMap<&'a str, NodeIndex>,
    by_coordinates: BTreeMap<Coordinates<'a>, &'a Object>,
}

impl<'a> DependencyGraph<'a> {
    /// Builds the graph from every observed object of every kind. Objects without a uid cannot
    /// be owners or be deleted with a uid precondition and are left out.
    pub fn build(objects: &'a [Object]) -> DependencyGraph<'a> {
        let mut built =
            DependencyGraph { graph: DiGraph::new(), by_uid: BTreeMap::new(), by_coordinates: BTreeMap::new() };
        let observed = || objects.iter().filter(|object| uid_of(object).is_some());
        for object in observed() {
            let uid = uid_of(object).unwrap_or_default();
            let index = built.graph.add_node(Node::Observed(object));
            built.by_uid.insert(uid, index);
            let (group, _) = kinds::split_api_version(&object.api_version);
            built.by_coordinates.insert((group, &object.kind, object.namespace(), object.name()), object);
        }
        for object in observed() {
            let dependent = built.by_uid[uid_of(object).unwrap_or_default()];
            for reference in object.metadata.owner_references.iter().flatten() {
                let owner = match built.by_uid.get(reference.uid.as_str()) {
                    Some(owner) => *owner,
                    None => {
                        let index = built.graph.add_node(Node::Virtual { uid: &reference.uid });
                        built.by_uid.insert(&reference.uid, index);
                        index
                    }
                };
                built.graph.add_edge(owner, dependent, reference);
            }
        }
        built
    }

    /// The node with `uid`, if any object is or references it.
    pub fn node(&self, uid: &str) -> Option<Node<'a>> {
        self.by_uid.get(uid).map(|index| self.graph[*index])
    }

    /// The dependents of the object with `uid`, each with its reference to that owner, ordered
    /// by kind, namespace and name so that the output does not depend on observation order.
    pub fn dependents(&self, uid: &str) -> Vec<(&'a Object, &'a OwnerReference)> {
        let Some(index) = self.by_uid.get(uid) else { return Vec::new() };
        let mut dependents: Vec<_> = self
            .graph
            .edges_directed(*index, Direction::Outgoing)
            .filter_map(|edge| match self.graph[edge.target()] {
                Node::Observed(dependent) => Some((dependent, *edge.weight())),
                Node::Virtual { .. } => None,
            })
            .collect();
        dependents.sort_by_key(|(dependent, reference)| {
            (&dependent.api_version, &dependent.kind, dependent.namespace(), dependent.name(), &reference.uid)
        });
        dependents
    }

    /// The dependents whose reference to the owner `uid` blocks the owner's foreground deletion
    /// (`blockingDependents`).
    pub fn blocking_dependents(&self, uid: &str) -> Vec<&'a Object> {
        self.dependents(uid)
            .into_iter()
            .filter(|(_, reference)| reference.block_owner_deletion == Some(true))
            .map(|(dependent, _)| dependent)
            .collect()
    }

    /// The live object a dependent's reference resolves to, found by coordinates: the
    /// dependent's namespace for a namespaced owner kind, none for a cluster-scoped one.
    pub fn resolve(&self, dependent: &Object, reference: &OwnerReference) -> Result<Option<&'a Object>, Unresolvable> {
        let resource = owner_kind(reference).ok_or(Unresolvable::KindNotServed)?;
        let namespace = if resource.is_namespaced() {
            if dependent.namespace().is_empty() {
                return Err(Unresolvable::NamespacedOwnerOfClusterScopedObject);
            }
            dependent.namespace()
        } else {
            ""
        };
        Ok(self.by_coordinates.get(&(resource.group, resource.kind, namespace, reference.name.as_str())).copied())
    }

    /// Classifies one reference of `dependent` (`isDangling` and `classifyReferences`).
    pub fn classify(&self, dependent: &Object, reference: &OwnerReference) -> OwnerState {
        match self.resolve(dependent, reference) {
            Err(_) => OwnerState::Unresolvable,
            Ok(None) => OwnerState::Dangling,
            Ok(Some(owner)) if uid_of(owner) != Some(reference.uid.as_str()) => OwnerState::Dangling,
            Ok(Some(owner)) if is_deleting_dependents(owner) => OwnerState::WaitingForDependentsDeletion,
            Ok(Some(_)) => OwnerState::Solid,
        }
    }

    /// The observed object that carries a reference's uid but lives in another namespace than
    /// the dependent, which makes the reference invalid (the graph builder's
    /// `reportInvalidNamespaceOwnerRef` check); cluster-scoped owners are valid from anywhere.
    pub fn owner_in_other_namespace(&self, dependent: &Object, reference: &OwnerReference) -> Option<&'a Object> {
        match self.node(&reference.uid)? {
            Node::Observed(owner) if !owner.namespace().is_empty() && owner.namespace() != dependent.namespace() => {
                Some(owner)
            }
            _ => None,
        }
    }
}

/// Why a reference can never be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unresolvable {
    /// The reference's group and kind are not served.
    KindNotServed,
    /// A cluster-scoped object names a namespaced kind as its owner.
    NamespacedOwnerOfClusterScopedObject,
}

/// The served kind a reference names, by group and kind (any served version will do, as the
/// REST mapper's lookup by group/kind does).
pub fn owner_kind(reference: &OwnerReference) -> Option<&'static ResourceType> {
    let (group, _) = kinds::split_api_version(&reference.api_version);
    kinds::RESOURCES.iter().find(|resource| resource.group == group && resource.kind == reference.kind)
}

/// The object's uid, if it has a non-empty one.
pub fn uid_of(object: &Object) -> Option<&str> {
    object.metadata.uid.as_deref().filter(|uid| !uid.is_empty())
}

/// Whether the object carries `finalizer`.
pub fn has_finalizer(object: &Object, finalizer: &str) -> bool {
    object.metadata.finalizers.iter().flatten().any(|existing| existing == finalizer)
}

/// Being deleted (`deletionTimestamp` set).
pub fn is_being_deleted(object: &Object) -> bool {
    object.metadata.deletion_timestamp.is_some()
}

/// Being deleted in the foreground: waiting for its blocking dependents to go first.
pub fn is_deleting_dependents(object: &Object) -> bool {
    is_being_deleted(object) && has_finalizer(object, FOREGROUND_DELETION_FINALIZER)
}
