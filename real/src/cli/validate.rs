//! `cox validate -f PATH [-R]`: reads manifest files and directories and reports every object as
//! OK, INVALID or UNSUPPORTED, so a user knows before applying anything what coxswain will accept.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use coxswain_core::manifest::{ManifestEntry, ObjectIdentity, read_manifest};
use coxswain_core::object::Object;
use coxswain_core::object::defaults::apply_defaults;
use coxswain_core::object::field_error::join_field_errors;
use coxswain_core::object::kinds::ResourceType;
use coxswain_core::object::validation::validate_create;

/// Arguments of `cox validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (`.yaml`, `.yml`, `.json`) to check.
    #[arg(short = 'f', long = "filename", required = true)]
    paths: Vec<PathBuf>,
    /// Descend into subdirectories of the directories given.
    #[arg(short = 'R', long)]
    recursive: bool,
}

/// Tallies of what was found, for the last line.
#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    unsupported: usize,
}

/// Runs `cox validate`, writing the report to `output`; exit status 0 only if nothing is invalid.
pub fn run(arguments: &ValidateArgs, output: &mut dyn Write) -> u8 {
    let mut files = Vec::new();
    let mut tally = Tally::default();
    let mut report = String::new();
    for path in &arguments.paths {
        if let Err(error) = collect_files(path, arguments.recursive, true, &mut files) {
            let _ = writeln!(report, "INVALID {}: {error}", path.display());
            tally.invalid += 1;
        }
    }
    for file in &files {
        check_file(file, &mut tally, &mut report);
    }
    let _ = writeln!(report, "{} valid, {} invalid, {} unsupported", tally.valid, tally.invalid, tally.unsupported);
    let _ = output.write_all(report.as_bytes());
    if tally.invalid == 0 { 0 } else { 1 }
}

/// Lists manifest files under `path` in a stable (sorted) order. A file named explicitly is read
/// whatever its extension; files found in directories are read only if they look like manifests.
fn collect_files(path: &Path, recursive: bool, named: bool, files: &mut Vec<PathBuf>) -> io::Result<()> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_file() {
        if named || is_manifest_file(path) {
            files.push(path.to_path_buf());
        }
        return Ok(());
    }
    if !named && !recursive {
        return Ok(());
    }
    let mut children: Vec<PathBuf> =
        std::fs::read_dir(path)?.map(|entry| entry.map(|entry| entry.path())).collect::<io::Result<_>>()?;
    children.sort();
    for child in children {
        collect_files(&child, recursive, false, files)?;
    }
    Ok(())
}

fn is_manifest_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|extension| extension.to_str()), Some("yaml" | "yml" | "json"))
}

fn check_file(file: &Path, tally: &mut Tally, report: &mut String) {
    let name = file.display().to_string();
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) => {
            let _ = writeln!(report, "INVALID {name}: {error}");
            tally.invalid += 1;
            return;
        }
    };
    let entries = match read_manifest(&name, &bytes) {
        Ok(entries) => entries,
        Err(error) => {
            let _ = writeln!(report, "INVALID {error}");
            tally.invalid += 1;
            return;
        }
    };
    for entry in entries {
        report_entry(entry, tally, report);
    }
}

fn report_entry(entry: ManifestEntry, tally: &mut Tally, report: &mut String) {
    match entry {
        ManifestEntry::Decoded { source, resource, object } => {
            let name = object_name(resource, &object);
            match check_object(resource, object) {
                Ok(_) => {
                    tally.valid += 1;
                    let _ = writeln!(report, "OK {} {} {name}", resource.api_version, resource.kind);
                }
                Err(message) => {
                    tally.invalid += 1;
                    let _ = writeln!(
                        report,
                        "INVALID {} {} {name} {source}: {message}",
                        resource.api_version, resource.kind
                    );
                }
            }
        }
        ManifestEntry::Unsupported { source, identity } => {
            tally.unsupported += 1;
            let _ = writeln!(
                report,
                "UNSUPPORTED {} {} {} {source}: coxswain does not serve kind {:?} in version {:?}",
                identity.api_version,
                identity.kind,
                identity_name(&identity),
                identity.kind,
                identity.api_version
            );
        }
        ManifestEntry::Invalid { source, identity, message, .. } => {
            tally.invalid += 1;
            let api_version = if identity.api_version.is_empty() { "-" } else { &identity.api_version };
            let kind = if identity.kind.is_empty() { "-" } else { &identity.kind };
            let _ = writeln!(report, "INVALID {api_version} {kind} {} {source}: {message}", identity_name(&identity));
        }
    }
}

/// Applies what the API server would apply to an object on create: defaulting, then validation.
fn check_object(resource: &ResourceType, mut object: Object) -> Result<Object, String> {
    // `kubectl apply` sends a namespaced object without a namespace to `default`.
    if resource.is_namespaced() && object.namespace().is_empty() {
        object.metadata.namespace = Some("default".to_string());
    }
    apply_defaults(&mut object).map_err(|error| error.to_string())?;
    let errors = validate_create(&object);
    if errors.is_empty() { Ok(object) } else { Err(join_field_errors(&errors)) }
}

/// `namespace/name` for namespaced objects (the namespace defaults to `default`, as `kubectl
/// apply` would put it there), the bare name for cluster-scoped ones.
fn object_name(resource: &ResourceType, object: &Object) -> String {
    let name = match (object.name(), object.metadata.generate_name.as_deref()) {
        ("", Some(prefix)) => format!("{prefix}*"),
        (name, _) => name.to_string(),
    };
    if resource.is_namespaced() {
        let namespace = if object.namespace().is_empty() { "default" } else { object.namespace() };
        format!("{namespace}/{name}")
    } else {
        name
    }
}

fn identity_name(identity: &ObjectIdentity) -> String {
    let name = if identity.name.is_empty() { "-" } else { &identity.name };
    if identity.namespace.is_empty() { name.to_string() } else { format!("{}/{name}", identity.namespace) }
}
