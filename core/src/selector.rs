//! Label selectors (string syntax and matchLabels/matchExpressions), field selectors, and the
//! node selectors the scheduler matches nodes with.
//!
//! Selectors are parsed once and matched many times (every object of a list), so matching never
//! allocates.

pub mod field;
pub mod label;
pub mod node;

pub use field::{FieldSelector, FieldTerm, check_supported, field_value, supported_field_labels};
pub use label::{LabelSelector, Operator, Requirement};
pub use node::{NodeSelectorMatcher, matches_node_selector_map, matches_node_selector_term};

use crate::object::FieldError;
use crate::object::field_error::join_field_errors;

/// Field errors in Kubernetes' aggregate form: one alone, or `[first, second]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        out.write_str(&join_field_errors(&self.0))
    }
}

/// Why a selector could not be parsed, built, or checked.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SelectorError {
    /// The label selector text is malformed; the message is Kubernetes' parser message.
    #[error("{message}")]
    LabelSyntax {
        /// Kubernetes' wording, such as `found ')', expected: identifier`.
        message: String,
    },
    /// A requirement is invalid (bad key, bad value, wrong number of values).
    #[error("{errors}")]
    InvalidRequirement {
        /// What is wrong, field by field.
        errors: FieldErrors,
    },
    /// A LabelSelector names an operator that does not exist.
    #[error("{operator:?} is not a valid label selector operator")]
    UnknownOperator {
        /// The operator as written.
        operator: String,
    },
    /// A field selector term has no `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    FieldSyntax {
        /// The whole selector.
        selector: String,
        /// The term that could not be read.
        term: String,
    },
    /// A field selector value has a backslash before something other than `\`, `,` or `=`.
    #[error("invalid field selector: invalid escape sequence: {sequence}")]
    InvalidEscapeSequence {
        /// The backslash and what followed it.
        sequence: String,
    },
    /// A field selector value has a bare `,` or `=`; Kubernetes prints the character's code.
    #[error("invalid field selector: unescaped character in value: {}", u32::from(*character))]
    UnescapedCharacter {
        /// The character.
        character: char,
    },
    /// The field selector names a field the kind cannot be selected by.
    #[error("field label not supported: {label}")]
    FieldLabelNotSupported {
        /// The field label.
        label: String,
    },
}
