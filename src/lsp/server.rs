//! The `LanguageServer` implementation: capabilities and thin handlers. Notifications that
//! change documents apply their edit before any `.await`, which keeps edits in arrival order.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use super::capabilities::{self, Caps};
use super::documents::Document;
use super::ext::{FIX_WORKSPACE_COMMAND, PANIC_COMMAND, REFRESH_COMMAND};
use super::state::State;
use super::{fixing, from_proto, handlers};
use crate::config::{Source, env_layer};
use crate::scan::DocKind;

/// Runs a handler, turning a panic into a logged internal error so one bad request cannot take
/// the server down.
async fn guarded<T>(method: &'static str, fut: impl std::future::Future<Output = T>) -> Result<T> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(fut).catch_unwind().await.map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(method, "handler panicked: {}", crate::config::redact(&what));
        Error {
            code: tower_lsp_server::jsonrpc::ErrorCode::InternalError,
            message: format!("synergy-ls: internal error in {method}").into(),
            data: None,
        }
    })
}

/// For the tests of the panic guard: panics when `SYNERGY_TEST_PANIC` names `method`, with the
/// token in the message (which must come out scrubbed). Reads one environment variable.
fn panic_for_tests(method: &str, state: &State) {
    if std::env::var("SYNERGY_TEST_PANIC").is_ok_and(|m| m == method) {
        let token = state.config().token.as_ref().map(|t| t.expose().to_string()).unwrap_or_default();
        panic!("test panic in {method} holding {token}");
    }
}

/// The longest any handler waits for an answer from the editor.
pub const CLIENT_WAIT: Duration = Duration::from_secs(5);

pub struct Server {
    state: Arc<State>,
    /// The requests the transport put aside for the state's fast path (see
    /// `transport::Shortcut`); none without the transport.
    shortcuts: Option<super::transport::Shortcuts>,
}

impl Server {
    /// A server that sends everything through tower-lsp-server's `Client` (in-process use).
    pub fn new(client: Client) -> Server {
        Server { state: State::new(client, None, None), shortcuts: None }
    }

    /// A server behind [`super::transport`], which publishes diagnostics through `outbox`,
    /// ends the session through `ending` when the editor's process is gone, and answers
    /// `workspace/diagnostic` by the transport's shortcut (`shortcuts`; see `lsp::pull`).
    pub fn behind_transport(
        client: Client,
        outbox: super::transport::Outbox,
        ending: super::transport::Ending,
        shortcuts: super::transport::Shortcuts,
    ) -> Server {
        let state = State::new(client, Some(outbox), Some(ending));
        let weak: std::sync::Weak<dyn super::transport::Shortcut> = Arc::downgrade(&state) as _;
        shortcuts.set(weak);
        Server { state, shortcuts: Some(shortcuts) }
    }

    /// [`super::transport::SHORTCUT_METHOD`]: a request the transport put aside has its turn.
    pub async fn on_shortcut(&self, params: super::transport::Slot) {
        if let Some(shortcuts) = &self.shortcuts {
            shortcuts.run(params.slot);
        }
    }

    /// `window/workDoneProgress/cancel`: the user cancelled the workspace index.
    pub async fn on_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        self.state.workspace.cancel(Some(&params.token));
    }
}

/// Every workspace folder as a path (`rootUri`, then `rootPath`, when the client sends no
/// folders); folders that are not `file:` URIs are left out.
fn workspace_folders(params: &InitializeParams) -> Vec<std::path::PathBuf> {
    #[allow(deprecated)]
    let root = params.root_uri.clone();
    let uris: Vec<Uri> = match &params.workspace_folders {
        Some(folders) if !folders.is_empty() => folders.iter().map(|f| f.uri.clone()).collect(),
        _ => root.into_iter().collect(),
    };
    let mut paths: Vec<std::path::PathBuf> = uris.iter().filter_map(super::workspace::path_of).collect();
    #[allow(deprecated)]
    if paths.is_empty()
        && let Some(p) = &params.root_path
    {
        paths.push(p.into());
    }
    paths
}

