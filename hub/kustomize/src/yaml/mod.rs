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

/// How deep documents may nest, read or built by transformers: a safety limit, so no
/// input can take the stack of the walks over them.
pub(crate) const MAX_DEPTH: usize = 200;

/// How many maps and lists nest in `v` (0 for a scalar), counted without recursion.
pub(crate) fn depth(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            _ => continue,
        }
        deepest = deepest.max(d + 1);
    }
    deepest
}

/// The error for a value nested deeper than `MAX_DEPTH` where `what` would put it.
pub(crate) fn too_deep(what: &str) -> String {
    format!("{what} would nest the object deeper than {MAX_DEPTH} levels, a safety limit")
}

/// How much a transformer may copy into objects at one step (a replacement's target,
/// a JSON 6902 patch), as `approx_size` counts: a safety limit, so no small input can
/// grow the objects past memory by copying them into themselves over and over.
pub(crate) const MAX_COPIED: usize = 16 << 20;

/// About how many bytes `v` takes in memory: its texts and keys, and 64 for each node.
/// Counted without recursion.
pub(crate) fn approx_size(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    let mut size = 0usize;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        size += 64;
        match v {
            Value::Object(m) => {
                size += m.keys().map(String::len).sum::<usize>();
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a.iter()),
            Value::String(t) => size += t.len(),
            _ => {}
        }
    }
    size
}

/// The error for copies past `MAX_COPIED`.
pub(crate) fn too_big(what: &str) -> String {
    format!(
        "{what} would copy more than {} MiB into objects, a safety limit",
        MAX_COPIED >> 20
    )
}
