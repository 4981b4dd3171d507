//! `synergy-ls check`: the language server's verdicts over a tree of files, for CI.
//!
//! Files are walked like ripgrep does (the `ignore` crate: `.gitignore` respected, hidden files
//! skipped, in parallel), binary and non-UTF-8 files are skipped, every distinct name is
//! resolved once with the same resolver the server uses, and the findings are printed
//! rustc-style, as JSON, as SARIF or as GitHub workflow commands (`check/report.rs`). With
//! `--fix` the safe fixes (`analysis::fix`) are written back, atomically and only where the
//! file is as it was read; `--diff` prints them as a unified diff instead. Exit codes are
//! [`Exit`], documented in the README.

pub mod report;

pub use report::{render_github, render_human, render_json, render_sarif, render_summary};

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde::Serialize;

use crate::analysis::fix::{self, Edit};
use crate::analysis::{self, Verdict, Verdicts};
use crate::config::Severity;
use crate::line_index::{Encoding, positions_in_order};
use crate::model::{JobRef, Resolution, Unavailable};
use crate::resolve::Resolver;
use crate::scan::{DocKind, Scanner};
use crate::settings::Assembled;
use crate::workspace::{self, Rules, Stamp};

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

/// Output formats of `check` (`status` takes `human` and `json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style, for people.
    Human,
    /// One JSON array of findings (`path`, `line`, `column`, `code`, `severity`, `message`, …).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (`::warning file=…::…`): inline pull-request annotations.
    Github,
}

/// What `check` does with the safe fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FixMode {
    /// Report them (the default).
    #[default]
    Report,
    /// `--fix`: write them into the files.
    Write,
    /// `--diff`: print them as a unified diff, write nothing.
    Diff,
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
    /// The path as shown to the user (as typed, joined with what the walk found); in JSON
    /// with `/` separators on Windows too ([`report::portable_path`]).
    #[serde(serialize_with = "report::serialize_portable_path")]
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
    /// The safe fix (`check --fix` applies it), if the finding has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FindingFix>,
    #[serde(skip)]
    line_text: String,
    #[serde(skip)]
    level: Severity,
}

/// A safe fix, located: the characters `column..end_column` (1-based, in characters, on
/// `line`) become `text`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingFix {
    pub line: usize,
    pub column: usize,
    pub end_column: usize,
    /// What to write there (quotes included when the reference has them).
    pub text: String,
}

