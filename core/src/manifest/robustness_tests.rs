//! Malformed input of every shape gives entries or errors, never a panic, and no object is
//! silently dropped: property tests over random bytes, random mutations of a valid manifest and
//! random YAML structures, plus snapshots of the messages a person reads.

use proptest::prelude::*;

use super::{ManifestEntry, read_manifest};

const VALID: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports:\n        - containerPort: 80\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n";

/// Random YAML built from the pieces manifests are made of: the keys of real kinds, nested
/// mappings and sequences, scalars of every type, anchors and aliases.
fn yaml_node(depth: u32) -> BoxedStrategy<String> {
    let scalar = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("yes".to_string()),
        any::<i64>().prop_map(|number| number.to_string()),
        Just("1.5e3".to_string()),
        Just("100m".to_string()),
        "[a-z0-9:/._-]{0,12}",
        Just("\"quoted: string\"".to_string()),
        Just("*missing".to_string()),
        Just("&anchor value".to_string()),
    ];
    if depth == 0 {
        return scalar.boxed();
    }
    let key = prop_oneof![
        Just("apiVersion"),
        Just("kind"),
        Just("metadata"),
        Just("name"),
        Just("spec"),
        Just("containers"),
        Just("image"),
        Just("ports"),
        Just("containerPort"),
        Just("replicas"),
        Just("selector"),
        Just("labels"),
        Just("items"),
        Just("unknownField"),
    ];
    prop_oneof![
        scalar,
        prop::collection::vec((key, yaml_node(depth - 1)), 0..4).prop_map(|entries| {
            let inner: Vec<String> = entries.iter().map(|(key, value)| format!("{key}: {value}")).collect();
            format!("{{{}}}", inner.join(", "))
        }),
        prop::collection::vec(yaml_node(depth - 1), 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
    ]
    .boxed()
}

fn type_header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("apiVersion: v1\nkind: Pod\n".to_string()),
        Just("apiVersion: apps/v1\nkind: Deployment\n".to_string()),
        Just("apiVersion: v1\nkind: List\n".to_string()),
        Just("apiVersion: example.com/v1\nkind: Widget\n".to_string()),
        Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_manifest("random", &bytes);
    }

    #[test]
    fn mutations_of_a_valid_manifest_never_panic(cuts in prop::collection::vec((0..VALID.len(), 0..4usize, "[-:{}\\[\\]&*! \n#a1]{0,3}"), 1..6)) {
        let mut text = VALID.to_string();
        for (at, remove, insert) in cuts {
            let at = at.min(text.len());
            let end = (at + remove).min(text.len());
            if text.is_char_boundary(at) && text.is_char_boundary(end) {
                text.replace_range(at..end, &insert);
            }
        }
        let _ = read_manifest("mutated", text.as_bytes());
    }

    #[test]
    fn every_random_document_becomes_exactly_one_entry(header in type_header(), body in yaml_node(3), count in 1..4usize) {
        let document = format!("{header}metadata: {{name: x}}\nspec: {body}\n");
        let stream = vec![document; count].join("---\n");
        let entries = read_manifest("generated", stream.as_bytes()).unwrap();
        // A List expands into its items; anything else is one entry per document, whatever it holds.
        if !header.contains("kind: List") {
            prop_assert_eq!(entries.len(), count);
        }
        for entry in &entries {
            if let ManifestEntry::Invalid { message, .. } = entry {
                prop_assert!(!message.is_empty());
            }
        }
    }
}

fn describe(text: &str) -> String {
    match read_manifest("example.yaml", text.as_bytes()) {
        Err(error) => error.to_string(),
        Ok(entries) => entries
            .iter()
            .map(|entry| match entry {
                ManifestEntry::Decoded { source, resource, object } => {
                    format!("OK {} {} {} at {source}", resource.api_version, resource.kind, object.name())
                }
                ManifestEntry::Unsupported { source, identity } => {
                    format!("UNSUPPORTED {} {} at {source}", identity.api_version, identity.kind)
                }
                ManifestEntry::Invalid { source, message, .. } => format!("INVALID at {source}: {message}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn error_messages_read_well() {
    let cases = [
        ("unclosed flow mapping", "apiVersion: v1\nkind: Pod\nmetadata: {name: p\n"),
        ("tab indentation", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: p\n"),
        ("duplicate key", "apiVersion: v1\nkind: ConfigMap\nkind: Secret\n"),
        ("missing kind", "apiVersion: v1\nmetadata: {name: p}\n"),
        ("wrong version", "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: d}\n"),
        ("custom resource", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\n"),
        ("wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: three\n"),
        (
            "unknown nested field",
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: 80\n    targetPorts: 8080\n",
        ),
        ("not a mapping", "- just\n- a list\n"),
        ("undefined alias", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: *nowhere}\n"),
    ];
    let report: Vec<String> = cases.iter().map(|(name, text)| format!("## {name}\n{}", describe(text))).collect();
    insta::assert_snapshot!(report.join("\n\n"));
}
