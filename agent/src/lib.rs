//! The Flotilla agent: dials the hub, verifies each pushed bundle, keeps it in local state
//! and applies it to its one cluster by server-side apply, reporting status back.
//!
//! Pure parts (`verify`, `plan`, `object`, `status`, `health`, `timing`) never touch IO; `state` owns
//! sled, `cluster` owns the kube client, `session` owns the gRPC stream. Nothing here may let
//! a bundle from the network panic the agent or reach another cluster.

mod agent;
pub mod apply;
pub mod cluster;
pub mod endpoint;
pub mod health;
pub mod intake;
pub mod object;
pub mod plan;
pub mod session;
pub mod state;
pub mod status;
pub mod timing;
pub mod verify;
pub mod wait;

pub use agent::{Agent, Error, Result};
pub use timing::Timing;
