//! ConfigMaps and Secrets (`ValidateConfigMap`, `ValidateSecret` and their updates in
//! `pkg/apis/core/validation/validation.go`): keys, the 1 MiB size bound, the rules of each
//! Secret type, and `immutable: true`.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::common::immutable;
use super::name_rules::{max_length_error, regex_error};
use crate::object::field_error::{FieldError, FieldPath};

/// Most bytes of data one ConfigMap or Secret may hold (`core.MaxSecretSize`): 1 MiB.
pub const MAX_SECRET_SIZE_BYTES: usize = 1024 * 1024;
/// Longest ConfigMap or Secret key (a DNS-1123 subdomain's bound).
pub const CONFIG_MAP_KEY_MAX_LENGTH: usize = 253;
/// Kubernetes' message for a change to data of an object that is `immutable: true`.
pub const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";
/// The annotation naming the ServiceAccount a token Secret belongs to.
pub const SERVICE_ACCOUNT_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
/// Secret types with rules of their own.
pub const SECRET_TYPE_SERVICE_ACCOUNT_TOKEN: &str = "kubernetes.io/service-account-token";
/// A `~/.dockercfg` Secret.
pub const SECRET_TYPE_DOCKERCFG: &str = "kubernetes.io/dockercfg";
/// A `~/.docker/config.json` Secret.
pub const SECRET_TYPE_DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
/// A username and password.
pub const SECRET_TYPE_BASIC_AUTH: &str = "kubernetes.io/basic-auth";
/// An SSH private key.
pub const SECRET_TYPE_SSH_AUTH: &str = "kubernetes.io/ssh-auth";
/// A TLS certificate and key.
pub const SECRET_TYPE_TLS: &str = "kubernetes.io/tls";

const CONFIG_MAP_KEY_MESSAGE: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const CONFIG_MAP_KEY_FORMAT: &str = "[-._a-zA-Z0-9]+";

/// `IsConfigMapKey`: `[-._a-zA-Z0-9]+`, at most 253 characters, and not `.`, `..` or `..*`
/// (they would escape the directory a volume projects keys into).
pub fn is_config_map_key(key: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if key.len() > CONFIG_MAP_KEY_MAX_LENGTH {
        errors.push(max_length_error(CONFIG_MAP_KEY_MAX_LENGTH));
    }
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
        errors.push(regex_error(CONFIG_MAP_KEY_MESSAGE, CONFIG_MAP_KEY_FORMAT, &["key.name", "KEY_NAME", "key-name"]));
    }
    if key == "." {
        errors.push("must not be '.'".to_string());
    } else if key == ".." {
        errors.push("must not be '..'".to_string());
    } else if key.starts_with("..") {
        errors.push("must not start with '..'".to_string());
    }
    errors
}

fn validate_keys<'a>(keys: impl Iterator<Item = &'a String>, path: &FieldPath, errors: &mut Vec<FieldError>) {
    for key in keys {
        for message in is_config_map_key(key) {
            errors.push(FieldError::invalid(&path.key(key), key.as_str(), &message));
        }
    }
}

/// `ValidateConfigMap` (beyond metadata): valid keys, no key in both `data` and `binaryData`,
/// at most 1 MiB in all.
pub fn validate_config_map(config_map: &ConfigMap) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let data_path = FieldPath::new("data");
    let data = config_map.data.clone().unwrap_or_default();
    let binary_data = config_map.binary_data.clone().unwrap_or_default();
    for key in data.keys() {
        for message in is_config_map_key(key) {
            errors.push(FieldError::invalid(&data_path.key(key), key.as_str(), &message));
        }
        if binary_data.contains_key(key) {
            let message = "duplicate of key present in binaryData";
            errors.push(FieldError::invalid(&data_path.key(key), key.as_str(), message));
        }
    }
    validate_keys(binary_data.keys(), &FieldPath::new("binaryData"), &mut errors);
    let total_size: usize =
        data.values().map(String::len).sum::<usize>() + binary_data.values().map(|value| value.0.len()).sum::<usize>();
    if total_size > MAX_SECRET_SIZE_BYTES {
        errors.push(FieldError::too_long(&FieldPath::root(), MAX_SECRET_SIZE_BYTES));
    }
    errors
}

