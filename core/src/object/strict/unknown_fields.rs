//! Decodes a JSON value into a typed struct in one pass while noting the fields the struct does
//! not know, so that strict decoding needs neither a second encoding nor a tree comparison.
//!
//! The typed `k8s_openapi` structs hand every key they do not know to `IgnoredAny`; the
//! deserializer here wraps serde_json's own `&Value` deserializer, follows the path down through
//! maps and lists, and records the path of each non-null value that is ignored. Scalars are
//! deserialized by serde_json itself, so a value decodes (or fails to) exactly as it does there.

use std::cell::RefCell;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::object::field_error::{FieldError, FieldPath};

/// One step of the path from the root to the value being decoded.
#[derive(Clone, Copy)]
enum Segment<'v> {
    Field(&'v str),
    Index(usize),
}

/// The path being walked and the unknown fields found so far.
#[derive(Default)]
struct Walk<'v> {
    path: RefCell<Vec<Segment<'v>>>,
    unknown: RefCell<Vec<FieldError>>,
}

impl<'v> Walk<'v> {
    fn note_unknown(&self, last: Option<Segment<'v>>) {
        let path = self.path.borrow();
        let mut field_path = FieldPath::root();
        for segment in path.iter().copied().chain(last) {
            field_path = match segment {
                Segment::Field(name) => field_path.child(name),
                Segment::Index(index) => field_path.index(index),
            };
        }
        self.unknown.borrow_mut().push(FieldError::unknown_field(&field_path));
    }

    /// Runs `decode` with `segment` on the path.
    fn within<T>(&self, segment: Segment<'v>, decode: impl FnOnce() -> T) -> T {
        self.path.borrow_mut().push(segment);
        let decoded = decode();
        self.path.borrow_mut().pop();
        decoded
    }
}

/// Decodes `value` as `T`, returning the paths of the non-null fields `T` does not know, in the
/// order they appear. Fails exactly when `serde_json::from_value` fails.
pub(crate) fn deserialize_noting_unknown_fields<T: DeserializeOwned>(
    value: &Value,
) -> Result<(T, Vec<FieldError>), serde_json::Error> {
    let walk = Walk::default();
    let typed = T::deserialize(Tracked { value, walk: &walk })?;
    Ok((typed, walk.unknown.into_inner()))
}

/// A value on its way into a typed struct.
struct Tracked<'v, 'w> {
    value: &'v Value,
    walk: &'w Walk<'v>,
}

impl<'v, 'w> Tracked<'v, 'w> {
    fn visit_list<V: Visitor<'v>>(
        items: &'v [Value],
        walk: &'w Walk<'v>,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        let mut access = ListAccess { items: items.iter().enumerate(), walk };
        let decoded = visitor.visit_seq(&mut access)?;
        let remaining = access.items.len();
        if remaining == 0 {
            Ok(decoded)
        } else {
            Err(de::Error::invalid_length(items.len(), &"fewer elements in array"))
        }
    }

    fn visit_mapping<V: Visitor<'v>>(
        entries: &'v Map<String, Value>,
        walk: &'w Walk<'v>,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        let mut access = MappingAccess { entries: entries.iter(), value: None, walk };
        let decoded = visitor.visit_map(&mut access)?;
        let remaining = access.entries.len();
        if remaining == 0 {
            Ok(decoded)
        } else {
            Err(de::Error::invalid_length(entries.len(), &"fewer elements in map"))
        }
    }
}

