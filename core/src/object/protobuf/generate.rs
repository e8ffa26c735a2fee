//! The generator of `messages.json`, and the checks that hold the committed table to it.
//!
//! The facts come from three places, each what it knows best:
//! - the prost sources of the `k8s-pb` crate (generated from Kubernetes' `generated.proto`
//!   files): messages, field numbers, types, lists and maps. `COX_K8S_PB_SOURCE` names their
//!   `src` folder; without it the generator is skipped and only the committed table is checked.
//! - the schema facts (Kubernetes 1.32's OpenAPI document): the JSON name of each field (the one
//!   equal to the proto name ignoring case and underscores), fields Go inlines
//!   (`json:",inline"`), and which fields are required (no `omitempty`: zero values kept).
//! - the real kubectl 1.32 (`COX_KUBECTL`, default `kubectl`): which zero scalars Kubernetes'
//!   JSON keeps. A body of every workload kind (and Service, RoleBinding, ClusterRoleBinding)
//!   with every field at its zero value goes through `kubectl set … --local -o json`, which
//!   decodes it into the Go types and encodes it again: a zero that survives belongs to a pointer
//!   or a field without `omitempty`. Fields no such body reaches keep zero numbers and booleans
//!   (pointers in the newer groups, and `0` means what absence means for the rest) and drop empty
//!   strings (Go's protobuf encoder writes every empty string field, so most are noise).
//!
//! `COX_REGENERATE_PROTOBUF_MESSAGES=1` rewrites the committed file instead of checking it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value, json};

use super::messages::{Cardinality, Field, FieldType, MessageTable, message_name_of_kind};
use super::special::Special;
use crate::object::kinds::RESOURCES;
use crate::object::schema_facts::{self, Schema};

/// Messages decoded though no served kind is made of them: the options of a protobuf DELETE and
/// the Scale subresource.
const EXTRA_ROOTS: [&str; 2] = ["apimachinery.pkg.apis.meta.v1.DeleteOptions", "api.autoscaling.v1.Scale"];

/// The k8s-pb folders whose messages Kubernetes' served kinds are made of.
const SOURCE_FOLDERS: [&str; 2] = ["api", "apimachinery"];

/// A field as prost declares it, before JSON names are known.
#[derive(Clone, Debug)]
struct ProstField {
    tag: u32,
    proto_name: String,
    field_type: FieldType,
    cardinality: Cardinality,
}

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/object/protobuf/messages.json")
}

#[test]
fn the_committed_protobuf_messages_are_generated_from_k8s_pb_openapi_and_kubectl() {
    let Some(source) = std::env::var_os("COX_K8S_PB_SOURCE") else {
        eprintln!("skipped: COX_K8S_PB_SOURCE does not name the k8s-pb sources");
        return;
    };
    let generated = generate(Path::new(&source));
    let mut json = serde_json::to_string(&generated.to_rows()).expect("rows serialize");
    json.push('\n');
    if std::env::var_os("COX_REGENERATE_PROTOBUF_MESSAGES").is_some() {
        std::fs::write(committed_path(), &json).expect("write messages.json");
        return;
    }
    let committed = std::fs::read_to_string(committed_path()).expect("read messages.json");
    assert!(committed == json, "messages.json is stale: rerun with COX_REGENERATE_PROTOBUF_MESSAGES=1");
}

#[test]
fn every_served_kind_and_every_referenced_message_is_in_the_committed_table() {
    let table = super::kubernetes();
    for resource in RESOURCES {
        assert!(
            table.of_kind(resource.api_version, resource.kind).is_some(),
            "{} {} has no message",
            resource.api_version,
            resource.kind
        );
    }
    for root in EXTRA_ROOTS {
        assert!(table.message(root).is_some(), "{root} is missing");
    }
    for (name, fields) in table.messages() {
        for field in fields.values() {
            if let FieldType::Message(message) = &field.field_type {
                let known = table.message(message).is_some() || Special::of(message).is_some();
                assert!(known, "{name} field {} refers to unknown {message}", field.json_name);
            }
        }
    }
}

