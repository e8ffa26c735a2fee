//! Field errors as Kubernetes reports them: a field path, a reason and a detail, rendered the way
//! `k8s.io/apimachinery/pkg/util/validation/field` renders them
//! (`spec.template.spec.containers[0].image: Required value`).

use std::fmt;

use serde_json::Value;

/// A path to a field of an object, such as `spec.containers[0].ports[1].containerPort` or
/// `metadata.labels[app]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(String);

impl FieldPath {
    /// The path of a top-level field.
    pub fn new(root: &str) -> FieldPath {
        FieldPath(root.to_string())
    }

    /// The empty path: the object itself.
    pub fn root() -> FieldPath {
        FieldPath(String::new())
    }

    /// The path of a named child field.
    ///
    /// Paths are built for every field validation visits, so they are joined by hand: `format!`
    /// cost more than the checks themselves.
    pub fn child(&self, name: &str) -> FieldPath {
        if self.0.is_empty() {
            return FieldPath(name.to_string());
        }
        let mut path = String::with_capacity(self.0.len() + 1 + name.len());
        path.push_str(&self.0);
        path.push('.');
        path.push_str(name);
        FieldPath(path)
    }

    /// The path of an element of a list.
    pub fn index(&self, index: usize) -> FieldPath {
        use std::fmt::Write as _;
        let mut path = String::with_capacity(self.0.len() + 6);
        path.push_str(&self.0);
        let _ = write!(path, "[{index}]");
        FieldPath(path)
    }

    /// The path of an entry of a map.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut path = String::with_capacity(self.0.len() + 2 + key.len());
        path.push_str(&self.0);
        path.push('[');
        path.push_str(key);
        path.push(']');
        FieldPath(path)
    }

    /// The path as Kubernetes prints it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Why a field is wrong; the wording of each is Kubernetes' own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldErrorType {
    /// The field names something that does not exist.
    NotFound,
    /// The field must be set and is not.
    Required,
    /// The value repeats one that must be unique.
    Duplicate,
    /// The value is malformed or out of range.
    Invalid,
    /// The value is not one of a fixed set.
    NotSupported,
    /// The field may not be set, or may not change.
    Forbidden,
    /// The value is longer than allowed.
    TooLong,
    /// The list has more items than allowed.
    TooMany,
    /// The field is not part of the schema (strict decoding).
    UnknownField,
    /// The value has the wrong JSON type.
    TypeInvalid,
    /// Something went wrong that is not the caller's fault.
    Internal,
}

impl FieldErrorType {
    /// Kubernetes' text for this type (`field.ErrorType.String()`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "Not found",
            FieldErrorType::Required => "Required value",
            FieldErrorType::Duplicate => "Duplicate value",
            FieldErrorType::Invalid => "Invalid value",
            FieldErrorType::NotSupported => "Unsupported value",
            FieldErrorType::Forbidden => "Forbidden",
            FieldErrorType::TooLong => "Too long",
            FieldErrorType::TooMany => "Too many",
            FieldErrorType::UnknownField => "unknown field",
            FieldErrorType::TypeInvalid => "Invalid value",
            FieldErrorType::Internal => "Internal error",
        }
    }

    /// The `reason` Kubernetes puts in a `Status` cause for this type (`FieldValueRequired`, …).
    pub fn cause_reason(self) -> &'static str {
        match self {
            FieldErrorType::NotFound => "FieldValueNotFound",
            FieldErrorType::Required => "FieldValueRequired",
            FieldErrorType::Duplicate => "FieldValueDuplicate",
            FieldErrorType::Invalid => "FieldValueInvalid",
            FieldErrorType::NotSupported => "FieldValueNotSupported",
            FieldErrorType::Forbidden => "FieldValueForbidden",
            FieldErrorType::TooLong => "FieldValueTooLong",
            FieldErrorType::TooMany => "FieldValueTooMany",
            FieldErrorType::UnknownField => "FieldValueInvalid",
            FieldErrorType::TypeInvalid => "FieldValueTypeInvalid",
            FieldErrorType::Internal => "InternalError",
        }
    }
}

/// One thing wrong with one field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// Which field.
    pub path: FieldPath,
    /// What kind of wrong.
    pub error_type: FieldErrorType,
    /// The offending value, where showing it helps.
    pub bad_value: Option<Value>,
    /// Why, in words; for `NotSupported`, the supported values.
    pub detail: String,
}

impl FieldError {
    fn new(error_type: FieldErrorType, path: &FieldPath, bad_value: Option<Value>, detail: &str) -> FieldError {
        FieldError { path: path.clone(), error_type, bad_value, detail: detail.to_string() }
    }

    /// `Required value`, with an optional detail.
    pub fn required(path: &FieldPath, detail: &str) -> FieldError {
        FieldError::new(FieldErrorType::Required, path, None, detail)
    }

