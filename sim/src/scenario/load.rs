//! Reads a scenario file: YAML within the core's limits, decoded strictly (an unknown key is an
//! error, not a surprise), every error with file, line and column, and every object read as the
//! API server reads manifests (so `../shared/manifests` load exactly as Kubernetes loads them).

use std::fmt;
use std::path::{Path, PathBuf};

use coxswain_core::manifest::{ManifestEntry, Position, locate, parse_document, read_manifest};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::expectation::Expectation;
use super::{Action, ClusterSpec, DEFAULT_SEED, MAX_NODE_CIDR_BITS, Scenario, ScenarioFile, TimelineEntry};
use crate::duration::SimDuration;

/// Why a scenario could not be read. Each message starts with `file:line:column` where known.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Something in the file is wrong.
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What.
        message: String,
    },
}

/// A place in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: String,
    /// Line and column, where known.
    pub position: Option<Position>,
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(position) => write!(formatter, "{}:{}:{}", self.file, position.line, position.column),
            None => formatter.write_str(&self.file),
        }
    }
}

/// Reads the scenario at `path`; relative `path:` entries inside it are read relative to its
/// folder.
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { file: file.clone(), source })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load_scenario_text(&file, &text, &base)
}

/// Reads a scenario from text; `base` is the folder `path:` entries are relative to.
pub fn load_scenario_text(file: &str, text: &str, base: &Path) -> Result<Scenario, ScenarioError> {
    let reader = Reader { file, text, base };
    let value = parse_document(text).map_err(|error| reader.error(error.position, error.message))?;
    let raw: ScenarioFile = reader.decode(value, "")?;
    if raw.cluster.node_pools.is_empty() {
        return Err(reader.at_path("cluster.nodePools", "a cluster needs at least one node pool".into()));
    }
    check_pod_network(&reader, &raw.cluster)?;
    let mut objects = Vec::new();
    for (index, source) in raw.objects.iter().enumerate() {
        reader.objects(source, &format!("objects[{index}]"), &mut objects)?;
    }
    let mut timeline = Vec::new();
    for (index, entry) in raw.timeline.iter().enumerate() {
        timeline.push(reader.timeline_entry(entry, &format!("timeline[{index}]"))?);
    }
    // Entries run in time order; entries at the same time run in the order written.
    timeline.sort_by_key(|entry| entry.at);
    let mut expectations = Vec::new();
    for (index, spec) in raw.expect.iter().enumerate() {
        let expectation = Expectation::from_spec(spec)
            .map_err(|error| reader.at_path(&format!("expect[{index}]"), error.to_string()))?;
        expectations.push(expectation);
    }
    if let Some(until) = raw.faults.until
        && until > raw.duration
    {
        return Err(
            reader.at_path("faults.until", format!("faults end at {until}, after the run ends at {}", raw.duration))
        );
    }
    Ok(Scenario {
        file: file.to_string(),
        name: raw.name,
        description: raw.description,
        seed: raw.seed.unwrap_or(DEFAULT_SEED),
        duration: raw.duration,
        cluster: raw.cluster,
        runtime: raw.runtime,
        objects,
        timeline,
        faults: raw.faults,
        expectations,
        liveness: raw.liveness,
    })
}

/// Refuses a cluster whose pod network cannot give every declared node a range: the nodes left
/// without one would never run a pod, and the run would fail far from its cause.
fn check_pod_network(reader: &Reader<'_>, cluster: &ClusterSpec) -> Result<(), ScenarioError> {
    let Some(ranges) = cluster.node_ranges() else {
        return Err(reader.at_path(
            "cluster.nodeCIDRMaskSize",
            format!(
                "a node range of /{} does not fit the cluster CIDR {} (at most {} bits longer and at most /32)",
                cluster.node_cidr_mask_size, cluster.cluster_cidr, MAX_NODE_CIDR_BITS
            ),
        ));
    };
    let nodes: u64 = cluster.node_pools.iter().map(|pool| u64::from(pool.count)).sum();
    if nodes > ranges {
        let needed_bits = 64 - (nodes - 1).leading_zeros() as u8;
        let suggested = cluster.node_cidr_mask_size.saturating_sub(needed_bits);
        return Err(reader.at_path(
            "cluster.nodePools",
            format!(
                "{nodes} nodes need {nodes} pod ranges but the cluster CIDR {} holds {ranges} of /{}; \
                 set cluster.clusterCIDR to a /{suggested} or larger (for example 10.128.0.0/{suggested})",
                cluster.cluster_cidr, cluster.node_cidr_mask_size
            ),
        ));
    }
    Ok(())
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    base: &'a Path,
}

