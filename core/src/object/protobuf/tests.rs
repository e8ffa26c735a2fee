//! Decoder tests: bodies the real kubectl 1.32 sent (`testdata/*.pb`) against the JSON the same
//! kubectl prints for the same object (`--dry-run=client -o json`, `testdata/*.json`), bodies a
//! small encoder here writes from JSON, and malformed bodies.

use serde_json::{Value, json};

use super::messages::{Cardinality, FieldType};
use super::special::{Special, go_duration};
use super::{MAGIC, ProtobufError, decode, kubernetes};

fn fixture(name: &str) -> (Vec<u8>, Value) {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/object/protobuf/testdata");
    let body = std::fs::read(directory.join(format!("{name}.pb"))).expect("a captured body");
    let expected = std::fs::read_to_string(directory.join(format!("{name}.json"))).expect("kubectl's JSON");
    (body, serde_json::from_str(&expected).expect("JSON"))
}

#[test]
fn kubectl_create_bodies_decode_into_the_json_kubectl_prints_for_them() {
    for name in [
        "deployment",
        "deployment_replicas_zero",
        "configmap",
        "secret_binary",
        "namespace",
        "service",
        "cronjob",
        "resourcequota",
        "priorityclass",
        "ingress",
    ] {
        let (body, expected) = fixture(name);
        assert_eq!(decode(&body).unwrap_or_else(|error| panic!("{name}: {error}")), expected, "{name}");
    }
}

#[test]
fn an_explicit_zero_replicas_stays_and_zero_value_fields_go() {
    let (body, _) = fixture("deployment_replicas_zero");
    let deployment = decode(&body).unwrap();
    assert_eq!(deployment["spec"]["replicas"], 0);
    // Go's encoder wrote minReadySeconds 0 and paused false; Kubernetes' JSON leaves them out.
    assert!(deployment["spec"].get("minReadySeconds").is_none());
    assert!(deployment["spec"].get("paused").is_none());
    assert_eq!(deployment["spec"]["template"]["spec"]["containers"][0]["ports"], json!([{"containerPort": 8080}]));
    assert_eq!(deployment["metadata"]["creationTimestamp"], Value::Null);
}

#[test]
fn binary_secret_data_is_base64() {
    let (body, _) = fixture("secret_binary");
    assert_eq!(decode(&body).unwrap()["data"], json!({"blob": "AAH//g=="}));
}

/// Encodes a JSON object as the message `name`, field by field from the table (a test-side
/// encoder: every field the JSON has is written, zeros included, as Go's encoder does).
fn encode_message(name: &str, value: &Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    let fields = kubernetes().message(name).unwrap_or_else(|| panic!("{name} is in the table"));
    for field in fields.values() {
        if field.inline {
            let FieldType::Message(child) = &field.field_type else { unreachable!("inline messages") };
            write_bytes(&mut bytes, field.tag, &encode_message(child, value));
            continue;
        }
        let Some(field_value) = value.get(&field.json_name) else { continue };
        match field.cardinality {
            Cardinality::Single => encode_value(&mut bytes, field.tag, &field.field_type, field_value),
            Cardinality::Repeated => {
                for element in field_value.as_array().expect("a list") {
                    encode_value(&mut bytes, field.tag, &field.field_type, element);
                }
            }
            Cardinality::Map => {
                for (key, element) in field_value.as_object().expect("a map") {
                    let mut entry = Vec::new();
                    write_bytes(&mut entry, 1, key.as_bytes());
                    encode_value(&mut entry, 2, &field.field_type, element);
                    write_bytes(&mut bytes, field.tag, &entry);
                }
            }
        }
    }
    bytes
}

fn encode_value(bytes: &mut Vec<u8>, tag: u32, field_type: &FieldType, value: &Value) {
    match field_type {
        FieldType::String => write_bytes(bytes, tag, value.as_str().expect("text").as_bytes()),
        FieldType::Bytes => {
            let decoded: k8s_openapi::ByteString = serde_json::from_value(value.clone()).expect("base64");
            write_bytes(bytes, tag, &decoded.0);
        }
        FieldType::Int32 | FieldType::Int64 => write_varint_field(bytes, tag, value.as_i64().expect("a number") as u64),
        FieldType::Bool => write_varint_field(bytes, tag, u64::from(value.as_bool().expect("a boolean"))),
        FieldType::Double => {
            write_varint(bytes, u64::from(tag << 3 | 1));
            bytes.extend(value.as_f64().expect("a number").to_le_bytes());
        }
        FieldType::Message(name) => {
            let payload = match Special::of(name) {
                Some(special) => encode_special(special, value),
                None => encode_message(name, value),
            };
            write_bytes(bytes, tag, &payload);
        }
    }
}

