//! The reference scanner: `&str -> Vec<JobRef>`. Pure: no IO, no async, no LSP types.
//!
//! The built-in grammar (see the README, "Reference syntax") is scanned with a fast path:
//! `memchr::memmem` finds each `job:` and a few byte checks decide the rest, so text without
//! references costs one SIMD pass. A `job:` starts a reference only where it starts a token
//! (not glued to a word, a URL or an address), and a bare name glued to what follows it
//! (`job:rule:sum`, `job:x@host`) is no reference. User `referencePatterns` are `regex`
//! crate regexes (linear time) with a named group `name`.
//!
//! Where references may be depends on the [`DocKind`]: in Markdown only prose
//! ([`markdown::prose_ranges`], from a CommonMark parser) unless `scan.includeCode` is set; in
//! a source file only comments ([`comments::Syntax`]); in plain text anywhere. The structure
//! is computed only for texts that hold a candidate reference.

pub mod comments;
pub mod kind;
pub mod markdown;

use std::ops::Range;

use memchr::memmem;
use regex::Regex;

pub use self::kind::{DOCUMENT_EXTENSIONS, DOCUMENT_LANGUAGE_IDS, DocKind};
use crate::model::{JobRef, RefForm};

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
        if refs.is_empty() {
            return refs;
        }
        match kind {
            DocKind::Markdown if !self.include_code => {
                let starts: Vec<usize> = refs.iter().map(|r| r.range.start).collect();
                let prose = markdown::prose_ranges_near(text, &starts);
                refs.retain(|r| inside(&prose, r.range.start));
            }
            DocKind::Source(syntax) => {
                let last = refs.iter().map(|r| r.range.start).max().unwrap_or(0);
                let comments = syntax.comment_ranges_until(text, last + 1);
                refs.retain(|r| within(&comments, &r.range));
            }
            DocKind::Markdown | DocKind::Plain => {}
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
                // A fix replaces the name, not the spaces the group caught around it.
                let lead = name.as_str().len() - name.as_str().trim_start().len();
                let start = name.start() + lead;
                refs.push(JobRef {
                    name: trimmed.to_string(),
                    range: whole.range(),
                    edit_range: start..start + trimmed.len(),
                    form: RefForm::Custom,
                });
            }
        }
        refs.sort_by_key(|r| r.range.start);
    }
}

pub use crate::model::is_bare_char;

/// Whether a `job:` at `at` starts a token: not glued to a word or to the punctuation that
/// joins words into identifiers, addresses and URLs (`cron-job:`, `a+job:`, `x.job:`,
/// `me@job:`, `/job:`, `rule:job:`), and not inside a bare URL (`https://ci/x?job:deploy`).
fn starts_token(text: &str, at: usize) -> bool {
    let glued = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.' | '@' | '/' | ':');
    if text[..at].chars().next_back().is_some_and(glued) {
        return false;
    }
    !in_bare_url(text, at)
}

/// How far back a word is searched for a URL scheme (longer words are not URLs worth it).
const URL_LOOKBACK: usize = 2048;

/// Whether `at` lies inside a whitespace-delimited word that is a URL (`scheme://…` or
/// `www.…`).
fn in_bare_url(text: &str, at: usize) -> bool {
    let bytes = text.as_bytes();
    let from = at.saturating_sub(URL_LOOKBACK);
    let start = bytes[from..at].iter().rposition(|b| b.is_ascii_whitespace()).map_or(from, |i| from + i + 1);
    let word = &bytes[start..at];
    // Words are short: a plain window search, not a SIMD searcher built for each reference.
    word.windows(3).any(|w| w == b"://") || word.windows(4).any(|w| w.eq_ignore_ascii_case(b"www."))
}

const PREFIX: &[u8] = b"job:";