impl Reader<'_> {
    fn error(&self, position: Option<Position>, message: String) -> ScenarioError {
        ScenarioError::Invalid { at: Location { file: self.file.to_string(), position }, message }
    }

    fn at_path(&self, path: &str, message: String) -> ScenarioError {
        let position = locate(self.text, path);
        let message = if path.is_empty() { message } else { format!("{path}: {message}") };
        self.error(position, message)
    }

    /// Decodes `value` (found at `prefix` in the file) strictly, naming the field that failed.
    fn decode<T: DeserializeOwned>(&self, value: Value, prefix: &str) -> Result<T, ScenarioError> {
        serde_path_to_error::deserialize(value).map_err(|error| {
            let inner = error.path().to_string();
            let path = join_path(prefix, if inner == "." { "" } else { &inner });
            self.at_path(&path, error.into_inner().to_string())
        })
    }

    fn objects(&self, source: &Value, path: &str, objects: &mut Vec<Value>) -> Result<(), ScenarioError> {
        let mapping = source.as_object();
        let single = |key: &str| mapping.filter(|map| map.len() == 1).and_then(|map| map.get(key));
        if let Some(relative) = single("path") {
            let Some(relative) = relative.as_str() else {
                return Err(self.at_path(&format!("{path}.path"), "path must be a string".into()));
            };
            let file = self.base.join(relative);
            let bytes = std::fs::read(&file)
                .map_err(|error| self.at_path(&format!("{path}.path"), format!("{}: {error}", file.display())))?;
            return self.manifest(&file, &bytes, path, objects);
        }
        if let Some(text) = single("manifest") {
            let Some(text) = text.as_str() else {
                return Err(self.at_path(&format!("{path}.manifest"), "manifest must be YAML text".into()));
            };
            let name = PathBuf::from(format!("{}#{path}", self.file));
            return self.manifest(&name, text.as_bytes(), path, objects);
        }
        let text = serde_json::to_string(source).unwrap_or_default();
        let name = PathBuf::from(format!("{}#{path}", self.file));
        self.manifest(&name, text.as_bytes(), path, objects)
    }

    /// Reads a manifest stream as the API server would; an object that cannot be read or is of
    /// a kind coxswain does not serve stops the load, so nothing is dropped silently.
    fn manifest(&self, file: &Path, bytes: &[u8], path: &str, objects: &mut Vec<Value>) -> Result<(), ScenarioError> {
        let name = file.display().to_string();
        let entries = read_manifest(&name, bytes).map_err(|error| self.at_path(path, error.to_string()))?;
        for entry in entries {
            match entry {
                ManifestEntry::Decoded { object, .. } => objects.push(object.to_value()),
                ManifestEntry::Unsupported { source, identity } => {
                    return Err(self.at_path(
                        path,
                        format!(
                            "{source}: {} {}/{} is a kind coxswain does not serve",
                            identity.api_version, identity.kind, identity.name
                        ),
                    ));
                }
                ManifestEntry::Invalid { source, message, .. } => {
                    return Err(self.at_path(path, format!("{source}: {message}")));
                }
            }
        }
        Ok(())
    }

    fn timeline_entry(&self, entry: &Value, path: &str) -> Result<TimelineEntry, ScenarioError> {
        let Some(mapping) = entry.as_object() else {
            return Err(self.at_path(path, "a timeline entry is a mapping: at: 30s, then one action".into()));
        };
        let Some(at) = mapping.get("at") else {
            return Err(self.at_path(path, "a timeline entry needs `at` (an offset such as 30s)".into()));
        };
        let at: SimDuration = self.decode(at.clone(), &format!("{path}.at"))?;
        let rest: Map<String, Value> =
            mapping.iter().filter(|(key, _)| *key != "at").map(|(k, v)| (k.clone(), v.clone())).collect();
        if rest.len() != 1 {
            let keys: Vec<&str> = rest.keys().map(String::as_str).collect();
            return Err(
                self.at_path(path, format!("a timeline entry has exactly one action besides `at`, found {keys:?}"))
            );
        }
        let action: Action = self.decode(Value::Object(rest), path)?;
        let action = match action {
            Action::Apply(source) => {
                let mut objects = Vec::new();
                self.objects(&source, &format!("{path}.apply"), &mut objects)?;
                match <[Value; 1]>::try_from(objects) {
                    Ok([object]) => Action::Apply(object),
                    Err(objects) => {
                        return Err(self.at_path(
                            &format!("{path}.apply"),
                            format!("apply takes exactly one object, found {}", objects.len()),
                        ));
                    }
                }
            }
            other => other,
        };
        Ok(TimelineEntry { at, action })
    }
}

