//! The workspace in the editor: the folders, their index (`workspace::index`, the same walk
//! as `check`), kept up to date from `workspace/didChangeWorkspaceFolders` and
//! `workspace/didChangeWatchedFiles` (batched: a `git pull` of 500 files is one re-index and
//! one check), work-done progress for the first index, and the queries over every file, open
//! or not: references to one job, and the jobs referenced.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use tower_lsp_server::ls_types::{FileChangeType, FileEvent, NumberOrString, ProgressToken, Uri};

use super::ext::Indexed;
use super::server::CLIENT_WAIT;
use super::settings::Scope;
use super::state::State;
use crate::line_index::LineCol;
use crate::model::{JobId, Resolution};
use crate::workspace::Rules;
use crate::workspace::index::{self, FileRefs, Index};

/// How often a running index reports progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The workspace's folders, index and what was published for unopened files.
#[derive(Default)]
pub struct WorkspaceState {
    folders: Mutex<Vec<PathBuf>>,
    pub index: Index,
    /// The first index is done.
    indexed_once: AtomicBool,
    /// The current diagnostics of each unopened file that has any, with their fingerprint
    /// (the result id of pull diagnostics).
    pub(super) reports: super::pull::Reports,
    /// The last `workspace/diagnostic` answer of the transport's fast path.
    pub(super) pull_memo: super::pull::PullMemo,
    /// The client pulls the workspace's diagnostics (it sent `workspace/diagnostic`).
    pub(super) pulling: AtomicBool,
    /// A report changed since the client last pulled.
    pub(super) dirty: AtomicBool,
    /// Paths of the open documents (their own diagnostics win).
    open: DashMap<PathBuf, ()>,
    /// Paths of documents closed whose file is being checked again: until it is, a pull does
    /// not call them clean (their report is on its way).
    closing: DashMap<PathBuf, ()>,
    /// A full re-check is running / another is wanted after it.
    pub(super) validating: AtomicBool,
    pub(super) again: AtomicBool,
    /// File-watcher events waiting for their batch.
    pending: Mutex<Vec<FileEvent>>,
    /// A batch of file-watcher events is being handled.
    applying: AtomicBool,
    /// `initialized` arrived: settings changes may re-index from now on.
    pub(super) started: AtomicBool,
    /// The running index build's cancel flag and progress token.
    building: Mutex<Option<(Arc<AtomicBool>, ProgressToken)>>,
    /// Counts progress tokens made.
    tokens: AtomicUsize,
    /// "The workspace has more files than maxFiles" was said.
    told_truncated: AtomicBool,
}

/// A file path as a `file:` URI ([`crate::workspace::file_uri`], the one conversion).
pub fn uri_of(path: &Path) -> Option<Uri> {
    crate::workspace::file_uri::from_path(path)?.parse().ok()
}

/// The local path a `file:` URI names ([`crate::workspace::file_uri`], the one conversion):
/// `None` for other schemes (`untitled:`), and outside Windows for another host.
pub fn path_of(uri: &Uri) -> Option<PathBuf> {
    crate::workspace::file_uri::to_path(uri.as_str())
}

/// Which job a reference means, for references and highlights: the job's ID when the name
/// resolves to one job, else the name as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A job: the server it is on (its URL, as configured) and its ID there.
    Job(Option<String>, JobId),
    Name(String),
}

impl WorkspaceState {
    /// The `file:` URI of an indexed file: its report's if it has one, else made.
    pub fn uri(&self, path: &Path) -> Option<Uri> {
        match self.reports.get(path) {
            Some(r) => Some(r.uri.clone()),
            None => uri_of(path),
        }
    }

    pub fn is_open(&self, path: &Path) -> bool {
        self.open.contains_key(path)
    }

    /// Whether the file's diagnostics are its open document's, or on their way from the
    /// index after it was closed ([`State::reindex_closed`]).
    pub fn is_open_or_closing(&self, path: &Path) -> bool {
        self.open.contains_key(path) || self.closing.contains_key(path)
    }

