//! The analysis: references and their verdicts → findings. LSP-free and IO-free apart from the
//! [`Resolver`]; the language server (`lsp/diagnostics.rs`, `lsp/handlers.rs`) and `check` both
//! call it, so what counts as a problem, at which severity, with which message and which fixes
//! (and which of them is preferred) is decided here once.
//!
//! The core loop is: scan (`scan`) → distinct names → [`resolve_cached`] / [`resolve_all`] →
//! [`Verdict::of`] per name → [`analyze`] per text, which places each verdict on its
//! references and counts those that could not be verified. [`fix`] decides which fixes are
//! safe to apply without asking and applies them.

pub mod fix;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;

use crate::config::{Severity, SeverityConfig};
use crate::model::{DiagnosticCode, JobId, JobRef, RefForm, Resolution, Unavailable, is_referenceable};
use crate::present;
use crate::resolve::{Resolved, Resolver};

/// The verdicts of a set of names, by name as written.
pub type Verdicts = HashMap<String, Resolved>;

/// One way to fix a reference: what to write instead, and whether it is the one right answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// For people: `Replace with "Riverside East"`.
    pub title: String,
    /// The name or path to write, unquoted.
    pub value: String,
    /// The fix to apply without asking: the new name of a renamed job, or the only
    /// differently-cased match (LSP's `isPreferred`). Safe once confirmed ([`fix::confirm`]).
    pub preferred: bool,
    /// The job the value names (a fix is applied only once the value is confirmed to name
    /// exactly this job).
    pub target: Option<JobId>,
}

impl Fix {
    /// The text that replaces a reference's `edit_range`, keeping its form
    /// ([`fix::new_text`]).
    pub fn new_text(&self, form: RefForm) -> String {
        fix::new_text(&self.value, form)
    }
}

/// The fixes for a reference to `name` with this verdict, best first: the suggested or
/// differently-cased names (paths, for a path), or the paths of the jobs sharing an ambiguous
/// name. Empty when the verdict is not a problem. Offered whatever the configured severity.
/// A name the grammar cannot write (it holds `"` or a line break) is never offered.
pub fn fixes(name: &str, resolution: &Resolution) -> Vec<Fix> {
    let (verb, preferred, jobs): (&str, &dyn Fn(usize) -> bool, _) = match resolution {
        Resolution::Unknown { renamed, suggestions } => ("Replace with", &|i| *renamed && i == 0, suggestions),
        Resolution::CaseMismatch(jobs) => ("Change to", &|_| jobs.len() == 1, jobs),
        Resolution::Ambiguous(jobs) => ("Use the path", &|_| false, jobs),
        Resolution::Found(_) | Resolution::Unavailable(_) => return Vec::new(),
    };
    resolution
        .replacements(name)
        .into_iter()
        .enumerate()
        .filter(|(_, to)| is_referenceable(to))
        .map(|(i, to)| Fix {
            title: format!("{verb} \"{to}\""),
            value: to.to_string(),
            preferred: preferred(i),
            target: jobs.get(i).map(|j| j.id.clone()),
        })
        .collect()
}

/// What every reference to one name shares when its verdict is a problem: built once per
/// name, its strings shared by every finding.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub code: DiagnosticCode,
    /// Never [`Severity::Off`]: a code turned off yields no verdict.
    pub severity: Severity,
    pub message: Arc<str>,
    pub fixes: Arc<[Fix]>,
}

impl Verdict {
    /// `None` when the reference is fine, could not be checked, or its code is turned off.
    pub fn of(name: &str, resolution: &Resolution, severities: &SeverityConfig) -> Option<Verdict> {
        let code = resolution.code()?;
        let severity = severities.of(code);
        if severity == Severity::Off {
            return None;
        }
        Some(Verdict {
            code,
            severity,
            message: present::diagnostic_message(name, resolution)?.into(),
            fixes: fixes(name, resolution).into(),
        })
    }
}

/// A reference as the analysis needs it: its name. Implemented by the scanner's
/// [`JobRef`] (byte ranges into a text) and the workspace index's `IndexedRef` (positions,
/// no text), so open documents, unopened files and `check` share one analysis.
pub trait Reference {
    /// The name or path as written, without quotes.
    fn name(&self) -> &str;
    /// How it was written (a fix keeps the form).
    fn form(&self) -> RefForm;
}

impl Reference for JobRef {
    fn name(&self) -> &str {
        &self.name
    }

    fn form(&self) -> RefForm {
        self.form
    }
}

impl Reference for crate::workspace::index::IndexedRef {
    fn name(&self) -> &str {
        &self.name
    }

    fn form(&self) -> RefForm {
        self.form
    }
}

/// A problem at one reference.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Which reference: its index in the slice given to [`analyze`] (its range, the part a
    /// fix replaces and its form are there).
    pub reference: usize,
    pub verdict: Verdict,
}

/// The findings of one text.
#[derive(Debug, Default)]
pub struct Analysis {
    /// In the order of the references.
    pub findings: Vec<Finding>,
    /// References whose verdict is [`Resolution::Unavailable`]: never findings.
    pub unverified: usize,
    /// Why the first of those could not be checked.
    pub unavailable: Option<Unavailable>,
}

/// Judges each distinct name of `verdicts` once.
pub fn judge<'a>(verdicts: &'a Verdicts, severities: &SeverityConfig) -> HashMap<&'a str, Verdict> {
    verdicts
        .iter()
        .filter_map(|(name, r)| Some((name.as_str(), Verdict::of(name, &r.resolution, severities)?)))
        .collect()
}

