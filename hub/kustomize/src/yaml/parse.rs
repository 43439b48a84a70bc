//! YAML text to JSON-model values, resolving plain scalars the way kustomize's reader
//! (go-yaml v3 feeding kyaml's JSON conversion) does: `yes` stays a string, `010` is 8,
//! `1_000` is 1000, an unquoted date becomes an RFC 3339 timestamp string.
//! Must never panic on any input; every failure is a `ParseError` with a line.

use granit_parser::{Event, Parser, Placement, ScalarStyle, StructureStyle};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// A YAML syntax or structure error at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// One document of a YAML stream and the line it starts on.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub value: Value,
    pub line: usize,
    pub notes: SourceNotes,
}

/// How a manifest's or a patch's scalars and collections were written, by JSON pointer:
/// kubectl keeps a node's style through its edits, so the output depends on it.
#[derive(Debug, Clone, Default)]
pub struct SourceNotes {
    /// The source text of each plain scalar that did not read as a string and is not
    /// written as it would be written back (`0644`, `1.50`, `True`, but not `80`), as
    /// kubectl copies a scalar's text.
    pub texts: Vec<(String, String)>,
    /// Where a string was written quoted or as a block scalar (kubectl keeps that style
    /// for a plain scalar a patch puts there).
    pub quoted: Vec<String>,
    /// Patches and files read as YAML 1.1: the maps (by JSON pointer) where a key repeats,
    /// with the key. kubectl keeps a patch's first where the object has the map, and fails
    /// where it copies the map; it reads `configurations` files strictly. Manifests: the
    /// repeated annotations kubectl reads (and fails on where it reads the object again).
    pub repeated: Vec<(String, String)>,
    /// Manifests only: scalars tagged as strings that read as no string untagged
    /// (`!!str 3`): a number a transformer writes over such a node is a number in kubectl.
    pub tagged: Vec<String>,
    /// Manifests only: the maps and lists written in flow style (`{a: b}`). kubectl writes
    /// them back so, where an empty value reads as `""`.
    pub flow: Vec<String>,
    /// Manifests only: folded (`>`) scalars, with the value as read (kubectl's writing
    /// back may change it; a transformer that sets the string clears the fold, a
    /// replacement keeps it).
    pub folded: Vec<(String, String)>,
    /// The maps and lists a comment holding a JSON object is on (`containers: # {...}`):
    /// kubectl reads such a comment as that field's schema when it merges a patch.
    pub schema_comments: Vec<String>,
}

use super::MAX_DEPTH;
const MAX_ALIAS_EXPANSION: usize = 1_000_000;

/// Parses every document of `text`. Empty documents come back as `Value::Null`.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, ParseError> {
    parse_documents_with(text, false)
}

/// As `parse_documents`; with `yaml11`, plain `yes`/`no`/`on`/`off`/`y`/`n` are booleans,
/// as sigs.k8s.io/yaml (go-yaml v2) reads kustomization files, which fail on a boolean
/// map key.
pub fn parse_documents_with(text: &str, yaml11: bool) -> Result<Vec<Document>, ParseError> {
    parse(text, yaml11, false)
}

/// As `parse_documents_with(text, true)`, for the files other than kustomization files
/// that kubectl reads through go-yaml v2 (JSON 6902 operations, custom schemas): a map key
/// that is a boolean or a number reads as its text (`on:` is `"true"`).
pub fn parse_documents_v2(text: &str) -> Result<Vec<Document>, ParseError> {
    parse_with(
        text,
        ReadAs {
            yaml11: true,
            keys_as_text: true,
            ..ReadAs::default()
        },
    )
}

/// As `parse_documents`, for manifests: each object's own annotations come back as strings
/// (a scalar keeps its source text, a collection becomes ""), as kubectl prints them.
/// Patches are not read this way: a `null` there deletes.
pub fn parse_manifests(text: &str) -> Result<Vec<Document>, ParseError> {
    parse(text, false, true).or_else(|e| leading_flow_documents(text, false).ok_or(e))
}

/// Reads the first document of `text` as go-yaml v2 does (with YAML 1.1's booleans), the
/// way kubectl reads kustomization files, JSON 6902 operations, replacement and
/// configurations files: what follows that document is never read (see
/// `first_document_of_many`). `None` for an empty text.
///
/// A kustomization file (`kustomization`) fails on a boolean map key; the other files
/// take it as its text.
pub fn parse_first_document(
    text: &str,
    kustomization: bool,
) -> Result<Option<Document>, ParseError> {
    let first = |docs: Vec<Document>| docs.into_iter().next();
    let read_as = ReadAs {
        yaml11: true,
        keys_as_text: !kustomization,
        ..ReadAs::default()
    };
    let read = |text: &str| parse_with(text, read_as);
    // A `...` before any document: go-yaml v2 finds no node where one must start.
    let lead = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.trim_start().is_empty() && !l.trim_start().starts_with('#'));
    if lead.is_some_and(|l| l == "..." || l.starts_with("... ")) {
        let line = text
            .lines()
            .position(|l| l.trim_end() == lead.unwrap_or(""))
            .unwrap_or(0);
        return Err(ParseError {
            line: line + 1,
            message: "did not find expected node content".into(),
        });
    }
    match read(text) {
        Ok(docs) => Ok(first(docs)),
        Err(e) => match first_marked_document(text) {
            Some(text) => read(text).map(first),
            None => match first_document_of_many(text) {
                Some(text) => read(text).map(first).map_err(|_| e),
                None => Err(e),
            },
        },
    }
}

/// The text up to the `---`, `...` or directive line that ends the first document with
/// content.
fn first_marked_document(text: &str) -> Option<&str> {
    let mut offset = 0;
    let mut content = false;
    let starts = |line: &str, m: &str| {
        line.starts_with(m) && line[m.len()..].starts_with(|c: char| c.is_whitespace())
    };
    for line in text.split_inclusive('\n') {
        let marker = starts(line, "---");
        // A directive after content ends the document too, where go-yaml reads it.
        let directive = line.starts_with('%');
        if (marker || starts(line, "...") || directive) && content {
            if directive && !token_scans(line, true, true) {
                return None;
            }
            return Some(&text[..offset]);
        }
        let t = line.trim();
        content |= !marker && !t.is_empty() && !t.starts_with('#') && !t.starts_with('%');
        offset += line.len();
    }
    None
}

/// go-yaml v2, which reads kustomization files for kubectl, reads the first document and
/// stops. Where that document's root collection ends with no marker (a line less
/// indented than a block root, or anything after a flow root), what follows is never
/// read but for the one token it opens with, which must scan. The first document's
/// text, where it ends so and that token scans; `None` otherwise (a block root at the
/// first column ends only at a marker).
fn first_document_of_many(text: &str) -> Option<&str> {
    if let Some(end) = flow_extent(text) {
        let rest = &text[end..];
        // A `:` after it on its line makes the root a block map with this key.
        let key = key_indicator(rest.split('\n').next().unwrap_or(""));
        return (!key && next_token_scans(rest)).then(|| &text[..end]);
    }
    let column_of = |at: usize| at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    // Where the first content at or after `at` is.
    let content_from = |at: usize| {
        let rest = text.get(at..)?;
        let mut offset = 0;
        for line in rest.split_inclusive('\n') {
            let body = line.trim_start_matches([' ', '\t', '\r', '\n']);
            if !body.is_empty() && !body.starts_with('#') {
                return Some(at + offset + line.len() - body.len());
            }
            offset += line.len();
        }
        None
    };
    let mut parser = Parser::new_from_str_with_options(text, options());
    // The open collections (whether each is a flow one), the root's column, and where
    // the last node ended.
    let mut open: Vec<bool> = Vec::new();
    let mut root_column = 0;
    let mut last_end = 0;
    let ended = loop {
        let Some(Ok((ev, span))) = parser.next_event() else {
            // The root's end can fail to read past its last node; go-yaml stops at a
            // line less indented than the root all the same.
            break !open.is_empty() && !open.contains(&true);
        };
        let (start, end) = (span.start.byte_offset()?, span.end.byte_offset()?);
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let first = content_from(start)?;
                if open.is_empty() {
                    root_column = column_of(first);
                }
                open.push(text.get(first..)?.starts_with(['{', '[']));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if open.pop()? {
                    last_end = end;
                }
                if open.is_empty() {
                    break true;
                }
            }
            Event::Scalar(..) if open.is_empty() => return None,
            Event::Scalar(..) => last_end = end,
            Event::DocumentEnd => return None,
            _ => {}
        }
    };
    if !ended {
        return None;
    }
    let next = content_from(last_end)?;
    let boundary = text.get(last_end..next)?.contains('\n') && column_of(next) < root_column;
    (boundary && next_token_scans(text.get(last_end..)?)).then(|| &text[..last_end])
}

/// Whether go-yaml's scanner reads the first token of `rest` (which follows a node, in
/// block context) without failing: a tab leading a line, a block entry or key on the
/// node's line, a character no token starts with, a directive it does not know, an empty anchor or alias name, an unclosed
/// verbatim tag or quoted scalar fail.
fn next_token_scans(rest: &str) -> bool {
    let mut line_start = false;
    let mut column = 1;
    let mut chars = rest.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            '\n' => {
                line_start = true;
                column = 0;
                chars.next();
            }
            '\t' if line_start => return false,
            ' ' | '\t' | '\r' => {
                column += 1;
                chars.next();
            }
            '#' => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            _ => return token_scans(&rest[i..], line_start, column == 0),
        }
    }
    true
}

/// Whether go-yaml's scanner reads the token `text` opens with (see `next_token_scans`).
fn token_scans(text: &str, own_line: bool, first_column: bool) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut chars = text.chars();
    match chars.next() {
        // No block entry or key starts on the line a node ends on.
        Some('-' | '?') if !own_line && text[1..].starts_with([' ', '\t', '\r', '\n']) => false,
        Some('-' | '?') if !own_line && text.len() == 1 => false,
        Some('@' | '`') => false,
        Some('%') => {
            first_column
                && (text.starts_with("%TAG ")
                    || text
                        .strip_prefix("%YAML ")
                        .map(|v| v.trim_start_matches(' '))
                        .and_then(|v| v.split_once('.'))
                        .is_some_and(|(major, minor)| {
                            !major.is_empty()
                                && major.bytes().all(|b| b.is_ascii_digit())
                                && minor.starts_with(|c: char| c.is_ascii_digit())
                        }))
        }
        Some('&' | '*') => chars.next().is_some_and(name_char),
        Some('!') if text.starts_with("!<") => text[2..]
            .split(char::is_whitespace)
            .next()
            .is_some_and(|t| t.contains('>')),
        Some('"') => {
            let mut escaped = false;
            chars.any(|c| {
                let closes = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            })
        }
        Some('\'') => {
            let mut chars = chars.peekable();
            while let Some(c) = chars.next() {
                // `''` is a quote inside the scalar.
                if c == '\'' && chars.next_if_eq(&'\'').is_none() {
                    return true;
                }
            }
            false
        }
        _ => true,
    }
}

/// kubectl reads one document from each piece of a manifest file (cut at `---` lines)
/// and never looks past it: a piece that opens with a flow collection (`{...}`, as JSON
/// is) followed by text YAML cannot read is that collection. `None` unless every piece
/// reads so, and at least one needed it. Strategic merge patch files (`patch`) are read
/// so too.
fn leading_flow_documents(text: &str, patch: bool) -> Option<Vec<Document>> {
    let mut docs = Vec::new();
    let mut cut_short = false;
    for (first_line, piece) in pieces(text)? {
        let read_as = ReadAs {
            annotations_as_text: true,
            patch,
            ..ReadAs::default()
        };
        let read = match parse_with(piece, read_as) {
            Ok(read) => read,
            Err(_) => {
                cut_short = true;
                let end = flow_extent(piece)?;
                // A `:` after it on its line would make it a key, which fails.
                if key_indicator(piece[end..].split('\n').next().unwrap_or("")) {
                    return None;
                }
                parse_with(&piece[..end], read_as).ok()?
            }
        };
        docs.extend(read.into_iter().take(1).map(|mut d| {
            d.line += first_line - 1;
            d
        }));
    }
    cut_short.then_some(docs)
}

/// The pieces kubectl cuts a manifest file into (at the separator lines
/// `check_document_chunks` finds), each with the line it starts on.
fn pieces(text: &str) -> Option<Vec<(usize, &str)>> {
    let separators: std::collections::HashSet<usize> =
        check_document_chunks(text).ok()?.into_iter().collect();
    let mut out = Vec::new();
    let (mut start, mut start_line, mut offset) = (0, 1, 0);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if separators.contains(&(i + 1)) {
            out.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    out.push((start_line, &text[start..]));
    Some(out)
}

/// Whether go-yaml fails on `line`, the rest of the line a document's root collection
/// ends on: where it goes on with no collection of its own, a `:` followed by a blank or
/// the end (outside quotes and a comment) makes a mapping key there.
fn key_indicator(line: &str) -> bool {
    if line.trim_start().starts_with(['[', '{']) {
        return false;
    }
    let mut quote = None;
    let mut prev = ' ';
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if prev.is_whitespace() => return false,
            (None, ':') if chars.peek().is_none_or(|n| n.is_whitespace()) => return true,
            _ => {}
        }
        prev = c;
    }
    false
}

/// Where a line's leading block indicators (`-` and `?`, each followed by a blank, and a
/// complex key's `:` first on the line) end; 0 where there are none.
fn indicators_end(line: &str) -> usize {
    let bytes = line.as_bytes();
    let blank_after = |i: usize| matches!(bytes.get(i + 1), None | Some(b' ' | b'\t'));
    let mut end = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' => {}
            b'-' | b'?' if blank_after(i) => end = i + 1,
            b':' if end == 0 && blank_after(i) => end = i + 1,
            _ => break,
        }
        i += 1;
    }
    end
}

