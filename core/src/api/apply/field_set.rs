//! Sets of field paths, as structured-merge-diff keeps them for `metadata.managedFields`: a tree
//! whose nodes are path elements (a field name, the keys of a list element, a set value, a list
//! index), each either a member of the set, a parent of members, or both. Encoded as `fieldsV1`
//! exactly as Kubernetes encodes it: `{"f:spec":{"f:replicas":{}}}`, `k:{"name":"nginx"}`,
//! `v:"finalizer"`, `i:0`, and `.` for a node that is itself a member and has children.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A field of a struct or a key of a map: `f:replicas`, printed `.replicas`.
    Field(String),
    /// The element of a `map` list with these key fields (sorted by name):
    /// `k:{"containerPort":53,"protocol":"UDP"}`, printed `[containerPort=53,protocol="UDP"]`.
    Key(Vec<(String, Value)>),
    /// The element of a `set` list with this value: `v:"a"`, printed `[="a"]`.
    Value(Value),
    /// The element of an atomic list at this index: `i:0`, printed `[0]`.
    Index(usize),
}

/// Orders scalars and structures as structured-merge-diff's `value.Compare` does: numbers, then
/// strings, booleans, lists, maps, and null last.
pub fn compare_values(left: &Value, right: &Value) -> Ordering {
    fn rank(value: &Value) -> u8 {
        match value {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => match (left.as_i64(), right.as_i64()) {
            (Some(left), Some(right)) => left.cmp(&right),
            _ => left.as_f64().unwrap_or_default().total_cmp(&right.as_f64().unwrap_or_default()),
        },
        (Value::String(left), Value::String(right)) => left.cmp(right),
        (Value::Bool(left), Value::Bool(right)) => left.cmp(right),
        (Value::Array(left), Value::Array(right)) => {
            for (left, right) in left.iter().zip(right) {
                let order = compare_values(left, right);
                if order != Ordering::Equal {
                    return order;
                }
            }
            left.len().cmp(&right.len())
        }
        (Value::Object(left), Value::Object(right)) => {
            let sorted = |map: &Map<String, Value>| {
                let mut entries: Vec<(String, Value)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                entries
            };
            compare_fields(&sorted(left), &sorted(right))
        }
        _ => rank(left).cmp(&rank(right)),
    }
}

/// Orders key field lists lexically, name then value, as `value.FieldList.Compare` does.
fn compare_fields(left: &[(String, Value)], right: &[(String, Value)]) -> Ordering {
    for ((left_name, left_value), (right_name, right_value)) in left.iter().zip(right) {
        let order = left_name.cmp(right_name).then_with(|| compare_values(left_value, right_value));
        if order != Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            Self::Field(_) => 0,
            Self::Key(_) => 1,
            Self::Value(_) => 2,
            Self::Index(_) => 3,
        }
    }

    /// The `fieldsV1` key of this element.
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(fields) => {
                let map: Map<String, Value> = fields.iter().cloned().collect();
                format!("k:{}", Value::Object(map))
            }
            Self::Value(value) => format!("v:{value}"),
            Self::Index(index) => format!("i:{index}"),
        }
    }

    /// Parses a `fieldsV1` key; `None` for anything else (including `.`).
    pub fn from_fields_v1_key(key: &str) -> Option<PathElement> {
        let (prefix, rest) = key.split_at_checked(2)?;
        match prefix {
            "f:" => Some(Self::Field(rest.to_string())),
            "k:" => match serde_json::from_str(rest).ok()? {
                Value::Object(map) => {
                    let mut fields: Vec<(String, Value)> = map.into_iter().collect();
                    fields.sort_by(|left, right| left.0.cmp(&right.0));
                    Some(Self::Key(fields))
                }
                _ => None,
            },
            "v:" => serde_json::from_str(rest).ok().map(Self::Value),
            "i:" => rest.parse().ok().map(Self::Index),
            _ => None,
        }
    }
}

impl std::fmt::Display for PathElement {
    /// The element as structured-merge-diff prints it in conflict messages.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Field(name) => write!(formatter, ".{name}"),
            Self::Key(fields) => {
                let fields: Vec<String> =
                    fields.iter().map(|(name, value)| format!("{name}={}", display_value(value))).collect();
                write!(formatter, "[{}]", fields.join(","))
            }
            Self::Value(value) => write!(formatter, "[={}]", display_value(value)),
            Self::Index(index) => write!(formatter, "[{index}]"),
        }
    }
}

