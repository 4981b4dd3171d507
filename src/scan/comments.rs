//! Comments in source files: where references may be in code.
//!
//! A small lexer per comment syntax, not a parser: it walks the text once, skips string
//! literals (so `"http://x"` or `'# not a comment'` opens no comment) and records each line
//! and block comment. It only has to be right about what is a comment; everything else is
//! skipped. Unterminated single-line strings are taken as ordinary characters (a Rust
//! lifetime `'a`, an apostrophe in a YAML plain scalar), so one stray quote cannot hide the
//! comments after it.

use std::ops::Range;

/// A string literal form.
#[derive(Debug, PartialEq, Eq)]
pub struct Quote {
    open: &'static str,
    close: &'static str,
    /// A backslash escapes the next character.
    escape: bool,
    /// May span lines; otherwise an opener without a closer on its line is no string.
    multiline: bool,
    /// Opens only at the start of a word (YAML's `it's`, shell's `6"`); a Python string
    /// prefix (`r`, `b`, `f`, `u`, two of them) does not count as a word.
    word_start: bool,
    /// A character literal (`'x'`, `'\n'`), nothing longer: a `'` that opens none is a Rust
    /// lifetime or a stray quote.
    char_only: bool,
}

/// A character literal `'x'` or `'\n'`; anything else starting with `'` is not a literal
/// (a Rust lifetime, a Java `'` in nothing).
const CHAR: Quote = Quote { open: "'", close: "'", escape: true, multiline: false, word_start: false, char_only: true };

const fn q(open: &'static str, close: &'static str, escape: bool, multiline: bool, word_start: bool) -> Quote {
    Quote { open, close, escape, multiline, word_start, char_only: false }
}

/// A language's comment and string syntax.
#[derive(Debug, PartialEq, Eq)]
pub struct Syntax {
    /// For messages and tests.
    pub name: &'static str,
    line: &'static [&'static str],
    block: &'static [(&'static str, &'static str)],
    quotes: &'static [Quote],
    /// A line comment opens only at the start of a line or after whitespace (shell, YAML,
    /// INI: `$#` and `a#b` are not comments).
    line_after_space: bool,
    /// Rust raw strings: `r"…"`, `r#"…"#`, `br"…"`.
    rust_raw: bool,
}

