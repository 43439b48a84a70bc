//! Name references: where an object was renamed (a prefix, a suffix, a hash, a patch),
//! moved to another namespace or given another kind, the fields that name it in other
//! objects follow, by kustomize's rules for picking the object a reference means.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::fieldspec::{self, FieldSpec, NameRef};
use crate::resource::{or_default, Resource};
use crate::{scope, Error, Result};

/// An object whose id changed: only those are followed.
struct Referral {
    /// The (name, namespace) pairs it had before, its original one among them.
    olds: Vec<(String, String)>,
    /// Its kind now and the kinds it had before.
    kinds: Vec<String>,
    group: String,
    version: String,
    name: String,
    namespace: String,
    orig_namespace: String,
    cluster: bool,
    service_account: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Referral {
    fn of(r: &Resource) -> Referral {
        let gvk = r.gvk();
        let mut olds = r.prev_names.clone();
        olds.push((r.orig_name.clone(), r.orig_namespace.clone()));
        let kinds = r.earlier_kinds().into_iter().map(str::to_string).collect();
        Referral {
            olds,
            service_account: gvk.kind == "ServiceAccount",
            kinds,
            cluster: scope::kustomize_cluster_scoped(&gvk),
            group: gvk.group,
            version: gvk.version,
            name: r.name().to_string(),
            namespace: r.namespace().to_string(),
            orig_namespace: r.orig_namespace.clone(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }

    /// The name and (for a namespaced object) namespace a reference to it takes.
    fn target(&self) -> (String, String) {
        let ns = if self.cluster {
            String::new()
        } else {
            self.namespace.clone()
        };
        (self.name.clone(), ns)
    }
}

/// What a referrer may refer to, as kustomize narrows it.
struct Referrer {
    cluster: bool,
    namespace: String,
    /// For a RoleBinding: the namespaces its ServiceAccount subjects name, whose objects
    /// it may refer to too.
    binding_namespaces: HashSet<String>,
    /// The `apiGroup` and `kind` of its `roleRef`, when it has both.
    role_ref: Option<(String, String)>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Referrer {
    fn of(r: &Resource) -> Referrer {
        let mut binding_namespaces = HashSet::new();
        if r.kind() == "RoleBinding" {
            if let Some(Value::Array(subjects)) = r.obj.get("subjects") {
                for s in subjects {
                    let ns = s.get("namespace").and_then(Value::as_str);
                    if let (Some(ns), Some("ServiceAccount")) =
                        (ns, s.get("kind").and_then(Value::as_str))
                    {
                        binding_namespaces.insert(ns.to_string());
                    }
                }
            }
        }
        let role_ref = r.obj.get("roleRef").and_then(|rr| {
            let text = |k: &str| rr.get(k).and_then(Value::as_str).map(str::to_string);
            Some((text("apiGroup")?, text("kind")?))
        });
        Referrer {
            cluster: scope::kustomize_cluster_scoped(&r.gvk()),
            namespace: r.namespace().to_string(),
            binding_namespaces,
            role_ref,
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }

    /// Whether this referrer may refer to an object in `c`'s place at all.
    fn may_refer_to(&self, c: &Referral) -> bool {
        self.cluster
            || c.cluster
            || or_default(&c.namespace) == or_default(&self.namespace)
            || self.binding_namespaces.contains(&c.namespace)
    }
}

/// How one name reference is being resolved.
struct Lookup<'a> {
    nr: &'a NameRef,
    referrals: &'a [Referral],
    by_old: &'a HashMap<&'a str, Vec<usize>>,
    referrer: &'a Referrer,
    /// The original namespaces of the namespaced objects this referrer may refer to.
    orig_namespaces: &'a HashSet<String>,
}

impl Lookup<'_> {
    /// The referral a reference to `old` means: `Ok(None)` when none, an error when it
    /// could be several. A `namespace` written beside the name (in a map) picks the
    /// objects written in that namespace, or else the objects now in it. Several that a
    /// plain name field (not `in_map`) would name alike are one to it.
    fn select(
        &self,
        old: &str,
        (ns_field, in_map): (Option<&str>, bool),
        role_ref: bool,
    ) -> std::result::Result<Option<(String, String)>, String> {
        let Some(ids) = self.by_old.get(old) else {
            return Ok(None);
        };
        let nr = self.nr;
        let referrer = self.referrer;
        let in_ns_field = |c: &Referral| match ns_field {
            None => true,
            // kubectl keys objects without a namespace as `default`: an empty one written
            // beside the name finds nothing.
            Some("") => false,
            Some(ns) if self.orig_namespaces.contains(or_default(ns)) => {
                !c.cluster && or_default(&c.orig_namespace) == or_default(ns)
            }
            Some(ns) => !c.cluster && or_default(&c.namespace) == or_default(ns),
        };
        let role_ref_fits = |c: &Referral| match (&referrer.role_ref, role_ref) {
            (Some((group, kind)), true) => {
                (group.is_empty() || *group == c.group) && c.kinds.contains(kind)
            }
            _ => true,
        };
        let candidates: Vec<&Referral> = ids
            .iter()
            .map(|&i| &self.referrals[i])
            .filter(|c| referrer.may_refer_to(c) && in_ns_field(c))
            .filter(|c| {
                (nr.group.is_empty() || c.group == nr.group)
                    && (nr.version.is_empty() || c.version == nr.version)
                    && c.kinds.contains(&nr.kind)
            })
            .filter(|c| role_ref_fits(c))
            .filter(|c| {
                referrer.cluster
                    || c.cluster
                    || c.service_account
                    || or_default(&c.namespace) == or_default(&referrer.namespace)
            })
            .collect();
        if let [one] = candidates.as_slice() {
            return Ok(Some(one.target()));
        }
        // Several: those renamed by the same layers as the referrer, first where either
        // has no prefix (suffix) at all, then strictly.
        let mut candidates = candidates;
        for allow_empty in [true, false] {
            candidates.retain(|c| {
                same_affixes(&c.prefixes, &referrer.prefixes, allow_empty)
                    && same_affixes(&c.suffixes, &referrer.suffixes, allow_empty)
            });
            if let [one] = candidates.as_slice() {
                return Ok(Some(one.target()));
            }
        }
        match candidates.as_slice() {
            [] => Ok(None),
            // The same object under several API versions, or objects of one name in
            // several namespaces where only the name is written.
            [first, rest @ ..]
                if rest.iter().all(|c| {
                    c.target() == first.target() || (!in_map && c.target().0 == first.target().0)
                }) =>
            {
                Ok(Some(first.target()))
            }
            _ => {
                let names: Vec<String> = candidates
                    .iter()
                    .map(|c| match c.target() {
                        (n, ns) if ns.is_empty() => n,
                        (n, ns) => format!("{ns}/{n}"),
                    })
                    .collect();
                Err(format!(
                    "the reference to {} {old} could mean any of {}",
                    nr.kind,
                    names.join(", ")
                ))
            }
        }
    }
}

/// Whether two lists of applied affixes (innermost first) end alike: the shorter is the
/// outer end of the longer, and with `allow_empty` an empty list fits any.
fn same_affixes(a: &[String], b: &[String], allow_empty: bool) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return allow_empty || long.is_empty();
    }
    long[long.len() - short.len()..] == *short
}

/// A name reference's specs: (the reference, `roleRef` names, other paths ending in a
/// name, paths to names or to maps holding one).
/// One referral's specs: role refs, other `name` leaves, the rest, and the maps whose
/// `name` is listed before them (see [`name_before_its_map`]).
type RefSpecs<'a> = (
    &'a NameRef,
    Vec<FieldSpec>,
    Vec<FieldSpec>,
    Vec<FieldSpec>,
    Vec<FieldSpec>,
);

