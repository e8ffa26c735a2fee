//! Label selectors: Kubernetes' string syntax (`a=b,c in (x,y),!d`), `LabelSelector`
//! (matchLabels and matchExpressions), matching against a label map, and canonical printing.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::{FieldErrors, SelectorError};
use crate::object::names::{is_qualified_name, is_valid_label_value};
use crate::object::{FieldError, FieldPath};

/// How a requirement relates a label's value to its values (Kubernetes' `selection.Operator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// The label is set to one of the values.
    In,
    /// The label is unset or set to none of the values.
    NotIn,
    /// `a=b`.
    Equals,
    /// `a==b`.
    DoubleEquals,
    /// `a!=b`: unset or different.
    NotEquals,
    /// The label is set.
    Exists,
    /// The label is unset.
    DoesNotExist,
    /// The label is an integer greater than the value.
    GreaterThan,
    /// The label is an integer less than the value.
    LessThan,
}

impl Operator {
    /// The operator as Kubernetes spells it (`selection.Operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// The binary operators, in the order Kubernetes lists them in parse errors.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

/// One condition on one label key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
    /// The value of a `gt`/`lt` requirement, parsed once.
    bound: i64,
}

impl Requirement {
    /// Builds a requirement with Kubernetes' `NewRequirement` checks; `path` prefixes the
    /// field errors (`key`, `values[0]`, …).
    pub fn new(
        key: &str,
        operator: Operator,
        values: Vec<String>,
        path: &FieldPath,
    ) -> Result<Requirement, SelectorError> {
        let mut errors = Vec::new();
        let key_errors = is_qualified_name(key);
        if !key_errors.is_empty() {
            errors.push(FieldError::invalid(&path.child("key"), key, &key_errors.join("; ")));
        }
        let values_path = path.child("values");
        let values_json = || serde_json::Value::from(values.clone());
        let mut bound = 0;
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => errors.push(FieldError::invalid(
                &values_path,
                values_json(),
                "for 'in', 'notin' operators, values set can't be empty",
            )),
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => errors.push(
                FieldError::invalid(&values_path, values_json(), "exact-match compatibility requires one single value"),
            ),
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => errors.push(FieldError::invalid(
                &values_path,
                values_json(),
                "values set must be empty for exists and does not exist",
            )),
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errors.push(FieldError::invalid(
                        &values_path,
                        values_json(),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (index, value) in values.iter().enumerate() {
                    match value.parse::<i64>() {
                        Ok(parsed) => bound = parsed,
                        Err(_) => errors.push(FieldError::invalid(
                            &values_path.index(index),
                            value.as_str(),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        )),
                    }
                }
            }
            _ => {}
        }
        for (index, value) in values.iter().enumerate() {
            let value_errors = is_valid_label_value(value);
            if !value_errors.is_empty() {
                let value_path = values_path.index(index).key(key);
                errors.push(FieldError::invalid(&value_path, value.as_str(), &value_errors.join("; ")));
            }
        }
        if !errors.is_empty() {
            return Err(SelectorError::InvalidRequirement { errors: FieldErrors(errors) });
        }
        Ok(Requirement { key: key.to_string(), operator, values, bound })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, in the order given.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.iter().any(|candidate| candidate == value)
    }

    /// Whether a set of labels satisfies this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(self.key.as_str());
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|value| self.has_value(value))
            }
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|value| !self.has_value(value)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(Ok(value)) = value.map(|value| value.parse::<i64>()) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { value > self.bound } else { value < self.bound }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// Kubernetes' `Requirement.String()`: values sorted, `in`/`notin` parenthesised.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            out.write_str("!")?;
        }
        out.write_str(&self.key)?;
        let (operator, parenthesised) = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => ("=", false),
            Operator::DoubleEquals => ("==", false),
            Operator::NotEquals => ("!=", false),
            Operator::In => (" in ", true),
            Operator::NotIn => (" notin ", true),
            Operator::GreaterThan => (">", false),
            Operator::LessThan => ("<", false),
        };
        out.write_str(operator)?;
        if parenthesised {
            out.write_str("(")?;
        }
        let mut values: Vec<&str> = self.values.iter().map(String::as_str).collect();
        values.sort_unstable();
        out.write_str(&values.join(","))?;
        if parenthesised {
            out.write_str(")")?;
        }
        Ok(())
    }
}

