//! RBAC authorization, pure: given a user, a request's attributes and the stored Role,
//! ClusterRole, RoleBinding and ClusterRoleBinding objects, allow or deny with the real
//! server's Forbidden message. `system:masters` is allowed everything. The ClusterRoles
//! `cluster-admin`, `admin`, `edit` and `view` exist implicitly (approximated) when not stored.

use serde_json::Value;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The identity an `Impersonate-User` (and `Impersonate-Group`) header names: service
    /// accounts get their `system:serviceaccounts` groups; everyone is authenticated.
    pub fn impersonated(user: &str, extra_groups: Vec<String>) -> UserInfo {
        let mut groups = extra_groups;
        if let Some(rest) = user.strip_prefix("system:serviceaccount:") {
            if let Some((ns, _)) = rest.split_once(':') {
                groups.push("system:serviceaccounts".into());
                groups.push(format!("system:serviceaccounts:{ns}"));
            }
        }
        groups.push("system:authenticated".into());
        groups.dedup();
        UserInfo {
            name: user.to_string(),
            groups,
        }
    }

    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// What a resource request does.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// The RBAC objects to evaluate against.
#[derive(Debug, Default, Clone, Copy)]
pub struct Policy<'a> {
    pub roles: &'a [Value],
    pub cluster_roles: &'a [Value],
    pub role_bindings: &'a [Value],
    pub cluster_role_bindings: &'a [Value],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The Forbidden message.
    Deny(String),
}

