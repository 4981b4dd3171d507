//! The scanner on arbitrary text, as Markdown, plain text and source files, with and without a
//! user pattern: no panic, and every reference lies inside the text, on character boundaries,
//! in order, without overlap; built-in ones start with `job:` at the start of a token (not
//! glued to a word or to `_ - + . @ / :`); in Markdown every reference starts in prose, in a
//! source file every reference lies in a comment. And parsing Markdown stretch by stretch
//! around the candidates agrees with parsing the whole document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synergy_ls::scan::{DocKind, Scanner, markdown};

static CUSTOM: std::sync::LazyLock<Scanner> =
    std::sync::LazyLock::new(|| Scanner::new(false, &[r"\[\[(?<name>[^\]]+)\]\]".to_string()]).0);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sources = ["x.go", "x.py", "x.yaml", "x.sql", "x.html", "x.rs", "x.ini", "x.lua"]
        .map(|p| DocKind::from_path(std::path::Path::new(p)).unwrap());
    let prose = markdown::prose_ranges(text);
    let candidates: Vec<usize> = memchr::memmem::find_iter(text.as_bytes(), b"job:").collect();
    let near = markdown::prose_ranges_near(text, &candidates);
    for &c in &candidates {
        assert_eq!(
            prose.iter().any(|r| r.contains(&c)),
            near.iter().any(|r| r.contains(&c)),
            "stretches disagree with the whole document at {c}"
        );
    }
    for scanner in [&Scanner::default(), &*CUSTOM] {
        for kind in [DocKind::Markdown, DocKind::Plain].into_iter().chain(sources) {
            let refs = scanner.scan(text, kind);
            let mut end = 0;
            for r in &refs {
                assert!(r.range.start >= end && r.range.end <= text.len(), "{r:?}");
                assert!(text.is_char_boundary(r.range.start) && text.is_char_boundary(r.range.end));
                assert!(r.edit_range.start >= r.range.start && r.edit_range.end <= r.range.end);
                assert!(!r.name.is_empty());
                if r.form != synergy_ls::model::RefForm::Custom {
                    assert!(text[r.range.clone()].starts_with("job:"), "{r:?}");
                    let before = text[..r.range.start].chars().next_back();
                    assert!(
                        !before.is_some_and(|c| c.is_alphanumeric() || "_-+.@/:".contains(c)),
                        "glued: {r:?}"
                    );
                }
                if kind == DocKind::Markdown {
                    assert!(prose.iter().any(|p| p.contains(&r.range.start)), "not prose: {r:?}");
                }
                if let DocKind::Source(syntax) = kind {
                    let comments = syntax.comment_ranges(text);
                    assert!(
                        comments.iter().any(|c| c.start <= r.range.start && r.range.end <= c.end),
                        "not in a comment: {r:?}"
                    );
                }
                end = r.range.end;
            }
        }
    }
    let _ = synergy_ls::scan::completion_context(text);
});
