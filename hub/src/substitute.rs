//! Flux's `postBuild` variable substitution over a rendered object's YAML text.
//!
//! Only the `${...}` forms are expanded, as in Flux: `${var}`, `${var:=default}`,
//! `${var:-default}`, `${var=default}` and `${var-default}`; `$${var}` is an escape that
//! leaves `${var}` in place, and a bare `$var` is left alone. An undefined variable without
//! a default becomes the empty string. Anything else inside `${...}` is an error naming
//! the expression, never a silent guess. Pure: text in, text out.

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("unterminated variable reference starting at `{0}`")]
    Unterminated(String),
    #[error("unsupported variable expression `${{{0}}}`")]
    Unsupported(String),
}

/// Expands the variable references in `text` with `vars`.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, Error> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("$${") {
            out.push('$');
            rest = &tail[2..];
            let close = rest.find('}').unwrap_or(rest.len() - 1) + 1;
            out.push_str(&rest[..close]);
            rest = &rest[close..];
            continue;
        }
        let Some(body_start) = tail.strip_prefix("${") else {
            out.push('$');
            rest = &tail[1..];
            continue;
        };
        let Some(close) = body_start.find('}') else {
            let shown: String = tail.chars().take(24).collect();
            return Err(Error::Unterminated(shown));
        };
        out.push_str(&expand(&body_start[..close], vars)?);
        rest = &body_start[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand(body: &str, vars: &BTreeMap<String, String>) -> Result<String, Error> {
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, op) = body.split_at(name_len);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(Error::Unsupported(body.to_string()));
    }
    let value = vars.get(name);
    let expanded = if op.is_empty() {
        value.cloned().unwrap_or_default()
    } else if let Some(default) = op.strip_prefix(":=").or_else(|| op.strip_prefix(":-")) {
        // Unset or empty takes the default.
        match value {
            Some(v) if !v.is_empty() => v.clone(),
            _ => default.to_string(),
        }
    } else if let Some(default) = op.strip_prefix('=').or_else(|| op.strip_prefix('-')) {
        // Only unset takes the default.
        value.cloned().unwrap_or_else(|| default.to_string())
    } else {
        return Err(Error::Unsupported(body.to_string()));
    };
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, Error>) {
        let vars: BTreeMap<String, String> = [("cluster_name", "cluster-1"), ("empty", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            substitute(input, &vars),
            expected.map(str::to_string),
            "{input}"
        );
    }

    #[test]
    fn expands_flux_forms() {
        check("app: ${cluster_name}", Ok("app: cluster-1"));
        check("a-${cluster_name}-b", Ok("a-cluster-1-b"));
        check("${missing}", Ok(""));
        check("${missing:=eu}", Ok("eu"));
        check("${empty:=eu}", Ok("eu"));
        check("${empty=eu}", Ok(""));
        check("${missing-eu}", Ok("eu"));
        check("${cluster_name:-x}", Ok("cluster-1"));
    }

    #[test]
    fn leaves_escapes_and_bare_dollars() {
        check("echo $${HOME} $HOME $", Ok("echo ${HOME} $HOME $"));
        check("cost: 5$", Ok("cost: 5$"));
        check("$$", Ok("$$"));
    }

    #[test]
    fn refuses_what_it_cannot_expand() {
        check("${unclosed", Err(Error::Unterminated("${unclosed".into())));
        check("${a/b/c}", Err(Error::Unsupported("a/b/c".into())));
        check("${}", Err(Error::Unsupported(String::new())));
        check("${1x}", Err(Error::Unsupported("1x".into())));
    }

    proptest::proptest! {
        #[test]
        fn text_without_references_is_unchanged(text in "[^$]*") {
            proptest::prop_assert_eq!(substitute(&text, &BTreeMap::new()).unwrap(), text);
        }

        #[test]
        fn never_panics(text in ".*") {
            let _ = substitute(&text, &BTreeMap::new());
        }
    }
}