/// The table of every message reachable from the served kinds.
fn generate(source: &Path) -> MessageTable {
    let prost = parse_sources(source);
    let facts = schema_facts::kubernetes();
    let mut table = MessageTable::default();
    let inlined_into = inlining_parents(&prost);
    let definition_of = |name: &str| {
        facts
            .definition(&format!("io.k8s.{name}"))
            .or_else(|| inlined_into.get(name).and_then(|parent| facts.definition(&format!("io.k8s.{parent}"))))
    };
    for name in reachable(&prost) {
        let definition = definition_of(&name);
        let fields = prost[&name]
            .iter()
            .map(|field| (field.tag, json_field(&prost, definition, field)))
            .collect::<BTreeMap<_, _>>();
        for field in fields.values() {
            if definition.is_none_or(|definition| !definition.properties.contains_key(&field.json_name)) {
                eprintln!("{name} field {} {}: not in 1.32 (inline: {})", field.tag, field.json_name, field.inline);
            }
        }
        table.insert(&name, fields);
    }
    let mut dropped = kubectl_zero_facts(&table);
    captured_body_zero_facts(&table, &mut dropped);
    let mut with_facts = MessageTable::default();
    for (name, fields) in table.messages() {
        let definition = definition_of(name);
        let fields = fields
            .iter()
            .map(|(tag, field)| {
                let mut field = field.clone();
                field.keep_zero = keep_zero(definition, &field, dropped.get(&(name.clone(), *tag)).copied());
                (*tag, field)
            })
            .collect();
        with_facts.insert(name, fields);
    }
    with_facts
}

/// Whether a zero scalar of this field stays in the JSON: always for required fields, as kubectl
/// showed for the fields its bodies reach, and by type for the rest.
fn keep_zero(definition: Option<&Schema>, field: &Field, dropped_by_kubectl: Option<bool>) -> bool {
    if field.cardinality != Cardinality::Single || matches!(field.field_type, FieldType::Message(_)) {
        return false;
    }
    if definition.is_some_and(|definition| definition.required.contains(&field.json_name)) {
        return true;
    }
    match dropped_by_kubectl {
        Some(dropped) => !dropped,
        None => !matches!(field.field_type, FieldType::String | FieldType::Bytes),
    }
}

/// The JSON side of one field: its name, or inlining when the definition has no such field but
/// has every field of the field's message.
fn json_field(prost: &BTreeMap<String, Vec<ProstField>>, definition: Option<&Schema>, field: &ProstField) -> Field {
    let matching = definition.and_then(|definition| {
        definition.properties.keys().find(|property| normalized(property) == normalized(&field.proto_name))
    });
    let inline = matching.is_none()
        && field.cardinality == Cardinality::Single
        && match (&field.field_type, definition) {
            (FieldType::Message(message), Some(definition)) => prost.get(message).is_some_and(|children| {
                !children.is_empty()
                    && children.iter().all(|child| {
                        definition
                            .properties
                            .keys()
                            .any(|property| normalized(property) == normalized(&child.proto_name))
                    })
            }),
            _ => false,
        };
    let json_name = match matching {
        Some(property) => property.clone(),
        None => lower_camel_case(&field.proto_name),
    };
    Field {
        tag: field.tag,
        json_name,
        field_type: field.field_type.clone(),
        cardinality: field.cardinality,
        keep_zero: false,
        inline,
    }
}

/// Messages without a definition of their own whose fields Go inlines into a parent
/// (`VolumeSource` into `Volume`): the parent's definition names their fields.
fn inlining_parents(prost: &BTreeMap<String, Vec<ProstField>>) -> BTreeMap<String, String> {
    let facts = schema_facts::kubernetes();
    let mut parents = BTreeMap::new();
    for (name, fields) in prost {
        let Some(definition) = facts.definition(&format!("io.k8s.{name}")) else { continue };
        for field in fields {
            if let FieldType::Message(child) = &field.field_type
                && facts.definition(&format!("io.k8s.{child}")).is_none()
                && json_field(prost, Some(definition), field).inline
            {
                parents.insert(child.clone(), name.clone());
            }
        }
    }
    parents
}

fn normalized(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

fn lower_camel_case(snake: &str) -> String {
    let mut text = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            text.extend(c.to_uppercase());
            upper = false;
        } else {
            text.push(c);
        }
    }
    text
}

/// Every message reachable from the served kinds and the extra roots, special messages excluded.
fn reachable(prost: &BTreeMap<String, Vec<ProstField>>) -> BTreeSet<String> {
    let mut roots: Vec<String> =
        RESOURCES.iter().filter_map(|resource| message_name_of_kind(resource.api_version, resource.kind)).collect();
    roots.extend(EXTRA_ROOTS.iter().map(|root| root.to_string()));
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = roots.into_iter().collect();
    while let Some(name) = queue.pop_front() {
        if Special::of(&name).is_some() || !seen.insert(name.clone()) {
            continue;
        }
        let fields = prost.get(&name).unwrap_or_else(|| panic!("k8s-pb has no message {name}"));
        for field in fields {
            if let FieldType::Message(message) = &field.field_type {
                queue.push_back(message.clone());
            }
        }
    }
    seen
}

