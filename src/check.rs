//! `synergy-ls check`: the language server's verdicts over a tree of files, for CI.
//!
//! Files are walked like ripgrep does (the `ignore` crate: `.gitignore` respected, hidden files
//! skipped, in parallel), binary and non-UTF-8 files are skipped, every distinct name is
//! resolved once with the same resolver the server uses, and the findings are printed
//! rustc-style or as JSON. Exit codes are [`Exit`], documented in the README.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::analysis::{self, Verdict, Verdicts};
use crate::config::Severity;
use crate::line_index::{Encoding, positions_in_order};
use crate::model::{JobRef, Resolution, Unavailable};
use crate::present;
use crate::resolve::Resolver;
use crate::scan::{DocKind, Scanner};
use crate::settings::Assembled;
use crate::workspace::{self, Rules};

/// Process exit codes of `check` (and of the CLI in general).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every reference resolved (information-level findings do not fail).
    Clean = 0,
    /// At least one finding of severity warning or error (by default: an unknown job).
    Stale = 1,
    /// Some references could not be verified: server unreachable, token rejected, …
    Unverified = 2,
    /// Bad command line or configuration.
    Usage = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// What to check.
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// A problem found in a file, as printed and as serialized for `--format json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub path: Arc<str>,
    pub line: usize,
    pub column: usize,
    /// One past the last character, as in SARIF.
    pub end_column: usize,
    pub reference: String,
    pub code: &'static str,
    pub severity: &'static str,
    pub message: Arc<str>,
    pub suggestions: Arc<[String]>,
    #[serde(skip)]
    line_text: String,
    #[serde(skip)]
    level: Severity,
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub files: usize,
    pub references: usize,
    /// References that could not be checked, and why (the first reason seen).
    pub unverified: usize,
    pub unavailable: Option<Unavailable>,
    pub skipped: Vec<(PathBuf, String)>,
    pub errors: Vec<String>,
}

impl Report {
    /// The exit code: a definite finding (warning or error) wins over references that could
    /// not be verified, so "try later" never hides a stale reference; then "could not
    /// verify"; then clean (information and hint findings do not fail).
    pub fn exit(&self) -> Exit {
        if self.problems() > 0 {
            Exit::Stale
        } else if self.unverified > 0 {
            Exit::Unverified
        } else {
            Exit::Clean
        }
    }

    /// Findings of severity warning or error.
    pub fn problems(&self) -> usize {
        self.findings.iter().filter(|f| f.level >= Severity::Warning).count()
    }
}

/// Walks, scans and resolves with the settings `settings` (see [`crate::settings`]). Errors
/// in the options (bad globs, a path that does not exist) are `Err`.
pub async fn run(opts: &Options, settings: &Assembled, resolver: &Arc<Resolver>) -> Result<Report, String> {
    if let Some(e) = settings.errors.first() {
        return Err(e.clone());
    }
    let config = Arc::clone(&settings.config);
    let scanner = Arc::clone(&settings.scanner);
    // Names are resolved while the walk goes on: each is sent once, as soon as a walker thread
    // finds it, so the searches overlap the reading instead of following it.
    let (names_tx, names_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let progress = Progress::new();
    let fanout = config.max_concurrent_requests.max(1) * 4;
    // The walk owns the only sender, so the stream of names ends with the walk.
    let fine = Arc::new(std::sync::RwLock::new(std::collections::HashSet::new()));
    let names = NameSink { seen: Mutex::new(std::collections::HashSet::new()), fine: Arc::clone(&fine), tx: names_tx };
    let resolving = {
        let resolver = Arc::clone(resolver);
        let progress = progress.clone();
        let config = Arc::clone(&config);
        tokio::spawn(async move {
            tokio_stream_of(names_rx)
                .map(|name| {
                    let resolver = Arc::clone(&resolver);
                    async move {
                        let r = resolver.resolve(&name).await;
                        (name, r)
                    }
                })
                .buffer_unordered(fanout)
                .map(|(name, r)| {
                    progress.tick();
                    let verdict = Verdict::of(&name, &r.resolution, &config.diagnostics.severity);
                    if verdict.is_none() && !matches!(r.resolution, Resolution::Unavailable(_)) {
                        fine.write().unwrap_or_else(|e| e.into_inner()).insert(name.clone());
                    }
                    (name, r)
                })
                .collect::<Verdicts>()
                .await
        })
    };
    let walked = {
        let mut opts = opts.clone();
        opts.include.extend(config.files.include.iter().cloned());
        opts.exclude.extend(config.files.exclude.iter().cloned());
        tokio::task::spawn_blocking(move || walk(&opts, &scanner, &names)).await.map_err(|e| e.to_string())??
    };
    let verdicts = resolving.await.map_err(|e| e.to_string())?;
    progress.finish();
    let judged = analysis::judge(&verdicts, &config.diagnostics.severity);

    let mut report = Report { skipped: walked.skipped, errors: walked.errors, ..Report::default() };
    for file in walked.files {
        report.files += 1;
        report.references += file.count;
        let analysis = analysis::analyze(&file.refs, &verdicts, &judged);
        report.unverified += analysis.unverified;
        if report.unavailable.is_none() {
            report.unavailable = analysis.unavailable;
        }
        if analysis.findings.is_empty() {
            continue;
        }
        let shown_path: Arc<str> = display_path(&file.path).into();
        for f in analysis.findings {
            let at = &file.located[f.reference];
            report.findings.push(Finding {
                path: shown_path.clone(),
                line: at.line,
                column: at.column,
                end_column: at.end_column,
                reference: at.written.clone(),
                code: f.verdict.code.as_str(),
                severity: f.verdict.severity.as_str(),
                message: f.verdict.message.clone(),
                suggestions: f.verdict.fixes.iter().map(|x| x.value.clone()).collect(),
                line_text: at.line_text.clone(),
                level: f.verdict.severity,
            });
        }
    }
    Ok(report)
}

fn display_path(path: &Path) -> String {
    let s = path.strip_prefix("./").unwrap_or(path).display().to_string();
    if cfg!(windows) { s.replace('\\', "/") } else { s }
}

/// Where walker threads report each distinct name once, and learn which names are settled
/// as fine.
struct NameSink {
    seen: Mutex<std::collections::HashSet<String>>,
    /// Names already resolved to a verdict that is no finding: their references are counted
    /// but not kept (most references, in a healthy tree).
    fine: Arc<std::sync::RwLock<std::collections::HashSet<String>>>,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
}

impl NameSink {
    fn found(&self, refs: &[JobRef]) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for r in refs {
            if !seen.contains(&r.name) {
                seen.insert(r.name.clone());
                let _ = self.tx.send(r.name.clone());
            }
        }
    }

    /// Drops the references whose names are known to be fine.
    fn keep_undecided(&self, refs: &mut Vec<JobRef>) {
        let fine = self.fine.read().unwrap_or_else(|e| e.into_inner());
        if !fine.is_empty() {
            refs.retain(|r| !fine.contains(&r.name));
        }
    }
}

