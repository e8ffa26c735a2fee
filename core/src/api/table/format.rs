//! The small formatters Kubernetes' printers share: label maps and selectors, container lists,
//! quantities, access modes and "a,b,c + N more..." lists.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Container;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as TypedQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as TypedLabelSelector;

use crate::object::quantity::Quantity;
use crate::selector::label::LabelSelector;

/// `labels.FormatLabels`: `k=v,k2=v2` by key, or `<none>`.
pub(crate) fn labels(map: Option<&BTreeMap<String, String>>) -> String {
    let text = map.into_iter().flatten().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(",");
    if text.is_empty() { "<none>".to_string() } else { text }
}

/// `metav1.LabelSelectorAsSelector(selector).String()`: the canonical selector, empty when it
/// places no restriction; `<invalid>` when it does not parse.
pub(crate) fn selector(selector: Option<&TypedLabelSelector>) -> String {
    match LabelSelector::from_label_selector(selector) {
        Ok(selector) => selector.to_string(),
        Err(_) => "<invalid>".to_string(),
    }
}

/// `metav1.FormatLabelSelector`: like [`selector`] but `<none>` when empty, `<error>` when bad.
pub(crate) fn label_selector(selector: Option<&TypedLabelSelector>) -> String {
    match LabelSelector::from_label_selector(selector) {
        Ok(selector) => {
            let text = selector.to_string();
            if text.is_empty() { "<none>".to_string() } else { text }
        }
        Err(_) => "<error>".to_string(),
    }
}

/// `layoutContainerCells`: container names and images, comma-separated.
pub(crate) fn containers(containers: &[Container]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|container| container.name.as_str()).collect();
    let images: Vec<&str> = containers.iter().map(|container| container.image.as_deref().unwrap_or("")).collect();
    (names.join(","), images.join(","))
}

/// A quantity in canonical form (`1000m` → `1`), as Go's `Quantity.String()` prints it.
pub(crate) fn quantity(quantity: &TypedQuantity) -> String {
    Quantity::parse(&quantity.0).map(|parsed| parsed.to_string()).unwrap_or_else(|_| quantity.0.clone())
}

/// `helper.GetAccessModesAsString`: `RWO,ROX,RWX,RWOP` in that order, each once.
pub(crate) fn access_modes(modes: Option<&Vec<String>>) -> String {
    let modes = modes.map(Vec::as_slice).unwrap_or_default();
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .iter()
        .filter(|(mode, _)| modes.iter().any(|present| present == mode))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

/// The first `max` items joined by commas, then ` + N more...`; Kubernetes' `listWithMoreString`
/// with `empty` for no items.
pub(crate) fn list_with_more(items: &[String], max: usize, empty: &str) -> String {
    let shown = items.iter().take(max).cloned().collect::<Vec<_>>().join(",");
    if items.len() > max {
        format!("{shown} + {} more...", items.len() - max)
    } else if shown.is_empty() {
        empty.to_string()
    } else {
        shown
    }
}

/// `printBoolPtr`: `True`, `False` or `<unset>`.
pub(crate) fn bool_pointer(value: Option<bool>) -> String {
    match value {
        Some(true) => "True".to_string(),
        Some(false) => "False".to_string(),
        None => "<unset>".to_string(),
    }
}
