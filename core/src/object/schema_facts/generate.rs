//! The generator of `kubernetes-1.32.json`: reads Kubernetes' published OpenAPI v2 document and
//! keeps, for every definition, only its structure and extensions (no descriptions).
//!
//! `COX_OPENAPI_DOCUMENT` names the document (default: `../shared/openapi/kubernetes-1.32-swagger.json`
//! beside the workspace); `COX_REGENERATE_SCHEMA_FACTS=1` rewrites the committed file instead of
//! checking it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Schema;

/// The facts of a whole OpenAPI v2 document, as the committed file holds them.
pub(super) fn facts_json(document: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Document {
        definitions: BTreeMap<String, Schema>,
    }
    let document: Document = serde_json::from_str(document).expect("the OpenAPI document is valid JSON");
    let mut json = serde_json::to_string(&document.definitions).expect("definitions serialize");
    json.push('\n');
    json
}

fn document_path() -> PathBuf {
    match std::env::var_os("COX_OPENAPI_DOCUMENT") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/openapi/kubernetes-1.32-swagger.json"),
    }
}

#[test]
fn the_committed_schema_facts_are_generated_from_the_published_document() {
    let path = document_path();
    let Ok(document) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: no OpenAPI document at {}", path.display());
        return;
    };
    let generated = facts_json(&document);
    let committed_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/object/schema_facts/kubernetes-1.32.json");
    if std::env::var_os("COX_REGENERATE_SCHEMA_FACTS").is_some() {
        std::fs::write(&committed_path, &generated).expect("write the schema facts");
        return;
    }
    assert!(
        generated == super::KUBERNETES_FACTS_JSON,
        "kubernetes-1.32.json is stale: rerun with COX_REGENERATE_SCHEMA_FACTS=1"
    );
    // The facts carry no prose: `Schema` has no description field, so what remains is a small
    // part of the document.
    assert!(generated.len() * 10 < document.len(), "{} of {} bytes", generated.len(), document.len());
}
