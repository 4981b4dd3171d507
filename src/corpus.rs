//! A deterministic corpus generator for benchmarks: Markdown and plain-text files of
//! engineering prose with a chosen density of job references. The same seed gives the same
//! bytes on every machine, so figures are comparable and nothing large is committed.
//!
//! Used by `benches/scanner.rs`, `examples/loadbench.rs` and `examples/corpus.rs` (which writes
//! a tree for `check` and `rg` to race over).

use std::path::Path;

/// A small, fast, seedable PRNG (SplitMix64). Not for anything secret.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "the",
    "design",
    "drainage",
    "culvert",
    "survey",
    "alignment",
    "pavement",
    "levee",
    "catchment",
    "model",
    "string",
    "tin",
    "surface",
    "chainage",
    "setout",
    "retaining",
    "wall",
    "kerb",
    "batter",
    "cut",
    "fill",
    "volume",
    "report",
    "review",
    "approved",
    "issued",
    "for",
    "construction",
    "of",
    "and",
    "to",
    "with",
    "in",
    "stormwater",
    "pipe",
    "pit",
    "invert",
    "grade",
    "crossfall",
    "superelevation",
    "bridge",
    "abutment",
    "pier",
    "deck",
    "earthworks",
    "geotechnical",
    "borehole",
    "sheet",
    "drawing",
    "revision",
    "checked",
    "by",
    "on",
    "is",
    "was",
    "are",
    "will",
    "be",
    "a",
    "an",
    "this",
    "that",
    "from",
    "as",
    "per",
    "client",
    "council",
];

/// Job names used for references: a mix of bare and quoted forms, all in the simulator's
/// bundled dataset except the last two (stale references).
pub const NAMES: &[&str] = &[
    "Riverside",
    "\"Highway Upgrade 2024\"",
    "Bridge",
    "\"Zürich Tunnel\"",
    "\"Region A/Drainage\"",
    "Pit-Survey_07",
    "\"Highway Upgrade 2023\"",
    "Riversde",
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    /// References per KiB of text, on average (0.0 for none).
    pub refs_per_kib: f64,
    /// Names to reference (written as given after `job:`, so quote names that need it).
    pub names: Vec<String>,
    /// Markdown (headings, lists, code) or plain text.
    pub markdown: bool,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec { seed: 42, refs_per_kib: 0.5, names: NAMES.iter().map(|s| s.to_string()).collect(), markdown: true }
    }
}

/// About `bytes` bytes of prose (whole lines; never less than `bytes`).
pub fn text(spec: &Spec, bytes: usize) -> String {
    let mut rng = Rng::new(spec.seed);
    let mut out = String::with_capacity(bytes + 256);
    // Probability per word of a reference: ~6.5 bytes a word, so 1 KiB ≈ 157 words.
    let per_word = (spec.refs_per_kib / 157.0).min(1.0);
    while out.len() < bytes {
        if spec.markdown && rng.chance(0.08) {
            out.push_str("## ");
            let words = 3 + rng.below(4);
            sentence(&mut rng, spec, per_word, words, &mut out);
            out.push_str("\n\n");
            continue;
        }
        if spec.markdown && rng.chance(0.02) {
            out.push_str("```text\nstring 12d_model \"design\" chainage 0.000\n```\n\n");
            continue;
        }
        let list = spec.markdown && rng.chance(0.2);
        let lines = 1 + rng.below(5);
        for _ in 0..lines {
            if list {
                out.push_str("- ");
            }
            let words = 8 + rng.below(14);
            sentence(&mut rng, spec, per_word, words, &mut out);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn sentence(rng: &mut Rng, spec: &Spec, per_word: f64, words: usize, out: &mut String) {
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        if !spec.names.is_empty() && rng.chance(per_word) {
            out.push_str("job:");
            out.push_str(&spec.names[rng.below(spec.names.len())]);
        } else {
            let w = rng.pick(WORDS);
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    out.extend(f.to_uppercase());
                    out.push_str(c.as_str());
                }
            } else {
                out.push_str(w);
            }
        }
    }
    out.push('.');
}

/// Writes `files` files totalling about `total_bytes` under `dir` (100 per folder, every
/// third one plain text). Returns the bytes written.
pub fn write_tree(dir: &Path, spec: &Spec, files: usize, total_bytes: usize) -> std::io::Result<usize> {
    let per_file = (total_bytes / files.max(1)).max(1);
    let mut written = 0;
    for i in 0..files {
        let folder = dir.join(format!("d{:03}", i / 100));
        std::fs::create_dir_all(&folder)?;
        let markdown = i % 3 != 0;
        let file_spec = Spec { seed: spec.seed.wrapping_add(i as u64), markdown, ..spec.clone() };
        let body = text(&file_spec, per_file);
        let name = if markdown { format!("doc{i:05}.md") } else { format!("notes{i:05}.txt") };
        std::fs::write(folder.join(name), &body)?;
        written += body.len();
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{DocKind, Scanner};

    #[test]
    fn deterministic_and_dense_as_asked() {
        let spec = Spec::default();
        let a = text(&spec, 64 * 1024);
        assert_eq!(a, text(&spec, 64 * 1024), "same seed, same text");
        assert_ne!(a, text(&Spec { seed: 7, ..spec.clone() }, 64 * 1024));
        assert!(a.len() >= 64 * 1024 && a.len() < 66 * 1024, "{}", a.len());
        let refs = Scanner::default().scan(&a, DocKind::Plain).len();
        // 0.5 per KiB over 64 KiB: about 32; generous bounds, since the draw is random.
        assert!((12..=60).contains(&refs), "{refs} references");
        let none = text(&Spec { refs_per_kib: 0.0, ..spec }, 16 * 1024);
        assert_eq!(Scanner::default().scan(&none, DocKind::Plain).len(), 0);
    }

    #[test]
    fn writes_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let n = write_tree(dir.path(), &Spec::default(), 250, 250 * 1024).unwrap();
        assert!(n >= 250 * 1024);
        let count = walk(dir.path());
        assert_eq!(count, 250);
    }

    fn walk(p: &Path) -> usize {
        std::fs::read_dir(p)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() { walk(&e.path()) } else { 1 }
            })
            .sum()
    }
}
