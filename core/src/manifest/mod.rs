//! Reading manifests: multi-document YAML and JSON, `kind: List`, with positions and limits.
