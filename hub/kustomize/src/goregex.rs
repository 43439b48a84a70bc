//! Regular expressions as kubectl reads them: Go's RE2 syntax, compiled by the `regex`
//! crate. The two dialects mostly agree; where they part, the pattern is rewritten so it
//! means what Go makes of it, and what Go refuses is refused:
//! - `\d`, `\s`, `\w` and `\b` are ASCII only;
//! - inside a class, `[` is a plain character and `&&`, `--`, `~~` are no set operations;
//! - a `{` that starts no repetition is a plain brace, and a count is at most 1000;
//! - `\Q...\E` quotes, `\123` is an octal code, `\p{^L}` is a negated class;
//! - a repetition of a repetition (`a**`), flags other than `imsU`, and escapes Go does
//!   not know (`\u`) are errors.

use regex::Regex;

/// Compiles a Go regular expression.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    Regex::new(&translated).map_err(|e| format!("error parsing regexp {pattern:?}: {e}"))
}

/// Go's largest repetition count.
const MAX_REPEAT: u32 = 1000;

const DIGIT: &str = "0-9";
const SPACE: &str = r"\t\n\x0C\r ";
const WORD: &str = "0-9A-Za-z_";
const POSIX: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Rewrites a Go pattern into the `regex` crate's syntax with the same meaning.
fn translate(pattern: &str) -> Result<String, String> {
    let fail = |what: &str| format!("error parsing regexp {pattern:?}: {what}");
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    // Whether the last thing written can be repeated, and whether it is a repetition.
    let mut operand = false;
    let mut repeated = false;
    // A flag group `(?i)` just read: Go repeats what came before it, so a repetition
    // right after it is written before it.
    let mut pending = String::new();
    while i < chars.len() {
        let c = chars[i];
        let repetition = matches!(c, '*' | '+' | '?')
            || (c == '{' && matches!(repeat_count(&chars[i..]), Some(Ok(_))));
        if !repetition {
            out.push_str(&std::mem::take(&mut pending));
        }
        match c {
            '*' | '+' | '?' | '{' => {
                let (op, len) = if c == '{' {
                    match repeat_count(&chars[i..]) {
                        Some(Ok((op, len))) => (op, len),
                        Some(Err(e)) => return Err(fail(&e)),
                        // No count: a plain brace.
                        None => {
                            push_literal(&mut out, '{');
                            i += 1;
                            operand = true;
                            repeated = false;
                            continue;
                        }
                    }
                } else {
                    (c.to_string(), 1)
                };
                if repeated {
                    return Err(fail("invalid nested repetition operator"));
                }
                if !operand {
                    return Err(fail("missing argument to repetition operator"));
                }
                if pending.contains('U') {
                    return Err(fail(
                        "a flag group with U right before a repetition is not supported",
                    ));
                }
                out.push_str(&op);
                i += len;
                if chars.get(i) == Some(&'?') {
                    out.push('?');
                    i += 1;
                }
                out.push_str(&std::mem::take(&mut pending));
                repeated = true;
            }
            '(' => {
                let (head, len) = group_head(&chars[i..]).map_err(|e| fail(&e))?;
                i += len;
                if head.ends_with(')') {
                    // Flags alone: what comes before is still there to repeat.
                    pending.push_str(&head);
                } else {
                    out.push_str(&head);
                    operand = false;
                    repeated = false;
                }
            }
            ')' => {
                out.push(')');
                i += 1;
                operand = true;
                repeated = false;
            }
            '|' | '^' | '$' => {
                out.push(c);
                i += 1;
                operand = c != '|';
                repeated = false;
            }
            '.' => {
                out.push('.');
                i += 1;
                operand = true;
                repeated = false;
            }
            '[' => {
                i += class(&chars[i..], &mut out).map_err(|e| fail(&e))?;
                operand = true;
                repeated = false;
            }
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(fail("trailing backslash at end of expression"));
                };
                match e {
                    'Q' => {
                        // Everything up to `\E` (or the end) is literal text.
                        let start = i + 2;
                        let mut j = start;
                        while j < chars.len()
                            && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E'))
                        {
                            push_literal(&mut out, chars[j]);
                            j += 1;
                        }
                        if j > start {
                            operand = true;
                            repeated = false;
                        }
                        i = (j + 2).min(chars.len());
                        continue;
                    }
                    'A' | 'z' => out.push_str(&format!("\\{e}")),
                    'b' => out.push_str(r"(?-u:\b)"),
                    'B' => out.push_str(r"(?-u:\B)"),
                    'd' | 'D' | 's' | 'S' | 'w' | 'W' => out.push_str(&perl_class(e, false)),
                    'p' | 'P' => {
                        let (class, len) = unicode_class(&chars[i..]).map_err(|e| fail(&e))?;
                        out.push_str(&class);
                        i += len;
                        operand = true;
                        repeated = false;
                        continue;
                    }
                    'C' => out.push_str("(?s:.)"),
                    _ => {
                        let (ch, len) = escaped_char(&chars[i..]).map_err(|e| fail(&e))?;
                        push_literal(&mut out, ch);
                        i += len;
                        operand = true;
                        repeated = false;
                        continue;
                    }
                }
                i += 2;
                operand = true;
                repeated = false;
            }
            c => {
                push_literal(&mut out, c);
                i += 1;
                operand = true;
                repeated = false;
            }
        }
    }
    out.push_str(&pending);
    Ok(out)
}

