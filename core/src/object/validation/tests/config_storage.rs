//! ConfigMaps, Secrets, PersistentVolumes, PersistentVolumeClaims and StorageClasses, ported
//! from `TestValidateConfigMap`, `TestValidateSecret`, `TestValidateSecretUpdate`,
//! `TestValidatePersistentVolumes`, `TestValidatePersistentVolumeClaim`,
//! `TestValidatePersistentVolumeClaimUpdate` (`pkg/apis/core/validation/validation_test.go`)
//! and `TestValidateStorageClass`, `TestValidateStorageClassUpdate`
//! (`pkg/apis/storage/validation/validation_test.go`).

use super::*;
use FieldErrorType::*;

fn config_map(data: Value, binary_data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "validname", "namespace": "validns"},
        "data": data, "binaryData": binary_data})
}

/// Base64 of `count` × 3 bytes of `a`.
fn base64_of_a(triples: usize) -> String {
    "YWFh".repeat(triples)
}

#[test]
fn config_map_keys_and_size_follow_validate_config_map() {
    let over = "a".repeat(1024 * 1024 + 1);
    let long_key_path = format!("data[{}]", "a".repeat(254));
    check_create_table(vec![
        ("valid", config_map(json!({"key": "value"}), json!({"bin": "dmFsdWU="})), vec![]),
        ("max key length", config_map(json!({"a".repeat(253): "value"}), json!(null)), vec![]),
        ("leading dot key", config_map(json!({".ab": "value"}), json!(null)), vec![]),
        ("invalid key", config_map(json!({"a*b": "value"}), json!(null)), vec![("data[a*b]", Invalid)]),
        ("dot key", config_map(json!({".": "value"}), json!(null)), vec![("data[.]", Invalid)]),
        ("double dot key", config_map(json!({"..": "value"}), json!(null)), vec![("data[..]", Invalid)]),
        ("double dot prefix", config_map(json!({"..a": "value"}), json!(null)), vec![("data[..a]", Invalid)]),
        (
            "over max key length",
            config_map(json!({"a".repeat(254): "value"}), json!(null)),
            vec![(long_key_path.as_str(), Invalid)],
        ),
        ("over max size", config_map(json!({"key": over}), json!(null)), vec![("", TooLong)]),
        (
            "over max size in binaryData",
            config_map(json!(null), json!({"bin": base64_of_a(349_526)})),
            vec![("", TooLong)],
        ),
        (
            "duplicated key",
            config_map(json!({"key": "value1"}), json!({"key": "dmFsdWUy"})),
            vec![("data[key]", Invalid)],
        ),
        ("invalid binary key", config_map(json!(null), json!({"a*b": "dmFsdWU="})), vec![("binaryData[a*b]", Invalid)]),
        ("dot binary key", config_map(json!(null), json!({".": "dmFsdWU="})), vec![("binaryData[.]", Invalid)]),
    ]);
}

fn secret(type_: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "foo", "namespace": "bar"}, "type": type_, "data": data})
}