/// The safe fixes of one file, as the walk read it.
#[derive(Debug)]
pub struct FileFixes {
    pub path: PathBuf,
    /// The path as findings show it.
    pub shown: Arc<str>,
    kind: DocKind,
    stamp: Stamp,
    /// The scanner of the settings the file was checked with, to find its references again
    /// before it is written.
    scanner: Arc<Scanner>,
    /// Each reference to fix (as scanned), what its edit range becomes, and the reference as
    /// it was written when the walk read it.
    edits: Vec<(JobRef, String, String)>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// The files with safe fixes (written by [`apply_fixes`] under `--fix`).
    pub fixable: Vec<FileFixes>,
    /// Findings that have fixes but none safe: a person must choose.
    pub need_choice: usize,
    /// Findings whose safe fix could not be confirmed (the server could not be asked about the
    /// new name): with `--fix` or `--diff` they count as unverified, and nothing is written.
    pub unconfirmed: usize,
    /// What [`apply_fixes`] did: references fixed (or, with `--diff`, that would be) and in
    /// how many files.
    pub fixed: (usize, usize),
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
        self.exit_for(FixMode::Report)
    }

    /// [`Report::exit`] for a run in `mode`: when fixing, a fix that could not be confirmed is
    /// a reference that could not be verified.
    pub fn exit_for(&self, mode: FixMode) -> Exit {
        let unconfirmed = if mode == FixMode::Report { 0 } else { self.unconfirmed };
        if self.problems() > 0 {
            Exit::Stale
        } else if self.unverified + unconfirmed > 0 {
            Exit::Unverified
        } else {
            Exit::Clean
        }
    }

    /// Adds the report of another group of paths, checked with settings of its own (each
    /// path's `.synergy.toml`): its findings after these, counts summed, the first reason a
    /// reference could not be verified kept.
    pub fn merge(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.fixable.extend(other.fixable);
        self.need_choice += other.need_choice;
        self.unconfirmed += other.unconfirmed;
        self.fixed = (self.fixed.0 + other.fixed.0, self.fixed.1 + other.fixed.1);
        self.files += other.files;
        self.references += other.references;
        self.unverified += other.unverified;
        if self.unavailable.is_none() {
            self.unavailable = other.unavailable;
        }
        self.skipped.extend(other.skipped);
        self.errors.extend(other.errors);
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
    let fanout = config.lookup_fanout();
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
    let judged = analysis::judge(&verdicts, &config.diagnostics.severity);
    // The safe fixes' new names are asked too: a fix is applied only when its name is
    // confirmed to be that one job now.
    let fix::Confirmed { safe, unconfirmed } = fix::confirm(resolver, &judged, fanout).await;
    progress.finish();

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
        let mut edits = Vec::new();
        for f in analysis.findings {
            let at = &file.located[f.reference];
            let r = &file.refs[f.reference];
            let safe_fix = fix::safe_text(&safe, &r.name, r.form).map(|text| FindingFix {
                line: at.line,
                column: at.edit.0,
                end_column: at.edit.1,
                text,
            });
            if let Some(x) = &safe_fix {
                edits.push((r.clone(), x.text.clone(), at.written.clone()));
            } else if let Some(why) = unconfirmed.get(&r.name) {
                report.unconfirmed += 1;
                report.unavailable.get_or_insert_with(|| why.clone());
            } else if !f.verdict.fixes.is_empty() {
                report.need_choice += 1;
            }
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
                fix: safe_fix,
                line_text: at.line_text.clone(),
                level: f.verdict.severity,
            });
        }
        if !edits.is_empty() {
            report.fixable.push(FileFixes {
                path: file.path,
                shown: shown_path,
                kind: file.kind,
                stamp: file.stamp,
                scanner: Arc::clone(&settings.scanner),
                edits,
            });
        }
    }
    Ok(report)
}

/// Applies (`FixMode::Write`) or prints as a unified diff on `diff` (`FixMode::Diff`) the safe
/// fixes of `report`, then drops the fixed findings from it (under `Write`). Nothing is written
/// when any reference could not be verified. A file is left alone, with a note on `notes`, when
/// it changed since it was read (its size, time or references differ), is read-only, or cannot
/// be written; each file written is said on `notes`.
pub fn apply_fixes(
    report: &mut Report,
    mode: FixMode,
    diff: &mut dyn Write,
    notes: &mut dyn Write,
) -> std::io::Result<()> {
    if mode == FixMode::Report || report.fixable.is_empty() {
        return Ok(());
    }
    if report.unverified + report.unconfirmed > 0 {
        let n = report.unverified + report.unconfirmed;
        writeln!(notes, "note: nothing was fixed: {n} reference{} could not be verified", plural(n))?;
        return Ok(());
    }
    // Files are fixed on several threads: renaming over a file makes ext4 (and other file
    // systems that guard this pattern) write the new file's data first, so the time is spent
    // waiting on the disk, not on the cores. The notes still come in path order.
    let outcomes = for_each_parallel(&report.fixable, |file| {
        let (old, new) = rewrite(file)?;
        match mode {
            FixMode::Diff => Ok(Some(report::unified_diff(&report::portable_path(&file.shown), &old, &new))),
            _ => write_beside(&file.path, new.as_bytes(), file.stamp).map(|()| None),
        }
    });
    let mut done: std::collections::HashSet<Arc<str>> = std::collections::HashSet::new();
    // One write for all the notes (stderr is not buffered).
    let mut said = Vec::new();
    let notes_out = notes;
    let notes = &mut said;
    for (file, outcome) in report.fixable.iter().zip(outcomes) {
        match outcome {
            Ok(patch) => {
                let n = file.edits.len();
                report.fixed.0 += n;
                report.fixed.1 += 1;
                if let Some(patch) = patch {
                    diff.write_all(patch.as_bytes())?;
                }
                if mode == FixMode::Write {
                    writeln!(notes, "fixed {}: {n} reference{}", file.shown, plural(n))?;
                    done.insert(file.shown.clone());
                }
            }
            Err(why) => writeln!(notes, "note: left {} alone: {why}", file.shown)?,
        }
    }
    notes_out.write_all(&said)?;
    report.findings.retain(|f| f.fix.is_none() || !done.contains(&f.path));
    Ok(())
}

