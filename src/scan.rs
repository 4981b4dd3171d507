//! The reference scanner: `&str -> Vec<JobRef>`. Pure: no IO, no async, no LSP types.
//!
//! The built-in grammar (see the README) is scanned with a fast path: `memchr::memmem` finds
//! each `job:` and a few byte checks decide the rest, so prose without references costs one
//! SIMD pass. User `referencePatterns` are `regex` crate regexes (linear time) with a named group
//! `name`. In Markdown, references inside fenced code blocks and inline code spans are skipped
//! unless `scan.includeCode` is set, so documentation that shows the syntax is not flagged.

use std::ops::Range;

use memchr::memmem;
use regex::Regex;

use crate::model::{JobRef, RefForm};

/// What kind of text a document is; decides whether Markdown code is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Markdown,
    Plain,
}

impl DocKind {
    /// From an LSP `languageId`.
    pub fn from_language_id(id: &str) -> DocKind {
        match id {
            "markdown" | "mdx" | "quarto" | "rmd" => DocKind::Markdown,
            _ => DocKind::Plain,
        }
    }

    /// From a file name's extension.
    pub fn from_path(path: &std::path::Path) -> DocKind {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase) {
            Some(ext) if matches!(ext.as_str(), "md" | "markdown" | "mdx" | "mkd" | "qmd" | "rmd") => DocKind::Markdown,
            _ => DocKind::Plain,
        }
    }
}

/// A `referencePatterns` entry that could not be used, as data for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub pattern: String,
    pub message: String,
}

/// A configured scanner. Cheap to clone (regexes share their compiled programs).
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    include_code: bool,
    patterns: Vec<Regex>,
}

/// The compiled size a user pattern may reach; past it, the pattern is refused, not run.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

impl Scanner {
    /// Builds a scanner; unusable patterns are left out and reported.
    pub fn new(include_code: bool, patterns: &[String]) -> (Scanner, Vec<PatternError>) {
        let mut errors = Vec::new();
        let mut compiled = Vec::new();
        for p in patterns {
            let error = |message: String| PatternError { pattern: p.clone(), message };
            match regex::RegexBuilder::new(p).size_limit(PATTERN_SIZE_LIMIT).dfa_size_limit(PATTERN_SIZE_LIMIT).build()
            {
                Ok(re) if re.capture_names().any(|n| n == Some("name")) => compiled.push(re),
                Ok(_) => errors.push(error("it has no named group `(?<name>…)`".into())),
                Err(e) => errors.push(error(e.to_string())),
            }
        }
        (Scanner { include_code, patterns: compiled }, errors)
    }

    /// Whether user patterns are configured (then every file must be scanned, not only those
    /// containing `job:`).
    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// All references in `text`, ordered by position, none overlapping.
    pub fn scan(&self, text: &str, kind: DocKind) -> Vec<JobRef> {
        let mut refs = Vec::new();
        scan_builtin(text, &mut refs);
        if !self.patterns.is_empty() {
            self.scan_patterns(text, &mut refs);
        }
        if kind == DocKind::Markdown && !self.include_code && !refs.is_empty() {
            let code = markdown_code_ranges(text);
            if !code.is_empty() {
                refs.retain(|r| !inside(&code, r.range.start));
            }
        }
        refs
    }

    fn scan_patterns(&self, text: &str, refs: &mut Vec<JobRef>) {
        for re in &self.patterns {
            for caps in re.captures_iter(text) {
                let (Some(whole), Some(name)) = (caps.get(0), caps.name("name")) else { continue };
                let trimmed = name.as_str().trim();
                if trimmed.is_empty() || refs.iter().any(|r| overlaps(&r.range, &whole.range())) {
                    continue;
                }
                refs.push(JobRef {
                    name: trimmed.to_string(),
                    range: whole.range(),
                    edit_range: name.range(),
                    form: RefForm::Custom,
                });
            }
        }
        refs.sort_by_key(|r| r.range.start);
    }
}