#[test]
fn secrets_follow_validate_secret() {
    let token = with(
        secret("kubernetes.io/service-account-token", json!({})),
        &[("/metadata/annotations", json!({"kubernetes.io/service-account.name": "sa"}))],
    );
    check_create_table(vec![
        ("valid opaque", secret("Opaque", json!({"data-1": "Ynl0ZXM="})), vec![]),
        ("leading dot key", secret("Opaque", json!({".dotfile": "Ynl0ZXM="})), vec![]),
        ("dot key", secret("Opaque", json!({".": "Ynl0ZXM="})), vec![("data[.]", Invalid)]),
        ("double dot key", secret("Opaque", json!({"..": "Ynl0ZXM="})), vec![("data[..]", Invalid)]),
        ("invalid key", secret("Opaque", json!({"a*b": "Ynl0ZXM="})), vec![("data[a*b]", Invalid)]),
        ("over max size", secret("Opaque", json!({"over": base64_of_a(349_526)})), vec![("data", TooLong)]),
        ("token with its service account", token, vec![]),
        (
            "token without its service account",
            secret("kubernetes.io/service-account-token", json!({})),
            vec![("metadata.annotations[kubernetes.io/service-account.name]", Required)],
        ),
        ("dockercfg", secret("kubernetes.io/dockercfg", json!({".dockercfg": "eyJhIjoxfQ=="})), vec![]),
        ("dockercfg missing", secret("kubernetes.io/dockercfg", json!({})), vec![("data[.dockercfg]", Required)]),
        (
            "dockerconfigjson is not json",
            secret("kubernetes.io/dockerconfigjson", json!({".dockerconfigjson": "bm90IGpzb24="})),
            vec![("data[.dockerconfigjson]", Invalid)],
        ),
        (
            "dockerconfigjson missing",
            secret("kubernetes.io/dockerconfigjson", json!({})),
            vec![("data[.dockerconfigjson]", Required)],
        ),
        (
            "basic auth with a username only",
            secret("kubernetes.io/basic-auth", json!({"username": "dXNlcg=="})),
            vec![],
        ),
        (
            "basic auth with neither",
            secret("kubernetes.io/basic-auth", json!({})),
            vec![("data[username]", Required), ("data[password]", Required)],
        ),
        ("ssh auth", secret("kubernetes.io/ssh-auth", json!({"ssh-privatekey": "a2V5"})), vec![]),
        (
            "ssh auth empty key",
            secret("kubernetes.io/ssh-auth", json!({"ssh-privatekey": ""})),
            vec![("data[ssh-privatekey]", Required)],
        ),
        ("tls", secret("kubernetes.io/tls", json!({"tls.crt": "Y3J0", "tls.key": "a2V5"})), vec![]),
        (
            "tls without a key",
            secret("kubernetes.io/tls", json!({"tls.crt": "Y3J0"})),
            vec![("data[tls.key]", Required)],
        ),
        (
            "tls key given as stringData",
            with(secret("kubernetes.io/tls", json!({"tls.crt": "Y3J0"})), &[("/stringData", json!({"tls.key": "k"}))]),
            vec![],
        ),
        (
            "stringData keys are checked",
            with(secret("Opaque", json!({})), &[("/stringData", json!({"a b": "x"}))]),
            vec![("data[a b]", Invalid)],
        ),
    ]);
}

#[test]
fn immutable_config_maps_and_secrets_keep_their_data() {
    let immutable_map = with(config_map(json!({"key": "value"}), json!(null)), &[("/immutable", json!(true))]);
    let immutable_secret = with(secret("Opaque", json!({"a": "Yg=="})), &[("/immutable", json!(true))]);
    check_update_table(vec![
        (
            "mutable config map may change",
            config_map(json!({"key": "value"}), json!(null)),
            config_map(json!({"key": "other"}), json!(null)),
            vec![],
        ),
        ("immutable config map unchanged", immutable_map.clone(), immutable_map.clone(), vec![]),
        (
            "immutable config map data changed",
            immutable_map.clone(),
            with(immutable_map.clone(), &[("/data/key", json!("other"))]),
            vec![("data", Forbidden)],
        ),
        (
            "immutable config map made mutable",
            immutable_map.clone(),
            with(immutable_map.clone(), &[("/immutable", json!(false))]),
            vec![("immutable", Forbidden)],
        ),
        (
            "immutable config map gains binary data",
            immutable_map.clone(),
            with(immutable_map, &[("/binaryData", json!({"b": "Yg=="}))]),
            vec![("binaryData", Forbidden)],
        ),
        (
            "secret type changed",
            secret("Opaque", json!({})),
            secret("kubernetes.io/basic-auth", json!({"username": "dQ=="})),
            vec![("type", Invalid)],
        ),
        (
            "immutable secret data changed",
            immutable_secret.clone(),
            with(immutable_secret.clone(), &[("/data/a", json!("Yw=="))]),
            vec![("data", Forbidden)],
        ),
        (
            "immutable secret made mutable and changed",
            immutable_secret.clone(),
            with(immutable_secret, &[("/immutable", json!(null)), ("/data/b", json!("Yw=="))]),
            vec![("immutable", Forbidden), ("data", Forbidden)],
        ),
    ]);
}

