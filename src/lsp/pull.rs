//! `workspace/diagnostic` (LSP 3.17 pull diagnostics for the whole workspace): the reports of
//! unopened files ([`Reports`], with a generation that changes whenever they or the set of
//! open files change), the answer built from them ([`State::pull_report`]), and its fast path
//! behind the transport ([`super::transport::Shortcut`]).
//!
//! A workspace's answer names every file with diagnostics, and the request every file the
//! editor shows (about 1 MB each way for 7,000 files). tower-lsp-server turns both into
//! `serde_json::Value` trees, which is most of the time such a request takes; the fast path
//! parses the request with its URIs borrowed from the message and serializes the answer
//! directly. An editor asks again with the same result ids while nothing changes, so the
//! fast path also keeps its last answer and sends it again for the same request when the
//! generation is still the one it was built at.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use tower_lsp_server::ls_types::notification::{Notification, PublishDiagnostics};
use tower_lsp_server::ls_types::{
    Diagnostic, FullDocumentDiagnosticReport, PublishDiagnosticsParams, UnchangedDocumentDiagnosticReport, Uri,
    WorkspaceDiagnosticParams, WorkspaceDiagnosticReport, WorkspaceDiagnosticReportResult,
    WorkspaceDocumentDiagnosticReport, WorkspaceFullDocumentDiagnosticReport,
    WorkspaceUnchangedDocumentDiagnosticReport,
};

use super::state::State;

/// The current diagnostics of an unopened file: what is pushed, or pulled with
/// `workspace/diagnostic` (the fingerprint, in lower-case hex, is the result id).
#[derive(Debug)]
pub struct Report {
    pub fingerprint: u64,
    pub uri: Uri,
    pub diagnostics: Vec<Diagnostic>,
}

/// The result id of an empty report.
const CLEAN: &str = "clean";

/// The report of every unopened file that has diagnostics, by path. Changed only through
/// its methods, each of which moves the generation on after the change, so an answer
/// built at one generation is known to be current while the generation is unchanged.
#[derive(Default)]
pub struct Reports {
    map: DashMap<PathBuf, Arc<Report>>,
    generation: AtomicU64,
}

impl Reports {
    pub fn get(&self, path: &Path) -> Option<Arc<Report>> {
        self.map.get(path).map(|r| Arc::clone(&r))
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.map.contains_key(path)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn insert(&self, path: PathBuf, report: Arc<Report>) {
        self.map.insert(path, report);
        self.changed();
    }

    pub fn remove(&self, path: &Path) -> Option<Arc<Report>> {
        let removed = self.map.remove(path).map(|(_, r)| r);
        if removed.is_some() {
            self.changed();
        }
        removed
    }

    /// The paths with a report.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.map.iter().map(|r| r.key().clone()).collect()
    }

    /// The paths with a report under `root` (or `root` itself).
    pub fn paths_under(&self, root: &Path) -> Vec<PathBuf> {
        self.map.iter().filter(|r| r.key().starts_with(root)).map(|r| r.key().clone()).collect()
    }

    /// Moves the generation on: something an answer depends on changed (a report, or which
    /// files are open).
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// The last answer of the fast path: the request's `previousResultIds` as sent and the
/// `result` as answered, at a generation of [`Reports`].
pub struct Memo {
    generation: u64,
    previous: Box<[u8]>,
    result: Arc<[u8]>,
}

/// Where the fast path keeps its [`Memo`].
pub type PullMemo = Mutex<Option<Memo>>;

impl State {
    /// `workspace/diagnostic` through tower-lsp-server (when the transport's fast path did not
    /// take it: see the module docs): the same answer as the fast path's.
    pub async fn workspace_diagnostic(
        self: &Arc<Self>,
        params: WorkspaceDiagnosticParams,
    ) -> WorkspaceDiagnosticReportResult {
        for uri in self.start_pulling() {
            self.publish_diagnostics(uri, Vec::new(), None).await;
        }
        let previous: Vec<(&str, &str)> =
            params.previous_result_ids.iter().map(|p| (p.uri.as_str(), p.value.as_str())).collect();
        WorkspaceDiagnosticReportResult::Report(self.pull_report(&previous))
    }

    /// Switches unopened files from push to pull, once: the files whose pushed lists are to be
    /// cleared (the pull replaces them); none after the first call.
    fn start_pulling(&self) -> Vec<Uri> {
        let ws = &self.workspace;
        if ws.pulling.swap(true, Ordering::SeqCst) {
            return Vec::new();
        }
        ws.reports.map.iter().map(|r| r.uri.clone()).collect()
    }

