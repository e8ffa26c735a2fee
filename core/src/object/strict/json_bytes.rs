//! The fast path of strict decoding for JSON request bodies: the bytes decoded straight into the
//! typed struct, with no `serde_json::Value` in between, as long as every field is known.
//!
//! The typed `k8s_openapi` structs hand every key they do not know to `IgnoredAny`. The
//! deserializer here wraps serde_json's own and only raises a flag when that happens (or when a
//! value reaches a shape it cannot follow, such as an enum with content); the caller then falls
//! back to the `Value` path, which names the unknown fields with their paths and skips the null
//! ones as Kubernetes does. So a body decodes here exactly when it has no unknown field and
//! serde_json decodes it as `T`, and the result is the one `serde_json::from_slice` gives.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// Decodes a JSON body as `T`; `None` when it does not decode, has trailing data, or holds a
/// field (or a shape) that `T` ignores: the caller then takes the slow path for the message.
pub(crate) fn decode_known_fields<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let ignored = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let typed = T::deserialize(Flagging { inner: &mut deserializer, ignored: &ignored }).ok()?;
    deserializer.end().ok()?;
    (!ignored.get()).then_some(typed)
}

/// A deserializer that raises `ignored` when the struct it feeds ignores a value.
struct Flagging<'f, D> {
    inner: D,
    ignored: &'f Cell<bool>,
}

/// A visitor whose nested lists, maps and options are read through [`Flagging`].
struct Watching<'f, V> {
    visitor: V,
    ignored: &'f Cell<bool>,
}

/// A seed whose value is read through [`Flagging`].
struct WatchedSeed<'f, S> {
    seed: S,
    ignored: &'f Cell<bool>,
}

/// A list or map whose elements are read through [`Flagging`].
struct WatchedAccess<'f, A> {
    access: A,
    ignored: &'f Cell<bool>,
}

macro_rules! forward_deserialize {
    ($($method:ident($($argument:ident: $type:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($argument: $type,)* visitor: V) -> Result<V::Value, D::Error> {
                self.inner.$method($($argument,)* Watching { visitor, ignored: self.ignored })
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Flagging<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
        deserialize_i64(); deserialize_i128(); deserialize_u8(); deserialize_u16(); deserialize_u32();
        deserialize_u64(); deserialize_u128(); deserialize_f32(); deserialize_f64(); deserialize_char();
        deserialize_str(); deserialize_string(); deserialize_bytes(); deserialize_byte_buf();
        deserialize_option(); deserialize_unit(); deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str); deserialize_seq(); deserialize_tuple(length: usize);
        deserialize_tuple_struct(name: &'static str, length: usize); deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]); deserialize_identifier();
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.ignored.set(true);
        self.inner.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($type:ty);)*) => {
        $(
            fn $method<E: de::Error>(self, value: $type) -> Result<V::Value, E> {
                self.visitor.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Watching<'_, V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool); visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64); visit_i128(i128);
        visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64); visit_u128(u128); visit_f32(f32);
        visit_f64(f64); visit_char(char); visit_str(&str); visit_borrowed_str(&'de str); visit_string(String);
        visit_bytes(&[u8]); visit_borrowed_bytes(&'de [u8]); visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Flagging { inner: deserializer, ignored: self.ignored })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Flagging { inner: deserializer, ignored: self.ignored })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(WatchedAccess { access, ignored: self.ignored })
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(WatchedAccess { access, ignored: self.ignored })
    }

    /// Not followed: an enum with content could hide an ignored field, so the slow path decides.
    fn visit_enum<A: EnumAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        self.ignored.set(true);
        self.visitor.visit_enum(access)
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for WatchedSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Flagging { inner: deserializer, ignored: self.ignored })
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for WatchedAccess<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.access.next_element_seed(WatchedSeed { seed, ignored: self.ignored })
    }

    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WatchedAccess<'_, A> {
    type Error = A::Error;

    /// Keys are read as they are: a key is a field name or a map key, never a struct.
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.access.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.access.next_value_seed(WatchedSeed { seed, ignored: self.ignored })
    }

    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}