    /// `Invalid value: <value>: <detail>`.
    pub fn invalid(path: &FieldPath, value: impl Into<Value>, detail: &str) -> FieldError {
        FieldError::new(FieldErrorType::Invalid, path, Some(value.into()), detail)
    }

    /// `Duplicate value: <value>`.
    pub fn duplicate(path: &FieldPath, value: impl Into<Value>) -> FieldError {
        FieldError::new(FieldErrorType::Duplicate, path, Some(value.into()), "")
    }

    /// `Unsupported value: <value>: supported values: "a", "b"`.
    pub fn not_supported(path: &FieldPath, value: impl Into<Value>, supported: &[&str]) -> FieldError {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|value| format!("{value:?}")).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        FieldError::new(FieldErrorType::NotSupported, path, Some(value.into()), &detail)
    }

    /// `Forbidden: <detail>`.
    pub fn forbidden(path: &FieldPath, detail: &str) -> FieldError {
        FieldError::new(FieldErrorType::Forbidden, path, None, detail)
    }

    /// `Not found: <value>`.
    pub fn not_found(path: &FieldPath, value: impl Into<Value>) -> FieldError {
        FieldError::new(FieldErrorType::NotFound, path, Some(value.into()), "")
    }

    /// `Too long: may not be more than <max> bytes`.
    pub fn too_long(path: &FieldPath, max_length: usize) -> FieldError {
        let detail = format!("may not be more than {max_length} bytes");
        FieldError::new(FieldErrorType::TooLong, path, None, &detail)
    }

    /// `Too many: <actual>: must have at most <max> items`.
    pub fn too_many(path: &FieldPath, actual: usize, max: usize) -> FieldError {
        let detail = format!("must have at most {max} items");
        FieldError::new(FieldErrorType::TooMany, path, Some(Value::from(actual)), &detail)
    }

    /// `unknown field "<path>"`, as strict decoding reports it.
    pub fn unknown_field(path: &FieldPath) -> FieldError {
        FieldError::new(FieldErrorType::UnknownField, path, None, "")
    }

    /// The value has the wrong JSON type or cannot be decoded at all.
    pub fn type_invalid(path: &FieldPath, detail: &str) -> FieldError {
        FieldError::new(FieldErrorType::TypeInvalid, path, None, detail)
    }

    /// The body Kubernetes prints after the path (`field.Error.ErrorBody()`).
    pub fn body(&self) -> String {
        let mut body = self.error_type.as_str().to_string();
        if self.error_type == FieldErrorType::UnknownField {
            return format!("unknown field \"{}\"", self.path);
        }
        if let Some(value) = &self.bad_value {
            body.push_str(": ");
            body.push_str(&render_value(value));
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

/// Renders a bad value the way Go's `%q`/`%v` do for the common cases: strings quoted, numbers
/// and booleans bare, anything else as compact JSON.
fn render_value(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.error_type == FieldErrorType::UnknownField || self.path.as_str().is_empty() {
            return formatter.write_str(&self.body());
        }
        write!(formatter, "{}: {}", self.path, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Joins several field errors the way Kubernetes' aggregate does: one error alone, or
/// `[first, second]` for more.
pub fn join_field_errors(errors: &[FieldError]) -> String {
    match errors {
        [] => String::new(),
        [only] => only.to_string(),
        many => {
            let parts: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_value_reads_like_kubernetes() {
        let path = FieldPath::new("spec").child("template").child("spec").child("containers").index(0).child("image");
        let error = FieldError::required(&path, "");
        assert_eq!(error.to_string(), "spec.template.spec.containers[0].image: Required value");
    }

    #[test]
    fn invalid_value_quotes_strings_and_appends_detail() {
        let error = FieldError::invalid(&FieldPath::new("metadata").child("name"), "Foo", "must be lowercase");
        assert_eq!(error.to_string(), "metadata.name: Invalid value: \"Foo\": must be lowercase");
    }

    #[test]
    fn not_supported_lists_supported_values() {
        let path = FieldPath::new("spec").child("restartPolicy");
        let error = FieldError::not_supported(&path, "Sometimes", &["Always", "OnFailure", "Never"]);
        assert_eq!(
            error.to_string(),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
        );
    }

    #[test]
    fn map_keys_are_bracketed() {
        let path = FieldPath::new("metadata").child("labels").key("app");
        assert_eq!(path.as_str(), "metadata.labels[app]");
    }

    #[test]
    fn several_errors_are_joined_in_brackets() {
        let first = FieldError::required(&FieldPath::new("a"), "");
        let second = FieldError::forbidden(&FieldPath::new("b"), "no");
        assert_eq!(join_field_errors(&[first, second]), "[a: Required value, b: Forbidden: no]");
    }
}
