//! Reading manifests: multi-document YAML and JSON streams and `kind: List`, decoded strictly into
//! the served kinds, with every error carrying its file, document, line and column.

mod reader;
mod split;
mod yaml;

pub use reader::{ManifestEntry, ManifestError, ObjectIdentity, SourcePosition, read_manifest};
pub use split::{DocumentText, split_documents};
pub use yaml::{Position, SyntaxError, locate, parse_document};

#[cfg(test)]
mod robustness_tests;
