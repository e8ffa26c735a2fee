//! `cox validate` over real public manifests and over broken ones, run in-process with the
//! arguments a user would type.

use std::path::{Path, PathBuf};

fn repository_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn run_validate(arguments: &[&str]) -> (i32, String) {
    let mut output = Vec::new();
    let status = coxswain_real::cli::run_from(["cox", "validate"].iter().chain(arguments), &mut output);
    (i32::from(status), String::from_utf8(output).expect("utf-8 output"))
}

#[test]
fn every_public_example_manifest_is_ok_except_custom_resources() {
    let directory = repository_path("tests/manifests");
    let (status, stdout) = run_validate(&["-R", "-f", directory.to_str().unwrap()]);
    assert_eq!(status, 0, "{stdout}");
    for line in stdout.lines().filter(|line| line.starts_with("UNSUPPORTED")) {
        let api_version = line.split_whitespace().nth(1).unwrap();
        assert!(
            api_version.starts_with("monitoring.coreos.com/") || api_version.starts_with("apiregistration.k8s.io/"),
            "only custom and aggregation kinds may be unsupported: {line}"
        );
    }
    assert!(!stdout.contains("INVALID"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("49 valid, 0 invalid, 5 unsupported"));
}

#[test]
fn a_broken_manifest_is_reported_with_its_position_and_a_non_zero_exit() {
    let directory = tempdir();
    let file = directory.join("broken.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n    imagePullPolice: Always\n---\napiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: old\n",
    )
    .unwrap();
    let (status, stdout) = run_validate(&["-f", file.to_str().unwrap()]);
    assert_eq!(status, 1, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("INVALID v1 Pod p "), "{stdout}");
    assert!(
        lines[0].ends_with(
            "broken.yaml:9:5 (document 0): strict decoding error: unknown field \"spec.containers[0].imagePullPolice\""
        ),
        "{stdout}"
    );
    assert!(lines[1].contains("Deployment is served at apps/v1"), "{stdout}");
    assert_eq!(lines.last(), Some(&"0 valid, 2 invalid, 0 unsupported"));
}

#[test]
fn a_missing_path_is_invalid() {
    let (status, stdout) = run_validate(&["-f", "/nonexistent/coxswain/manifest.yaml"]);
    assert_eq!(status, 1);
    assert!(stdout.starts_with("INVALID /nonexistent/coxswain/manifest.yaml: "), "{stdout}");
}

/// A fresh directory under the target directory, unique per test process and name.
fn tempdir() -> PathBuf {
    let directory = std::env::temp_dir().join(format!("cox-validate-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}