/// Points every name reference at what its object is called now.
pub(super) fn fix_name_references(out: &mut [Resource], refs: &[NameRef]) -> Result<()> {
    check_name_reference_paths(out, refs)?;
    let referrals: Vec<Referral> = out
        .iter()
        .filter(|r| !r.prev_names.is_empty() || !r.prev_kinds.is_empty())
        .map(Referral::of)
        .collect();
    if referrals.is_empty() {
        return Ok(());
    }
    // Old name -> referrals that once had it.
    let mut by_old: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in referrals.iter().enumerate() {
        let mut names: Vec<&str> = c.olds.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            by_old.entry(n).or_default().push(i);
        }
    }
    // Original namespaces of the namespaced objects, by the namespace they are in now.
    let mut orig_by_current: HashMap<String, HashSet<String>> = HashMap::new();
    for r in out.iter() {
        if !scope::kustomize_cluster_scoped(&r.gvk()) {
            orig_by_current
                .entry(r.namespace().to_string())
                .or_default()
                .insert(or_default(&r.orig_namespace).to_string());
        }
    }
    let specs_by_ref: Vec<RefSpecs<'_>> = refs
        .iter()
        .map(|nr| {
            let (leaves, objects) = split_name_leaves(&nr.specs);
            let (role_refs, other_leaves) = leaves
                .into_iter()
                .partition(|s| s.path.last().is_some_and(|p| p == "roleRef"));
            let ordered = name_before_its_map(nr).into_iter().cloned().collect();
            (nr, role_refs, other_leaves, objects, ordered)
        })
        .collect();
    for r in out.iter_mut() {
        // Which fields of a referrer hold references follows the kind it was read with.
        let mut gvk = r.gvk();
        gvk.kind = r.original_kind().to_string();
        if !refs
            .iter()
            .any(|nr| nr.specs.iter().any(|s| s.matches(&gvk)))
        {
            continue;
        }
        let referrer = Referrer::of(r);
        let orig_namespaces: HashSet<String> = orig_by_current
            .iter()
            .filter(|(ns, _)| {
                referrer.cluster
                    || or_default(ns) == or_default(&referrer.namespace)
                    || referrer.binding_namespaces.contains(*ns)
            })
            .flat_map(|(_, orig)| orig.iter().cloned())
            .collect();
        let rekinded = gvk.kind != r.kind();
        for (nr, role_refs, other_leaves, objects, ordered) in &specs_by_ref {
            if !nr.specs.iter().any(|s| s.matches(&gvk)) {
                continue;
            }
            // An object of another kind now: the specs its original kind selects, made to
            // apply to it as it is.
            let as_read = |specs: &[FieldSpec]| -> Vec<FieldSpec> {
                specs
                    .iter()
                    .filter(|s| s.matches(&gvk))
                    .map(|s| FieldSpec {
                        group: String::new(),
                        version: String::new(),
                        kind: String::new(),
                        ..s.clone()
                    })
                    .collect()
            };
            let (role_refs, other_leaves, objects) = if rekinded {
                (
                    &as_read(role_refs),
                    &as_read(other_leaves),
                    &as_read(objects),
                )
            } else {
                (role_refs, other_leaves, objects)
            };
            let lookup = Lookup {
                nr,
                referrals: &referrals,
                by_old: &by_old,
                referrer: &referrer,
                orig_namespaces: &orig_namespaces,
            };
            // A name: the name it has now.
            let rename = |s: &mut String, role_ref: bool| -> std::result::Result<(), String> {
                if let Some((new, _)) = lookup.select(s, (None, false), role_ref)? {
                    *s = new;
                }
                Ok(())
            };
            // A map holding a `name` (a binding subject, a webhook's service): the name,
            // and the namespace of a namespaced referral.
            let retarget = |m: &mut Map<String, Value>| -> std::result::Result<(), String> {
                // kubectl reads a namespace that is no string (null too) as blank, which
                // matches no object.
                let ns_field = m
                    .get("namespace")
                    .map(|ns| ns.as_str().unwrap_or("").to_string());
                let Some(Value::String(old)) = m.get("name") else {
                    return Ok(());
                };
                if let Some((new, ns)) = lookup.select(old, (ns_field.as_deref(), true), false)? {
                    m.insert("name".into(), Value::String(new));
                    if !ns.is_empty() {
                        // kubectl writes the namespace as a node of no type, which its
                        // text types (`123` is a number).
                        if crate::yaml::parse::is_inf_or_nan(&ns) {
                            return Err(format!(
                                "the reference's new namespace {ns} reads as a number JSON cannot hold"
                            ));
                        }
                        m.insert("namespace".into(), crate::yaml::parse::resolve_plain(&ns));
                    }
                }
                Ok(())
            };
            let origin = r.origin.clone();
            let fail_here = |message: String| Error::Invalid {
                path: origin.clone(),
                message,
            };
            if !ordered.is_empty() {
                let ordered = if rekinded {
                    as_read(ordered)
                } else {
                    ordered.clone()
                };
                fieldspec::apply(r, &ordered, None, &mut |v, _| {
                    let Some(Value::String(old)) = v.get("name") else {
                        return Ok(());
                    };
                    match lookup.select(old, (None, false), false)? {
                        Some((new, _)) if new != *old => Err(format!(
                            "the name reference configuration for {} lists this map's `name` before the map itself, so kubectl looks the map up by the name it already changed from {old:?}: not supported; list the map first",
                            nr.kind
                        )),
                        _ => Ok(()),
                    }
                })
                .map_err(fail_here)?;
            }
            // A number or a boolean is found by its text as written (at `pointer`), and
            // renamed to a string.
            let texts = r.texts.clone();
            let rename_scalar =
                |v: &mut Value, pointer: &str, role_ref: bool| -> std::result::Result<(), String> {
                    match v {
                        Value::String(s) => rename(s, role_ref),
                        Value::Number(_) | Value::Bool(_) => {
                            let text = crate::resource::text_at(&texts, pointer, v)
                                .map(str::to_string)
                                .or_else(|| crate::yaml::emit::scalar_text(v))
                                .unwrap_or_default();
                            if let Some((new, _)) = lookup.select(&text, (None, false), role_ref)? {
                                *v = Value::String(new);
                            }
                            Ok(())
                        }
                        _ => Ok(()),
                    }
                };
            fieldspec::apply(r, objects, None, &mut |v, steps| {
                let at = fieldspec::pointer(steps);
                match v {
                    // A list holds names or name reference maps (binding subjects).
                    Value::Array(items) => {
                        items
                            .iter_mut()
                            .enumerate()
                            .try_for_each(|(i, item)| match item {
                                Value::Object(m) => retarget(m),
                                scalar => rename_scalar(scalar, &format!("{at}/{i}"), false),
                            })
                    }
                    Value::Object(m) => retarget(m),
                    scalar => rename_scalar(scalar, &at, false),
                }
            })
            .map_err(fail_here)?;
            // A path ending in `name` names the object by that field alone.
            for (leaves, role_ref) in [(role_refs, true), (other_leaves, false)] {
                let at_name = |m: &mut Map<String, Value>, at: &str| match m.get_mut("name") {
                    Some(name) => rename_scalar(name, &format!("{at}/name"), role_ref),
                    None => Ok(()),
                };
                fieldspec::apply(r, leaves, None, &mut |v, steps| {
                    let at = fieldspec::pointer(steps);
                    match v {
                        Value::Object(m) => at_name(m, &at),
                        // Each map of a list (`imagePullSecrets`).
                        Value::Array(items) => {
                            items.iter_mut().enumerate().try_for_each(|(i, item)| {
                                match item.as_object_mut() {
                                    Some(m) => at_name(m, &format!("{at}/{i}")),
                                    None => Ok(()),
                                }
                            })
                        }
                        _ => Ok(()),
                    }
                })
                .map_err(fail_here)?;
            }
        }
    }
    Ok(())
}

