//! Diagnostics, pushed or pulled, for open documents and unopened workspace files; all of them
//! through `analysis`.
//!
//! - Open documents, push (clients without `textDocument.diagnostic`): debounced,
//!   version-checked, published at once for cached answers and again when lookups finish.
//! - Open documents, pull (LSP 3.17 `textDocument/diagnostic`): answered on request, with a
//!   result id (the fingerprint of the list) so an unchanged list is answered "unchanged".
//! - Unopened files: each file's current list is kept as a report (`WorkspaceState::reports`);
//!   they are pushed with `textDocument/publishDiagnostics` (cleared when fixed or deleted)
//!   until the client asks `workspace/diagnostic` (answered in `pull.rs`), from then on they
//!   are pulled, and the pushed ones are cleared.
//! - Answers that change (a job renamed on the server, recovery after an outage) re-check
//!   everything; pull clients are asked to pull again (`workspace/diagnostic/refresh`).
//!
//! A file's diagnostics come from one source at a time: the open document while it is open,
//! the workspace index otherwise.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tower_lsp_server::ls_types::notification::{Notification, PublishDiagnostics};
use tower_lsp_server::ls_types::{
    Diagnostic, DocumentDiagnosticParams, DocumentDiagnosticReport, DocumentDiagnosticReportResult,
    FullDocumentDiagnosticReport, PublishDiagnosticsParams, RelatedFullDocumentDiagnosticReport,
    RelatedUnchangedDocumentDiagnosticReport, UnchangedDocumentDiagnosticReport, Uri,
};

use super::documents::Scan;
use super::state::State;
use super::to_proto;
use crate::analysis::{self, Verdicts};

/// Lookups started for one check at once (the host gate bounds real requests).
const LOOKUP_FANOUT: usize = 64;

