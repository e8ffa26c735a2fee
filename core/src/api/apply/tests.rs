//! Server-side apply and managed fields through `ApiServer::handle`, request by request, with
//! rows ported from Kubernetes' test/integration/apiserver/apply/apply_test.go (test names cited).

use serde_json::{Value, json};

use crate::api::tests::{deployment, send, server};
use crate::api::{ApiRequest, ApiServer, Method};
use crate::store::MemoryStore;

const APPLY: &str = "application/apply-patch+yaml";
const MERGE: &str = "application/merge-patch+json";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";

fn apply(server: &mut ApiServer<MemoryStore>, path: &str, query: &str, body: &Value) -> (u16, Value) {
    let request =
        ApiRequest::new(Method::Patch, &format!("{path}?{query}")).with_body(APPLY, body.to_string().into_bytes());
    send(server, request)
}

fn merge_patch(server: &mut ApiServer<MemoryStore>, path: &str, query: &str, body: &Value) -> (u16, Value) {
    let request =
        ApiRequest::new(Method::Patch, &format!("{path}?{query}")).with_body(MERGE, body.to_string().into_bytes());
    send(server, request)
}

/// The managed fields entry of `manager`.
fn entry<'v>(object: &'v Value, manager: &str) -> &'v Value {
    object["metadata"]["managedFields"]
        .as_array()
        .and_then(|entries| entries.iter().find(|entry| entry["manager"] == manager))
        .unwrap_or_else(|| panic!("no entry for {manager} in {}", object["metadata"]["managedFields"]))
}

fn config_map(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}}, "data": data})
}