/// The map paths (with kind and group) of one referral's specs for which a spec for the
/// map's `name` comes first: kubectl follows the specs in their order, so it looks the map
/// up by the name the first already changed, and resolves that in ways of its own (the
/// namespace set or dropped). This engine resolves the map from the name as it was, so a
/// rename there is refused.
fn name_before_its_map(nr: &NameRef) -> Vec<&FieldSpec> {
    nr.specs
        .iter()
        .enumerate()
        .filter_map(|(i, leaf)| {
            let (last, parent) = leaf.path.split_last()?;
            (last == "name").then_some(())?;
            nr.specs[i + 1..]
                .iter()
                .find(|m| m.path == parent && m.kind == leaf.kind && m.group == leaf.group)
        })
        .collect()
}

/// Splits name-reference specs into those ending in `name` (returned as their parent map's
/// path) and the rest.
fn split_name_leaves(specs: &[FieldSpec]) -> (Vec<FieldSpec>, Vec<FieldSpec>) {
    let mut leaves = Vec::new();
    let mut others = Vec::new();
    for s in specs {
        if s.path.len() > 1 && s.path.last().is_some_and(|p| p == "name") {
            let mut parent = s.clone();
            parent.path.pop();
            leaves.push(parent);
        } else {
            others.push(s.clone());
        }
    }
    (leaves, others)
}

