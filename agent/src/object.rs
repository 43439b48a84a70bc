//! One rendered Kubernetes object as the agent sees it: its identity (`ObjRef`) and the JSON
//! body from the bundle, checked for the fields the agent relies on.
//!
//! Pure: parsing and naming only. Must never talk to a cluster, and never panic on whatever
//! JSON a bundle carries.

use std::fmt;

use flotilla_proto::ObjectRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("object {index}: not valid JSON: {message}")]
    Json { index: usize, message: String },
    #[error("object {index}: not a JSON object")]
    NotAnObject { index: usize },
    #[error("object {index}: missing or empty `{field}`")]
    MissingField { index: usize, field: &'static str },
    #[error("object {index}: `{field}` {value:?} is not a valid Kubernetes name")]
    InvalidName {
        index: usize,
        field: &'static str,
        value: String,
    },
}

/// One object as the agent names it in an API call: group, version, kind, namespace, name.
/// Two `ObjRef`s that differ only in version are the same object to the API server; compare
/// them by [`ObjRef::key`] wherever identity matters (inventory, claims, prune).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjRef {
    pub api_version: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

/// The identity of one object in a cluster, without the version it was served at: the unit of
/// inventory, claims and prune, as in Flux's inventory. An HPA moved from
/// `autoscaling/v2beta2` to `autoscaling/v2` is one object, never pruned as a leftover.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub group: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjRef {
    /// The version-free identity of the object.
    pub fn key(&self) -> ObjKey {
        ObjKey {
            group: self.group().to_string(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    /// The API group, empty for the core group (`v1`).
    pub fn group(&self) -> &str {
        self.api_version
            .split_once('/')
            .map(|(group, _)| group)
            .unwrap_or("")
    }

    pub fn version(&self) -> &str {
        self.api_version
            .split_once('/')
            .map(|(_, version)| version)
            .unwrap_or(&self.api_version)
    }

    /// Namespaces and CRDs go before everything else.
    pub fn is_namespace_or_crd(&self) -> bool {
        (self.api_version == "v1" && self.kind == "Namespace")
            || (self.group() == "apiextensions.k8s.io" && self.kind == "CustomResourceDefinition")
    }

    pub fn is_crd(&self) -> bool {
        self.group() == "apiextensions.k8s.io" && self.kind == "CustomResourceDefinition"
    }
}

/// `apiVersion Kind namespace/name`, or `apiVersion Kind name` when cluster-scoped: how
/// every message names an object.
impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {} {}", self.api_version, self.kind, self.name)
        } else {
            write!(
                f,
                "{} {} {}/{}",
                self.api_version, self.kind, self.namespace, self.name
            )
        }
    }
}

impl From<&ObjRef> for ObjectRef {
    fn from(obj: &ObjRef) -> ObjectRef {
        ObjectRef {
            api_version: obj.api_version.clone(),
            kind: obj.kind.clone(),
            namespace: obj.namespace.clone(),
            name: obj.name.clone(),
        }
    }
}

/// A parsed object from a unit: its identity as written (namespace may still be empty) and
/// its body.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub id: ObjRef,
    pub body: Value,
}

impl Object {
    /// Parses the `index`-th object of a unit.
    pub fn parse(index: usize, json: &str) -> Result<Object> {
        let body: Value = serde_json::from_str(json).map_err(|err| Error::Json {
            index,
            message: err.to_string(),
        })?;
        let Some(map) = body.as_object() else {
            return Err(Error::NotAnObject { index });
        };
        let text = |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or("").to_string();
        let metadata = map.get("metadata");
        let id = ObjRef {
            api_version: text(map.get("apiVersion")),
            kind: text(map.get("kind")),
            namespace: text(metadata.and_then(|m| m.get("namespace"))),
            name: text(metadata.and_then(|m| m.get("name"))),
        };
        for (field, value) in [
            ("apiVersion", &id.api_version),
            ("kind", &id.kind),
            ("metadata.name", &id.name),
        ] {
            if value.is_empty() {
                return Err(Error::MissingField { index, field });
            }
        }
        // Names become URL path segments; one that could leave its segment never does.
        let invalid = |field, value: &str| Error::InvalidName {
            index,
            field,
            value: value.chars().take(64).collect(),
        };
        if !is_path_segment(&id.name) {
            return Err(invalid("metadata.name", &id.name));
        }
        if !id.namespace.is_empty() && !is_dns1123_label(&id.namespace) {
            return Err(invalid("metadata.namespace", &id.namespace));
        }
        Ok(Object { id, body })
    }