    /// A closed document's file has been checked again (see `closing`).
    fn closed(&self, path: &Path) {
        if self.closing.remove(path).is_some() {
            self.reports.changed();
        }
    }

    /// Notes that a document is open (`true`) or closed. Returns its path, and whether
    /// diagnostics had been pushed for it as an unopened file.
    pub fn set_open(&self, uri: &Uri, open: bool) -> Option<(PathBuf, bool)> {
        let path = path_of(uri)?;
        let mut pushed = false;
        if open {
            self.open.insert(path.clone(), ());
            if self.reports.remove(&path).is_some() {
                // Pushed until the client pulls; a pull client is asked to pull again.
                pushed = !self.pulling.load(Ordering::SeqCst);
                self.dirty.store(true, Ordering::SeqCst);
            }
        } else {
            self.closing.insert(path.clone(), ());
            self.open.remove(&path);
        }
        // Which files are open decides what a `workspace/diagnostic` answer says of files
        // without a report.
        self.reports.changed();
        Some((path, pushed))
    }

    pub fn folders(&self) -> Vec<PathBuf> {
        self.folders.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The index's size, once the first index is done.
    pub fn indexed(&self) -> Option<Indexed> {
        self.indexed_once
            .load(Ordering::SeqCst)
            .then(|| Indexed { files: self.index.len(), references: self.index.references() })
    }

    /// The folder a path is in (the innermost, when folders nest).
    fn folder_of(&self, path: &Path) -> Option<PathBuf> {
        let folders = self.folders();
        crate::workspace::innermost(path, folders.iter().map(|f| (f.as_path(), f))).cloned()
    }

    /// Cancels the running index build, if its progress token is `token` (any, if `None`).
    pub fn cancel(&self, token: Option<&ProgressToken>) -> bool {
        let building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        match building.as_ref() {
            Some((flag, t)) if token.is_none_or(|token| token == t) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    }
}

impl State {
    /// Sets the workspace folders (from `initialize`); indexed by [`State::index_workspace`].
    pub fn set_folders(&self, folders: Vec<PathBuf>) {
        self.settings.set_folders(&folders);
        *self.workspace.folders.lock().unwrap_or_else(|e| e.into_inner()) = folders;
    }

    /// Reads each folder's `.synergy.toml` into its layer (none when it has none); returns
    /// what could not be read (that folder then goes on without its file).
    pub fn read_folder_files(&self, folders: &[PathBuf]) -> Vec<String> {
        let mut warnings = Vec::new();
        for root in folders {
            let layer = crate::config::file_layer(root).unwrap_or_else(|e| {
                warnings.push(e);
                None
            });
            self.settings.set_folder_file(root, layer.unwrap_or(serde_json::Value::Null));
        }
        warnings
    }

    /// What decides which files of each folder are indexed, and how they are scanned.
    fn files_keys(&self) -> Vec<(PathBuf, String)> {
        let scopes = self.scopes();
        self.workspace.folders().into_iter().map(|f| (f.clone(), files_key(&scopes.of(Some(&f)).config))).collect()
    }

    /// Applies the settings and re-checks; the folders whose files are chosen or scanned
    /// differently now, and `also` (folders just added), are indexed again (once the first
    /// index has started).
    pub async fn reload_and_reindex(self: &Arc<Self>, also: &[PathBuf]) {
        let before = self.files_keys();
        let warnings = self.reload().await;
        self.warn(warnings).await;
        self.publish_status().await;
        let after = self.files_keys();
        let changed: Vec<PathBuf> = after
            .into_iter()
            .filter(|key| !before.contains(key) || also.contains(&key.0))
            .map(|(folder, _)| folder)
            .collect();
        if !changed.is_empty() && self.workspace.started.load(Ordering::SeqCst) {
            let this = Arc::clone(self);
            tokio::spawn(async move { this.index_folders(changed).await });
        }
        self.answers_changed();
    }

    /// Indexes every folder again (after `initialized`, or when settings that choose the files
    /// changed), then checks the unopened files. Does nothing with `workspace.enabled` off
    /// (and forgets an index built before).
    pub async fn index_workspace(self: &Arc<Self>) {
        self.workspace.cancel(None);
        let folders = self.workspace.folders();
        self.index_folders(folders).await;
    }

    /// Indexes `folders` (replacing what was indexed under them), with progress; a folder
    /// whose settings turn the workspace off is forgotten instead.
    async fn index_folders(self: &Arc<Self>, folders: Vec<PathBuf>) {
        self.settings_ready().await;
        let scopes = self.scopes();
        let (folders, off): (Vec<PathBuf>, Vec<PathBuf>) =
            folders.into_iter().partition(|f| scopes.of(Some(f)).config.workspace.enabled);
        for folder in off {
            self.forget_folder(&folder).await;
        }
        if folders.is_empty() {
            self.workspace.indexed_once.store(true, Ordering::SeqCst);
            self.publish_status().await;
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let token =
            NumberOrString::String(format!("synergy-index-{}", self.workspace.tokens.fetch_add(1, Ordering::SeqCst)));
        *self.workspace.building.lock().unwrap_or_else(|e| e.into_inner()) = Some((cancel.clone(), token.clone()));
        let progress = Arc::new(index::Progress::default());
        let reporter = self.progress_reporter(token.clone(), progress.clone());
        let enc = self.caps().encoding;
        let started = std::time::Instant::now();
        // Every folder together, up to the first folder's limit; each, up to its own.
        let total = scopes.outside().config.workspace.max_files;
        let mut left = total;
        let mut truncated = None;
        let mut warnings = Vec::new();
        for root in folders {
            let scope = Arc::clone(scopes.of(Some(&root)));
            let rules = match Rules::for_workspace(&root, &scope.config) {
                Ok(r) => r,
                Err(e) => {
                    warnings.push(e);
                    continue;
                }
            };
            let own = scope.config.workspace.max_files;
            let limit = left.min(own);
            let by_own = own <= left;
            let (scanner, progress, stop, root2) =
                (Arc::clone(&scope.scanner), progress.clone(), cancel.clone(), root.clone());
            let built = tokio::task::spawn_blocking(move || {
                index::build(&root2, &rules, &scanner, enc, limit, &progress, &stop)
            })
            .await;
            let Ok(built) = built else { continue };
            left = left.saturating_sub(built.walked);
            if built.truncated && truncated.is_none() {
                // Which limit stopped it: the folder's own, or what was left of all folders'.
                let name = crate::workspace::folder_name(&root);
                truncated = Some(if by_own {
                    format!(
                        "The workspace folder {name} has more than {own} files to check (workspace.maxFiles); only \
                         the first {own} of them are indexed"
                    )
                } else {
                    format!(
                        "The workspace folders have more than {total} files to check together (workspace.maxFiles, \
                         the first folder's); only {total} of them are indexed, {name} in part"
                    )
                });
            }
            let fresh: HashSet<&PathBuf> = built.files.iter().map(|f| &f.0).collect();
            for stale in self.workspace.index.remove_under(&root) {
                if !fresh.contains(&stale) {
                    // Its report (if any) is cleared below: it has no references any more.
                }
            }
            for (path, refs) in built.files {
                self.workspace.index.set(path, Some(refs));
            }
            for e in built.errors.iter().take(3) {
                tracing::info!("workspace walk: {e}");
            }
            if cancel.load(Ordering::SeqCst) {
                break;
            }
        }
        let cancelled = cancel.load(Ordering::SeqCst);
        {
            let mut building = self.workspace.building.lock().unwrap_or_else(|e| e.into_inner());
            if building.as_ref().is_some_and(|(_, t)| *t == token) {
                *building = None;
            }
        }
        if let Some(what) = truncated
            && !self.workspace.told_truncated.swap(true, Ordering::SeqCst)
        {
            warnings.push(format!("{what}. Narrow it with workspace.exclude or raise workspace.maxFiles."));
        }
        self.workspace.indexed_once.store(true, Ordering::SeqCst);
        let indexed = self.workspace.indexed().unwrap_or(Indexed { files: 0, references: 0 });
        tracing::info!(
            files = indexed.files,
            references = indexed.references,
            ms = started.elapsed().as_millis() as u64,
            "workspace indexed"
        );
        if let Some(reporter) = reporter {
            let done = if cancelled {
                format!("cancelled after {} files", present_count(progress.done.load(Ordering::SeqCst)))
            } else {
                format!("{} references in {} files", present_count(indexed.references), present_count(indexed.files))
            };
            reporter.finish(done).await;
        }
        self.warn(warnings).await;
        self.publish_status().await;
        self.revalidate_workspace();
    }

    /// Starts `$/progress` for an index build when the client supports it: `begin`, then a
    /// `report` of the files read out of those to read ("1,234 / 10,000 files", with the
    /// percentage) every [`PROGRESS_EVERY`], until [`Reporter::finish`].
    fn progress_reporter(self: &Arc<Self>, token: ProgressToken, progress: Arc<index::Progress>) -> Option<Reporter> {
        if !self.caps().work_done_progress {
            return None;
        }
        let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<String>();
        let client = self.client.clone();
        let task = tokio::spawn(async move {
            let created = tokio::time::timeout(CLIENT_WAIT, client.create_work_done_progress(token.clone())).await;
            if !matches!(created, Ok(Ok(()))) {
                return;
            }
            let ongoing = client
                .progress(token, "Indexing job references")
                .with_message("0 files")
                .with_percentage(0)
                .with_cancel_button()
                .begin()
                .await;
            let mut last = (0, 0);
            let message = loop {
                tokio::select! {
                    done = &mut done_rx => break done.unwrap_or_default(),
                    _ = tokio::time::sleep(PROGRESS_EVERY) => {
                        let now = (progress.done.load(Ordering::Relaxed), progress.total.load(Ordering::Relaxed));
                        if now != last {
                            last = now;
                            let (message, percentage) = progress_message(now.0, now.1);
                            ongoing.report_with_message(message, percentage, Some(true)).await;
                        }
                    }
                }
            };
            ongoing.finish_with_message(message).await;
        });
        Some(Reporter { done: done_tx, task })
    }

    /// Forgets a folder: its files leave the index and their diagnostics are cleared.
    pub async fn forget_folder(self: &Arc<Self>, root: &Path) {
        let gone = self.workspace.index.remove_under(root);
        let reported = self.workspace.reports.paths_under(root);
        let mut all: Vec<PathBuf> = gone;
        all.extend(reported);
        all.sort();
        all.dedup();
        self.validate_files(Some(all)).await;
        self.publish_status().await;
    }

    /// `workspace/didChangeWorkspaceFolders`: removed folders are forgotten, added ones indexed.
    pub async fn change_folders(self: &Arc<Self>, added: Vec<PathBuf>, removed: Vec<PathBuf>) {
        {
            let mut folders = self.workspace.folders.lock().unwrap_or_else(|e| e.into_inner());
            folders.retain(|f| !removed.contains(f));
            for a in &added {
                if !folders.contains(a) {
                    folders.push(a.clone());
                }
            }
        }
        self.settings.set_folders(&self.workspace.folders());
        let warnings = self.read_folder_files(&added);
        self.warn(warnings).await;
        self.pull_settings().await;
        for r in &removed {
            self.forget_folder(r).await;
        }
        // Open documents are checked again too: they may be in another folder's scope now.
        self.reload_and_reindex(&added).await;
    }

    /// `workspace/didChangeWatchedFiles`: handled at once; events that arrive meanwhile (a
    /// `git pull` reaches the server as several notifications) wait and are handled together
    /// as the next batch, so a burst costs a few batches, not one check per file.
    pub fn files_changed(self: &Arc<Self>, events: Vec<FileEvent>) {
        self.workspace.pending.lock().unwrap_or_else(|e| e.into_inner()).extend(events);
        if self.workspace.applying.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                while !this.workspace.pending.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                    this.apply_file_changes().await;
                }
                this.workspace.applying.store(false, Ordering::SeqCst);
                // Events that came between the last batch and the store above.
                let more = !this.workspace.pending.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
                if !more || this.workspace.applying.swap(true, Ordering::SeqCst) {
                    break;
                }
            }
        });
    }

    /// Re-reads every file in the pending batch (created or changed) or drops it (deleted,
    /// or no longer taken by the rules), then checks them in one go. A changed
    /// `.synergy.toml` at the root of a folder reloads that folder's settings.
    async fn apply_file_changes(self: &Arc<Self>) {
        let events = std::mem::take(&mut *self.workspace.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut last: HashMap<PathBuf, FileChangeType> = HashMap::new();
        for e in events {
            if let Some(p) = path_of(&e.uri) {
                last.insert(p, e.typ);
            }
        }
        let changed_settings: Vec<PathBuf> = self
            .workspace
            .folders()
            .into_iter()
            .filter(|root| last.contains_key(&root.join(crate::config::CONFIG_FILE)))
            .collect();
        if !changed_settings.is_empty() {
            self.reload_file_settings(&changed_settings).await;
        }
        if !self.workspace.indexed_once.load(Ordering::SeqCst) {
            return;
        }
        let mut touched = Vec::with_capacity(last.len());
        // A folder deleted (editors send one event for a folder and its files): everything
        // under it goes. A file deleted is the same, for one path.
        for (path, _) in last.iter().filter(|(_, typ)| **typ == FileChangeType::DELETED) {
            touched.extend(self.workspace.index.remove_under(path));
            touched.extend(self.workspace.reports.paths_under(path));
        }
        last.retain(|_, typ| *typ != FileChangeType::DELETED);
        let rules = self.folder_rules();
        let enc = self.caps().encoding;
        let read = tokio::task::spawn_blocking(move || {
            // Read on every core, as the walk does: a checkout of 1,000 files is 1,000 reads.
            let paths: Vec<PathBuf> = last.into_keys().collect();
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(paths.len().max(1));
            let chunk = paths.len().div_ceil(threads).max(1);
            let rules = &rules;
            std::thread::scope(|scope| {
                let workers: Vec<_> = paths
                    .chunks(chunk)
                    .map(|paths| {
                        scope.spawn(move || {
                            let mut read = Vec::new();
                            for path in paths {
                                if path.is_dir() {
                                    // A folder created or moved in, announced as one event.
                                    read.extend(rules.folder(path, enc));
                                } else {
                                    read.push((path.clone(), rules.file(path, enc)));
                                }
                            }
                            read
                        })
                    })
                    .collect();
                workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect::<Vec<_>>()
            })
        })
        .await
        .unwrap_or_default();
        for (path, refs) in read {
            let had = self.workspace.index.set(path.clone(), refs);
            if had || self.workspace.index.get(&path).is_some() || self.workspace.reports.contains(&path) {
                touched.push(path);
            }
        }
        touched.sort();
        touched.dedup();
        if !touched.is_empty() {
            self.validate_files(Some(touched)).await;
            self.publish_status().await;
        }
    }

    /// The walk rules and scanner of every workspace folder whose settings index it, built
    /// once for a batch of paths.
    fn folder_rules(&self) -> FolderRules {
        let scopes = self.scopes();
        let rules = self
            .workspace
            .folders()
            .into_iter()
            .filter_map(|root| {
                let scope = scopes.of(Some(&root));
                let config = &scope.config;
                config.workspace.enabled.then_some(())?;
                let rules = Rules::for_workspace(&root, config).ok()?;
                Some(FolderRule {
                    rules,
                    scanner: Arc::clone(&scope.scanner),
                    max_files: config.workspace.max_files,
                    root,
                })
            })
            .collect();
        FolderRules { rules }
    }

    /// Re-reads the `.synergy.toml` of these folders and applies the settings.
    pub async fn reload_file_settings(self: &Arc<Self>, folders: &[PathBuf]) {
        let warnings = self.read_folder_files(folders);
        self.warn(warnings).await;
        self.reload_and_reindex(&[]).await;
    }

    /// A document closed: its file's diagnostics come from the index again, read from disk
    /// (what was on screen may not have been saved), in one publish that replaces the
    /// document's (an empty one when the file has none, is not in the workspace or the
    /// workspace is off).
    pub async fn reindex_closed(self: &Arc<Self>, uri: Uri, path: PathBuf) {
        let enabled = self.scopes().of(Some(&path)).config.workspace.enabled;
        let indexed = enabled && self.workspace.indexed_once.load(Ordering::SeqCst);
        if !indexed || self.workspace.folder_of(&path).is_none() {
            self.workspace.closed(&path);
            self.publish_diagnostics(uri, Vec::new(), None).await;
            return;
        }
        let refs = self.reread(vec![path.clone()]).await.pop().and_then(|(_, refs)| refs);
        self.workspace.index.set(path.clone(), refs);
        // What the document showed is replaced by the file's findings (pushed as a new report)
        // or by nothing.
        self.validate_files(Some(vec![path.clone()])).await;
        self.workspace.closed(&path);
        if !self.workspace.reports.contains(&path) || self.workspace.pulling.load(Ordering::SeqCst) {
            self.publish_diagnostics(uri, Vec::new(), None).await;
        }
        self.publish_status().await;
    }

    /// What a name means for references and rename, in the files of `scope`: its job (on the
    /// scope's server) when the cache knows exactly one job for it, or the job it was seen
    /// renamed to; else the name.
    pub fn identity(scope: &Scope, name: &str) -> Identity {
        let job = |id: &JobId| Identity::Job(scope.config.server_url.clone(), id.clone());
        match scope.resolver.resolve_cached(name).map(|r| r.resolution) {
            Some(Resolution::Found(found)) => job(&found.id),
            Some(Resolution::Unknown { renamed: true, suggestions }) if !suggestions.is_empty() => {
                job(&suggestions[0].id)
            }
            _ => Identity::Name(name.to_string()),
        }
    }

    /// Reads unopened files again from disk, with their folder's walk rules (`None` for a file
    /// the walk would not take, or without references now): fresh positions for edits.
    pub(super) async fn reread(self: &Arc<Self>, paths: Vec<PathBuf>) -> Vec<(PathBuf, Option<FileRefs>)> {
        let rules = self.folder_rules();
        let enc = self.caps().encoding;
        tokio::task::spawn_blocking(move || {
            paths
                .into_iter()
                .map(|p| {
                    let refs = rules.file(&p, enc);
                    (p, refs)
                })
                .collect()
        })
        .await
        .unwrap_or_default()
    }

    /// The references in the workspace whose name `wanted` accepts in the files of a scope
    /// (asked once per scope and distinct name), open documents as they are in the editor and
    /// other files as indexed: `(uri, name, range)` with the range in the client's encoding.
    pub fn references_where(
        &self,
        mut wanted: impl FnMut(&Scope, &str) -> bool,
    ) -> Vec<(Uri, Box<str>, (LineCol, LineCol))> {
        let enc = self.caps().encoding;
        let scopes = self.scopes();
        let mut verdicts: HashMap<(u64, Box<str>), bool> = HashMap::new();
        let mut keep = |scope: &Scope, name: &str| match verdicts.get(&(scope.id, name.into())) {
            Some(k) => *k,
            None => {
                let k = wanted(scope, name);
                verdicts.insert((scope.id, name.into()), k);
                k
            }
        };
        let mut out = Vec::new();
        let uris: Vec<Uri> = self.docs.iter().map(|d| d.key().clone()).collect();
        for uri in uris {
            let scope = scopes.of(path_of(&uri).as_deref());
            let Some(mut doc) = self.docs.get_mut(&uri) else { continue };
            let scan = doc.scan(&scope.scanner);
            for r in scan.refs.iter().filter(|r| keep(scope, &r.name)) {
                let range = (doc.position(r.range.start, enc), doc.position(r.range.end, enc));
                out.push((uri.clone(), r.name.as_str().into(), range));
            }
        }
        self.workspace.index.visit(|path, refs| {
            if self.workspace.is_open(path) {
                return;
            }
            let scope = scopes.of(Some(path));
            let mut matching = refs.refs.iter().filter(|r| keep(scope, &r.name)).peekable();
            if matching.peek().is_none() {
                return;
            }
            let Some(uri) = self.workspace.uri(path) else { return };
            out.extend(matching.map(|r| (uri.clone(), r.name.clone(), r.range)));
        });
        out
    }
}