/// TestApplyAlsoCreates.
#[test]
fn apply_creates_the_object_when_it_does_not_exist() {
    let mut server = server();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "test-pod"},
                     "spec": {"containers": [{"name": "test-container", "image": "test-image"}]}});
    let (status, body) =
        apply(&mut server, "/api/v1/namespaces/default/pods/test-pod", "fieldManager=apply_test", &pod);
    assert_eq!(status, 201, "{body}");
    let applier = entry(&body, "apply_test");
    assert_eq!(applier["operation"], "Apply");
    assert_eq!(applier["time"], "2026-01-01T00:00:00Z");
    assert_eq!(
        applier["fieldsV1"],
        json!({"f:spec": {"f:containers": {"k:{\"name\":\"test-container\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
    );
    let (status, _) = send(&mut server, ApiRequest::new(Method::Get, "/api/v1/namespaces/default/pods/test-pod"));
    assert_eq!(status, 200);
}

/// TestApplyRequiresFieldManager.
#[test]
fn apply_requires_a_field_manager() {
    let mut server = server();
    let (status, body) =
        apply(&mut server, &format!("{CONFIG_MAPS}/test-cm"), "", &config_map(json!({"key": "value"})));
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
}

/// TestApplyManagedFields: the applier keeps the label; the updater takes `data.key` and owns the
/// key it added.
#[test]
fn apply_then_update_records_both_managers_and_moves_the_changed_field() {
    let mut server = server();
    let (status, body) = apply(
        &mut server,
        &format!("{CONFIG_MAPS}/test-cm"),
        "fieldManager=apply_test",
        &config_map(json!({"key": "value"})),
    );
    assert_eq!(status, 201, "{body}");
    let patch = json!({"data": {"key": "new value", "new-key": "value"}});
    let (status, body) = merge_patch(&mut server, &format!("{CONFIG_MAPS}/test-cm"), "fieldManager=updater", &patch);
    assert_eq!(status, 200, "{body}");
    let entries = body["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["manager"], "apply_test");
    assert_eq!(entries[0]["fieldsV1"], json!({"f:metadata": {"f:labels": {"f:test-label": {}}}}));
    assert_eq!(entries[1]["manager"], "updater");
    assert_eq!(entries[1]["operation"], "Update");
    assert_eq!(entries[1]["apiVersion"], "v1");
    assert_eq!(entries[1]["fieldsType"], "FieldsV1");
    assert_eq!(entries[1]["fieldsV1"], json!({"f:data": {"f:key": {}, "f:new-key": {}}}));
}

/// TestApplyUpdateApplyConflictForced: an update takes `spec.replicas`; re-applying another value
/// conflicts in Kubernetes' words, and `force=true` takes the field back.
#[test]
fn apply_conflicts_with_the_updater_that_changed_a_field_unless_forced() {
    let mut server = server();
    let path = format!("{DEPLOYMENTS}/web");
    let (status, body) = apply(&mut server, &path, "fieldManager=apply_test", &deployment("web", "nginx"));
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        merge_patch(&mut server, &path, "fieldManager=kubectl-edit", &json!({"spec": {"replicas": 5}}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = apply(&mut server, &path, "fieldManager=apply_test", &deployment("web", "nginx"));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["reason"], "Conflict");
    assert_eq!(
        body["message"],
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        body["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-edit\" using apps/v1", "field": ".spec.replicas"}])
    );
    let (status, body) = apply(&mut server, &path, "fieldManager=apply_test&force=true", &deployment("web", "nginx"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["spec"]["replicas"], 2);
    let managers: Vec<&Value> =
        body["metadata"]["managedFields"].as_array().unwrap().iter().map(|e| &e["manager"]).collect();
    assert_eq!(managers, [&json!("apply_test")], "kubectl-edit owned only replicas and lost it");
}

#[test]
fn conflicts_with_several_managers_are_listed_under_each_manager() {
    let mut server = server();
    let path = format!("{CONFIG_MAPS}/test-cm");
    apply(&mut server, &path, "fieldManager=first", &config_map(json!({"a": "1", "b": "1"})));
    merge_patch(&mut server, &path, "fieldManager=second", &json!({"data": {"a": "2", "b": "2"}}));
    merge_patch(&mut server, &path, "fieldManager=third", &json!({"data": {"c": "3"}}));
    let (status, body) =
        apply(&mut server, &path, "fieldManager=fourth", &config_map(json!({"a": "4", "b": "4", "c": "4"})));
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["message"],
        "Apply failed with 3 conflicts: conflicts with \"second\" using v1:\n- .data.a\n- .data.b\nconflicts with \"third\" using v1:\n- .data.c"
    );
}

/// TestApplyRemoveContainerPort: a field the same manager applied before and no longer applies
/// is removed.
#[test]
fn a_field_the_applier_no_longer_applies_is_removed() {
    let mut server = server();
    let path = format!("{DEPLOYMENTS}/web");
    let mut with_port = deployment("web", "nginx");
    with_port["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
    let (status, body) = apply(&mut server, &path, "fieldManager=apply_test", &with_port);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
    let (status, body) = apply(&mut server, &path, "fieldManager=apply_test", &deployment("web", "nginx"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["spec"]["template"]["spec"]["containers"][0].get("ports"), None, "{body}");
}

/// A field another manager also owns survives when one applier drops it.
#[test]
fn a_dropped_field_another_manager_owns_stays() {
    let mut server = server();
    let path = format!("{CONFIG_MAPS}/test-cm");
    apply(&mut server, &path, "fieldManager=one", &config_map(json!({"a": "1", "b": "1"})));
    let (status, _) = apply(&mut server, &path, "fieldManager=two", &config_map(json!({"b": "1"})));
    assert_eq!(status, 200, "the same value is shared ownership, not a conflict");
    let (status, body) = apply(&mut server, &path, "fieldManager=one", &config_map(json!({"a": "1"})));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({"a": "1", "b": "1"}));
    let (_, body) = apply(&mut server, &path, "fieldManager=two", &config_map(json!({})));
    assert_eq!(body["data"], json!({"a": "1"}));
}

/// The CoreDNS case and TestDefaultMissingKeys: ports are a map list keyed by containerPort and
/// protocol (protocol defaulting to TCP), so 53/UDP and 53/TCP are two elements, each owned.
#[test]
fn coredns_ports_53_udp_and_tcp_stay_two_entries_under_apply() {
    let mut server = server();
    let mut coredns = deployment("coredns", "coredns/coredns:1.11.1");
    coredns["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([
        {"containerPort": 53, "name": "dns", "protocol": "UDP"},
        {"containerPort": 53, "name": "dns-tcp"},
        {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}
    ]);
    let (status, body) = apply(&mut server, &format!("{DEPLOYMENTS}/coredns"), "fieldManager=kubectl", &coredns);
    assert_eq!(status, 201, "{body}");
    let ports = body["spec"]["template"]["spec"]["containers"][0]["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 3, "{ports:?}");
    let fields = &entry(&body, "kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"main\"}"]
        ["f:ports"];
    let keys: Vec<&String> = fields.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "k:{\"containerPort\":53,\"protocol\":\"TCP\"}",
            "k:{\"containerPort\":53,\"protocol\":\"UDP\"}",
            "k:{\"containerPort\":9153,\"protocol\":\"TCP\"}"
        ]
    );
    assert_eq!(
        fields["k:{\"containerPort\":53,\"protocol\":\"UDP\"}"],
        json!({".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}})
    );
}

/// TestApplyCanTransferFieldOwnershipToController: once a controller's update owns
/// `spec.replicas`, an applier that stops applying it does not remove it.
#[test]
fn an_applier_dropping_a_field_an_updater_took_leaves_it() {
    let mut server = server();
    let path = format!("{DEPLOYMENTS}/web");
    apply(&mut server, &path, "fieldManager=apply_test", &deployment("web", "nginx"));
    let (status, _) = merge_patch(&mut server, &path, "fieldManager=controller", &json!({"spec": {"replicas": 4}}));
    assert_eq!(status, 200);
    let mut without_replicas = deployment("web", "nginx");
    without_replicas["spec"].as_object_mut().unwrap().shift_remove("replicas");
    let (status, body) = apply(&mut server, &path, "fieldManager=apply_test", &without_replicas);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["spec"]["replicas"], 4);
    assert_eq!(entry(&body, "controller")["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
}

/// Managed fields of a create: the manager from the user agent, maps and list elements the write
/// added marked with `.`, identity metadata never owned.
#[test]
fn a_create_records_an_update_entry_named_from_the_user_agent() {
    let mut server = server();
    let request = ApiRequest::new(Method::Post, CONFIG_MAPS)
        .with_json(&config_map(json!({"key": "value"})))
        .with_header("User-Agent", "kube-controller-manager/v1.32.0 (linux/amd64) kubernetes/70d3cc9");
    let (status, body) = send(&mut server, request);
    assert_eq!(status, 201, "{body}");
    let created = entry(&body, "kube-controller-manager");
    assert_eq!(created["operation"], "Update");
    assert_eq!(created["apiVersion"], "v1");
    assert_eq!(
        created["fieldsV1"],
        json!({"f:data": {".": {}, "f:key": {}}, "f:metadata": {"f:labels": {".": {}, "f:test-label": {}}}})
    );
    let request = ApiRequest::new(Method::Post, CONFIG_MAPS).with_json(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "anonymous"}, "data": {"a": "b"}}),
    );
    let (_, body) = send(&mut server, request);
    assert_eq!(body["metadata"]["managedFields"][0]["manager"], "unknown");
}

/// TestClearManagedFieldsWithMergePatch: a single empty entry clears managed fields.
#[test]
fn a_single_empty_managed_fields_entry_clears_them() {
    let mut server = server();
    let path = format!("{CONFIG_MAPS}/test-cm");
    apply(&mut server, &path, "fieldManager=apply_test", &config_map(json!({"key": "value"})));
    let (status, body) = merge_patch(&mut server, &path, "", &json!({"metadata": {"managedFields": [{}]}}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metadata"].get("managedFields"), None, "{body}");
}

#[test]
fn status_writes_are_recorded_with_their_subresource() {
    let mut server = server();
    let path = format!("{DEPLOYMENTS}/web");
    apply(&mut server, &path, "fieldManager=apply_test", &deployment("web", "nginx"));
    let patch = json!({"status": {"observedGeneration": 1, "replicas": 2}});
    let (status, body) =
        merge_patch(&mut server, &format!("{path}/status"), "fieldManager=kube-controller-manager", &patch);
    assert_eq!(status, 200, "{body}");
    let writer = entry(&body, "kube-controller-manager");
    assert_eq!(writer["subresource"], "status");
    assert_eq!(writer["fieldsV1"]["f:status"]["f:replicas"], json!({}));
    let scale = json!({"spec": {"replicas": 3}});
    let (status, _) = merge_patch(&mut server, &format!("{path}/scale"), "fieldManager=kubectl-scale", &scale);
    assert_eq!(status, 200);
    let (_, body) = send(&mut server, ApiRequest::new(Method::Get, &path));
    assert_eq!(entry(&body, "kubectl-scale")["subresource"], "scale");
    assert_eq!(entry(&body, "kubectl-scale")["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
}

#[test]
fn options_are_validated_as_kubernetes_validates_them() {
    let mut server = server();
    let path = format!("{CONFIG_MAPS}/test-cm");
    apply(&mut server, &path, "fieldManager=apply_test", &config_map(json!({"key": "value"})));
    let (status, body) = merge_patch(&mut server, &path, "force=true", &json!({"data": {"x": "y"}}));
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );
    let mut with_fields = config_map(json!({}));
    with_fields["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Apply"}]);
    let (status, body) = apply(&mut server, &path, "fieldManager=apply_test", &with_fields);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "metadata.managedFields must be nil");
    let long = "m".repeat(129);
    let (status, body) = merge_patch(&mut server, &path, &format!("fieldManager={long}"), &json!({}));
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().ends_with("fieldManager: Too long: may not be more than 128 bytes"),
        "{body}"
    );
}

/// `kubectl apply` then `kubectl apply --server-side` (TestUpgradeClientSideToServerSideApply):
/// kubectl moves `kubectl-client-side-apply`'s fields to its Apply entry; the apply then takes
/// over without conflicts, removes the key the new configuration dropped, and updates the
/// last-applied annotation.
#[test]
fn client_side_apply_migrates_to_server_side_apply() {
    let mut server = server();
    let last_applied = "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"1\",\"b\":\"1\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"test-cm\",\"namespace\":\"default\"}}\n";
    let created = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
        "data": {"a": "1", "b": "1"}});
    let request = ApiRequest::new(Method::Post, &format!("{CONFIG_MAPS}?fieldManager=kubectl-client-side-apply"))
        .with_json(&created);
    let (status, live) = send(&mut server, request);
    assert_eq!(status, 201, "{live}");
    let object = crate::object::Object::from_value(live).unwrap();
    let patch =
        super::upgrade::upgrade_managed_fields_patch(&object, "kubectl").expect("a client-side apply manager to move");
    let request = ApiRequest::new(Method::Patch, &format!("{CONFIG_MAPS}/test-cm"))
        .with_body("application/json-patch+json", patch.to_string().into_bytes())
        .with_header("User-Agent", "kubectl/v1.32.0 (linux/amd64) kubernetes/70d3cc9");
    let (status, upgraded) = send(&mut server, request);
    assert_eq!(status, 200, "{upgraded}");
    assert_eq!(upgraded["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(upgraded["metadata"]["managedFields"][0]["operation"], "Apply");
    assert_eq!(upgraded["metadata"]["managedFields"].as_array().unwrap().len(), 1);

    let configuration =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-cm"}, "data": {"a": "2"}});
    let (status, body) =
        apply(&mut server, &format!("{CONFIG_MAPS}/test-cm"), "fieldManager=kubectl&force=false", &configuration);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({"a": "2"}));
    assert_eq!(
        body["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"2\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"test-cm\"}}\n"
    );
}

/// Without kubectl's upgrade patch, `kubectl` still takes over, without a conflict, the fields it
/// set through `last-applied-configuration` (the apiserver's lastAppliedManager); another manager
/// name gets the conflict.
#[test]
fn kubectl_takes_over_fields_owned_through_last_applied_configuration() {
    let mut server = server();
    let last_applied = "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"1\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"test-cm\",\"namespace\":\"default\"}}\n";
    let created = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
        "data": {"a": "1"}});
    let request = ApiRequest::new(Method::Post, &format!("{CONFIG_MAPS}?fieldManager=kubectl-client-side-apply"))
        .with_json(&created);
    assert_eq!(send(&mut server, request).0, 201);
    let configuration =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-cm"}, "data": {"a": "2"}});
    let (status, body) = apply(&mut server, &format!("{CONFIG_MAPS}/test-cm"), "fieldManager=other", &configuration);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["details"]["causes"][0]["message"], "conflict with \"kubectl-client-side-apply\" using v1");
    let (status, body) = apply(&mut server, &format!("{CONFIG_MAPS}/test-cm"), "fieldManager=kubectl", &configuration);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["a"], "2");
}