fn persistent_volume(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "foo"}, "spec": spec})
}

fn good_volume_spec() -> Value {
    json!({"capacity": {"storage": "10G"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/foo", "type": ""}})
}

#[test]
fn persistent_volumes_follow_validate_persistent_volume() {
    let local = json!({"capacity": {"storage": "10G"}, "accessModes": ["ReadWriteOnce"], "local": {"path": "/foo"}});
    let affinity = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "test-label-key", "operator": "In", "values": ["test-label-value"]}]}]}});
    check_create_table(vec![
        ("good volume", persistent_volume(good_volume_spec()), vec![]),
        (
            "good volume with storage class",
            persistent_volume(with(good_volume_spec(), &[("/storageClassName", json!("valid"))])),
            vec![],
        ),
        (
            "good volume with Retain",
            persistent_volume(with(good_volume_spec(), &[("/persistentVolumeReclaimPolicy", json!("Retain"))])),
            vec![],
        ),
        (
            "good volume with Block mode",
            persistent_volume(with(good_volume_spec(), &[("/volumeMode", json!("Block"))])),
            vec![],
        ),
        ("dotted name", with(persistent_volume(good_volume_spec()), &[("/metadata/name", json!("pv.v1"))]), vec![]),
        (
            "bad name",
            with(persistent_volume(good_volume_spec()), &[("/metadata/name", json!("123*Bad(Name"))]),
            vec![("metadata.name", Invalid)],
        ),
        (
            "invalid access mode",
            persistent_volume(with(good_volume_spec(), &[("/accessModes", json!(["fakemode"]))])),
            vec![("spec.accessModes", NotSupported)],
        ),
        (
            "no access modes",
            persistent_volume(with(good_volume_spec(), &[("/accessModes", json!([]))])),
            vec![("spec.accessModes", Required)],
        ),
        (
            "ReadWriteOncePod with another mode",
            persistent_volume(with(
                good_volume_spec(),
                &[("/accessModes", json!(["ReadWriteOncePod", "ReadWriteMany"]))],
            )),
            vec![("spec.accessModes", Forbidden)],
        ),
        (
            "invalid reclaim policy",
            persistent_volume(with(
                good_volume_spec(),
                &[("/persistentVolumeReclaimPolicy", json!("fakeReclaimPolicy"))],
            )),
            vec![("spec.persistentVolumeReclaimPolicy", NotSupported)],
        ),
        (
            "unexpected namespace",
            with(persistent_volume(good_volume_spec()), &[("/metadata/namespace", json!("unexpected-namespace"))]),
            vec![("metadata.namespace", Forbidden)],
        ),
        (
            "missing volume source",
            persistent_volume(json!({"capacity": {"storage": "10G"}, "accessModes": ["ReadWriteOnce"]})),
            vec![("spec", Required)],
        ),
        (
            "two volume sources",
            persistent_volume(with(good_volume_spec(), &[("/nfs", json!({"server": "s", "path": "/p"}))])),
            vec![("spec.nfs", Forbidden)],
        ),
        (
            "missing capacity",
            persistent_volume(with(good_volume_spec(), &[("/capacity", json!(null))])),
            vec![("spec.capacity", Required), ("spec.capacity", NotSupported)],
        ),
        (
            "capacity other than storage",
            persistent_volume(with(good_volume_spec(), &[("/capacity/cpu", json!("1"))])),
            vec![("spec.capacity", NotSupported)],
        ),
        (
            "zero capacity",
            persistent_volume(with(good_volume_spec(), &[("/capacity/storage", json!("0"))])),
            vec![("spec.capacity[storage]", Invalid)],
        ),
        (
            "host path of / with Recycle",
            persistent_volume(with(
                good_volume_spec(),
                &[("/hostPath/path", json!("/")), ("/persistentVolumeReclaimPolicy", json!("Recycle"))],
            )),
            vec![("spec.persistentVolumeReclaimPolicy", Forbidden)],
        ),
        (
            "bad storage class",
            persistent_volume(with(good_volume_spec(), &[("/storageClassName", json!("-invalid-"))])),
            vec![("spec.storageClassName", Invalid)],
        ),
        (
            "bad volume mode",
            persistent_volume(with(good_volume_spec(), &[("/volumeMode", json!("Unknown"))])),
            vec![("spec.volumeMode", NotSupported)],
        ),
        (
            "local volume with node affinity",
            persistent_volume(with(local.clone(), &[("/nodeAffinity", affinity)])),
            vec![],
        ),
        ("local volume without node affinity", persistent_volume(local.clone()), vec![("spec.nodeAffinity", Required)]),
        (
            "node affinity without required",
            persistent_volume(with(local.clone(), &[("/nodeAffinity", json!({}))])),
            vec![("spec.nodeAffinity.required", Required)],
        ),
        (
            "node affinity with no terms",
            persistent_volume(with(local, &[("/nodeAffinity", json!({"required": {"nodeSelectorTerms": []}}))])),
            vec![("spec.nodeAffinity.required.nodeSelectorTerms", Required)],
        ),
    ]);
}