/// A character as the `regex` crate reads it literally, in or out of a class.
fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_punctuation() || c.is_ascii_whitespace() {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    } else {
        out.push(c);
    }
}

/// `{n}`, `{n,}` or `{n,m}` at the start of `chars`, as the operator to write and its
/// length; `None` where the brace starts no count (Go then reads a plain brace).
fn repeat_count(chars: &[char]) -> Option<Result<(String, usize), String>> {
    let close = chars.iter().position(|&c| c == '}')?;
    let body: String = chars[1..close].iter().collect();
    let (min, max) = match body.split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (body.as_str(), None),
    };
    // Go takes digits with no leading zero for a count.
    fn number(s: &str) -> Option<&str> {
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (digits && !(s.len() > 1 && s.starts_with('0'))).then_some(s)
    }
    let min = number(min)?;
    let max = match max {
        Some("") => None,
        Some(m) => Some(number(m)?),
        None => Some(min),
    };
    let read = |s: &str| s.parse::<u32>().ok().filter(|n| *n <= MAX_REPEAT);
    let (Some(lo), hi) = (read(min), max.map(read)) else {
        return Some(Err("invalid repeat count".into()));
    };
    match hi {
        Some(None) => Some(Err("invalid repeat count".into())),
        Some(Some(hi)) if hi < lo => Some(Err("invalid repeat count".into())),
        _ => Some(Ok((chars[..=close].iter().collect(), close + 1))),
    }
}

/// The opening of a group: `(`, `(?:`, `(?P<name>`, `(?<name>` or flags `(?i)`, `(?s-m:`.
fn group_head(chars: &[char]) -> Result<(String, usize), String> {
    if chars.get(1) != Some(&'?') {
        return Ok(("(".into(), 1));
    }
    let rest: String = chars[2..].iter().collect();
    for prefix in ["P<", "<"] {
        if let Some(after) = rest.strip_prefix(prefix) {
            let name: String = after.chars().take_while(|&c| c != '>').collect();
            if name.is_empty()
                || name.len() == after.len()
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err("invalid named capture".into());
            }
            let len = 2 + prefix.chars().count() + name.chars().count() + 1;
            return Ok((format!("(?P<{name}>"), len));
        }
    }
    let flags: String = rest.chars().take_while(|&c| c != ')' && c != ':').collect();
    let end = rest.chars().nth(flags.chars().count());
    let valid = end.is_some()
        && (!flags.is_empty() || end == Some(':'))
        && flags.chars().all(|c| "imsU-".contains(c))
        && flags.matches('-').count() <= 1
        && !flags.ends_with('-');
    if !valid {
        return Err("invalid or unsupported Perl syntax".into());
    }
    let len = 2 + flags.chars().count() + 1;
    Ok((format!("(?{flags}{}", end.unwrap_or(')')), len))
}