/// Places the verdicts on `refs`. A reference whose name has no verdict in `judged` and no
/// entry in `verdicts` is not yet known and is skipped (neither a finding nor unverified).
pub fn analyze<R: Reference>(refs: &[R], verdicts: &Verdicts, judged: &HashMap<&str, Verdict>) -> Analysis {
    let mut out = Analysis::default();
    for (i, r) in refs.iter().enumerate() {
        if let Some(v) = judged.get(r.name()) {
            out.findings.push(Finding { reference: i, verdict: v.clone() });
        } else if let Some(Resolved { resolution: Resolution::Unavailable(why), .. }) = verdicts.get(r.name()) {
            out.unverified += 1;
            out.unavailable.get_or_insert_with(|| why.clone());
        }
    }
    out
}

/// The distinct names of `refs`.
pub fn names<R: Reference>(refs: &[R]) -> HashSet<&str> {
    refs.iter().map(|r| r.name()).collect()
}

/// The verdicts the cache already has (stale ones too, refreshed in the background), and the
/// names that need a request.
pub fn resolve_cached<'a>(
    resolver: &Arc<Resolver>,
    names: impl IntoIterator<Item = &'a str>,
) -> (Verdicts, Vec<String>) {
    let mut verdicts = Verdicts::new();
    let mut missing = Vec::new();
    for name in names {
        match resolver.resolve_cached(name) {
            Some(r) => {
                verdicts.insert(name.to_string(), r);
            }
            None => missing.push(name.to_string()),
        }
    }
    (verdicts, missing)
}

/// The verdicts of `names`: the cache's (stale ones too), then the server's for the rest, at
/// most `fanout` lookups started at once.
pub async fn resolve_names<'a>(
    resolver: &Arc<Resolver>,
    names: impl IntoIterator<Item = &'a str>,
    fanout: usize,
) -> Verdicts {
    let (mut verdicts, missing) = resolve_cached(resolver, names);
    if !missing.is_empty() {
        verdicts.extend(resolve_all(resolver, missing, fanout).await);
    }
    verdicts
}

/// Resolves every name, at most `fanout` lookups started at once (the resolver's host gate
/// bounds the requests actually in flight).
pub async fn resolve_all(resolver: &Arc<Resolver>, names: Vec<String>, fanout: usize) -> Vec<(String, Resolved)> {
    futures::stream::iter(names)
        .map(|name| async move {
            let r = resolver.resolve(&name).await;
            (name, r)
        })
        .buffer_unordered(fanout.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Job;
    use crate::scan::{DocKind, Scanner};

    fn resolved(resolution: Resolution) -> Resolved {
        Resolved::of(resolution)
    }

    /// The policy in one table: which verdicts are findings, at which severity, with which
    /// fixes and which of them is preferred; unavailable references are counted apart.
    #[test]
    fn verdicts_to_findings() {
        let river = Arc::new(Job::named("1", "Riverside", "Region A/Riverside"));
        let river2 = Arc::new(Job::named("2", "Riverside", "Region B/Riverside"));
        let east = Arc::new(Job::named("3", "Riverside East", "Region A/Riverside East"));
        let text = "job:Riverside job:riverside job:Gone job:Old job:Twin job:\"Region A/Old\" job:Down job:Riverside";
        let refs = Scanner::default().scan(text, DocKind::Plain);
        let verdicts: Verdicts = [
            ("Riverside", Resolution::Found(river.clone())),
            ("riverside", Resolution::CaseMismatch(vec![river.clone()])),
            ("Gone", Resolution::Unknown { suggestions: vec![east.clone()], renamed: false }),
            ("Old", Resolution::Unknown { suggestions: vec![east.clone()], renamed: true }),
            ("Twin", Resolution::Ambiguous(vec![river.clone(), river2])),
            ("Region A/Old", Resolution::Unknown { suggestions: vec![east], renamed: true }),
            ("Down", Resolution::Unavailable(Unavailable::Unreachable("x".into()))),
        ]
        .into_iter()
        .map(|(n, r)| (n.to_string(), resolved(r)))
        .collect();
        let mut severities = SeverityConfig::default();
        let judged = judge(&verdicts, &severities);
        let a = analyze(&refs, &verdicts, &judged);
        let shown: Vec<String> = a
            .findings
            .iter()
            .map(|f| {
                let r = &refs[f.reference];
                let fixes: Vec<String> = f
                    .verdict
                    .fixes
                    .iter()
                    .map(|x| format!("{}{}", x.new_text(r.form), if x.preferred { "*" } else { "" }))
                    .collect();
                format!(
                    "{} {} {} -> {}",
                    &text[r.range.clone()],
                    f.verdict.code.as_str(),
                    f.verdict.severity.as_str(),
                    fixes.join(" | ")
                )
            })
            .collect();
        expect_test::expect![[r#"
            [
                "job:riverside case-mismatch information -> Riverside*",
                "job:Gone unknown-job warning -> \"Riverside East\"",
                "job:Old unknown-job warning -> \"Riverside East\"*",
                "job:Twin ambiguous-job information -> \"Region A/Riverside\" | \"Region B/Riverside\"",
                "job:\"Region A/Old\" unknown-job warning -> \"Region A/Riverside East\"*",
            ]
        "#]]
        .assert_debug_eq(&shown);
        assert_eq!(a.unverified, 1);
        assert!(matches!(a.unavailable, Some(Unavailable::Unreachable(_))));
        // A code turned off is no finding; its fixes are still offered to a quick fix.
        severities.unknown_job = Severity::Off;
        let judged = judge(&verdicts, &severities);
        assert_eq!(analyze(&refs, &verdicts, &judged).findings.len(), 2);
        assert_eq!(fixes("Gone", &verdicts["Gone"].resolution).len(), 1);
    }
}