fn claim(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "foo", "namespace": "ns"}, "spec": spec})
}

fn good_claim_spec() -> Value {
    json!({"accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "resources": {"requests": {"storage": "10G"}}})
}

#[test]
fn persistent_volume_claims_follow_validate_persistent_volume_claim() {
    check_create_table(vec![
        ("good claim", claim(good_claim_spec()), vec![]),
        ("with storage class", claim(with(good_claim_spec(), &[("/storageClassName", json!("fast"))])), vec![]),
        ("empty storage class (no class)", claim(with(good_claim_spec(), &[("/storageClassName", json!(""))])), vec![]),
        (
            "missing access modes",
            claim(with(good_claim_spec(), &[("/accessModes", json!([]))])),
            vec![("spec.accessModes", Required)],
        ),
        (
            "invalid access mode",
            claim(with(good_claim_spec(), &[("/accessModes", json!(["fakemode"]))])),
            vec![("spec.accessModes", NotSupported)],
        ),
        (
            "missing storage request",
            claim(with(good_claim_spec(), &[("/resources/requests", json!({}))])),
            vec![("spec.resources[storage]", Required)],
        ),
        (
            "zero storage request",
            claim(with(good_claim_spec(), &[("/resources/requests/storage", json!("0G"))])),
            vec![("spec.resources[storage]", Invalid)],
        ),
        (
            "negative storage request",
            claim(with(good_claim_spec(), &[("/resources/requests/storage", json!("-10G"))])),
            vec![("spec.resources[storage]", Invalid)],
        ),
        (
            "bad storage class",
            claim(with(good_claim_spec(), &[("/storageClassName", json!("invalid_name"))])),
            vec![("spec.storageClassName", Invalid)],
        ),
        (
            "invalid selector",
            claim(with(
                good_claim_spec(),
                &[(
                    "/selector",
                    json!({"matchExpressions": [{"key": "key2", "operator": "InvalidOp", "values": ["value1"]}]}),
                )],
            )),
            vec![("spec.selector.matchExpressions[0].operator", Invalid)],
        ),
    ]);
}

#[test]
fn a_claim_spec_is_fixed_except_a_growing_request_when_bound() {
    let old = claim(good_claim_spec());
    let bound = |value: Value| with(value, &[("/status/phase", json!("Bound"))]);
    check_update_table(vec![
        (
            "volume name set once",
            old.clone(),
            claim(with(good_claim_spec(), &[("/volumeName", json!("volume"))])),
            vec![],
        ),
        (
            "volume name changed",
            claim(with(good_claim_spec(), &[("/volumeName", json!("a"))])),
            claim(with(good_claim_spec(), &[("/volumeName", json!("b"))])),
            vec![("spec", Forbidden)],
        ),
        (
            "access modes changed",
            old.clone(),
            claim(with(good_claim_spec(), &[("/accessModes", json!(["ReadWriteOnce"]))])),
            vec![("spec", Forbidden)],
        ),
        (
            "storage class set where there was none",
            old.clone(),
            claim(with(good_claim_spec(), &[("/storageClassName", json!("fast"))])),
            vec![],
        ),
        (
            "storage class changed",
            claim(with(good_claim_spec(), &[("/storageClassName", json!("slow"))])),
            claim(with(good_claim_spec(), &[("/storageClassName", json!("fast"))])),
            vec![("spec", Forbidden)],
        ),
        (
            "bound claim grows",
            bound(old.clone()),
            bound(claim(with(good_claim_spec(), &[("/resources/requests/storage", json!("15G"))]))),
            vec![],
        ),
        (
            "unbound claim grows",
            old.clone(),
            claim(with(good_claim_spec(), &[("/resources/requests/storage", json!("15G"))])),
            vec![("spec", Forbidden)],
        ),
        (
            "bound claim shrinks",
            bound(old.clone()),
            bound(claim(with(good_claim_spec(), &[("/resources/requests/storage", json!("5G"))]))),
            vec![("spec.resources.requests.storage", Forbidden)],
        ),
    ]);
}

fn storage_class(extra: &[(&str, Value)]) -> Value {
    with(
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "foo"},
            "provisioner": "kubernetes.io/foo-provisioner", "parameters": {"foo": "bar"}, "reclaimPolicy": "Delete"}),
        extra,
    )
}