impl Server {
    async fn on_initialize(&self, params: InitializeParams) -> InitializeResult {
        panic_for_tests("initialize", &self.state);
        let caps = Caps::from_client(&params.capabilities);
        let _ = self.state.caps.set(caps.clone());
        if let Some(pid) = params.process_id {
            self.state.watch_client_process(pid);
        }

        let folders = workspace_folders(&params);
        self.state.set_folders(folders.clone());
        // Each folder's `.synergy.toml` applies to the files under it.
        let mut warnings = self.state.read_folder_files(&folders);
        self.state.settings.set_layer(Source::Environment, env_layer(|k| std::env::var(k).ok()));
        if let Some(v) = from_proto::settings(params.initialization_options) {
            self.state.settings.set_layer(Source::InitializationOptions, v);
        }
        warnings.extend(self.state.reload().await);
        // Shown once the client is ready for messages (after `initialized`).
        self.state.warn(warnings).await;

        InitializeResult {
            capabilities: capabilities::server(&caps),
            server_info: Some(ServerInfo {
                name: "synergy-ls".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        }
    }

    async fn on_initialized(&self) {
        self.state.initialized.store(true, std::sync::atomic::Ordering::SeqCst);
        panic_for_tests("initialized", &self.state);
        self.state.spawn_health_watcher();
        if self.state.caps().pull_configuration {
            self.state.pull_settings().await;
            self.state.reload_and_reindex(&[]).await;
        } else {
            self.state.publish_status().await;
        }
        self.state.settings.mark_ready();
        if self.state.caps().watch_files {
            let registered = tokio::time::timeout(
                CLIENT_WAIT,
                self.state.client.register_capability(vec![capabilities::watch_registration()]),
            )
            .await;
            if !matches!(registered, Ok(Ok(()))) {
                tracing::warn!(
                    "the client did not register the file watchers; files changed outside the editor are seen on the next re-index"
                );
            }
        }
        self.state.workspace.started.store(true, std::sync::atomic::Ordering::SeqCst);
        let state = Arc::clone(&self.state);
        tokio::spawn(async move { state.index_workspace().await });
    }

    async fn on_did_open(&self, params: DidOpenTextDocumentParams) {
        panic_for_tests("textDocument/didOpen", &self.state);
        let doc = params.text_document;
        let path = super::workspace::path_of(&doc.uri);
        let kind = DocKind::for_editor(path.as_deref(), &doc.language_id);
        self.state.docs.insert(doc.uri.clone(), Document::new(doc.text, doc.version, kind));
        // A pull client pulls the document's own diagnostics: what was pushed for the file
        // while it was closed goes (a push client's document publishes over it).
        if let Some((_, true)) = self.state.workspace.set_open(&doc.uri, true)
            && self.state.caps().pull_diagnostics
        {
            self.state.publish_diagnostics(doc.uri.clone(), Vec::new(), None).await;
        }
        self.state.schedule(doc.uri, Duration::ZERO);
    }

    async fn on_did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let Some(mut doc) = self.state.docs.get_mut(&uri) else {
                tracing::warn!(uri = uri.as_str(), "didChange for a document that is not open; ignored");
                return;
            };
            let edits = params.content_changes.into_iter().map(from_proto::edit).collect();
            doc.apply(params.text_document.version, edits, self.state.caps().encoding);
        }));
        if applied.is_err() {
            // The document's text can no longer be trusted: forget it rather than guess.
            tracing::error!(uri = uri.as_str(), "applying an edit panicked; the document is dropped until reopened");
            self.state.docs.remove(&uri);
            return;
        }
        let debounce = Duration::from_millis(self.state.scope_of(&uri).config.diagnostics.debounce_ms);
        self.state.schedule(uri, debounce);
    }

    async fn on_did_close(&self, params: DidCloseTextDocumentParams) {
        panic_for_tests("textDocument/didClose", &self.state);
        let uri = params.text_document.uri;
        if self.state.docs.remove(&uri).is_some_and(|(_, doc)| doc.text.len() >= super::LARGE_DOCUMENT) {
            super::release_memory();
        }
        // An unopened file's diagnostics come from the index again (or none).
        match self.state.workspace.set_open(&uri, false) {
            Some((path, _)) => self.state.reindex_closed(uri, path).await,
            None => self.state.publish_diagnostics(uri, Vec::new(), None).await,
        }
    }

    async fn on_did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let paths = |folders: Vec<WorkspaceFolder>| -> Vec<std::path::PathBuf> {
            folders.into_iter().filter_map(|f| super::workspace::path_of(&f.uri)).collect()
        };
        let (added, removed) = (paths(params.event.added), paths(params.event.removed));
        let state = Arc::clone(&self.state);
        tokio::spawn(async move { state.change_folders(added, removed).await });
    }

    async fn on_did_change_configuration(&self, params: DidChangeConfigurationParams) {
        panic_for_tests("workspace/didChangeConfiguration", &self.state);
        match from_proto::settings(Some(params.settings)) {
            // Pushed for all folders at once: no folder's own editor settings stand.
            Some(v) => {
                self.state.settings.set_layer(Source::EditorSettings, v);
                self.state.settings.set_folder_editor_settings(|_| None);
            }
            None => self.state.pull_settings().await,
        }
        self.state.reload_and_reindex(&[]).await;
    }

    async fn on_execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        if params.command == PANIC_COMMAND && std::env::var_os("SYNERGY_TEST_PANIC").is_some() {
            // Only for the tests of panic handling: a panic whose message carries the token.
            let token = self.state.config().token.as_ref().map(|t| t.expose().to_string()).unwrap_or_default();
            panic!("test panic holding {token}");
        }
        if params.command == FIX_WORKSPACE_COMMAND {
            return self.state.fix_workspace(&params.arguments).await;
        }
        if params.command != REFRESH_COMMAND {
            return Err(Error::invalid_params(format!("unknown command {}", params.command)));
        }
        for resolver in self.state.settings.resolvers() {
            resolver.clear();
        }
        self.state.answers_changed();
        // Also the disk: a client without file watchers sees outside changes this way.
        let state = Arc::clone(&self.state);
        tokio::spawn(async move { state.index_workspace().await });
        Ok(None)
    }
}