/// A value as `value.ToString` prints it: strings quoted, everything else as JSON.
fn display_value(value: &Value) -> String {
    value.to_string()
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl std::hash::Hash for PathElement {
    /// Consistent with equality, which compares numbers by value (`1` equals `1.0`).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        fn hash_value<H: std::hash::Hasher>(value: &Value, state: &mut H) {
            match value {
                Value::String(text) => text.hash(state),
                Value::Number(number) => number.as_f64().unwrap_or_default().to_bits().hash(state),
                Value::Bool(flag) => flag.hash(state),
                other => std::mem::discriminant(other).hash(state),
            }
        }
        self.rank().hash(state);
        match self {
            Self::Field(name) => name.hash(state),
            Self::Key(fields) => fields.iter().for_each(|(name, value)| {
                name.hash(state);
                hash_value(value, state);
            }),
            Self::Value(value) => hash_value(value, state),
            Self::Index(index) => index.hash(state),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Field(left), Self::Field(right)) => left.cmp(right),
            (Self::Key(left), Self::Key(right)) => compare_fields(left, right),
            (Self::Value(left), Self::Value(right)) => compare_values(left, right),
            (Self::Index(left), Self::Index(right)) => left.cmp(right),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// A path from the top of an object.
pub type Path = Vec<PathElement>;

/// Prints a path as Kubernetes does in conflicts: `.spec.containers[name="nginx"].image`.
pub fn display_path(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Elements that are members of the set at this level.
    members: std::collections::BTreeSet<PathElement>,
    /// Elements with members below them.
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    /// Whether the set has no member at any depth.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds a path as a member.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether a path is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|child| child.has(rest)),
        }
    }

    /// Whether `element` at this level is a member.
    pub fn has_member(&self, element: &PathElement) -> bool {
        self.members.contains(element)
    }

    /// The members under `element` (empty when there are none).
    pub fn child(&self, element: &PathElement) -> Option<&FieldSet> {
        self.children.get(element)
    }

    /// The child set under `element`, created empty if absent.
    pub fn child_mut(&mut self, element: PathElement) -> &mut FieldSet {
        self.children.entry(element).or_default()
    }

    /// The elements with members below them, and those members.
    pub fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    /// Removes `element` at this level, as a member and with everything below it.
    pub fn remove_element(&mut self, element: &PathElement) {
        self.members.remove(element);
        self.children.remove(element);
    }

    /// Adds `element` as a member at this level.
    pub fn insert_member(&mut self, element: PathElement) {
        self.members.insert(element);
    }

    /// The first elements of the set's members: the members at this level and the elements
    /// with members below them, each once (those of [`Self::paths`], without building them).
    pub fn top_level_elements(&self) -> impl Iterator<Item = &PathElement> {
        let below =
            self.children.iter().filter(|(element, child)| !self.members.contains(*element) && !child.is_empty());
        self.members.iter().chain(below.map(|(element, _)| element))
    }

    /// Every member, in order.
    pub fn paths(&self) -> Vec<Path> {
        let mut paths = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut paths);
        paths
    }

    fn collect_paths(&self, prefix: &mut Path, paths: &mut Vec<Path>) {
        let mut members = self.members.iter().peekable();
        let mut children = self.children.iter().peekable();
        loop {
            let take_member = match (members.peek(), children.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(member), Some((child, _))) => *member <= *child,
            };
            if take_member {
                let Some(member) = members.next() else { break };
                prefix.push(member.clone());
                paths.push(prefix.clone());
                prefix.pop();
            } else if let Some((element, child)) = children.next() {
                prefix.push(element.clone());
                child.collect_paths(prefix, paths);
                prefix.pop();
            }
        }
    }

    /// The members of either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut result = self.clone();
        result.members.extend(other.members.iter().cloned());
        for (element, child) in &other.children {
            let merged = match result.children.get(element) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            result.children.insert(element.clone(), merged);
        }
        result
    }

    /// Adds the members of `other` ([`Self::union`] without copying `self`).
    pub fn union_with(&mut self, other: &FieldSet) {
        self.members.extend(other.members.iter().cloned());
        for (element, child) in &other.children {
            match self.children.get_mut(element) {
                Some(mine) => mine.union_with(child),
                None => {
                    self.children.insert(element.clone(), child.clone());
                }
            }
        }
    }

    /// Removes the members of `other` ([`Self::difference`] without copying `self`): like it,
    /// drops the children left without members at this level.
    pub fn subtract(&mut self, other: &FieldSet) {
        if !other.members.is_empty() {
            self.members.retain(|element| !other.members.contains(element));
        }
        self.children.retain(|element, child| {
            if let Some(theirs) = other.children.get(element) {
                child.subtract(theirs);
            }
            !child.is_empty()
        });
    }

    /// The members of `self` not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.iter().filter(|element| !other.members.contains(element)).cloned().collect();
        let mut children = BTreeMap::new();
        for (element, child) in &self.children {
            let remaining = match other.children.get(element) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !remaining.is_empty() {
                children.insert(element.clone(), remaining);
            }
        }
        FieldSet { members, children }
    }

    /// The members of both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.iter().filter(|element| other.members.contains(element)).cloned().collect();
        let mut children = BTreeMap::new();
        for (element, child) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let common = child.intersection(theirs);
                if !common.is_empty() {
                    children.insert(element.clone(), common);
                }
            }
        }
        FieldSet { members, children }
    }

    /// The set as `fieldsV1`.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.fields_v1_map(false))
    }

    fn fields_v1_map(&self, is_member: bool) -> Map<String, Value> {
        let mut map = Map::new();
        if is_member {
            map.insert(".".into(), Value::Object(Map::new()));
        }
        let mut keys: Vec<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        keys.sort();
        keys.dedup();
        for element in keys {
            let member = self.members.contains(element);
            let value = match self.children.get(element).filter(|child| !child.is_empty()) {
                Some(child) => child.fields_v1_map(member),
                None => Map::new(),
            };
            map.insert(element.to_fields_v1_key(), Value::Object(value));
        }
        map
    }

    /// Whether every member of this set is a member of the set `fields_v1` encodes, read in
    /// place (as [`Self::from_fields_v1`] would decode it) instead of decoded.
    pub fn within_fields_v1(&self, fields_v1: &Value) -> bool {
        let Value::Object(map) = fields_v1 else { return false };
        self.members.iter().all(|member| map.get(&member.to_fields_v1_key()).is_some_and(is_member_node))
            && self.children.iter().all(|(element, child)| {
                child.is_empty()
                    || map.get(&element.to_fields_v1_key()).is_some_and(|node| child.within_fields_v1(node))
            })
    }

    /// Whether some member of this set is a member of the set `fields_v1` encodes, read in
    /// place. A value that is not an encoding counts as meeting every set.
    pub fn meets_fields_v1(&self, fields_v1: &Value) -> bool {
        let Value::Object(map) = fields_v1 else { return true };
        self.members.iter().any(|member| map.get(&member.to_fields_v1_key()).is_some_and(is_member_node))
            || self.children.iter().any(|(element, child)| {
                map.get(&element.to_fields_v1_key()).is_some_and(|node| child.meets_fields_v1(node))
            })
    }

    /// Reads `fieldsV1`; `None` if it is not a well-formed encoding.
    pub fn from_fields_v1(value: &Value) -> Option<FieldSet> {
        let Value::Object(map) = value else { return None };
        let mut set = FieldSet::new();
        for (key, child) in map {
            if key == "." {
                continue;
            }
            let element = PathElement::from_fields_v1_key(key)?;
            let Value::Object(child_map) = child else { return None };
            if child_map.is_empty() || child_map.contains_key(".") {
                set.members.insert(element.clone());
            }
            let child_set = FieldSet::from_fields_v1(child)?;
            if !child_set.is_empty() {
                set.children.insert(element, child_set);
            }
        }
        Some(set)
    }
}

