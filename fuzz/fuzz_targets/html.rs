//! HTML descriptions to text on arbitrary input: no panic, and the output is never longer than
//! the input would allow (entities only shrink; line breaks are bounded).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let text = synergy_ls::html::to_text(input);
    assert!(text.len() <= input.len() * 4 + 16, "{} -> {}", input.len(), text.len());
    let _ = synergy_ls::html::decode_entities(input);
});
