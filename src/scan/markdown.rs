//! Markdown structure from a CommonMark parser (`pulldown-cmark`): the byte ranges of prose.
//!
//! Prose is the text of paragraphs, headings, list items, block quotes, table cells,
//! footnotes, emphasis and link *text*. Everything else holds no reference: code (fenced,
//! indented, inline), raw HTML blocks, inline HTML tags and comments, the text inside inline
//! `<code>`, `<pre>`, `<kbd>`, `<samp>`, `<script>` and `<style>` elements (up to the end of
//! their block: paragraph, heading, table cell or list item), link destinations and titles,
//! autolinks (`<https://…>`) and front matter.
//!
//! Only documents that contain `job:` (or a user pattern's match) are parsed, and of those only
//! the stretches around the candidates ([`prose_ranges_near`]): a document splits into
//! stretches at points where no CommonMark construct can be open, and the parser reads the
//! stretches that hold a candidate. Where that cannot be decided cheaply, the whole document
//! is parsed. The fuzz target checks that both give the same answer.

use std::ops::Range;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};

/// HTML elements whose text is code, not prose.
const CODE_ELEMENTS: &[&str] = &["code", "pre", "kbd", "samp", "script", "style", "tt"];

/// CommonMark with GitHub's tables, footnotes, strikethrough and task lists. Front matter is
/// found by [`front_matter_len`], not by the parser's metadata blocks, which it also
/// recognises in the middle of a document (after a `---` line).
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Where the Markdown starts: after a leading UTF-8 byte order mark, which is not text (the
/// parser sees what follows it, so a fence on the first line is still a fence), and after
/// front matter.
fn body_start(text: &str) -> usize {
    let bom = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    bom + front_matter_len(&text[bom..])
}

/// The length of front matter at the start of `text` (Jekyll's and Hugo's): a `---` (YAML) or
/// `+++` (TOML) line, then everything up to the same line again (or `...` for YAML), that line
/// included; 0 when there is none.
fn front_matter_len(text: &str) -> usize {
    let b = text.as_bytes();
    let Some(fence) = [&b"---"[..], b"+++"].into_iter().find(|f| b.starts_with(f)) else { return 0 };
    let line_end = |from: usize| memchr::memchr(b'\n', &b[from..]).map_or(b.len(), |i| from + i + 1);
    fn trimmed(line: &[u8]) -> &[u8] {
        let end = line.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(0, |i| i + 1);
        &line[..end]
    }
    let first = line_end(0);
    if trimmed(&b[..first]) != fence || first == b.len() {
        return 0;
    }
    let mut pos = first;
    while pos < b.len() {
        let end = line_end(pos);
        let line = trimmed(&b[pos..end]);
        if line == fence || (fence == b"---" && line == b"...") {
            return end;
        }
        pos = end;
    }
    0
}

/// Byte ranges of the prose in `text`, sorted and disjoint (adjacent runs merged), from one
/// parse of the whole document.
pub fn prose_ranges(text: &str) -> Vec<Range<usize>> {
    let start = body_start(text);
    let mut out = Vec::new();
    parse_prose(&text[start..], start, &mut out);
    out
}

/// The prose ranges that matter for references starting at `candidates` (sorted byte
/// offsets): the same ranges [`prose_ranges`] gives around each candidate, from parsing only
/// the stretches of the document that hold one.
pub fn prose_ranges_near(text: &str, candidates: &[usize]) -> Vec<Range<usize>> {
    let bom = body_start(text);
    let body = &text[bom..];
    let Some(cuts) = stretch_starts(body) else { return prose_ranges(text) };
    let mut out = Vec::new();
    // Stretches to parse, in order; neighbours (or ones a few hundred bytes apart: parsing
    // those costs less than starting the parser again) are parsed as one.
    let mut pending: Option<Range<usize>> = None;
    for &at in candidates {
        let Some(at) = at.checked_sub(bom) else { continue };
        if pending.as_ref().is_some_and(|p| at < p.end) {
            continue;
        }
        let i = cuts.partition_point(|&c| c <= at);
        let stretch = cuts[i - 1]..cuts.get(i).copied().unwrap_or(body.len());
        pending = match pending {
            Some(p) if stretch.start <= p.end + MERGE_GAP => Some(p.start..stretch.end),
            Some(p) => {
                prose_of_stretch(body, p, bom, &mut out);
                Some(stretch)
            }
            None => Some(stretch),
        };
    }
    if let Some(p) = pending {
        prose_of_stretch(body, p, bom, &mut out);
    }
    out
}

/// The prose of one stretch: all of it when nothing in it can make text anything but prose,
/// else what the parser says.
fn prose_of_stretch(body: &str, stretch: Range<usize>, base: usize, out: &mut Vec<Range<usize>>) {
    if all_prose(&body.as_bytes()[stretch.clone()]) {
        let range = base + stretch.start..base + stretch.end;
        match out.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => out.push(range),
        }
    } else {
        parse_prose(&body[stretch.clone()], base + stretch.start, out);
    }
}

