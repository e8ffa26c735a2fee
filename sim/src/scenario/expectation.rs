//! Expectations: statements about the cluster that must hold by a time, at a time, always, or at
//! the end. Written as one line a person reads:
//!
//! ```text
//! deployment/web availableReplicas == 3 within 60s
//! pods(app=web) nodes >= 3 at 5m
//! statefulset/web status.readyReplicas == 3
//! nodes(pool=a) ready == 2 always after 1m
//! ```
//!
//! A subject is an object reference (a field of it is read: a bare name is looked up under
//! `status`, then `spec`, then at the top; a dotted path is read as written; a missing number is
//! 0, as Kubernetes omits zero counts), or `pods(SELECTOR)` / `nodes(SELECTOR)` with a measure.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::target::{Target, TargetError};
use crate::duration::SimDuration;

/// An expectation as written in a scenario: a line, or a mapping with the timing apart.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ExpectationSpec {
    /// `deployment/web availableReplicas == 3 within 60s`.
    Line(String),
    /// `{that: "deployment/web availableReplicas == 3", within: 60s, after: 30s}`.
    Mapping(ExpectationMapping),
}

/// The mapping form of an expectation.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectationMapping {
    /// The condition (and, optionally, its timing).
    pub that: String,
    /// Must hold at some point within this long after `after`.
    #[serde(default)]
    pub within: Option<SimDuration>,
    /// Must hold at exactly this offset.
    #[serde(default)]
    pub at: Option<SimDuration>,
    /// Must hold at every check from `after` to the end.
    #[serde(default)]
    pub always: bool,
    /// Where `within` and `always` start (default 0).
    #[serde(default)]
    pub after: Option<SimDuration>,
}

/// When an expectation is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// At the end of the run.
    AtEnd,
    /// At one offset.
    At(SimDuration),
    /// At some check between `after` and `after + within`.
    Within {
        /// Start of the window.
        after: SimDuration,
        /// Length of the window.
        within: SimDuration,
    },
    /// At every check from `after` on (a safety property).
    Always {
        /// Start.
        after: SimDuration,
    },
}

/// What an expectation is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// A field of one object.
    Object {
        /// The object.
        target: Target,
        /// The field (`availableReplicas`, `status.phase`).
        field: String,
    },
    /// A measure over the pods a selector picks in a namespace.
    Pods {
        /// The namespace.
        namespace: String,
        /// The label selector text (empty: every pod).
        selector: String,
        /// What is measured.
        measure: PodMeasure,
    },
    /// A measure over nodes.
    Nodes {
        /// The label selector text.
        selector: String,
        /// What is measured.
        measure: NodeMeasure,
    },
}

/// Measures over pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodMeasure {
    /// Pods not being deleted.
    Count,
    /// Pods in phase Running.
    Running,
    /// Pods whose Ready condition is True.
    Ready,
    /// Pods in phase Pending.
    Pending,
    /// Pods in phase Succeeded.
    Succeeded,
    /// Pods in phase Failed.
    Failed,
    /// Distinct nodes the running pods are on.
    Nodes,
    /// The most running pods on one node.
    MaxPerNode,
    /// Container restarts, summed.
    Restarts,
}

/// Measures over nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeMeasure {
    /// Nodes.
    Count,
    /// Nodes whose Ready condition is True.
    Ready,
    /// Nodes marked unschedulable.
    Unschedulable,
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `>=`
    AtLeast,
    /// `<=`
    AtMost,
    /// `>`
    Greater,
    /// `<`
    Less,
}

/// The value compared against.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    /// A number.
    Number(f64),
    /// A string (only `==` and `!=` apply).
    Text(String),
}

/// One expectation, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The text as written (for messages).
    pub text: String,
    /// What is read.
    pub subject: Subject,
    /// How it is compared.
    pub comparison: Comparison,
    /// With what.
    pub expected: Expected,
    /// When.
    pub timing: Timing,
}

/// Why an expectation could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExpectationError {
    /// The line does not have the shape `SUBJECT FIELD OP VALUE [TIMING]`.
    #[error("{text:?}: {reason}")]
    Shape {
        /// The line.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// The object reference is wrong.
    #[error("{text:?}: {source}")]
    Target {
        /// The line.
        text: String,
        /// The cause.
        #[source]
        source: TargetError,
    },
}

