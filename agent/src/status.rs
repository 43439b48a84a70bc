//! Status messages as Flux's kustomize-controller writes them, and the conversion of a unit's
//! record into the `UnitStatus` the hub receives.
//!
//! Pure formatting. Must never decide readiness; the `apply` module does.

use flotilla_proto::{ObjectRef, UnitStatus};

use crate::object::ObjRef;
use crate::state::{UnitKey, UnitRecord};

pub const SUSPENDED: &str = "Reconciliation suspended";

/// A unit applied (and pruned) without error.
pub fn applied(revision: &str) -> String {
    format!("Applied revision: {revision}")
}

/// An API call on `object` failed.
pub fn object_failed(object: &ObjRef, error: &str) -> String {
    format!("{object}: {error}")
}

/// Discovery does not know the object's kind.
pub fn unknown_kind(object: &ObjRef) -> String {
    object_failed(
        object,
        &format!(
            "no matches for kind \"{}\" in version \"{}\"",
            object.kind, object.api_version
        ),
    )
}

pub fn dependency_not_ready(dependency: &UnitKey) -> String {
    format!("dependency '{dependency}' is not ready")
}

/// A unit missing from the bundle because the unit that declared it failed.
pub fn parent_failed(parent: &UnitKey) -> String {
    format!("parent Kustomization {parent} failed")
}

/// Bounds text from the network before it goes into a message or a log line: at most 64
/// characters, without control characters or the invisible ones that reorder or hide text.
pub fn printable(text: &str) -> String {
    const MAX: usize = 64;
    let hidden = |c: &char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
    };
    let mut out: String = text.chars().take(MAX).filter(|c| !hidden(c)).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// The wire status of one unit.
pub fn unit_status(key: &UnitKey, record: &UnitRecord) -> UnitStatus {
    UnitStatus {
        name: key.name.clone(),
        namespace: key.namespace.clone(),
        ready: record.ready.unwrap_or(false),
        message: record.message.clone(),
        revision: record.revision.clone(),
        inventory: record.inventory.iter().map(ObjectRef::from).collect(),
        last_applied_unix: record.last_applied_unix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> ObjRef {
        ObjRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "sample".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn messages_read_like_flux() {
        assert_eq!(applied("main@sha1:abc"), "Applied revision: main@sha1:abc");
        assert_eq!(
            object_failed(&deployment(), "forbidden"),
            "apps/v1 Deployment sample/web: forbidden"
        );
        assert_eq!(
            unknown_kind(&deployment()),
            "apps/v1 Deployment sample/web: no matches for kind \"Deployment\" in version \"apps/v1\""
        );
        assert_eq!(
            dependency_not_ready(&UnitKey::new("flux-system", "infra")),
            "dependency 'flux-system/infra' is not ready"
        );
    }

    #[test]
    fn printable_bounds_and_cleans() {
        assert_eq!(printable("0123abcd"), "0123abcd");
        assert_eq!(printable("a\u{1b}[31mb\nc\u{202e}d"), "a[31mbcd");
        let long = printable(&"x".repeat(10_000));
        assert_eq!(long, format!("{}…", "x".repeat(64)));
        assert_eq!(
            parent_failed(&UnitKey::new("flux-system", "apps")),
            "parent Kustomization flux-system/apps failed"
        );
    }

    #[test]
    fn unit_status_carries_the_record() {
        let record = UnitRecord {
            inventory: vec![deployment()],
            ready: Some(true),
            message: applied("r1"),
            revision: "r1".into(),
            last_applied_unix: 42,
            ..UnitRecord::default()
        };
        let status = unit_status(&UnitKey::new("flux-system", "apps"), &record);
        assert_eq!(status.name, "apps");
        assert_eq!(status.namespace, "flux-system");
        assert!(status.ready);
        assert_eq!(status.inventory[0].kind, "Deployment");
        assert_eq!(status.last_applied_unix, 42);
        assert!(!unit_status(&UnitKey::new("a", "b"), &UnitRecord::default()).ready);
    }
}
