//! The Flotilla agent: dials the hub, verifies each pushed bundle, keeps it in local state
//! and applies it to its one cluster by server-side apply, reporting status back.
//!
//! Nothing here may let a bundle from the network panic the agent or reach another cluster.

pub mod object;
pub mod plan;
pub mod state;
pub mod status;
pub mod verify;
