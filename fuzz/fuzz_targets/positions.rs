//! Position conversion on arbitrary text: every character boundary converts to a line/column
//! in UTF-8, UTF-16 and UTF-32 and back to itself; arbitrary positions never panic and land
//! on a boundary.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synergy_ls::line_index::{Encoding, LineCol, LineIndex};

fuzz_target!(|input: (String, Vec<(u32, u32)>)| {
    let (text, positions) = input;
    let index = LineIndex::new(&text);
    for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
        for (offset, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            let pos = index.position(&text, offset, enc);
            let back = index.offset(&text, pos, enc);
            // A `\r\n` pair is one line break: the offset between its halves has no position.
            let between_crlf =
                offset > 0 && text.as_bytes()[offset - 1] == b'\r' && text.as_bytes().get(offset) == Some(&b'\n');
            if !between_crlf {
                assert_eq!(back, offset, "{enc:?} {pos:?}");
            }
        }
        for &(line, col) in &positions {
            let offset = index.offset(&text, LineCol { line, col }, enc);
            assert!(offset <= text.len() && text.is_char_boundary(offset));
        }
    }
});
