//! The TaintNodesByCondition admission plugin (`plugin/pkg/admission/nodetaint`): a new Node
//! starts with the `node.kubernetes.io/not-ready:NoSchedule` taint, so that no pod is scheduled
//! to it before the node lifecycle controller has seen it Ready and lifted the taint.

use serde_json::{Value, json};

use crate::object::Object;

/// The taint a node carries while it is not Ready (`v1.TaintNodeNotReady`).
pub const NOT_READY_NO_SCHEDULE_TAINT_KEY: &str = "node.kubernetes.io/not-ready";

/// Adds the not-ready NoSchedule taint to a new Node that does not carry it yet.
pub(super) fn admit(object: &mut Object) {
    if object.kind != "Node" {
        return;
    }
    let spec = object.fields.entry("spec").or_insert_with(|| json!({}));
    let Value::Object(spec) = spec else { return };
    let taints = spec.entry("taints").or_insert_with(|| json!([]));
    if taints.is_null() {
        *taints = json!([]);
    }
    let Value::Array(taints) = taints else { return };
    let has = taints.iter().any(|taint| {
        taint.get("key").and_then(Value::as_str) == Some(NOT_READY_NO_SCHEDULE_TAINT_KEY)
            && taint.get("effect").and_then(Value::as_str) == Some("NoSchedule")
    });
    if !has {
        taints.push(json!({"key": NOT_READY_NO_SCHEDULE_TAINT_KEY, "effect": "NoSchedule"}));
    }
}

#[cfg(test)]
mod tests {
    //! Rows from Kubernetes' `TestNodeTaints` (`plugin/pkg/admission/nodetaint/admission_test.go`).

    use super::*;

    fn node(spec: Value) -> Object {
        Object::from_value(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "mynode"}, "spec": spec}))
            .unwrap()
    }

    #[test]
    fn a_new_node_gets_the_not_ready_taint_once() {
        let not_ready = json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"});
        let other = json!({"key": "foo", "value": "bar", "effect": "NoExecute"});
        let rows = [
            ("notReady taint is added on creation", json!({}), json!([not_ready])),
            ("already tainted node is not tainted again", json!({"taints": [not_ready]}), json!([not_ready])),
            ("NotReady taint is added to an unrelated taint", json!({"taints": [other]}), json!([other, not_ready])),
        ];
        for (name, spec, expected) in rows {
            let mut object = node(spec);
            admit(&mut object);
            assert_eq!(object.fields["spec"]["taints"], expected, "{name}");
        }
    }

    #[test]
    fn other_kinds_are_left_alone() {
        let mut pod = Object::from_value(json!({"apiVersion": "v1", "kind": "Pod", "spec": {}})).unwrap();
        admit(&mut pod);
        assert_eq!(pod.fields["spec"], json!({}));
    }
}
