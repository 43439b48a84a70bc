//! Just enough of the Kubernetes protobuf encoding to read the bodies `kubectl create`
//! subcommands send (typed clients always send `application/vnd.kubernetes.protobuf`, with
//! no fallback to JSON): the `k8s\0` envelope (runtime.Unknown) and the objects Namespace,
//! ConfigMap, Secret, ServiceAccount, Role, ClusterRole, RoleBinding, ClusterRoleBinding,
//! and the access reviews `kubectl auth can-i` sends.
//! Decodes to the JSON form; anything else is an error. Pure; never panics on input.

use base64::Engine;
use serde_json::{json, Map, Value};

/// Why a protobuf body could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtoError {
    #[error("truncated or malformed protobuf")]
    Malformed,
    #[error("protobuf bodies are only understood for a few kinds, not {0:?}; send JSON or YAML")]
    UnsupportedKind(String),
}

type Fields<'a> = Vec<(u32, Wire<'a>)>;

#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

impl Wire<'_> {
    fn filter_empty(self) -> Self {
        match self {
            Wire::Bytes([]) => Wire::Varint(0),
            w => w,
        }
    }
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ProtoError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or(ProtoError::Malformed)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(ProtoError::Malformed)
}

fn fields(buf: &[u8]) -> Result<Fields<'_>, ProtoError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let (field, wire) = ((tag >> 3) as u32, tag & 7);
        let value = match wire {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            2 => {
                let len =
                    usize::try_from(varint(buf, &mut pos)?).map_err(|_| ProtoError::Malformed)?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or(ProtoError::Malformed)?;
                let b = &buf[pos..end];
                pos = end;
                Wire::Bytes(b)
            }
            1 => {
                pos = pos
                    .checked_add(8)
                    .filter(|e| *e <= buf.len())
                    .ok_or(ProtoError::Malformed)?;
                continue;
            }
            5 => {
                pos = pos
                    .checked_add(4)
                    .filter(|e| *e <= buf.len())
                    .ok_or(ProtoError::Malformed)?;
                continue;
            }
            _ => return Err(ProtoError::Malformed),
        };
        out.push((field, value));
    }
    Ok(out)
}

fn text(b: &[u8]) -> Result<String, ProtoError> {
    String::from_utf8(b.to_vec()).map_err(|_| ProtoError::Malformed)
}

/// Decodes a message with a per-field function that adds to a JSON map.
fn message(
    buf: &[u8],
    mut f: impl FnMut(&mut Map<String, Value>, u32, Wire<'_>) -> Result<(), ProtoError>,
) -> Result<Value, ProtoError> {
    let mut m = Map::new();
    for (n, w) in fields(buf)? {
        f(&mut m, n, w)?;
    }
    Ok(Value::Object(m))
}

/// Sets a string field; empty strings are left out, as JSON's `omitempty` would.
fn set_str(m: &mut Map<String, Value>, key: &str, w: Wire<'_>) -> Result<(), ProtoError> {
    if let Wire::Bytes(b) = w.filter_empty() {
        m.insert(key.into(), json!(text(b)?));
    }
    Ok(())
}

fn push(m: &mut Map<String, Value>, key: &str, v: Value) {
    if let Value::Array(a) = m.entry(key).or_insert_with(|| json!([])) {
        a.push(v);
    }
}

fn push_str(m: &mut Map<String, Value>, key: &str, w: Wire<'_>) -> Result<(), ProtoError> {
    if let Wire::Bytes(b) = w {
        push(m, key, json!(text(b)?));
    }
    Ok(())
}

/// A `map<string, string>` (or bytes, base64-encoded as JSON does) entry.
fn map_entry(
    m: &mut Map<String, Value>,
    key: &str,
    w: Wire<'_>,
    bytes: bool,
) -> Result<(), ProtoError> {
    let Wire::Bytes(b) = w else { return Ok(()) };
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(x)) => k = text(x)?,
            (2, Wire::Bytes(x)) if bytes => {
                v = json!(base64::engine::general_purpose::STANDARD.encode(x))
            }
            (2, Wire::Bytes(x)) => v = json!(text(x)?),
            _ => {}
        }
    }
    if let Value::Object(map) = m.entry(key).or_insert_with(|| json!({})) {
        map.insert(k, v);
    }
    Ok(())
}

