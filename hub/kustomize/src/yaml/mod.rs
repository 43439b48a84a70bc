//! The YAML model: documents are `serde_json::Value`s (insertion-ordered maps); `parse`
//! reads YAML the way kustomize's reader does and `emit` writes it the way
//! `kubectl kustomize` prints it.

pub mod emit;
pub mod parse;

pub use emit::to_yaml_document;
pub use parse::{
    parse_documents, parse_documents_with, parse_manifests, parse_patches, Document, ParseError,
};