#[test]
fn a_no_op_apply_keeps_the_time_the_manager_last_changed_the_object() {
    let mut server = server();
    let path = format!("{CONFIG_MAPS}/test-cm");
    let (_, first) = apply(&mut server, &path, "fieldManager=apply_test", &config_map(json!({"key": "value"})));
    let later: jiff::Timestamp = "2026-01-01T01:00:00Z".parse().unwrap();
    let request = ApiRequest::new(Method::Patch, &format!("{path}?fieldManager=apply_test"))
        .with_body(APPLY, config_map(json!({"key": "value"})).to_string().into_bytes());
    let crate::api::ApiResponse::Json { status, body, .. } = server.handle(&request, later) else { panic!("a watch") };
    assert_eq!(status, 200, "{body}");
    assert_eq!(entry(&body, "apply_test")["time"], entry(&first, "apply_test")["time"]);
}

/// The field set of `manager`'s entry, as a JSON string to search.
fn owned(object: &Value, manager: &str) -> String {
    entry(object, manager)["fieldsV1"].to_string()
}

/// In Kubernetes an update owns the object as the decoder defaulted it, before admission and
/// the strategy's `PrepareForCreate` change it; an apply owns only what it applied, though the
/// stored object is defaulted all the same.
#[test]
fn an_update_owns_the_defaulted_fields_and_an_apply_only_what_it_applied() {
    let mut server = server();
    let request = ApiRequest::new(Method::Post, &format!("{DEPLOYMENTS}?fieldManager=creator"))
        .with_json(&deployment("web", "nginx"));
    let (status, created) = send(&mut server, request);
    assert_eq!(status, 201, "{created}");
    let creator = owned(&created, "creator");
    for defaulted in [
        "f:progressDeadlineSeconds",
        "f:revisionHistoryLimit",
        "f:maxSurge",
        "f:imagePullPolicy",
        "f:terminationMessagePath",
    ] {
        assert!(creator.contains(defaulted), "{defaulted} in {creator}");
    }

    let mut applied = deployment("api", "nginx");
    applied["metadata"]["namespace"] = json!("default");
    let (status, body) = apply(&mut server, &format!("{DEPLOYMENTS}/api"), "fieldManager=applier", &applied);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["spec"]["progressDeadlineSeconds"], 600, "the stored object is defaulted");
    let applier = owned(&body, "applier");
    for defaulted in ["f:progressDeadlineSeconds", "f:revisionHistoryLimit", "f:strategy", "f:imagePullPolicy"] {
        assert!(!applier.contains(defaulted), "{defaulted} in {applier}");
    }
    assert!(applier.contains("f:image"), "{applier}");
}

