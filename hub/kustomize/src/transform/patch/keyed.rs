//! Lists merged by key (containers by name, ports by port and protocol), merged the way
//! kubectl's merge walks them.
//!
//! kubectl does not pair elements by their keys directly. It first gathers the key values
//! of every element, the patch's elements first; where a list has several keys, two such
//! tuples that agree wherever both have a value (`80/TCP` and `80/-`) become one. Each
//! tuple then names, in the object's list and in the patch's, the first element with those
//! values, and the two are merged. The merged elements are set into a new list one after
//! another, each taking the place of the elements that agree with its keys; the object's
//! elements then join that list in their order, each in the place of those agreeing with
//! it (at the end, where the list has several keys). What comes out of this (patched
//! elements first, a port without a protocol folded into its namesake with one, an
//! object's repeated key keeping its last element unmerged) follows from these steps,
//! which this module takes one by one.
//!
//! Elements live in one arena and lists hold their indices, as kubectl's lists hold shared
//! nodes: an element merged in one place is the merged element everywhere it is listed.
//! An element no tuple names first is never walked, and keeps its nulls and directives as
//! data.

use super::{added, collapse_repeated_keys, merge, Schema};
use serde_json::Value;

/// Merges `patch` into `object` (the object's list, `None` where the object lacks it), or
/// walks the object's list alone when there is no patch. `keys` are the list's keys, its
/// merge key first. A list-wide `$patch: replace` element is handled before this.
pub(super) fn merge_on_keys(
    object: Option<Vec<Value>>,
    patch: Option<Vec<Value>>,
    keys: &[&str],
    schema: Schema<'_>,
    path: &mut Vec<String>,
) -> Vec<Value> {
    // Walked alone, a list whose elements each have a key of their own comes out as it
    // went in, each element walked.
    if let (Some(list), None, [key]) = (&object, &patch, keys) {
        let mut seen = std::collections::HashSet::with_capacity(list.len());
        let distinct = list.iter().all(|v| match v.get(*key) {
            None | Some(Value::Null) => false,
            Some(k) => {
                let text = scalar_text(k);
                !text.is_empty() && seen.insert(text)
            }
        });
        if distinct {
            let mut list = object.unwrap_or_default();
            for item in &mut list {
                collapse_repeated_keys(item, schema, path);
            }
            return list;
        }
    }
    let mut walk = Walk {
        nodes: Vec::new(),
        schema,
        path,
    };
    let patch: Option<Vec<usize>> = patch.map(|p| walk.adopt(p));
    // The object's list, or the patch's itself where the object has none: then one list,
    // so an element taken out of it is out of the patch's too.
    let shared = object.is_none();
    let mut dest: Vec<usize> = match object {
        Some(o) => walk.adopt(o),
        None => patch.clone().unwrap_or_default(),
    };
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for list in [patch.as_deref(), Some(dest.as_slice())]
        .into_iter()
        .flatten()
    {
        for &id in list {
            let tuple: Vec<String> = keys.iter().map(|k| walk.key_text(id, k)).collect();
            if !tuples.contains(&tuple) {
                tuples.push(tuple);
            }
        }
    }
    if keys.len() > 1 {
        fold_tuples(&mut tuples);
    }
    let mut items: Vec<usize> = Vec::new();
    let mut valid_keys: Vec<&str> = keys.to_vec();
    for tuple in &tuples {
        let (vk, vv) = valid(&tuples, tuple, keys);
        valid_keys.clone_from(&vk);
        let (lk, lv) = valid(std::slice::from_ref(&vv), &vv, &vk);
        let in_object = walk.first(&dest, &lk, &lv);
        let patch = if shared { Some(&dest) } else { patch.as_ref() };
        let in_patch = patch.and_then(|p| walk.first(p, &lk, &lv));
        let Some(val) = walk.merge(in_object, in_patch) else {
            walk.set(&mut dest, None, &vk, &vv);
            continue;
        };
        for (k, v) in vk.iter().zip(&vv) {
            let missing = walk.nodes[val].get(*k).is_none_or(Value::is_null);
            if missing && !v.is_empty() {
                if let Value::Object(m) = &mut walk.nodes[val] {
                    m.insert((*k).to_string(), crate::yaml::parse::resolve_plain(v));
                }
            }
        }
        walk.set(&mut items, Some(val), &vk, &vv);
    }
    if !tuples.is_empty() {
        // The object's elements (the patch's, where the object had none) join the new
        // list: each takes the place of those agreeing with its keys, or goes at the end.
        for id in dest.clone() {
            let mut values = Vec::new();
            for k in &valid_keys {
                match walk.nodes[id].get(*k) {
                    Some(v) => values.push(scalar_text(v)),
                    None => items.push(id),
                }
            }
            if valid_keys.len() > 1 {
                walk.set(&mut items, None, &valid_keys, &values);
            }
            walk.set(&mut items, Some(id), &valid_keys, &values);
        }
        dest = items;
    }
    // Elements listed once move out of the arena; one listed twice is copied.
    let mut uses = vec![0usize; walk.nodes.len()];
    for &id in &dest {
        uses[id] += 1;
    }
    dest.into_iter()
        .map(|id| {
            uses[id] -= 1;
            if uses[id] == 0 {
                std::mem::take(&mut walk.nodes[id])
            } else {
                walk.nodes[id].clone()
            }
        })
        .collect()
}

struct Walk<'a, 'p> {
    nodes: Vec<Value>,
    schema: Schema<'a>,
    path: &'p mut Vec<String>,
}

