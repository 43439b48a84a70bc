//! JSON-model values to YAML text exactly as `kubectl kustomize` prints a resource: kustomize
//! turns each resource into JSON and back through sigs.k8s.io/yaml (go-yaml v2), so keys
//! come out in go-yaml v2's sorted order, strings are quoted under YAML 1.1 rules, long
//! scalars fold at 80 columns, and floats print as Go's `%g` of the JSON number.
//! This module decides bytes only; it never reorders sequences or changes values.

use serde_json::{Map, Number, Value};
use std::cmp::Ordering;

/// Renders one document (no `---` separator).
pub fn to_yaml_document(value: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
    };
    e.node(value, -1, Ctx::Root);
    if !e.out.ends_with('\n') {
        e.out.push('\n');
    }
    e.out
}

/// The plain text go-yaml v2 prints for a non-string scalar; `None` for strings and
/// collections.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(number_text(n)),
        _ => None,
    }
}

/// A scalar's text as kubectl compares and copies it: a string as it is, another scalar as
/// go-yaml prints it; none for a map or list.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(_) | Value::Object(_) => None,
        other => scalar_text(other),
    }
}

/// go-yaml v2's map key order (a "natural" order: digit runs compare numerically and
/// non-letters sort before letters).
pub fn key_cmp(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = is_letter(ar[i]);
        let bl = is_letter(br[i]);
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && is_digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// A letter as Go's `unicode.IsLetter` has it: general category L (a Roman numeral or a
/// combining mark is none).
fn is_letter(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
    )
}

/// A digit as Go's `unicode.IsDigit` has it: general category Nd, in any script.
fn is_digit(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    get_general_category(c) == G::DecimalNumber
}

/// A JSON number as it comes back out of go-yaml v2 after a JSON round trip.
pub fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        return "0".into();
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // Go's JSON encoder writes integral floats as digits, which v2 reads as ints when
        // they fit.
        // Go writes the shortest digits that read back as the float, then zeros
        // (`664018444972623400`, not the float's exact `664018444972623360`).
        if f.abs() < 9.2e18 || (f > 0.0 && f < 1.8e19) {
            return format!("{f}");
        }
    }
    go_format_g(f)
}

/// The shortest decimal digits that read back as `f`, with the power of ten of the
/// first: 1234.5 is ("12345", 3).
fn shortest_digits(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs()); // e.g. "1.2345e3", shortest round-trip digits
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits = mant.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Digits and a point without an exponent, as Go's `'f'` format writes them.
fn positional(digits: &str, exp: i32) -> String {
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("0.{zeros}{digits}");
    }
    let point = exp as usize + 1;
    if digits.len() <= point {
        format!("{digits}{}", "0".repeat(point - digits.len()))
    } else {
        format!("{}.{}", &digits[..point], &digits[point..])
    }
}

/// `d.ddd` and the exponent, as Go's `'e'` format writes them (`1e+06`, `1.5e-07`).
fn exponential(digits: &str, exp: i32) -> String {
    let rest = &digits[1..];
    let m = if rest.is_empty() {
        digits[..1].to_string()
    } else {
        format!("{}.{rest}", &digits[..1])
    };
    let es = if exp < 0 { '-' } else { '+' };
    format!("{m}e{es}{:02}", exp.abs())
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, for finite floats.
pub(crate) fn go_format_g(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    format_g(f.is_sign_negative(), shortest_digits(f))
}

/// A scalar as kubectl's YAML reader (sigs.k8s.io/yaml) turns it into text for a string
/// field of a file it decodes: a boolean or an integer as Go prints it, a float as
/// `strconv.FormatFloat(f, 'g', -1, 32)` does (`1e+06`, `3.1415927`, `+Inf` for what
/// overflows a 32-bit float). `None` for a string, null, list or map.
pub(crate) fn text_for_string_field(v: &Value) -> Option<String> {
    let Value::Number(n) = v else {
        return v.as_bool().map(|b| b.to_string());
    };
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    let f = n.as_f64()? as f32;
    Some(match f {
        f if f.is_nan() => "NaN".into(),
        f if f.is_infinite() => if f > 0.0 { "+Inf" } else { "-Inf" }.into(),
        f => {
            // Rust writes the shortest digits that read back as the f32, as Go does.
            let sci = format!("{:e}", f.abs());
            let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
            let digits = mant.chars().filter(char::is_ascii_digit).collect();
            format_g(f.is_sign_negative(), (digits, exp.parse().unwrap_or(0)))
        }
    })
}

/// Go's `'g'` format of the shortest digits: exponential below 1e-4 and from 1e6 up.
fn format_g(negative: bool, (digits, exp): (String, i32)) -> String {
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        return format!("{sign}{}", exponential(&digits, exp));
    }
    format!("{sign}{}", positional(&digits, exp))
}

