//! The YAML model: documents are `serde_json::Value`s (insertion-ordered maps); `parse`
//! reads YAML the way kustomize's reader does and `emit` writes it the way
//! `kubectl kustomize` prints it.

pub mod emit;
pub mod parse;

pub use emit::to_yaml_document;
pub use parse::{
    parse_documents, parse_documents_v2, parse_documents_with, parse_first_document,
    parse_manifests, parse_patches, Document, ParseError, SourceNotes,
};

/// A file's bytes as text, as go-yaml reads them: UTF-8, or UTF-16 (either byte order)
/// when the file opens with that byte-order mark. `None` when it is neither.
pub(crate) fn decode_text(bytes: Vec<u8>) -> Option<String> {
    let utf16 = |rest: &[u8], unit: fn([u8; 2]) -> u16| -> Option<String> {
        if rest.len() % 2 != 0 {
            return None;
        }
        let units = rest.chunks_exact(2).map(|c| unit([c[0], c[1]]));
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .ok()
    };
    match bytes.as_slice() {
        [0xff, 0xfe, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xfe, 0xff, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8(bytes).ok(),
    }
}

/// A file's text (see `decode_text`), or an error naming the file.
pub(crate) fn decode_file(bytes: Vec<u8>, path: &str) -> crate::Result<String> {
    decode_text(bytes).ok_or_else(|| crate::Error::Invalid {
        path: path.into(),
        message: "not UTF-8 (or UTF-16 with a byte-order mark) text".into(),
    })
}
