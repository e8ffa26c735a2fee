//! The API semantics: HTTP-shaped request values to response values over a store, so that the
//! simulator and the HTTP server run the same code (DESIGN.md principle 3).

pub mod discovery;
pub mod duration;
pub mod openapi;
pub mod patch;
pub mod path;
pub mod status;
pub mod table;

pub use status::ApiError;