/// A label selector: requirements that must all hold, or the selector that matches nothing
/// (what a missing `LabelSelector` means).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    matches_nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every set of labels (Kubernetes' `Everything()`).
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// The selector that matches nothing (Kubernetes' `Nothing()`).
    pub fn nothing() -> LabelSelector {
        LabelSelector { requirements: Vec::new(), matches_nothing: true }
    }

    /// Builds a selector from requirements, sorted by key as Kubernetes' `Add` does.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> LabelSelector {
        requirements.sort_by(|left, right| left.key.cmp(&right.key));
        LabelSelector { requirements, matches_nothing: false }
    }

    /// A selector requiring every label of the map (`SelectorFromSet`), as Services and
    /// ReplicationControllers select; not validated, like Kubernetes.
    pub fn from_set(labels: &BTreeMap<String, String>) -> LabelSelector {
        let requirements = labels
            .iter()
            .map(|(key, value)| Requirement {
                key: key.clone(),
                operator: Operator::Equals,
                values: vec![value.clone()],
                bound: 0,
            })
            .collect();
        LabelSelector { requirements, matches_nothing: false }
    }

    /// Kubernetes' `LabelSelectorAsSelector`: a missing selector matches nothing, an empty one
    /// everything.
    pub fn from_label_selector(selector: Option<&meta::LabelSelector>) -> Result<LabelSelector, SelectorError> {
        let Some(selector) = selector else {
            return Ok(LabelSelector::nothing());
        };
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::new(key, Operator::Equals, vec![value.clone()], &FieldPath::root())?);
        }
        for expression in selector.match_expressions.iter().flatten() {
            let operator = match expression.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(SelectorError::UnknownOperator { operator: other.to_string() }),
            };
            let values = expression.values.clone().unwrap_or_default();
            requirements.push(Requirement::new(&expression.key, operator, values, &FieldPath::root())?);
        }
        Ok(LabelSelector::from_requirements(requirements))
    }

    /// Parses Kubernetes' label selector syntax (`labels.Parse`).
    pub fn parse(text: &str) -> Result<LabelSelector, SelectorError> {
        let tokens = lex(text);
        let requirements = Parser { tokens, position: 0 }.parse()?;
        Ok(LabelSelector::from_requirements(requirements))
    }

    /// Whether the selector places no restriction (it matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty() && !self.matches_nothing
    }

    /// Whether this is the selector that matches nothing.
    pub fn matches_nothing(&self) -> bool {
        self.matches_nothing
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether a set of labels satisfies every requirement. Allocation-free.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.matches_nothing && self.requirements.iter().all(|requirement| requirement.matches(labels))
    }

    /// Like [`matches`](Self::matches) for an object's optional labels (none is no labels).
    pub fn matches_optional(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();
        self.matches(labels.unwrap_or(&NO_LABELS))
    }

    /// The one value a label must have, if the selector pins it (`RequiresExactMatch`); lets a
    /// list use an index.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let requirement = self.requirements.iter().find(|requirement| requirement.key == key)?;
        match (requirement.operator, requirement.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }

    /// A label the selector pins to a few values (the first `=`, `==` or `in` requirement, by
    /// key): a set of labels can only match if it carries the key with one of these values.
    /// Lets an index read the few objects under those values instead of testing every object.
    pub fn pinned_values(&self) -> Option<(&str, &[String])> {
        self.requirements.iter().find_map(|requirement| match requirement.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => {
                Some((requirement.key.as_str(), requirement.values.as_slice()))
            }
            _ => None,
        })
    }
}

impl fmt::Display for LabelSelector {
    /// The canonical form: requirements by key, comma-separated; nothing prints as empty.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, requirement) in self.requirements.iter().enumerate() {
            if index > 0 {
                out.write_str(",")?;
            }
            write!(out, "{requirement}")?;
        }
        Ok(())
    }
}

impl FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<LabelSelector, SelectorError> {
        LabelSelector::parse(text)
    }
}

