//! The Synergy REST API: the only module that sees HTTP and the wire JSON.
//!
//! - [`client`]: one request at a time, with the transport rules (TLS, timeouts, size cap,
//!   same-origin redirects, no clear-text token to remote hosts).
//! - [`wire`]: serde mirrors of the JSON, converted to `model` types once.
//! - [`error`]: [`ApiError`], failures as data.

pub mod client;
pub mod error;
pub mod wire;

pub use client::{Client, ClientSettings, SearchPage};
pub use error::ApiError;
