//! Markdown structure from a CommonMark parser (`pulldown-cmark`): the byte ranges of prose.
//!
//! Prose is the text of paragraphs, headings, list items, block quotes, table cells,
//! footnotes, emphasis and link *text*. Everything else holds no reference: code (fenced,
//! indented, inline), raw HTML blocks, inline HTML tags and comments, the text inside inline
//! `<code>`, `<pre>`, `<kbd>`, `<samp>`, `<script>` and `<style>` elements, link destinations
//! and titles, autolinks (`<https://…>`) and front matter. Only documents that contain
//! `job:` (or a user pattern's match) are parsed; the rest never reach the parser.

use std::ops::Range;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};

/// HTML elements whose text is code, not prose.
const CODE_ELEMENTS: &[&str] = &["code", "pre", "kbd", "samp", "script", "style", "tt"];

/// Byte ranges of the prose in `text`, sorted and disjoint (adjacent runs merged). A leading
/// UTF-8 byte order mark is not text: the parser sees what follows it, so a fence on the
/// first line is still a fence.
pub fn prose_ranges(text: &str) -> Vec<Range<usize>> {
    let bom = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let body = &text[bom..];
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut out: Vec<Range<usize>> = Vec::new();
    // Depths of the containers whose text is not prose.
    let (mut code, mut autolink, mut metadata, mut html_code) = (0usize, 0usize, 0usize, 0usize);
    for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_)) => code += 1,
            Event::End(TagEnd::CodeBlock) => code = code.saturating_sub(1),
            Event::Start(Tag::MetadataBlock(_)) => metadata += 1,
            Event::End(TagEnd::MetadataBlock(_)) => metadata = metadata.saturating_sub(1),
            Event::Start(Tag::Link { link_type: LinkType::Autolink | LinkType::Email, .. }) => autolink += 1,
            Event::End(TagEnd::Link) if autolink > 0 => autolink -= 1,
            Event::InlineHtml(tag) => match html_element(&tag) {
                Some((name, false)) if CODE_ELEMENTS.contains(&name.as_str()) => html_code += 1,
                Some((name, true)) if CODE_ELEMENTS.contains(&name.as_str()) => html_code = html_code.saturating_sub(1),
                _ => {}
            },
            Event::Text(_) if code == 0 && autolink == 0 && metadata == 0 && html_code == 0 => {
                let range = range.start + bom..range.end + bom;
                match out.last_mut() {
                    Some(last) if last.end == range.start => last.end = range.end,
                    _ => out.push(range),
                }
            }
            _ => {}
        }
    }
    out
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

    #[test]
    fn prose_is_text_outside_code_html_and_urls() {
        assert_eq!(prose("# Head\n\nPara `code` end.\n"), ["Head", "Para ", " end."]);
        assert_eq!(prose("a <!-- c --> b <code>x</code> y"), ["a ", " b ", " y"]);
        assert_eq!(prose("[text](https://u/job:x) <https://a/job:y>"), ["text", " "]);
        assert_eq!(prose("p\n\n    indented\n"), ["p"]);
        assert_eq!(prose("\u{feff}```\ncode\n```\nafter\n"), ["after"]);
        assert_eq!(prose("---\ntitle: x\n---\n\nbody\n"), ["body"]);
        assert_eq!(prose("| a | b |\n|---|---|\n| c | d |\n"), ["a", "b", "c", "d"]);
    }
}
