//! [`StoreError`]: every way a store operation can fail, carrying what the API layer needs to
//! build the Kubernetes `Status` (group/resource, namespace, name, revisions).
//!
//! Messages follow Kubernetes' wording so that the API layer can pass them through: `pods "a" not
//! found`, `Operation cannot be fulfilled on …`, `too old resource version: 5 (9)`.

use std::fmt;

use crate::object::kinds::GroupResource;

use super::types::Revision;

/// Kubernetes' text for an update whose resourceVersion is not the stored one
/// (`OptimisticLockErrorMsg` in the API server's generic registry).
pub const OPTIMISTIC_LOCK_MESSAGE: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// Kubernetes' text for a continue token whose revision has been compacted away.
/// It offers the `rv=-1` continue token the 410 carries, as Kubernetes' `inconsistentContinue`.
pub const CONTINUE_EXPIRED_MESSAGE: &str = "The provided continue parameter is too old to display a consistent list \
     result. You can start a new list without the continue parameter, or use the continue token in this response to \
     retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - \
     objects that were created, modified, or deleted between the time the first chunk was returned and now may show \
     up in the list.";

/// Kubernetes' text for a list at a resourceVersion that has been compacted away.
pub const LIST_EXPIRED_MESSAGE: &str = "The resourceVersion for the provided list is too old.";

/// The group/resource as Kubernetes names it in messages: `pods`, `deployments.apps`.
pub struct Qualified(pub GroupResource);

impl fmt::Display for Qualified {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.group.is_empty() {
            formatter.write_str(self.0.resource)
        } else {
            write!(formatter, "{}.{}", self.0.resource, self.0.group)
        }
    }
}

/// Which metadata field a delete precondition compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreconditionField {
    /// `metadata.uid`.
    Uid,
    /// `metadata.resourceVersion`.
    ResourceVersion,
}

impl PreconditionField {
    /// The name Kubernetes prints in the precondition message.
    pub fn as_str(self) -> &'static str {
        match self {
            PreconditionField::Uid => "UID",
            PreconditionField::ResourceVersion => "ResourceVersion",
        }
    }
}

/// A precondition that did not hold: the field, the value asked for and the value stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreconditionMismatch {
    /// The field compared.
    pub field: PreconditionField,
    /// The value the precondition asked for.
    pub expected: String,
    /// The value in the store.
    pub actual: String,
}

