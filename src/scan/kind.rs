//! What kind of text a file is, and which files are *documents*.
//!
//! This is the one list of file types that `check`, the language server and the editor
//! integrations' selectors use (`tests/editor_manifests.rs` fails when an editor's selector
//! drifts from it):
//!
//! - documents, checked by default: Markdown (`.md`, `.markdown`, `.mdx`), plain text (`.txt`),
//!   reStructuredText (`.rst`) and AsciiDoc (`.adoc`, `.asciidoc`);
//! - source files, checked only when included (`--include`, `files.include`) or opened in an
//!   editor whose selector was widened: references are found only in their comments, by the
//!   comment syntax of their extension ([`Syntax`]);
//! - anything else is prose only when named explicitly (a path on the command line, an include
//!   glob, or a document the editor opened).

use std::path::Path;

use super::comments::Syntax;

/// What kind of text a document is: decides where references may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// CommonMark: references only in prose (not code, HTML, link destinations or autolinks).
    Markdown,
    /// Plain text, reStructuredText, AsciiDoc and explicitly named files: the whole text.
    Plain,
    /// A source file: references only inside its comments.
    Source(&'static Syntax),
}

/// File extensions (lowercase, without the dot) of the documents, and their kinds.
pub const DOCUMENT_EXTENSIONS: &[(&str, DocKind)] = &[
    ("md", DocKind::Markdown),
    ("markdown", DocKind::Markdown),
    ("mdx", DocKind::Markdown),
    ("txt", DocKind::Plain),
    ("rst", DocKind::Plain),
    ("adoc", DocKind::Plain),
    ("asciidoc", DocKind::Plain),
];

/// LSP `languageId`s of the documents (VS Code's and Neovim's names), for editor selectors.
pub const DOCUMENT_LANGUAGE_IDS: &[&str] =
    &["markdown", "mdx", "plaintext", "text", "restructuredtext", "rst", "asciidoc", "asciidoctor"];

impl DocKind {
    /// The kind of a file by its extension: a document, a source file of a known comment
    /// syntax, or `None` (unknown: prose only when named explicitly).
    pub fn from_path(path: &Path) -> Option<DocKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        if let Some((_, kind)) = DOCUMENT_EXTENSIONS.iter().find(|(e, _)| *e == ext) {
            return Some(*kind);
        }
        Syntax::for_extension(&ext).map(DocKind::Source)
    }

    /// Whether `path` is a document (checked without being included).
    pub fn is_document(path: &Path) -> bool {
        matches!(DocKind::from_path(path), Some(DocKind::Markdown | DocKind::Plain))
    }

    /// The kind of a document the editor opened: by its path's extension when that is known,
    /// else by its LSP `languageId`; anything else is plain (the user chose to open it with
    /// synergy-ls).
    pub fn for_editor(path: Option<&Path>, language_id: &str) -> DocKind {
        if let Some(kind) = path.and_then(DocKind::from_path) {
            return kind;
        }
        match language_id {
            "markdown" | "mdx" | "quarto" | "rmd" => DocKind::Markdown,
            id => Syntax::for_language_id(id).map_or(DocKind::Plain, DocKind::Source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_path_and_language() {
        let kind = |p: &str| DocKind::from_path(Path::new(p)).map(|k| format!("{k:?}"));
        assert_eq!(kind("a/README.MD").as_deref(), Some("Markdown"));
        assert_eq!(kind("notes.txt").as_deref(), Some("Plain"));
        assert_eq!(kind("guide.adoc").as_deref(), Some("Plain"));
        assert!(kind("main.go").unwrap().contains("Source"));
        assert!(kind("rules.yml").unwrap().contains("Source"));
        assert_eq!(kind("data.bin"), None);
        assert_eq!(kind("Makefile"), None);
        assert!(DocKind::is_document(Path::new("x.rst")));
        assert!(!DocKind::is_document(Path::new("x.rs")));
        assert_eq!(DocKind::for_editor(None, "markdown"), DocKind::Markdown);
        assert_eq!(DocKind::for_editor(Some(Path::new("x.md")), "plaintext"), DocKind::Markdown);
        assert!(matches!(DocKind::for_editor(None, "python"), DocKind::Source(_)));
        assert_eq!(DocKind::for_editor(Some(Path::new("x.unknown")), "whatever"), DocKind::Plain);
    }
}