fn encode_special(special: Special, value: &Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    match special {
        Special::Time | Special::MicroTime => {
            if let Some(text) = value.as_str() {
                let timestamp: jiff::Timestamp = text.parse().expect("RFC 3339");
                write_varint_field(&mut bytes, 1, timestamp.as_second() as u64);
                write_varint_field(&mut bytes, 2, u64::from(timestamp.subsec_nanosecond() as u32));
            }
        }
        Special::Quantity => write_bytes(&mut bytes, 1, value.as_str().expect("a quantity").as_bytes()),
        Special::IntOrString => match value {
            Value::String(text) => {
                write_varint_field(&mut bytes, 1, 1);
                write_bytes(&mut bytes, 3, text.as_bytes());
            }
            number => {
                write_varint_field(&mut bytes, 1, 0);
                write_varint_field(&mut bytes, 2, number.as_i64().expect("a number") as u64);
            }
        },
        Special::Duration => panic!("no test encodes a Duration"),
        Special::FieldsV1 | Special::RawExtension => write_bytes(&mut bytes, 1, value.to_string().as_bytes()),
    }
    bytes
}

fn write_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

fn write_varint_field(bytes: &mut Vec<u8>, tag: u32, value: u64) {
    write_varint(bytes, u64::from(tag << 3));
    write_varint(bytes, value);
}

fn write_bytes(bytes: &mut Vec<u8>, tag: u32, payload: &[u8]) {
    write_varint(bytes, u64::from(tag << 3 | 2));
    write_varint(bytes, payload.len() as u64);
    bytes.extend_from_slice(payload);
}

/// A whole body: the magic number and a `runtime.Unknown` around the object's message.
fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    write_bytes(&mut type_meta, 1, api_version.as_bytes());
    write_bytes(&mut type_meta, 2, kind.as_bytes());
    let mut body = MAGIC.to_vec();
    write_bytes(&mut body, 1, &type_meta);
    write_bytes(&mut body, 2, raw);
    body
}

fn encode(object: &Value) -> Vec<u8> {
    let (api_version, kind) = (object["apiVersion"].as_str().unwrap(), object["kind"].as_str().unwrap());
    let message = kubernetes().of_kind(api_version, kind).expect("a known kind");
    envelope(api_version, kind, &encode_message(message, object))
}

#[test]
fn a_deployment_with_labels_ports_and_resources_round_trips() {
    let deployment = json!({
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}, "creationTimestamp": "2024-01-02T03:04:05Z"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "nginx", "image": "nginx:1.27", "args": ["-g", "daemon off;"],
                        "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "name": "https"}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}},
                        "readinessProbe": {"httpGet": {"path": "/", "port": "https"}, "periodSeconds": 5}
                    }],
                    "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}],
                    "terminationGracePeriodSeconds": 0
                }
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}
        }
    });
    assert_eq!(decode(&encode(&deployment)).unwrap(), deployment);
}

#[test]
fn service_ports_carry_int_or_string_target_ports() {
    let service = json!({
        "kind": "Service", "apiVersion": "v1", "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"name": "tls", "port": 443, "targetPort": "https"}],
                 "selector": {"app": "web"}, "type": "ClusterIP"}
    });
    assert_eq!(decode(&encode(&service)).unwrap(), service);
}

