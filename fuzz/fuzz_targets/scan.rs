//! The scanner on arbitrary text, Markdown and plain, with and without a user pattern: no
//! panic, and every reference lies inside the text, on character boundaries, in order, without
//! overlap; built-in ones start with `job:`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synergy_ls::scan::{DocKind, Scanner};

static CUSTOM: std::sync::LazyLock<Scanner> =
    std::sync::LazyLock::new(|| Scanner::new(false, &[r"\[\[(?<name>[^\]]+)\]\]".to_string()]).0);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for scanner in [&Scanner::default(), &*CUSTOM] {
        for kind in [DocKind::Markdown, DocKind::Plain] {
            let refs = scanner.scan(text, kind);
            let mut end = 0;
            for r in &refs {
                assert!(r.range.start >= end && r.range.end <= text.len(), "{r:?}");
                assert!(text.is_char_boundary(r.range.start) && text.is_char_boundary(r.range.end));
                assert!(r.edit_range.start >= r.range.start && r.edit_range.end <= r.range.end);
                assert!(!r.name.is_empty());
                if r.form != synergy_ls::model::RefForm::Custom {
                    assert!(text[r.range.clone()].starts_with("job:"), "{r:?}");
                }
                end = r.range.end;
            }
        }
    }
    let _ = synergy_ls::scan::completion_context(text);
});
