//! Open documents: text, version, language, and the last scan of their references.
//!
//! Edits are applied synchronously, before any `.await`, so they apply in arrival order even
//! though tower-lsp-server runs handlers concurrently. A scan remembers the version it was made
//! for; anything computed from an older version is dropped.

use std::sync::Arc;

use crate::line_index::{Encoding, LineCol, LineIndex};
use crate::model::JobRef;
use crate::scan::{DocKind, Scanner};

/// An edit in LSP terms: a range (or the whole text) and its replacement.
#[derive(Debug, Clone)]
pub struct Edit {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

#[derive(Debug)]
pub struct Document {
    pub text: String,
    pub version: i32,
    pub kind: DocKind,
    pub index: LineIndex,
    /// The references at `scan.version`; rebuilt lazily after edits.
    scan: Option<Arc<Scan>>,
    /// Bumped on every edit; a debounced check runs only if it is still current.
    pub generation: u64,
    /// The version and fingerprint of the diagnostics last sent for this document, so periodic
    /// re-checks that find nothing new send nothing.
    pub published: Option<(i32, u64)>,
}

/// The references of one version of a document.
#[derive(Debug)]
pub struct Scan {
    pub version: i32,
    pub refs: Vec<JobRef>,
    /// The length of the text scanned, in bytes.
    pub text_len: usize,
}

impl Document {
    pub fn new(text: String, version: i32, kind: DocKind) -> Document {
        let index = LineIndex::new(&text);
        Document { text, version, kind, index, scan: None, generation: 0, published: None }
    }

    /// Applies edits in order. Ranges are clamped to the text, and a range whose end comes
    /// before its start is treated as empty at its start, so a confused client cannot panic us.
    pub fn apply(&mut self, version: i32, edits: Vec<Edit>, enc: Encoding) {
        for edit in edits {
            match edit.range {
                None => self.text = edit.text,
                Some((start, end)) => {
                    let a = self.index.offset(&self.text, start, enc);
                    let b = self.index.offset(&self.text, end, enc).max(a);
                    self.text.replace_range(a..b, &edit.text);
                }
            }
            self.index = LineIndex::new(&self.text);
        }
        self.version = version;
        self.scan = None;
        self.generation += 1;
    }

    /// The references of the current version, scanning if needed.
    pub fn scan(&mut self, scanner: &Scanner) -> Arc<Scan> {
        match &self.scan {
            Some(s) if s.version == self.version => s.clone(),
            _ => {
                let scan = Arc::new(Scan {
                    version: self.version,
                    refs: scanner.scan(&self.text, self.kind),
                    text_len: self.text.len(),
                });
                self.scan = Some(scan.clone());
                scan
            }
        }
    }

    /// Forgets the scan (the scanner settings changed).
    pub fn invalidate_scan(&mut self) {
        self.scan = None;
    }

    pub fn position(&self, offset: usize, enc: Encoding) -> LineCol {
        self.index.position(&self.text, offset, enc)
    }

    pub fn offset(&self, pos: LineCol, enc: Encoding) -> usize {
        self.index.offset(&self.text, pos, enc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lc(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }

    #[test]
    fn incremental_edits_in_utf16() {
        let mut doc = Document::new("😀 job:Ab\nx".into(), 1, DocKind::Plain);
        // Insert "c" after "Ab": column 9 in UTF-16 (the emoji is two units).
        doc.apply(2, vec![Edit { range: Some((lc(0, 9), lc(0, 9))), text: "c".into() }], Encoding::Utf16);
        assert_eq!(doc.text, "😀 job:Abc\nx");
        // Replace across the line break, then a reversed range, then past the end.
        doc.apply(
            3,
            vec![
                Edit { range: Some((lc(0, 10), lc(1, 1))), text: "!".into() },
                Edit { range: Some((lc(0, 3), lc(0, 2))), text: "[".into() },
                Edit { range: Some((lc(9, 0), lc(9, 5))), text: "$".into() },
            ],
            Encoding::Utf16,
        );
        assert_eq!(doc.text, "😀 [job:Abc!$");
        assert_eq!(doc.version, 3);
        let scan = doc.scan(&Scanner::default());
        assert_eq!(scan.refs[0].name, "Abc");
        assert_eq!(doc.position(scan.refs[0].range.start, Encoding::Utf16), lc(0, 4));
    }

    /// Random edits in UTF-16 positions, checked against a model that edits a `Vec<char>`:
    /// the text always matches and every reference range lands on the reference's own text.
    #[test]
    fn random_edits_match_a_model() {
        let alphabet: Vec<char> = "ab job:\"Xé😀\n\r𝄞-.".chars().collect();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        for round in 0..200 {
            let mut model: Vec<char> = "job:Start 😀\nline two job:\"B c\"\n".chars().collect();
            let mut doc = Document::new(model.iter().collect(), 0, DocKind::Plain);
            for version in 1..40 {
                // Positions as (line, UTF-16 column) of two random char offsets in the model.
                // Lines end at `\n`, `\r\n` or a lone `\r`, as the LSP specification says.
                let pos_of = |at: usize, model: &[char]| {
                    let (mut line, mut col) = (0, 0);
                    for (i, &c) in model[..at].iter().enumerate() {
                        if c == '\n' || (c == '\r' && model.get(i + 1) != Some(&'\n')) {
                            (line, col) = (line + 1, 0);
                        } else if c != '\r' {
                            col += c.len_utf16() as u32;
                        }
                    }
                    LineCol { line, col }
                };
                // Keep positions off the `\n` of a CRLF, where a column cannot point.
                let valid =
                    |at: usize, model: &[char]| !(at > 0 && model[at - 1] == '\r' && model.get(at) == Some(&'\n'));
                let mut a = next(model.len() + 1);
                let mut b = next(model.len() + 1);
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                if !valid(a, &model) || !valid(b, &model) {
                    continue;
                }
                let insert: String = (0..next(4)).map(|_| alphabet[next(alphabet.len())]).collect();
                let edit = Edit { range: Some((pos_of(a, &model), pos_of(b, &model))), text: insert.clone() };
                model.splice(a..b, insert.chars());
                doc.apply(version, vec![edit], Encoding::Utf16);
                let expected: String = model.iter().collect();
                assert_eq!(doc.text, expected, "round {round}, version {version}");
                for r in doc.scan(&Scanner::default()).refs.iter() {
                    assert!(doc.text[r.range.clone()].starts_with("job:"), "round {round}: {r:?}");
                    let start = doc.position(r.range.start, Encoding::Utf16);
                    assert_eq!(doc.offset(start, Encoding::Utf16), r.range.start);
                }
            }
        }
    }
}