impl Walk<'_, '_> {
    fn adopt(&mut self, list: Vec<Value>) -> Vec<usize> {
        list.into_iter()
            .map(|v| {
                self.nodes.push(v);
                self.nodes.len() - 1
            })
            .collect()
    }

    /// The text of an element's key, or nothing where it has none (or null, or a map).
    fn key_text(&self, id: usize, key: &str) -> String {
        match self.nodes[id].get(key) {
            None | Some(Value::Null) => String::new(),
            Some(v) => scalar_text(v),
        }
    }

    /// Whether element `id` has `key`, with the value `value` unless that is empty.
    fn matches(&self, id: usize, key: &str, value: &str) -> bool {
        self.nodes[id].get(key).is_some_and(|v| {
            value.is_empty()
                || match v {
                    Value::String(s) => s == value,
                    other => scalar_text(other) == value,
                }
        })
    }

    /// The first element of `list` with every key at its value; here an empty value asks
    /// for an empty key, not for any.
    fn first(&self, list: &[usize], keys: &[&str], values: &[String]) -> Option<usize> {
        list.iter().copied().find(|&id| {
            self.nodes[id].is_object()
                && keys
                    .iter()
                    .zip(values)
                    .all(|(k, v)| match self.nodes[id].get(*k) {
                        None => false,
                        Some(Value::Null) => v.is_empty(),
                        Some(x) => scalar_text(x) == *v,
                    })
        })
    }

    /// Merges the patch's element into the object's: the element that comes out, or
    /// nothing where the merge leaves none.
    fn merge(&mut self, object: Option<usize>, patch: Option<usize>) -> Option<usize> {
        // kubectl reads an element's directive as it walks it, and takes it out of the
        // patch's element: an element walked twice meets its directive once.
        let directive = patch.and_then(|p| match &mut self.nodes[p] {
            Value::Object(m) => match m.shift_remove("$patch") {
                Some(Value::String(d)) => Some(d),
                _ => None,
            },
            _ => None,
        });
        let id = match (object, patch) {
            (_, Some(_)) if directive.as_deref() == Some("delete") => return None,
            (Some(o), Some(p)) if o != p && directive.as_deref() != Some("replace") => {
                let p = self.nodes[p].clone();
                if merge(&mut self.nodes[o], &p, self.schema, self.path) {
                    return None;
                }
                o
            }
            // New to the list, the list itself, or `$patch: replace`: the patch's element
            // as new content (the object's, if any, is left as it was).
            (_, Some(p)) => {
                let v = std::mem::take(&mut self.nodes[p]);
                self.nodes[p] = added(v, self.schema, self.path)?;
                p
            }
            (Some(o), None) => {
                collapse_repeated_keys(&mut self.nodes[o], self.schema, self.path);
                o
            }
            (None, None) => return None,
        };
        let empty = self.nodes[id].as_object().is_none_or(|m| m.is_empty());
        (!empty).then_some(id)
    }

    /// Sets `element` into `list` in place of every element agreeing with the keys (the
    /// values paired with them), or at the end where none does; with no element, takes
    /// those away. Null and empty elements go either way. A key without a value (past the
    /// end of `values`) agrees as the last one compared did.
    fn set(&self, list: &mut Vec<usize>, element: Option<usize>, keys: &[&str], values: &[String]) {
        let mut out = Vec::with_capacity(list.len() + 1);
        let mut found = false;
        for &id in list.iter() {
            let node = &self.nodes[id];
            if node.is_null() || node.as_object().is_some_and(|m| m.is_empty()) {
                continue;
            }
            if !node.is_object() && !keys.is_empty() {
                out.push(id);
                continue;
            }
            let mut agrees = false;
            let mut all = true;
            for (j, k) in keys.iter().enumerate() {
                if let Some(v) = values.get(j) {
                    agrees = self.matches(id, k, v);
                }
                if !agrees {
                    all = false;
                    break;
                }
            }
            if !all {
                if !values.is_empty() {
                    out.push(id);
                }
                continue;
            }
            found = true;
            out.extend(element);
        }
        *list = out;
        if let (Some(e), false) = (element, found) {
            list.push(e);
        }
    }
}

/// Key tuples that agree wherever both have a value, and share one value, become one.
fn fold_tuples(tuples: &mut [Vec<String>]) {
    for i in 0..tuples.len() {
        let first = tuples[i].clone();
        for j in 0..tuples.len() {
            if let Some(folded) = fold(&first, &tuples[j]) {
                tuples[i].clone_from(&folded);
                tuples[j] = folded;
            }
        }
    }
}

fn fold(a: &[String], b: &[String]) -> Option<Vec<String>> {
    let mut shared = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            shared = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else {
            out.push(if x.is_empty() { y.clone() } else { x.clone() });
        }
    }
    shared.then_some(out)
}

/// The keys any of `tuples` has a value for (all keys where none has any), with
/// `tuple`'s values for them.
fn valid<'k>(
    tuples: &[Vec<String>],
    tuple: &[String],
    keys: &[&'k str],
) -> (Vec<&'k str>, Vec<String>) {
    let used: Vec<bool> = (0..keys.len())
        .map(|i| {
            tuples
                .iter()
                .any(|t| t.get(i).is_some_and(|v| !v.is_empty()))
        })
        .collect();
    if !used.contains(&true) {
        return (keys.to_vec(), tuple.to_vec());
    }
    let vk = keys
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(k, _)| *k)
        .collect();
    let vv = tuple
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(v, _)| v.clone())
        .collect();
    (vk, vv)
}

/// A scalar's text as kubectl compares keys (a map or list has none).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => String::new(),
        other => crate::yaml::emit::scalar_text(other).unwrap_or_default(),
    }
}