/// Where the flow collection a piece opens with (past blank and comment lines) ends.
fn flow_extent(piece: &str) -> Option<usize> {
    let mut chars = piece.char_indices().peekable();
    // Leading blanks and comment lines, and a `---` that opens the document.
    let mut line_start = true;
    while let Some(&(i, c)) = chars.peek() {
        match c {
            '\n' => {
                chars.next();
                line_start = true;
            }
            c if c.is_whitespace() => {
                chars.next();
                line_start = false;
            }
            '#' => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            '-' if line_start
                && piece[i..].starts_with("---")
                && piece[i + 3..].starts_with(char::is_whitespace) =>
            {
                chars.nth(2);
                line_start = false;
            }
            _ => break,
        }
    }
    let (open, _) = chars.next_if(|&(_, c)| matches!(c, '{' | '['))?;
    let mut depth = 0usize;
    let mut end = None;
    scan_flow(piece.as_bytes(), open, |i, byte| {
        match byte {
            FlowByte::Open => depth += 1,
            FlowByte::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    end = Some(i + 1);
                    return false;
                }
            }
            _ => {}
        }
        true
    });
    end
}

/// What a byte is to go-yaml reading a flow collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowByte {
    /// `{` or `[` outside quotes and comments.
    Open,
    /// `}` or `]` outside quotes and comments.
    Close,
    /// Inside a quoted scalar, its quotes included.
    Quoted,
    /// A comment: a `#` after a blank (or first in the text), to the line's end.
    Comment,
    /// Anything else.
    Other,
}

/// Walks `bytes` from `from`, telling `visit` what each byte is, until `visit` answers
/// `false`: quoted scalars (with `\` escapes in double quotes, `''` in single ones),
/// comments, and brackets outside both.
fn scan_flow(bytes: &[u8], from: usize, mut visit: impl FnMut(usize, FlowByte) -> bool) {
    let mut quote: Option<u8> = None;
    let mut comment = false;
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        let byte = match (quote, b) {
            (Some(b'"'), b'\\') => {
                if !visit(i, FlowByte::Quoted) {
                    return;
                }
                i += 1;
                FlowByte::Quoted
            }
            (Some(q), _) if b == q => {
                if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    if !visit(i, FlowByte::Quoted) {
                        return;
                    }
                    i += 1;
                } else {
                    quote = None;
                }
                FlowByte::Quoted
            }
            (Some(_), _) => FlowByte::Quoted,
            (None, b'\n') => {
                comment = false;
                FlowByte::Other
            }
            _ if comment => FlowByte::Comment,
            (None, b'#') if i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n') => {
                comment = true;
                FlowByte::Comment
            }
            (None, b'"' | b'\'') => {
                quote = Some(b);
                FlowByte::Quoted
            }
            (None, b'[' | b'{') => FlowByte::Open,
            (None, b']' | b'}') => FlowByte::Close,
            _ => FlowByte::Other,
        };
        if i >= bytes.len() || !visit(i, byte) {
            return;
        }
        i += 1;
    }
}

/// A byte-order mark where a token would begin is content, as go-yaml reads it.
fn options() -> granit_parser::Options {
    let mut o = granit_parser::Options::default();
    o.bom_inside_document_as_content = true;
    o.emit_anchor_events = true;
    o
}

/// The JSON pointer (RFC 6901) of a path of keys and list indexes.
pub(crate) fn json_pointer(path: &[String]) -> String {
    let mut out = String::new();
    for k in path {
        out.push('/');
        if k.contains(['~', '/']) {
            out.push_str(&k.replace('~', "~0").replace('/', "~1"));
        } else {
            out.push_str(k);
        }
    }
    out
}

/// kubectl cuts a text into pieces at its `---` lines and go-yaml skips a byte-order mark
/// at the start of each piece; elsewhere a BOM is content.
/// go-yaml also reads a raw NEL (U+0085) as a line break.
fn without_line_start_boms(text: &str) -> std::borrow::Cow<'_, str> {
    let unicode_break = |c: char| c == '\u{85}';
    if !text.contains(|c: char| c == '\u{feff}' || unicode_break(c)) {
        return text.into();
    }
    let text = text.replace(unicode_break, "\n");
    let mut out = String::with_capacity(text.len());
    let mut piece_start = true;
    for line in text.split_inclusive('\n') {
        let line = if piece_start {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        out.push_str(line);
        piece_start = line.starts_with("---");
    }
    out.into()
}

/// As `parse_manifests`, for strategic merge patches: an annotation's scalar keeps its
/// source text too, but a null stays null (it deletes).
pub fn parse_patches(text: &str) -> Result<Vec<Document>, ParseError> {
    let read_as = ReadAs {
        annotations_as_text: true,
        patch: true,
        ..ReadAs::default()
    };
    parse_with(text, read_as).or_else(|e| leading_flow_documents(text, true).ok_or(e))
}

fn parse(text: &str, yaml11: bool, annotations_as_text: bool) -> Result<Vec<Document>, ParseError> {
    parse_with(
        text,
        ReadAs {
            yaml11,
            annotations_as_text,
            ..ReadAs::default()
        },
    )
}

/// How a text is read (see `Builder`'s fields of the same names).
#[derive(Clone, Copy, Debug, Default)]
struct ReadAs {
    yaml11: bool,
    annotations_as_text: bool,
    patch: bool,
    keys_as_text: bool,
}

fn parse_with(text: &str, read_as: ReadAs) -> Result<Vec<Document>, ParseError> {
    let text = without_line_start_boms(text);
    let mut text = text.into_owned();
    if !read_as.yaml11 {
        if let Some(fixed) = rewrite_flow_scalars(&text)? {
            text = fixed;
        }
    }
    // go-yaml takes `\'` in a double-quoted scalar for a quote, and a comment right after
    // a closing quote or bracket; granit refuses both. Each such refusal rewrites that one
    // spot (no line changes) and reads again. An unquoted U+2028 or U+2029 becomes a
    // marked line break, unless the text holds the marks itself.
    let can_mark = !text.contains([LS_MARK, PS_MARK]);
    let mut marked = false;
    // Each flow collection holding tab-led lines is one rewrite: those have a budget of
    // their own.
    let mut flow_tab_rewrites = 0;
    let mut retries = 0;
    while retries < MAX_REWRITE_RETRIES && flow_tab_rewrites < MAX_FLOW_TAB_REWRITES {
        let mut refusal = None;
        let read = parse_text(&text, (read_as, marked), &mut refusal);
        match read {
            Err(e) => match refusal
                .filter(|r| can_mark || !matches!(r, Refusal::UnicodeLineBreaks(..)))
                .and_then(|r| rewrite_refusal(&text, r))
            {
                Some(fixed) => {
                    marked |= matches!(refusal, Some(Refusal::UnicodeLineBreaks(..)));
                    if matches!(refusal, Some(Refusal::FlowTabs(..))) {
                        flow_tab_rewrites += 1;
                    } else {
                        retries += 1;
                    }
                    text = fixed;
                }
                None => return Err(e),
            },
            ok => return ok,
        }
    }
    parse_text(&text, (read_as, marked), &mut None)
}

const MAX_REWRITE_RETRIES: usize = 32;
const MAX_FLOW_TAB_REWRITES: usize = 256;

/// Marks left before the line feed that stands for a U+2028 (U+2029) in an unquoted
/// scalar: go-yaml breaks the line there but keeps the separator itself in the value
/// where the scalar goes on (`x<LS>  y` is `x<LS>y`), and nothing where it ends.
const LS_MARK: char = '\u{FDD0}';
const PS_MARK: char = '\u{FDD1}';

/// A scalar's text with each mark (and the line break or folded space after it) turned
/// back into its separator, and a mark that ends the scalar dropped. Outside a literal
/// block a line break after a mark stands for empty lines that follow the separator, and
/// stays.
fn unmark(text: &str, literal: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let sep = match c {
            LS_MARK => '\u{2028}',
            PS_MARK => '\u{2029}',
            other => {
                out.push(other);
                continue;
            }
        };
        match chars.next_if(|n| *n == ' ' || *n == '\n') {
            Some('\n') if !literal => {
                out.push(sep);
                out.push('\n');
            }
            Some(_) => out.push(sep),
            None => {}
        }
    }
    out
}

/// A quoted scalar's `text` as go-yaml reads it where its source `raw` holds U+2028 or
/// U+2029 as they are: a line break to go-yaml, which keeps the separator and drops the
/// blanks around it. `None` where the scalar holds separators written as escapes too, or
/// one next to a line feed, whose reading this does not follow.
fn fold_separators(raw: &str, text: &str) -> Option<String> {
    let is_sep = |c: char| c == '\u{2028}' || c == '\u{2029}';
    let raw_count = raw.chars().filter(|&c| is_sep(c)).count();
    if raw_count == 0 || raw_count != text.chars().filter(|&c| is_sep(c)).count() {
        return None;
    }
    let chars: Vec<char> = raw.chars().collect();
    let next_to_break = chars.windows(2).any(|w| {
        (is_sep(w[0]) && matches!(w[1], '\n' | '\r'))
            || (is_sep(w[1]) && matches!(w[0], '\n' | '\r'))
    });
    if next_to_break {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(is_sep) {
        let sep = rest[at..].chars().next()?;
        out.push_str(rest[..at].trim_end_matches([' ', '\t']));
        out.push(sep);
        rest = rest[at + sep.len_utf8()..].trim_start_matches([' ', '\t']);
    }
    out.push_str(rest);
    Some(out)
}

/// A granit refusal go-yaml does not make, and the byte where granit reports it.
#[derive(Clone, Copy)]
enum Refusal {
    QuotedEscape(usize),
    CommentNotSeparated(usize),
    /// An unquoted scalar (between these bytes) holding U+2028 or U+2029, which go-yaml
    /// reads as line breaks: they are rewritten to line feeds.
    UnicodeLineBreaks(usize, usize),
    /// A tab leading a line inside flow collections (this many deep) from the line
    /// holding this byte: go-yaml takes it for a blank there.
    FlowTabs(usize, usize),
}

fn rewrite_refusal(text: &str, refusal: Refusal) -> Option<String> {
    match refusal {
        Refusal::QuotedEscape(at) => unescape_quotes_in_scalar(text, at),
        Refusal::UnicodeLineBreaks(start, end) => {
            let span = text.get(start..end)?;
            let broken = span
                .replace('\u{2028}', &format!("{LS_MARK}\n"))
                .replace('\u{2029}', &format!("{PS_MARK}\n"));
            Some(format!("{}{broken}{}", &text[..start], &text[end..]))
        }
        Refusal::FlowTabs(at, depth) => spaces_for_flow_tabs(text, at, depth),
        Refusal::CommentNotSeparated(at) => {
            let before = text.get(..at)?;
            let indicator = ['"', '\'', ']', '}', ',', '[', '{'];
            if !text.get(at..)?.starts_with('#') || !before.ends_with(indicator) {
                return None;
            }
            Some(format!("{before} {}", &text[at..]))
        }
    }
}

/// Turns the tabs leading each line into spaces, from the line holding byte `at` to
/// where the `depth` flow collections around it close (blanks either way to go-yaml,
/// inside quoted scalars too, where a line's leading blanks fold away); `None` where no
/// such tab is there, or where one follows a plain scalar's line (go-yaml reads that
/// line as the scalar's going on, where a tab may not indent it).
fn spaces_for_flow_tabs(text: &str, at: usize, depth: usize) -> Option<String> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let mut depth = depth as isize;
    let mut line_start = true;
    let mut tabs = Vec::new();
    // The last byte of content before here, outside comments: a plain scalar's, or an
    // indicator or closing quote (`#` for a comment).
    let mut last = text
        .get(..start)?
        .trim_end()
        .bytes()
        .next_back()
        .unwrap_or(b'{');
    let mut plain_tab = false;
    scan_flow(text.as_bytes(), start, |i, byte| {
        let b = text.as_bytes()[i];
        if line_start && b == b'\t' {
            if byte != FlowByte::Quoted
                && !matches!(last, b',' | b'[' | b'{' | b':' | b'"' | b'\'' | b'#')
            {
                plain_tab = true;
                return false;
            }
            tabs.push(i);
            return true;
        }
        line_start = b == b'\n' || (line_start && b == b' ');
        match byte {
            FlowByte::Comment => last = b'#',
            _ if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') => last = b,
            _ => {}
        }
        match byte {
            FlowByte::Open => depth += 1,
            FlowByte::Close => depth -= 1,
            _ => {}
        }
        depth > 0
    });
    if plain_tab || tabs.is_empty() {
        return None;
    }
    let mut bytes = text.as_bytes().to_vec();
    for i in tabs {
        bytes[i] = b' ';
    }
    String::from_utf8(bytes).ok()
}

/// Rewrites each `\'` of the double-quoted scalar opening at byte `at` to `'`; `None`
/// when there is none (the refused escape is another one).
fn unescape_quotes_in_scalar(text: &str, at: usize) -> Option<String> {
    let rest = text.get(at..)?.strip_prefix('"')?;
    let body_start = at + 1;
    let mut cut = Vec::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some((_, '\'')) => cut.push(body_start + i),
                Some(_) => {}
                None => break,
            },
            _ => {}
        }
    }
    if cut.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for i in cut {
        out.push_str(&text[from..i]);
        from = i + 1;
    }
    out.push_str(&text[from..]);
    Some(out)
}

/// go-yaml v2 (kustomization files) knows two directives, `%YAML 1.1` and `%TAG`.
fn check_yaml11_directives(text: &str) -> Result<(), ParseError> {
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") {
            break;
        }
        let Some(directive) = line.strip_prefix('%') else {
            continue;
        };
        let mut words = directive.split_whitespace();
        let fits = match words.next() {
            Some("YAML") => words.next() == Some("1.1"),
            Some("TAG") => true,
            _ => false,
        };
        if !fits {
            return Err(ParseError {
                line: i + 1,
                message: format!("{line:?}: kubectl reads kustomization files and JSON 6902 operations as YAML 1.1, with no other directive"),
            });
        }
    }
    Ok(())
}