/// Every handler, request or notification, runs under the panic guard ([`guarded`]): a panic
/// is logged with tokens scrubbed, a request gets an internal error, and the session goes on.
impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        guarded("initialize", self.on_initialize(params)).await
    }

    async fn initialized(&self, _: InitializedParams) {
        let _ = guarded("initialized", self.on_initialized()).await;
    }

    /// Answers once the persisted cache has written what it was given, so a restart finds it.
    async fn shutdown(&self) -> Result<()> {
        let resolvers = self.state.settings.resolvers();
        let _ = tokio::task::spawn_blocking(move || resolvers.iter().for_each(|r| r.flush_cache())).await;
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let _ = guarded("textDocument/didOpen", self.on_did_open(params)).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let _ = guarded("textDocument/didChange", self.on_did_change(params)).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let _ = guarded("textDocument/didClose", self.on_did_close(params)).await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let _ = guarded("workspace/didChangeConfiguration", self.on_did_change_configuration(params)).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        guarded("textDocument/hover", handlers::hover(&self.state, params)).await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        guarded("textDocument/completion", handlers::completion(&self.state, params)).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        guarded("textDocument/codeAction", handlers::code_action(&self.state, params)).await
    }

    async fn document_link(&self, params: DocumentLinkParams) -> Result<Option<Vec<DocumentLink>>> {
        guarded("textDocument/documentLink", handlers::document_links(&self.state, params)).await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        guarded("workspace/executeCommand", self.on_execute_command(params)).await?
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let _ = guarded("workspace/didChangeWorkspaceFolders", self.on_did_change_workspace_folders(params)).await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let _ = guarded("workspace/didChangeWatchedFiles", async { self.state.files_changed(params.changes) }).await;
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        guarded("textDocument/references", handlers::references(&self.state, params)).await
    }

    async fn prepare_rename(&self, params: TextDocumentPositionParams) -> Result<Option<PrepareRenameResponse>> {
        guarded("textDocument/prepareRename", fixing::prepare_rename(&self.state, params)).await?
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        guarded("textDocument/rename", fixing::rename(&self.state, params)).await?
    }

    async fn document_highlight(&self, params: DocumentHighlightParams) -> Result<Option<Vec<DocumentHighlight>>> {
        guarded("textDocument/documentHighlight", handlers::document_highlight(&self.state, params)).await
    }

    async fn diagnostic(&self, params: DocumentDiagnosticParams) -> Result<DocumentDiagnosticReportResult> {
        guarded("textDocument/diagnostic", self.state.document_diagnostic(params)).await
    }

    async fn workspace_diagnostic(&self, params: WorkspaceDiagnosticParams) -> Result<WorkspaceDiagnosticReportResult> {
        guarded("workspace/diagnostic", self.state.workspace_diagnostic(params)).await
    }

    async fn symbol(&self, params: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        guarded("workspace/symbol", handlers::workspace_symbol(&self.state, params)).await
    }
}