/// `ValidateConfigMapUpdate`: nothing of an immutable ConfigMap's data may change, and it
/// stays immutable.
pub fn validate_config_map_update(new: &ConfigMap, old: &ConfigMap) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if old.immutable == Some(true) {
        if new.immutable != Some(true) {
            errors.push(FieldError::forbidden(&FieldPath::new("immutable"), IMMUTABLE_WHEN_SET));
        }
        if new.data != old.data {
            errors.push(FieldError::forbidden(&FieldPath::new("data"), IMMUTABLE_WHEN_SET));
        }
        if new.binary_data != old.binary_data {
            errors.push(FieldError::forbidden(&FieldPath::new("binaryData"), IMMUTABLE_WHEN_SET));
        }
    }
    errors
}

/// A Secret's data as the API server validates it: `stringData` merged over `data` (the v1
/// conversion does this before validation).
pub fn merged_secret_data(secret: &Secret) -> BTreeMap<String, ByteString> {
    let mut data = secret.data.clone().unwrap_or_default();
    for (key, value) in secret.string_data.iter().flatten() {
        data.insert(key.clone(), ByteString(value.clone().into_bytes()));
    }
    data
}

/// `ValidateSecret` (beyond metadata): valid keys, at most 1 MiB, and the keys or annotation
/// each well-known type requires.
pub fn validate_secret(secret: &Secret) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let data_path = FieldPath::new("data");
    let data = merged_secret_data(secret);
    validate_keys(data.keys(), &data_path, &mut errors);
    if data.values().map(|value| value.0.len()).sum::<usize>() > MAX_SECRET_SIZE_BYTES {
        errors.push(FieldError::too_long(&data_path, MAX_SECRET_SIZE_BYTES));
    }
    let required = |key: &str| FieldError::required(&data_path.key(key), "");
    match secret.type_.as_deref().unwrap_or("") {
        SECRET_TYPE_SERVICE_ACCOUNT_TOKEN => {
            let annotations = secret.metadata.annotations.as_ref();
            let name = annotations.and_then(|annotations| annotations.get(SERVICE_ACCOUNT_NAME_ANNOTATION));
            if name.is_none_or(String::is_empty) {
                let path = FieldPath::new("metadata").child("annotations").key(SERVICE_ACCOUNT_NAME_ANNOTATION);
                errors.push(FieldError::required(&path, ""));
            }
        }
        SECRET_TYPE_DOCKERCFG => validate_json_key(&data, ".dockercfg", &data_path, &mut errors),
        SECRET_TYPE_DOCKER_CONFIG_JSON => validate_json_key(&data, ".dockerconfigjson", &data_path, &mut errors),
        SECRET_TYPE_BASIC_AUTH if !data.contains_key("username") && !data.contains_key("password") => {
            errors.push(required("username"));
            errors.push(required("password"));
        }
        SECRET_TYPE_SSH_AUTH if data.get("ssh-privatekey").is_none_or(|value| value.0.is_empty()) => {
            errors.push(required("ssh-privatekey"));
        }
        SECRET_TYPE_TLS => {
            for key in ["tls.crt", "tls.key"] {
                if !data.contains_key(key) {
                    errors.push(required(key));
                }
            }
        }
        _ => {}
    }
    errors
}

/// A docker config key must be present and hold a JSON object.
fn validate_json_key(data: &BTreeMap<String, ByteString>, key: &str, path: &FieldPath, errors: &mut Vec<FieldError>) {
    let Some(value) = data.get(key) else {
        errors.push(FieldError::required(&path.key(key), ""));
        return;
    };
    if let Err(error) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&value.0) {
        errors.push(FieldError::invalid(&path.key(key), "<secret contents redacted>", &error.to_string()));
    }
}

/// `ValidateSecretUpdate`: the type never changes; an immutable Secret's data does not either.
pub fn validate_secret_update(new: &Secret, old: &Secret) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let type_of = |secret: &Secret| secret.type_.clone().unwrap_or_default();
    immutable(&type_of(new), &type_of(old), &FieldPath::new("type"), &mut errors);
    if old.immutable == Some(true) {
        if new.immutable != Some(true) {
            errors.push(FieldError::forbidden(&FieldPath::new("immutable"), IMMUTABLE_WHEN_SET));
        }
        if merged_secret_data(new) != merged_secret_data(old) {
            errors.push(FieldError::forbidden(&FieldPath::new("data"), IMMUTABLE_WHEN_SET));
        }
    }
    errors
}