/// Reads `text`; the flags are `parse_with`'s, and whether `text` holds marked breaks.
fn parse_text(
    text: &str,
    (read_as, marked): (ReadAs, bool),
    refusal: &mut Option<Refusal>,
) -> Result<Vec<Document>, ParseError> {
    let ReadAs {
        yaml11,
        annotations_as_text,
        patch,
        keys_as_text,
    } = read_as;
    let separators = if yaml11 {
        check_yaml11_directives(text)?;
        Vec::new()
    } else {
        check_named_tag_handles(text)?;
        check_document_chunks(text)?
    };
    let mut b = Builder {
        yaml11,
        keys_as_text,
        empty_span: false,
        annotations_as_text,
        patch,
        keys: Vec::new(),
        notes: SourceNotes::default(),
        parser: Parser::new_from_str_with_options(text, options()),
        anchors: HashMap::new(),
        expanded: 0,
        line: 1,
        flow_depth: 0,
        src: text,
        start: 0,
        end: 0,
        as_text: false,
        refusal: None,
        marked,
        plain_open: false,
        columns: Vec::new(),
        block_open: None,
        schema_comment: None,
    };
    let mut docs = Vec::new();
    let result = read_documents(&mut b, &mut docs);
    *refusal = b.refusal;
    // Kustomization files and JSON 6902 operations are read whole, by go-yaml alone.
    if yaml11 {
        return result.map(|()| docs);
    }
    result.map(|()| first_of_each_piece(docs, &separators))
}

/// kubectl cuts a text into pieces at its separator lines and reads one document from
/// each piece: a document the YAML reader finds after the first in a piece (after a
/// `...` or a second `---`) is dropped. The empty document a cut separator line seems to
/// open is no document of the piece.
fn first_of_each_piece(docs: Vec<Document>, separators: &[usize]) -> Vec<Document> {
    if docs.len() < 2 {
        return docs;
    }
    // The separator lines come in order.
    let piece = |line: usize| separators.partition_point(|&s| s <= line);
    let mut out: Vec<Document> = Vec::with_capacity(docs.len());
    let mut docs = docs.into_iter().peekable();
    let mut last_piece = None;
    while let Some(doc) = docs.next() {
        let p = piece(doc.line);
        let opened_by_cut = separators.binary_search(&doc.line).is_ok();
        let more_in_piece = docs.peek().is_some_and(|next| piece(next.line) == p);
        if opened_by_cut && doc.value.is_null() && more_in_piece {
            continue;
        }
        if last_piece == Some(p) {
            continue;
        }
        last_piece = Some(p);
        out.push(doc);
    }
    out
}

fn read_documents(b: &mut Builder<'_>, docs: &mut Vec<Document>) -> Result<(), ParseError> {
    while let Some((ev, line)) = b.next()? {
        match ev {
            Event::StreamStart | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                b.anchors.clear();
                b.keys.clear();
                b.schema_comment = None;
                let (first, first_line) = b.next_node_event()?;
                if matches!(first, Event::DocumentEnd) {
                    docs.push(Document {
                        value: Value::Null,
                        line: first_line,
                        notes: SourceNotes::default(),
                    });
                    continue;
                }
                b.notes = SourceNotes::default();
                let value = b.node(first, 0)?;
                let notes = std::mem::take(&mut b.notes);
                docs.push(Document { value, line, notes });
            }
            _ => {}
        }
    }
    Ok(())
}

