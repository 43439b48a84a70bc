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
    // Go compiles `\p{L}{1,1000}`; the `regex` crate's default limit of 10 MB does not.
    regex::RegexBuilder::new(&translated)
        .size_limit(COMPILED_LIMIT)
        .build()
        .map_err(|e| format!("error parsing regexp {pattern:?}: {e}"))
}

/// How large a compiled pattern may grow.
const COMPILED_LIMIT: usize = 64 << 20;

/// Go's largest repetition count.
const MAX_REPEAT: u32 = 1000;

/// Patterns longer than this are refused: they come from users' files, and a few scans
/// here look ahead as Go's parser does.
const MAX_PATTERN: usize = 10_000;

const DIGIT: &str = "0-9";
const SPACE: &str = r"\t\n\x0C\r ";
const WORD: &str = "0-9A-Za-z_";
const POSIX: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// The Unicode tables Go's `\p{...}` knows: general categories, `Any`, and scripts.
const UNICODE_CATEGORIES: &[&str] = &[
    "Any", "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn",
    "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm",
    "So", "Z", "Zl", "Zp", "Zs",
];
const UNICODE_SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

/// The translation as it is written, with what a repetition needs to know.
struct Out {
    text: String,
    /// Where each open group starts in `text`.
    groups: Vec<usize>,
    /// Where the last thing that can be repeated starts, if there is one.
    operand: Option<usize>,
    /// Whether that thing is itself a repetition, and whether it was the last token
    /// read (Go refuses `a**`, but not `a*(?i)*`).
    repeated: bool,
    just_repeated: bool,
    /// A flag group just read: Go repeats what came before it, so a repetition right
    /// after it is written before it.
    pending: String,
    /// The counted repetitions read so far that no other holds, with where their operand
    /// starts in `text`.
    counted: Vec<(usize, Counted)>,
}

/// A counted repetition (`{n,m}`) and those inside its operand: Go limits how their
/// counts multiply.
struct Counted {
    min: u32,
    /// `None`: no upper bound.
    max: Option<u32>,
    inside: Vec<Counted>,
}

impl Counted {
    /// Go's check of a repetition against a budget of `n` copies: each count inside
    /// divides what the counts within it may be.
    fn fits(&self, mut n: u32) -> bool {
        let m = match self.max {
            Some(0) => return true,
            Some(max) => max,
            None => self.min,
        };
        if m > n {
            return false;
        }
        n = n.checked_div(m).unwrap_or(n);
        self.inside.iter().all(|c| c.fits(n))
    }
}

impl Out {
    /// Starts a thing that can be repeated.
    fn operand(&mut self) {
        self.flush();
        self.operand = Some(self.text.len());
        self.repeated = false;
        self.just_repeated = false;
    }

    /// Starts a token that cannot be repeated.
    fn other(&mut self) {
        self.flush();
        self.operand = None;
        self.repeated = false;
        self.just_repeated = false;
    }

    fn flush(&mut self) {
        self.text.push_str(&std::mem::take(&mut self.pending));
    }
}