/// What admission plugins and `PrepareForCreate` add (a pod's ServiceAccount and default
/// tolerations, a Job's generated selector, a namespace's finalizer) belongs to no manager.
#[test]
fn what_admission_and_prepare_for_create_add_belongs_to_no_manager() {
    let mut server = server();
    let pod = crate::api::tests::pod("p", json!({"app": "p"}));
    let request = ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods?fieldManager=creator").with_json(&pod);
    let (status, created) = send(&mut server, request);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["spec"]["serviceAccountName"], "default");
    assert!(created["spec"]["tolerations"].as_array().is_some_and(|tolerations| tolerations.len() == 2));
    let creator = owned(&created, "creator");
    assert!(creator.contains("f:dnsPolicy") && creator.contains("f:restartPolicy"), "defaults are owned: {creator}");
    assert!(!creator.contains("f:serviceAccountName") && !creator.contains("f:tolerations"), "{creator}");

    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}});
    let request =
        ApiRequest::new(Method::Post, "/apis/batch/v1/namespaces/default/jobs?fieldManager=creator").with_json(&job);
    let (status, created) = send(&mut server, request);
    assert_eq!(status, 201, "{created}");
    assert!(created["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"].is_string());
    let creator = owned(&created, "creator");
    assert!(!creator.contains("f:selector") && !creator.contains("controller-uid"), "{creator}");
    assert!(creator.contains("f:backoffLimit"), "defaults are owned: {creator}");
}