/// An unbounded receiver as a stream.
fn tokio_stream_of<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A file with references, as the walk leaves it for the findings.
#[derive(Debug)]
struct WalkedFile {
    path: PathBuf,
    /// How many references it has.
    count: usize,
    /// Those of them not already known to be fine (see [`NameSink::keep_undecided`]).
    refs: Vec<JobRef>,
    /// Where each of `refs` is, for people (the text itself is not kept).
    located: Vec<Located>,
}

/// A reference located for people: 1-based line and columns in characters (from
/// `line_index`), its line and how it was written.
#[derive(Debug)]
struct Located {
    line: usize,
    column: usize,
    /// One past the last character, as in SARIF.
    end_column: usize,
    line_text: String,
    written: String,
}

/// Locates `refs` in `text` (one forward pass: `line_index::positions_in_order`).
fn locate(text: &str, refs: &[JobRef]) -> Vec<Located> {
    let offsets: Vec<usize> = refs.iter().flat_map(|r| [r.range.start, r.range.end]).collect();
    let placed = positions_in_order(text, &offsets, Encoding::Utf32);
    refs.iter()
        .zip(placed.chunks_exact(2))
        .map(|(r, at)| {
            let ((start, line), (end, _)) = (at[0].clone(), at[1].clone());
            // A reference ends on its own line; were it ever to span lines, it is marked to
            // the end of the first.
            let end_column = if end.line == start.line { end.col as usize } else { text[line.clone()].chars().count() };
            Located {
                line: start.line as usize + 1,
                column: start.col as usize + 1,
                end_column: end_column + 1,
                line_text: text[line].to_string(),
                written: text[r.range.clone()].to_string(),
            }
        })
        .collect()
}

#[derive(Debug, Default)]
struct Walked {
    files: Vec<WalkedFile>,
    skipped: Vec<(PathBuf, String)>,
    errors: Vec<String>,
}

fn walk(opts: &Options, scanner: &Scanner, names: &NameSink) -> Result<Walked, String> {
    let rules = Rules::new(Path::new("."), &opts.include, &opts.exclude, ("--include", "--exclude"))?;
    let out = Mutex::new(Walked::default());
    let visit = |path: PathBuf, kind: DocKind| {
        let scanned = workspace::scan_file(&path, kind, scanner, |text, mut refs| {
            let count = refs.len();
            names.found(&refs);
            names.keep_undecided(&mut refs);
            let located = locate(text, &refs);
            (count, refs, located)
        });
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        match scanned {
            Ok((count, refs, located)) => out.files.push(WalkedFile { path, count, refs, located }),
            Err(why) => out.skipped.push((path, why)),
        }
        true
    };
    let errors = workspace::walk(&opts.paths, &rules, &visit)?;
    let mut walked = out.into_inner().unwrap_or_else(|e| e.into_inner());
    walked.errors = errors;
    workspace::sort_paths(&mut walked.files, |f| &f.path);
    walked.skipped.sort();
    Ok(walked)
}