/// The walk rules of each workspace folder, for paths that did not come from a walk
/// (file-watcher events, documents closed): built once per batch, used on its threads.
struct FolderRules {
    rules: Vec<FolderRule>,
}

/// One folder's walk rules and scanner.
struct FolderRule {
    rules: Rules,
    scanner: Arc<crate::scan::Scanner>,
    max_files: usize,
    root: PathBuf,
}

impl FolderRules {
    /// The rules of the innermost folder holding `path`.
    fn of(&self, path: &Path) -> Option<&FolderRule> {
        crate::workspace::innermost(path, self.rules.iter().map(|r| (r.root.as_path(), r)))
    }

    /// A file's references if the walk would take it (in a folder, not ignored by an ignore
    /// file, not hidden, not excluded, a document or included); `None` otherwise.
    fn file(&self, path: &Path, enc: crate::line_index::Encoding) -> Option<FileRefs> {
        let rule = self.of(path)?;
        if crate::workspace::ignored(&rule.root, path) {
            return None;
        }
        FileRefs::read(path, rule.rules.kind_unwalked(path)?, &rule.scanner, enc).ok().flatten()
    }

    /// The references of every file the walk takes under `dir` (a folder inside a workspace
    /// folder), unless the folder itself is ignored or excluded.
    fn folder(&self, dir: &Path, enc: crate::line_index::Encoding) -> Vec<(PathBuf, Option<FileRefs>)> {
        let Some(rule) = self.of(dir) else { return Vec::new() };
        if crate::workspace::ignored(&rule.root, dir) || rule.rules.excluded(dir) {
            return Vec::new();
        }
        let (progress, cancel) = (index::Progress::default(), AtomicBool::new(false));
        let built = index::build(dir, &rule.rules, &rule.scanner, enc, rule.max_files, &progress, &cancel);
        built.files.into_iter().map(|(p, f)| (p, Some(f))).collect()
    }
}