/// Kubernetes' `TestCapManagersManagerMergesEntries` (apimachinery managedfields/internal
/// capmanagers_test.go) through the server, at the default cap of ten: after the creator
/// (`unknown`), eleven updaters each add a label a second after the last; the three oldest of
/// the twelve fold into one `ancient-changes` entry with the newest one's time.
#[test]
fn twelve_updaters_keep_ten_entries_the_oldest_folded_into_ancient_changes() {
    let mut server = server();
    assert_eq!(send(&mut server, ApiRequest::new(Method::Post, CONFIG_MAPS).with_json(&config_map(json!({})))).0, 201);
    let mut latest = Value::Null;
    for updater in 1..=11_i64 {
        let patch = json!({"metadata": {"labels": {format!("label-{updater}"): "true"}}});
        let path = format!("{CONFIG_MAPS}/test-cm?fieldManager=update-{updater}");
        let request = ApiRequest::new(Method::Patch, &path).with_body(MERGE, patch.to_string().into_bytes());
        let at = crate::api::tests::now() + jiff::SignedDuration::from_secs(updater);
        match server.handle(&request, at) {
            crate::api::ApiResponse::Json { status: 200, body, .. } => latest = body,
            other => panic!("update {updater}: {other:?}"),
        }
    }
    let managers: Vec<&str> = latest["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers.len(), 10, "{managers:?}");
    assert_eq!(managers[0], "ancient-changes");
    assert_eq!(managers[1..], (3..=11).map(|updater| format!("update-{updater}")).collect::<Vec<_>>());
    let ancient = owned(&latest, "ancient-changes");
    for label in ["f:test-label", "f:label-1", "f:label-2"] {
        assert!(ancient.contains(label), "{label} in {ancient}");
    }
    assert_eq!(entry(&latest, "ancient-changes")["time"], "2026-01-01T00:00:02Z");
    assert!(owned(&latest, "update-3").contains("f:label-3"));
}

/// A merge patch that leaves `managedFields` alone skips their round trip through the decoder;
/// what it stores must be what the same change made by a JSON patch (which takes the full
/// round trip) stores.
#[test]
fn a_merge_patch_stores_what_the_equivalent_json_patch_stores() {
    let mut server = server();
    let leases = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    for name in ["merged", "patched"] {
        let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                           "metadata": {"name": name, "labels": {"zone": "a"}},
                           "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                                    "renewTime": "2026-01-01T00:00:00.000000Z"}});
        let request = ApiRequest::new(Method::Post, &format!("{leases}?fieldManager=kubelet")).with_json(&lease);
        assert_eq!(send(&mut server, request).0, 201);
    }
    let merge = json!({"metadata": {"labels": {"tier": "node"}},
                       "spec": {"holderIdentity": "node-2", "renewTime": "2026-01-01T00:00:10.000000Z"}});
    let (status, merged) = merge_patch(&mut server, &format!("{leases}/merged"), "fieldManager=other", &merge);
    assert_eq!(status, 200, "{merged}");
    let operations = json!([
        {"op": "add", "path": "/metadata/labels/tier", "value": "node"},
        {"op": "replace", "path": "/spec/holderIdentity", "value": "node-2"},
        {"op": "replace", "path": "/spec/renewTime", "value": "2026-01-01T00:00:10.000000Z"},
    ]);
    let request = ApiRequest::new(Method::Patch, &format!("{leases}/patched?fieldManager=other"))
        .with_body("application/json-patch+json", operations.to_string().into_bytes());
    let (status, patched) = send(&mut server, request);
    assert_eq!(status, 200, "{patched}");
    let identity_free = |mut lease: Value| {
        for field in ["name", "uid", "resourceVersion", "creationTimestamp"] {
            lease["metadata"].as_object_mut().unwrap().shift_remove(field);
        }
        lease
    };
    assert_eq!(
        entry(&merged, "other")["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:tier": {}}},
        "f:spec": {"f:holderIdentity": {}, "f:renewTime": {}}})
    );
    assert_eq!(identity_free(merged), identity_free(patched));
}