impl Expectation {
    /// Reads one expectation.
    pub fn from_spec(spec: &ExpectationSpec) -> Result<Expectation, ExpectationError> {
        match spec {
            ExpectationSpec::Line(text) => Expectation::parse(text),
            ExpectationSpec::Mapping(mapping) => {
                let mut expectation = Expectation::parse(&mapping.that)?;
                let after = mapping.after.unwrap_or_default();
                let explicit = [mapping.within.is_some(), mapping.at.is_some(), mapping.always];
                if explicit.iter().filter(|set| **set).count() > 1 {
                    return Err(shape(&mapping.that, "give at most one of within, at and always"));
                }
                if let Some(within) = mapping.within {
                    expectation.timing = Timing::Within { after, within };
                } else if let Some(at) = mapping.at {
                    expectation.timing = Timing::At(at);
                } else if mapping.always {
                    expectation.timing = Timing::Always { after };
                }
                Ok(expectation)
            }
        }
    }

    /// Reads the line form.
    pub fn parse(text: &str) -> Result<Expectation, ExpectationError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some(operator_index) = words.iter().position(|word| comparison(word).is_some()) else {
            return Err(shape(text, "no comparison (==, !=, >=, <=, >, <) found"));
        };
        let (subject_words, rest) = words.split_at(operator_index);
        let comparison = comparison(rest[0]).unwrap_or(Comparison::Equal);
        let Some(value_word) = rest.get(1) else {
            return Err(shape(text, "a value must follow the comparison"));
        };
        let expected = match value_word.parse::<f64>() {
            Ok(number) if number.is_finite() => Expected::Number(number),
            _ => Expected::Text(value_word.trim_matches('"').to_string()),
        };
        if matches!(expected, Expected::Text(_)) && !matches!(comparison, Comparison::Equal | Comparison::NotEqual) {
            return Err(shape(text, "only == and != compare text"));
        }
        let timing = timing(text, &rest[2..])?;
        let subject = subject(text, subject_words)?;
        Ok(Expectation { text: text.to_string(), subject, comparison, expected, timing })
    }

    /// Whether a measured value satisfies the comparison.
    pub fn holds(&self, measured: &Measured) -> bool {
        match (&self.expected, measured) {
            (Expected::Number(expected), Measured::Number(actual)) => compare(*actual, *expected, self.comparison),
            (Expected::Text(expected), Measured::Text(actual)) => match self.comparison {
                Comparison::Equal => actual == expected,
                Comparison::NotEqual => actual != expected,
                _ => false,
            },
            (Expected::Text(expected), Measured::Number(actual)) => {
                let equal = actual.to_string() == *expected;
                if self.comparison == Comparison::NotEqual { !equal } else { equal }
            }
            (Expected::Number(expected), Measured::Text(actual)) => {
                actual.parse::<f64>().is_ok_and(|actual| compare(actual, *expected, self.comparison))
            }
            (_, Measured::Missing) => self.comparison == Comparison::NotEqual,
        }
    }
}

/// A value read from the cluster.
#[derive(Clone, Debug, PartialEq)]
pub enum Measured {
    /// A number.
    Number(f64),
    /// A string.
    Text(String),
    /// The object does not exist.
    Missing,
}

impl fmt::Display for Measured {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measured::Number(number) => write!(formatter, "{number}"),
            Measured::Text(text) => write!(formatter, "{text:?}"),
            Measured::Missing => formatter.write_str("(no such object)"),
        }
    }
}

/// Reads a field of an object as an expectation names it: a dotted path as written, or a bare
/// name under `status`, then `spec`, then the top level. A missing number is 0.
pub fn read_field(object: &Value, field: &str) -> Measured {
    if let Some(list) = field.strip_suffix(".length") {
        // `subsets.0.addresses.length`: how many items a list has (0 when it is missing).
        return match read_value(object, list) {
            Some(Value::Array(items)) => Measured::Number(items.len() as f64),
            Some(Value::Object(map)) => Measured::Number(map.len() as f64),
            _ => Measured::Number(0.0),
        };
    }
    match read_value(object, field) {
        Some(Value::Number(number)) => Measured::Number(number.as_f64().unwrap_or_default()),
        Some(Value::String(text)) => Measured::Text(text),
        Some(Value::Bool(flag)) => Measured::Text(flag.to_string()),
        Some(other) if !other.is_null() => Measured::Text(other.to_string()),
        _ => Measured::Number(0.0),
    }
}

