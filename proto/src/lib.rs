//! Wire types of Flotilla: the bundle, the agent session and the admin API, plus the few
//! constants both ends of the wire must agree on.
//!
//! Generated from `proto/flotilla/v1/*.proto` at build time. Nothing here holds logic
//! beyond what hub and agent must compute identically.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

use sha2::{Digest, Sha256};

pub mod v1 {
    tonic::include_proto!("flotilla.v1");
}

pub use v1::*;

/// Largest gRPC message either side encodes or decodes. Bundles travel gzip-compressed;
/// the hub refuses to publish a bundle whose encoding is larger.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The id of a bundle-signing key: lowercase hex of the first 8 bytes of SHA-256 over the
/// raw 32-byte ed25519 public key. The hub stamps it on every bundle; agents pick the
/// pinned key to verify with by it.
pub fn key_id(public_key: &[u8; 32]) -> String {
    Sha256::digest(public_key)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_id_is_the_hex_sha256_prefix() {
        // SHA-256 of 32 zero bytes starts 66 68 7a ad f8 62 bd 77.
        assert_eq!(super::key_id(&[0; 32]), "66687aadf862bd77");
    }
}