impl State {
    /// Checks a document after `delay`, unless it was edited again meanwhile (debounce).
    pub fn schedule(self: &Arc<Self>, uri: Uri, delay: Duration) {
        let Some(generation) = self.docs.get(&uri).map(|d| d.generation) else { return };
        let this = Arc::clone(self);
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if this.docs.get(&uri).map(|d| d.generation) == Some(generation) {
                this.validate(uri).await;
            }
        });
    }

    /// Re-checks everything after answers or settings changed: a pull client is asked to pull
    /// again even for open documents, whose lists the server does not keep.
    pub fn answers_changed(self: &Arc<Self>) {
        if self.caps().pull_diagnostics {
            self.workspace.dirty.store(true, Ordering::SeqCst);
        }
        self.revalidate_all();
    }

    /// Re-checks every open document and every unopened workspace file (a pull client is
    /// asked to pull again if a report changed).
    pub fn revalidate_all(self: &Arc<Self>) {
        let uris: Vec<Uri> = self.docs.iter().map(|d| d.key().clone()).collect();
        for uri in uris {
            self.schedule(uri, Duration::ZERO);
        }
        if !self.revalidate_workspace() {
            self.refresh_if_dirty();
        }
    }

    /// Asks a pull client to pull again if a report changed since it last did (at most one
    /// request in flight; bounded by `CLIENT_WAIT`).
    pub(super) fn refresh_if_dirty(self: &Arc<Self>) {
        let caps = self.caps();
        if !caps.pull_diagnostics || !caps.diagnostic_refresh || !self.workspace.dirty.swap(false, Ordering::SeqCst) {
            return;
        }
        let client = self.client.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(super::server::CLIENT_WAIT, client.workspace_diagnostic_refresh()).await;
        });
    }

    /// `textDocument/diagnostic`: the document's diagnostics, every name resolved (the client
    /// cancels the request when the document changes meanwhile), or "unchanged" when they are
    /// what `previous_result_id` named. A file that is not open is answered from the workspace
    /// index.
    pub async fn document_diagnostic(
        self: &Arc<Self>,
        params: DocumentDiagnosticParams,
    ) -> DocumentDiagnosticReportResult {
        self.settings_ready().await;
        let uri = params.text_document.uri;
        let scope = self.scope_of(&uri);
        let diagnostics = match self.scan(&uri, &scope) {
            // Not open: what the workspace index found in the file, if anything.
            None => super::workspace::path_of(&uri)
                .and_then(|path| self.workspace.reports.get(&path))
                .map(|report| report.diagnostics.clone())
                .unwrap_or_default(),
            Some(scan) => {
                let verdicts =
                    analysis::resolve_names(&scope.resolver, analysis::names(&scan.refs), LOOKUP_FANOUT).await;
                let judged = analysis::judge(&verdicts, &scope.config.diagnostics.severity);
                let found = analysis::analyze(&scan.refs, &verdicts, &judged);
                let enc = self.caps().encoding;
                match self.docs.get(&uri) {
                    Some(doc) if doc.version == scan.version => found
                        .findings
                        .iter()
                        .map(|f| {
                            to_proto::diagnostic(&f.verdict, to_proto::range(&doc, &scan.refs[f.reference].range, enc))
                        })
                        .collect(),
                    // Edited meanwhile: the client asks again for the new version.
                    _ => Vec::new(),
                }
            }
        };
        let result_id = to_proto::result_id(to_proto::fingerprint(&diagnostics));
        let report = if params.previous_result_id.as_deref() == Some(result_id.as_str()) {
            DocumentDiagnosticReport::Unchanged(RelatedUnchangedDocumentDiagnosticReport {
                related_documents: None,
                unchanged_document_diagnostic_report: UnchangedDocumentDiagnosticReport { result_id },
            })
        } else {
            DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
                related_documents: None,
                full_document_diagnostic_report: FullDocumentDiagnosticReport {
                    result_id: Some(result_id),
                    items: diagnostics,
                },
            })
        };
        DocumentDiagnosticReportResult::Report(report)
    }

    /// Resolves every reference of a document and publishes diagnostics: at once for answers
    /// in the cache, again when the pending lookups finish. Dropped if the document changed.
    /// For a client that pulls diagnostics nothing is published: the lookups only warm the
    /// cache and, while the server fails, probe it (recovery then asks the client to pull).
    pub async fn validate(self: &Arc<Self>, uri: Uri) {
        self.settings_ready().await;
        let scope = self.scope_of(&uri);
        let Some(scan) = self.scan(&uri, &scope) else { return };
        let version = scan.version;
        let resolver = &scope.resolver;
        let (mut verdicts, missing) = analysis::resolve_cached(resolver, analysis::names(&scan.refs));
        if self.caps().pull_diagnostics {
            analysis::resolve_all(resolver, missing, LOOKUP_FANOUT).await;
            return;
        }
        let severity = &scope.config.diagnostics.severity;
        if !missing.is_empty() {
            if !verdicts.is_empty() {
                self.publish(&uri, version, &scan, &verdicts, severity).await;
            }
            verdicts.extend(analysis::resolve_all(resolver, missing, LOOKUP_FANOUT).await);
        }
        self.publish(&uri, version, &scan, &verdicts, severity).await;
    }

    async fn publish(
        &self,
        uri: &Uri,
        version: i32,
        scan: &Scan,
        verdicts: &Verdicts,
        severity: &crate::config::SeverityConfig,
    ) {
        let enc = self.caps().encoding;
        let judged = analysis::judge(verdicts, severity);
        let found = analysis::analyze(&scan.refs, verdicts, &judged);
        let diagnostics: Vec<_> = {
            let Some(mut doc) = self.docs.get_mut(uri) else { return };
            if doc.version != version {
                return; // a newer version will publish its own
            }
            let diagnostics: Vec<_> = found
                .findings
                .iter()
                .map(|f| to_proto::diagnostic(&f.verdict, to_proto::range(&doc, &scan.refs[f.reference].range, enc)))
                .collect();
            let fingerprint = to_proto::fingerprint(&diagnostics);
            if doc.published == Some((version, fingerprint)) {
                return;
            }
            doc.published = Some((version, fingerprint));
            diagnostics
        };
        self.publish_diagnostics(uri.clone(), diagnostics, Some(version)).await;
        if scan.text_len >= super::LARGE_DOCUMENT {
            super::release_memory();
        }
    }

    /// The one way diagnostics leave the server, so a document's lists arrive in order.
    pub async fn publish_diagnostics(&self, uri: Uri, diagnostics: Vec<Diagnostic>, version: Option<i32>) {
        match &self.outbox {
            Some(outbox) => {
                let params = PublishDiagnosticsParams { uri, diagnostics, version };
                outbox.notify(<PublishDiagnostics as Notification>::METHOD, &params);
            }
            None => self.client.publish_diagnostics(uri, diagnostics, version).await,
        }
    }

    /// Re-checks every unopened indexed file, in the background; `false` when there is none.
    /// Calls while a run is going on are folded into one more run after it.
    pub fn revalidate_workspace(self: &Arc<Self>) -> bool {
        let ws = &self.workspace;
        if ws.index.is_empty() && ws.reports.is_empty() {
            return false;
        }
        ws.again.store(true, Ordering::SeqCst);
        if ws.validating.swap(true, Ordering::SeqCst) {
            return true;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                while this.workspace.again.swap(false, Ordering::SeqCst) {
                    this.validate_files(None).await;
                }
                this.workspace.validating.store(false, Ordering::SeqCst);
                // A request that came between the last run and the store above runs now.
                if !this.workspace.again.load(Ordering::SeqCst)
                    || this.workspace.validating.swap(true, Ordering::SeqCst)
                {
                    break;
                }
            }
        });
        true
    }

    /// Publishes the diagnostics of unopened indexed files: `paths`, or all of them. A path
    /// that is no longer indexed (deleted, excluded, its references gone) gets an empty list
    /// if it had any.
    pub async fn validate_files(self: &Arc<Self>, paths: Option<Vec<PathBuf>>) {
        self.settings_ready().await;
        let started = std::time::Instant::now();
        let ws = &self.workspace;
        let (files, gone): (Vec<_>, Vec<PathBuf>) = match paths {
            None => {
                let files = ws.index.files();
                let indexed: HashSet<&PathBuf> = files.iter().map(|f| &f.0).collect();
                let gone = ws.reports.paths().into_iter().filter(|p| !indexed.contains(p)).collect();
                (files, gone)
            }
            Some(paths) => {
                let (mut files, mut gone) = (Vec::new(), Vec::new());
                for p in paths {
                    match ws.index.get(&p) {
                        Some(f) => files.push((p, f)),
                        None => gone.push(p),
                    }
                }
                (files, gone)
            }
        };
        for path in gone {
            self.publish_file(path, None, Vec::new()).await;
        }
        let files: Vec<_> = files.into_iter().filter(|(p, _)| !ws.is_open(p)).collect();
        if files.is_empty() {
            self.refresh_if_dirty();
            return;
        }
        // Each folder's files with its settings and server.
        let scopes = self.scopes();
        let mut groups: Vec<(Arc<super::settings::Scope>, Vec<_>)> = Vec::new();
        for (path, refs) in files {
            let scope = scopes.of(Some(&path));
            match groups.iter_mut().find(|(s, _)| s.id == scope.id) {
                Some((_, files)) => files.push((path, refs)),
                None => groups.push((Arc::clone(scope), vec![(path, refs)])),
            }
        }
        for (scope, files) in groups {
            let names: HashSet<&str> = files.iter().flat_map(|(_, f)| analysis::names(&f.refs)).collect();
            let config = &scope.config;
            let verdicts = analysis::resolve_names(&scope.resolver, names, config.lookup_fanout()).await;
            let judged = analysis::judge(&verdicts, &config.diagnostics.severity);
            for (path, refs) in files {
                let found = analysis::analyze(&refs.refs, &verdicts, &judged);
                let diagnostics = found
                    .findings
                    .iter()
                    .map(|f| to_proto::diagnostic(&f.verdict, to_proto::range_of(refs.refs[f.reference].range)))
                    .collect();
                self.publish_file(path, Some(&refs), diagnostics).await;
            }
        }
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "unopened files checked");
        self.refresh_if_dirty();
    }

    /// Records an unopened file's diagnostics as its report, and pushes them if they changed
    /// (until the client pulls the workspace; then it is asked to pull again). An open file is
    /// left to its document.
    async fn publish_file(
        &self,
        path: PathBuf,
        analyzed: Option<&Arc<crate::workspace::index::FileRefs>>,
        diagnostics: Vec<Diagnostic>,
    ) {
        let ws = &self.workspace;
        if ws.is_open(&path) {
            return;
        }
        // Results for what the index held when the check began: a check of the whole workspace
        // that started before this file changed on disk must not overwrite the newer results of
        // the check its change started (they would then look unchanged, and never be sent).
        let current = ws.index.get(&path);
        let outdated = match (analyzed, &current) {
            (Some(a), Some(c)) => !Arc::ptr_eq(a, c),
            (None, None) => false,
            _ => true,
        };
        if outdated {
            return;
        }
        let fingerprint = (!diagnostics.is_empty()).then(|| to_proto::fingerprint(&diagnostics));
        let previous = ws.reports.get(&path);
        let changed = previous.as_ref().map(|r| r.fingerprint) != fingerprint;
        let report = match fingerprint {
            None => {
                if previous.is_some() {
                    ws.reports.remove(&path);
                }
                None
            }
            Some(fingerprint) if changed => {
                let Some(uri) = previous.map(|r| r.uri.clone()).or_else(|| super::workspace::uri_of(&path)) else {
                    return;
                };
                let report = Arc::new(super::pull::Report { fingerprint, uri, diagnostics });
                ws.reports.insert(path.clone(), Arc::clone(&report));
                Some(report)
            }
            Some(_) => previous,
        };
        if ws.pulling.load(Ordering::SeqCst) {
            if changed {
                ws.dirty.store(true, Ordering::SeqCst);
            }
            return;
        }
        // Pushed: every report as it changes, so "was pushed" is "had a report".
        if !changed {
            return;
        }
        match report {
            None => {
                if let Some(uri) = super::workspace::uri_of(&path) {
                    self.publish_diagnostics(uri, Vec::new(), None).await;
                }
            }
            Some(report) => self.publish_shared(&report.uri, &report.diagnostics).await,
        }
    }

    /// [`State::publish_diagnostics`] without a version, serialized from a borrowed list (the
    /// report keeps it).
    async fn publish_shared(&self, uri: &Uri, diagnostics: &[Diagnostic]) {
        #[derive(serde::Serialize)]
        struct Params<'a> {
            uri: &'a Uri,
            diagnostics: &'a [Diagnostic],
        }
        match &self.outbox {
            Some(outbox) => {
                outbox.notify(<PublishDiagnostics as Notification>::METHOD, &Params { uri, diagnostics });
            }
            None => self.client.publish_diagnostics(uri.clone(), diagnostics.to_vec(), None).await,
        }
    }
}
