//! Claiming many candidates at once (`ClaimPods`, `ClaimControllerRevisions`): the ones a
//! controller keeps or adopts, with the adoption and release patches batched into the sync.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::action::Reconciled;
use super::owner::{Claim, adopt_action, claim, release_action};
use crate::object::kinds::GroupResource;
use crate::selector::LabelSelector;

/// Claims every candidate in the owner's namespace: owned and adopted ones are returned (an
/// adopted one counts at once, before its patch is answered), adoption and release patches go
/// into `reconciled` as one batch. `selector_for` picks the selector a candidate is matched
/// against, so a controller can refuse candidates by more than labels (a StatefulSet's pods
/// must carry its name).
pub fn claim_all<'a, 's, T>(
    owner: &ObjectMeta,
    reference: &OwnerReference,
    resource: GroupResource,
    candidates: &'a [T],
    metadata: fn(&T) -> &ObjectMeta,
    selector_for: &dyn Fn(&T) -> &'s LabelSelector,
    reconciled: &mut Reconciled,
) -> Vec<&'a T> {
    let mut claimed = Vec::new();
    let mut patches = Vec::new();
    for candidate in candidates.iter().filter(|candidate| metadata(candidate).namespace == owner.namespace) {
        let candidate_metadata = metadata(candidate);
        match claim(owner, selector_for(candidate), candidate_metadata) {
            Claim::Owned => claimed.push(candidate),
            Claim::Adopt => {
                patches.push(adopt_action(resource, reference, candidate_metadata));
                claimed.push(candidate);
            }
            Claim::Release => patches.push(release_action(resource, &reference.uid, candidate_metadata)),
            Claim::Ignore => {}
        }
    }
    reconciled.push_batch(patches);
    claimed
}
