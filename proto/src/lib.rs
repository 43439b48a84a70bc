//! Wire types of Flotilla: the bundle, the agent session and the admin API.
//!
//! Generated from `proto/flotilla/v1/*.proto` at build time. Nothing here holds logic; the
//! hub and the agent own what the messages mean.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

pub mod v1 {
    tonic::include_proto!("flotilla.v1");
}

pub use v1::*;