/// The settings that decide which files the workspace index reads and how it scans them.
pub(super) fn files_key(c: &crate::config::Config) -> String {
    serde_json::json!([c.workspace, c.files, c.scan, c.reference_patterns]).to_string()
}

/// A progress report's message and percentage: `1,234 / 10,000 files` (12 %) once the walk
/// knows how many files there are to read, `1,234 files` (0 %) before.
fn progress_message(done: usize, total: usize) -> (String, u32) {
    if total == 0 {
        return (format!("{} files", present_count(done)), 0);
    }
    let percentage = (done.min(total) * 100 / total) as u32;
    (format!("{} / {} files", present_count(done), present_count(total)), percentage)
}

/// Files counted for people: `1,234`.
fn present_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A running progress report.
struct Reporter {
    done: tokio::sync::oneshot::Sender<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Reporter {
    /// Ends the report with `message` and waits until `end` is sent (bounded).
    async fn finish(self, message: String) {
        let _ = self.done.send(message);
        let _ = tokio::time::timeout(CLIENT_WAIT, self.task).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_messages() {
        assert_eq!(super::progress_message(0, 0), ("0 files".to_string(), 0));
        assert_eq!(super::progress_message(1234, 10_000), ("1,234 / 10,000 files".to_string(), 12));
        assert_eq!(super::progress_message(10_000, 10_000), ("10,000 / 10,000 files".to_string(), 100));
    }

    #[test]
    fn counts_for_people() {
        assert_eq!(super::present_count(0), "0");
        assert_eq!(super::present_count(999), "999");
        assert_eq!(super::present_count(1234), "1,234");
        assert_eq!(super::present_count(1_234_567), "1,234,567");
    }
}