const C_FAMILY: Syntax = Syntax {
    name: "C-family",
    line: &["//"],
    block: &[("/*", "*/")],
    quotes: &[q("\"", "\"", true, false, false), CHAR],
    line_after_space: false,
    rust_raw: false,
};
const JAVASCRIPT: Syntax = Syntax {
    name: "JavaScript/TypeScript",
    line: &["//"],
    block: &[("/*", "*/")],
    quotes: &[q("\"", "\"", true, false, false), q("'", "'", true, false, false), q("`", "`", true, true, false)],
    line_after_space: false,
    rust_raw: false,
};
const RUST: Syntax = Syntax {
    name: "Rust",
    line: &["//"],
    block: &[("/*", "*/")],
    quotes: &[q("\"", "\"", true, true, false), CHAR],
    line_after_space: false,
    rust_raw: true,
};
const GO: Syntax = Syntax {
    name: "Go",
    line: &["//"],
    block: &[("/*", "*/")],
    quotes: &[q("\"", "\"", true, false, false), CHAR, q("`", "`", false, true, false)],
    line_after_space: false,
    rust_raw: false,
};
const PYTHON: Syntax = Syntax {
    name: "Python",
    line: &["#"],
    block: &[],
    quotes: &[
        q("\"\"\"", "\"\"\"", true, true, true),
        q("'''", "'''", true, true, true),
        q("\"", "\"", true, false, true),
        q("'", "'", true, false, true),
    ],
    line_after_space: false,
    rust_raw: false,
};
const SHELL: Syntax = Syntax {
    name: "shell",
    line: &["#"],
    block: &[],
    quotes: &[q("\"", "\"", true, true, true), q("'", "'", false, true, true)],
    line_after_space: true,
    rust_raw: false,
};
const YAML: Syntax = Syntax {
    name: "YAML",
    line: &["#"],
    block: &[],
    quotes: &[q("\"", "\"", true, false, true), q("'", "'", false, false, true)],
    line_after_space: true,
    rust_raw: false,
};
const TOML: Syntax = Syntax {
    name: "TOML",
    line: &["#"],
    block: &[],
    quotes: &[
        q("\"\"\"", "\"\"\"", true, true, false),
        q("'''", "'''", false, true, false),
        q("\"", "\"", true, false, false),
        q("'", "'", false, false, false),
    ],
    line_after_space: false,
    rust_raw: false,
};
const POWERSHELL: Syntax = Syntax {
    name: "PowerShell",
    line: &["#"],
    block: &[("<#", "#>")],
    quotes: &[q("\"", "\"", false, true, true), q("'", "'", false, true, true)],
    line_after_space: false,
    rust_raw: false,
};
const R: Syntax = Syntax {
    name: "R",
    line: &["#"],
    block: &[],
    quotes: &[q("\"", "\"", true, true, false), q("'", "'", true, true, false)],
    line_after_space: false,
    rust_raw: false,
};
const SQL: Syntax = Syntax {
    name: "SQL",
    line: &["--"],
    block: &[("/*", "*/")],
    quotes: &[q("'", "'", false, true, false), q("\"", "\"", false, false, false)],
    line_after_space: false,
    rust_raw: false,
};
const LUA: Syntax = Syntax {
    name: "Lua",
    line: &["--"],
    block: &[("--[[", "]]")],
    quotes: &[q("\"", "\"", true, false, false), q("'", "'", true, false, false), q("[[", "]]", false, true, false)],
    line_after_space: false,
    rust_raw: false,
};
const MARKUP: Syntax = Syntax {
    name: "HTML/XML",
    line: &[],
    block: &[("<!--", "-->")],
    quotes: &[],
    line_after_space: false,
    rust_raw: false,
};
const INI: Syntax =
    Syntax { name: "INI", line: &[";", "#"], block: &[], quotes: &[], line_after_space: true, rust_raw: false };

/// Source file extensions (lowercase) and their syntax.
const BY_EXTENSION: &[(&[&str], &Syntax)] = &[
    (
        &["c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx", "java", "cs", "kt", "kts", "swift", "scala", "dart"],
        &C_FAMILY,
    ),
    (&["js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts"], &JAVASCRIPT),
    (&["rs"], &RUST),
    (&["go"], &GO),
    (&["py", "pyi", "pyw"], &PYTHON),
    (&["sh", "bash", "zsh", "ksh"], &SHELL),
    (&["yaml", "yml"], &YAML),
    (&["toml"], &TOML),
    (&["ps1", "psm1", "psd1"], &POWERSHELL),
    (&["r"], &R),
    (&["sql"], &SQL),
    (&["lua"], &LUA),
    (&["html", "htm", "xhtml", "xml", "xsd", "xsl", "xslt", "svg"], &MARKUP),
    (&["ini"], &INI),
];

/// LSP `languageId`s (VS Code's and Neovim's) and their syntax.
const BY_LANGUAGE_ID: &[(&[&str], &Syntax)] = &[
    (&["c", "cpp", "java", "csharp", "cs", "kotlin", "swift", "scala", "dart"], &C_FAMILY),
    (&["javascript", "typescript", "javascriptreact", "typescriptreact"], &JAVASCRIPT),
    (&["rust"], &RUST),
    (&["go"], &GO),
    (&["python"], &PYTHON),
    (&["shellscript", "sh", "bash", "zsh"], &SHELL),
    (&["yaml"], &YAML),
    (&["toml"], &TOML),
    (&["powershell", "ps1"], &POWERSHELL),
    (&["r"], &R),
    (&["sql"], &SQL),
    (&["lua"], &LUA),
    (&["html", "xml", "xhtml", "svg"], &MARKUP),
    (&["ini", "dosini"], &INI),
];