fn join_path(prefix: &str, inner: &str) -> String {
    match (prefix.is_empty(), inner.is_empty()) {
        (true, _) => inner.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if inner.starts_with('[') => format!("{prefix}{inner}"),
        (false, false) => format!("{prefix}.{inner}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Scenario, ScenarioError> {
        load_scenario_text("test.yaml", text, Path::new("."))
    }

    const SMALL: &str = "name: a small cluster\nduration: 5m\ncluster:\n  nodePools:\n  - name: pool\n    count: 2\n";

    #[test]
    fn a_small_scenario_reads_with_defaults() {
        let scenario = load(SMALL).expect("valid");
        assert_eq!((scenario.seed, scenario.duration.to_string()), (DEFAULT_SEED, "5m".to_string()));
        assert_eq!(scenario.cluster.node_pools[0].count, 2);
    }

    #[test]
    fn errors_name_file_line_column_and_field() {
        let text = format!("{SMALL}timeline:\n- at: 30s\n  scale: {{target: deployment/web, replicas: lots}}\n");
        let error = load(&text).expect_err("replicas is not a number").to_string();
        assert!(error.starts_with("test.yaml:9:"), "{error}");
        assert!(error.contains("timeline[0].scale.replicas"), "{error}");

        let unknown = load(&format!("{SMALL}    flavour: blue\n")).expect_err("unknown field").to_string();
        assert!(unknown.starts_with("test.yaml:7:5: cluster.nodePools[0]"), "{unknown}");
        assert!(unknown.contains("unknown field `flavour`"), "{unknown}");

        let two =
            load(&format!("{SMALL}timeline:\n- at: 1m\n  cordon: pool-0\n  drain: pool-0\n")).expect_err("two actions");
        assert!(two.to_string().contains("exactly one action besides `at`"), "{two}");

        let syntax = load("name: [unclosed\n").expect_err("bad YAML").to_string();
        assert!(syntax.starts_with("test.yaml:"), "{syntax}");
    }

    #[test]
    fn a_pod_network_too_small_for_the_nodes_is_refused_with_the_range_it_needs() {
        let thousand = "name: big\nduration: 5m\ncluster:\n  nodePools:\n  - name: pool\n    count: 1000\n";
        let error = load(thousand).expect_err("256 ranges for 1000 nodes").to_string();
        assert!(error.starts_with("test.yaml:4:"), "{error}");
        assert!(
            error.contains("1000 nodes need 1000 pod ranges but the cluster CIDR 10.244.0.0/16 holds 256 of /24"),
            "{error}"
        );
        assert!(error.contains("a /14 or larger"), "{error}");

        let widened =
            load(&thousand.replace("cluster:\n", "cluster:\n  clusterCIDR: 10.128.0.0/14\n")).expect("1024 ranges");
        assert_eq!(widened.cluster.node_ipam().cluster_cidr.to_string(), "10.128.0.0/14");
        assert_eq!(widened.cluster.node_ranges(), Some(1024));

        let malformed =
            load(&SMALL.replace("cluster:\n", "cluster:\n  clusterCIDR: 10.1.2.3\n")).expect_err("no prefix");
        assert!(malformed.to_string().contains("cluster.clusterCIDR"), "{malformed}");

        let too_fine =
            load(&SMALL.replace("cluster:\n", "cluster:\n  clusterCIDR: 10.0.0.0/8\n  nodeCIDRMaskSize: 28\n"))
                .expect_err("20 bits of node ranges");
        assert!(
            too_fine.to_string().contains("cluster.nodeCIDRMaskSize: a node range of /28 does not fit"),
            "{too_fine}"
        );
    }

    #[test]
    fn objects_are_read_as_the_api_server_reads_manifests() {
        let text = format!(
            "{SMALL}objects:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: settings}}\n  data: {{a: b}}\n- manifest: |\n    apiVersion: v1\n    kind: Namespace\n    metadata: {{name: prod}}\n"
        );
        let scenario = load(&text).expect("valid");
        let kinds: Vec<&str> = scenario.objects.iter().filter_map(|object| object["kind"].as_str()).collect();
        assert_eq!(kinds, ["ConfigMap", "Namespace"]);

        let bad = format!(
            "{SMALL}objects:\n- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p}}\n  spec: {{containerz: []}}\n"
        );
        let error = load(&bad).expect_err("an unknown pod field").to_string();
        assert!(error.contains("containerz"), "{error}");
        let custom =
            format!("{SMALL}objects:\n- apiVersion: example.com/v1\n  kind: Widget\n  metadata: {{name: w}}\n");
        assert!(load(&custom).expect_err("unserved").to_string().contains("does not serve"));
    }
}