/// Rewrites a Go pattern into the `regex` crate's syntax with the same meaning.
fn translate(pattern: &str) -> Result<String, String> {
    let fail = |what: &str| format!("error parsing regexp {pattern:?}: {what}");
    let chars: Vec<char> = pattern.chars().collect();
    if chars.len() > MAX_PATTERN {
        return Err(fail(&format!(
            "a pattern longer than {MAX_PATTERN} characters is not supported"
        )));
    }
    let mut out = Out {
        text: String::with_capacity(pattern.len() + 8),
        groups: Vec::new(),
        operand: None,
        repeated: false,
        just_repeated: false,
        pending: String::new(),
        counted: Vec::new(),
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let count = if c == '{' {
            repeat_count(&chars[i..])
        } else {
            None
        };
        if matches!(c, '*' | '+' | '?') || count.is_some() {
            let (op, len) = match count {
                Some(Ok(found)) => found,
                Some(Err(e)) => return Err(fail(&e)),
                None => (c.to_string(), 1),
            };
            if out.just_repeated {
                return Err(fail("invalid nested repetition operator"));
            }
            let Some(start) = out.operand else {
                return Err(fail("missing argument to repetition operator"));
            };
            if out.pending.contains('U') {
                return Err(fail(
                    "a flag group with U right before a repetition is not supported",
                ));
            }
            if let Some((min, max)) = count_bounds(&op) {
                // The counted repetitions inside the operand are this one's.
                let first = out.counted.iter().position(|(at, _)| *at >= start);
                let inside = first
                    .map(|f| out.counted.drain(f..).map(|(_, c)| c).collect())
                    .unwrap_or_default();
                let counted = Counted { min, max, inside };
                if (min >= 2 || max.is_some_and(|m| m >= 2)) && !counted.fits(MAX_REPEAT) {
                    return Err(fail(&format!("invalid repeat count: `{op}`")));
                }
                out.counted.push((start, counted));
            }
            // A repetition of a repetition (past a flag group) is grouped first.
            if out.repeated {
                out.text.insert_str(start, "(?:");
                out.text.push(')');
            }
            out.text.push_str(&op);
            i += len;
            if chars.get(i) == Some(&'?') {
                out.text.push('?');
                i += 1;
            }
            out.flush();
            out.repeated = true;
            out.just_repeated = true;
            continue;
        }
        match c {
            '(' => {
                let (head, len) = group_head(&chars[i..]).map_err(|e| fail(&e))?;
                i += len;
                match head {
                    // Flags alone: what came before is still there to repeat.
                    Head::Flags(flags) => {
                        out.pending.push_str(&flags);
                        out.just_repeated = false;
                    }
                    Head::Group(open) => {
                        out.other();
                        out.groups.push(out.text.len());
                        out.text.push_str(&open);
                    }
                }
            }
            ')' => {
                out.flush();
                let start = out.groups.pop().ok_or_else(|| fail("unexpected )"))?;
                out.text.push(')');
                out.operand = Some(start);
                out.repeated = false;
                out.just_repeated = false;
                i += 1;
            }
            '|' => {
                out.other();
                out.text.push('|');
                i += 1;
            }
            '^' | '$' | '.' => {
                out.operand();
                out.text.push(c);
                i += 1;
            }
            '[' => {
                out.operand();
                i += class(&chars[i..], &mut out.text).map_err(|e| fail(&e))?;
            }
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(fail("trailing backslash at end of expression"));
                };
                match e {
                    'Q' => {
                        // Everything up to `\E` (or the end) is literal text, each
                        // character one thing to repeat.
                        let mut j = i + 2;
                        while j < chars.len()
                            && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E'))
                        {
                            out.operand();
                            push_literal(&mut out.text, chars[j]);
                            j += 1;
                        }
                        out.just_repeated = false;
                        i = (j + 2).min(chars.len());
                    }
                    'A' | 'z' => {
                        out.operand();
                        out.text.push_str(&format!("\\{e}"));
                        i += 2;
                    }
                    'b' | 'B' => {
                        out.operand();
                        out.text.push_str(&format!("(?-u:\\{e})"));
                        i += 2;
                    }
                    'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                        out.operand();
                        out.text.push_str(&perl_class(e, false));
                        i += 2;
                    }
                    'p' | 'P' => {
                        let (class, len) = unicode_class(&chars[i..]).map_err(|e| fail(&e))?;
                        out.operand();
                        out.text.push_str(&class);
                        i += len;
                    }
                    _ => {
                        let (ch, len) = escaped_char(&chars[i..]).map_err(|e| fail(&e))?;
                        out.operand();
                        push_literal(&mut out.text, ch);
                        i += len;
                    }
                }
            }
            c => {
                out.operand();
                push_literal(&mut out.text, c);
                i += 1;
            }
        }
    }
    if !out.groups.is_empty() {
        return Err(fail("missing closing )"));
    }
    out.flush();
    Ok(out.text)
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
    // Digits with no leading zero, and where they end.
    fn number(chars: &[char], at: usize) -> Option<(Option<u32>, usize)> {
        let len = chars[at..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if len == 0 || (len > 1 && chars[at] == '0') {
            return None;
        }
        let digits: String = chars[at..at + len].iter().collect();
        let n = digits.parse::<u32>().ok().filter(|n| *n <= MAX_REPEAT);
        Some((n, at + len))
    }
    let (min, mut at) = number(chars, 1)?;
    let max = match chars.get(at)? {
        ',' if chars.get(at + 1) == Some(&'}') => {
            at += 1;
            None
        }
        ',' => {
            let (max, end) = number(chars, at + 1)?;
            at = end;
            Some(max)
        }
        _ => Some(min),
    };
    if chars.get(at) != Some(&'}') {
        return None;
    }
    let bad = || Some(Err("invalid repeat count".to_string()));
    let Some(lo) = min else { return bad() };
    match max {
        Some(None) => return bad(),
        Some(Some(hi)) if hi < lo => return bad(),
        _ => {}
    }
    Some(Ok((chars[..=at].iter().collect(), at + 1)))
}