#[test]
fn storage_classes_follow_validate_storage_class() {
    let many: serde_json::Map<String, Value> = (0..513).map(|i| (format!("key{i}"), json!("v"))).collect();
    check_create_table(vec![
        ("valid", storage_class(&[]), vec![]),
        ("retain", storage_class(&[("/reclaimPolicy", json!("Retain"))]), vec![]),
        ("wait for first consumer", storage_class(&[("/volumeBindingMode", json!("WaitForFirstConsumer"))]), vec![]),
        (
            "namespace is forbidden",
            storage_class(&[("/metadata/namespace", json!("bar"))]),
            vec![("metadata.namespace", Forbidden)],
        ),
        ("no provisioner", storage_class(&[("/provisioner", json!(""))]), vec![("provisioner", Required)]),
        (
            "invalid provisioner",
            storage_class(&[("/provisioner", json!("kubernetes.io/invalid/provisioner"))]),
            vec![("provisioner", Invalid)],
        ),
        ("too many parameters", storage_class(&[("/parameters", Value::Object(many))]), vec![("parameters", TooLong)]),
        ("empty parameter key", storage_class(&[("/parameters", json!({"": "value"}))]), vec![("parameters", Invalid)]),
        (
            "invalid reclaim policy",
            storage_class(&[("/reclaimPolicy", json!("invalid"))]),
            vec![("reclaimPolicy", NotSupported)],
        ),
        (
            "Recycle is not a class policy",
            storage_class(&[("/reclaimPolicy", json!("Recycle"))]),
            vec![("reclaimPolicy", NotSupported)],
        ),
        (
            "invalid binding mode",
            storage_class(&[("/volumeBindingMode", json!("invalid"))]),
            vec![("volumeBindingMode", NotSupported)],
        ),
    ]);
    check_update_table(vec![
        (
            "allow volume expansion may change",
            storage_class(&[]),
            storage_class(&[("/allowVolumeExpansion", json!(true))]),
            vec![],
        ),
        (
            "parameters changed",
            storage_class(&[]),
            storage_class(&[("/parameters/foo", json!("baz"))]),
            vec![("parameters", Forbidden)],
        ),
        (
            "provisioner changed",
            storage_class(&[]),
            storage_class(&[("/provisioner", json!("a.io/b"))]),
            vec![("provisioner", Forbidden)],
        ),
        (
            "reclaim policy changed",
            storage_class(&[]),
            storage_class(&[("/reclaimPolicy", json!("Retain"))]),
            vec![("reclaimPolicy", Forbidden)],
        ),
        (
            "binding mode changed",
            storage_class(&[]),
            storage_class(&[("/volumeBindingMode", json!("WaitForFirstConsumer"))]),
            vec![("volumeBindingMode", Invalid)],
        ),
    ]);
}