/// Methods whose target is a scalar go to serde_json as they are: a list or mapping given to
/// them fails there with serde_json's message. (An enum with content would be decoded without
/// noting unknown fields inside it; the `k8s_openapi` structs have none.)
macro_rules! scalars {
    ($($method:ident($($argument:ident: $type:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'v>>(self, $($argument: $type,)* visitor: V) -> Result<V::Value, serde_json::Error> {
                self.value.$method($($argument,)* visitor)
            }
        )*
    };
}

/// Methods whose target may be a list walk into a list here; anything else goes to serde_json.
macro_rules! lists {
    ($($method:ident($($argument:ident: $type:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'v>>(self, $($argument: $type,)* visitor: V) -> Result<V::Value, serde_json::Error> {
                match self.value {
                    Value::Array(items) => Tracked::visit_list(items, self.walk, visitor),
                    value => value.$method($($argument,)* visitor),
                }
            }
        )*
    };
}

impl<'v> Deserializer<'v> for Tracked<'v, '_> {
    type Error = serde_json::Error;

    scalars! {
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_identifier();
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }

    lists! {
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_seq();
        deserialize_tuple(length: usize);
        deserialize_tuple_struct(name: &'static str, length: usize);
    }

    fn deserialize_any<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match self.value {
            Value::Array(items) => Tracked::visit_list(items, self.walk, visitor),
            Value::Object(entries) => Tracked::visit_mapping(entries, self.walk, visitor),
            value => value.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'v>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        match self.value {
            Value::Array(items) => Tracked::visit_list(items, self.walk, visitor),
            Value::Object(entries) => Tracked::visit_mapping(entries, self.walk, visitor),
            value => value.deserialize_struct(name, fields, visitor),
        }
    }

    fn deserialize_map<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match self.value {
            Value::Object(entries) => Tracked::visit_mapping(entries, self.walk, visitor),
            value => value.deserialize_map(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'v>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        // Kubernetes treats `field: null` as unset, so an unknown field that is null is no error.
        if !self.value.is_null() {
            self.walk.note_unknown(None);
        }
        visitor.visit_unit()
    }
}

/// The items of a list, each decoded with its index on the path.
struct ListAccess<'v, 'w, I: Iterator<Item = (usize, &'v Value)>> {
    items: I,
    walk: &'w Walk<'v>,
}

impl<'v, I: ExactSizeIterator<Item = (usize, &'v Value)>> SeqAccess<'v> for ListAccess<'v, '_, I> {
    type Error = serde_json::Error;

    fn next_element_seed<S: DeserializeSeed<'v>>(&mut self, seed: S) -> Result<Option<S::Value>, serde_json::Error> {
        let Some((index, value)) = self.items.next() else { return Ok(None) };
        let walk = self.walk;
        walk.within(Segment::Index(index), || seed.deserialize(Tracked { value, walk })).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The entries of a mapping, each value decoded with its key on the path.
struct MappingAccess<'v, 'w> {
    entries: serde_json::map::Iter<'v>,
    value: Option<(&'v str, &'v Value)>,
    walk: &'w Walk<'v>,
}

impl<'v> MapAccess<'v> for MappingAccess<'v, '_> {
    type Error = serde_json::Error;

    fn next_key_seed<S: DeserializeSeed<'v>>(&mut self, seed: S) -> Result<Option<S::Value>, serde_json::Error> {
        let Some((key, value)) = self.entries.next() else { return Ok(None) };
        self.value = Some((key, value));
        let key = de::value::BorrowedStrDeserializer::<serde_json::Error>::new(key);
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'v>>(&mut self, seed: S) -> Result<S::Value, serde_json::Error> {
        let Some((key, value)) = self.value.take() else {
            return Err(de::Error::custom("value is missing"));
        };
        let walk = self.walk;
        walk.within(Segment::Field(key), || seed.deserialize(Tracked { value, walk }))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    use super::*;

    fn unknown_paths(value: &Value) -> Vec<String> {
        let (_, unknown) = deserialize_noting_unknown_fields::<Pod>(value).unwrap();
        unknown.iter().map(|error| error.path.as_str().to_string()).collect()
    }

    #[test]
    fn unknown_fields_are_named_by_their_paths_in_input_order() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "bogus": 1,
            "metadata": {"name": "p", "labelz": {"a": "b"}},
            "spec": {"containers": [{"name": "a"}, {"name": "b", "imagePullPolice": "Always", "ports": [{"containerPort": 80, "hostPortt": 1}]}]}
        });
        assert_eq!(
            unknown_paths(&pod),
            ["bogus", "metadata.labelz", "spec.containers[1].imagePullPolice", "spec.containers[1].ports[0].hostPortt"]
        );
    }

    #[test]
    fn an_unknown_field_that_is_null_is_unset_not_unknown() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "bogus": null}});
        assert!(unknown_paths(&pod).is_empty());
    }

    #[test]
    fn fields_inside_an_unknown_field_are_not_reported_again() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "extra": {"deeper": {"still": 1}}});
        assert_eq!(unknown_paths(&pod), ["extra"]);
    }

    #[test]
    fn map_keys_are_data_not_fields() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"anything": "goes"}}});
        assert!(unknown_paths(&pod).is_empty());
    }

    #[test]
    fn a_value_decodes_as_serde_json_decodes_it() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "creationTimestamp": "2024-01-02T03:04:05Z"},
            "spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}], "resources": {"limits": {"cpu": "1"}}}],
                     "terminationGracePeriodSeconds": 30}
        });
        let (tracked, _) = deserialize_noting_unknown_fields::<Pod>(&pod).unwrap();
        let plain: Pod = serde_json::from_value(pod).unwrap();
        assert_eq!(tracked, plain);
    }

    #[test]
    fn a_mistyped_value_fails_with_serde_json_s_message() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}});
        let tracked = deserialize_noting_unknown_fields::<Pod>(&pod).unwrap_err();
        let plain = serde_json::from_value::<Pod>(pod).unwrap_err();
        assert_eq!(tracked.to_string(), plain.to_string());
    }
}