/// kubectl walks every name reference path of every object, whether or not anything was
/// renamed, and fails on a path that runs through a scalar, on a name reference map
/// without a `name`, on a name reference list holding a list, and on a RoleBinding subject
/// that is not a map.
fn check_name_reference_paths(out: &mut [Resource], refs: &[fieldspec::NameRef]) -> Result<()> {
    let specs: Vec<FieldSpec> = refs.iter().flat_map(|nr| nr.specs.clone()).collect();
    fn named(v: &Value) -> std::result::Result<(), String> {
        match v {
            Value::Object(m) if !m.contains_key("name") => {
                Err("a name reference map has no `name` field".into())
            }
            _ => Ok(()),
        }
    }
    for r in out.iter_mut() {
        let origin = r.origin.clone();
        let invalid = |message: String| Error::Invalid {
            path: origin.clone(),
            message,
        };
        if r.kind() == "RoleBinding" {
            if let Some(Value::Array(subjects)) = r.obj.get("subjects") {
                for s in subjects {
                    let kind_ok = match s {
                        Value::Object(m) => {
                            !m.contains_key("namespace")
                                || m.get("kind").is_none_or(Value::is_string)
                        }
                        _ => false,
                    };
                    if !kind_ok {
                        return Err(invalid(format!(
                            "{}: subjects: each subject must be a map with a string `kind`",
                            r.describe()
                        )));
                    }
                    // kubectl reads a ServiceAccount's namespace that is no string (null
                    // too) as blank, and fails.
                    let service_account =
                        s.get("kind").and_then(Value::as_str) == Some("ServiceAccount");
                    match s.get("namespace") {
                        Some(ns) if service_account && !ns.is_string() => {
                            return Err(invalid(format!(
                                "{}: subjects: the ServiceAccount {}'s namespace is {}, not a string, which kubectl reads as blank",
                                r.describe(),
                                s.get("name").and_then(Value::as_str).unwrap_or(""),
                                fieldspec::kind_name(ns)
                            )));
                        }
                        _ => {}
                    }
                }
            }
        }
        fieldspec::apply(r, &specs, None, &mut |v, _| match v {
            Value::Array(items) => items.iter().try_for_each(|item| match item {
                Value::Array(_) => {
                    Err("a name reference list holds a list, not a string or a map".into())
                }
                other => named(other),
            }),
            other => named(other),
        })
        .map_err(invalid)?;
    }
    Ok(())
}