/// A float as Go's `encoding/json` writes it: positional from 1e-6 up to 1e21,
/// exponential beyond with no leading zero in a negative exponent (`1e-7`, `1e+21`).
/// For finite floats only, as JSON numbers are.
pub(crate) fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    let (digits, exp) = shortest_digits(f);
    if (1e-6..1e21).contains(&f.abs()) {
        return format!("{sign}{}", positional(&digits, exp));
    }
    let e = exponential(&digits, exp);
    let e = match e.split_once("e-0") {
        Some((m, x)) => format!("{m}e-{x}"),
        None => e,
    };
    format!("{sign}{e}")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    MapValue,
    SeqItem,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

const BEST_WIDTH: usize = 80;
const BEST_INDENT: i64 = 2;

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self, indent: i64) {
        let indent = indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    /// Emits `v`; `indent` is the enclosing block's indent.
    fn node(&mut self, v: &Value, indent: i64, ctx: Ctx) {
        match v {
            Value::Object(m) if !m.is_empty() => self.mapping(m, increase(indent, false)),
            Value::Array(a) if !a.is_empty() => {
                // Sequences directly under a mapping key are not indented.
                let indentless = ctx == Ctx::MapValue && !self.indention;
                let ind = if indentless {
                    indent.max(0)
                } else {
                    increase(indent, false)
                };
                self.sequence(a, ind)
            }
            Value::Object(_) => {
                self.write_indicator("{", true, true, false);
                self.write_indicator("}", false, false, false);
            }
            Value::Array(_) => {
                self.write_indicator("[", true, true, false);
                self.write_indicator("]", false, false, false);
            }
            Value::String(s) => self.string(s, increase(indent, true), false),
            other => {
                let text = scalar_text(other).unwrap_or_default();
                self.scalar(&text, Style::Plain, increase(indent, true), false);
            }
        }
    }

    fn mapping(&mut self, m: &Map<String, Value>, indent: i64) {
        let mut keys: Vec<&String> = m.keys().collect();
        // go-yaml compares a run of digits as a number from where two keys first
        // differ, so its order has cycles (`v2` < `v10` < `v1beta` < `v2`), where
        // kubectl's order changes from run to run.
        crate::sort::sort_by_any(&mut keys, |a, b| key_cmp(a, b));
        for k in keys {
            self.write_indent(indent);
            // libyaml writes a key longer than 128 bytes or spanning lines as `? key`
            // with the value on its own `: value` line.
            if k.len() > 128 || analyze(k).multiline {
                self.write_indicator("?", true, false, true);
                self.string(k, increase(indent, true), false);
                self.write_indent(indent);
                self.write_indicator(":", true, false, true);
            } else {
                self.string(k, indent, true);
                self.write_indicator(":", false, false, false);
            }
            self.node(&m[k.as_str()], indent, Ctx::MapValue);
        }
    }

    fn sequence(&mut self, a: &[Value], indent: i64) {
        for item in a {
            self.write_indent(indent);
            self.write_indicator("-", true, false, true);
            self.node(item, indent, Ctx::SeqItem);
        }
    }

    fn string(&mut self, s: &str, indent: i64, simple_key: bool) {
        // kubectl prints the string `<<` bare, key or value.
        let requested = if s.contains('\n') {
            Style::Literal
        } else if (resolves_as_string_v2(s) || s == "<<") && !is_base60_float(s) {
            Style::Plain
        } else {
            Style::Double
        };
        let a = analyze(s);
        let mut style = requested;
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (s.is_empty() && simple_key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        self.scalar(s, style, indent, simple_key);
    }

    fn scalar(&mut self, s: &str, style: Style, indent: i64, simple_key: bool) {
        let allow_breaks = !simple_key;
        let chars: Vec<char> = s.chars().collect();
        match style {
            Style::Plain => {
                if !self.whitespace {
                    self.put(' ');
                }
                let mut spaces = false;
                let mut breaks = false;
                let mut i = 0;
                while i < chars.len() {
                    let c = chars[i];
                    if c == ' ' {
                        if allow_breaks
                            && !spaces
                            && self.column > BEST_WIDTH
                            && chars.get(i + 1) != Some(&' ')
                        {
                            self.write_indent(indent);
                        } else {
                            self.put(c);
                        }
                        spaces = true;
                    } else if is_break(c) {
                        if !breaks && c == '\n' {
                            self.put_break();
                        }
                        self.write_break(c);
                        self.indention = true;
                        breaks = true;
                    } else {
                        if breaks {
                            self.write_indent(indent);
                        }
                        self.put(c);
                        self.indention = false;
                        spaces = false;
                        breaks = false;
                    }
                    i += 1;
                }
                self.whitespace = false;
                self.indention = false;
            }
            Style::Single => {
                self.write_indicator("'", true, false, false);
                let mut spaces = false;
                let mut breaks = false;
                for (i, &c) in chars.iter().enumerate() {
                    if c == ' ' {
                        if allow_breaks
                            && !spaces
                            && self.column > BEST_WIDTH
                            && i > 0
                            && i < chars.len() - 1
                            && chars.get(i + 1) != Some(&' ')
                        {
                            self.write_indent(indent);
                        } else {
                            self.put(c);
                        }
                        spaces = true;
                    } else if is_break(c) {
                        if !breaks && c == '\n' {
                            self.put_break();
                        }
                        self.write_break(c);
                        self.indention = true;
                        breaks = true;
                    } else {
                        if breaks {
                            self.write_indent(indent);
                        }
                        if c == '\'' {
                            self.put('\'');
                        }
                        self.put(c);
                        self.indention = false;
                        spaces = false;
                        breaks = false;
                    }
                }
                self.write_indicator("'", false, false, false);
                self.whitespace = false;
                self.indention = false;
            }
            Style::Double => {
                self.write_indicator("\"", true, false, false);
                let mut spaces = false;
                // go-yaml's byte-order-mark test looks at the value's first character
                // whatever the position: after a leading BOM every character is escaped.
                let bom_first = chars.first() == Some(&'\u{feff}');
                for (i, &c) in chars.iter().enumerate() {
                    if bom_first
                        || !is_printable(c)
                        || c == '\u{feff}'
                        || is_break(c)
                        || c == '"'
                        || c == '\\'
                    {
                        self.put('\\');
                        let esc = match c {
                            '\0' => Some('0'),
                            '\u{7}' => Some('a'),
                            '\u{8}' => Some('b'),
                            '\t' => Some('t'),
                            '\n' => Some('n'),
                            '\u{b}' => Some('v'),
                            '\u{c}' => Some('f'),
                            '\r' => Some('r'),
                            '\u{1b}' => Some('e'),
                            '"' => Some('"'),
                            '\\' => Some('\\'),
                            '\u{85}' => Some('N'),
                            '\u{a0}' => Some('_'),
                            '\u{2028}' => Some('L'),
                            '\u{2029}' => Some('P'),
                            _ => None,
                        };
                        match esc {
                            Some(e) => self.put(e),
                            None => {
                                let v = c as u32;
                                let text = if v <= 0xff {
                                    format!("x{v:02X}")
                                } else if v <= 0xffff {
                                    format!("u{v:04X}")
                                } else {
                                    format!("U{v:08X}")
                                };
                                for t in text.chars() {
                                    self.put(t);
                                }
                            }
                        }
                        spaces = false;
                    } else if c == ' ' {
                        if allow_breaks
                            && !spaces
                            && self.column > BEST_WIDTH
                            && i > 0
                            && i < chars.len() - 1
                        {
                            self.write_indent(indent);
                            if chars.get(i + 1) == Some(&' ') {
                                self.put('\\');
                            }
                        } else {
                            self.put(c);
                        }
                        spaces = true;
                    } else {
                        self.put(c);
                        spaces = false;
                    }
                }
                self.write_indicator("\"", false, false, false);
                self.whitespace = false;
                self.indention = false;
            }
            Style::Literal => {
                self.write_indicator("|", true, false, false);
                // Block scalar hints.
                if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
                    self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
                }
                let chomp = match chars.last() {
                    None => Some("-"),
                    Some(&c) if !is_break(c) => Some("-"),
                    Some(_) if chars.len() == 1 => Some("+"),
                    Some(_) if is_break(chars[chars.len() - 2]) => Some("+"),
                    Some(_) => None,
                };
                if let Some(ch) = chomp {
                    self.write_indicator(ch, false, false, false);
                }
                self.put_break();
                self.indention = true;
                self.whitespace = true;
                let mut breaks = true;
                for &c in &chars {
                    if is_break(c) {
                        self.write_break(c);
                        self.indention = true;
                        breaks = true;
                    } else {
                        if breaks {
                            self.write_indent(indent);
                        }
                        self.put(c);
                        self.indention = false;
                        breaks = false;
                    }
                }
            }
        }
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }
}

