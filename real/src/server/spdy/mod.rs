//! SPDY/3.1, the multiplexing protocol `kubectl port-forward` speaks (no maintained Rust crate
//! implements its server side): frames ([`frame`]), zlib-compressed header blocks with SPDY/3's
//! dictionary ([`header_block`]), the server side of a session with flow control and pings
//! ([`session`]), and Kubernetes' tunnel of a SPDY session through WebSocket binary messages
//! ([`websocket_tunnel`]).

pub mod frame;
pub mod header_block;
pub mod session;
pub mod websocket_tunnel;

pub use header_block::Headers;
pub use session::{Stream, StreamError, StreamReader, StreamWriter, serve};