/// `\d`, `\s`, `\w` and their negations as ASCII classes, alone or inside a class.
fn perl_class(c: char, inside: bool) -> String {
    let set = match c.to_ascii_lowercase() {
        'd' => DIGIT,
        's' => SPACE,
        _ => WORD,
    };
    match (c.is_ascii_uppercase(), inside) {
        (false, true) => set.to_string(),
        (false, false) => format!("[{set}]"),
        (true, _) => format!("[^{set}]"),
    }
}

/// `\pL`, `\p{Greek}`, `\p{^L}`, `\PL` at the start of `chars`, with its length.
fn unicode_class(chars: &[char]) -> Result<(String, usize), String> {
    let mut negated = chars[1] == 'P';
    let (name, len) = match chars.get(2) {
        Some('{') => {
            let close = chars
                .iter()
                .position(|&c| c == '}')
                .ok_or("invalid character class range")?;
            let mut name: String = chars[3..close].iter().collect();
            if let Some(rest) = name.strip_prefix('^') {
                negated = !negated;
                name = rest.to_string();
            }
            (name, close + 1)
        }
        Some(&c) if c.is_alphabetic() => (c.to_string(), 3),
        _ => return Err("invalid character class range".into()),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("invalid character class range".into());
    }
    Ok((
        format!("\\{}{{{name}}}", if negated { 'P' } else { 'p' }),
        len,
    ))
}

/// A character written with a backslash, at the start of `chars`: Go's single-letter
/// escapes, octal and hex codes, and any escaped ASCII punctuation. Anything else is an
/// error, as in Go.
fn escaped_char(chars: &[char]) -> Result<(char, usize), String> {
    let bad = || Err::<(char, usize), String>("invalid escape sequence".into());
    let Some(&e) = chars.get(1) else { return bad() };
    let simple = match e {
        'a' => Some('\x07'),
        'f' => Some('\x0C'),
        't' => Some('\t'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        'v' => Some('\x0B'),
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c, 2));
    }
    let octal = |c: Option<&char>| c.is_some_and(|c| ('0'..='7').contains(c));
    match e {
        // A lone digit other than 0 would be a backreference, which Go does not have.
        '1'..='7' if !octal(chars.get(2)) => bad(),
        '0'..='7' => {
            let mut code = 0;
            let mut len = 1;
            while len < 4 && octal(chars.get(len)) {
                code = code * 8 + chars[len].to_digit(8).unwrap_or(0);
                len += 1;
            }
            Ok((char::from_u32(code).unwrap_or('\0'), len))
        }
        'x' => {
            let (digits, len): (String, usize) = if chars.get(2) == Some(&'{') {
                let close = chars
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or("invalid escape sequence")?;
                (chars[3..close].iter().collect(), close + 1)
            } else {
                let two: String = chars.iter().skip(2).take(2).collect();
                if two.chars().count() != 2 {
                    return bad();
                }
                (two, 4)
            };
            let hex = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit());
            match u32::from_str_radix(&digits, 16)
                .ok()
                .filter(|_| hex)
                .and_then(char::from_u32)
            {
                Some(c) => Ok((c, len)),
                None => bad(),
            }
        }
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, 2)),
        _ => bad(),
    }
}

/// A bracketed class at the start of `chars`, written to `out` in the `regex` crate's
/// syntax; gives its length.
fn class(chars: &[char], out: &mut String) -> Result<usize, String> {
    let range_err = || "invalid character class range".to_string();
    let mut i = 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("missing closing ]".into());
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        // A POSIX class `[:alpha:]` or `[:^alpha:]`.
        if c == '[' && chars.get(i + 1) == Some(&':') {
            let rest: String = chars[i + 2..].iter().collect();
            if let Some(end) = rest.find(":]") {
                let name = &rest[..end];
                if !POSIX.contains(&name.trim_start_matches('^')) {
                    return Err(range_err());
                }
                out.push_str(&format!("[:{name}:]"));
                i += 2 + name.chars().count() + 2;
                continue;
            }
        }
        if c == '\\' {
            match chars.get(i + 1) {
                Some(&e @ ('d' | 'D' | 's' | 'S' | 'w' | 'W')) => {
                    out.push_str(&perl_class(e, true));
                    i += 2;
                    continue;
                }
                Some('p' | 'P') => {
                    let (class, len) = unicode_class(&chars[i..])?;
                    out.push_str(&class);
                    i += len;
                    continue;
                }
                _ => {}
            }
        }
        let (lo, len) = class_char(&chars[i..])?;
        i += len;
        // `a-z`, where the `-` is not the last thing in the class.
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let (hi, len) = class_char(&chars[i + 1..])?;
            if hi < lo {
                return Err(range_err());
            }
            i += 1 + len;
            push_literal(out, lo);
            out.push('-');
            push_literal(out, hi);
        } else {
            push_literal(out, lo);
        }
    }
}

