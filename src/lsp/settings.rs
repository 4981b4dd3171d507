//! The server's settings: its layers (`.synergy.toml`, environment, `initializationOptions`,
//! the editor's `synergy` section), assembled by [`crate::settings::Assembler`] like the command
//! line's, applied to the resolver when they change, and the "settings are in" signal lookups
//! wait for after `initialized`.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::api::{Client as ApiClient, ClientSettings};
use crate::config::{Config, Layers, Source};
use crate::model::Unavailable;
use crate::resolve::Resolver;
use crate::scan::Scanner;
use crate::settings::{Assembled, Assembler};

/// Longest wait for the editor's settings before lookups go ahead without them.
const SETTINGS_WAIT: Duration = Duration::from_secs(5);

pub struct SettingsState {
    layers: Mutex<Layers>,
    assembler: Assembler,
    current: RwLock<Arc<Assembled>>,
    /// The client and resolver settings applied, so the resolver is rebuilt only on a change.
    applied: Mutex<Option<(ClientSettings, crate::resolve::Settings)>>,
    /// Why no request can be made at all with the current settings, if so.
    problem: Mutex<Option<Unavailable>>,
    /// Whether the editor's settings are in (pulled after `initialized`). Until then nothing
    /// is looked up: a check before the server URL arrives would say "not configured".
    ready: tokio::sync::watch::Sender<bool>,
}

impl Default for SettingsState {
    fn default() -> SettingsState {
        let current = Assembled::new(Config::default(), Scanner::default());
        SettingsState {
            layers: Mutex::new(Layers::default()),
            assembler: Assembler::default(),
            current: RwLock::new(Arc::new(current)),
            applied: Mutex::new(None),
            problem: Mutex::new(None),
            ready: tokio::sync::watch::channel(false).0,
        }
    }
}

impl SettingsState {
    pub fn config(&self) -> Arc<Config> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).config.clone()
    }

    pub fn scanner(&self) -> Arc<Scanner> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).scanner.clone()
    }

    /// Why no request can be made with the current settings, if so.
    pub fn problem(&self) -> Option<Unavailable> {
        self.problem.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_layer(&self, source: Source, value: Value) {
        self.layers.lock().unwrap_or_else(|e| e.into_inner()).set(source, value);
    }

    /// Marks the editor's settings as applied; lookups waiting for them go ahead.
    pub fn mark_ready(&self) {
        self.ready.send_replace(true);
    }

    /// Waits until the editor's settings are in, at most [`SETTINGS_WAIT`] (a client that
    /// never answers `workspace/configuration` must not stall the server).
    pub async fn ready(&self) {
        let mut rx = self.ready.subscribe();
        let _ = tokio::time::timeout(SETTINGS_WAIT, rx.wait_for(|ready| *ready)).await;
    }

    /// Assembles the settings from their layers and applies them, reconfiguring `resolver`
    /// when the server, token or tunables changed. Returns what to warn about (errors too:
    /// the server goes on without the part that failed).
    pub async fn reload(&self, resolver: &Resolver) -> Vec<String> {
        let layers = self.layers.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let assembled = self.assembler.assemble(&layers).await;
        let wanted = (assembled.client.clone(), assembled.resolver.clone());
        {
            let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
            if applied.as_ref() != Some(&wanted) {
                let api = ApiClient::new(&wanted.0);
                *self.problem.lock().unwrap_or_else(|e| e.into_inner()) =
                    api.config_error().map(|e| e.to_unavailable());
                resolver.reconfigure(api, wanted.1.clone());
                *applied = Some(wanted);
            }
        }
        let warnings = assembled.warnings.iter().chain(&assembled.errors).cloned().collect();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(assembled);
        warnings
    }
}
