//! The language server's shared state, split by job: `settings` (`settings.rs`), what the
//! user was told (`health.rs`), the open documents and their diagnostics (`documents.rs`,
//! `diagnostics.rs`), and the workspace index (`workspace.rs`). Those files add the
//! operations as `impl State` blocks; nothing here parses LSP requests.

use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use super::capabilities::Caps;
use super::documents::{Document, Scan};
use super::health::Notices;
use super::settings::SettingsState;
use super::transport::{Ending, Outbox};
use super::workspace::WorkspaceState;
use crate::config::Config;
use crate::resolve::Resolver;
use crate::scan::Scanner;

pub struct State {
    pub client: Client,
    /// Where diagnostics go when the server runs behind the transport (see
    /// `State::publish_diagnostics`).
    pub(super) outbox: Option<Outbox>,
    /// Ends the session when the editor's process is gone (behind the transport only).
    pub(super) ending: Option<Ending>,
    pub docs: DashMap<Uri, Document>,
    pub resolver: Arc<Resolver>,
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
            resolver: Resolver::from_config(&Config::default()),
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

    pub fn config(&self) -> Arc<Config> {
        self.settings.config()
    }

    pub fn scanner(&self) -> Arc<Scanner> {
        self.settings.scanner()
    }

    /// Waits until the editor's settings are in (bounded; see `SettingsState::ready`).
    pub async fn settings_ready(&self) {
        self.settings.ready().await
    }

    /// Applies the settings from their layers; returns what to warn about. Open documents are
    /// scanned again with the new scanner.
    pub async fn reload(&self) -> Vec<String> {
        let warnings = self.settings.reload(&self.resolver).await;
        for mut doc in self.docs.iter_mut() {
            doc.invalidate_scan();
        }
        warnings
    }

    /// The scan of the current version of a document (no lock held after return).
    pub fn scan(&self, uri: &Uri) -> Option<Arc<Scan>> {
        let scanner = self.scanner();
        Some(self.docs.get_mut(uri)?.scan(&scanner))
    }
}
