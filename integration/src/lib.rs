//! Test support for Flotilla, also used by `flotilla quickstart`: a Git fixture builder,
//! the seed scenario, and a fleet harness that runs a hub, its agents and their sandboxes
//! in one process over real TCP, TLS and Git.
//!
//! Everything here drives the product's real parts; nothing is mocked.

pub mod fleet;
pub mod gitfix;
pub mod scenario;

pub use fleet::{Fleet, FleetOptions};
pub use gitfix::GitRepo;