/// Whether every `job:` in a stretch is prose without asking the parser: nothing in it can
/// open code (`` ` ``, `~`, a tab, a line that starts indented, or five spaces after a list or
/// quote marker, which indent code inside the item or quote), HTML or an autolink (`<`), a
/// link whose destination is not prose (`[`), or a table (`|`: the parser drops header cells
/// beyond the delimiter row's). Headings, lists, quotes and emphasis are all prose. Most
/// paragraphs of most documents are like this.
fn all_prose(s: &[u8]) -> bool {
    memchr::memchr3(b'`', b'<', b'[', s).is_none()
        && memchr::memchr3(b'~', b'\t', b'|', s).is_none()
        && std::iter::once(0).chain(memchr::memchr_iter(b'\n', s).map(|i| i + 1)).all(|at| !indents_code(&s[at..]))
}

/// Whether a line (the rest of the text from a line start) may hold indented code: it starts
/// with a space, or after block quote and list markers (`>`, `-`, `*`, `+`, `1.`, `1)`) five
/// or more spaces follow one.
fn indents_code(line: &[u8]) -> bool {
    let mut i = 0;
    loop {
        let spaces = line[i..].iter().take_while(|&&c| c == b' ').count();
        if (i == 0 && spaces > 0) || spaces >= 5 {
            return true;
        }
        i += spaces;
        let digits = line[i..].iter().take(10).take_while(|c| c.is_ascii_digit()).count();
        let marker = match line.get(i) {
            Some(b'>') => 1,
            Some(b'-' | b'*' | b'+') => 1,
            Some(b'0'..=b'9') if matches!(line.get(i + digits), Some(b'.' | b')')) => digits + 1,
            _ => return false,
        };
        i += marker;
        // After a list marker, content starts after a space; no space is no marker.
        if line[i - 1] != b'>' && line.get(i) != Some(&b' ') {
            return false;
        }
    }
}

/// Stretches at most this far apart are parsed together (measured on the `scanner` bench:
/// 128 bytes beat 0, 512 and 2,048).
const MERGE_GAP: usize = 128;

/// Where a stretch of `body` may start: offset 0, and each line that follows a blank line,
/// starts in column 0 (not blank), and is not inside a fenced code block. At such a line no
/// CommonMark block is open: a blank line ends paragraphs, tables and HTML blocks of kinds 6
/// and 7, and an unindented line after it ends every list item and block quote (a new item
/// or quote starts afresh), and with them the code blocks inside them. `None` where the answer
/// needs the parser: any line starting (after up to three spaces) with `<` (HTML
/// blocks of kinds 1 to 5 span blank lines), a fence indented by one to three spaces (it may
/// be in a list item or at the top level), and link reference or footnote definitions (`]:`),
/// which act across the document.
fn stretch_starts(body: &str) -> Option<Vec<usize>> {
    let b = body.as_bytes();
    if memchr::memmem::find(b, b"]:").is_some() {
        return None;
    }
    // A lone `\r` ends a line too (CommonMark): such rare texts are parsed whole, so lines here
    // end at `\n` only.
    if memchr::memchr_iter(b'\r', b).any(|i| b.get(i + 1) != Some(&b'\n')) {
        return None;
    }
    // What may follow a closing fence: spaces (and the `\r` of a CRLF). pulldown-cmark takes
    // no tab there, as the specification once said; other whitespace is left to the parser.
    let blank = |s: &[u8]| s.iter().all(|c| matches!(c, b' ' | b'\r'));
    // Fenced code blocks, from the fence lines in order. Only `` ` ``, `~` and `<` can make a
    // line that matters here, and prose has few: one SIMD pass finds them, not a line-by-line
    // walk.
    let mut fences: Vec<Range<usize>> = Vec::new();
    let mut open: Option<(u8, usize, usize)> = None; // (character, run length, start)
    let mut after = 0; // fence characters before this belong to a line already seen
    for at in memchr::memchr3_iter(b'`', b'~', b'<', b) {
        if at < after {
            continue;
        }
        let line_start = memchr::memrchr(b'\n', &b[..at]).map_or(0, |i| i + 1);
        let indent = at - line_start;
        if indent > 3 || !b[line_start..at].iter().all(|&c| c == b' ') {
            continue; // not the first character of its line, or indented code
        }
        let line_end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i);
        after = line_end;
        let c = b[at];
        if c == b'<' {
            return None; // an HTML block, which may span blank lines
        }
        let n = b[at..line_end].iter().take_while(|&&x| x == c).count();
        if n < 3 {
            continue;
        }
        if indent > 0 {
            return None; // in a list item, or at the top level: the parser decides
        }
        let rest = &b[at + n..line_end];
        if !blank(rest) && rest.iter().all(u8::is_ascii_whitespace) {
            return None; // a closing fence or not, by how the parser reads tabs
        }
        match open {
            Some((oc, on, start)) if oc == c && n >= on && blank(rest) => {
                fences.push(start..line_end);
                open = None;
            }
            Some(_) => {}
            // A backtick run followed by another backtick is a code span, not a fence.
            None if c == b'~' || !rest.contains(&b'`') => open = Some((c, n, at)),
            None => {}
        }
    }
    if let Some((_, _, start)) = open {
        fences.push(start..b.len());
    }
    // Stretches start after blank lines (`\n\n`, `\r\n\r\n`; a line of spaces makes no cut,
    // which is safe: fewer, longer stretches), at an unindented line outside every fence.
    let mut blanks: Vec<usize> = memchr::memmem::find_iter(b, b"\n\n").map(|i| i + 2).collect();
    if memchr::memchr(b'\r', b).is_some() {
        blanks.extend(memchr::memmem::find_iter(b, b"\n\r\n").map(|i| i + 3));
        blanks.sort_unstable();
    }
    let mut cuts = vec![0];
    let mut fence = fences.iter().peekable();
    for at in blanks {
        let Some(&first) = b.get(at) else { break };
        if first.is_ascii_whitespace() {
            continue; // indented, or another blank line: the next blank line makes the cut
        }
        while fence.next_if(|f| f.end <= at).is_some() {}
        if fence.peek().is_some_and(|f| f.start < at) {
            continue;
        }
        cuts.push(at);
    }
    Some(cuts)
}

