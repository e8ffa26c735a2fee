//! Parses one YAML (or JSON) document into JSON, inside the limits of `crate::limits`, and finds
//! the line and column of a field path when an error needs one.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};

use crate::limits;

/// A place in a manifest: one-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// One-based line.
    pub line: usize,
    /// One-based column.
    pub column: usize,
}

/// Why a document is not YAML that coxswain accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped, relative to the document's own text.
    pub position: Option<Position>,
    /// What went wrong.
    pub message: String,
}

/// The parser options every manifest is read with: duplicate keys refused (as Kubernetes'
/// strict decoding refuses them) and the budgets of `crate::limits`.
fn parser_options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = limits::MAX_DOCUMENT_DEPTH;
    budget.max_aliases = limits::MAX_YAML_ALIASES;
    budget.max_nodes = limits::MAX_YAML_NODES;
    budget.max_documents = 1;
    budget.max_reader_input_bytes = Some(limits::MAX_REQUEST_BYTES);
    let mut options = Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    options
}

/// Parses one document's text into a JSON value.
pub fn parse_document(text: &str) -> Result<Value, SyntaxError> {
    serde_saphyr::from_str_with_options::<Value>(text, parser_options()).map_err(|error| syntax_error(&error))
}

fn syntax_error(error: &serde_saphyr::Error) -> SyntaxError {
    let position = error
        .location()
        .filter(|location| location.line() > 0)
        .map(|location| Position { line: location.line() as usize, column: location.column() as usize });
    let message = error.to_string();
    // The rendered message may repeat the position and give advice meant for the library's
    // caller; keep what failed, which the first line says.
    let mut message = message.lines().next().unwrap_or_default().trim().to_string();
    if let Some(position) = position {
        let suffix = format!(" at line {}, column {}", position.line, position.column);
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    if let Some((what, _advice)) = message.split_once(", set DuplicateKeyPolicy") {
        message = what.to_string();
    }
    SyntaxError { position, message }
}

/// Finds the position of the node at `path` (a Kubernetes field path such as
/// `spec.containers[0].image`) in `text`. Used only on the error path, so it may re-parse.
pub fn locate(text: &str, path: &str) -> Option<Position> {
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, parser_options()).ok()?;
    let mut current = &root;
    let mut best = position_of(current);
    for segment in parse_path(path) {
        let next = match (&current.value, segment) {
            (Node::Map(entries), PathSegment::Field(name)) => {
                entries.iter().find(|(key, _)| key.value == name).map(|(key, value)| {
                    // Point at the key: for an unknown field that is where the mistake is.
                    best = position_of_key(text, key);
                    value
                })
            }
            (Node::Seq(items), PathSegment::Index(index)) => items.get(index).inspect(|item| {
                best = position_of(item).or(best);
            }),
            (Node::Map(entries), PathSegment::Index(index)) => {
                let key = index.to_string();
                entries.iter().find(|(entry_key, _)| entry_key.value == key).map(|(entry_key, value)| {
                    best = position_of_key(text, entry_key);
                    value
                })
            }
            _ => None,
        };
        let Some(next) = next else { break };
        current = next;
    }
    best
}

fn position_of(node: &Spanned<Node>) -> Option<Position> {
    let location = node.referenced;
    (location.line() > 0).then(|| Position { line: location.line() as usize, column: location.column() as usize })
}

/// The parser reports a key at the position of its value; the key itself is found on that line.
fn position_of_key(text: &str, key: &Spanned<String>) -> Option<Position> {
    let location = key.referenced;
    if location.line() == 0 {
        return None;
    }
    let line = location.line() as usize;
    let column = text
        .lines()
        .nth(line - 1)
        .and_then(|line_text| line_text.find(key.value.as_str()))
        .map_or(location.column() as usize, |offset| offset + 1);
    Some(Position { line, column })
}

#[derive(Debug, PartialEq)]
enum PathSegment<'a> {
    Field(&'a str),
    Index(usize),
}

/// Splits `a.b[0].c[key]` into segments; a bracketed non-number is a map key.
fn parse_path(path: &str) -> Vec<PathSegment<'_>> {
    let mut segments = Vec::new();
    for part in path.split('.').filter(|part| !part.is_empty()) {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(name, rest)| (name, rest));
        if !name.is_empty() {
            segments.push(PathSegment::Field(name));
        }
        while let Some((inside, after)) = rest.split_once(']') {
            match inside.parse::<usize>() {
                Ok(index) => segments.push(PathSegment::Index(index)),
                Err(_) => segments.push(PathSegment::Field(inside)),
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    segments
}

/// A YAML node with the position of each child, for [`locate`].
#[derive(Debug)]
enum Node {
    Scalar,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            let key = Spanned { value: key.value.0, referenced: key.referenced, defined: key.defined };
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// A mapping key as text, whatever its scalar type (Kubernetes turns `1:` into `"1"`).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyText, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(KeyText(match value {
            Value::String(text) => text,
            other => other.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_parses_to_json() {
        let value = parse_document("a: 1\nb: [x, z]\n").unwrap();
        assert_eq!(value, serde_json::json!({"a": 1, "b": ["x", "z"]}));
    }

    #[test]
    fn yaml_1_1_booleans_are_booleans_as_in_kubernetes() {
        // sigs.k8s.io/yaml reads `yes`/`on`/`y` as booleans: the "Norway problem" is Kubernetes' too.
        let value = parse_document("country: yes\n").unwrap();
        assert_eq!(value, serde_json::json!({"country": true}));
    }

    #[test]
    fn duplicate_keys_are_refused_with_a_position() {
        let error = parse_document("a: 1\na: 2\n").unwrap_err();
        assert_eq!(error.position.map(|position| position.line), Some(2));
    }

    #[test]
    fn a_nested_field_is_located() {
        let text = "spec:\n  containers:\n  - name: a\n    imagePullPolice: Always\n";
        assert_eq!(locate(text, "spec.containers[0].imagePullPolice"), Some(Position { line: 4, column: 5 }));
    }

    #[test]
    fn a_path_that_goes_missing_is_located_at_its_deepest_existing_part() {
        let text = "spec:\n  replicas: 1\n";
        assert_eq!(locate(text, "spec.template.metadata").map(|position| position.line), Some(1));
    }

    #[test]
    fn paths_are_split_into_fields_and_indices() {
        assert_eq!(
            parse_path("a.b[2].c[key]"),
            vec![
                PathSegment::Field("a"),
                PathSegment::Field("b"),
                PathSegment::Index(2),
                PathSegment::Field("c"),
                PathSegment::Field("key")
            ]
        );
    }

    #[test]
    fn a_billion_laughs_document_is_refused_without_expanding_it() {
        let mut text =
            String::from("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            let items = vec![previous; 9].join(",");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = parse_document(&text).unwrap_err();
        assert!(!error.message.is_empty());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}1{}", "[".repeat(500), "]".repeat(500));
        assert!(parse_document(&text).is_err());
    }
}