/// Every message of the k8s-pb sources, by table name: prost's spelling of a name
/// (`HttpIngressPath`) replaced by Kubernetes' (`HTTPIngressPath`, as the OpenAPI document and
/// the `.proto` files have it) where the document has the type.
fn parse_sources(source: &Path) -> BTreeMap<String, Vec<ProstField>> {
    let mut messages = BTreeMap::new();
    for folder in SOURCE_FOLDERS {
        parse_folder(&source.join(folder), &[folder.to_string()], &mut messages);
    }
    let definitions: BTreeMap<String, String> = schema_facts::kubernetes()
        .definitions()
        .keys()
        .filter_map(|name| name.strip_prefix("io.k8s."))
        .map(|name| (name.to_lowercase(), name.to_string()))
        .collect();
    let kubernetes_name =
        |name: &str| definitions.get(&name.to_lowercase()).cloned().unwrap_or_else(|| name.to_string());
    messages
        .into_iter()
        .map(|(name, fields)| {
            let fields = fields
                .into_iter()
                .map(|mut field| {
                    if let FieldType::Message(message) = &field.field_type {
                        field.field_type = FieldType::Message(kubernetes_name(message));
                    }
                    field
                })
                .collect();
            (kubernetes_name(&name), fields)
        })
        .collect()
}

fn parse_folder(folder: &Path, module: &[String], messages: &mut BTreeMap<String, Vec<ProstField>>) {
    let mod_rs = folder.join("mod.rs");
    let text = std::fs::read_to_string(&mod_rs).unwrap_or_else(|error| panic!("{}: {error}", mod_rs.display()));
    parse_module(&text, module, messages);
    let mut children: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("read a k8s-pb folder")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    children.sort();
    for child in children {
        let mut child_module = module.to_vec();
        child_module.push(child.file_name().expect("a folder name").to_string_lossy().into_owned());
        parse_folder(&child, &child_module, messages);
    }
}

/// Reads the structs of one prost module: `pub struct Name {`, then `#[prost(...)]` attributes
/// each followed by a field declaration (which may wrap onto following lines).
fn parse_module(text: &str, module: &[String], messages: &mut BTreeMap<String, Vec<ProstField>>) {
    let mut current: Option<String> = None;
    let mut attribute: Option<String> = None;
    let mut declaration = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let name = rest.trim_end_matches(" {").trim().to_string();
            let full = format!("{}.{name}", module.join("."));
            messages.insert(full.clone(), Vec::new());
            current = Some(full);
        } else if let Some(inner) = line.strip_prefix("#[prost(").and_then(|rest| rest.strip_suffix(")]")) {
            attribute = Some(inner.to_string());
            declaration.clear();
        } else if let Some(attributes) = &attribute {
            declaration.push_str(line);
            let balanced = declaration.matches('<').count() == declaration.matches('>').count();
            if line.ends_with(',') && balanced {
                let message = current.as_ref().expect("a field inside a struct");
                let field = parse_field(attributes, &declaration, module);
                messages.get_mut(message).expect("the current struct").push(field);
                attribute = None;
            }
        }
    }
}