/// Appends the prose ranges of `body` (a whole document or a stretch of one), shifted by
/// `base`, merging adjacent runs.
fn parse_prose(body: &str, base: usize, out: &mut Vec<Range<usize>>) {
    // Depths of the containers whose text is not prose.
    let (mut code, mut autolink, mut html_code) = (0usize, 0usize, 0usize);
    for (event, range) in Parser::new_ext(body, options()).into_offset_iter() {
        // An inline element left open ends with its block, as browsers close it: at the end of
        // a paragraph, heading, table cell or tight list item (whose text is in no paragraph),
        // and where another block starts inside the same container.
        let block = match &event {
            Event::Start(tag) => is_block(tag.to_end()),
            Event::End(end) => is_block(*end),
            _ => false,
        };
        if block {
            html_code = 0;
        }
        match event {
            Event::Start(Tag::CodeBlock(_)) => code += 1,
            Event::End(TagEnd::CodeBlock) => code = code.saturating_sub(1),
            Event::Start(Tag::Link { link_type: LinkType::Autolink | LinkType::Email, .. }) => autolink += 1,
            Event::End(TagEnd::Link) if autolink > 0 => autolink -= 1,
            Event::InlineHtml(tag) => match html_element(&tag) {
                Some((name, false)) if CODE_ELEMENTS.contains(&name.as_str()) => html_code += 1,
                Some((name, true)) if CODE_ELEMENTS.contains(&name.as_str()) => html_code = html_code.saturating_sub(1),
                _ => {}
            },
            Event::Text(_) if code == 0 && autolink == 0 && html_code == 0 => {
                let range = range.start + base..range.end + base;
                match out.last_mut() {
                    Some(last) if last.end == range.start => last.end = range.end,
                    _ => out.push(range),
                }
            }
            _ => {}
        }
    }
}

/// Whether a tag is a block (a paragraph, list, item, table cell and the like), not inline
/// markup (emphasis, links, images).
fn is_block(end: TagEnd) -> bool {
    !matches!(
        end,
        TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Link
            | TagEnd::Image
    )
}

