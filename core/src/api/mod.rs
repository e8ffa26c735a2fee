//! The API semantics: HTTP-shaped request values to response values over a store.

pub mod patch;