fn parse_field(attributes: &str, declaration: &str, module: &[String]) -> ProstField {
    let (name, rust_type) = declaration
        .strip_prefix("pub ")
        .and_then(|rest| rest.split_once(':'))
        .unwrap_or_else(|| panic!("a field declaration: {declaration}"));
    let proto_name = name.trim().trim_start_matches("r#").to_string();
    let tag = attributes
        .split("tag = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("a tag in {attributes}"));
    let (cardinality, type_word) = match attributes.strip_prefix("btree_map = \"string, ") {
        Some(rest) => (Cardinality::Map, rest.split('"').next().unwrap_or_default()),
        None => {
            let cardinality = if attributes.contains("repeated") { Cardinality::Repeated } else { Cardinality::Single };
            (cardinality, attributes.split([',', ' ']).next().unwrap_or_default())
        }
    };
    let field_type = match (type_word, FieldType::parse(type_word)) {
        ("message", _) => FieldType::Message(resolve_message_path(rust_type, module)),
        (other, FieldType::Message(_)) => panic!("unsupported prost type {other} in {attributes}"),
        (_, scalar) => scalar,
    };
    ProstField { tag, proto_name, field_type, cardinality }
}

/// The table name of the message a Rust field type names: the last type argument with its
/// wrappers removed, `super::` resolved against the module.
fn resolve_message_path(rust_type: &str, module: &[String]) -> String {
    let unwrapped = rust_type.trim().trim_end_matches([',', '>', ' ']);
    let path = unwrapped.rsplit([',', '<']).next().unwrap_or_default().trim();
    let mut resolved = module.to_vec();
    let mut segments = path.split("::").filter(|segment| !segment.is_empty()).peekable();
    while segments.peek() == Some(&"super") {
        segments.next();
        resolved.pop();
    }
    resolved.extend(segments.map(str::to_string));
    resolved.join(".")
}

/// For every `(message, tag)` of a scalar that a kubectl body reached: whether kubectl dropped it.
fn kubectl_zero_facts(table: &MessageTable) -> BTreeMap<(String, u32), bool> {
    let kubectl = std::env::var("COX_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let mut dropped = BTreeMap::new();
    let set_image = ["set", "image", "--local", "-f", "-", "-o", "json", "init=kubectl-touched"];
    let set_selector = ["set", "selector", "--local", "-f", "-", "-o", "json", "kubectl=touched"];
    let set_subject = ["set", "subject", "--local", "-f", "-", "-o", "json", "--user=kubectl-touched"];
    let oracles: [(&str, &str, &[&str]); 11] = [
        ("v1", "Pod", &set_image),
        ("v1", "ReplicationController", &set_image),
        ("apps/v1", "Deployment", &set_image),
        ("apps/v1", "ReplicaSet", &set_image),
        ("apps/v1", "StatefulSet", &set_image),
        ("apps/v1", "DaemonSet", &set_image),
        ("batch/v1", "Job", &set_image),
        ("batch/v1", "CronJob", &set_image),
        ("v1", "Service", &set_selector),
        ("rbac.authorization.k8s.io/v1", "RoleBinding", &set_subject),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &set_subject),
    ];
    for (api_version, kind, arguments) in oracles {
        let message = table.of_kind(api_version, kind).expect("an oracle kind is in the table");
        let mut body = zero_object(table, message, 0);
        body.insert("apiVersion".into(), json!(api_version));
        body.insert("kind".into(), json!(kind));
        let mut body = Value::Object(body);
        name_init_containers(&mut body);
        let output = run_kubectl(&kubectl, arguments, &body);
        observe(table, message, &body, &output, &mut dropped);
    }
    dropped
}

/// The bodies kubectl's generators sent (`testdata/*.pb`) against the JSON kubectl prints for the
/// same objects: a zero the wire carries that the JSON lacks belongs to an `omitempty` value.
fn captured_body_zero_facts(table: &MessageTable, dropped: &mut BTreeMap<(String, u32), bool>) {
    let mut keeping = MessageTable::default();
    for (name, fields) in table.messages() {
        let fields = fields.iter().map(|(tag, field)| (*tag, Field { keep_zero: true, ..field.clone() })).collect();
        keeping.insert(name, fields);
    }
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/object/protobuf/testdata");
    let mut bodies: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("the captured bodies")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "pb"))
        .collect();
    bodies.sort();
    for path in bodies {
        let body = std::fs::read(&path).expect("a captured body");
        let printed: Value = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("json")).expect("kubectl's JSON of the body"),
        )
        .expect("JSON");
        let sent = super::decode_with(&keeping, &body, 0).expect("a captured body decodes");
        let message = table
            .of_kind(printed["apiVersion"].as_str().unwrap_or_default(), printed["kind"].as_str().unwrap_or_default());
        observe(table, message.expect("a captured kind"), &sent, &printed, dropped);
    }
}

fn run_kubectl(kubectl: &str, arguments: &[&str], body: &Value) -> Value {
    let mut child = Command::new(kubectl)
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("run {kubectl}: {error}"));
    child.stdin.take().expect("stdin").write_all(body.to_string().as_bytes()).expect("write the body to kubectl");
    let output = child.wait_with_output().expect("kubectl finishes");
    assert!(output.status.success(), "kubectl {arguments:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("kubectl prints JSON")
}

