//! The Kubernetes object model: the kinds coxswain serves, a dynamic object that any kind fits in,
//! quantities, field errors, defaulting and validation.
//!
//! The typed kinds are `k8s_openapi`'s (wire-compatible with Kubernetes JSON and YAML by
//! construction); this module adds what Kubernetes' API machinery adds around them.

pub mod cron_schedule;
pub mod defaults;
pub mod dynamic;
pub mod field_error;
pub mod kinds;
pub mod metadata_value;
pub mod names;
pub mod pod_conditions;
pub mod protobuf;
pub mod qos;
pub mod quantity;
pub mod quota_usage;
pub mod schema_facts;
pub mod strict;
pub mod validation;

pub use dynamic::{Object, ObjectError};
pub use field_error::{FieldError, FieldErrorType, FieldPath};
pub use kinds::{ResourceType, Scope};
pub use quantity::{Format, Quantity, QuantityError};