fn strs(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn name_of(o: &Value) -> &str {
    o.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn ns_of(o: &Value) -> &str {
    o.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn subject_matches(s: &Value, user: &UserInfo, binding_ns: &str) -> bool {
    let name = s.get("name").and_then(Value::as_str).unwrap_or("");
    match s.get("kind").and_then(Value::as_str) {
        Some("User") => user.name == name,
        Some("Group") => user.groups.iter().any(|g| g == name),
        Some("ServiceAccount") => {
            let ns = s
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(binding_ns);
            user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

fn rule_allows(rule: &Value, a: &Attributes<'_>) -> bool {
    let any = |list: &[&str], x: &str| list.iter().any(|v| *v == "*" || *v == x);
    let resource = match a.subresource {
        Some(s) => format!("{}/{}", a.resource, s),
        None => a.resource.to_string(),
    };
    let resources = strs(rule.get("resources"));
    let resource_ok = resources.iter().any(|r| {
        *r == "*"
            || *r == resource
            || a.subresource
                .is_some_and(|s| *r == format!("*/{s}") || *r == format!("{}/*", a.resource))
    });
    let names = strs(rule.get("resourceNames"));
    any(&strs(rule.get("verbs")), a.verb)
        && any(&strs(rule.get("apiGroups")), a.group)
        && resource_ok
        && (names.is_empty() || a.name.is_some_and(|n| names.contains(&n)))
}

/// Approximate rules of the default ClusterRoles, used when the policy does not store them.
fn default_cluster_role(name: &str) -> Option<Value> {
    let rw = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    let ro = ["get", "list", "watch"];
    let rules = match name {
        "cluster-admin" | "admin" => {
            serde_json::json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
        }
        "edit" => serde_json::json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": rw}]),
        "view" => serde_json::json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ro}]),
        _ => return None,
    };
    Some(serde_json::json!({ "rules": rules }))
}

fn role_rules(policy: &Policy<'_>, role_ref: &Value, binding_ns: &str) -> Vec<Value> {
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or("");
    let role = match role_ref.get("kind").and_then(Value::as_str) {
        Some("Role") => policy
            .roles
            .iter()
            .find(|r| name_of(r) == name && ns_of(r) == binding_ns)
            .cloned(),
        Some("ClusterRole") => policy
            .cluster_roles
            .iter()
            .find(|r| name_of(r) == name)
            .cloned()
            .or_else(|| default_cluster_role(name)),
        _ => None,
    };
    role.and_then(|r| r.get("rules").and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

/// Allows or denies `a` for `user` under `policy`.
pub fn authorize(user: &UserInfo, a: &Attributes<'_>, policy: &Policy<'_>) -> Decision {
    if user.is_master() {
        return Decision::Allow;
    }
    // The real server's system:basic-user role: anyone may ask what they may do.
    if a.verb == "create"
        && a.group == "authorization.k8s.io"
        && matches!(
            a.resource,
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
        )
    {
        return Decision::Allow;
    }
    let bound = |binding: &Value, ns: &str| {
        strs_objects(binding.get("subjects"))
            .iter()
            .any(|s| subject_matches(s, user, ns))
    };
    for b in policy.cluster_role_bindings {
        if bound(b, "") {
            if let Some(r) = b.get("roleRef") {
                if role_rules(policy, r, "")
                    .iter()
                    .any(|rule| rule_allows(rule, a))
                {
                    return Decision::Allow;
                }
            }
        }
    }
    if let Some(ns) = a.namespace {
        for b in policy.role_bindings.iter().filter(|b| ns_of(b) == ns) {
            if bound(b, ns) {
                if let Some(r) = b.get("roleRef") {
                    if role_rules(policy, r, ns)
                        .iter()
                        .any(|rule| rule_allows(rule, a))
                    {
                        return Decision::Allow;
                    }
                }
            }
        }
    }
    Decision::Deny(forbidden_message(user, a))
}

fn strs_objects(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `configmaps "x" is forbidden: User "u" cannot get resource "configmaps" in API group ""
/// in the namespace "ns"`, as the real server words it.
pub fn forbidden_message(user: &UserInfo, a: &Attributes<'_>) -> String {
    let full = match a.subresource {
        Some(s) => format!("{}/{}", a.resource, s),
        None => a.resource.to_string(),
    };
    let qualified = crate::error::qualified(a.resource, a.group);
    let subject = match a.name {
        Some(n) => format!("{qualified} \"{n}\""),
        None => qualified,
    };
    let scope = match a.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    format!(
        "{subject} is forbidden: User \"{}\" cannot {} resource \"{full}\" in API group \"{}\" {scope}",
        user.name, a.verb, a.group
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployer() -> UserInfo {
        UserInfo::impersonated("system:serviceaccount:team-a:deployer", vec![])
    }

    fn create_cm(ns: &str) -> Attributes<'_> {
        Attributes {
            verb: "create",
            group: "",
            resource: "configmaps",
            subresource: None,
            namespace: Some(ns),
            name: None,
        }
    }

    fn check(policy: Policy<'_>, user: &UserInfo, a: Attributes<'_>, allowed: bool) {
        assert_eq!(
            authorize(user, &a, &policy) == Decision::Allow,
            allowed,
            "{a:?}"
        );
    }

    #[test]
    fn denial_message_matches_real_server() {
        let d = authorize(&deployer(), &create_cm("team-b"), &Policy::default());
        assert_eq!(d, Decision::Deny("configmaps is forbidden: User \"system:serviceaccount:team-a:deployer\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"team-b\"".into()));
    }

    #[test]
    fn rolebinding_grants_only_in_its_namespace() {
        let roles = [
            json!({"metadata": {"name": "deployer", "namespace": "team-a"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "get"]}]}),
        ];
        let bindings = [json!({"metadata": {"name": "b", "namespace": "team-a"},
            "roleRef": {"kind": "Role", "name": "deployer", "apiGroup": "rbac.authorization.k8s.io"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "team-a"}]})];
        let p = Policy {
            roles: &roles,
            role_bindings: &bindings,
            ..Policy::default()
        };
        check(p, &deployer(), create_cm("team-a"), true);
        check(p, &deployer(), create_cm("team-b"), false);
        let mut del = create_cm("team-a");
        del.verb = "delete";
        check(p, &deployer(), del, false);
    }

    #[test]
    fn group_subjects_wildcards_and_resource_names() {
        let crs = [json!({"metadata": {"name": "r"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"], "resourceNames": ["only"]}]})];
        let crbs = [
            json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "r"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts:team-a"}]}),
        ];
        let p = Policy {
            cluster_roles: &crs,
            cluster_role_bindings: &crbs,
            ..Policy::default()
        };
        let mut get = create_cm("team-z");
        get.verb = "get";
        get.name = Some("only");
        check(p, &deployer(), get, true);
        get.name = Some("other");
        check(p, &deployer(), get, false);
    }

    #[test]
    fn default_cluster_roles_and_masters() {
        let crbs = [
            json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "User", "name": "alice"}]}),
        ];
        let p = Policy {
            cluster_role_bindings: &crbs,
            ..Policy::default()
        };
        check(
            p,
            &UserInfo::impersonated("alice", vec![]),
            create_cm("x"),
            true,
        );
        check(
            p,
            &UserInfo::impersonated("bob", vec!["system:masters".into()]),
            create_cm("x"),
            true,
        );
        check(
            p,
            &UserInfo::impersonated("bob", vec![]),
            create_cm("x"),
            false,
        );
    }
}
