//! References to objects as a user writes them: `deployment/web` (in `default`) or
//! `prod/deployment/web`, with kubectl's kind names (`deploy`, `deployments`, `Deployment`).

use std::fmt;

use coxswain_core::client::paths::object_path;
use coxswain_core::object::kinds::{RESOURCES, ResourceType};
use serde::{Deserialize, Deserializer};

/// An object reference.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The kind (the version the API serves first for it).
    pub resource: &'static ResourceType,
    /// The namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// The name.
    pub name: String,
}

/// Why a reference could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not `kind/name` or `namespace/kind/name`.
    #[error("{text:?} is not an object reference: write kind/name or namespace/kind/name (deployment/web)")]
    Shape {
        /// The text.
        text: String,
    },
    /// The kind is not one coxswain serves.
    #[error("unknown kind {kind:?} in {text:?} (kubectl's names work: deploy, deployment, deployments, Deployment)")]
    UnknownKind {
        /// The kind given.
        kind: String,
        /// The whole reference.
        text: String,
    },
}

/// Finds a served, stored kind by any name kubectl accepts for it.
pub fn kind_by_name(name: &str) -> Option<&'static ResourceType> {
    let lower = name.to_ascii_lowercase();
    RESOURCES.iter().filter(|resource| resource.stored).find(|resource| {
        resource.kind.eq_ignore_ascii_case(&lower)
            || resource.plural == lower
            || resource.singular == lower
            || resource.short_names.contains(&lower.as_str())
    })
}

impl Target {
    /// Reads `kind/name` (namespace `default` for namespaced kinds) or `namespace/kind/name`.
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let parts: Vec<&str> = text.split('/').collect();
        let (namespace, kind, name) = match parts.as_slice() {
            [kind, name] => (None, *kind, *name),
            [namespace, kind, name] => (Some(*namespace), *kind, *name),
            _ => return Err(TargetError::Shape { text: text.to_string() }),
        };
        if name.is_empty() || kind.is_empty() || namespace.is_some_and(str::is_empty) {
            return Err(TargetError::Shape { text: text.to_string() });
        }
        let resource = kind_by_name(kind)
            .ok_or_else(|| TargetError::UnknownKind { kind: kind.to_string(), text: text.to_string() })?;
        let namespace =
            if resource.is_namespaced() { namespace.unwrap_or("default").to_string() } else { String::new() };
        Ok(Target { resource, namespace, name: name.to_string() })
    }

    /// The object's path on the API server.
    pub fn path(&self) -> String {
        object_path(self.resource, &self.namespace, &self.name)
    }

    /// The object's path with a subresource.
    pub fn subresource_path(&self, subresource: &str) -> String {
        format!("{}/{subresource}", self.path())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.resource.singular;
        if self.namespace.is_empty() || self.namespace == "default" {
            write!(formatter, "{kind}/{}", self.name)
        } else {
            write!(formatter, "{}/{kind}/{}", self.namespace, self.name)
        }
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Target, D::Error> {
        let text = String::deserialize(deserializer)?;
        Target::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_accept_every_name_kubectl_accepts() {
        for text in ["deployment/web", "deploy/web", "deployments/web", "Deployment/web"] {
            let target = Target::parse(text).expect(text);
            assert_eq!(
                (target.resource.kind, target.namespace.as_str(), target.name.as_str()),
                ("Deployment", "default", "web")
            );
        }
        let target = Target::parse("prod/sts/db").expect("a namespaced reference");
        assert_eq!((target.resource.kind, target.namespace.as_str()), ("StatefulSet", "prod"));
        assert_eq!(target.path(), "/apis/apps/v1/namespaces/prod/statefulsets/db");
        let node = Target::parse("node/pool-0").expect("a node");
        assert_eq!((node.namespace.as_str(), node.path().as_str()), ("", "/api/v1/nodes/pool-0"));
    }

    #[test]
    fn bad_references_say_what_to_write() {
        assert_eq!(Target::parse("web"), Err(TargetError::Shape { text: "web".into() }));
        assert_eq!(Target::parse("a/b/c/d"), Err(TargetError::Shape { text: "a/b/c/d".into() }));
        assert_eq!(
            Target::parse("widget/web"),
            Err(TargetError::UnknownKind { kind: "widget".into(), text: "widget/web".into() })
        );
    }
}