fn sub(
    m: &mut Map<String, Value>,
    key: &str,
    w: Wire<'_>,
    f: fn(&[u8]) -> Result<Value, ProtoError>,
) -> Result<(), ProtoError> {
    if let Wire::Bytes(b) = w {
        m.insert(key.into(), f(b)?);
    }
    Ok(())
}

fn push_sub(
    m: &mut Map<String, Value>,
    key: &str,
    w: Wire<'_>,
    f: fn(&[u8]) -> Result<Value, ProtoError>,
) -> Result<(), ProtoError> {
    if let Wire::Bytes(b) = w {
        push(m, key, f(b)?);
    }
    Ok(())
}

fn object_meta(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| match n {
        1 => set_str(m, "name", w),
        2 => set_str(m, "generateName", w),
        3 => set_str(m, "namespace", w),
        11 => map_entry(m, "labels", w, false),
        12 => map_entry(m, "annotations", w, false),
        14 => push_str(m, "finalizers", w),
        _ => Ok(()),
    })
}

fn policy_rule(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| match n {
        1 => push_str(m, "verbs", w),
        2 => push_str(m, "apiGroups", w),
        3 => push_str(m, "resources", w),
        4 => push_str(m, "resourceNames", w),
        5 => push_str(m, "nonResourceURLs", w),
        _ => Ok(()),
    })
}

fn subject(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| match n {
        1 => set_str(m, "kind", w),
        2 => set_str(m, "apiGroup", w),
        3 => set_str(m, "name", w),
        4 => set_str(m, "namespace", w),
        _ => Ok(()),
    })
}

fn role_ref(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| match n {
        1 => set_str(m, "apiGroup", w),
        2 => set_str(m, "kind", w),
        3 => set_str(m, "name", w),
        _ => Ok(()),
    })
}

fn local_ref(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| {
        if n == 1 {
            set_str(m, "name", w)
        } else {
            Ok(())
        }
    })
}

fn namespace_spec(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| {
        if n == 1 {
            push_str(m, "finalizers", w)
        } else {
            Ok(())
        }
    })
}

fn resource_attributes(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| match n {
        1 => set_str(m, "namespace", w),
        2 => set_str(m, "verb", w),
        3 => set_str(m, "group", w),
        4 => set_str(m, "version", w),
        5 => set_str(m, "resource", w),
        6 => set_str(m, "subresource", w),
        7 => set_str(m, "name", w),
        _ => Ok(()),
    })
}

fn self_review_spec(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| match n {
        1 => sub(m, "resourceAttributes", w, resource_attributes),
        _ => Ok(()),
    })
}

fn review_spec(buf: &[u8]) -> Result<Value, ProtoError> {
    message(buf, |m, n, w| match n {
        1 => sub(m, "resourceAttributes", w, resource_attributes),
        3 => set_str(m, "user", w),
        4 => push_str(m, "groups", w),
        _ => Ok(()),
    })
}