impl Syntax {
    /// The syntax of a source file extension (lowercase, without the dot).
    pub fn for_extension(ext: &str) -> Option<&'static Syntax> {
        BY_EXTENSION.iter().find(|(exts, _)| exts.contains(&ext)).map(|(_, s)| *s)
    }

    /// The syntax of an LSP `languageId`.
    pub fn for_language_id(id: &str) -> Option<&'static Syntax> {
        BY_LANGUAGE_ID.iter().find(|(ids, _)| ids.contains(&id)).map(|(_, s)| *s)
    }

    /// Byte ranges of the comments in `text`, sorted and disjoint (an unclosed block comment
    /// runs to the end).
    pub fn comment_ranges(&self, text: &str) -> Vec<Range<usize>> {
        self.comment_ranges_until(text, text.len())
    }

    /// The comments of `text` that start before `until` (lexing stops there: a reference
    /// scanner needs nothing past its last candidate).
    pub fn comment_ranges_until(&self, text: &str, until: usize) -> Vec<Range<usize>> {
        let b = text.as_bytes();
        // The first bytes of everything that opens a comment or a literal: every other byte is
        // skipped by one table lookup.
        let mut opens = [false; 256];
        for first in self.block.iter().map(|(o, _)| o).chain(self.line).chain(self.quotes.iter().map(|q| &q.open)) {
            opens[first.as_bytes()[0] as usize] = true;
        }
        if self.rust_raw {
            opens[b'r' as usize] = true;
            opens[b'b' as usize] = true;
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len().min(until) {
            match b[i..].iter().position(|&c| opens[c as usize]) {
                Some(skip) => i += skip,
                None => break,
            }
            if i >= until {
                break;
            }
            let rest = &b[i..];
            if let Some((open, close)) = self.block.iter().find(|(o, _)| rest.starts_with(o.as_bytes())) {
                let from = i + open.len();
                let end =
                    memchr::memmem::find(&b[from..], close.as_bytes()).map_or(b.len(), |e| from + e + close.len());
                out.push(i..end);
                i = end;
                continue;
            }
            let line_ok = !self.line_after_space || i == 0 || b[i - 1].is_ascii_whitespace();
            if line_ok && self.line.iter().any(|o| rest.starts_with(o.as_bytes())) {
                let end = memchr::memchr2(b'\n', b'\r', rest).map_or(b.len(), |e| i + e);
                out.push(i..end);
                i = end;
                continue;
            }
            if self.rust_raw
                && let Some(end) = rust_raw_string(b, i)
            {
                i = end;
                continue;
            }
            if let Some(q) = self.quotes.iter().find(|q| rest.starts_with(q.open.as_bytes())) {
                i = q.skip(b, i);
                continue;
            }
            i += 1;
        }
        out
    }
}