/// `f` of every item, on up to 8 threads (the work is mostly waiting on the disk), in the
/// items' order.
fn for_each_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..items.len().clamp(1, 8) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner()).expect("every item is done"))
        .collect()
}

/// A file's text as it is on disk and as its fixes make it, when it is still as the walk read
/// it: the same size and time, and every reference to fix where it was.
fn rewrite(file: &FileFixes) -> Result<(String, String), String> {
    let bytes = std::fs::read(&file.path).map_err(|e| e.to_string())?;
    let now = std::fs::metadata(&file.path).map_err(|e| e.to_string())?;
    if Stamp::of(&now) != file.stamp {
        return Err("it changed on disk since it was read".into());
    }
    let old = String::from_utf8(bytes).map_err(|_| "it is no longer UTF-8".to_string())?;
    let bom = if old.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let text = &old[bom..];
    let found: std::collections::HashSet<(usize, usize, &str)> = file
        .scanner
        .scan(text, file.kind)
        .into_iter()
        .map(|r| (r.edit_range.start, r.edit_range.end, &text[r.range]))
        .collect();
    // Each reference must be where it was, as it was written when the walk read the file (a
    // copy that keeps the size and time, `cp -p` or `rsync -a`, passes the stamp).
    let mut edits = Vec::with_capacity(file.edits.len());
    for (r, new_text, written) in &file.edits {
        if text.get(r.range.clone()) != Some(written.as_str())
            || !found.contains(&(r.edit_range.start, r.edit_range.end, written.as_str()))
        {
            return Err("its references changed since it was read".into());
        }
        edits.push(Edit { range: r.edit_range.start + bom..r.edit_range.end + bom, new_text: new_text.clone() });
    }
    let new = fix::apply(&old, &edits).map_err(|e| e.to_string())?;
    Ok((old, new))
}

/// Replaces the file at `path` (a link is followed: the file it names is replaced) with
/// `bytes`: written beside it, given its permissions (and owner, on Unix), then renamed over
/// it, so a reader sees the old file or the new one and never a part. Refused when the file is
/// read-only or its stamp is no longer `read`.
fn write_beside(path: &Path, bytes: &[u8], read: Stamp) -> Result<(), String> {
    let link = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    let real =
        if link.is_symlink() { std::fs::canonicalize(path).map_err(|e| e.to_string())? } else { path.to_path_buf() };
    let dir = match real.parent() {
        Some(d) if d.as_os_str().is_empty() => Path::new("."),
        Some(d) => d,
        None => return Err("it has no folder".into()),
    };
    let meta = if link.is_symlink() { std::fs::metadata(&real).map_err(|e| e.to_string())? } else { link };
    // Whether this user may write the file (mode, owner, ACLs): opening it for writing asks the
    // system, and changes nothing. Renaming over it would need only the folder's permission.
    if meta.permissions().readonly() || std::fs::OpenOptions::new().write(true).open(&real).is_err() {
        return Err("it is read-only for you".into());
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".synergy-fix-")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write beside it: {e}"))?;
    tmp.write_all(bytes).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        // The owner first (changing it clears set-user-ID and set-group-ID), then the mode.
        use std::os::unix::fs::MetadataExt;
        let made = tmp.as_file().metadata().map_err(|e| e.to_string())?;
        if (made.uid(), made.gid()) != (meta.uid(), meta.gid())
            && std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid())).is_err()
        {
            return Err("its owner could not be kept".into());
        }
    }
    tmp.as_file().set_permissions(meta.permissions()).map_err(|e| e.to_string())?;
    if std::fs::metadata(&real).map(|m| Stamp::of(&m)).ok() != Some(read) {
        return Err("it changed on disk while it was being fixed".into());
    }
    tmp.persist(&real).map_err(|e| e.error.to_string())?;
    Ok(())
}