/// A character allowed in a bare name: Unicode letters and digits, `_ - . /`.
pub fn is_bare_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// A character that may not stand right before `job:` (it would make `myjob:` a reference).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

const PREFIX: &[u8] = b"job:";

fn scan_builtin(text: &str, out: &mut Vec<JobRef>) {
    let bytes = text.as_bytes();
    let mut covered = 0; // a `job:` inside a reference found already is not another one
    for at in memmem::find_iter(bytes, PREFIX) {
        if at < covered || text[..at].chars().next_back().is_some_and(is_word_char) {
            continue;
        }
        let name_start = at + PREFIX.len();
        let found =
            if bytes.get(name_start) == Some(&b'"') { quoted_at(text, name_start) } else { bare_at(text, name_start) };
        if let Some(r) = found {
            covered = r.range.end;
            out.push(JobRef { range: at..r.range.end, ..r });
        }
    }
}

/// `"…"` starting at `open` (the quote): any characters but `"` and line breaks, at least one.
fn quoted_at(text: &str, open: usize) -> Option<JobRef> {
    let rest = &text.as_bytes()[open + 1..];
    let close = memchr::memchr3(b'"', b'\n', b'\r', rest)?;
    if rest[close] != b'"' || close == 0 {
        return None;
    }
    let end = open + 1 + close + 1;
    Some(JobRef {
        name: text[open + 1..end - 1].to_string(),
        range: open..end,
        edit_range: open..end,
        form: RefForm::Quoted,
    })
}

/// A bare name starting at `start`; trailing dots are sentence punctuation, not name.
fn bare_at(text: &str, start: usize) -> Option<JobRef> {
    let rest = &text[start..];
    let mut len = rest.find(|c: char| !is_bare_char(c)).unwrap_or(rest.len());
    len = rest[..len].trim_end_matches('.').len();
    (len > 0).then(|| JobRef {
        name: rest[..len].to_string(),
        range: start..start + len,
        edit_range: start..start + len,
        form: RefForm::Bare,
    })
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Whether `offset` falls in one of the sorted, disjoint `ranges`.
fn inside(ranges: &[Range<usize>], offset: usize) -> bool {
    let i = ranges.partition_point(|r| r.end <= offset);
    ranges.get(i).is_some_and(|r| r.start <= offset)
}

/// Byte ranges of fenced code blocks and inline code spans, sorted and disjoint.
///
/// A practical subset of CommonMark: fences of three or more backticks or tildes indented at
/// most three spaces (an unclosed fence runs to the end), and code spans delimited by equal
/// backtick runs within one paragraph. Indented code blocks are not recognised, since they
/// cannot be told from list continuations without a full parser.
pub fn markdown_code_ranges(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    // No backtick and no tilde: no fence and no code span (one SIMD pass instead of a line pass).
    if memchr::memchr2(b'`', b'~', text.as_bytes()).is_none() {
        return out;
    }
    let mut fence: Option<(u8, usize, usize)> = None; // (char, length, start offset)
    let mut para: Option<Range<usize>> = None;
    let mut pos = 0;
    while pos < text.len() {
        let end = memchr::memchr(b'\n', &text.as_bytes()[pos..]).map_or(text.len(), |i| pos + i + 1);
        let line = &text[pos..end];
        if let Some((ch, len, start)) = fence {
            if fence_run(line).is_some_and(|(c, n, rest)| c == ch && n >= len && rest.trim().is_empty()) {
                out.push(start..end);
                fence = None;
            }
        } else if let Some((ch, len, rest)) = fence_run(line).filter(|(c, _, rest)| *c == b'~' || !rest.contains('`')) {
            let _ = rest;
            if let Some(p) = para.take() {
                code_spans(text, p, &mut out);
            }
            fence = Some((ch, len, pos));
        } else if line.trim().is_empty() {
            if let Some(p) = para.take() {
                code_spans(text, p, &mut out);
            }
        } else {
            para = Some(para.map_or(pos..end, |p| p.start..end));
        }
        pos = end;
    }
    if let Some((_, _, start)) = fence {
        out.push(start..text.len());
    }
    if let Some(p) = para {
        code_spans(text, p, &mut out);
    }
    out.sort_by_key(|r| r.start);
    out
}

/// A fence opener/closer: up to three spaces, then three or more of one fence character.
fn fence_run(line: &str) -> Option<(u8, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let body = &line[indent..];
    let ch = *body.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let n = body.bytes().take_while(|&b| b == ch).count();
    (n >= 3).then(|| (ch, n, &body[n..]))
}

/// Inline code spans in the paragraph `para`: a backtick run closed by a run of the same length.
fn code_spans(text: &str, para: Range<usize>, out: &mut Vec<Range<usize>>) {
    let bytes = &text.as_bytes()[..para.end];
    let mut i = para.start;
    while let Some(off) = memchr::memchr(b'`', &bytes[i..]) {
        let open = i + off;
        let n = bytes[open..].iter().take_while(|&&b| b == b'`').count();
        i = open + n;
        if open > para.start && bytes[open - 1] == b'\\' {
            continue;
        }
        let mut j = i;
        while let Some(off) = memchr::memchr(b'`', &bytes[j..]) {
            let close = j + off;
            let m = bytes[close..].iter().take_while(|&&b| b == b'`').count();
            if m == n {
                out.push(open..close + m);
                i = close + m;
                break;
            }
            j = close + m;
        }
    }
}

/// Where the cursor is inside a reference being typed, for completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionContext<'a> {
    /// Byte offset (in the text before the cursor) where the name part starts, the opening
    /// quote included: completion replaces from here to the cursor.
    pub start: usize,
    pub quoted: bool,
    /// What was typed of the name so far.
    pub typed: &'a str,
}

