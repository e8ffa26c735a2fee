//! The one-pass decoder agrees with the slow way round (decode with paths tracked, encode back,
//! compare the trees) on objects with fields of every kind added anywhere in them.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{round_trip, round_trip_with_paths};

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "team", "labels": {"app": "web"}, "annotations": {"a": "b"}},
        "spec": {
            "containers": [
                {"name": "web", "image": "nginx", "ports": [{"name": "http", "containerPort": 80}],
                 "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                 "resources": {"limits": {"cpu": "1"}}, "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}},
                {"name": "sidecar", "image": "proxy", "args": ["--a"]}
            ],
            "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}],
            "restartPolicy": "Always"
        }
    })
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"rollingUpdate": {"maxSurge": "25%"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    })
}

/// Inserts `key: added` into the `choice`-th mapping of `value` (in depth-first order, counting
/// modulo the number of mappings).
fn insert_into_mapping(value: &mut Value, choice: usize, key: &str, added: Value) {
    fn count(value: &Value) -> usize {
        match value {
            Value::Object(map) => 1 + map.values().map(count).sum::<usize>(),
            Value::Array(items) => items.iter().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(value: &mut Value, target: &mut usize, key: &str, added: &mut Option<Value>) {
        match value {
            Value::Object(map) => {
                if *target == 0 {
                    if let Some(added) = added.take() {
                        map.insert(key.to_string(), added);
                    }
                    return;
                }
                *target -= 1;
                map.values_mut().for_each(|child| walk(child, target, key, added));
            }
            Value::Array(items) => items.iter_mut().for_each(|child| walk(child, target, key, added)),
            _ => {}
        }
    }
    let mut target = choice % count(value);
    walk(value, &mut target, key, &mut Some(added));
}

fn with_insertions(mut value: Value, insertions: Vec<(usize, &str, Value)>) -> Value {
    for (choice, key, added) in insertions {
        insert_into_mapping(&mut value, choice, key, added);
    }
    value
}

fn keys() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "name",
        "image",
        "ports",
        "labels",
        "containerPort",
        "spec",
        "metadata",
        "limits",
        "bogus",
        "imagePullPolice",
        "x.y",
        "apiVersion",
        "status",
        "args",
    ])
}

fn values() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        Value::Null,
        json!("text"),
        json!(7),
        json!(1.5),
        json!(true),
        json!({"a": 1}),
        json!({"name": "n", "extra": null}),
        json!([1]),
        json!([{"name": "n", "bogus": 2}]),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn one_pass_and_slow_decoding_agree_on_pods(
        insertions in prop::collection::vec((any::<usize>(), keys(), values()), 1..4),
    ) {
        let value = with_insertions(pod(), insertions);
        prop_assert_eq!(round_trip::<Pod>(&value), round_trip_with_paths::<Pod>(&value));
    }

    #[test]
    fn one_pass_and_slow_decoding_agree_on_deployments(
        insertions in prop::collection::vec((any::<usize>(), keys(), values()), 1..4),
    ) {
        let value = with_insertions(deployment(), insertions);
        prop_assert_eq!(round_trip::<Deployment>(&value), round_trip_with_paths::<Deployment>(&value));
    }
}