    /// The answer to `workspace/diagnostic`, given the client's previous result ids as
    /// `(uri, result id)`: a report for every unopened file with diagnostics ("unchanged"
    /// where the client's id is current), then an empty one for each file the client names
    /// that has none now and is not open nor just closed (it was fixed or deleted;
    /// "unchanged" if the client's id already says so).
    fn pull_report(&self, previous: &[(&str, &str)]) -> WorkspaceDiagnosticReport {
        let started = std::time::Instant::now();
        let ws = &self.workspace;
        let at: std::collections::HashMap<&str, usize> =
            previous.iter().enumerate().map(|(i, (uri, _))| (*uri, i)).collect();
        let mut named = vec![false; previous.len()];
        let mut items = Vec::with_capacity(ws.reports.map.len());
        for report in ws.reports.map.iter() {
            let result_id = super::to_proto::result_id(report.fingerprint);
            let current = match at.get(report.uri.as_str()) {
                Some(&i) => {
                    named[i] = true;
                    previous[i].1 == result_id
                }
                None => false,
            };
            items.push(if current {
                unchanged(report.uri.clone(), result_id)
            } else {
                full(report.uri.clone(), result_id, report.diagnostics.clone())
            });
        }
        for (i, (uri, id)) in previous.iter().enumerate() {
            if named[i] || crate::workspace::file_uri::to_path(uri).is_some_and(|path| ws.is_open_or_closing(&path)) {
                continue;
            }
            // A URI the client sent; one that does not parse was never ours.
            let Ok(uri) = uri.parse::<Uri>() else { continue };
            items.push(if *id == CLEAN { unchanged(uri, CLEAN.into()) } else { full(uri, CLEAN.into(), Vec::new()) });
        }
        tracing::debug!(items = items.len(), ms = started.elapsed().as_secs_f64() * 1e3, "workspace/diagnostic");
        WorkspaceDiagnosticReport { items }
    }
}

fn unchanged(uri: Uri, result_id: String) -> WorkspaceDocumentDiagnosticReport {
    WorkspaceDocumentDiagnosticReport::Unchanged(WorkspaceUnchangedDocumentDiagnosticReport {
        uri,
        version: None,
        unchanged_document_diagnostic_report: UnchangedDocumentDiagnosticReport { result_id },
    })
}

fn full(uri: Uri, result_id: String, items: Vec<Diagnostic>) -> WorkspaceDocumentDiagnosticReport {
    WorkspaceDocumentDiagnosticReport::Full(WorkspaceFullDocumentDiagnosticReport {
        uri,
        version: None,
        full_document_diagnostic_report: FullDocumentDiagnosticReport { result_id: Some(result_id), items },
    })
}

/// `workspace/diagnostic` behind the transport (see the module docs): the same answer as
/// [`State::workspace_diagnostic`], from the raw message to the raw response.
impl super::transport::Shortcut for State {
    fn methods(&self) -> &'static [&'static str] {
        &["workspace/diagnostic"]
    }

    fn ready(&self) -> bool {
        self.initialized.load(Ordering::SeqCst)
    }

    fn answer(&self, body: &[u8]) -> Result<Arc<[u8]>, (i64, String)> {
        #[derive(Deserialize)]
        struct Request<'a> {
            #[serde(borrow)]
            params: &'a RawValue,
        }
        /// Only the result ids: a token for partial results (VS Code sends a new one each
        /// time) changes nothing in the answer.
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Params<'a> {
            #[serde(borrow)]
            previous_result_ids: &'a RawValue,
        }
        #[derive(Deserialize)]
        struct Previous<'a> {
            #[serde(borrow)]
            uri: Cow<'a, str>,
            #[serde(borrow)]
            value: Cow<'a, str>,
        }
        let invalid = |e: serde_json::Error| (-32602, format!("Invalid params: {e}"));

        let request: Request<'_> = serde_json::from_slice(body).map_err(invalid)?;
        let ids = serde_json::from_str::<Params<'_>>(request.params.get()).map_err(invalid)?.previous_result_ids.get();
        // Read before the answer is built: a change meanwhile moves it on, and the memo is not
        // used again.
        let generation = self.workspace.reports.generation();
        let remembered = {
            let memo = self.workspace.pull_memo.lock().unwrap_or_else(|e| e.into_inner());
            memo.as_ref()
                .filter(|m| m.generation == generation && *m.previous == *ids.as_bytes())
                .map(|m| Arc::clone(&m.result))
        };
        if let Some(result) = remembered {
            return Ok(result);
        }
        // Malformed ids are refused before anything changes.
        let parsed = serde_json::from_str::<Vec<Previous<'_>>>(ids).map_err(invalid)?;
        let previous: Vec<(&str, &str)> = parsed.iter().map(|p| (p.uri.as_ref(), p.value.as_ref())).collect();
        let cleared = self.start_pulling();
        if let Some(outbox) = self.outbox.as_ref() {
            for uri in cleared {
                let params = PublishDiagnosticsParams { uri, diagnostics: Vec::new(), version: None };
                outbox.notify(<PublishDiagnostics as Notification>::METHOD, &params);
            }
        }
        let report = WorkspaceDiagnosticReportResult::Report(self.pull_report(&previous));
        let result: Arc<[u8]> =
            serde_json::to_vec(&report).map_err(|e| (-32603, format!("cannot serialize the answer: {e}")))?.into();
        *self.workspace.pull_memo.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Memo { generation, previous: ids.as_bytes().into(), result: Arc::clone(&result) });
        Ok(result)
    }
}
