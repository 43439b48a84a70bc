//! kubectl passes every object through JSON and reads that JSON back as YAML, whenever it
//! loads, generates or transforms one. Go's JSON encoder leaves some characters raw that
//! the YAML reader then refuses ("control characters are not allowed"), and a raw NEL
//! (U+0085) is a line break to the YAML reader, so a double-quoted JSON string folds at it.
//! This module reproduces both effects on our objects.

use serde_json::Value;

/// Folds NELs in every string of `v` as kubectl's round trip does, or names the first
/// string kubectl would refuse (by its path inside `v`).
pub(crate) fn json_round_trip(v: &mut Value) -> Result<(), String> {
    if fold(v) {
        return Ok(());
    }
    // Rare: find the offender again, this time keeping the path.
    Err(offender(v, &mut Vec::new()).unwrap_or_else(|| "a refused character".into()))
}

/// Only strings holding a byte of U+007F or above can need anything.
fn plain(s: &str) -> bool {
    s.bytes().all(|b| b < 0x7f)
}

/// Folds NELs; false when something is refused.
fn fold(v: &mut Value) -> bool {
    match v {
        Value::String(s) if plain(s) => true,
        Value::String(s) => {
            if s.chars().any(refused) {
                return false;
            }
            if s.contains('\u{85}') {
                *s = fold_nel(s);
            }
            true
        }
        Value::Array(items) => items.iter_mut().all(fold),
        Value::Object(m) => m.iter_mut().all(|(k, item)| {
            (plain(k) || !k.chars().any(|c| refused(c) || c == '\u{85}')) && fold(item)
        }),
        _ => true,
    }
}

fn offender(v: &Value, path: &mut Vec<String>) -> Option<String> {
    match v {
        Value::String(s) => check(s, path).err(),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            path.push(i.to_string());
            let found = offender(item, path);
            path.pop();
            found
        }),
        Value::Object(m) => m.iter().find_map(|(k, item)| {
            path.push(k.clone());
            let found = check(k, path).err().or_else(|| {
                if k.contains('\u{85}') {
                    Some(format!(
                        "{}: a key holding U+0085 (NEL) is not supported",
                        path.join(".")
                    ))
                } else {
                    offender(item, path)
                }
            });
            path.pop();
            found
        }),
        _ => None,
    }
}

/// Characters the YAML reader refuses that Go's JSON encoder does not escape.
fn refused(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

fn check(s: &str, path: &[String]) -> Result<(), String> {
    match s.chars().find(|c| refused(*c)) {
        Some(c) => Err(format!(
            "{}: control character U+{:04X} is not allowed",
            path.join("."),
            c as u32
        )),
        None => Ok(()),
    }
}

/// YAML's line folding in a double-quoted scalar, where NEL is the only raw break (JSON
/// escapes the others) and the space is the only raw white space: spaces around a break
/// go, a single break becomes a space, and each further empty line a newline.
fn fold_nel(s: &str) -> String {
    let parts: Vec<&str> = s.split('\u{85}').collect();
    let last = parts.len() - 1;
    let line = |i: usize| -> &str {
        let p = parts[i];
        let p = if i > 0 { p.trim_start_matches(' ') } else { p };
        if i < last {
            p.trim_end_matches(' ')
        } else {
            p
        }
    };
    let mut out = line(0).to_string();
    let mut i = 1;
    while i <= last {
        let mut j = i;
        while j < last && line(j).is_empty() {
            j += 1;
        }
        match j - i {
            0 => out.push(' '),
            empty => out.extend(std::iter::repeat_n('\n', empty)),
        }
        out.push_str(line(j));
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nel_folds_like_a_yaml_line_break() {
        for (input, folded) in [
            ("a  \u{85}   b", "a b"),
            ("a  \u{85} \u{85}  b", "a\nb"),
            ("\u{85}a\u{85}", " a "),
            ("\u{85}\u{85}\u{85}", "\n\n"),
            ("a \u{85}\t\u{85} b", "a \t b"),
        ] {
            let mut v = json!({ "k": input });
            json_round_trip(&mut v).unwrap();
            assert_eq!(v["k"], folded, "{input:?}");
        }
    }

    #[test]
    fn refused_characters_are_named_with_their_path() {
        let mut v = json!({ "data": { "k": "a\u{7f}" } });
        assert_eq!(
            json_round_trip(&mut v).unwrap_err(),
            "data.k: control character U+007F is not allowed"
        );
        let mut v = json!({ "data": { "k\u{85}": "v" } });
        assert!(json_round_trip(&mut v).unwrap_err().contains("NEL"));
        let mut v = json!({ "s": "\u{feff}\u{2028}\u{a0}\u{85}" });
        assert!(json_round_trip(&mut v).is_ok());
    }
}