/// rustc-style output.
pub fn render_human(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for f in &report.findings {
        let line_no = f.line.to_string();
        let pad = " ".repeat(line_no.len());
        writeln!(out, "{}[{}]: {}", f.severity, f.code, f.message)?;
        writeln!(out, "{pad}--> {}:{}:{}", f.path, f.line, f.column)?;
        writeln!(out, "{pad} |")?;
        let shown: String = f.line_text.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
        writeln!(out, "{line_no} | {shown}")?;
        // Carets line up under wide characters (emoji, CJK) as a terminal shows them.
        let before: String = shown.chars().take(f.column - 1).collect();
        let marked: String = shown.chars().skip(f.column - 1).take(f.end_column.saturating_sub(f.column)).collect();
        let carets = "^".repeat(marked.width().max(1));
        writeln!(out, "{pad} | {}{carets}", " ".repeat(before.width()))?;
        if !f.suggestions.is_empty() {
            let list: Vec<String> =
                f.suggestions.iter().map(|s| format!("job:{}", crate::model::format_name(s))).collect();
            writeln!(out, "{pad} = help: {}", list.join(" or "))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The summary and any "could not verify" error, for stderr.
pub fn render_summary(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for (path, why) in &report.skipped {
        if why != "binary" {
            writeln!(out, "note: skipped {}: {why}", display_path(path))?;
        }
    }
    for e in &report.errors {
        writeln!(out, "note: {e}")?;
    }
    if let Some(why) = &report.unavailable {
        writeln!(
            out,
            "error: could not verify {} reference{}: {}",
            report.unverified,
            plural(report.unverified),
            present::unavailable_reason_batch(why)
        )?;
    }
    let problems = report.problems();
    let notes = report.findings.len() - problems;
    writeln!(
        out,
        "synergy-ls: {problems} problem{}, {notes} note{} in {} reference{} across {} file{}{}",
        plural(problems),
        plural(notes),
        report.references,
        plural(report.references),
        report.files,
        plural(report.files),
        if report.unverified > 0 { format!("; {} not verified", report.unverified) } else { String::new() }
    )
}

pub fn render_json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    // One line, as machine formats are (`cargo --message-format json`, `rg --json`): a quarter
    // faster to write than indented JSON for 12,000 findings. Into memory first: the
    // formatter's many small writes are cheaper there than through `dyn Write`.
    let mut json = serde_json::to_vec(&report.findings)?;
    json.push(b'\n');
    out.write_all(&json)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A one-line progress counter on stderr, only when stderr is a terminal.
#[derive(Clone)]
struct Progress {
    done: Arc<std::sync::atomic::AtomicUsize>,
    enabled: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress { done: Arc::default(), enabled: std::io::stderr().is_terminal() }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if self.enabled && done % 10 == 0 {
            let _ = write!(std::io::stderr(), "\rjob names checked: {done}");
        }
    }

    fn finish(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(level: Severity) -> Finding {
        Finding {
            path: "a.md".into(),
            line: 1,
            column: 1,
            end_column: 5,
            reference: "job:X".into(),
            code: "unknown-job",
            severity: level.as_str(),
            message: "m".into(),
            suggestions: Arc::new([]),
            line_text: String::new(),
            level,
        }
    }

    /// A definite finding is never hidden behind "try later"; notes never fail; the summary
    /// says each.
    #[test]
    fn exit_code_precedence_and_summary() {
        let summary = |r: &Report| {
            let mut out = Vec::new();
            render_summary(r, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let unavailable = Some(Unavailable::RateLimited(Some(1)));
        let mut report = Report { references: 4, files: 2, ..Report::default() };
        assert_eq!(report.exit(), Exit::Clean);
        report.findings = vec![finding(Severity::Information), finding(Severity::Hint)];
        assert_eq!(report.exit(), Exit::Clean, "notes do not fail");
        assert!(summary(&report).ends_with("synergy-ls: 0 problems, 2 notes in 4 references across 2 files\n"));
        report.unverified = 2;
        report.unavailable = unavailable.clone();
        assert_eq!(report.exit(), Exit::Unverified);
        report.findings.push(finding(Severity::Warning));
        assert_eq!(report.exit(), Exit::Stale, "a stale reference wins over could-not-verify");
        let said = summary(&report);
        assert!(
            said.contains(
                "error: could not verify 2 references: The server is rate-limiting requests; try again later."
            ),
            "{said}"
        );
        assert!(
            said.ends_with("synergy-ls: 1 problem, 2 notes in 4 references across 2 files; 2 not verified\n"),
            "{said}"
        );
        report.findings = vec![finding(Severity::Error)];
        report.unverified = 0;
        assert_eq!(report.exit(), Exit::Stale);
    }
}
