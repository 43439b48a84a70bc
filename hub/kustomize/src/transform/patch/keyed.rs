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

use super::{added, collapse_repeated_keys, known_directive, merge, Schema};
use serde_json::Value;

/// A key's text (empty for a map or list).
fn text(v: &Value) -> String {
    crate::yaml::emit::value_text(v).unwrap_or_default()
}

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
        if distinct_keys(list, key) {
            let mut list = object.unwrap_or_default();
            for item in &mut list {
                collapse_repeated_keys(item, schema, path);
            }
            return list;
        }
    }
    let mut walk = Walk {
        nodes: Vec::new(),
        fields: Vec::new(),
        keys,
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
    if let Some(list) = walk.distinct_full(patch.as_deref(), &dest, shared) {
        return walk.into_values(list);
    }
    let mut tuples: Vec<Vec<String>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for list in [patch.as_deref(), Some(dest.as_slice())]
        .into_iter()
        .flatten()
    {
        for &id in list {
            let tuple: Vec<String> = walk.fields[id].iter().map(Field::key_text).collect();
            if seen.insert(tuple.clone()) {
                tuples.push(tuple);
            }
        }
    }
    if keys.len() > 1 {
        fold_tuples(&mut tuples);
    }
    let mut items: Vec<usize> = Vec::new();
    let mut valid_keys: Vec<&str> = keys.to_vec();
    let used = used_keys(&tuples, keys.len());
    for tuple in &tuples {
        let (vk, vv) = valid(&used, tuple, keys);
        valid_keys.clone_from(&vk);
        let (lk, lv) = valid(&used_keys(std::slice::from_ref(&vv), vk.len()), &vv, &vk);
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
                walk.refresh(val);
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
                match walk.field(id, k) {
                    Field::Missing => items.push(id),
                    f => values.push(f.text().to_string()),
                }
            }
            if valid_keys.len() > 1 {
                walk.set(&mut items, None, &valid_keys, &values);
            }
            walk.set(&mut items, Some(id), &valid_keys, &values);
        }
        dest = items;
    }
    walk.into_values(dest)
}

/// Whether every element of `list` has a key of its own (not empty, not null).
fn distinct_keys(list: &[Value], key: &str) -> bool {
    use std::borrow::Cow;
    let mut seen: Vec<Cow<'_, str>> = Vec::with_capacity(list.len());
    let mut index = std::collections::HashSet::new();
    list.iter().all(|v| {
        let text: Cow<'_, str> = match v.get(key) {
            None | Some(Value::Null) => return false,
            Some(Value::String(s)) => Cow::Borrowed(s),
            Some(other) => Cow::Owned(text(other)),
        };
        if text.is_empty() {
            return false;
        }
        // Short lists are searched; long ones indexed.
        if list.len() <= 16 {
            let new = !seen.contains(&text);
            seen.push(text);
            new
        } else {
            index.insert(text)
        }
    })
}

/// An element's key field, as the merge compares it.
enum Field {
    Missing,
    Null,
    /// The scalar's text (empty for a map or list).
    Text(String),
}

impl Field {
    fn of(element: &Value, key: &str) -> Field {
        match element.get(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Text(text(v)),
        }
    }

    /// The text kubectl gathers into a key tuple: nothing for a missing or null key.
    fn key_text(&self) -> String {
        match self {
            Field::Text(t) => t.clone(),
            _ => String::new(),
        }
    }

    /// The text a present key shows.
    fn text(&self) -> &str {
        match self {
            Field::Text(t) => t,
            _ => "null",
        }
    }
}

struct Walk<'a, 'p, 'k> {
    nodes: Vec<Value>,
    /// Each element's fields for `keys`, kept as the element changes.
    fields: Vec<Vec<Field>>,
    keys: &'k [&'k str],
    schema: Schema<'a>,
    path: &'p mut Vec<String>,
}