fn scan_builtin(text: &str, out: &mut Vec<JobRef>) {
    let bytes = text.as_bytes();
    let mut covered = 0; // a `job:` inside a reference found already is not another one
    for at in memmem::find_iter(bytes, PREFIX) {
        if at < covered || !starts_token(text, at) {
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

/// A bare name starting at `start`; trailing dots are sentence punctuation, not name. A name
/// glued to more of an identifier (`job:rule:sum`, `job:x@example.com`) is no reference.
fn bare_at(text: &str, start: usize) -> Option<JobRef> {
    let rest = &text[start..];
    let run = rest.find(|c: char| !is_bare_char(c)).unwrap_or(rest.len());
    let mut after = rest[run..].chars();
    if matches!(after.next(), Some(':' | '@')) && after.next().is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let len = rest[..run].trim_end_matches('.').len();
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

/// Whether `range` lies wholly in one of the sorted, disjoint `ranges`.
fn within(ranges: &[Range<usize>], range: &Range<usize>) -> bool {
    let i = ranges.partition_point(|r| r.end <= range.start);
    ranges.get(i).is_some_and(|r| r.start <= range.start && range.end <= r.end)
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
    if !starts_token(before, at) {
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

/// How much of `after` (the rest of the line after the cursor) still belongs to the name being
/// completed: the rest of a bare name (without trailing sentence dots), or of a quoted name
/// through its closing quote (when the quote closes before another reference starts).
pub fn name_rest(after: &str, quoted: bool) -> usize {
    if quoted {
        return match after.find('"') {
            Some(i) if memmem::find(&after.as_bytes()[..i], PREFIX).is_none() => i + 1,
            _ => 0,
        };
    }
    let run = after.find(|c: char| !is_bare_char(c)).unwrap_or(after.len());
    after[..run].trim_end_matches('.').len()
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
        check(r#"job:"see job:X" job:job:Y"#, expect![[r#"Quoted "see job:X" 0..15 [job:"see job:X"]"#]]);
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

    /// Text that only looks like a reference, one case per line: (kind, text). Each must
    /// yield no reference; the issue's examples and variations of each shape.
    const NOT_REFERENCES: &[(&str, &str)] = &[
        // Glued to a word or to identifier, address and URL punctuation.
        ("plain", "cron-job:weekly"),
        ("plain", "a+job:x@example.com"),
        ("plain", "build.job:deploy"),
        ("plain", "user@job:x"),
        ("plain", "path/job:x"),
        ("plain", "rule:job:x"),
        ("plain", "my_job:x"),
        ("plain", "ci-job:\"Nightly Build\""),
        // Metric and rule names: a bare name glued to `:` and more identifier.
        ("plain", "job:request_latency:p99"),
        ("plain", "sum by (job:rule:sum)"),
        ("plain", "job:x@example.com"),
        ("plain", "job:node_cpu:rate5m{instance=\"a\"}"),
        // Bare URLs, in any kind of text.
        ("plain", "see https://ci.example.com/x?job:deploy for details"),
        ("plain", "https://ci.example.com/#job:deploy"),
        ("plain", "www.example.com/?q=job:x"),
        ("markdown", "see https://ci.example.com/view?job:nightly now"),
        // Markdown: link destinations, autolinks, HTML comments and code, indented code.
        ("markdown", "[build](https://ci.example.com/job:deploy/42)"),
        ("markdown", "[build](<https://ci/x y/job:deploy>)"),
        ("markdown", "[build][ref]\n\n[ref]: https://ci.example.com/job:deploy"),
        ("markdown", "<https://ci.example.com/x/job:nightly/>"),
        ("markdown", "<!-- job:Later -->"),
        ("markdown", "text <!-- job:Later --> text"),
        ("markdown", "<!--\nmulti-line\njob:Later\n-->"),
        ("markdown", "<pre>\njob:InPre\n</pre>"),
        ("markdown", "inline <code>job:InCode</code> element"),
        ("markdown", "<div>\njob:InHtmlBlock\n</div>"),
        ("markdown", "para\n\n    job:Indented\n"),
        ("markdown", "`job:Span` and ``job:`x` ``"),
        ("markdown", "```\njob:Fenced\n```"),
        ("markdown", "~~~~\njob:Tilde\n~~~\n~~~~"),
        ("markdown", "\u{feff}```\njob:FenceAtBom\n```"),
        ("markdown", "---\nowner: job:FrontMatter\n---\n"),
        ("markdown", "![diagram](img/job:x.png)"),
        ("markdown", "[t](https://x \"job:Title\")"),
    ];

    #[test]
    fn text_that_only_looks_like_a_reference() {
        for (kind, text) in NOT_REFERENCES {
            let kind = if *kind == "markdown" { DocKind::Markdown } else { DocKind::Plain };
            let refs = Scanner::default().scan(text, kind);
            assert!(refs.is_empty(), "{kind:?} {text:?}: {refs:?}");
        }
    }

    #[test]
    fn markdown_prose_keeps_its_references() {
        check_md(
            "# job:Heading\n\n- item job:Item\n> quote job:Quoted\n\n| job:Cell |\n|---|\n| x |\n\n\
             [link text job:InLink](https://x) *job:Em* **job:\"Strong One\"** ~~job:Struck~~ [^n]\n\n\
             [^n]: note job:Note\n",
            expect![[r#"
                Bare "Heading" 2..13 [job:Heading]
                Bare "Item" 22..30 [job:Item]
                Bare "Quoted" 39..49 [job:Quoted]
                Bare "Cell" 53..61 [job:Cell]
                Bare "InLink" 88..98 [job:InLink]
                Bare "Em" 112..118 [job:Em]
                Quoted "Strong One" 122..138 [job:"Strong One"]
                Bare "Struck" 143..153 [job:Struck]
                Bare "Note" 173..181 [job:Note]"#]],
        );
    }

    /// A byte order mark hides nothing: the fence on the first line is a fence, so the stale
    /// reference after it is found, and it is where it is.
    #[test]
    fn a_byte_order_mark_is_not_text() {
        check_md("\u{feff}```\njob:InFence\n```\nafter job:Real\n", expect![[r#"Bare "Real" 29..37 [job:Real]"#]]);
        check("\u{feff}job:First", expect![[r#"Bare "First" 3..12 [job:First]"#]]);
    }

    #[test]
    fn source_files_only_in_comments() {
        let source = |ext: &str, text: &str| {
            let kind = DocKind::from_path(std::path::Path::new(&format!("x.{ext}"))).unwrap();
            Scanner::default().scan(text, kind).into_iter().map(|r| r.name).collect::<Vec<_>>()
        };
        assert_eq!(
            source("go", "// see job:Riverside\nm := \"job:InString\" // job:\"Two Words\"\nx := job:code"),
            ["Riverside", "Two Words"]
        );
        assert_eq!(source("yml", "expr: job:request_latency:p99 # owner job:Drainage\nname: job:Plain"), ["Drainage"]);
        assert_eq!(source("py", "s = '# job:NotComment'\n# job:Comment"), ["Comment"]);
        assert_eq!(source("sql", "select 'job:X' -- job:Y"), ["Y"]);
        assert_eq!(source("html", "<p>job:Text</p><!-- job:InComment -->"), ["InComment"]);
        assert_eq!(source("ini", "k = job:V ; job:W"), ["W"]);
        assert_eq!(source("rs", "/* job:A */ let s = \"/* job:B */\";"), ["A"]);
        // A quoted name that runs out of its comment is not a reference.
        assert!(source("c", "/* job:\"a */ b\" */").is_empty());
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
        assert_eq!(ctx("cron-job:we"), None);
        // What of the rest of the line the completion replaces.
        assert_eq!(name_rest("rs here", false), 2);
        assert_eq!(name_rest("rs. Next", false), 2);
        assert_eq!(name_rest(" here", false), 0);
        assert_eq!(name_rest("grade 2024\" more", true), 11);
        assert_eq!(name_rest("x and job:\"Other\"", true), 0);
    }
}
