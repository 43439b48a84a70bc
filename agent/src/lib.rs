//! The Flotilla agent: dials the hub, verifies each pushed bundle, keeps it in local state
//! and applies it to its one cluster by server-side apply, reporting status back.
//!
//! Code map, pure core first:
//! - `verify`: signature, cluster and generation checks of a `SignedBundle`.
//! - `object`, `plan`, `status`, `health`, `timing`: object identity, apply order and prune
//!   sets, Flux-style messages, kstatus-style health, clocks and backoff, and the drift
//!   `diff` of a live object against its dry-run apply. No IO.
//! - `state`: the only sled user (accepted bundle, applied generation, unit records).
//! - `cluster`: the only kube client user (discovery, apply, get, delete, impersonation).
//! - `apply`, `wait`: carry a plan out against the cluster, unit by unit.
//! - `drift`: before each periodic re-apply, finds objects changed or deleted behind the
//!   agent's back (read and dry-run only).
//! - `endpoint`, `session`, `intake`: the mTLS gRPC session with the hub and the verdict
//!   on each pushed bundle.
//! - `agent`: wires the session loop and the apply loop together.
//!
//! Nothing here may let a bundle from the network panic the agent or reach another cluster.

mod agent;
pub mod apply;
pub mod cluster;
pub mod diff;
pub mod drift;
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