impl Walk<'_, '_, '_> {
    fn adopt(&mut self, list: Vec<Value>) -> Vec<usize> {
        list.into_iter()
            .map(|v| {
                self.fields
                    .push(self.keys.iter().map(|k| Field::of(&v, k)).collect());
                self.nodes.push(v);
                self.nodes.len() - 1
            })
            .collect()
    }

    /// The elements of `list`, out of the arena: those listed once move, one listed twice
    /// is copied.
    fn into_values(mut self, list: Vec<usize>) -> Vec<Value> {
        let mut uses = vec![0usize; self.nodes.len()];
        for &id in &list {
            uses[id] += 1;
        }
        list.into_iter()
            .map(|id| {
                uses[id] -= 1;
                if uses[id] == 0 {
                    std::mem::take(&mut self.nodes[id])
                } else {
                    self.nodes[id].clone()
                }
            })
            .collect()
    }

    /// The merge's steps where every element has all its keys and no list repeats a key
    /// tuple, as most lists do, by looking tuples up rather than scanning: the patch's
    /// elements in order (merged with the object's twin, or new), the object's others
    /// after them; with several keys the object's elements all move to the end, and an
    /// object's element the patch replaces stays as it was. `None` where the lists are
    /// not of that shape.
    fn distinct_full(
        &mut self,
        patch: Option<&[usize]>,
        dest: &[usize],
        shared: bool,
    ) -> Option<Vec<usize>> {
        use std::collections::HashMap;
        let full = |w: &Self, id: usize| {
            w.nodes[id].is_object()
                && w.fields[id]
                    .iter()
                    .all(|f| matches!(f, Field::Text(t) if !t.is_empty()))
        };
        let index = |w: &Self, list: &[usize]| -> Option<HashMap<Vec<String>, usize>> {
            let mut map = HashMap::with_capacity(list.len());
            for &id in list {
                if !full(w, id) {
                    return None;
                }
                let tuple = w.fields[id].iter().map(Field::key_text).collect();
                if map.insert(tuple, id).is_some() {
                    return None;
                }
            }
            Some(map)
        };
        let in_dest = index(self, dest)?;
        let patch = patch.filter(|_| !shared);
        let in_patch = match patch {
            Some(p) => index(self, p)?,
            None => HashMap::new(),
        };
        let tuple_of = |w: &Self, id: usize| -> Vec<String> {
            w.fields[id].iter().map(Field::key_text).collect()
        };
        // Each patch element with its twin, then each object element the patch does not
        // name; where the list is the patch's own, each element with itself.
        let order: Vec<(Option<usize>, Option<usize>)> = match patch {
            None if shared => dest.iter().map(|&id| (Some(id), Some(id))).collect(),
            None => dest.iter().map(|&id| (Some(id), None)).collect(),
            Some(p) => p
                .iter()
                .map(|&id| (in_dest.get(&tuple_of(self, id)).copied(), Some(id)))
                .chain(
                    dest.iter()
                        .filter(|&&id| !in_patch.contains_key(&tuple_of(self, id)))
                        .map(|&id| (Some(id), None)),
                )
                .collect(),
        };
        let mut items: Vec<Option<usize>> = Vec::with_capacity(order.len());
        let mut at: HashMap<Vec<String>, usize> = HashMap::with_capacity(order.len());
        let mut gone = std::collections::HashSet::new();
        for (d, p) in order {
            let t = tuple_of(self, d.or(p)?);
            match self.merge(d, p) {
                Some(val) => {
                    at.insert(t, items.len());
                    items.push(Some(val));
                }
                None => gone.extend(d),
            }
        }
        // The object's elements join: in place (one key) or at the end (several).
        let several = self.keys.len() > 1;
        for &id in dest.iter().filter(|id| !gone.contains(*id)) {
            let pos = at.get(&tuple_of(self, id)).copied();
            match (pos, several) {
                (Some(pos), false) => items[pos] = Some(id),
                (Some(pos), true) => {
                    items[pos] = None;
                    items.push(Some(id));
                }
                (None, _) => items.push(Some(id)),
            }
        }
        Some(items.into_iter().flatten().collect())
    }

    fn refresh(&mut self, id: usize) {
        let node = &self.nodes[id];
        self.fields[id] = self.keys.iter().map(|k| Field::of(node, k)).collect();
    }

    fn field(&self, id: usize, key: &str) -> &Field {
        let i = self.keys.iter().position(|k| *k == key).unwrap_or(0);
        &self.fields[id][i]
    }

    /// The first element of `list` with every key at its value; here an empty value asks
    /// for an empty key, not for any.
    fn first(&self, list: &[usize], keys: &[&str], values: &[String]) -> Option<usize> {
        list.iter().copied().find(|&id| {
            self.nodes[id].is_object()
                && keys
                    .iter()
                    .zip(values)
                    .all(|(k, v)| match self.field(id, k) {
                        Field::Missing => false,
                        Field::Null => v.is_empty(),
                        Field::Text(t) => t == v,
                    })
        })
    }

    /// Merges the patch's element into the object's: the element that comes out, or
    /// nothing where the merge leaves none.
    fn merge(&mut self, object: Option<usize>, patch: Option<usize>) -> Option<usize> {
        let id = self.merge_nodes(object, patch)?;
        self.refresh(id);
        let empty = self.nodes[id].as_object().is_none_or(|m| m.is_empty());
        (!empty).then_some(id)
    }

    fn merge_nodes(&mut self, object: Option<usize>, patch: Option<usize>) -> Option<usize> {
        // kubectl reads an element's directive as it walks it, and takes it out of the
        // patch's element: an element walked twice meets its directive once. Another
        // `$patch` value stays as data in an element new to the list (anywhere else
        // `unknown_directive` refused it).
        let directive = patch.and_then(|p| match &mut self.nodes[p] {
            Value::Object(m) if m.get("$patch").is_some_and(known_directive) => {
                match m.shift_remove("$patch") {
                    Some(Value::String(d)) => Some(d),
                    _ => None,
                }
            }
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
                self.nodes[p] = added(v, self.schema, self.path, true)?;
                p
            }
            (Some(o), None) => {
                collapse_repeated_keys(&mut self.nodes[o], self.schema, self.path);
                o
            }
            (None, None) => return None,
        };
        Some(id)
    }

    /// Sets `element` into `list` in place of every element agreeing with the keys (the
    /// values paired with them), or at the end where none does; with no element, takes
    /// those away. Null and empty elements go either way. A key without a value (past the
    /// end of `values`) agrees as the last one compared did.
    fn set(&self, list: &mut Vec<usize>, element: Option<usize>, keys: &[&str], values: &[String]) {
        let slots: Vec<usize> = keys
            .iter()
            .map(|k| self.keys.iter().position(|x| x == k).unwrap_or(0))
            .collect();
        let mut found = false;
        let mut kept = 0;
        for at in 0..list.len() {
            let id = list[at];
            let node = &self.nodes[id];
            let keep = if node.is_null() || node.as_object().is_some_and(|m| m.is_empty()) {
                None
            } else if !node.is_object() && !keys.is_empty() {
                Some(id)
            } else {
                let mut agrees = false;
                let mut all = true;
                for (j, &slot) in slots.iter().enumerate() {
                    if let Some(v) = values.get(j) {
                        agrees = match &self.fields[id][slot] {
                            Field::Missing => false,
                            f => v.is_empty() || f.text() == v,
                        };
                    }
                    if !agrees {
                        all = false;
                        break;
                    }
                }
                if all {
                    found = true;
                    element
                } else {
                    (!values.is_empty()).then_some(id)
                }
            };
            if let Some(id) = keep {
                list[kept] = id;
                kept += 1;
            }
        }
        list.truncate(kept);
        if let (Some(e), false) = (element, found) {
            list.push(e);
        }
    }
}

