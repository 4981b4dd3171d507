//! The language server's shared state, split by job: `settings` (`settings.rs`: a scope of
//! settings and a resolver per workspace folder), what the user was told (`health.rs`), the
//! open documents and their diagnostics (`documents.rs`, `diagnostics.rs`, `pull.rs`), and
//! the workspace index (`workspace.rs`). Those files add the operations as `impl State`
//! blocks; nothing here parses LSP requests.

use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use super::capabilities::Caps;
use super::documents::{Document, Scan};
use super::health::Notices;
use super::settings::{Scope, Scopes, SettingsState};
use super::transport::{Ending, Outbox};
use super::workspace::WorkspaceState;
use crate::config::Config;

pub struct State {
    pub client: Client,
    /// Where diagnostics go when the server runs behind the transport (see
    /// `State::publish_diagnostics`).
    pub(super) outbox: Option<Outbox>,
    /// Ends the session when the editor's process is gone (behind the transport only).
    pub(super) ending: Option<Ending>,
    pub docs: DashMap<Uri, Document>,
    pub caps: OnceLock<Caps>,
    pub settings: SettingsState,
    pub(super) notices: Notices,
    pub workspace: WorkspaceState,
    /// `initialized` arrived (requests may take the transport's shortcut from now on).
    pub(super) initialized: std::sync::atomic::AtomicBool,
}

impl State {
    pub fn new(client: Client, outbox: Option<Outbox>, ending: Option<Ending>) -> Arc<State> {
        Arc::new(State {
            client,
            outbox,
            ending,
            docs: DashMap::new(),
            caps: OnceLock::new(),
            settings: SettingsState::default(),
            notices: Notices::default(),
            workspace: WorkspaceState::default(),
            initialized: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn caps(&self) -> Caps {
        self.caps.get().cloned().unwrap_or_default()
    }

    /// The scopes of settings in force (a snapshot).
    pub fn scopes(&self) -> Arc<Scopes> {
        self.settings.scopes()
    }

    /// The settings a document or file is checked with: its workspace folder's.
    pub fn scope_of(&self, uri: &Uri) -> Arc<Scope> {
        Arc::clone(self.scopes().of(super::workspace::path_of(uri).as_deref()))
    }

    /// The settings of files outside every folder (the user's and the first folder's), for
    /// what is not about one file.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.scopes().outside().config)
    }

    /// Waits until the editor's settings are in (bounded; see `SettingsState::ready`).
    pub async fn settings_ready(&self) {
        self.settings.ready().await
    }

    /// Applies the settings from their layers; returns what to warn about. Open documents are
    /// scanned again with the new scanners, and each new resolver is watched.
    pub async fn reload(self: &Arc<Self>) -> Vec<String> {
        let reloaded = self.settings.reload().await;
        for mut doc in self.docs.iter_mut() {
            doc.invalidate_scan();
        }
        self.watch_resolvers();
        reloaded.warnings
    }

    /// The scan of the current version of a document (no lock held after return), with the
    /// scanner of `scope` (the document's).
    pub fn scan(&self, uri: &Uri, scope: &Scope) -> Option<Arc<Scan>> {
        Some(self.docs.get_mut(uri)?.scan(&scope.scanner))
    }
}
