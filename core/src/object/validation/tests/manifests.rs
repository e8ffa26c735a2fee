//! Every object of a validated kind in the shared real-world manifests defaults and validates
//! with no errors, as it does in Kubernetes.

use std::path::{Path, PathBuf};

use super::*;
use crate::object::kinds;

const MANIFESTS: &str = "/work/shared/manifests";

fn yaml_files(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            yaml_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml") {
            files.push(path);
        }
    }
}

#[test]
fn every_served_object_in_the_shared_manifests_defaults_and_validates_cleanly() {
    let mut files = Vec::new();
    yaml_files(Path::new(MANIFESTS), &mut files);
    if files.is_empty() {
        eprintln!("no manifests under {MANIFESTS}; skipping");
        return;
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let documents: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        for document in documents.into_iter().filter(|document| !document.is_null()) {
            let api_version = document["apiVersion"].as_str().unwrap_or_default();
            let kind = document["kind"].as_str().unwrap_or_default();
            let Some(resource) = kinds::by_api_version_kind(api_version, kind) else { continue };
            let mut object = Object::from_value(document.clone()).unwrap();
            // The API server takes the namespace from the request when the manifest has none.
            if resource.is_namespaced() && object.metadata.namespace.is_none() {
                object.metadata.namespace = Some("default".to_string());
            }
            apply_defaults(&mut object).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            let errors = validate_create(&object);
            if !errors.is_empty() {
                failures.push(format!("{} {kind}/{}: {}", file.display(), object.name(), join_field_errors(&errors)));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 10, "only {checked} objects checked");
}