#[test]
fn a_cronjob_with_timestamps_round_trips() {
    let cronjob = json!({
        "kind": "CronJob", "apiVersion": "batch/v1",
        "metadata": {"name": "c", "creationTimestamp": "2024-01-02T03:04:05Z"},
        "spec": {"schedule": "*/5 * * * *", "suspend": false, "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}},
        "status": {"lastScheduleTime": "2024-05-06T07:08:09Z", "active": [{"kind": "Job", "name": "c-1"}]}
    });
    assert_eq!(decode(&encode(&cronjob)).unwrap(), cronjob);
}

#[test]
fn times_drop_their_fraction_and_micro_times_keep_six_digits() {
    let lease = json!({
        "kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
        "metadata": {"name": "l", "creationTimestamp": "2024-01-02T03:04:05.987654321Z"},
        "spec": {"holderIdentity": "a", "renewTime": "2024-01-02T03:04:05.123456789Z", "acquireTime": "1970-01-01T00:00:00Z"}
    });
    let decoded = decode(&encode(&lease)).unwrap();
    assert_eq!(decoded["metadata"]["creationTimestamp"], "2024-01-02T03:04:05Z");
    assert_eq!(decoded["spec"]["renewTime"], "2024-01-02T03:04:05.123456Z");
    // Seconds 0 is the Unix epoch, not Go's zero time.
    assert_eq!(decoded["spec"]["acquireTime"], "1970-01-01T00:00:00.000000Z");
}

#[test]
fn a_controller_revision_embeds_its_raw_json() {
    let revision = json!({
        "kind": "ControllerRevision", "apiVersion": "apps/v1", "metadata": {"name": "r"},
        "data": {"spec": {"template": {"$patch": "replace"}}}, "revision": 3
    });
    assert_eq!(decode(&encode(&revision)).unwrap(), revision);
}

#[test]
fn delete_options_of_any_group_version_decode() {
    let options = json!({"kind": "DeleteOptions", "apiVersion": "policy/v1", "gracePeriodSeconds": 0, "propagationPolicy": "Background"});
    assert_eq!(decode(&encode(&options)).unwrap(), options);
}

/// Go's `TestDurationString` (package time) rows.
#[test]
fn durations_are_written_as_go_writes_them() {
    let rows: [(i64, &str); 12] = [
        (0, "0s"),
        (1, "1ns"),
        (1_100, "1.1µs"),
        (2_200_000, "2.2ms"),
        (3_300_000_000, "3.3s"),
        (245_000_000_000, "4m5s"),
        (245_001_000_000, "4m5.001s"),
        (18_367_001_000_000, "5h6m7.001s"),
        (480_000_000_001, "8m0.000000001s"),
        (i64::MAX, "2562047h47m16.854775807s"),
        (-1, "-1ns"),
        (i64::MIN, "-2562047h47m16.854775808s"),
    ];
    for (nanoseconds, expected) in rows {
        assert_eq!(go_duration(nanoseconds), expected, "{nanoseconds}");
    }
    assert_eq!(Special::Duration.decode(&[0x08, 0x80, 0xa8, 0xd6, 0xb9, 0x07], 0).unwrap(), json!("2s"));
}

fn error_of(body: &[u8]) -> String {
    decode(body).expect_err("a malformed body").to_string()
}

#[test]
fn malformed_bodies_are_refused_with_what_is_wrong() {
    assert_eq!(error_of(b""), "empty data");
    assert_eq!(
        error_of(b"{\"kind\":\"Pod\"}"),
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    );
    assert_eq!(error_of(&MAGIC), "empty body");
    let (body, _) = fixture("configmap");
    assert_eq!(
        error_of(&body[..body.len() - 3]),
        "unexpected end of data in k8s.io.apimachinery.pkg.runtime.Unknown at byte 49"
    );
    let mut truncated_varint = MAGIC.to_vec();
    truncated_varint.extend([0x0a, 0x80]);
    assert_eq!(
        error_of(&truncated_varint),
        "unexpected end of data in k8s.io.apimachinery.pkg.runtime.Unknown at byte 2"
    );
    let mut long_varint = MAGIC.to_vec();
    long_varint.extend([0xff; 11]);
    assert_eq!(
        error_of(&long_varint),
        "varint longer than 10 bytes in k8s.io.apimachinery.pkg.runtime.Unknown at byte 10"
    );
}

#[test]
fn fields_the_message_does_not_have_or_of_the_wrong_wire_type_are_refused() {
    let mut unknown = Vec::new();
    write_varint_field(&mut unknown, 99, 1);
    assert_eq!(
        error_of(&envelope("v1", "ConfigMap", &unknown)),
        "unknown field number 99 in k8s.io.api.core.v1.ConfigMap"
    );
    let mut wrong = Vec::new();
    write_varint_field(&mut wrong, 1, 7);
    assert_eq!(
        error_of(&envelope("v1", "ConfigMap", &wrong)),
        "field 1 of k8s.io.api.core.v1.ConfigMap field metadata has wire type 0, expected 2"
    );
    let mut group = Vec::new();
    write_varint(&mut group, 1 << 3 | 3);
    assert_eq!(
        error_of(&envelope("v1", "ConfigMap", &group)),
        "unsupported wire type 3 at byte 0 of k8s.io.api.core.v1.ConfigMap"
    );
    let mut name = Vec::new();
    write_bytes(&mut name, 1, &[0xff, 0xfe]);
    let mut not_utf8 = Vec::new();
    write_bytes(&mut not_utf8, 1, &name);
    assert_eq!(
        error_of(&envelope("v1", "ConfigMap", &not_utf8)),
        "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta field name: the text is not UTF-8"
    );
}

#[test]
fn unknown_kinds_and_missing_type_meta_are_refused() {
    assert_eq!(
        error_of(&envelope("example.com/v1", "Widget", &[])),
        "no protobuf message is known for kind \"Widget\" in version \"example.com/v1\""
    );
    assert_eq!(error_of(&envelope("v1", "", &[])), "Object 'Kind' is missing in the protobuf body's typeMeta");
    assert!(matches!(decode(&envelope("", "Pod", &[])), Err(ProtobufError::MissingVersion)));
}

#[test]
fn nesting_deeper_than_the_document_limit_is_refused() {
    // A RawExtension whose raw is another protobuf body, nested far too deep.
    let mut body = envelope("v1", "ConfigMap", &[]);
    for _ in 0..crate::limits::MAX_DOCUMENT_DEPTH {
        let mut extension = Vec::new();
        write_bytes(&mut extension, 1, &body);
        let mut revision = Vec::new();
        write_bytes(&mut revision, 2, &extension);
        body = envelope("apps/v1", "ControllerRevision", &revision);
    }
    assert_eq!(error_of(&body), format!("messages nested deeper than {}", crate::limits::MAX_DOCUMENT_DEPTH));
}
