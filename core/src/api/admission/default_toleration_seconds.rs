//! The DefaultTolerationSeconds admission plugin (`plugin/pkg/admission/defaulttolerationseconds`).

use serde_json::{Value, json};

use crate::object::Object;

/// How long a pod tolerates its node being not-ready or unreachable before the taint eviction
/// controller evicts it, when it names no such toleration: 300 s
/// (`--default-not-ready-toleration-seconds`, `--default-unreachable-toleration-seconds`).
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// The DefaultTolerationSeconds admission plugin: a new pod that does not tolerate the
/// `node.kubernetes.io/not-ready` or `node.kubernetes.io/unreachable` NoExecute taint (by that
/// key or an empty one, with that effect or an empty one) gets an `Exists` toleration of it for
/// [`DEFAULT_TOLERATION_SECONDS`].
pub(super) fn add_default_toleration_seconds(object: &mut Object) {
    if object.kind != "Pod" {
        return;
    }
    let Some(Value::Object(spec)) = object.fields.get_mut("spec") else { return };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    let Value::Array(tolerations) = tolerations else { return };
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        let tolerated = tolerations.iter().any(|toleration| {
            let field = |name: &str| toleration.get(name).and_then(Value::as_str).unwrap_or("");
            (field("key") == key || field("key").is_empty())
                && (field("effect") == "NoExecute" || field("effect").is_empty())
        });
        if !tolerated {
            tolerations.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}