struct Builder<'a> {
    yaml11: bool,
    /// With `yaml11`, for files other than kustomization files: a boolean or number map
    /// key reads as its text, as sigs.k8s.io/yaml converts it.
    keys_as_text: bool,
    /// Whether the last event covered no text (an empty scalar, which reads as `~`).
    empty_span: bool,
    annotations_as_text: bool,
    /// Reading a strategic merge patch: a null annotation stays null (it deletes).
    patch: bool,
    /// Mapping keys (and sequence indexes) from the document root to the node being read.
    keys: Vec<String>,
    /// How the document being read was written (manifests and patches).
    notes: SourceNotes,
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    anchors: HashMap<usize, Value>,
    expanded: usize,
    line: usize,
    /// How many flow collections (`[..]`, `{..}`) enclose the node being read.
    flow_depth: usize,
    /// The source text and the byte range of the last event.
    src: &'a str,
    start: usize,
    end: usize,
    /// Reading a scalar that ends up as text: a mapping key, or the value of an object's
    /// own annotation.
    as_text: bool,
    /// A refusal of granit's that go-yaml does not make, if reading stopped at one.
    refusal: Option<Refusal>,
    /// Whether the text holds marked line breaks (see `LS_MARK`).
    marked: bool,
    /// The last event was a plain scalar with only blanks after it on its line: go-yaml
    /// scans the blank lines after such a scalar as its own (see
    /// `check_line_start_tabs`).
    plain_open: bool,
    /// The columns where the open collections start, `None` for flow ones: go-yaml's
    /// indentation is the innermost block one's.
    columns: Vec<Option<usize>>,
    /// The last node event was a block scalar: where its first content line starts.
    block_open: Option<usize>,
    /// A comment holding a JSON object came since the last map value or list item began:
    /// where it starts (see `SourceNotes::schema_comments`). It is on the next value or
    /// item.
    schema_comment: Option<usize>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<Option<(Event<'a>, usize)>, ParseError> {
        match self.parser.next_event() {
            None => Ok(None),
            Some(Ok((ev, span))) => {
                let (previous_start, previous_end) = (self.start, self.end);
                self.line = span.start.line().max(1);
                self.empty_span = span.start.index() == span.end.index();
                self.start = span.start.byte_offset().unwrap_or(0);
                self.end = span.end.byte_offset().unwrap_or(self.start);
                // Anchors and comments come as events of their own, after or between
                // the nodes: the text checks below look from node to node.
                let node = !skip_event(&ev);
                if !node {
                    (self.start, self.end) = (previous_start, previous_end);
                }
                if self.flow_depth == 0 && node {
                    // An unquoted scalar's own lines count too.
                    let unquoted = matches!(
                        &ev,
                        Event::Scalar(
                            _,
                            ScalarStyle::Plain | ScalarStyle::Literal | ScalarStyle::Folded,
                            ..
                        )
                    );
                    let to = if unquoted { self.end } else { self.start };
                    self.check_line_start_tabs(previous_end, to)?;
                    if let Some(first_line) = self.block_open.take() {
                        self.check_block_scalar_end_tabs(first_line)?;
                    }
                }
                match &ev {
                    Event::MappingStart(..) | Event::SequenceStart(..) => {
                        // Where the collection's first entry starts (its span may begin
                        // at the end of the line before).
                        let src = self.src;
                        let from = self.start.min(src.len());
                        let first = src[from..]
                            .find(|c: char| !c.is_whitespace())
                            .map_or(src.len(), |i| from + i);
                        let line_start = src[..first].rfind('\n').map_or(0, |i| i + 1);
                        let flow = src[first..].starts_with(['[', '{']);
                        // A block sequence starts at its dash (the leftmost of a line of
                        // them, as nested ones cannot be told apart here).
                        let mut column = first - line_start;
                        if matches!(ev, Event::SequenceStart(..)) {
                            let lead = &src[line_start..first];
                            if let Some(dash) = lead
                                .find('-')
                                .filter(|_| lead.trim_start().starts_with('-'))
                            {
                                column = dash;
                            }
                        }
                        self.columns.push((!flow).then_some(column));
                    }
                    Event::MappingEnd | Event::SequenceEnd => {
                        self.columns.pop();
                    }
                    _ => {}
                }
                // Only block context needs it (and a long flow line is not scanned again
                // for each of its scalars).
                if node {
                    self.block_open = match &ev {
                        Event::Scalar(_, ScalarStyle::Literal | ScalarStyle::Folded, ..)
                            if self.flow_depth == 0 =>
                        {
                            let at = self.start.min(self.src.len());
                            Some(self.src[..at].rfind('\n').map_or(0, |i| i + 1))
                        }
                        _ => None,
                    };
                    self.plain_open = self.flow_depth == 0
                        && matches!(&ev, Event::Scalar(_, ScalarStyle::Plain, ..))
                        && {
                            let rest = self.src.get(self.end..).unwrap_or_default();
                            let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
                            line.trim_matches([' ', '\t', '\r']).is_empty()
                        };
                }
                if let Event::Scalar(text, style, ..) = &ev {
                    // go-yaml reads U+2028 and U+2029 as line breaks outside quotes.
                    let quoted =
                        matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
                    if !quoted && text.contains(['\u{2028}', '\u{2029}']) {
                        self.refusal = Some(Refusal::UnicodeLineBreaks(self.start, self.end));
                        return Err(self.err(
                            "U+2028 or U+2029 (a line break to kubectl) in an unquoted scalar",
                        ));
                    }
                }
                if let Event::Comment(text, placement) = &ev {
                    let at = span.start.byte_offset().unwrap_or(0);
                    if self.flow_depth == 0 && self.comment_is_schema(text, *placement, at) {
                        self.schema_comment = Some(at);
                    }
                }
                if let Event::Anchor(_, name) = &ev {
                    // go-yaml (v2 and v3) takes only letters, digits, '-' and '_' in
                    // anchor names.
                    if !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        return Err(self.err(format!(
                            "anchor name {name:?} may hold only letters, digits, '-' and '_'"
                        )));
                    }
                }
                Ok(Some((ev, self.line)))
            }
            Some(Err(e)) => {
                let at = e.marker().byte_offset();
                self.refusal = match e.kind() {
                    granit_parser::ErrorKind::UnknownQuotedScalarEscape => {
                        at.map(Refusal::QuotedEscape)
                    }
                    granit_parser::ErrorKind::CommentNotSeparated => {
                        at.map(Refusal::CommentNotSeparated)
                    }
                    granit_parser::ErrorKind::TabInBlockIndentation if self.flow_depth > 0 => {
                        at.map(|at| Refusal::FlowTabs(at, self.flow_depth))
                    }
                    _ => None,
                };
                Err(ParseError {
                    line: e.marker().line().max(1),
                    message: e.info().to_string(),
                })
            }
        }
    }

    fn expect(&mut self) -> Result<(Event<'a>, usize), ParseError> {
        self.next()?.ok_or_else(|| ParseError {
            line: self.line,
            message: "unexpected end of input".into(),
        })
    }

    /// Records a flow collection of a manifest starting here.
    fn note_flow(&mut self, flow: bool) {
        if flow && self.annotations_as_text && !self.as_text && !self.patch {
            self.notes.flow.push(json_pointer(&self.keys));
        }
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            message: message.into(),
        }
    }

    fn node(&mut self, ev: Event<'a>, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("document nested too deeply"));
        }
        if !self.yaml11 {
            self.check_source(&ev)?;
        } else {
            // go-yaml v2, which reads kustomization files, knows the same escapes.
            self.check_quoted_escapes(&ev)?;
        }
        match ev {
            Event::Scalar(mut text, style, anchor, tag) => {
                // go-yaml's scanner ends a plain scalar at a `?` inside a flow collection,
                // and reads the `?` as a key indicator there.
                if style == ScalarStyle::Plain && self.flow_depth > 0 {
                    let written = self.src.get(self.start..self.end).unwrap_or_default();
                    if written.contains('?') {
                        return Err(self.err(format!(
                            "{written:?}: a `?` in an unquoted value inside a flow collection is a key indicator to go-yaml, which cannot read it; quote the value"
                        )));
                    }
                }
                if self.marked && text.contains([LS_MARK, PS_MARK]) {
                    text = unmark(&text, style == ScalarStyle::Literal).into();
                }
                if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted)
                    && text.contains(['\u{2028}', '\u{2029}'])
                {
                    if let Some(folded) = self
                        .src
                        .get(self.start..self.end)
                        .and_then(|raw| fold_separators(raw, &text))
                    {
                        text = folded.into();
                    }
                }
                // go-yaml resolves a scalar with the bare `!` tag as a plain one.
                let tag = tag
                    .map(|t| format!("{}{}", t.handle(), t.suffix()))
                    .filter(|t| t != "!");
                // A block scalar cut off by the end of the text, with no line break after
                // its last line, has no final line break in go-yaml (blanks alone after
                // the last break are no line).
                let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                let src = self.src;
                let cut_off = || {
                    let last_line = &src[src.rfind('\n').map_or(0, |i| i + 1)..];
                    let first_line = &src[src[..self.start.min(src.len())]
                        .rfind('\n')
                        .map_or(0, |i| i + 1)..];
                    let indent = first_line.len() - first_line.trim_start_matches(' ').len();
                    // Blanks no deeper than the block's indentation are no line.
                    !last_line.trim_matches([' ', '\t', '\r']).is_empty()
                        || last_line.len() > indent
                };
                if block
                    && self.end == src.len()
                    && !src.ends_with(['\n', '\r'])
                    && text.ends_with('\n')
                    && cut_off()
                {
                    let mut owned = text.into_owned();
                    owned.pop();
                    text = owned.into();
                }
                if !self.yaml11 {
                    if let Some(t) = tag.as_deref() {
                        check_core_tag(&text, t).map_err(|m| self.err(m))?;
                    }
                    let float_tag = tag.as_deref() == Some("tag:yaml.org,2002:float");
                    if (float_tag || (style == ScalarStyle::Plain && tag.is_none()))
                        && is_inf_or_nan(&text)
                        && !self.as_text
                    {
                        return Err(self.err(format!(
                            "{text} is not a finite number, which kubectl cannot write out; quote it"
                        )));
                    }
                    if style == ScalarStyle::Plain
                        && tag.is_none()
                        && !self.as_text
                        && timestamp_zone_out_of_range(&text)
                    {
                        return Err(self.err(format!(
                            "{text} is a time a day or more off UTC, which kubectl cannot write out; quote it"
                        )));
                    }
                }
                // kubectl writes a block scalar back as a block scalar, and cannot read one
                // whose first line opens with a tab.
                if block && !self.yaml11 && text.starts_with('\t') {
                    return Err(self.err(
                        "a block scalar whose first line starts with a tab, which kubectl cannot write out; use a quoted string",
                    ));
                }
                let collection_tag = matches!(
                    tag.as_deref(),
                    Some("tag:yaml.org,2002:map" | "tag:yaml.org,2002:seq")
                );
                if self.yaml11
                    && style == ScalarStyle::DoubleQuoted
                    && has_surrogate_escape(self.src.get(self.start..self.end).unwrap_or(""))
                {
                    return Err(self.err(
                        "found invalid Unicode character escape code (go-yaml v2 reads no surrogate pairs)",
                    ));
                }
                let mut v = if self.yaml11 && tag.as_deref() == Some(TAG_BINARY) {
                    let decoded = decode_base64(&text)
                        .ok_or_else(|| self.err("!!binary value contains invalid base64 data"))?;
                    Value::String(String::from_utf8_lossy(&decoded).into_owned())
                } else if self.yaml11 {
                    if style == ScalarStyle::Plain && tag.is_none() && is_inf_or_nan(&text) {
                        return Err(self.err(format!(
                            "{text} is not a finite number, which kubectl cannot read in a kustomization; quote it"
                        )));
                    }
                    let v = resolve_scalar(&text, style, tag.as_deref());
                    // go-yaml v2 fails on a number tag its text does not fit.
                    let kind = match tag.as_deref() {
                        Some("tag:yaml.org,2002:int") if !(v.is_i64() || v.is_u64()) => "int",
                        Some("tag:yaml.org,2002:float") if !v.is_number() => "float",
                        _ => "",
                    };
                    if !kind.is_empty() {
                        return Err(self.err(format!("cannot decode !!str `{text}` as a !!{kind}")));
                    }
                    v
                } else if collection_tag && self.empty_span {
                    // An empty `!!map` or `!!seq` comes out of kubectl as an empty string.
                    Value::String(String::new())
                } else if style == ScalarStyle::Folded {
                    let round = folded_round_trip(&text);
                    // Every one, as a replacement writing there keeps the style.
                    if self.annotations_as_text && !self.as_text && !self.patch {
                        self.notes
                            .folded
                            .push((json_pointer(&self.keys), text.to_string()));
                    }
                    resolve_scalar(&round, style, tag.as_deref())
                } else if tag.as_deref() == Some(TAG_BINARY) {
                    let decoded = decode_base64(&text)
                        .ok_or_else(|| self.err("!!binary value contains invalid base64 data"))?;
                    Value::String(String::from_utf8_lossy(&decoded).into_owned())
                } else if self.flow_depth > 0
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                    && text.contains(':')
                    && parse_timestamp(&text).is_some()
                {
                    // kubectl writes a flow collection back in flow style, where a plain
                    // scalar holding `:` is quoted: a time there comes back as its text.
                    Value::String(text.to_string())
                } else {
                    resolve_scalar(&text, style, tag.as_deref())
                };
                // A number or boolean written as it would be written back needs no text;
                // a patch's null deletes, so it has none either.
                let canonical = (v.is_number() || v.is_boolean())
                    && crate::yaml::emit::scalar_text(&v).as_deref() == Some(&*text);
                if self.annotations_as_text
                    && !self.as_text
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                    && !canonical
                    && (v.is_number()
                        || v.is_boolean()
                        || v.is_null()
                        || v.as_str().is_some_and(|s| s != &*text))
                {
                    // An empty value reads as `~` here; its text is nothing.
                    let written = if self.empty_span { "" } else { &text };
                    self.notes
                        .texts
                        .push((json_pointer(&self.keys), written.to_string()));
                }
                let tagged_string =
                    tag.is_some() && v.as_str().is_some_and(|s| !resolve_plain(s).is_string());
                if self.annotations_as_text && !self.as_text && tagged_string {
                    self.notes.tagged.push(json_pointer(&self.keys));
                } else if self.annotations_as_text
                    && !self.as_text
                    && style != ScalarStyle::Plain
                    && v.is_string()
                {
                    self.notes.quoted.push(json_pointer(&self.keys));
                }
                // kubectl reads kustomization files without timestamps: a date stays text,
                // explicitly tagged or not.
                let tagged = |t: &str| tag.as_deref() == Some(t);
                let plain_or =
                    |t: &str| (style == ScalarStyle::Plain && tag.is_none()) || tagged(t);
                if self.yaml11
                    && plain_or("tag:yaml.org,2002:timestamp")
                    && text.starts_with(|c: char| c.is_ascii_digit())
                    && parse_timestamp(&text).is_some()
                {
                    v = Value::String(text.to_string());
                }
                // go-yaml v2's booleans, also under an explicit `!!bool`.
                if self.yaml11
                    && plain_or("tag:yaml.org,2002:bool")
                    && YAML11_BOOLS.contains(&&*text)
                {
                    v = Value::Bool(matches!(
                        &*text,
                        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
                    ));
                }
                if anchor != 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                // An entry left empty inside a flow collection (`{a, b: c}`) reads as an
                // empty string in kubectl, not as null; an alias of it is still null. In a
                // patch it is the null that deletes.
                if !self.yaml11
                    && !self.patch
                    && self.flow_depth > 0
                    && self.empty_span
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                {
                    return Ok(Value::String(String::new()));
                }
                Ok(v)
            }
            Event::Alias(id) => {
                let v = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| self.err("unknown anchor"))?;
                // Counted before it is copied.
                self.expanded += size_of_value(v);
                if self.expanded > MAX_ALIAS_EXPANSION {
                    return Err(self.err("too many alias expansions"));
                }
                Ok(v.clone())
            }
            Event::SequenceStart(style, anchor, _) => {
                let flow = style == StructureStyle::Flow;
                self.note_flow(flow);
                self.flow_depth += usize::from(flow);
                let mut items = Vec::new();
                loop {
                    let (ev, _) = self.expect()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    if skip_event(&ev) {
                        continue;
                    }
                    self.keys.push(items.len().to_string());
                    if self.schema_comment.take().is_some() && is_collection(&ev) {
                        self.notes.schema_comments.push(json_pointer(&self.keys));
                    }
                    let item = self.node(ev, depth + 1);
                    self.keys.pop();
                    items.push(item?);
                }
                self.flow_depth -= usize::from(flow);
                let v = Value::Array(items);
                if anchor != 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                Ok(v)
            }
            Event::MappingStart(style, anchor, _) => {
                let flow = style == StructureStyle::Flow;
                self.note_flow(flow);
                self.flow_depth += usize::from(flow);
                let mut map = Map::new();
                let mut merges: Vec<Value> = Vec::new();
                // kubectl resolves the first `<<` key of a manifest's map, quoted or not:
                // a quoted one is dropped rather than merged; later quoted ones are fields.
                let mut merge_key_seen = false;
                loop {
                    let (ev, key_line) = self.expect()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let key_start = self.start;
                    if skip_event(&ev) {
                        continue;
                    }
                    // A `:` with no key before it (nor a `?`): go-yaml finds no key there.
                    let no_key = matches!(&ev, Event::Scalar(t, ScalarStyle::Plain, _, None) if t.is_empty() || t == "~")
                        && self.empty_span
                        && self
                            .src
                            .get(self.start..)
                            .is_some_and(|rest| rest.starts_with(':'))
                        && !self
                            .src
                            .get(..self.start)
                            .is_some_and(|before| before.trim_end().ends_with('?'));
                    if no_key {
                        return Err(ParseError {
                            line: key_line,
                            message: "did not find expected key".into(),
                        });
                    }
                    let tagged = |want: &str| {
                        matches!(&ev, Event::Scalar(t, _, _, Some(tag))
                            if t == "<<" && format!("{}{}", tag.handle(), tag.suffix()) == want)
                    };
                    let is_merge = matches!(&ev, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<")
                        || tagged(TAG_MERGE);
                    // A quoted or `!!str` one is a string key to the parser, which kubectl
                    // drops from the map all the same.
                    let quoted_merge = !is_merge
                        && !self.yaml11
                        && !merge_key_seen
                        && (matches!(&ev, Event::Scalar(t, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted, _, None) if t == "<<")
                            || tagged(TAG_STR));
                    if is_merge && !merges.is_empty() && !self.yaml11 {
                        return Err(ParseError {
                            line: key_line,
                            message: "duplicate merge key `<<`".into(),
                        });
                    }
                    merge_key_seen |= is_merge || quoted_merge;
                    // kubectl decodes kustomization files with YAML 1.1 rules and then fails
                    // on a boolean map key; say so instead of guessing a string.
                    if self.yaml11 && !self.keys_as_text {
                        if let Event::Scalar(t, ScalarStyle::Plain, _, None) = &ev {
                            if matches!(resolve_scalar(t, ScalarStyle::Plain, None), Value::Bool(_))
                                || YAML11_BOOLS.contains(&&**t)
                            {
                                return Err(ParseError {
                                    line: key_line,
                                    message: format!(
                                        "mapping key {t:?} reads as a boolean in a kustomization file; quote it"
                                    ),
                                });
                            }
                        }
                    }
                    if !self.yaml11 {
                        self.check_key(&ev, depth, key_line)?;
                    }
                    // A manifest's top-level keys keep their source text in kubectl
                    // (`0x1F`, `2001-12-14`); nested ones must be strings.
                    let top_text = match &ev {
                        Event::Scalar(t, ScalarStyle::Plain, _, None)
                            if depth == 0 && self.annotations_as_text && !self.empty_span =>
                        {
                            Some(t.to_string())
                        }
                        _ => None,
                    };
                    // go-yaml's simple keys stay on one line: a flow mapping's key that
                    // spans lines (without `?`) is an error there.
                    if flow && matches!(ev, Event::Scalar(..)) && !self.yaml11 {
                        let span = self.src.get(self.start..self.end).unwrap_or("");
                        let explicit = self.src[..self.start.min(self.src.len())]
                            .trim_end()
                            .ends_with('?');
                        if span.contains('\n') && !explicit {
                            return Err(ParseError {
                                line: key_line,
                                message: "did not find expected ',' or '}' (a key in a flow mapping spans lines)".into(),
                            });
                        }
                    }
                    let alias_key = matches!(ev, Event::Alias(_));
                    let outer = std::mem::replace(&mut self.as_text, true);
                    let key = self.node(ev, depth + 1);
                    self.as_text = outer;
                    // kubectl cannot make a JSON key of an alias to anything but a string.
                    if alias_key && !self.yaml11 && key.as_ref().is_ok_and(|k| !k.is_string()) {
                        return Err(ParseError {
                            line: key_line,
                            message: "a mapping key that is an alias of a non-string".into(),
                        });
                    }
                    // sigs.k8s.io/yaml cannot make a JSON key of a null.
                    if self.keys_as_text && key.as_ref().is_ok_and(Value::is_null) {
                        return Err(ParseError {
                            line: key_line,
                            message: "a null map key, which kubectl cannot convert".into(),
                        });
                    }
                    // go-yaml v2 cannot make a map key of a collection.
                    if self.yaml11 && key.as_ref().is_ok_and(|k| k.is_array() || k.is_object()) {
                        return Err(ParseError {
                            line: key_line,
                            message: "invalid map key: a collection".into(),
                        });
                    }
                    let key = match top_text {
                        Some(text) => {
                            key?;
                            text
                        }
                        None => key_string(&key?),
                    };
                    let texts_before = self.notes.texts.len();
                    let (vev, _) = self.next_node_event()?;
                    // A comment on a line after the key's is the first inner field's or
                    // item's.
                    let key_line_end = (self.src.get(key_start..))
                        .and_then(|rest| rest.find('\n'))
                        .map_or(usize::MAX, |i| key_start + i);
                    let inner = self.schema_comment.is_some_and(|at| at > key_line_end);
                    if !inner && self.schema_comment.take().is_some() && is_collection(&vev) {
                        let mut at = self.keys.clone();
                        at.push(key.clone());
                        self.notes.schema_comments.push(json_pointer(&at));
                    }
                    // An object's own annotations are strings in kubectl's output whatever
                    // the YAML says: a scalar keeps its source text, a collection is "".
                    let annotation =
                        self.annotations_as_text && !is_merge && object_annotations(&self.keys);
                    let source_text = match &vev {
                        Event::Scalar(..) if annotation && self.empty_span => Some(String::new()),
                        // A block scalar's value is read as usual (its chomping, folding
                        // and end of text apply).
                        Event::Scalar(_, ScalarStyle::Literal | ScalarStyle::Folded, ..) => None,
                        Event::Scalar(t, ..) if annotation => Some(t.to_string()),
                        _ => None,
                    };
                    if let (
                        true,
                        Event::Scalar(
                            value,
                            style @ (ScalarStyle::Literal | ScalarStyle::Folded),
                            ..,
                        ),
                    ) = (annotation, &vev)
                    {
                        if let Some(what) = block_scalar_read_otherwise(
                            self.src,
                            (self.start, self.end),
                            (value, *style == ScalarStyle::Folded),
                        ) {
                            return Err(self.err(format!(
                                "annotation {key:?}: a block scalar with {what}, which kubectl reads as go-yaml v2 reads it, is not supported"
                            )));
                        }
                    }
                    let plain = matches!(&vev, Event::Scalar(_, ScalarStyle::Plain, _, None));
                    // A patch's null label or annotation keeps its text: kubectl may read
                    // the patch's labels and annotations back as strings (see `patch`).
                    let null_text = match &vev {
                        Event::Scalar(t, ScalarStyle::Plain, ..)
                            if self.patch && patch_metadata_map(&self.keys) =>
                        {
                            Some(if self.empty_span {
                                String::new()
                            } else {
                                t.to_string()
                            })
                        }
                        _ => None,
                    };
                    self.keys.push(key.clone());
                    let outer = std::mem::replace(&mut self.as_text, annotation);
                    let value = self.node(vev, depth + 1);
                    self.as_text = outer;
                    self.keys.pop();
                    let mut value = value?;
                    if let Some(text) = null_text.filter(|_| value.is_null()) {
                        let mut at = self.keys.clone();
                        at.push(key.clone());
                        self.notes.texts.push((json_pointer(&at), text));
                    }
                    if annotation && !(value.is_null() && self.patch) {
                        if let Some(text) = source_text {
                            // A plain annotation that reads as no string keeps its text
                            // here; a JSON patch later gives kubectl its JSON form.
                            if plain
                                && !self.patch
                                && resolve_plain(&text) != Value::String(text.clone())
                            {
                                let mut at = self.keys.clone();
                                at.push(key.clone());
                                self.notes.texts.push((json_pointer(&at), text.clone()));
                            }
                            value = Value::String(text);
                        } else if !value.is_string() {
                            value = Value::String(String::new());
                        }
                    }
                    // go-yaml v2 (kustomization files) merges where the key stands, over
                    // what is there, the first of a list of maps last.
                    if is_merge && self.yaml11 {
                        let sources = match value {
                            Value::Array(items) => items,
                            other => vec![other],
                        };
                        for src in sources.into_iter().rev() {
                            let Value::Object(src) = src else {
                                return Err(self.err("map merge requires map or sequence of maps"));
                            };
                            map.extend(src);
                        }
                        continue;
                    }
                    if is_merge {
                        merges.push(value);
                        continue;
                    }
                    if quoted_merge {
                        continue;
                    }
                    // Kustomization files are read as go-yaml v2 reads them: a repeated
                    // key replaces the earlier value. kubectl reads a patch as YAML nodes,
                    // where the first of repeated keys is the one found, except in its
                    // labels and annotations, where the kind of patch decides (mostly the
                    // last wins): a patch may not repeat a key there.
                    if map.contains_key(&key) && self.patch {
                        if patch_metadata_map(&self.keys) {
                            return Err(ParseError {
                                line: key_line,
                                message: format!(
                                    "metadata.{} repeats {key:?}, which is not supported in a patch",
                                    self.keys[1]
                                ),
                            });
                        }
                        self.notes.texts.truncate(texts_before);
                        self.notes
                            .repeated
                            .push((json_pointer(&self.keys), key.clone()));
                        continue;
                    }
                    if map.contains_key(&key) && self.yaml11 {
                        self.notes
                            .repeated
                            .push((json_pointer(&self.keys), key.clone()));
                    }
                    // kubectl reads an object's own annotations through go-yaml as it loads
                    // it: a key repeated in one block takes its last value, and repeated
                    // blocks add the keys the earlier ones lack (a null block adds none).
                    if map.contains_key(&key) && self.annotations_as_text && !self.patch {
                        // Kept, as kubectl fails where it reads the object again whole.
                        let repeat = (json_pointer(&self.keys), key.clone());
                        if annotation {
                            self.notes.repeated.push(repeat);
                            map.insert(key, value);
                            continue;
                        }
                        let mut at = self.keys.clone();
                        at.push(key.clone());
                        if object_annotations(&at) {
                            self.notes.repeated.push(repeat);
                            match (map.get_mut(&key), value) {
                                (Some(Value::Object(old)), Value::Object(new)) => {
                                    for (k, v) in new {
                                        old.entry(k).or_insert(v);
                                    }
                                }
                                (Some(_), Value::Null) => {}
                                (Some(Value::Null), value @ Value::Object(_)) => {
                                    map.insert(key, value);
                                }
                                _ => {
                                    return Err(ParseError {
                                        line: key_line,
                                        message: "metadata.annotations repeated with a scalar or list, which kubectl cannot read".into(),
                                    })
                                }
                            }
                            continue;
                        }
                    }
                    if map.contains_key(&key) && !self.yaml11 {
                        return Err(ParseError {
                            line: key_line,
                            message: format!("mapping key {key:?} already defined"),
                        });
                    }
                    map.insert(key, value);
                }
                self.flow_depth -= usize::from(flow);
                for m in merges {
                    let sources = match m {
                        Value::Array(items) => items,
                        other => vec![other],
                    };
                    for src in sources {
                        let Value::Object(src) = src else {
                            return Err(self.err("map merge requires map or sequence of maps"));
                        };
                        for (k, v) in src {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
                let v = Value::Object(map);
                if anchor != 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                Ok(v)
            }
            _ => Err(self.err("unexpected YAML event")),
        }
    }

    /// Refuses a mapping key kubectl cannot turn into a JSON object key: a collection
    /// anywhere, an explicit null, and (in a manifest) a non-string scalar in a map below
    /// the document's top level.
    fn check_key(&self, ev: &Event<'_>, depth: usize, line: usize) -> Result<(), ParseError> {
        let err = |message: String| ParseError { line, message };
        let kind = match ev {
            Event::SequenceStart(..) => {
                return Err(err("a sequence cannot be a mapping key".into()))
            }
            Event::MappingStart(..) => return Err(err("a mapping cannot be a mapping key".into())),
            Event::Scalar(text, style, _, tag) => {
                let tag = tag
                    .as_ref()
                    .map(|t| format!("{}{}", t.handle(), t.suffix()));
                match tag.as_deref() {
                    Some(t) => match t.strip_prefix("tag:yaml.org,2002:") {
                        Some("str") | None => "str",
                        Some("null") => "null",
                        Some("bool") => "bool",
                        Some("int") => "int",
                        Some("float") => "float",
                        Some("timestamp") => "timestamp",
                        Some(_) => plain_kind(text),
                    },
                    None if *style != ScalarStyle::Plain => "str",
                    None if self.empty_span => "str",
                    None if parse_timestamp(text).is_some()
                        && text.starts_with(|c: char| c.is_ascii_digit()) =>
                    {
                        "timestamp"
                    }
                    None => plain_kind(text),
                }
            }
            _ => "str",
        };
        let Event::Scalar(text, ..) = ev else {
            return Ok(());
        };
        if kind == "null" {
            return Err(err(format!(
                "mapping key {text:?} is null, which kubectl cannot use as a key"
            )));
        }
        if kind != "str" && depth > 0 && self.annotations_as_text {
            return Err(err(format!(
                "mapping key {text} reads as {} {kind}, not a string, in a nested map, which kubectl cannot convert; quote it",
                if kind == "int" { "an" } else { "a" }
            )));
        }
        Ok(())
    }

    /// go-yaml's tab rules at line starts in block context, which granit does not make.
    /// Between the last node event (ending at `gap`) and this one: a tab after a block
    /// indicator fails (see `check_indicator_tabs`); on the blank lines right after an open plain
    /// scalar (which go-yaml reads as the scalar's) a tab fails only at a column no deeper
    /// than the innermost block collection's; elsewhere a tab in a line's leading blanks
    /// fails, but in a run of comment lines (from after a full-line comment to the last of
    /// the run). Within an unquoted scalar's own lines (up to `to`), a tab leading a line
    /// fails.
    fn check_line_start_tabs(&self, gap: usize, to: usize) -> Result<(), ParseError> {
        let src = self.src;
        let to = to.min(src.len());
        let gap = gap.min(to);
        if ![gap, to].iter().all(|&at| src.is_char_boundary(at)) {
            return Ok(());
        }
        let gap_line = src[..gap].rfind('\n').map_or(0, |i| i + 1);
        if !src[gap_line..to].contains('\t') {
            return Ok(());
        }
        let fail = |at: usize| {
            Err(ParseError {
                line: src[..at].matches('\n').count() + 1,
                message: "found a tab character that violates indentation".into(),
            })
        };
        // go-yaml's indentation: the innermost block collection's column.
        let indent = self
            .columns
            .iter()
            .rev()
            .flatten()
            .next()
            .copied()
            .unwrap_or(0);
        let in_gap = self.start.clamp(gap, to);
        self.check_indicator_tabs(gap_line, in_gap)?;
        let mut at = gap;
        while at < to {
            let end = src[at..to].find('\n').map_or(to, |i| at + i);
            let line_start = at == 0 || src.as_bytes()[at - 1] == b'\n';
            if line_start {
                // The whole line, past this event's start too.
                let line = &src[at..src[at..].find('\n').map_or(src.len(), |i| at + i)];
                let blanks = line.len() - line.trim_start_matches([' ', '\t']).len();
                let tab = line[..blanks].find('\t');
                if at >= in_gap {
                    // Within the scalar itself.
                    if line.starts_with('\t') {
                        return fail(at);
                    }
                } else if let Some(column) = tab {
                    // Blank lines right after an open plain scalar are the scalar's to
                    // go-yaml, where a tab fails only as indentation; elsewhere a tab
                    // before content fails at any column, but in a run of comments.
                    let scalar_blanks = self.plain_open
                        && src[gap..at]
                            .trim_matches([' ', '\t', '\r', '\n'])
                            .is_empty();
                    let fails = if scalar_blanks {
                        column <= indent
                    } else {
                        // go-yaml v2, which reads kustomization files, reads comments
                        // token by token: no run of them is free.
                        self.yaml11 || !(self.comment_before(at) && self.comment_from(at))
                    };
                    if fails {
                        return fail(at);
                    }
                }
            }
            at = end + 1;
        }
        Ok(())
    }

    /// go-yaml reads a block scalar's lines up to the first one less indented than its
    /// content (which starts at `first_line`): a tab where such a line's indentation
    /// would still be, blank lines and the line that ends it included, fails.
    fn check_block_scalar_end_tabs(&self, first_line: usize) -> Result<(), ParseError> {
        let src = self.src;
        let until = self.start.min(src.len());
        if first_line >= until || !src.is_char_boundary(first_line) || !src.is_char_boundary(until)
        {
            return Ok(());
        }
        let region = &src[first_line..until];
        if !region.contains('\t') {
            return Ok(());
        }
        let mut lines = region.split('\n');
        let Some(first) = lines.next() else {
            return Ok(());
        };
        let indent = first.len() - first.trim_start_matches(' ').len();
        let mut at = first_line + first.len() + 1;
        for line in lines {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            if spaces < indent && line[spaces..].starts_with('\t') {
                return Err(ParseError {
                    line: src[..at].matches('\n').count() + 1,
                    message: "found a tab character where an indentation space is expected".into(),
                });
            }
            if spaces < indent && !line.trim().is_empty() {
                break;
            }
            at += line.len() + 1;
        }
        Ok(())
    }

    /// Whether a full-line comment comes before the line at `at`, past blank and comment
    /// lines only: go-yaml's comment scanning then reads the lines from there up to the
    /// last comment of the run, tabs and all.
    fn comment_before(&self, at: usize) -> bool {
        self.src[..at]
            .lines()
            .rev()
            .map(str::trim)
            .take_while(|l| l.is_empty() || l.starts_with('#'))
            .any(|l| l.starts_with('#'))
    }

    /// Whether the line at `at`, or one after it past blank and comment lines only, is a
    /// full-line comment.
    fn comment_from(&self, at: usize) -> bool {
        self.src[at..]
            .lines()
            .map(str::trim)
            .take_while(|l| l.is_empty() || l.starts_with('#'))
            .any(|l| l.starts_with('#'))
    }

    /// Source-level checks go-yaml's scanner makes that granit does not: a tab in the
    /// indentation of a block scalar's first line, escapes go-yaml does not know in
    /// double-quoted scalars.
    fn check_source(&self, ev: &Event<'_>) -> Result<(), ParseError> {
        let start = self.start.min(self.src.len());
        if !self.src.is_char_boundary(start) {
            return Ok(());
        }
        match ev {
            Event::Scalar(text, ScalarStyle::Literal | ScalarStyle::Folded, ..)
                if text.contains('\t') =>
            {
                self.check_block_scalar_tabs(start)
            }
            _ => self.check_quoted_escapes(ev),
        }
    }

    /// After a block `-`, `?` or a complex key's `:` (each followed by a blank), go-yaml
    /// skips spaces only: a tab there fails before a comment, the line's end, or the node
    /// that starts at `start`. Looks at the lines from `from` (a line start) to `start`'s.
    fn check_indicator_tabs(&self, from: usize, start: usize) -> Result<(), ParseError> {
        let src = self.src;
        let mut at = from;
        while at <= start && at < src.len() {
            let end = src[at..].find('\n').map_or(src.len(), |i| at + i);
            let line = src[at..end].trim_end_matches('\r');
            let content = indicators_end(line);
            if content > 0 {
                let blanks = &line[content..];
                let rest = blanks.trim_start_matches([' ', '\t']);
                let tab = blanks[..blanks.len() - rest.len()].contains('\t');
                let node_here = at + line.len() - rest.len() == start;
                if tab && (rest.is_empty() || rest.starts_with('#') || node_here) {
                    return Err(ParseError {
                        line: src[..at].matches('\n').count() + 1,
                        message: "found a tab after a block indicator ('-', '?' or a complex key's ':'), where go-yaml cannot start a token".into(),
                    });
                }
            }
            at = end + 1;
        }
        Ok(())
    }

    /// A double-quoted scalar's escapes must be ones go-yaml knows.
    fn check_quoted_escapes(&self, ev: &Event<'_>) -> Result<(), ParseError> {
        let Event::Scalar(_, ScalarStyle::DoubleQuoted, ..) = ev else {
            return Ok(());
        };
        let src = self.src;
        let (start, end) = (self.start.min(src.len()), self.end.min(src.len()));
        if end > start && src.is_char_boundary(start) && src.is_char_boundary(end) {
            check_escapes(&src[start..end]).map_err(|(n, m)| ParseError {
                line: self.line + n,
                message: m,
            })
        } else {
            Ok(())
        }
    }

    /// While go-yaml is still finding a block scalar's indentation (the lines up to the
    /// first with content), a tab there is an error.
    fn check_block_scalar_tabs(&self, start: usize) -> Result<(), ParseError> {
        let src = self.src;
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        // Walk up over blank lines to the header line.
        let mut header_end = line_start;
        let mut lines_up = 0usize;
        loop {
            if header_end == 0 {
                return Ok(());
            }
            let prev_start = src[..header_end - 1].rfind('\n').map_or(0, |i| i + 1);
            let prev = &src[prev_start..header_end - 1];
            if prev.trim_matches([' ', '\t', '\r']).is_empty() {
                header_end = prev_start;
                lines_up += 1;
                continue;
            }
            let header = prev.split(" #").next().unwrap_or(prev).trim_end();
            let indicators: String = header
                .chars()
                .rev()
                .take_while(|c| matches!(c, '|' | '>' | '+' | '-' | '0'..='9'))
                .collect();
            if indicators.chars().any(|c| c.is_ascii_digit()) {
                return Ok(());
            }
            break;
        }
        let first_line = self.line.saturating_sub(lines_up);
        for (n, line) in src[header_end..].split('\n').enumerate() {
            let indent = line.trim_start_matches(' ');
            if indent.starts_with('\t') {
                return Err(ParseError {
                    line: first_line + n,
                    message: "found a tab character where an indentation space is expected".into(),
                });
            }
            if !indent.trim().is_empty() {
                break;
            }
        }
        Ok(())
    }

    /// Whether a comment (its text after the `#`, `placement` as the parser saw it, at
    /// byte `at`) may be read by kubectl as the schema of a map or list field: its text,
    /// past any further `#`s, starts with a JSON object holding something. Such a comment
    /// counts on its own line before a field or list item (as the first of its lines), or
    /// after a key or dash whose value starts on a later line; after a value on its line
    /// it is that value's, and the schema of a scalar changes nothing.
    fn comment_is_schema(&self, text: &str, placement: Placement, at: usize) -> bool {
        let src = self.src;
        let at = at.min(src.len());
        let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
        match placement {
            Placement::Last => return false,
            Placement::Right => {
                let before = src[line_start..at].trim_end();
                if !(before.ends_with(':') || before.ends_with('-')) {
                    return false;
                }
            }
            _ => {
                // kubectl reads a run of comment lines as one text, from its first line.
                let above = src[..line_start.saturating_sub(1)]
                    .rsplit('\n')
                    .next()
                    .unwrap_or_default();
                if line_start > 0 && above.trim_start().starts_with('#') {
                    return false;
                }
            }
        }
        let json = text.trim_start_matches('#').trim_start();
        // Go reads a number too large for a float there as infinity.
        json.starts_with('{')
            && match serde_json::Deserializer::from_str(json)
                .into_iter::<Value>()
                .next()
            {
                Some(Ok(Value::Object(m))) => !m.is_empty(),
                Some(Err(e)) => e.to_string().starts_with("number out of range"),
                _ => false,
            }
    }

    fn next_node_event(&mut self) -> Result<(Event<'a>, usize), ParseError> {
        loop {
            let (ev, line) = self.expect()?;
            if !skip_event(&ev) {
                return Ok((ev, line));
            }
        }
    }
}

fn is_collection(ev: &Event<'_>) -> bool {
    matches!(ev, Event::MappingStart(..) | Event::SequenceStart(..))
}

fn skip_event(ev: &Event<'_>) -> bool {
    !matches!(
        ev,
        Event::Scalar(..)
            | Event::Alias(_)
            | Event::SequenceStart(..)
            | Event::SequenceEnd
            | Event::MappingStart(..)
            | Event::MappingEnd
            | Event::StreamEnd
            | Event::DocumentEnd
            | Event::DocumentStart(..)
            | Event::StreamStart
    )
}

/// What an alias of `v` costs against `MAX_ALIAS_EXPANSION`: about a unit for each node,
/// and one for each 64 bytes of text, so long strings aliased often are bounded too.
fn size_of_value(v: &Value) -> usize {
    super::approx_size(v) / 64
}

/// Plain scalars YAML 1.1 reads as booleans (besides `true` and `false`).
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off",
    "OFF",
];