/// Whether a node of a `fieldsV1` encoding stands for a member: an empty object, or one that
/// marks itself with `.`.
fn is_member_node(node: &Value) -> bool {
    matches!(node, Value::Object(map) if map.is_empty() || map.contains_key("."))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    fn key(fields: &[(&str, Value)]) -> PathElement {
        PathElement::Key(fields.iter().map(|(name, value)| (name.to_string(), value.clone())).collect())
    }

    #[test]
    fn in_place_union_and_subtraction_equal_their_copying_forms() {
        let sets: Vec<FieldSet> = [
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {".": {}, "f:replicas": {}}, "f:status": {}}),
            json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {}}}}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}),
            json!({"f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {"f:status": {}}}}}),
            json!({}),
        ]
        .iter()
        .map(|fields| FieldSet::from_fields_v1(fields).expect("well formed"))
        .collect();
        let mut with_empty_child = sets[0].clone();
        with_empty_child.child_mut(field("empty"));
        with_empty_child.child_mut(field("spec")).child_mut(field("empty-below"));
        let sets: Vec<FieldSet> = sets.into_iter().chain([with_empty_child]).collect();
        for left in &sets {
            for right in &sets {
                let mut united = left.clone();
                united.union_with(right);
                assert_eq!(united, left.union(right));
                let mut subtracted = left.clone();
                subtracted.subtract(right);
                assert_eq!(subtracted, left.difference(right));
            }
        }
    }

    #[test]
    fn top_level_elements_are_the_first_elements_of_the_paths() {
        let sets = [
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {".": {}, "f:replicas": {}}, "f:status": {}}),
            json!({"f:data": {}, "f:kind": {}}),
            json!({}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}),
        ];
        for fields in sets {
            let set = FieldSet::from_fields_v1(&fields).expect("well formed");
            let mut expected: Vec<PathElement> =
                set.paths().into_iter().filter_map(|path| path.into_iter().next()).collect();
            expected.dedup();
            let mut found: Vec<PathElement> = set.top_level_elements().cloned().collect();
            found.sort();
            assert_eq!(found, expected, "{fields}");
        }
        let mut with_empty_child = FieldSet::new();
        with_empty_child.child_mut(field("spec"));
        with_empty_child.insert(&[field("data")]);
        assert_eq!(with_empty_child.top_level_elements().cloned().collect::<Vec<_>>(), [field("data")]);
    }

    /// structured-merge-diff fieldpath/serialize_test.go `TestSerializeV1`: the encodings round-trip.
    #[test]
    fn fields_v1_round_trips_as_structured_merge_diff_encodes_it() {
        for encoded in [
            json!({"f:a": {}}),
            json!({"f:a": {".": {}, "f:b": {}}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}}),
            json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}}}}),
            json!({"f:list": {"i:0": {}, "i:1": {}}}),
            json!({"f:ports": {"k:{\"containerPort\":53,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}}, "k:{\"containerPort\":53,\"protocol\":\"UDP\"}": {}}}),
        ] {
            let set = FieldSet::from_fields_v1(&encoded).unwrap();
            assert_eq!(set.to_fields_v1().to_string(), encoded.to_string());
        }
    }

    #[test]
    fn reading_fields_v1_in_place_agrees_with_decoding_it() {
        let encodings = [
            json!({"f:spec": {"f:holderIdentity": {}, "f:renewTime": {}}}),
            json!({"f:spec": {".": {}, "f:renewTime": {}}}),
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}}}}}),
        ];
        let mut probes: Vec<FieldSet> =
            encodings.iter().map(|encoded| FieldSet::from_fields_v1(encoded).unwrap()).collect();
        let mut renew_time = FieldSet::new();
        renew_time.insert(&[field("spec"), field("renewTime")]);
        let mut spec = FieldSet::new();
        spec.insert(&[field("spec")]);
        let mut image = FieldSet::new();
        image.insert(&[field("spec"), field("containers"), key(&[("name", json!("nginx"))]), field("image")]);
        probes.extend([renew_time, spec, image, FieldSet::new()]);
        for encoded in &encodings {
            let decoded = FieldSet::from_fields_v1(encoded).unwrap();
            for probe in &probes {
                assert_eq!(
                    probe.within_fields_v1(encoded),
                    probe.difference(&decoded).is_empty(),
                    "{probe:?} in {encoded}"
                );
                assert_eq!(
                    probe.meets_fields_v1(encoded),
                    !probe.intersection(&decoded).is_empty(),
                    "{probe:?} and {encoded}"
                );
            }
        }
    }

    #[test]
    fn members_come_before_children_of_the_same_element_and_elements_are_ordered_by_kind() {
        let mut set = FieldSet::new();
        set.insert(&[field("b")]);
        set.insert(&[field("a"), PathElement::Value(json!("x"))]);
        set.insert(&[field("a"), key(&[("name", json!("n"))])]);
        set.insert(&[field("a"), PathElement::Value(json!(1))]);
        set.insert(&[field("a")]);
        set.insert(&[field("a"), field("z")]);
        assert_eq!(
            set.to_fields_v1().to_string(),
            r#"{"f:a":{".":{},"f:z":{},"k:{\"name\":\"n\"}":{},"v:1":{},"v:\"x\"":{}},"f:b":{}}"#
        );
        let printed: Vec<String> = set.paths().iter().map(|path| display_path(path)).collect();
        assert_eq!(printed, [".a", ".a.z", ".a[name=\"n\"]", ".a[=1]", ".a[=\"x\"]", ".b"]);
    }

    #[test]
    fn union_difference_and_intersection_work_at_every_depth() {
        let a = FieldSet::from_fields_v1(&json!({"f:spec": {"f:replicas": {}, "f:paused": {}}})).unwrap();
        let b = FieldSet::from_fields_v1(&json!({"f:spec": {"f:replicas": {}}, "f:data": {}})).unwrap();
        assert_eq!(a.difference(&b).to_fields_v1(), json!({"f:spec": {"f:paused": {}}}));
        assert_eq!(a.intersection(&b).to_fields_v1(), json!({"f:spec": {"f:replicas": {}}}));
        assert_eq!(a.union(&b).to_fields_v1(), json!({"f:data": {}, "f:spec": {"f:paused": {}, "f:replicas": {}}}));
        assert!(a.difference(&a).is_empty());
        assert!(b.has(&[field("spec"), field("replicas")]));
        assert!(!b.has(&[field("spec")]));
    }

    #[test]
    fn malformed_fields_v1_is_refused() {
        assert_eq!(FieldSet::from_fields_v1(&json!({"x:a": {}})), None);
        assert_eq!(FieldSet::from_fields_v1(&json!({"f:a": 1})), None);
        assert_eq!(FieldSet::from_fields_v1(&json!([])), None);
    }
}
