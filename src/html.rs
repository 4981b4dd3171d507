//! HTML descriptions to readable plain text.
//!
//! 12d Synergy stores job descriptions either as plain text or as an MSHTML document (see
//! `shared/reference/generate-pat-web-client.md`). Users must never see raw markup: tags are
//! dropped, `<head>`, `<script>` and `<style>` content is dropped, entities are decoded, block
//! elements become paragraph breaks and whitespace is folded as a browser would.

/// Converts a description to plain text. Text that holds no tag is only trimmed, so a plain
/// description that mentions `a < b` or `R&D` comes through unchanged.
pub fn to_text(input: &str) -> String {
    if !looks_like_html(input) {
        return input.trim().to_string();
    }
    let mut out = Text::default();
    let mut rest = input;
    let mut skip_until: Option<&'static str> = None;
    while let Some(lt) = rest.find('<') {
        if skip_until.is_none() {
            out.push_text(&decode_entities(&rest[..lt]));
        }
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |e| &rest[e + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(until) = skip_until {
            if closing && name == until {
                skip_until = None;
            }
            continue;
        }
        match name.as_str() {
            "head" | "script" | "style" | "title" if !closing => {
                skip_until = Some(match name.as_str() {
                    "head" => "head",
                    "script" => "script",
                    "style" => "style",
                    _ => "title",
                })
            }
            "br" => out.line_break(),
            "li" if !closing => {
                out.paragraph_break_soft();
                out.push_raw("• ");
            }
            "p" | "div" | "li" | "ul" | "ol" | "tr" | "table" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "blockquote" | "pre" | "hr" | "body" | "section" | "article" => {
                if name == "li" || name == "tr" {
                    out.paragraph_break_soft()
                } else {
                    out.paragraph_break()
                }
            }
            "td" | "th" if closing => out.push_raw(" "),
            _ => {}
        }
    }
    if skip_until.is_none() {
        out.push_text(&decode_entities(rest));
    }
    out.finish()
}

fn looks_like_html(s: &str) -> bool {
    s.match_indices('<')
        .any(|(i, _)| s[i + 1..].chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!'))
}

/// Output with browser-like whitespace folding and paragraph handling.
#[derive(Default)]
struct Text {
    out: String,
    /// Pending separator: 0 none, 1 a space, 2 a line break, 3 a paragraph break.
    pending: u8,
}

impl Text {
    fn push_text(&mut self, s: &str) {
        for (i, word) in s.split(|c: char| c.is_whitespace() && c != '\u{a0}').enumerate() {
            if i > 0 {
                self.pending = self.pending.max(1);
            }
            if !word.is_empty() {
                self.push_raw(word);
            }
        }
    }

    fn push_raw(&mut self, s: &str) {
        if !self.out.is_empty() {
            self.out.push_str(match self.pending {
                0 => "",
                1 => " ",
                2 => "\n",
                _ => "\n\n",
            });
        }
        self.pending = 0;
        self.out.push_str(&s.replace('\u{a0}', " "));
    }

    fn line_break(&mut self) {
        self.pending = self.pending.max(2);
    }

    fn paragraph_break_soft(&mut self) {
        self.line_break()
    }

    fn paragraph_break(&mut self) {
        self.pending = 3;
    }

    fn finish(self) -> String {
        self.out.trim().to_string()
    }
}

/// Decodes character references: numeric ones and the named ones descriptions use.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..].find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &rest[1..1 + semi];
            decode_entity(entity).map(|c| (c, semi + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(entity: &str) -> Option<char> {
    if let Some(num) = entity.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|&c| c != '\0');
    }
    Some(match entity {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "middot" => '·',
        "deg" => '°',
        "plusmn" => '±',
        "times" => '×',
        "divide" => '÷',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "sect" => '§',
        "para" => '¶',
        "frac12" => '½',
        "frac14" => '¼',
        "frac34" => '¾',
        "sup2" => '²',
        "sup3" => '³',
        "micro" => 'µ',
        "laquo" => '«',
        "raquo" => '»',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(html: &str, expect: Expect) {
        expect.assert_eq(&to_text(html));
    }

    #[test]
    fn mshtml_sample_from_the_docs_is_empty() {
        check(
            "<HTML><HEAD>\r\n<META name=GENERATOR content=\"MSHTML 11.00.10570.1001\"></HEAD>\r\n<BODY></BODY></HTML>",
            expect![[""]],
        );
    }

    #[test]
    fn paragraphs_entities_and_lists() {
        check(
            "<HTML><HEAD><TITLE>x</TITLE><STYLE>p{}</STYLE></HEAD><BODY>\r\n<P>Upgrade of the\r\n  <B>Pacific&nbsp;Hwy</B> &amp; ramps &#8211; stage&nbsp;2.</P>\r\n<P>Contacts:<BR>Jo &lt;jo@example.com&gt;</P><UL><LI>Drainage<LI>Earthworks &#x2713;</UL><!-- c --></BODY></HTML>",
            expect![[r#"
                Upgrade of the Pacific Hwy & ramps – stage 2.

                Contacts:
                Jo <jo@example.com>

                • Drainage
                • Earthworks ✓"#]],
        );
    }

    #[test]
    fn plain_text_is_kept() {
        check("  R&D for a < b; 5 &lt; 6 stays  ", expect!["R&D for a < b; 5 &lt; 6 stays"]);
        check("<p>AT&T &bogus; &#0; &#xZZ;</p>", expect!["AT&T &bogus; &#0; &#xZZ;"]);
        check("<p>unclosed <b", expect!["unclosed"]);
    }
}