/// The string form of a mapping key.
fn key_string(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => super::emit::scalar_text(other).unwrap_or_else(|| other.to_string()),
    }
}

const TAG_STR: &str = "tag:yaml.org,2002:str";

/// What go-yaml resolves plain text to: `null`, `bool`, `int`, `float` or `str`.
fn plain_kind(text: &str) -> &'static str {
    if is_inf_or_nan(text) {
        return "float";
    }
    match resolve_plain(text) {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        _ => "str",
    }
}

/// Whether a plain scalar reads as an infinite or not-a-number float.
pub(crate) fn is_inf_or_nan(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    matches!(t, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN")
}

/// What in a block scalar (its content at `start..end` of `src`, the indicator on a line
/// before) go-yaml v2, which reads an object's annotations for kubectl, reads other than
/// this reader does: keep chomping (`+`) with empty lines at the end, which count
/// otherwise, and, folded, a line indented deeper than the first or led by a tab (v2 adds no empty
/// line before it).
fn block_scalar_read_otherwise(
    src: &str,
    (start, end): (usize, usize),
    (value, folded): (&str, bool),
) -> Option<&'static str> {
    let before = src.get(..start)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    // The header: the last non-blank line before the content, its comment left out.
    let header = before.lines().rev().find(|l| !l.trim().is_empty())?;
    let header = header.split(" #").next().unwrap_or(header);
    let indicators: String = header[header.rfind(['|', '>'])? + 1..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let trailing_empty_lines = value.trim_end_matches('\n').len() + 1 < value.len();
    if indicators.contains('+') && (trailing_empty_lines || value.trim_matches('\n').is_empty()) {
        return Some("keep chomping (`+`) and empty lines at its end");
    }
    if !folded {
        return None;
    }
    let content = src.get(line_start..end)?;
    let mut first_indent = None;
    for line in content.split('\n').filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let first = *first_indent.get_or_insert(indent);
        if indent > first {
            return Some("a line indented deeper than the first in a folded scalar");
        }
        if line[indent..].starts_with('\t') {
            return Some("a line led by a tab in a folded scalar");
        }
    }
    None
}