/// Finds a reference being typed at the end of `before` (the line up to the cursor):
/// `job:` followed by bare-name characters, or by `"` and anything but another quote.
pub fn completion_context(before: &str) -> Option<CompletionContext<'_>> {
    let at = memmem::rfind(before.as_bytes(), PREFIX)?;
    if before[..at].chars().next_back().is_some_and(is_word_char) {
        return None;
    }
    let start = at + PREFIX.len();
    let after = &before[start..];
    match after.strip_prefix('"') {
        Some(rest) if !rest.contains('"') => Some(CompletionContext { start, quoted: true, typed: rest }),
        Some(_) => None,
        None if after.chars().all(is_bare_char) => Some(CompletionContext { start, quoted: false, typed: after }),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check_with(scanner: &Scanner, text: &str, kind: DocKind, expect: Expect) {
        let refs = scanner.scan(text, kind);
        let rendered: Vec<String> = refs
            .iter()
            .map(|r| format!("{:?} {:?} {:?} [{}]", r.form, r.name, r.range, &text[r.range.clone()]))
            .collect();
        expect.assert_eq(&rendered.join("\n"));
    }

    fn check(text: &str, expect: Expect) {
        check_with(&Scanner::default(), text, DocKind::Plain, expect);
    }

    fn check_md(text: &str, expect: Expect) {
        check_with(&Scanner::default(), text, DocKind::Markdown, expect);
    }

    #[test]
    fn bare_and_quoted() {
        check(
            r#"See job:Riverside and job:"Highway Upgrade 2024", job:"Region A/Drainage"."#,
            expect![[r#"
                Bare "Riverside" 4..17 [job:Riverside]
                Quoted "Highway Upgrade 2024" 22..48 [job:"Highway Upgrade 2024"]
                Quoted "Region A/Drainage" 50..73 [job:"Region A/Drainage"]"#]],
        );
    }

    #[test]
    fn trailing_punctuation_is_not_name() {
        check(
            "see job:Pit-Survey_07. Then job:A.B, job:C; (job:D) job:E! job:F? job:G: job:H...",
            expect![[r#"
                Bare "Pit-Survey_07" 4..21 [job:Pit-Survey_07]
                Bare "A.B" 28..35 [job:A.B]
                Bare "C" 37..42 [job:C]
                Bare "D" 45..50 [job:D]
                Bare "E" 52..57 [job:E]
                Bare "F" 59..64 [job:F]
                Bare "G" 66..71 [job:G]
                Bare "H" 73..78 [job:H]"#]],
        );
    }

    #[test]
    fn not_references() {
        check(r#"myjob:X jobs:X job: X Job:X _job:X 9job:X job:"" job:"open"#, expect![[""]]);
        check("job:\"line\nbreak\"", expect![[""]]);
        check("éjob:X", expect![[""]]);
    }

    #[test]
    fn unicode_names_and_boundaries() {
        check(
            "(job:Zürich-Tunnel) —job:Ōtāhuhu 😀job:北京/地铁 job:\"Café Müller\"",
            expect![[r#"
                Bare "Zürich-Tunnel" 1..19 [job:Zürich-Tunnel]
                Bare "Ōtāhuhu" 24..37 [job:Ōtāhuhu]
                Bare "北京/地铁" 42..59 [job:北京/地铁]
                Quoted "Café Müller" 60..79 [job:"Café Müller"]"#]],
        );
    }

    #[test]
    fn nested_prefix_inside_quotes_is_one_reference() {
        check(
            r#"job:"see job:X" job:job:Y"#,
            expect![[r#"
            Quoted "see job:X" 0..15 [job:"see job:X"]
            Bare "job" 16..23 [job:job]"#]],
        );
    }

    #[test]
    fn markdown_code_is_skipped() {
        check_md(
            "Use `job:Name` or ``job:`x` `` here: job:Real\n\n```md\njob:InFence\n```\n~~~~\njob:Tilde\n~~~\nstill\n~~~~\njob:After \\`job:Escaped\\`\n",
            expect![[r#"
                Bare "Real" 37..45 [job:Real]
                Bare "After" 99..108 [job:After]
                Bare "Escaped" 111..122 [job:Escaped]"#]],
        );
        // An unclosed fence runs to the end; a span does not cross a blank line.
        check_md(
            "`job:A\n\njob:B` x\n```\njob:C",
            expect![[r#"
            Bare "A" 1..6 [job:A]
            Bare "B" 8..13 [job:B]"#]],
        );
        // Plain text and includeCode keep everything.
        check("`job:A`", expect![[r#"Bare "A" 1..6 [job:A]"#]]);
        let (inc, _) = Scanner::new(true, &[]);
        check_with(&inc, "```\njob:A\n```", DocKind::Markdown, expect![[r#"Bare "A" 4..9 [job:A]"#]]);
    }

    #[test]
    fn custom_patterns() {
        let (scanner, errors) =
            Scanner::new(false, &[r"\[\[(?<name>[^\]]+)\]\]".into(), "no-group".into(), "(".into()]);
        assert_eq!(errors.len(), 2);
        assert!(errors[0].message.contains("named group"));
        check_with(
            &scanner,
            "[[Riverside]] and job:X [[ Highway Upgrade 2024 ]]",
            DocKind::Plain,
            expect![[r#"
                Custom "Riverside" 0..13 [[[Riverside]]]
                Bare "X" 18..23 [job:X]
                Custom "Highway Upgrade 2024" 24..50 [[[ Highway Upgrade 2024 ]]]"#]],
        );
    }

    #[test]
    fn completion_contexts() {
        let ctx = |s| completion_context(s).map(|c| (c.start, c.quoted, c.typed));
        assert_eq!(ctx("see job:"), Some((8, false, "")));
        assert_eq!(ctx("see job:High"), Some((8, false, "High")));
        assert_eq!(ctx("see job:\"Highway Up"), Some((8, true, "Highway Up")));
        assert_eq!(ctx("job:\"Café Mü"), Some((4, true, "Café Mü")));
        assert_eq!(ctx("job:\"done\" "), None);
        assert_eq!(ctx("job:High way"), None);
        assert_eq!(ctx("myjob:X"), None);
        assert_eq!(ctx("http:"), None);
    }
}