/// Why a store operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No object has this key (404 NotFound).
    #[error("{} \"{name}\" not found", Qualified(*resource))]
    NotFound {
        /// The collection searched.
        resource: GroupResource,
        /// The namespace, empty for cluster-scoped objects.
        namespace: String,
        /// The name looked for.
        name: String,
    },
    /// An object with this key exists already (409 AlreadyExists).
    #[error("{} \"{name}\" already exists", Qualified(*resource))]
    AlreadyExists {
        /// The collection written to.
        resource: GroupResource,
        /// The namespace, empty for cluster-scoped objects.
        namespace: String,
        /// The name that is taken.
        name: String,
    },
    /// The update carried a resourceVersion that is not the stored one (409 Conflict).
    #[error("Operation cannot be fulfilled on {} \"{name}\": {OPTIMISTIC_LOCK_MESSAGE}", Qualified(*resource))]
    Conflict {
        /// The collection written to.
        resource: GroupResource,
        /// The namespace, empty for cluster-scoped objects.
        namespace: String,
        /// The object's name.
        name: String,
        /// The resourceVersion in the store, which the caller should read again.
        actual: String,
    },
    /// A delete (or update) precondition did not hold (409 Conflict in Kubernetes).
    #[error(
        "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {} in precondition: {}, {} in object meta: {}",
        Qualified(*resource), mismatch.field.as_str(), mismatch.expected, mismatch.field.as_str(), mismatch.actual
    )]
    PreconditionFailed {
        /// The collection written to.
        resource: GroupResource,
        /// The namespace, empty for cluster-scoped objects.
        namespace: String,
        /// The object's name.
        name: String,
        /// What differed (boxed to keep the error small).
        mismatch: Box<PreconditionMismatch>,
    },
    /// An update tried to change `metadata.uid` (422 Invalid: the field is immutable).
    #[error("{} \"{name}\" is invalid: metadata.uid: Invalid value: \"{actual}\": field is immutable", Qualified(*resource))]
    UidChanged {
        /// The collection written to.
        resource: GroupResource,
        /// The namespace, empty for cluster-scoped objects.
        namespace: String,
        /// The object's name.
        name: String,
        /// The uid the update carried.
        actual: String,
    },
    /// A watch asked for history that has been compacted away (410 Gone, reason Expired).
    #[error("too old resource version: {requested} ({compacted})")]
    Expired {
        /// The revision the watch started from or had reached.
        requested: Revision,
        /// The newest compacted revision; the oldest watchable start.
        compacted: Revision,
    },
    /// A list asked for an exact revision that has been compacted away (410 Gone, Expired).
    #[error("{LIST_EXPIRED_MESSAGE}")]
    ListExpired {
        /// The revision asked for.
        requested: Revision,
        /// The newest compacted revision.
        compacted: Revision,
    },
    /// A continue token's revision has been compacted away (410 Gone, Expired).
    #[error("{CONTINUE_EXPIRED_MESSAGE}")]
    ContinueExpired {
        /// The revision the token was issued at.
        requested: Revision,
        /// The newest compacted revision.
        compacted: Revision,
        /// A token that continues the same list from the same key at the newest state
        /// (revision -1 inside): the 410 Status carries it as `metadata.continue`.
        continue_token: String,
    },
    /// A continue token that this store did not issue or that does not fit the list (400).
    #[error("invalid continue token: {reason}")]
    InvalidContinue {
        /// What is wrong with it.
        reason: String,
    },
    /// A resourceVersion that is not a decimal revision (400 BadRequest).
    #[error("invalid resource version: {value:?}")]
    InvalidResourceVersion {
        /// The text received.
        value: String,
    },
    /// A read or watch asked for a revision the store has not reached (504 Timeout in
    /// Kubernetes, with cause ResourceVersionTooLarge; a client retries).
    #[error("Too large resource version: {requested}, current: {current}")]
    TooLargeResourceVersion {
        /// The revision asked for.
        requested: Revision,
        /// The store's current revision.
        current: Revision,
    },
    /// A create carried a resourceVersion; the store assigns it.
    #[error("resourceVersion should not be set on objects to be created")]
    ResourceVersionSetOnCreate,
    /// The backend cannot be reached or did not answer in time (a durable store's disk or an
    /// etcd quorum); nothing was written. The API layer answers as kube-apiserver does when etcd
    /// does not answer before the request's deadline: 504 Timeout, and the client tries again.
    #[error("storage is unavailable: {message}")]
    Unavailable {
        /// What the backend reported.
        message: String,
    },
    /// The backend failed in a way that is not the caller's fault (corrupt data, say); the API
    /// layer answers 500.
    #[error("storage error: {message}")]
    Internal {
        /// What the backend reported.
        message: String,
    },
    /// The object has no `metadata.name` (and no `generateName` to make one from).
    #[error("{}: name or generateName is required", Qualified(*resource))]
    NameRequired {
        /// The collection written to.
        resource: GroupResource,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
    const DEPLOYMENTS: GroupResource = GroupResource { group: "apps", resource: "deployments" };

    #[test]
    fn messages_read_as_kubernetes_writes_them() {
        let key = |name: &str| (String::from("default"), name.to_string());
        let (namespace, name) = key("web");
        let errors = [
            StoreError::NotFound { resource: DEPLOYMENTS, namespace: namespace.clone(), name: name.clone() },
            StoreError::AlreadyExists { resource: PODS, namespace: namespace.clone(), name: name.clone() },
            StoreError::Conflict {
                resource: PODS,
                namespace: namespace.clone(),
                name: name.clone(),
                actual: "7".into(),
            },
            StoreError::PreconditionFailed {
                resource: PODS,
                namespace,
                name,
                mismatch: Box::new(PreconditionMismatch {
                    field: PreconditionField::ResourceVersion,
                    expected: "3".into(),
                    actual: "7".into(),
                }),
            },
            StoreError::Expired { requested: 3, compacted: 9 },
            StoreError::ListExpired { requested: 3, compacted: 9 },
            StoreError::ContinueExpired { requested: 3, compacted: 9, continue_token: String::new() },
            StoreError::TooLargeResourceVersion { requested: 12, current: 10 },
            StoreError::InvalidResourceVersion { value: "abc".into() },
            StoreError::ResourceVersionSetOnCreate,
        ];
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(text.join("\n"), @r#"
        deployments.apps "web" not found
        pods "web" already exists
        Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again
        Operation cannot be fulfilled on pods "web": Precondition failed: ResourceVersion in precondition: 3, ResourceVersion in object meta: 7
        too old resource version: 3 (9)
        The resourceVersion for the provided list is too old.
        The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.
        Too large resource version: 12, current: 10
        invalid resource version: "abc"
        resourceVersion should not be set on objects to be created
        "#);
    }
}
