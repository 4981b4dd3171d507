//! Fixing, not only finding: which fixes are safe to apply without asking ([`SafeFixes`],
//! [`confirm`]), which references they apply to in a text ([`safe_edits`]), and applying byte
//! edits to a text ([`apply`]). Used by `check --fix`, the editor's `source.fixAll.synergy`,
//! `synergy.fixWorkspace` and the "fix all references to this job" quick fix.
//!
//! A fix is safe when it has exactly one right answer: the analysis marked it preferred (the
//! only differently-cased match, or the new name of a job seen renamed), and the text it
//! writes was asked of the server just now and names exactly that job. An ambiguous name, an
//! unknown name with only "did you mean" candidates, and anything while the server cannot be
//! asked are never fixed.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::{Fix, Reference, Verdict};
use crate::model::{RefForm, Resolution};
use crate::resolve::Resolver;

/// The confirmed safe fix of each name as written that has one.
pub type SafeFixes = HashMap<String, Fix>;

/// What [`confirm`] found: the safe fixes, and the names whose fix could not be confirmed
/// because the server could not be asked (with why): those are unverified, not choices.
#[derive(Debug, Default)]
pub struct Confirmed {
    pub safe: SafeFixes,
    pub unconfirmed: HashMap<String, crate::model::Unavailable>,
}

/// Confirms the preferred fix of every judged name: its value is resolved (the cache first,
/// then the server, at most `fanout` lookups at once) and kept only when it is
/// [`Resolution::Found`] with the very job the fix names. A value the server could not be asked
/// about is not confirmed, and its name is listed in [`Confirmed::unconfirmed`].
pub async fn confirm(resolver: &Arc<Resolver>, judged: &HashMap<&str, Verdict>, fanout: usize) -> Confirmed {
    let candidates: HashMap<&str, &Fix> = judged.iter().filter_map(|(name, v)| Some((*name, v.safe_fix()?))).collect();
    let mut values: Vec<String> = candidates.values().map(|f| f.value.clone()).collect();
    values.sort();
    values.dedup();
    let answers: HashMap<String, Resolution> =
        super::resolve_all(resolver, values, fanout).await.into_iter().map(|(v, r)| (v, r.resolution)).collect();
    let mut out = Confirmed::default();
    for (name, fix) in candidates {
        match answers.get(&fix.value) {
            Some(r) if fix.confirmed_by(r) => {
                out.safe.insert(name.to_string(), fix.clone());
            }
            Some(Resolution::Unavailable(why)) => {
                out.unconfirmed.insert(name.to_string(), why.clone());
            }
            _ => {}
        }
    }
    out
}

/// Whether a reference written in `form` may be rewritten without asking (fix-all, `--fix`,
/// rename). Not one written with a custom `referencePatterns` pattern: the pattern may not
/// match the new name (its quick fix is still offered, for a person to choose).
pub fn edited_without_asking(form: RefForm) -> bool {
    form != RefForm::Custom
}

/// What a reference to `name` written in `form` becomes without asking, if anything.
pub fn safe_text(safe: &SafeFixes, name: &str, form: RefForm) -> Option<String> {
    safe.get(name).filter(|_| edited_without_asking(form)).map(|f| f.new_text(form))
}

/// The safe edits of one text: `(index into refs, replacement for its edit range)`, in the
/// order of `refs` ([`safe_text`] of each).
pub fn safe_edits<R: Reference>(refs: &[R], safe: &SafeFixes) -> Vec<(usize, String)> {
    refs.iter().enumerate().filter_map(|(i, r)| Some((i, safe_text(safe, r.name(), r.form())?))).collect()
}

/// One replacement in a text: the bytes `range` become `new_text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub new_text: String,
}

/// Why [`apply`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("edits overlap at byte {0}")]
    Overlap(usize),
    #[error("an edit ends past the text or splits a character at byte {0}")]
    OutOfBounds(usize),
}