/// Key tuples that agree wherever both have a value, and share one value, become one.
fn fold_tuples(tuples: &mut [Vec<String>]) {
    // Distinct tuples with every value given never fold.
    if tuples.iter().all(|t| t.iter().all(|v| !v.is_empty())) {
        return;
    }
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

/// For each of `keys` keys, whether any of `tuples` has a value for it.
fn used_keys(tuples: &[Vec<String>], keys: usize) -> Vec<bool> {
    (0..keys)
        .map(|i| {
            tuples
                .iter()
                .any(|t| t.get(i).is_some_and(|v| !v.is_empty()))
        })
        .collect()
}

/// The keys `used` marks (all keys where it marks none), with `tuple`'s values for them.
fn valid<'k>(used: &[bool], tuple: &[String], keys: &[&'k str]) -> (Vec<&'k str>, Vec<String>) {
    if !used.contains(&true) {
        return (keys.to_vec(), tuple.to_vec());
    }
    let vk = keys
        .iter()
        .zip(used)
        .filter(|(_, u)| **u)
        .map(|(k, _)| *k)
        .collect();
    let vv = tuple
        .iter()
        .zip(used)
        .filter(|(_, u)| **u)
        .map(|(v, _)| v.clone())
        .collect();
    (vk, vv)
}
