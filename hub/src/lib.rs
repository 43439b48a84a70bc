//! The Flotilla hub: fetches Git, renders each cluster's Flux tree, signs one bundle per
//! cluster, stores it, and pushes it to the cluster's agent over mutual-TLS gRPC.
//!
//! Pure parts (`resolve`, `substitute`, `bundle`) take values and return values; IO lives
//! in `source` (git2), `store` (sled) and the gRPC services. `server::start` wires them.

pub mod admin_service;
pub mod agent_service;
pub mod bundle;
pub mod client;
pub mod error;
pub mod metrics;
pub mod pki;
pub mod policy;
pub mod reconciler;
pub mod resolve;
pub mod server;
pub mod source;
pub mod state;
pub mod store;
pub mod substitute;
pub mod tls;

pub use error::{Error, Result};
pub use server::{start, RunningHub};