/// Whether `keys` lead to a patch's own labels or annotations.
fn patch_metadata_map(keys: &[String]) -> bool {
    matches!(keys, [m, f] if m == "metadata" && (f == "labels" || f == "annotations"))
}

/// Whether `keys` lead to an object's own annotations: `metadata/annotations` of a
/// document or of an item of a List (Lists nest).
fn object_annotations(keys: &[String]) -> bool {
    let Some(items) = keys.strip_suffix(&["metadata".to_string(), "annotations".to_string()])
    else {
        return false;
    };
    items.len() % 2 == 0
        && items
            .chunks(2)
            .all(|p| p[0] == "items" && p[1].parse::<usize>().is_ok())
}

/// An explicit `!!bool`, `!!int`, `!!float`, `!!null` or `!!timestamp` tag must match what
/// the text resolves to, as go-yaml insists.
fn check_core_tag(text: &str, tag: &str) -> Result<(), String> {
    let Some(want) = tag.strip_prefix("tag:yaml.org,2002:") else {
        return Ok(());
    };
    let kind = plain_kind(text);
    let ok = match want {
        "bool" | "int" | "null" => kind == want,
        "float" => kind == "float" || kind == "int",
        "timestamp" => parse_timestamp(text).is_some(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("cannot decode !!{kind} `{text}` as a !!{want}"))
    }
}

/// Checks the escapes of a double-quoted scalar's source against the set go-yaml knows
/// (no `\/`) and refuses code points it cannot hold (surrogates, beyond U+10FFFF).
/// Errors carry the number of lines into the scalar.
fn check_escapes(raw: &str) -> Result<(), (usize, String)> {
    let mut chars = raw.chars().peekable();
    let mut line = 0usize;
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
            continue;
        }
        if c != '\\' {
            continue;
        }
        let Some(e) = chars.next() else {
            break;
        };
        let digits = match e {
            '0' | 'a' | 'b' | 't' | '\t' | 'n' | 'v' | 'f' | 'r' | 'e' | ' ' | '"' | '\''
            | '\\' | 'N' | '_' | 'L' | 'P' => 0,
            '\n' | '\r' => {
                line += usize::from(e == '\n');
                0
            }
            'x' => 2,
            'u' => 4,
            'U' => 8,
            other => {
                return Err((
                    line,
                    format!("found unknown escape character `\\{other}` in a double-quoted scalar"),
                ));
            }
        };
        if digits > 0 {
            let hex: String = (0..digits).filter_map(|_| chars.next()).collect();
            if let Ok(code) = u32::from_str_radix(&hex, 16) {
                if (0xD800..=0xDFFF).contains(&code) || code > 0x10FFFF {
                    return Err((
                        line,
                        format!("found invalid Unicode character escape code \\{e}{hex}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// kubectl (kyaml) cuts a manifest file into documents at each `---` line before parsing
/// them one by one. A piece that starts (past blank and comment lines) with a `...` end
/// marker or a `%` directive is an error there.
fn check_document_chunks(text: &str) -> Result<Vec<usize>, ParseError> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 1usize;
    let mut starts = vec![0usize];
    let mut separators = Vec::new();
    while i < lines.len() {
        // A line opening with `---` (not the first or the last) cuts the text; only a
        // comment may follow on it. The line after a cut cannot cut: its line break went
        // with the cut.
        if let Some(rest) = lines[i].strip_prefix("---").filter(|_| i + 1 < lines.len()) {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(ParseError {
                    line: i + 1,
                    message: format!("invalid document separator: {}", lines[i].trim()),
                });
            }
            separators.push(i + 1);
            starts.push(i + 1);
            i += 2;
            continue;
        }
        i += 1;
    }
    for &s in &starts {
        let Some((n, first)) = lines[s..].iter().enumerate().find(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        }) else {
            continue;
        };
        let line = s + n + 1;
        let rest = first.strip_prefix("...");
        if rest.is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r'])) {
            return Err(ParseError {
                line,
                message: "did not find expected node content: a document end marker `...` where a document should begin".into(),
            });
        }
        if first.starts_with('%') {
            return Err(ParseError {
                line,
                message: "did not find expected <document start>: kubectl reads a directive as a document of its own".into(),
            });
        }
    }
    Ok(separators)
}
const TAG_BINARY: &str = "tag:yaml.org,2002:binary";
const TAG_MERGE: &str = "tag:yaml.org,2002:merge";

/// Standard base64 with padding; line breaks are ignored. `None` when malformed.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\n' | b'\r'))
        .collect();
    if digits.len() % 4 != 0 {
        return None;
    }
    let value = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => u32::from(b - b'A'),
            b'a'..=b'z' => u32::from(b - b'a') + 26,
            b'0'..=b'9' => u32::from(b - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(digits.len() / 4 * 3);
    let chunks = digits.len() / 4;
    for (n, chunk) in digits.chunks(4).enumerate() {
        let pad = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && n + 1 != chunks) {
            return None;
        }
        let mut acc = 0u32;
        for &b in &chunk[..4 - pad] {
            acc = (acc << 6) | value(b)?;
        }
        acc <<= 6 * pad as u32;
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        // Bits left over beside the padding must be zero, as Go's strict decoder wants.
        if (pad == 1 && bytes[2] != 0) || (pad == 2 && bytes[1] != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// kubectl reads a folded (`>`) scalar, writes it back out as a folded block and reads that
/// again. The writer puts an extra line break after every line that does not start with a
/// blank (unless the value's first character after leading line breaks is a blank), which
/// reading back folds away between ordinary lines but keeps before a more-indented line and
/// at the end of a `>+` block. Values the writer would not put in block style (a space
/// before a line break or at the end, control characters) come back unchanged.
pub(crate) fn folded_round_trip(value: &str) -> String {
    let is_blank = |c: char| c == ' ' || c == '\t';
    let block_allowed = !value.ends_with(' ')
        && !value.contains(" \n")
        && !value.chars().any(|c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(
                    c,
                    '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'
                )
                // go-yaml writes characters beyond the Basic Multilingual Plane quoted.
                || u32::from(c) > 0xFFFF
        });
    if !block_allowed {
        return value.to_string();
    }
    let first_blank = value
        .trim_start_matches('\n')
        .chars()
        .next()
        .is_none_or(is_blank);
    // The written lines, with the extra empty ones.
    let parts: Vec<&str> = value.split('\n').collect();
    let mut lines: Vec<&str> = Vec::with_capacity(parts.len() * 2);
    for (i, part) in parts.iter().enumerate() {
        lines.push(part);
        let ends_with_break = i + 1 < parts.len();
        if ends_with_break && !first_blank && !part.is_empty() && !part.starts_with(is_blank) {
            lines.push("");
        }
    }
    // Chomping the writer picks: strip without a final break, keep with two or more.
    let keep = value.ends_with("\n\n") || value == "\n";
    let strip = !value.ends_with('\n');
    let Some(last) = lines.iter().rposition(|l| !l.is_empty()) else {
        return value.to_string();
    };
    // Read the written block back as a folded scalar.
    let mut out = String::with_capacity(value.len() + 8);
    let mut prev: Option<&str> = None;
    let mut empties = 0usize;
    for line in &lines[..=last] {
        if line.is_empty() {
            empties += 1;
            continue;
        }
        match prev {
            None => out.extend(std::iter::repeat_n('\n', empties)),
            Some(p) => {
                if empties == 0 && !p.starts_with(is_blank) && !line.starts_with(is_blank) {
                    out.push(' ');
                } else if !p.starts_with(is_blank) && !line.starts_with(is_blank) {
                    out.extend(std::iter::repeat_n('\n', empties));
                } else {
                    out.extend(std::iter::repeat_n('\n', empties + 1));
                }
            }
        }
        out.push_str(line);
        prev = Some(line);
        empties = 0;
    }
    let breaks = lines.len() - 1 - last;
    if keep {
        out.extend(std::iter::repeat_n('\n', breaks));
    } else if !strip && breaks > 0 {
        out.push('\n');
    }
    out
}

/// Resolves a scalar as go-yaml v3 does, with kyaml's JSON conversion applied.
pub fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some(TAG_STR) => return Value::String(text.to_string()),
        Some(t) if t.starts_with("tag:yaml.org,2002:") => {
            // Explicit core tags resolve the text as if plain.
            return resolve_plain(text);
        }
        Some(_) => return Value::String(text.to_string()),
        None => {}
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    resolve_plain(text)
}

/// What plain (unquoted) text means: a number, boolean, null or string.
/// Whether a double-quoted scalar's source holds a `\uD800`..`\uDFFF` escape (half of a
/// UTF-16 surrogate pair), which go-yaml v2 refuses.
fn has_surrogate_escape(source: &str) -> bool {
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let digits = match bytes.get(i + 1) {
            Some(b'u') => bytes.get(i + 2..i + 6),
            Some(b'U') => bytes.get(i + 2..i + 10),
            _ => None,
        };
        let code = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        if code.is_some_and(|c| (0xd800..=0xdfff).contains(&c)) {
            return true;
        }
        i += 2;
    }
    false
}

/// kubectl cuts a text at its `---` lines before reading the pieces, so a `%TAG`
/// directive (which must stand before a `---`) never reaches the piece that uses its
/// handle: such a use is an undefined handle to kubectl.
fn check_named_tag_handles(text: &str) -> Result<(), ParseError> {
    if !text.contains("%TAG") {
        return Ok(());
    }
    let mut handles: Vec<&str> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("%TAG") {
            if let Some(h) = rest.split_whitespace().next().filter(|h| h.len() > 2) {
                handles.push(h);
            }
            continue;
        }
        let line = line.split(" #").next().unwrap_or(line);
        // A tag opens a token: at the line's start or after a blank or a flow indicator.
        let used = |h: &str| {
            line.match_indices(h)
                .any(|(at, _)| at == 0 || line[..at].ends_with([' ', '\t', '[', '{', ',']))
        };
        if handles.iter().any(|h| used(h)) {
            return Err(ParseError {
                line: i + 1,
                message: "found undefined tag handle (kubectl reads the %TAG directive apart from the document that uses it)".into(),
            });
        }
    }
    Ok(())
}