/// libyaml's `increase_indent` for block context.
fn increase(indent: i64, flow: bool) -> i64 {
    if indent < 0 {
        if flow {
            BEST_INDENT
        } else {
            0
        }
    } else {
        indent + BEST_INDENT
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0a
        || (0x20..=0x7e).contains(&v)
        || (0xa0..=0xd7ff).contains(&v)
        || ((0xe000..=0xfffd).contains(&v) && v != 0xfeff)
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's scalar analysis (block context; the emitter never writes flow scalars here).
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let blank_z =
        |c: Option<&char>| matches!(c, None | Some(' ' | '\t')) || c.is_some_and(|&c| is_break(c));
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = blank_z(chars.get(i + 1));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_ws => block_indicators = true,
                '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == chars.len() - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i == chars.len() - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = blank_z(Some(&c));
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Whether `s`, unquoted, reads back as a string under YAML 1.1, so that a value kubectl
/// sets needs no quotes (kyaml quotes the others as it sets them).
pub(crate) fn reads_as_string(s: &str) -> bool {
    resolves_as_string_v2(s)
}

/// Whether go-yaml v2 would read `s`, unquoted, back as a string (YAML 1.1 resolution).
fn resolves_as_string_v2(s: &str) -> bool {
    match s {
        "" | "~" | "null" | "Null" | "NULL" | "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N"
        | "no" | "No" | "NO" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | "on"
        | "On" | "ON" | "off" | "Off" | "OFF" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf"
        | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | "<<" => {
            return false
        }
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first == b'.' {
        // Go's float reader, which takes `_` between digits.
        if !super::parse::underscores_between_digits(s) {
            return true;
        }
        let plain: String = s.chars().filter(|&c| c != '_').collect();
        return !(super::parse::is_yaml_float(&plain)
            && plain.parse::<f64>().is_ok_and(f64::is_finite));
    }
    if !(first.is_ascii_digit() || first == b'-' || first == b'+') {
        return true;
    }
    if first.is_ascii_digit() && super::parse::parse_timestamp(s).is_some() {
        return false;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if go_parse_int_ok(&plain) {
        return false;
    }
    if super::parse::is_yaml_float(&plain) && plain.parse::<f64>().is_ok_and(f64::is_finite) {
        return false;
    }
    for (prefix, neg) in [("0b", false), ("-0b", true)] {
        if let Some(d) = plain.strip_prefix(prefix) {
            let _ = neg;
            if !d.is_empty() && d.chars().all(|c| c == '0' || c == '1') && d.len() <= 63 {
                return false;
            }
        }
    }
    true
}

/// `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` succeeds.
fn go_parse_int_ok(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    !digits.is_empty()
        && digits.chars().all(|c| c.is_digit(radix))
        && u64::from_str_radix(digits, radix).is_ok()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let n = i - start;
        if n == 0 || (n == 2 && b[start] > b'5') {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_no_total_order_sort_without_panicking() {
        // `v2` < `v10` < `v1beta` < `v2`: go-yaml's order has a cycle here.
        let names: Vec<String> = (0..40)
            .flat_map(|i| [format!("v{i}"), format!("v{i}beta"), format!("{i}a")])
            .collect();
        let mut keys: Vec<&String> = names.iter().collect();
        crate::sort::sort_by_any(&mut keys, |a, b| key_cmp(a, b));
        assert_eq!(keys.len(), names.len());
        let mut seen: Vec<&String> = keys.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), names.len(), "every key once");
        // Keys of a consistent order come out in it.
        let plain: Vec<String> = ["z", "B", "a10", "a9", "_x"].map(String::from).into();
        let mut keys: Vec<&String> = plain.iter().collect();
        crate::sort::sort_by_any(&mut keys, |a, b| key_cmp(a, b));
        assert_eq!(keys, ["_x", "B", "a9", "a10", "z"]);
    }

    #[test]
    fn keys_sort_like_go_yaml_v2() {
        let mut keys = vec!["z", "B", "a10", "a9", "_x", "apiVersion", "kind"];
        keys.sort_by(|a, b| key_cmp(a, b));
        assert_eq!(
            keys,
            vec!["_x", "B", "a9", "a10", "apiVersion", "kind", "z"]
        );
    }

    #[test]
    fn floats_print_as_go_json() {
        assert_eq!(go_json_float(1.0), "1");
        assert_eq!(go_json_float(-0.0), "-0");
        assert_eq!(go_json_float(1e3), "1000");
        assert_eq!(go_json_float(1e20), "100000000000000000000");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(0.000001), "0.000001");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(-2.5e-10), "-2.5e-10");
        assert_eq!(go_json_float(-1234.5), "-1234.5");
        assert_eq!(go_json_float(664018444972623360.0), "664018444972623400");
    }

    #[test]
    fn floats_print_as_go_g() {
        assert_eq!(go_format_g(1234567.5), "1.2345675e+06");
        assert_eq!(go_format_g(0.000001), "1e-06");
        assert_eq!(go_format_g(0.5), "0.5");
        assert_eq!(go_format_g(1e23), "1e+23");
        assert_eq!(go_format_g(100000.5), "100000.5");
    }
}
