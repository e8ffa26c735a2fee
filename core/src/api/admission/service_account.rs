//! The ServiceAccount admission plugin's mutation (`plugin/pkg/admission/serviceaccount`): a pod
//! runs as the ServiceAccount it names, `default` when it names none. (Token mounting and the
//! check that the ServiceAccount exists are left out.)

use serde_json::Value;

use crate::object::Object;

/// The ServiceAccount admission plugin's default: a pod that names no ServiceAccount (nor the
/// deprecated `serviceAccount`) runs as `default`.
pub(super) fn default_service_account(object: &mut Object) {
    let Some(Value::Object(spec)) = object.fields.get_mut("spec").filter(|_| object.kind == "Pod") else { return };
    let named =
        |field: &str| spec.get(field).and_then(Value::as_str).filter(|name| !name.is_empty()).map(str::to_string);
    let name = named("serviceAccountName").or_else(|| named("serviceAccount")).unwrap_or_else(|| "default".to_string());
    spec.insert("serviceAccountName".into(), Value::from(name));
}