/// A walked path as the human report shows it: what the user typed, then the platform's
/// separators (`docs\\sub\\a.md` on Windows, as ripgrep shows it), without a leading `./`
/// (or `.\\`). Machine-read formats use `/` ([`report::portable_path`]).
pub(crate) fn display_path(path: &Path) -> String {
    let path = path.strip_prefix(".").ok().filter(|rest| !rest.as_os_str().is_empty()).unwrap_or(path);
    path.display().to_string()
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
    kind: DocKind,
    stamp: Stamp,
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
    /// The part a fix replaces: its first column and one past its last, on `line`.
    edit: (usize, usize),
    line_text: String,
    written: String,
}

/// Locates `refs` in `text` (one forward pass: `line_index::positions_in_order`).
fn locate(text: &str, refs: &[JobRef]) -> Vec<Located> {
    // In text order: the reference starts, its editable part starts and ends, it ends.
    let offsets: Vec<usize> =
        refs.iter().flat_map(|r| [r.range.start, r.edit_range.start, r.edit_range.end, r.range.end]).collect();
    let placed = positions_in_order(text, &offsets, Encoding::Utf32);
    refs.iter()
        .zip(placed.chunks_exact(4))
        .map(|(r, at)| {
            let ((start, line), (edit_start, _), (edit_end, _), (end, _)) =
                (at[0].clone(), at[1].clone(), at[2].clone(), at[3].clone());
            // A reference ends on its own line; were it ever to span lines, it is marked to
            // the end of the first.
            let line_end = text[line.clone()].chars().count() as u32;
            let on_line =
                |p: crate::line_index::LineCol| if p.line == start.line { p.col } else { line_end } as usize + 1;
            Located {
                line: start.line as usize + 1,
                column: start.col as usize + 1,
                end_column: on_line(end),
                edit: (on_line(edit_start), on_line(edit_end)),
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
        let scanned = workspace::scan_file_stamped(&path, kind, scanner, |text, mut refs, stamp| {
            let count = refs.len();
            names.found(&refs);
            names.keep_undecided(&mut refs);
            let located = locate(text, &refs);
            (count, refs, located, stamp)
        });
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        match scanned {
            Ok((count, refs, located, stamp)) => out.files.push(WalkedFile { path, kind, stamp, count, refs, located }),
            Err(why) => out.skipped.push((path, why)),
        }
        true
    };
    let errors = workspace::walk(&opts.paths, &rules, &visit)?;
    let mut walked = out.into_inner().unwrap_or_else(|e| e.into_inner());
    walked.errors = errors;
    workspace::sort_paths(&mut walked.files, |f| &f.path);
    // A file reached twice (`check docs docs/a.md`, or a path given twice) is one file.
    let key = |p: &Path| p.components().filter(|c| *c != std::path::Component::CurDir).collect::<PathBuf>();
    walked.files.dedup_by(|a, b| key(&a.path) == key(&b.path));
    walked.skipped.sort();
    Ok(walked)
}

pub(crate) fn plural(n: usize) -> &'static str {
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

    /// A file swapped for another with the same size and time (`cp -p`, `rsync -a`) since the
    /// walk read it: its stamp matches, but the reference is not the one checked, so it is
    /// left alone.
    #[test]
    fn a_reference_that_changed_under_the_same_stamp_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        std::fs::write(&path, "job:riverbank\n").unwrap();
        let stamp = Stamp::of(&std::fs::metadata(&path).unwrap());
        let scanner = Arc::new(Scanner::default());
        let was = scanner.scan("job:riverside\n", DocKind::Markdown).remove(0);
        let file = FileFixes {
            path: path.clone(),
            shown: "a.md".into(),
            kind: DocKind::Markdown,
            stamp,
            scanner,
            edits: vec![(was, "Riverside".into(), "job:riverside".into())],
        };
        assert_eq!(rewrite(&file).unwrap_err(), "its references changed since it was read");
        // As it was read, it is fixed.
        std::fs::write(&path, "job:riverside\n").unwrap();
        let file = FileFixes { stamp: Stamp::of(&std::fs::metadata(&path).unwrap()), ..file };
        assert_eq!(rewrite(&file).unwrap().1, "job:Riverside\n");
    }

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
            fix: None,
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
            render_summary(r, FixMode::Report, &mut out).unwrap();
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