impl Quote {
    /// Where scanning goes on after a quote at `at`: past the literal, or past the quote
    /// character alone when it opens no literal here.
    fn skip(&self, b: &[u8], at: usize) -> usize {
        if self.char_only {
            return char_literal(b, at).unwrap_or(at + 1);
        }
        if self.word_start && !at_word_start(b, at) {
            return at + 1;
        }
        let close = self.close.as_bytes();
        let mut j = at + self.open.len();
        while j < b.len() {
            match b[j] {
                b'\\' if self.escape => j += 2,
                b'\n' | b'\r' if !self.multiline => return at + 1,
                _ if b[j..].starts_with(close) => return j + close.len(),
                _ => j += 1,
            }
        }
        // Unterminated: a multi-line literal runs to the end, a one-line one is no literal.
        if self.multiline { b.len() } else { at + 1 }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Whether a quote at `at` starts a word: nothing word-like before it but a string prefix.
fn at_word_start(b: &[u8], at: usize) -> bool {
    let word = b[..at].iter().rev().take_while(|&&c| is_ident(c)).count();
    word == 0 || (word <= 2 && b[at - word..at].iter().all(|c| b"rRbBfFuU".contains(c)))
}

/// `'x'` or `'\…'` at `at`; `None` for a lifetime or a lone quote.
fn char_literal(b: &[u8], at: usize) -> Option<usize> {
    let body = b.get(at + 1..)?;
    if body.first() == Some(&b'\\') {
        let close = body.iter().take(12).skip(2).position(|&c| c == b'\'' || c == b'\n')? + 2;
        return (body[close] == b'\'').then_some(at + 1 + close + 1);
    }
    let width = match *body.first()? {
        c if c < 0x80 => 1,
        c if c >= 0xF0 => 4,
        c if c >= 0xE0 => 3,
        _ => 2,
    };
    (body.get(width) == Some(&b'\'') && body[0] != b'\n').then_some(at + 1 + width + 1)
}

/// A Rust raw string (`r"…"`, `r#"…"#`, `br"…"`) at `at`: where it ends.
fn rust_raw_string(b: &[u8], at: usize) -> Option<usize> {
    if at > 0 && is_ident(b[at - 1]) {
        return None;
    }
    let mut j = at;
    if b[j] == b'b' {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    j += hashes;
    if b.get(j) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    Some(memchr::memmem::find(&b[j + 1..], &close).map_or(b.len(), |e| j + 1 + e + close.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of each comment found in `text` by the syntax of `ext`.
    fn comments(ext: &str, text: &str) -> Vec<String> {
        let syntax = Syntax::for_extension(ext).unwrap();
        syntax.comment_ranges(text).into_iter().map(|r| text[r].to_string()).collect()
    }

    #[test]
    fn comment_syntaxes() {
        assert_eq!(comments("go", "x := \"//no\" // yes\n/* b\nlock */ y"), ["// yes", "/* b\nlock */"]);
        assert_eq!(comments("rs", "let s = r#\"// no \"# ; // yes\nlet c = '\"'; // two"), ["// yes", "// two"]);
        assert_eq!(comments("rs", "fn f<'a>(x: &'a str) // it's a\n"), ["// it's a"]);
        assert_eq!(comments("rs", "let s = \"multi\nline // no\"; // yes"), ["// yes"]);
        assert_eq!(comments("ts", "const u = 'http://x'; const t = `a\n// no`; // yes"), ["// yes"]);
        assert_eq!(comments("py", "s = '# no'\nt = \"\"\"\n# no\n\"\"\" # yes\nf'#no' # y2"), ["# yes", "# y2"]);
        assert_eq!(comments("yaml", "a: it's # yes\nb: \"#no\" # y2\nc: x#no\n# y3"), ["# yes", "# y2", "# y3"]);
        assert_eq!(comments("sh", "echo $# ${#a} 'a # b' # yes"), ["# yes"]);
        assert_eq!(comments("sql", "select '--no' -- yes\n/* y2 */"), ["-- yes", "/* y2 */"]);
        assert_eq!(comments("lua", "x = [[ -- no ]] --[[ y\n ]] -- y2"), ["--[[ y\n ]]", "-- y2"]);
        assert_eq!(comments("html", "<a>x</a><!-- yes --> <!-- open"), ["<!-- yes -->", "<!-- open"]);
        assert_eq!(comments("ini", "[s]\nk = a;b ; yes\n; y2"), ["; yes", "; y2"]);
        assert_eq!(comments("c", "char c = '\\''; // yes"), ["// yes"]);
        assert_eq!(comments("c", "\"unterminated\n// yes"), ["// yes"]);
        assert_eq!(comments("toml", "a = 'C:\\x' # yes"), ["# yes"]);
    }
}