fn body(kind: &str, buf: &[u8]) -> Result<Value, ProtoError> {
    match kind {
        "SelfSubjectAccessReview" => message(buf, |m, n, w| match n {
            1 => sub(m, "metadata", w, object_meta),
            2 => sub(m, "spec", w, self_review_spec),
            _ => Ok(()),
        }),
        "SubjectAccessReview" => message(buf, |m, n, w| match n {
            1 => sub(m, "metadata", w, object_meta),
            2 => sub(m, "spec", w, review_spec),
            _ => Ok(()),
        }),
        "Namespace" => message(buf, |m, n, w| match n {
            1 => sub(m, "metadata", w, object_meta),
            2 => sub(m, "spec", w, namespace_spec),
            _ => Ok(()),
        }),
        "ConfigMap" => message(buf, |m, n, w| match (n, w) {
            (1, w) => sub(m, "metadata", w, object_meta),
            (2, w) => map_entry(m, "data", w, false),
            (3, w) => map_entry(m, "binaryData", w, true),
            (4, Wire::Varint(v)) => {
                m.insert("immutable".into(), json!(v != 0));
                Ok(())
            }
            _ => Ok(()),
        }),
        "Secret" => message(buf, |m, n, w| match (n, w) {
            (1, w) => sub(m, "metadata", w, object_meta),
            (2, w) => map_entry(m, "data", w, true),
            (3, w) => set_str(m, "type", w),
            (4, w) => map_entry(m, "stringData", w, false),
            (5, Wire::Varint(v)) => {
                m.insert("immutable".into(), json!(v != 0));
                Ok(())
            }
            _ => Ok(()),
        }),
        "ServiceAccount" => message(buf, |m, n, w| match (n, w) {
            (1, w) => sub(m, "metadata", w, object_meta),
            (3, w) => push_sub(m, "imagePullSecrets", w, local_ref),
            (4, Wire::Varint(v)) => {
                m.insert("automountServiceAccountToken".into(), json!(v != 0));
                Ok(())
            }
            _ => Ok(()),
        }),
        "Role" | "ClusterRole" => message(buf, |m, n, w| match n {
            1 => sub(m, "metadata", w, object_meta),
            2 => push_sub(m, "rules", w, policy_rule),
            _ => Ok(()),
        }),
        "RoleBinding" | "ClusterRoleBinding" => message(buf, |m, n, w| match n {
            1 => sub(m, "metadata", w, object_meta),
            2 => push_sub(m, "subjects", w, subject),
            3 => sub(m, "roleRef", w, role_ref),
            _ => Ok(()),
        }),
        other => Err(ProtoError::UnsupportedKind(other.to_string())),
    }
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into the object's JSON form.
pub fn decode(buf: &[u8]) -> Result<Value, ProtoError> {
    let envelope = buf.strip_prefix(b"k8s\x00").ok_or(ProtoError::Malformed)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, w) in fields(envelope)? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (n, w) in fields(tm)? {
                    match (n, w) {
                        (1, Wire::Bytes(b)) => api_version = text(b)?,
                        (2, Wire::Bytes(b)) => kind = text(b)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let mut obj = body(&kind, raw)?;
    if let Value::Object(m) = &mut obj {
        let mut out = Map::new();
        out.insert("apiVersion".into(), json!(api_version));
        out.insert("kind".into(), json!(kind));
        out.append(m);
        obj = Value::Object(out);
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_configmap_envelope() {
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let meta = [field(1, b"x"), field(3, b"team-a")].concat();
        let entry = [field(1, b"k"), field(2, b"v")].concat();
        let cm = [field(1, &meta), field(2, &entry)].concat();
        let unknown = [field(1, &type_meta), field(2, &cm)].concat();
        let body = [b"k8s\x00".to_vec(), unknown].concat();
        assert_eq!(
            decode(&body).unwrap(),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "x", "namespace": "team-a"}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert_eq!(decode(b"nope"), Err(ProtoError::Malformed));
        assert_eq!(decode(b"k8s\x00\x0a\xff"), Err(ProtoError::Malformed));
        let type_meta = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        let body = [b"k8s\x00".to_vec(), field(1, &type_meta)].concat();
        assert!(matches!(decode(&body), Err(ProtoError::UnsupportedKind(_))));
    }

    proptest::proptest! {
        /// Arbitrary bytes after the magic never panic the decoder.
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = decode(&[b"k8s\x00".to_vec(), body].concat());
        }
    }
}