fn read_value(object: &Value, field: &str) -> Option<Value> {
    let lookup = |path: &str| {
        let pointer = format!("/{}", path.replace('.', "/"));
        object.pointer(&pointer).cloned()
    };
    if field.contains('.') {
        lookup(field)
    } else {
        lookup(&format!("status.{field}")).or_else(|| lookup(&format!("spec.{field}"))).or_else(|| lookup(field))
    }
}

fn compare(actual: f64, expected: f64, comparison: Comparison) -> bool {
    match comparison {
        Comparison::Equal => actual == expected,
        Comparison::NotEqual => actual != expected,
        Comparison::AtLeast => actual >= expected,
        Comparison::AtMost => actual <= expected,
        Comparison::Greater => actual > expected,
        Comparison::Less => actual < expected,
    }
}

fn shape(text: &str, reason: &str) -> ExpectationError {
    ExpectationError::Shape { text: text.to_string(), reason: reason.to_string() }
}

fn comparison(word: &str) -> Option<Comparison> {
    Some(match word {
        "==" => Comparison::Equal,
        "!=" => Comparison::NotEqual,
        ">=" => Comparison::AtLeast,
        "<=" => Comparison::AtMost,
        ">" => Comparison::Greater,
        "<" => Comparison::Less,
        _ => return None,
    })
}

fn duration(text: &str, word: Option<&&str>) -> Result<SimDuration, ExpectationError> {
    let word = word.ok_or_else(|| shape(text, "a duration must follow within, at and after"))?;
    SimDuration::parse(word).map_err(|error| shape(text, &error.to_string()))
}

fn timing(text: &str, words: &[&str]) -> Result<Timing, ExpectationError> {
    match words {
        [] => Ok(Timing::AtEnd),
        ["within", ..] => {
            let within = duration(text, words.get(1))?;
            let after = match &words[2..] {
                [] => SimDuration::default(),
                ["after", ..] if words.len() == 4 => duration(text, words.get(3))?,
                _ => return Err(shape(text, "after `within D` only `after D` may follow")),
            };
            Ok(Timing::Within { after, within })
        }
        ["at", "end"] => Ok(Timing::AtEnd),
        ["at", _] => Ok(Timing::At(duration(text, words.get(1))?)),
        ["always"] => Ok(Timing::Always { after: SimDuration::default() }),
        ["always", "after", _] => Ok(Timing::Always { after: duration(text, words.get(2))? }),
        _ => Err(shape(text, "timing must be `within D [after D]`, `at D`, `at end` or `always [after D]`")),
    }
}

fn subject(text: &str, words: &[&str]) -> Result<Subject, ExpectationError> {
    let [subject, measure] = words else {
        return Err(shape(text, "write SUBJECT FIELD before the comparison (deployment/web availableReplicas)"));
    };
    if let Some((prefix, selector)) = collection_call(subject) {
        let (namespace, collection) = match prefix.split_once('/') {
            Some((namespace, collection)) => (namespace.to_string(), collection),
            None => ("default".to_string(), prefix),
        };
        return match collection {
            "pods" => Ok(Subject::Pods { namespace, selector, measure: pod_measure(text, measure)? }),
            "nodes" => Ok(Subject::Nodes { selector, measure: node_measure(text, measure)? }),
            _ => Err(shape(text, "only pods(SELECTOR) and nodes(SELECTOR) are collections")),
        };
    }
    let target =
        Target::parse(subject).map_err(|source| ExpectationError::Target { text: text.to_string(), source })?;
    Ok(Subject::Object { target, field: (*measure).to_string() })
}

/// Splits `pods(app=web)` into (`pods`, `app=web`).
fn collection_call(word: &str) -> Option<(&str, String)> {
    let open = word.find('(')?;
    let inner = word[open + 1..].strip_suffix(')')?;
    Some((&word[..open], inner.to_string()))
}