/// The bounds of a count operator as `repeat_count` writes it (`{2}`, `{2,}`, `{2,5}`);
/// `None` for `*`, `+` and `?`.
fn count_bounds(op: &str) -> Option<(u32, Option<u32>)> {
    let inner = op.strip_prefix('{')?.strip_suffix('}')?;
    match inner.split_once(',') {
        None => {
            let n = inner.parse().ok()?;
            Some((n, Some(n)))
        }
        Some((lo, "")) => Some((lo.parse().ok()?, None)),
        Some((lo, hi)) => Some((lo.parse().ok()?, Some(hi.parse().ok()?))),
    }
}

/// What a `(` opens.
enum Head {
    /// A group, with the text that opens it.
    Group(String),
    /// Flags alone (`(?i)`), as the text that sets them (empty for none).
    Flags(String),
}

/// The opening of a group at the start of `chars` and its length. A named group is
/// written unnamed (Go accepts names the `regex` crate does not, and nothing reads
/// them), and flags are written once each (Go accepts `(?ii)`, `(?i-i)` and `(?)`).
fn group_head(chars: &[char]) -> Result<(Head, usize), String> {
    if chars.get(1) != Some(&'?') {
        return Ok((Head::Group("(".into()), 1));
    }
    let name_at = match (chars.get(2), chars.get(3)) {
        (Some('P'), Some('<')) => Some(4),
        (Some('<'), _) => Some(3),
        _ => None,
    };
    if let Some(at) = name_at {
        let len = chars[at..].iter().take_while(|&&c| c != '>').count();
        let name = &chars[at..at + len];
        let word = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
        if len == 0 || at + len == chars.len() || !name.iter().all(word) {
            return Err("invalid named capture".into());
        }
        return Ok((Head::Group("(".into()), at + len + 1));
    }
    let bad = || Err("invalid or unsupported Perl syntax".to_string());
    // Each of imsU on or off, as its last mention says.
    let mut on = String::new();
    let mut off = String::new();
    let mut negated = false;
    let mut flag_since_minus = false;
    let mut at = 2;
    loop {
        match chars.get(at) {
            Some(&f @ ('i' | 'm' | 's' | 'U')) => {
                on.retain(|c| c != f);
                off.retain(|c| c != f);
                if negated { &mut off } else { &mut on }.push(f);
                flag_since_minus = true;
            }
            Some('-') if !negated => {
                negated = true;
                flag_since_minus = false;
            }
            Some(&end @ (')' | ':')) => {
                if negated && !flag_since_minus {
                    return bad();
                }
                let flags = if off.is_empty() {
                    on
                } else {
                    format!("{on}-{off}")
                };
                let head = match (end, flags.is_empty()) {
                    (')', true) => Head::Flags(String::new()),
                    (')', false) => Head::Flags(format!("(?{flags})")),
                    (_, true) => Head::Group("(?:".into()),
                    (_, false) => Head::Group(format!("(?{flags}:")),
                };
                return Ok((head, at + 1));
            }
            _ => return bad(),
        }
        at += 1;
    }
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

/// `\pL`, `\p{Greek}`, `\p{^L}`, `\PL` at the start of `chars`, with its length. Only
/// the names Go knows, spelled as Go spells them.
fn unicode_class(chars: &[char]) -> Result<(String, usize), String> {
    let bad = || Err("invalid character class range".to_string());
    let mut negated = chars[1] == 'P';
    let (mut name, len) = match chars.get(2) {
        Some('{') => {
            let len = chars[3..].iter().take_while(|&&c| c != '}').count();
            if 3 + len == chars.len() {
                return bad();
            }
            (chars[3..3 + len].iter().collect::<String>(), 3 + len + 1)
        }
        Some(&c) => (c.to_string(), 3),
        None => return bad(),
    };
    if let Some(rest) = name.strip_prefix('^') {
        negated = !negated;
        name = rest.to_string();
    }
    let single = len == 3;
    let known = if single {
        UNICODE_CATEGORIES.contains(&name.as_str()) && name.len() == 1
    } else {
        UNICODE_CATEGORIES.contains(&name.as_str()) || UNICODE_SCRIPTS.contains(&name.as_str())
    };
    if !known {
        return bad();
    }
    let p = if negated { 'P' } else { 'p' };
    Ok((format!("\\{p}{{{name}}}"), len))
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
                let n = chars[3..]
                    .iter()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .count();
                if chars.get(3 + n) != Some(&'}') {
                    return bad();
                }
                (chars[3..3 + n].iter().collect(), 3 + n + 1)
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
        // A POSIX class `[:alpha:]` or `[:^alpha:]`: Go takes everything up to the next
        // `:]` for its name.
        if c == '[' && chars.get(i + 1) == Some(&':') {
            let end = chars[i + 2..].windows(2).position(|w| w == [':', ']']);
            if let Some(end) = end {
                let name: String = chars[i + 2..i + 2 + end].iter().collect();
                if !POSIX.contains(&name.strip_prefix('^').unwrap_or(&name)) {
                    return Err(range_err());
                }
                out.push_str(&format!("[:{name}:]"));
                i += 2 + end + 2;
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
        assert!(matches("a*(?i)*b", "aaB"));
        assert!(!matches("a*(?i)*b", "aAb"));
        assert!(matches(r"a*\Q\E*b", "aab"));
        assert!(matches("(?)(?ii)(?i-i)A", "A"));
        assert!(!matches("(?i-i)A", "a"));
        assert!(matches("(?P<1a>x)(?P<1a>y)", "xy"));
        assert!(matches(r"\p{Greek}\pL", "αb"));
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
            r"\C",
            "(?-)",
            "(?i-)",
            r"\p{greek}",
            r"\p{Alphabetic}",
            r"\pX",
            "(a",
            "a)",
        ] {
            assert!(compile(bad).is_err(), "{bad} compiled");
        }
        assert!(compile("a*?").is_ok());
        assert!(compile("a{2}?").is_ok());
    }

    #[test]
    fn nested_counts_multiply_to_at_most_a_thousand() {
        for bad in [
            "(w{501}){2}|web",
            "(a{1,1000}){0,3}",
            "(a{2}){501}",
            "((a{10}){10}){11}",
            "(a{10}|b{200}){6}",
            "(?:a{2}){600}",
            "(a{1000}){0,2}",
            "(x{1,1000}){2,}",
            "(a{0,}b{2}){501}",
        ] {
            let err = compile(bad).expect_err(bad);
            assert!(err.contains("invalid repeat count"), "{bad}: {err}");
        }
        for good in [
            "(a{500}){2}",
            "(a{1000})*",
            "(a{1000}){0,1}",
            "(a{0}){1000}",
            "a{1000}b{1000}",
            "(a{10}){10}(b{10}){10}",
            "((a{10}){10}){10}",
        ] {
            assert!(compile(good).is_ok(), "{good} refused");
        }
    }
}