/// A token go-yaml's scanner sees where granit's (YAML 1.2) may see another, found by
/// `scan_tokens`.
enum Token<'t> {
    /// A tag where a node starts, up to the next blank (line number, tag text).
    Tag(usize, &'t str),
    /// A plain scalar in a flow collection as go-yaml reads it: the line number and its
    /// byte range in the text, the byte after it, and where it stands.
    FlowPlain(usize, std::ops::Range<usize>, Option<u8>, FlowPlace),
    /// An anchor's or alias's name as go-yaml reads it (letters, digits, `-` and `_`): its
    /// byte range in the text, whether it is in a flow collection, and the character after
    /// it.
    Name(std::ops::Range<usize>, bool, Option<char>),
    /// A line or paragraph separator (U+2028, U+2029, U+0085) in a comment, where go-yaml
    /// breaks the line: its byte range.
    LineBreak(std::ops::Range<usize>),
    /// A `:` that go-yaml reads as a value indicator in a flow collection where YAML 1.2
    /// needs a blank after it (`[&a :x]`, `[*a :x]`, `{? :x}`): the byte after it.
    Blank(usize),
}

/// Where a plain scalar in a flow collection stands.
#[derive(Clone, Copy, Default)]
struct FlowPlace {
    /// The innermost collection is a map.
    in_map: bool,
    /// It starts a map's entry with no `?` or properties before it: a key.
    key: bool,
}

/// Walks the nodes of `text` line by line as go-yaml's scanner starts them, past quoted
/// scalars, comments and block scalars, telling `visit` of each `Token`. A plain scalar
/// holds `!` and brackets as text (`${{ !a, b }}`); it ends at `: `, and in a flow
/// collection at its indicators, but not at a `:` before one (`[echo ready:]`).
fn scan_tokens<'t>(
    text: &'t str,
    visit: &mut dyn FnMut(Token<'t>) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let indent = |line: &str| line.len() - line.trim_start_matches(' ').len();
    // The column of a line's map key, past its list dashes (`- - k:` has it at 4).
    let key_column = |line: &str| {
        let mut rest = line.trim_start_matches(' ');
        while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
            rest = after.trim_start_matches([' ', '\t']);
        }
        line.len() - rest.len()
    };
    // Where a flow collection opened at a line's start (past its indentation) is open: it
    // may be more of a plain value from the lines before, so nothing in it is rewritten.
    let mut unsure: Option<usize> = None;
    // The indentation of the line that opened the block scalar being skipped.
    let mut block: Option<usize> = None;
    // How many flow collections are open, and whether each is a map.
    let mut depth = 0usize;
    let mut maps: Vec<bool> = Vec::new();
    // A quoted scalar goes on over lines.
    let mut quote: Option<char> = None;
    // The column of the map key (or list dash) whose plain value goes on over the next
    // lines: those deeper than it are that value's text.
    let mut open_plain: Option<usize> = None;
    // A plain scalar in a flow collection reached the end of the last line: the text
    // starting the next one is more of it.
    let mut flow_continues = false;
    // Such a scalar as read so far: its first line, its byte range and where it stands.
    let mut carried: Option<(usize, std::ops::Range<usize>, FlowPlace)> = None;
    // The key column of a line that ends at its key's `:`: its value may start on the
    // next line, and a plain one goes on over the lines after that.
    let mut value_below: Option<usize> = None;
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if let Some(opened) = block {
            if line.trim().is_empty() || indent(line) > opened {
                continue;
            }
            block = None;
        }
        if let Some(opened) = open_plain.filter(|_| quote.is_none()) {
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') || indent(line) > opened {
                continue;
            }
            open_plain = None;
        }
        let content = line.trim_start();
        // Blank lines are more of a plain scalar in a flow collection.
        if flow_continues && content.is_empty() {
            continue;
        }
        if !content.is_empty() && !content.starts_with('#') {
            // A plain value starting on the line after its key: no indicator starts it,
            // and it holds no `: ` (which would make it a map).
            let plain_value = !content.starts_with([
                '-', '?', ':', '[', '{', '"', '\'', '|', '>', '&', '*', '!', '%', '@', '`',
            ]) && !content.contains(": ")
                && !content.trim_end().ends_with(':');
            if let Some(key) = value_below
                .take()
                .filter(|&k| quote.is_none() && indent(line) > k)
            {
                if plain_value {
                    open_plain = Some(key);
                    continue;
                }
            }
        }
        // The last character outside a quoted scalar that was not a blank.
        let mut last: Option<char> = None;
        // Where the plain scalar being read started.
        let mut plain: Option<usize> = None;
        // Where the last anchor or alias name ended.
        let mut name_end: Option<usize> = None;
        // Where the plain scalar being read stands.
        let mut place = FlowPlace::default();
        // Where a node may start: a tag or a plain scalar.
        let node_start = |last: Option<char>| {
            matches!(last, None | Some('[' | '{' | ',' | ':' | '-' | '?' | '!'))
        };
        // The plain scalar from `from` to `to` on this line, where in a flow collection
        // (and not the rest of one from the line before).
        let continued = std::mem::take(&mut flow_continues).then(|| indent(line));
        // A line that does not go on with the plain scalar carried to it ends that.
        if let Some((first, range, place)) = carried.take() {
            if continued.is_some() && !content.starts_with([',', '[', ']', '{', '}', '#']) {
                carried = Some((first, range, place));
            } else {
                visit(Token::FlowPlain(first, range, None, place))?;
            }
        }
        // A plain scalar that reaches the end of its line in a flow collection is carried
        // to the next, and told of where it ends.
        let mut flow_plain = |from: usize, to: usize, depth: usize, sure: bool, place| {
            let token = line[from..to].trim_end_matches([' ', '\t']);
            let end = line_start + from + token.len();
            let next = line.as_bytes().get(to).copied();
            let (first, start, place) = match carried.take() {
                Some((first, range, place)) if continued == Some(from) => {
                    (first, range.start, place)
                }
                _ if depth > 0 && sure && !token.is_empty() && continued != Some(from) => {
                    (i + 1, line_start + from, place)
                }
                _ => return None,
            };
            if to == line.len() {
                carried = Some((first, start..end, place));
                return None;
            }
            Some(Token::FlowPlain(first, start..end, next, place))
        };
        let mut chars = line.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            let blank_before = at == 0 || line[..at].ends_with([' ', '\t']);
            let rest = &line[at + c.len_utf8()..];
            let blank_after = rest.is_empty() || rest.starts_with([' ', '\t']);
            match (quote, c) {
                (Some('"'), '\\') => {
                    chars.next();
                    continue;
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => continue,
                // go-yaml takes a `#` right after a closing quote or bracket for a comment.
                // And one right after a flow collection's `[`, `{` or `,`.
                (None, '#')
                    if blank_before
                        || matches!(last, Some(']' | '}' | '"' | '\''))
                        || (depth > 0 && matches!(last, Some('[' | '{' | ','))) =>
                {
                    // go-yaml ends a comment at a line or paragraph separator.
                    for (i, c) in line[at..].char_indices() {
                        if matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') {
                            let from = line_start + at + i;
                            visit(Token::LineBreak(from..from + c.len_utf8()))?;
                        }
                    }
                    break;
                }
                (None, c) if plain.is_some() => {
                    let ends = (c == ':' && blank_after)
                        || (depth > 0 && matches!(c, ',' | '[' | ']' | '{' | '}'));
                    if !ends {
                        continue;
                    }
                    if let Some(token) = plain
                        .take()
                        .and_then(|from| flow_plain(from, at, depth, unsure.is_none(), place))
                    {
                        visit(token)?;
                    }
                }
                (None, '"' | '\'') if !matches!(last, Some(c) if c.is_alphanumeric()) => {
                    quote = Some(c)
                }
                // A tag can stand only where a node starts.
                (None, '!')
                    if matches!(last, None | Some('[' | '{' | ',' | ':' | '-' | '?'))
                        && (blank_before || matches!(last, Some('[' | '{' | ','))) =>
                {
                    let len = line[at..]
                        .find(char::is_whitespace)
                        .unwrap_or(line.len() - at);
                    visit(Token::Tag(i + 1, &line[at..at + len]))?;
                    while chars.peek().is_some_and(|(_, c)| !c.is_whitespace()) {
                        chars.next();
                    }
                    last = Some('!');
                    continue;
                }
                _ => {}
            }
            match c {
                '[' | '{' => {
                    if depth == 0 && last.is_none() {
                        unsure = Some(depth);
                    }
                    depth += 1;
                    maps.push(c == '{');
                }
                ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    maps.pop();
                    if unsure == Some(depth) {
                        unsure = None;
                    }
                }
                ',' => {}
                // An empty explicit key ends a flow sequence's entry, which go-yaml cannot
                // read (`[? ]`).
                '?' if blank_after
                    && unsure.is_none()
                    && maps.last() == Some(&false)
                    && rest.trim_start().starts_with([',', ']']) =>
                {
                    return Err(ParseError {
                        line: i + 1,
                        message:
                            "did not find expected ',' or ']' (an empty `?` key in a flow sequence)"
                                .into(),
                    });
                }
                '-' | '?' | ':' if blank_after => {}
                // Right after a name in a flow collection, a value indicator.
                ':' if depth > 0 && name_end == Some(at) => {}
                // After an anchor, an alias, a tag or a map's `?`, a value indicator
                // whatever follows: an alias is then the key, and otherwise the key is
                // empty (`[&a :x]` holds `{"": x}`).
                ':' if depth > 0
                    && plain.is_none()
                    && unsure.is_none()
                    && (name_end.is_some_and(|e| e <= at && line[e..at].trim().is_empty())
                        || last == Some('!')
                        || (last == Some('?') && maps.last() == Some(&true))) =>
                {
                    visit(Token::Blank(line_start + at + 1))?;
                }
                // An anchor leaves the node to come; an alias is one.
                '&' | '*' if node_start(last) => {
                    let len = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                        .unwrap_or(rest.len());
                    let name = line_start + at + 1;
                    let after = rest[len..].chars().next();
                    // At a line's start it may be more of a plain value, but as a key.
                    let key = last.is_none() && rest[len..].starts_with(": ");
                    if unsure.is_none() && (last.is_some() || key || after == Some(':')) {
                        visit(Token::Name(name..name + len, depth > 0, after))?;
                    }
                    for _ in 0..len {
                        chars.next();
                    }
                    name_end = Some(at + 1 + len);
                    if c == '&' {
                        continue;
                    }
                }
                c if !c.is_whitespace() && quote.is_none() && node_start(last) => {
                    let in_map = maps.last() == Some(&true);
                    let anchored = name_end.is_some_and(|e| line[e..at].trim().is_empty());
                    place = FlowPlace {
                        in_map,
                        key: in_map && !anchored && matches!(last, Some('{' | ',')),
                    };
                    plain = Some(at);
                }
                _ => {}
            }
            if !c.is_whitespace() {
                last = Some(c);
            }
        }
        if let Some(from) = plain {
            let to = line.find(" #").filter(|&e| e >= from).unwrap_or(line.len());
            if let Some(token) = flow_plain(from, to, depth, unsure.is_none(), place) {
                visit(token)?;
            }
            flow_continues = depth > 0 && to == line.len();
            // A plain value in a block goes on over the lines deeper than its map's keys
            // (its list's dashes); a tag or an anchor may come before it.
            let mut before = line[..from].trim_end();
            while let Some((head, last)) = before.rsplit_once([' ', '\t']) {
                if !last.starts_with(['!', '&']) {
                    break;
                }
                before = head.trim_end();
            }
            if depth == 0 && before.ends_with([':', '-']) {
                open_plain = Some(match before.ends_with(':') {
                    true => key_column(line),
                    false => before.len() - 1,
                });
            }
        }
        // A line ending in a block scalar indicator opens a block, deeper than its key.
        if line.trim_start().starts_with('#') {
            continue;
        }
        let end = line.split(" #").next().unwrap_or(line).trim_end();
        if depth == 0 && quote.is_none() && plain.is_none() && end.ends_with(':') {
            value_below = Some(key_column(line));
        }
        let indicator = end.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
        if quote.is_none()
            && (indicator.ends_with(" |")
                || indicator.ends_with(" >")
                || indicator == "|"
                || indicator == ">"
                || indicator.ends_with(":|")
                || indicator.ends_with(":>"))
        {
            block = Some(key_column(line));
        }
    }
    Ok(())
}