/// The lowercase element name of an inline HTML tag and whether it is a closing tag; `None`
/// for comments, declarations and self-closing tags.
fn html_element(tag: &str) -> Option<(String, bool)> {
    let inner = tag.strip_prefix('<')?;
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    if tag.trim_end().ends_with("/>") {
        return None;
    }
    let name: String = inner.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    (!name.is_empty()).then(|| (name.to_ascii_lowercase(), closing))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prose(text: &str) -> Vec<&str> {
        prose_ranges(text).into_iter().map(|r| &text[r]).collect()
    }

    /// Stretch by stretch gives what the whole document gives, around every candidate.
    fn same_near_candidates(text: &str) {
        let whole = prose_ranges(text);
        let candidates: Vec<usize> = memchr::memmem::find_iter(text.as_bytes(), b"job:").collect();
        let near = prose_ranges_near(text, &candidates);
        for &c in &candidates {
            let a = whole.iter().any(|r| r.contains(&c));
            let b = near.iter().any(|r| r.contains(&c));
            assert_eq!(a, b, "candidate at {c} in {text:?}");
        }
    }

    #[test]
    fn stretches_agree_with_the_whole_document() {
        for text in [
            "p job:A\n\n```\ncode job:B\n\nmore job:C\n```\n\nafter job:D\n",
            "- a\n  ```\n\nb\n\n```\ncode\n\nc job:X\n```\n",
            "para\n\n    code job:X\n\nnext job:Y\n",
            "x <code>job:A\n\ny job:B\n",
            "<!--\n\nc job:X\n-->\n\nd job:Y\n",
            "[t][job:X]\n\nz\n\n[job:X]: https://u\n",
            "---\na: 1\n\nb job:X\n---\n\nc job:Y\n",
            "````\n```\n\nx job:A\n````\n\ny job:B",
            "> q job:A\n\n1. item\n\n   ```\n   job:B\n\n   ```\nz job:C",
            "\u{feff}```\njob:A\n```\n\nb job:B",
            // Found by fuzzing: the parser took `---` lines mid-document for front matter.
            "-,\n----\n----\n\n-\n-,\n----\n---\n>?[\n>\t!--]]-\n\n-\n\x00job:--\n---\n>\t-]]-\n\n-\n",
            // And: a tab after a closing fence makes it none, for pulldown-cmark.
            "[[\x04]]\x06\x06\n~~~\t\t\t\x06\n~~~\t\t\t\r\n\r\n\n``job:\"`)job\t\x19\t\t\t2<<\t\t\x06\n~~%~\t\t\t\t\t\t\t  ",
            "+++\ntitle = 'job:X'\n+++\n\nbody job:Y\n",
            "a job:A\r\n\r\n```\r\n\r\nc job:B\r\n```\r\n\r\nd job:C\r\n",
            // Found by fuzzing: a lone `\r` ends a line, so the fence after it is a fence.
            "\r```\n\n#\x0cjob:A\n",
            "```\n\n``` \x0c\n\nx job:A\n```\n\ny job:B\n",
            // Code indented after a list or quote marker is code.
            "+ \t  job:\" /",
            "\x0c\x0b|job:1\n|-",
            "-     job:A\n\n>     job:B\n\n1.      job:C\n",
            "> -     job:A\n\n>>    job:B\n\n- x    job:C\n\n2)     job:D\n",
            // Found by fuzzing: `<code>` left open in a tight list item (text in no paragraph).
            "- --< <code> \n\n\n\njob:`.` `-< `",
            "1. a <kbd>\n2. b job:A\n\nc job:B\n",
            "- a <code>\n  - b job:A\n\nc job:B\n",
            "> q <samp>\n\nr job:A\n",
            "| a <code> | b |\n|---|---|\n| job:A | c |\n\nd job:B\n",
            "[^n]: f <tt>\n\ng job:A\n",
        ] {
            same_near_candidates(text);
        }
        // The sample that needs the parser for all of it still answers.
        assert_eq!(stretch_starts("x\n\n<div>\n"), None);
        assert_eq!(stretch_starts("a\n\nb\n\n- c\n\n  d\n\ne\n"), Some(vec![0, 3, 6, 16]));
    }

    #[test]
    fn prose_is_text_outside_code_html_and_urls() {
        assert_eq!(prose("# Head\n\nPara `code` end.\n"), ["Head", "Para ", " end."]);
        assert_eq!(prose("a <!-- c --> b <code>x</code> y"), ["a ", " b ", " y"]);
        assert_eq!(prose("[text](https://u/job:x) <https://a/job:y>"), ["text", " "]);
        assert_eq!(prose("p\n\n    indented\n"), ["p"]);
        assert_eq!(prose("\u{feff}```\ncode\n```\nafter\n"), ["after"]);
        assert_eq!(prose("---\ntitle: x\n---\n\nbody\n"), ["body"]);
        assert_eq!(prose("\u{feff}---\njob: x\n...\nbody\n"), ["body"]);
        assert_eq!(prose("a\n\n---\nb: c\n---\n"), ["a", "b: c"], "not front matter mid-document");
        assert_eq!(prose("| a | b |\n|---|---|\n| c | d |\n"), ["a", "b", "c", "d"]);
        // An element left open ends with its block: a tight list item's, a cell's, a quote's.
        assert_eq!(prose("- a <code>x\n\nb\n"), ["a ", "b"]);
        assert_eq!(prose("- a <code>x\n- y\n"), ["a ", "y"]);
        assert_eq!(prose("| a <kbd>x | b |\n|---|---|\n"), ["a ", "b"]);
        assert_eq!(prose("> a <pre>x\n\nb\n"), ["a ", "b"]);
    }
}