    /// Sets the namespace of a namespaced object that has none, in the identity and the body.
    pub fn default_namespace(&mut self, namespace: &str) {
        if !self.id.namespace.is_empty() {
            return;
        }
        self.id.namespace = namespace.to_string();
        if let Some(metadata) = self.body.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }

    /// Drops the namespace of a cluster-scoped object, which the API server would refuse.
    pub fn clear_namespace(&mut self) {
        self.id.namespace.clear();
        if let Some(metadata) = self.body.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("namespace");
        }
    }
}

/// What the API server accepts as a name in a path: not `.` or `..`, no `/` or `%`.
fn is_path_segment(name: &str) -> bool {
    name.len() <= 253
        && name != "."
        && name != ".."
        && !name.contains(['/', '%'])
        && !name.chars().any(char::is_control)
}

/// A DNS-1123 label, what Kubernetes requires of a namespace: 1 to 63 lowercase
/// alphanumerics or '-', starting and ending with an alphanumeric.
pub fn is_dns1123_label(name: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
}

/// A DNS-1123 subdomain, what Kubernetes requires of most object names: at most 253
/// characters, dot-separated DNS-1123 labels.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns1123_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjRef {
        ObjRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn display_names_the_object() {
        assert_eq!(
            obj("apps/v1", "Deployment", "sample", "web").to_string(),
            "apps/v1 Deployment sample/web"
        );
        assert_eq!(
            obj("v1", "Namespace", "", "sample").to_string(),
            "v1 Namespace sample"
        );
    }

    #[test]
    fn group_and_version() {
        let o = obj("apps/v1", "Deployment", "a", "b");
        assert_eq!((o.group(), o.version()), ("apps", "v1"));
        let o = obj("v1", "ConfigMap", "a", "b");
        assert_eq!((o.group(), o.version()), ("", "v1"));
        assert!(obj("v1", "Namespace", "", "x").is_namespace_or_crd());
        assert!(obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            "x"
        )
        .is_crd());
        assert!(!obj("v1", "ConfigMap", "a", "x").is_namespace_or_crd());
    }

    #[test]
    fn key_ignores_the_version() {
        // Regression: an HPA moved from autoscaling/v2beta2 to autoscaling/v2 was pruned as
        // a leftover of its own unit because identity included the version.
        let old = obj("autoscaling/v2beta2", "HorizontalPodAutoscaler", "a", "web");
        let new = obj("autoscaling/v2", "HorizontalPodAutoscaler", "a", "web");
        assert_eq!(old.key(), new.key());
        assert_eq!(old.key().group, "autoscaling");
        assert_eq!(obj("v1", "ConfigMap", "a", "b").key().group, "");
        assert_ne!(
            obj("v1", "ConfigMap", "a", "b").key(),
            obj("v1", "Secret", "a", "b").key()
        );
        assert_ne!(
            obj("example.com/v1", "Widget", "a", "b").key(),
            obj("example.org/v1", "Widget", "a", "b").key()
        );
    }

    #[test]
    fn dns1123_names() {
        for good in ["a", "flux-system", "a1", &"a".repeat(63)] {
            assert!(is_dns1123_label(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", "é", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        for good in ["apps", "apps.example.com", &"a".repeat(63)] {
            assert!(is_dns1123_subdomain(good), "{good}");
        }
        let long = vec!["a".repeat(63); 4].join(".");
        for bad in ["", "a..b", ".a", "a.", "Apps", "a/b", long.as_str()] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    fn check(json: &str, expected: Result<ObjRef>) {
        assert_eq!(Object::parse(3, json).map(|o| o.id), expected);
    }

    #[test]
    fn parse_checks_the_fields_it_needs() {
        check(
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n"}}"#,
            Ok(obj("v1", "ConfigMap", "n", "c")),
        );
        check(
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#,
            Err(Error::MissingField {
                index: 3,
                field: "metadata.name",
            }),
        );
        check(r#"[1]"#, Err(Error::NotAnObject { index: 3 }));
        check(
            r#"{"apiVersion":1,"kind":"X","metadata":{"name":"a"}}"#,
            Err(Error::MissingField {
                index: 3,
                field: "apiVersion",
            }),
        );
        assert!(matches!(
            Object::parse(0, "{"),
            Err(Error::Json { index: 0, .. })
        ));
    }

    #[test]
    fn namespace_defaults_and_clears() {
        let mut o = Object::parse(
            0,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
        )
        .unwrap();
        o.default_namespace("apps");
        assert_eq!(o.id.namespace, "apps");
        assert_eq!(o.body["metadata"]["namespace"], "apps");
        o.default_namespace("other");
        assert_eq!(o.id.namespace, "apps");
        o.clear_namespace();
        assert_eq!(o.id.namespace, "");
        assert!(o.body["metadata"].get("namespace").is_none());
    }
}