/// go-yaml reads `,`, `[`, `]`, `{` and `}` as part of a tag (`[!!str, a]` tags `a` with
/// `!!str,`); this reader ends a tag there. Such a tag is refused rather than read
/// differently.
fn check_tag_end(line: usize, token: &str) -> Result<(), ParseError> {
    // A verbatim tag (`!<tag:yaml.org,2002:str>`) holds what it likes.
    let after = match token.strip_prefix("!<") {
        Some(rest) => rest.split_once('>').map_or("", |(_, after)| after),
        None => token,
    };
    if after.contains([',', '[', ']', '{', '}']) {
        return Err(ParseError {
            line,
            message: format!(
                "tag {token:?}: kubectl reads ',', '[', ']', '{{' and '}}' as part of a tag; put a space after the tag"
            ),
        });
    }
    Ok(())
}

/// go-yaml's reading of plain scalars in flow collections, where YAML 1.2 reads some
/// otherwise: a `:` right before a flow indicator is text (`[echo ready:]` holds
/// `echo ready:`), and so is a lone `-` (`[apply, -f, -]`), so such scalars are quoted
/// here; a `?` starting one is a key indicator (`[?a]` holds the map `{a: ""}`), given
/// its blank here; and a scalar cannot start with a `:`, which fails as in kubectl. An
/// anchor or alias name ends as go-yaml ends it, and a tag running into a flow indicator
/// fails (see `check_tag_end`). `None` where nothing needs rewriting.
fn rewrite_flow_scalars(text: &str) -> Result<Option<String>, ParseError> {
    let flows = text.contains(['[', '{']) && text.contains([':', '-', '?']);
    let separators = text.contains(['\u{85}', '\u{2028}', '\u{2029}']);
    if !flows && !separators && !text.contains(['&', '*', '!']) {
        return Ok(None);
    }
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    scan_tokens(text, &mut |token| {
        let (line, range, next, place) = match token {
            Token::FlowPlain(line, range, next, place) => (line, range, next, place),
            // go-yaml ends an anchor's or alias's name at the first character other than
            // a letter, digit, `-` or `_` that may follow it (`&a:` anchors an empty
            // key); YAML 1.2 reads on.
            Token::Name(range, flow, after) => {
                let ends = matches!(after, Some(':' | '?' | ',' | ']' | '}' | '%' | '@' | '`'));
                if !range.is_empty() && ends {
                    let at = range.end;
                    // In a flow collection that `:` is a value indicator whatever follows.
                    edits.push(match (flow, after) {
                        (true, Some(':')) => (at..at + 1, " : ".to_string()),
                        _ => (at..at, " ".to_string()),
                    });
                }
                return Ok(());
            }
            Token::Tag(line, tag) => return check_tag_end(line, tag),
            Token::LineBreak(range) => {
                edits.push((range, "\n".to_string()));
                return Ok(());
            }
            Token::Blank(at) => {
                edits.push((at..at, " ".to_string()));
                return Ok(());
            }
        };
        let scalar = &text[range.clone()];
        // No token starts with a reserved or block indicator: both readers fail.
        if scalar.starts_with(['|', '>', '@', '`', '%']) {
            return Ok(());
        }
        let before_indicator = matches!(next, Some(b',' | b'[' | b']' | b'{' | b'}'));
        // A `?` starting a scalar is a key indicator, and a lone one in a map an empty
        // key (`{?}`); what follows is read as a scalar.
        let (indicator, body) = match (scalar.strip_prefix(':'), scalar.strip_prefix('?')) {
            (Some(_), _) => {
                return Err(ParseError {
                    line,
                    message: "did not find expected node content (go-yaml reads a `:` starting a value in a flow collection as a key indicator; quote the value)".into(),
                })
            }
            (_, Some("")) if place.in_map => ("? ", ""),
            (_, Some(key)) if !key.is_empty() && !key.starts_with('?') => ("? ", key),
            _ => ("", scalar),
        };
        // go-yaml reads a key that goes on over lines, where nothing follows it, as an
        // implicit key; YAML 1.2 needs its `?`.
        let over_lines = place.key && scalar.contains('\n') && matches!(next, Some(b',' | b'}'));
        let indicator = if over_lines { "? " } else { indicator };
        let quote = body == "-" || (before_indicator && body.ends_with(':'));
        if quote {
            edits.push((range, format!("{indicator}'{}'", body.replace('\'', "''"))));
        } else if !indicator.is_empty() {
            edits.push((range, format!("{indicator}{body}")));
        }
        Ok(())
    })?;
    if edits.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(text.len() + 2 * edits.len());
    let mut from = 0;
    for (range, with) in edits {
        out.push_str(&text[from..range.start]);
        out.push_str(&with);
        from = range.end;
    }
    out.push_str(&text[from..]);
    Ok(Some(out))
}

/// Whether a key kubectl writes out plain (a generated or transformed key) reads back as
/// a string: `1`, `true`, `null` or `2001-12-14` do not, and kubectl then fails.
pub(crate) fn plain_key_reads_as_string(key: &str) -> bool {
    resolve_plain(key).is_string() && parse_timestamp(key).is_none() && !is_inf_or_nan(key)
}

/// The message for a key that does not.
pub(crate) fn unreadable_key(key: &str) -> String {
    format!("key {key:?} would be written out unquoted and read back as no string, which kubectl cannot turn into JSON")
}

pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.' {
        if first.is_ascii_digit() {
            if let Some(ts) = parse_timestamp(text) {
                return Value::String(ts);
            }
        }
        // go-yaml drops every `_` before reading a number, except from one led by `.`,
        // which Go's float reader takes with `_` only between digits.
        if first == b'.' && !underscores_between_digits(text) {
            return Value::String(text.to_string());
        }
        let plain: String = text.chars().filter(|&c| c != '_').collect();
        if first != b'.' {
            if let Some(n) = parse_go_int(&plain) {
                return Value::Number(n);
            }
        }
        if is_yaml_float(&plain) {
            if let Ok(f) = plain.parse::<f64>() {
                if f.is_finite() {
                    if let Some(n) = Number::from_f64(f) {
                        return Value::Number(n);
                    }
                }
            }
        }
        if first != b'.' {
            for (prefix, radix, neg) in [
                ("0b", 2, false),
                ("-0b", 2, true),
                ("0o", 8, false),
                ("-0o", 8, true),
            ] {
                if let Some(digits) = plain.strip_prefix(prefix) {
                    if let Ok(v) = i64::from_str_radix(digits, radix) {
                        if !digits.starts_with(['+', '-']) {
                            return Value::Number(Number::from(if neg { -v } else { v }));
                        }
                    }
                }
            }
        }
    }
    Value::String(text.to_string())
}

/// Whether every `_` of `text` stands between two digits.
pub(crate) fn underscores_between_digits(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<Number> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
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
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some(Number::from((mag as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else if mag <= i64::MAX as u64 {
        Some(Number::from(mag as i64))
    } else {
        Some(Number::from(mag))
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
pub(crate) fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Recognizes the YAML timestamp forms go-yaml accepts and renders the value as Go's
/// `time.Time` JSON encoding does (RFC 3339 with nanoseconds trimmed).
pub(crate) fn parse_timestamp(s: &str) -> Option<String> {
    timestamp(s).map(|(text, _)| text)
}

/// A plain scalar go-yaml reads as a timestamp, as RFC 3339 text, and its zone offset in
/// minutes. go-yaml tries Go's layouts `2006-1-2T15:4:5.999999999Z07:00` (also with a
/// lower-case `t`), `2006-1-2 15:4:5.999999999` (UTC) and `2006-1-2`; the fraction may
/// follow a `.` or a `,` and keeps nine digits.
fn timestamp(s: &str) -> Option<(String, i32)> {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { b, i: 5 };
    let year: u32 = s[..4].parse().ok()?;
    let month = p.num(1, 2)?;
    p.lit(b'-')?;
    let day = p.num(1, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if p.done() {
        return Some((format!("{year:04}-{month:02}-{day:02}T00:00:00Z"), 0));
    }
    // `T` or `t` before a time with a zone; one or more spaces before a time without.
    let zoned = match p.peek()? {
        b'T' | b't' => {
            p.i += 1;
            true
        }
        b' ' => {
            while p.peek() == Some(b' ') {
                p.i += 1;
            }
            false
        }
        _ => return None,
    };
    let hour = p.num(1, 2)?;
    p.lit(b':')?;
    let min = p.num(1, 2)?;
    p.lit(b':')?;
    let sec = p.num(1, 2)?;
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut frac = String::new();
    if matches!(p.peek(), Some(b'.' | b',')) && b.get(p.i + 1).is_some_and(u8::is_ascii_digit) {
        p.i += 1;
        let start = p.i;
        while matches!(p.peek(), Some(c) if c.is_ascii_digit()) {
            p.i += 1;
        }
        let digits = &s[start..p.i.min(start + 9)];
        frac = digits.trim_end_matches('0').to_string();
    }
    let (zone, offset) = if !zoned {
        ("Z".to_string(), 0)
    } else {
        match p.peek()? {
            b'Z' => {
                p.i += 1;
                ("Z".to_string(), 0)
            }
            sign @ (b'+' | b'-') => {
                p.i += 1;
                let zh = p.num(2, 2)?;
                p.lit(b':')?;
                let zm = p.num(2, 2)?;
                if zh > 24 || zm > 60 {
                    return None;
                }
                let minutes = (zh * 60 + zm) as i32;
                if minutes == 0 {
                    ("Z".to_string(), 0)
                } else {
                    let signed = if sign == b'-' { -minutes } else { minutes };
                    (format!("{}{zh:02}:{zm:02}", sign as char), signed)
                }
            }
            _ => return None,
        }
    };
    if !p.done() {
        return None;
    }
    let frac = if frac.is_empty() {
        frac
    } else {
        format!(".{frac}")
    };
    Some((
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}{frac}{zone}"),
        offset,
    ))
}

/// Whether `s` reads as a timestamp whose zone kubectl cannot write out (a day or more
/// off UTC).
pub(crate) fn timestamp_zone_out_of_range(s: &str) -> bool {
    timestamp(s).is_some_and(|(_, offset)| offset.abs() >= 24 * 60)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
    fn lit(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    fn num(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        while self.i - start < max && matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        parse_documents(text).unwrap().remove(0).value
    }

    #[test]
    fn plain_scalars_resolve_like_kyaml() {
        let v = one("a: yes\nb: 010\nc: 1_000\nd: 0x1F\ne: 0o17\nf: .5\ng: +1\nh: 2001-12-14\ni: '1'\nj: ~\nk: 08\n");
        assert_eq!(
            v,
            json!({"a":"yes","b":8,"c":1000,"d":31,"e":15,"f":0.5,"g":1,
                   "h":"2001-12-14T00:00:00Z","i":"1","j":null,"k":8.0})
        );
    }

    #[test]
    fn multi_documents_and_errors_have_lines() {
        let docs = parse_documents("a: 1\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 3);
        let err = parse_documents("a: 1\nb: [\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        let err = parse_documents("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn folded_scalars_read_as_kubectl_writes_and_rereads_them() {
        assert_eq!(folded_round_trip("a\n b\nc"), "a\n\n b\nc");
        assert_eq!(folded_round_trip("keep\n\n"), "keep\n\n\n");
        assert_eq!(folded_round_trip("a b\n c"), "a b\n\n c");
        assert_eq!(folded_round_trip(" a\nb"), " a\nb");
        assert_eq!(folded_round_trip("a \n b"), "a \n b");
        assert_eq!(one("x: {a, b: c}\n"), json!({"x": {"a": "", "b": "c"}}));
        assert_eq!(one("x: !!binary aGVsbG8=\n"), json!({"x": "hello"}));
    }

    #[test]
    fn go_yaml_refusals_are_errors_with_lines() {
        for (text, line) in [
            ("a:\n-\tb\n", 2),
            ("a: |\n  \tb\n", 2),
            ("a: &x.y 1\n", 1),
            ("a: \"\\/\"\n", 1),
            ("a: 1\n---\n...\n", 3),
            ("%YAML 1.1\n---\na: 1\n", 1),
            ("a:\n  ? [b]\n  : c\n", 2),
            ("a: !!bool yes\n", 1),
            ("a: .inf\n", 1),
        ] {
            let err = parse_documents(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err:?}");
        }
        assert_eq!(one("a: \"it\\'s\"\n"), json!({"a": "it's"}));
        // Kustomization files (go-yaml v2) take the same anchor names.
        assert!(parse_documents_with("a: &x.y 1\n", true).is_err());
        assert!(parse_documents_with("a: &x-y_1 1\n", true).is_ok());
    }

    #[test]
    fn anchors_and_merge_keys_expand() {
        let v = one("x: &a {p: 1}\ny:\n  <<: *a\n  q: 2\n");
        assert_eq!(v, json!({"x":{"p":1},"y":{"q":2,"p":1}}));
    }

    #[test]
    fn json_comments_are_noted_on_the_collection_they_describe() {
        let noted = |text: &str| {
            parse_documents(text).unwrap()[0]
                .notes
                .schema_comments
                .clone()
        };
        // After a key whose value starts below, on the lines before a key, or before an
        // inner map's first key: that field's.
        assert_eq!(noted("a:\n  l: # {\"x\": 1}\n  - 1\n"), ["/a/l"]);
        assert_eq!(noted("a:\n  k: 1\n  # {\"x\": 1}\n  l:\n  - 1\n"), ["/a/l"]);
        assert_eq!(noted("a:\n  # {\"x\": 1}\n  l:\n  - 1\n"), ["/a/l"]);
        assert_eq!(noted("a:\n- # {\"x\": 1}\n  k: 1\n"), ["/a/0"]);
        // On scalars, empty, not JSON, or a later line of a comment: nothing.
        for text in [
            "# {\"x\": 1}\nk: 1\nl: [1]\n",
            "k: 1 # {\"x\": 1}\n",
            "l: # {}\n- 1\n",
            "l: # {{ .Values.l }}\n- 1\n",
            "# plain\n# {\"x\": 1}\nl:\n- 1\n",
            "l: {a: 1} # {\"x\": 1}\n",
        ] {
            assert!(noted(text).is_empty(), "{text}");
        }
    }
}
