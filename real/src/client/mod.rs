//! The client side of the one protocol, over HTTP: how the scheduler, the controller manager and
//! node agents reach an API server in production. [`http::HttpClient`] sends requests and opens
//! watches through an injected [`connector::Connector`] (TCP in production, turmoil's sockets in
//! tests); [`runner`] drives a core [`Component`](coxswain_core::client::Component) with it.

pub mod connector;
pub mod http;
pub mod runner;
