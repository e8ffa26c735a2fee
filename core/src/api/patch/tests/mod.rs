//! Tests of the patch module: Kubernetes' strategic merge patch tables, the kubectl requests of
//! kubectl-compat.md, JSON and merge patch, Content-Type dispatch, and properties.

mod dispatch;
mod json_patch_cases;
mod kubectl_requests;
mod merge_patch_cases;
mod properties;
mod strategic_directives;
mod strategic_kubernetes_cases;