/// `kubectl set image` needs a container it can name: every init container is called `init`
/// (its image changes; the regular containers keep every zero).
fn name_init_containers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "initContainers"
                    && let Value::Array(containers) = child
                {
                    for container in containers {
                        container["name"] = json!("init");
                    }
                } else {
                    name_init_containers(child);
                }
            }
        }
        Value::Array(elements) => elements.iter_mut().for_each(name_init_containers),
        _ => {}
    }
}

/// How deep the zero bodies go: deeper than any served kind's nesting.
const ZERO_OBJECT_DEPTH_MAX: usize = 40;

/// An object of `message` with every scalar at its zero, every list and map one element long,
/// and every special message at a valid non-zero value.
fn zero_object(table: &MessageTable, message: &str, depth: usize) -> Map<String, Value> {
    let mut object = Map::new();
    if depth > ZERO_OBJECT_DEPTH_MAX {
        return object;
    }
    for field in table.message(message).into_iter().flat_map(|fields| fields.values()) {
        let element = match &field.field_type {
            FieldType::String | FieldType::Bytes => json!(""),
            FieldType::Int32 | FieldType::Int64 | FieldType::Double => json!(0),
            FieldType::Bool => json!(false),
            FieldType::Message(child) => match Special::of(child) {
                Some(special) => special_sample(special),
                None if field.inline => {
                    object.extend(zero_object(table, child, depth + 1));
                    continue;
                }
                None => Value::Object(zero_object(table, child, depth + 1)),
            },
        };
        let value = match field.cardinality {
            Cardinality::Single => element,
            Cardinality::Repeated => json!([with_merge_key(message, &field.json_name, element)]),
            Cardinality::Map => json!({ "k": element }),
        };
        object.insert(field.json_name.clone(), value);
    }
    object
}

/// kubectl computes a strategic merge patch, which needs every element of a merged list to carry
/// its merge key: a string key gets a value (and so tells nothing about zero values).
fn with_merge_key(message: &str, list: &str, mut element: Value) -> Value {
    let facts = schema_facts::kubernetes();
    let key = facts
        .definition(&format!("io.k8s.{message}"))
        .and_then(|definition| definition.properties.get(list))
        .and_then(|property| property.patch_merge_key.clone());
    if let (Some(key), Value::Object(object)) = (key, &mut element)
        && object.get(&key).is_none_or(|value| value.is_string())
    {
        object.insert(key, json!("kubectl-key"));
    }
    element
}

fn special_sample(special: Special) -> Value {
    match special {
        Special::Time => json!("2024-01-02T03:04:05Z"),
        Special::MicroTime => json!("2024-01-02T03:04:05.000006Z"),
        Special::Duration => json!("1s"),
        Special::FieldsV1 | Special::RawExtension => json!({}),
        Special::Quantity => json!("1"),
        Special::IntOrString => json!(1),
    }
}

/// Walks kubectl's output beside the body it was given, noting for each zero scalar sent whether
/// it survived. A field dropped anywhere is dropped: only `omitempty` values are ever dropped.
fn observe(
    table: &MessageTable,
    message: &str,
    sent: &Value,
    output: &Value,
    dropped: &mut BTreeMap<(String, u32), bool>,
) {
    let (Some(sent_object), Some(object)) = (sent.as_object(), output.as_object()) else { return };
    for field in table.message(message).into_iter().flat_map(|fields| fields.values()) {
        let (sent_value, value) = (sent_object.get(&field.json_name), object.get(&field.json_name));
        let element = |value: Option<&Value>| -> Value {
            match field.cardinality {
                Cardinality::Single => value.cloned().unwrap_or_default(),
                Cardinality::Repeated => value.and_then(|value| value.get(0)).cloned().unwrap_or_default(),
                Cardinality::Map => value.and_then(|value| value.get("k")).cloned().unwrap_or_default(),
            }
        };
        match &field.field_type {
            FieldType::Message(child) if Special::of(child).is_some() => {}
            FieldType::Message(child) if field.inline => observe(table, child, sent, output, dropped),
            FieldType::Message(child) => observe(table, child, &element(sent_value), &element(value), dropped),
            _ if field.cardinality == Cardinality::Single && sent_value.is_some_and(is_zero) => {
                *dropped.entry((message.to_string(), field.tag)).or_insert(false) |= value.is_none();
            }
            _ => {}
        }
    }
}

fn is_zero(value: &Value) -> bool {
    matches!(value, Value::String(text) if text.is_empty())
        || matches!(value, Value::Bool(false))
        || value.as_f64() == Some(0.0)
}