/// One character of a class, plain or escaped, with its length.
fn class_char(chars: &[char]) -> Result<(char, usize), String> {
    match chars {
        ['\\', ..] => escaped_char(chars),
        [c, ..] => Ok((*c, 1)),
        [] => Err("missing closing ]".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::compile;
    use proptest::prelude::*;

    proptest! {
        /// Patterns come from users' files: any text compiles or fails, never panics.
        #[test]
        fn any_pattern_compiles_or_fails(p in r"[a-z\\\[\](){}^$.*+?|:,<>=!PQE0-9x\-&~ é]{0,40}") {
            if let Ok(re) = compile(&p) {
                let _ = re.is_match("web-1.é{}");
            }
        }
    }

    fn matches(pattern: &str, text: &str) -> bool {
        compile(&format!("^(?:{pattern})$"))
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .is_match(text)
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert!(matches(r"x\w", "xa"));
        assert!(!matches(r"x\w", "xé"));
        assert!(!matches(r"x\d", "x٣"));
        assert!(matches(r"x[\w-]+", "xa-b_9"));
        assert!(matches(r"x\W", "xé"));
        assert!(matches(r"\s", "\t"));
    }

    #[test]
    fn classes_hold_no_set_operations_or_nested_classes() {
        assert!(matches("[a-z--b]+", "a-b-c"));
        assert!(matches("[a&&b]+", "a&b"));
        assert!(matches("[[a]+", "[a["));
        assert!(!matches("[[a]]-b", "a-b"));
        assert!(matches("[[a]]-b", "a]-b"));
        assert!(matches("[]a]+", "]a"));
        assert!(matches("[[:alpha:]]+", "ab"));
        assert!(matches("[^[:digit:]]", "a"));
    }

    #[test]
    fn braces_without_a_count_are_plain() {
        assert!(matches("web{", "web{"));
        assert!(matches("a{,5}", "a{,5}"));
        assert!(matches("a{L}", "a{L}"));
        assert!(matches("a{2}", "aa"));
        assert!(matches("a{1,}", "aaa"));
        assert!(matches("a{01}", "a{01}"));
    }

    #[test]
    fn go_escapes() {
        assert!(matches(r"\Q.*\E", ".*"));
        assert!(compile(r"\Qa.b").is_ok_and(|re| re.is_match("xa.b") && !re.is_match("xa-b")));
        assert!(matches(r"\141-b", "a-b"));
        assert!(matches(r"\p{^L}", "1"));
        assert!(!matches(r"\P{^L}", "1"));
        assert!(matches(r"\x41\x{42}", "AB"));
        assert!(matches(r"a\.b\-c", "a.b-c"));
        assert!(matches("(?i)WEB", "web"));
        assert!(matches("(?P<n>a)(?<m>b)", "ab"));
        assert!(matches("a(?i)*B", "aaab"));
        assert!(compile("(?i)*").is_err());
    }

    #[test]
    fn what_go_refuses_is_refused() {
        for bad in [
            "a{1001}",
            "w**eb",
            "a*+",
            "a++",
            "a?+",
            "a{2}{3}",
            "(?x)a",
            r"\u0077",
            "[[:foo:]]",
            "[a--b]",
            r"\1",
            "*a",
            r"\8",
            r"\é",
            "[z-a]",
            "(?)",
        ] {
            assert!(compile(bad).is_err(), "{bad} compiled");
        }
        assert!(compile("a*?").is_ok());
        assert!(compile("a{2}?").is_ok());
    }
}
