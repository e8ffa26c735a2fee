//! Group/resource names read back from storage keys. The core's [`GroupResource`] holds
//! `&'static str`s; a name read from disk or etcd is matched to a served kind, or else interned
//! once (a store holds a small, bounded set of collections, so the leak is bounded too).

use std::collections::BTreeSet;
use std::sync::Mutex;

use coxswain_core::object::kinds::{GroupResource, RESOURCES};

/// Names that are not a served kind's, kept for the life of the process.
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// The [`GroupResource`] named by `group` and `resource`.
pub fn group_resource(group: &str, resource: &str) -> GroupResource {
    let served = RESOURCES.iter().map(|served| served.group_resource());
    if let Some(found) = served.into_iter().find(|served| served.group == group && served.resource == resource) {
        return found;
    }
    GroupResource { group: intern(group), resource: intern(resource) }
}

fn intern(name: &str) -> &'static str {
    let mut interned = INTERNED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = interned.get(name) {
        return found;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    interned.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_served_kind_resolves_to_its_own_names_and_others_are_interned_once() {
        assert_eq!(group_resource("apps", "deployments"), GroupResource { group: "apps", resource: "deployments" });
        let first = group_resource("example.com", "widgets");
        let second = group_resource("example.com", "widgets");
        assert_eq!(first, second);
        assert!(std::ptr::eq(first.resource, second.resource), "interned once");
    }
}
