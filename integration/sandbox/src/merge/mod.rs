//! Pure merge logic: list merge keys of built-in types, strategic merge patch, field sets in
//! the `fieldsV1` format, and server-side apply ownership. No IO, no store access: every
//! function takes values and returns values, so each is unit-tested with plain data.

pub mod apply;
pub mod fieldset;
pub mod keys;
pub mod smp;

/// A merge that cannot be done with the given input (answered as 400 or 422).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    #[error("invalid patch: {0}")]
    InvalidPatch(String),
    #[error("invalid managedFields: {0}")]
    InvalidManagedFields(String),
}