fn pod_measure(text: &str, word: &str) -> Result<PodMeasure, ExpectationError> {
    Ok(match word {
        "count" => PodMeasure::Count,
        "running" => PodMeasure::Running,
        "ready" => PodMeasure::Ready,
        "pending" => PodMeasure::Pending,
        "succeeded" => PodMeasure::Succeeded,
        "failed" => PodMeasure::Failed,
        "nodes" => PodMeasure::Nodes,
        "maxPerNode" => PodMeasure::MaxPerNode,
        "restarts" => PodMeasure::Restarts,
        _ => {
            return Err(shape(
                text,
                "pods() measures are count, running, ready, pending, succeeded, failed, nodes, maxPerNode, restarts",
            ));
        }
    })
}

fn node_measure(text: &str, word: &str) -> Result<NodeMeasure, ExpectationError> {
    Ok(match word {
        "count" => NodeMeasure::Count,
        "ready" => NodeMeasure::Ready,
        "unschedulable" => NodeMeasure::Unschedulable,
        _ => return Err(shape(text, "nodes() measures are count, ready, unschedulable")),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_read_into_subject_comparison_value_and_timing() {
        let expectation = Expectation::parse("deployment/web availableReplicas == 3 within 60s").expect("valid");
        assert_eq!(expectation.comparison, Comparison::Equal);
        assert_eq!(expectation.expected, Expected::Number(3.0));
        assert_eq!(
            expectation.timing,
            Timing::Within { after: SimDuration::default(), within: SimDuration::from_secs(60) }
        );
        let Subject::Object { target, field } = &expectation.subject else { panic!("an object subject") };
        assert_eq!((target.name.as_str(), field.as_str()), ("web", "availableReplicas"));

        let pods = Expectation::parse("prod/pods(app=web,tier!=cache) nodes >= 3 always after 1m").expect("valid");
        assert_eq!(
            pods.subject,
            Subject::Pods {
                namespace: "prod".into(),
                selector: "app=web,tier!=cache".into(),
                measure: PodMeasure::Nodes
            }
        );
        assert_eq!(pods.timing, Timing::Always { after: SimDuration::from_secs(60) });
        let phase = Expectation::parse("pod/job-x status.phase == Succeeded at 5m").expect("valid");
        assert_eq!(
            (phase.expected, phase.timing),
            (Expected::Text("Succeeded".into()), Timing::At(SimDuration::from_secs(300)))
        );
    }

    #[test]
    fn malformed_lines_say_what_to_write() {
        let cases = [
            ("deployment/web availableReplicas 3", "no comparison (==, !=, >=, <=, >, <) found"),
            ("deployment/web availableReplicas ==", "a value must follow the comparison"),
            ("deployment/web phase > Running", "only == and != compare text"),
            (
                "deployment/web replicas == 3 soon",
                "timing must be `within D [after D]`, `at D`, `at end` or `always [after D]`",
            ),
            (
                "pods(app=web) happy == 3",
                "pods() measures are count, running, ready, pending, succeeded, failed, nodes, maxPerNode, restarts",
            ),
            ("web == 3", "write SUBJECT FIELD before the comparison (deployment/web availableReplicas)"),
        ];
        for (text, reason) in cases {
            assert_eq!(Expectation::parse(text), Err(shape(text, reason)), "{text}");
        }
        assert!(matches!(Expectation::parse("gadget/web replicas == 1"), Err(ExpectationError::Target { .. })));
    }

    #[test]
    fn fields_are_found_under_status_then_spec_and_missing_counts_are_zero() {
        let deployment = json!({"spec": {"replicas": 3, "paused": true}, "status": {"replicas": 2}});
        assert_eq!(read_field(&deployment, "replicas"), Measured::Number(2.0));
        assert_eq!(read_field(&deployment, "spec.replicas"), Measured::Number(3.0));
        assert_eq!(read_field(&deployment, "availableReplicas"), Measured::Number(0.0));
        assert_eq!(read_field(&deployment, "paused"), Measured::Text("true".into()));
        let endpoints = json!({"subsets": [{"addresses": [{"ip": "10.244.0.2"}, {"ip": "10.244.1.2"}]}]});
        assert_eq!(read_field(&endpoints, "subsets.0.addresses.length"), Measured::Number(2.0));
        assert_eq!(read_field(&endpoints, "subsets.0.notReadyAddresses.length"), Measured::Number(0.0));
        let expectation = Expectation::parse("deployment/web availableReplicas >= 2").expect("valid");
        assert!(expectation.holds(&Measured::Number(2.0)));
        assert!(!expectation.holds(&Measured::Number(1.0)));
        assert!(!expectation.holds(&Measured::Missing));
    }
}