/// `text` with `edits` applied (in any order; sorted here). Every byte outside the edited
/// ranges is kept as it is: line endings, a byte order mark, the last newline or its absence.
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, ApplyError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len() + edits.iter().map(|e| e.new_text.len()).sum::<usize>());
    let mut at = 0;
    for e in sorted {
        if e.range.start < at {
            return Err(ApplyError::Overlap(e.range.start));
        }
        let Some(kept) = text.get(at..e.range.start).filter(|_| text.get(e.range.clone()).is_some()) else {
            return Err(ApplyError::OutOfBounds(e.range.end));
        };
        out.push_str(kept);
        out.push_str(&e.new_text);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

impl Fix {
    /// Whether `resolution`, the answer for this fix's value, names exactly the job the fix
    /// means.
    pub fn confirmed_by(&self, resolution: &Resolution) -> bool {
        matches!((resolution, &self.target), (Resolution::Found(job), Some(id)) if &job.id == id)
    }
}

impl Verdict {
    /// The fix to apply without asking, if there is one (not yet confirmed: see [`confirm`]).
    pub fn safe_fix(&self) -> Option<&Fix> {
        self.fixes.iter().find(|f| f.preferred && f.target.is_some())
    }
}

/// How a reference keeps its form: a quoted reference stays quoted; a bare one stays bare
/// when the new name allows it; a custom pattern's `name` group gets the value itself.
pub fn new_text(value: &str, form: RefForm) -> String {
    match form {
        RefForm::Custom => value.to_string(),
        RefForm::Quoted => format!("\"{value}\""),
        RefForm::Bare => crate::model::format_name(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Verdicts, judge};
    use crate::config::SeverityConfig;
    use crate::model::{Job, JobRef};
    use crate::resolve::Resolved;
    use crate::scan::{DocKind, Scanner};

    fn edit(range: Range<usize>, new_text: &str) -> Edit {
        Edit { range, new_text: new_text.into() }
    }

    #[test]
    fn apply_keeps_every_other_byte_and_refuses_overlaps() {
        let text = "\u{feff}a job:x\r\nb job:y";
        let at = |s: &str| text.find(s).unwrap();
        let edits = [edit(at("y")..at("y") + 1, "\"Y Z\""), edit(at("x")..at("x") + 1, "X")];
        assert_eq!(apply(text, &edits).unwrap(), "\u{feff}a job:X\r\nb job:\"Y Z\"");
        assert_eq!(apply(text, &[]).unwrap(), text);
        assert_eq!(apply(text, &[edit(5..7, "a"), edit(6..8, "b")]), Err(ApplyError::Overlap(6)));
        assert_eq!(apply(text, &[edit(1..99, "a")]), Err(ApplyError::OutOfBounds(99)));
        assert_eq!(apply(text, &[edit(1..2, "a")]), Err(ApplyError::OutOfBounds(2)), "inside the BOM");
    }

    #[test]
    fn forms_are_kept() {
        assert_eq!(new_text("Riverside", RefForm::Bare), "Riverside");
        assert_eq!(new_text("Riverside East", RefForm::Bare), "\"Riverside East\"");
        assert_eq!(new_text("Pit.", RefForm::Bare), "\"Pit.\"");
        assert_eq!(new_text("Riverside", RefForm::Quoted), "\"Riverside\"");
        assert_eq!(new_text("Riverside", RefForm::Custom), "Riverside");
    }

    /// A tiny server: the jobs, what each written name resolves to (as the resolver would:
    /// exact name or path, else case-insensitive, else unknown, renamed when the old name is
    /// remembered).
    struct Server {
        jobs: Vec<Arc<Job>>,
        renamed: HashMap<&'static str, usize>,
    }

    impl Server {
        fn new() -> Server {
            let jobs = [
                ("1", "Riverside", "Region A/Riverside"),
                ("2", "Highway Upgrade 2024", "Highway Upgrade 2024"),
                ("3", "Drainage", "Region A/Drainage"),
                ("4", "Drainage", "Region B/Drainage"),
                ("5", "Pit-Survey_07", "Pit-Survey_07"),
                ("6", "Zürich Bahnhof", "Zürich Bahnhof"),
            ];
            let jobs = jobs.iter().map(|(id, n, p)| Arc::new(Job::named(id, n, p))).collect();
            // Old names of jobs 2 and 6.
            Server { jobs, renamed: HashMap::from([("Highway Upgrade 2023", 1), ("Zurich", 5), ("Old/Path", 0)]) }
        }

        fn resolve(&self, name: &str) -> Resolution {
            let key = |j: &Job| crate::model::match_key(j, name).to_string();
            let exact: Vec<_> = self.jobs.iter().filter(|j| key(j) == name).cloned().collect();
            let folded: Vec<_> =
                self.jobs.iter().filter(|j| key(j).to_lowercase() == name.to_lowercase()).cloned().collect();
            match (exact.len(), folded.len()) {
                (1, _) => Resolution::Found(exact[0].clone()),
                (n, _) if n > 1 => Resolution::Ambiguous(exact),
                (_, n) if n > 0 => Resolution::CaseMismatch(folded),
                _ => match self.renamed.get(name) {
                    Some(&i) => Resolution::Unknown { suggestions: vec![self.jobs[i].clone()], renamed: true },
                    None => Resolution::Unknown { suggestions: vec![self.jobs[0].clone()], renamed: false },
                },
            }
        }

        /// The safe fixes of `refs`' names, confirmed as [`confirm`] does.
        fn safe(&self, refs: &[JobRef]) -> SafeFixes {
            let verdicts: Verdicts =
                refs.iter().map(|r| (r.name.clone(), Resolved::of(self.resolve(&r.name)))).collect();
            let judged = judge(&verdicts, &SeverityConfig::default());
            judged
                .iter()
                .filter_map(|(n, v)| v.safe_fix().filter(|f| f.confirmed_by(&self.resolve(&f.value))).map(|f| (n, f)))
                .map(|(n, f)| (n.to_string(), f.clone()))
                .collect()
        }

        /// The fix-all of a text.
        fn fix_all(&self, text: &str) -> String {
            let refs = Scanner::default().scan(text, DocKind::Markdown);
            let safe = self.safe(&refs);
            let edits: Vec<Edit> = safe_edits(&refs, &safe)
                .into_iter()
                .map(|(i, new_text)| Edit { range: refs[i].edit_range.clone(), new_text })
                .collect();
            apply(text, &edits).unwrap()
        }
    }

    #[test]
    fn which_fixes_are_safe() {
        let server = Server::new();
        let text = "job:riverside job:\"highway upgrade 2024\" job:\"Highway Upgrade 2023\" job:drainage \
                    job:Gone job:Zurich job:Old/Path job:\"region a/riverside\" job:[x]";
        expect_test::expect![[r#"job:Riverside job:"Highway Upgrade 2024" job:"Highway Upgrade 2024" job:drainage job:Gone job:"Zürich Bahnhof" job:"Region A/Riverside" job:"Region A/Riverside" job:[x]"#]]
            .assert_eq(&server.fix_all(text));
    }

    /// The property test of the issue: for random documents (emoji, CRLF, a BOM, references at
    /// line ends and the end of the text), fixing all leaves no fixable finding, changes no byte
    /// outside the fixed references, and a second fix-all changes nothing.
    #[test]
    fn fix_all_is_complete_local_and_idempotent() {
        let server = Server::new();
        let pieces = [
            "job:riverside",
            "job:\"RIVERSIDE\"",
            "job:\"Highway Upgrade 2023\"",
            "job:drainage",
            "job:Zurich",
            "job:Zurich.",
            "job:Gone",
            "job:Old/Path",
            "job:\"region a/drainage\"",
            "job:Riverside",
            "🦀",
            "é",
            " ",
            "\r\n",
            "\n",
            "text",
            "`job:riverside`",
            "- ",
            "# ",
            "job:pit-survey_07,",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let scanner = Scanner::default();
        for case in 0..2_000 {
            let mut text = if next(4) == 0 { "\u{feff}".to_string() } else { String::new() };
            for _ in 0..next(24) {
                text.push_str(pieces[next(pieces.len())]);
                if next(3) == 0 {
                    text.push(' ');
                }
            }
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
            let fixed = server.fix_all(&text);
            let refs = scanner.scan(&fixed, DocKind::Markdown);
            assert!(server.safe(&refs).is_empty(), "case {case}: still fixable after fix-all: {fixed:?}");
            assert_eq!(server.fix_all(&fixed), fixed, "case {case}: a second fix-all changed {fixed:?}");
            // Outside the edited references, the bytes are the same: remove every reference's
            // edit range from both texts and compare what is left.
            let outside = |t: &str| {
                let refs = scanner.scan(t, DocKind::Markdown);
                let mut kept = String::new();
                let mut at = 0;
                for r in &refs {
                    kept.push_str(&t[at..r.edit_range.start]);
                    kept.push('\u{0}');
                    at = r.edit_range.end;
                }
                kept.push_str(&t[at..]);
                kept
            };
            assert_eq!(outside(&fixed), outside(&text), "case {case}: a byte outside a reference changed");
        }
    }
}