/// The tokens of the label selector lexer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(text: &[u8]) -> Option<Token> {
    Some(match text {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"in" => Token::In,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"notin" => Token::NotIn,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(byte: u8) -> bool {
    matches!(byte, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits the text into tokens the way Kubernetes' `Lexer` does.
fn lex(text: &str) -> Vec<(Token, String)> {
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut tokens = Vec::new();
    loop {
        while position < bytes.len() && is_whitespace(bytes[position]) {
            position += 1;
        }
        let Some(&first) = bytes.get(position) else {
            tokens.push((Token::EndOfString, String::new()));
            return tokens;
        };
        let start = position;
        if is_special_symbol(first) {
            let mut last: Option<(Token, usize)> = None;
            while position < bytes.len() && is_special_symbol(bytes[position]) {
                if let Some(token) = keyword(&bytes[start..=position]) {
                    last = Some((token, position + 1));
                } else if last.is_some() {
                    break;
                }
                position += 1;
            }
            match last {
                Some((token, end)) => {
                    tokens.push((token, text[start..end].to_string()));
                    position = end;
                }
                None => {
                    let found = &text[start..position];
                    tokens.push((Token::Error, format!("error expected: keyword found '{found}'")));
                }
            }
        } else {
            while position < bytes.len() && !is_special_symbol(bytes[position]) && !is_whitespace(bytes[position]) {
                position += 1;
            }
            let literal = &text[start..position];
            let token = keyword(literal.as_bytes()).unwrap_or(Token::Identifier);
            tokens.push((token, literal.to_string()));
        }
    }
}

/// Where the parser is: `in`/`notin` are identifiers when values are expected.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    tokens: Vec<(Token, String)>,
    position: usize,
}

fn syntax(message: String) -> SelectorError {
    SelectorError::LabelSyntax { message }
}

impl Parser {
    fn lookahead(&self, context: Context) -> (Token, &str) {
        let (token, literal) = &self.tokens[self.position.min(self.tokens.len() - 1)];
        (contextual(*token, context), literal)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let index = self.position.min(self.tokens.len() - 1);
        self.position += 1;
        let (token, literal) = &self.tokens[index];
        (contextual(*token, context), literal.clone())
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self
                        .parse_requirement()
                        .map_err(|error| syntax(format!("unable to parse requirement: {error}")))?;
                    requirements.push(requirement);
                    let (token, literal) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (next, literal) = self.lookahead(Context::Values);
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(syntax(format!("found '{literal}', expected: identifier after ','")));
                            }
                        }
                        _ => return Err(syntax(format!("found '{literal}', expected: ',' or 'end of string'"))),
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => return Err(syntax(format!("found '{literal}', expected: !, identifier, or 'end of string'"))),
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(operator) = inferred {
            return Requirement::new(&key, operator, Vec::new(), &FieldPath::root());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(&key, operator, values, &FieldPath::root())
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), SelectorError> {
        let (mut token, mut literal) = self.consume(Context::Values);
        let mut operator = None;
        if token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(syntax(format!("found '{literal}', expected: identifier")));
        }
        let key_errors = is_qualified_name(&literal);
        if !key_errors.is_empty() {
            let error = FieldError::invalid(&FieldPath::root(), literal.as_str(), &key_errors.join("; "));
            return Err(SelectorError::InvalidRequirement { errors: FieldErrors(vec![error]) });
        }
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) && operator.is_none() {
            operator = Some(Operator::Exists);
        }
        Ok((literal, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, SelectorError> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(syntax(format!("found '{literal}', expected: {BINARY_OPERATORS}"))),
        })
    }

    fn parse_values(&mut self) -> Result<Vec<String>, SelectorError> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(syntax(format!("found '{literal}' expected: '('")));
        }
        let (token, literal) = self.lookahead(Context::Values);
        let literal = literal.to_string();
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    return Err(syntax(format!("found '{literal}', expected: ')'")));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(syntax(format!("found '{literal}', expected: ',', ')' or identifier"))),
        }
    }

    /// A comma-separated list of possibly empty identifiers, as a sorted set.
    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, SelectorError> {
        let mut values = std::collections::BTreeSet::new();
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.insert(literal);
                    let (next, literal) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values.into_iter().collect()),
                        _ => return Err(syntax(format!("found '{literal}', expected: ',' or ')'"))),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let (next, _) = self.lookahead(Context::Values);
                    if next == Token::ClosedPar {
                        values.insert(String::new());
                        return Ok(values.into_iter().collect());
                    }
                    if next == Token::Comma {
                        values.insert(String::new());
                    }
                }
                _ => return Err(syntax(format!("found '{literal}', expected: ',', or identifier"))),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            return Ok(vec![literal]);
        }
        Err(syntax(format!("found '{literal}', expected: identifier")))
    }
}

fn contextual(token: Token, context: Context) -> Token {
    match (context, token) {
        (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
        _ => token,
    }
}

#[cfg(test)]
mod tests;
