//! Apply conflicts: the fields an applier would change that another manager owns, answered as
//! Kubernetes answers them (409 Conflict, one `FieldManagerConflict` cause per field, and the
//! message `Apply failed with N conflicts: …`).

use super::field_set::{Path, display_path};
use super::managed_fields::Manager;
use crate::api::status::{ApiError, StatusCause};

/// One field an applier would change and the manager that owns it.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The owner.
    pub manager: Manager,
    /// The field.
    pub path: Path,
}

/// The 409 answer to an apply that conflicts, unless `force=true`.
pub fn conflict_error(conflicts: &[Conflict]) -> ApiError {
    let causes = conflicts
        .iter()
        .map(|conflict| StatusCause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {}", conflict.manager.display()),
            field: display_path(&conflict.path),
        })
        .collect();
    ApiError::ApplyConflict { message: conflict_message(conflicts), causes }
}

/// Kubernetes' `getConflictMessage`: one line for one conflict, else the fields grouped under
/// their managers, managers sorted.
fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [conflict] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflict.manager.display(),
            display_path(&conflict.path)
        );
    }
    let mut by_manager: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for conflict in conflicts {
        by_manager.entry(conflict.manager.display()).or_default().push(display_path(&conflict.path));
    }
    let mut lines = Vec::new();
    for (manager, paths) in by_manager {
        lines.push(format!("conflicts with {manager}:"));
        lines.extend(paths.into_iter().map(|path| format!("- {path}")));
    }
    format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
}
