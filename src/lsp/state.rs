//! The language server's shared state and its domain-level operations: applying settings,
//! checking documents (debounced, version-checked) and telling the user about health changes.
//! Handlers in `server.rs` call into this; nothing here parses LSP requests.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use dashmap::DashMap;
use futures::StreamExt;
use serde_json::Value;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::{Notification, PublishDiagnostics};
use tower_lsp_server::ls_types::{Diagnostic, MessageType, PublishDiagnosticsParams, Uri};

use super::documents::{Document, Scan};
use super::to_proto;
use super::transport::{EndReason, Ending, Outbox};
use crate::api::{Client as ApiClient, ClientSettings};
use crate::config::{Config, Layers, Secret, Source};
use crate::line_index::Encoding;
use crate::model::{Health, Unavailable};
use crate::present;
use crate::resolve::{Resolved, Resolver, Settings};
use crate::scan::Scanner;

/// How often open documents are re-checked while the server is failing (the circuit breaker
/// keeps this from sending requests until its cooldown ends).
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// Longest wait for the editor's settings before lookups go ahead without them.
const SETTINGS_WAIT: Duration = Duration::from_secs(5);
/// How often the editor's process is checked for liveness (one `kill(pid, 0)` or
/// `OpenProcess` each time).
const PROCESS_POLL: Duration = Duration::from_millis(500);
/// Lookups started for one document check at once (the host gate bounds real requests).
const LOOKUP_FANOUT: usize = 64;

/// What the client said it can do, fixed at `initialize`.
#[derive(Debug, Clone)]
pub struct Caps {
    pub encoding: Encoding,
    /// Hovers may be Markdown (else plain text).
    pub markdown_hover: bool,
    /// Completion documentation may be Markdown (else plain text).
    pub markdown_completion: bool,
    /// Completion items may carry an `InsertReplaceEdit`.
    pub insert_replace: bool,
    pub pull_configuration: bool,
    /// The client shows `synergy/status` itself (`experimental.synergyStatus`), so health
    /// changes are not also sent as `window/showMessage`.
    pub shows_status: bool,
}

pub struct State {
    pub client: Client,
    /// Where diagnostics go when the server runs behind the transport (see `publish_diagnostics`).
    outbox: Option<Outbox>,
    /// Ends the session when the editor's process is gone (behind the transport only).
    ending: Option<Ending>,
    pub docs: DashMap<Uri, Document>,
    pub resolver: Arc<Resolver>,
    pub caps: OnceLock<Caps>,
    config: RwLock<Arc<Config>>,
    layers: Mutex<Layers>,
    scanner: RwLock<Arc<Scanner>>,
    client_settings: Mutex<Option<(ClientSettings, Settings)>>,
    /// The token from `tokenCommand`, with the command that produced it.
    command_token: Mutex<Option<(String, Secret)>>,
    /// Warnings already shown, so a repeated settings change does not repeat them.
    warned: Mutex<HashSet<String>>,
    /// Why no request can be made at all with the current settings, if so.
    config_problem: Mutex<Option<Unavailable>>,
    /// The last `synergy/status` sent (state and message), to send only changes.
    last_status: Mutex<Option<(String, String, Option<String>)>>,
    /// Whether the editor's settings are in (pulled after `initialized`). Until then nothing
    /// is looked up: a check before the server URL arrives would say "not configured".
    settings_ready: tokio::sync::watch::Sender<bool>,
}

impl State {
    pub fn new(client: Client, outbox: Option<Outbox>, ending: Option<Ending>) -> Arc<State> {
        let config = Config::default();
        let resolver = Resolver::from_config(&config);
        Arc::new(State {
            client,
            outbox,
            ending,
            docs: DashMap::new(),
            resolver,
            caps: OnceLock::new(),
            config: RwLock::new(Arc::new(config)),
            layers: Mutex::new(Layers::default()),
            scanner: RwLock::new(Arc::new(Scanner::default())),
            client_settings: Mutex::new(None),
            command_token: Mutex::new(None),
            warned: Mutex::new(HashSet::new()),
            config_problem: Mutex::new(None),
            last_status: Mutex::new(None),
            settings_ready: tokio::sync::watch::channel(false).0,
        })
    }

    pub fn caps(&self) -> Caps {
        self.caps.get().cloned().unwrap_or(Caps {
            encoding: Encoding::Utf16,
            markdown_hover: true,
            markdown_completion: true,
            insert_replace: false,
            pull_configuration: false,
            shows_status: false,
        })
    }

    pub fn config(&self) -> Arc<Config> {
        self.config.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn scanner(&self) -> Arc<Scanner> {
        self.scanner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Marks the editor's settings as applied; lookups waiting for them go ahead.
    pub fn mark_settings_ready(&self) {
        self.settings_ready.send_replace(true);
    }

    /// Waits until the editor's settings are in, at most [`SETTINGS_WAIT`] (a client that
    /// never answers `workspace/configuration` must not stall the server).
    pub async fn settings_ready(&self) {
        let mut rx = self.settings_ready.subscribe();
        let _ = tokio::time::timeout(SETTINGS_WAIT, rx.wait_for(|ready| *ready)).await;
    }

    pub fn set_layer(&self, source: Source, value: Value) {
        self.layers.lock().unwrap_or_else(|e| e.into_inner()).set(source, value);
    }

    /// Rebuilds the configuration from its layers and applies it. Runs `tokenCommand` when it
    /// is the only source of a token (once per distinct command). Returns what to warn about.
    pub async fn reload(&self) -> Vec<String> {
        let (mut config, mut warnings) = self.layers.lock().unwrap_or_else(|e| e.into_inner()).build();
        if config.token.is_none() {
            if let Some(cmd) = config.token_command.clone().filter(|c| !c.trim().is_empty()) {
                let cached = self.command_token.lock().unwrap_or_else(|e| e.into_inner()).clone();
                match cached {
                    Some((c, token)) if c == cmd => config.token = Some(token),
                    _ => match crate::config::run_token_command(&cmd).await {
                        Ok(token) => {
                            *self.command_token.lock().unwrap_or_else(|e| e.into_inner()) = Some((cmd, token.clone()));
                            config.token = Some(token);
                        }
                        Err(e) => warnings.push(e),
                    },
                }
            }
        }
        let (scanner, pattern_errors) = Scanner::new(config.scan.include_code, &config.reference_patterns);
        warnings.extend(
            pattern_errors
                .into_iter()
                .map(|e| format!("referencePatterns: `{}` is not used: {}", e.pattern, e.message)),
        );
        let wanted = (ClientSettings::from_config(&config), Settings::from_config(&config));
        warnings.extend(crate::api::client::insecure_warning(&wanted.0));
        {
            let mut current = self.client_settings.lock().unwrap_or_else(|e| e.into_inner());
            if current.as_ref() != Some(&wanted) {
                let api = ApiClient::new(&wanted.0);
                *self.config_problem.lock().unwrap_or_else(|e| e.into_inner()) =
                    api.config_error().map(|e| e.to_unavailable());
                self.resolver.reconfigure(api, wanted.1.clone());
                *current = Some(wanted);
            }
        }
        *self.scanner.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(scanner);
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        for mut doc in self.docs.iter_mut() {
            doc.invalidate_scan();
        }
        warnings
    }

    /// Ends the session when the editor's process `pid` (`initialize`'s `processId`) is gone:
    /// the LSP specification asks a server to exit when its parent process is not alive. A
    /// process that cannot be seen at start (another PID namespace, another user's process on
    /// some systems) is not watched, so a server is never ended for a process it cannot see.
    pub fn watch_client_process(&self, pid: u32) {
        let Some(ending) = self.ending.clone() else { return };
        if process_alive::state(pid.into()) != process_alive::State::Alive {
            tracing::info!(pid, "the editor's process cannot be seen; it is not watched");
            return;
        }
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROCESS_POLL);
            loop {
                every.tick().await;
                if process_alive::state(pid.into()) == process_alive::State::Dead {
                    tracing::info!(pid, "the editor's process is gone; exiting");
                    ending.end(EndReason::ClientGone);
                    return;
                }
            }
        });
    }

    /// Sends `synergy/status` if the state, its message or the server changed since last sent.
    pub async fn publish_status(&self) {
        let health = self.resolver.subscribe_health().borrow().clone();
        let problem = self.config_problem.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let server = self.config().server_url.as_deref().and_then(crate::api::client::host_of);
        let (state, message) = present::status(&health, problem.as_ref(), server.as_deref().unwrap_or(""));
        let key = (state.as_str().to_string(), message.clone(), server.clone());
        {
            let mut last = self.last_status.lock().unwrap_or_else(|e| e.into_inner());
            if last.as_ref() == Some(&key) {
                return;
            }
            *last = Some(key);
        }
        let params = to_proto::status(state, message, server, self.resolver.last_check());
        self.client.send_notification::<to_proto::StatusNotification>(params).await;
    }

    /// Shows each warning once per session.
    pub async fn warn(&self, warnings: Vec<String>) {
        for w in warnings {
            tracing::warn!("{w}");
            if self.warned.lock().unwrap_or_else(|e| e.into_inner()).insert(w.clone()) {
                self.client.show_message(MessageType::WARNING, format!("synergy-ls: {w}")).await;
            }
        }
    }

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

    pub fn revalidate_all(self: &Arc<Self>) {
        let uris: Vec<Uri> = self.docs.iter().map(|d| d.key().clone()).collect();
        for uri in uris {
            self.schedule(uri, Duration::ZERO);
        }
    }

    /// The scan of the current version of a document (no lock held after return).
    pub fn scan(&self, uri: &Uri) -> Option<Arc<Scan>> {
        let scanner = self.scanner();
        Some(self.docs.get_mut(uri)?.scan(&scanner))
    }

    /// Resolves every reference of a document and publishes diagnostics: at once for answers
    /// in the cache, again when the pending lookups finish. Dropped if the document changed.
    pub async fn validate(self: &Arc<Self>, uri: Uri) {
        self.settings_ready().await;
        let Some(scan) = self.scan(&uri) else { return };
        let version = scan.version;
        let names: HashSet<&str> = scan.refs.iter().map(|r| r.name.as_str()).collect();
        let mut verdicts: HashMap<String, Resolved> = HashMap::new();
        let mut missing = Vec::new();
        for name in names {
            match self.resolver.resolve_cached(name) {
                Some(r) => {
                    verdicts.insert(name.to_string(), r);
                }
                None => missing.push(name.to_string()),
            }
        }
        if !missing.is_empty() {
            if !verdicts.is_empty() {
                self.publish(&uri, version, &scan, &verdicts).await;
            }
            let resolver = &self.resolver;
            let found: Vec<(String, Resolved)> = futures::stream::iter(missing)
                .map(|name| async move {
                    let r = resolver.resolve(&name).await;
                    (name, r)
                })
                .buffer_unordered(LOOKUP_FANOUT)
                .collect()
                .await;
            verdicts.extend(found);
        }
        self.publish(&uri, version, &scan, &verdicts).await;
    }

    async fn publish(&self, uri: &Uri, version: i32, scan: &Scan, verdicts: &HashMap<String, Resolved>) {
        let config = self.config();
        let enc = self.caps().encoding;
        // Everything but the range is the same for every reference to a name: built once.
        let shapes: HashMap<&str, to_proto::DiagnosticShape> = verdicts
            .iter()
            .filter_map(|(name, v)| {
                Some((name.as_str(), to_proto::diagnostic_shape(name, &v.resolution, &config.diagnostics.severity)?))
            })
            .collect();
        let diagnostics: Vec<_> = {
            let Some(mut doc) = self.docs.get_mut(uri) else { return };
            if doc.version != version {
                return; // a newer version will publish its own
            }
            let diagnostics: Vec<_> = scan
                .refs
                .iter()
                .filter_map(|r| Some(shapes.get(r.name.as_str())?.at(to_proto::range(&doc, &r.range, enc))))
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

    /// How often idle documents are re-checked: the shorter cache TTL, at least a second.
    fn recheck_interval(&self) -> Duration {
        let cache = &self.config().cache;
        Duration::from_secs(cache.ttl_seconds.min(cache.negative_ttl_seconds).max(1))
    }

    /// Tells the user about each change of the server's health, once, and keeps re-checking
    /// open documents while the server is failing so verdicts come back by themselves. Also
    /// re-checks them when a background refresh changed an answer, and once per cache TTL.
    pub fn spawn_health_watcher(self: &Arc<Self>) {
        let rx = self.resolver.subscribe_health();
        let mut transitions = self.resolver.subscribe_health_changes();
        let mut changes = self.resolver.subscribe_changes();
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut previous = rx.borrow().clone();
            let mut told = Told::default();
            let mut next_recheck = tokio::time::Instant::now() + this.recheck_interval();
            loop {
                let probing = matches!(&previous, Health::Unavailable(u) if recovers_by_itself(u));
                tokio::select! {
                    // Every change, in order: a failure that a success follows at once is seen.
                    changed = transitions.recv() => {
                        let health = match changed {
                            Ok(health) => health,
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => rx.borrow().clone(),
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                        };
                        let server = this.config().server_url.clone().unwrap_or_default();
                        if let Some((level, text)) = present::health_message(&health, &previous, &server)
                            && told.should_tell(&health, tokio::time::Instant::now())
                            && !this.caps().shows_status
                        {
                            this.client.show_message(to_proto::message_type(level), text).await;
                        }
                        this.publish_status().await;
                        if health == Health::Connected && matches!(previous, Health::Unavailable(_)) {
                            this.revalidate_all();
                        }
                        previous = health;
                    }
                    _ = tokio::time::sleep(PROBE_INTERVAL), if probing => this.revalidate_all(),
                    // A background refresh changed an answer (a job was renamed or deleted).
                    Ok(()) = changes.changed() => this.revalidate_all(),
                    // Answers expire even in documents nobody edits: re-check them once per TTL
                    // (cached answers cost nothing; expired ones are refreshed once each).
                    _ = tokio::time::sleep_until(next_recheck) => {
                        next_recheck = tokio::time::Instant::now() + this.recheck_interval();
                        this.revalidate_all();
                    }
                }
            }
        });
    }
}

/// How long the same kind of failure is not told again. A server that fails some requests
/// and answers others (one name's answer not understood) flickers between connected and
/// failing; the user hears of it once, and the status item shows the rest.
const RETELL_AFTER: Duration = Duration::from_secs(300);

/// What the user was told about the server's health, so each failure is told once.
#[derive(Default)]
struct Told {
    /// The kind of failure last told, and when.
    failure: Option<(std::mem::Discriminant<Unavailable>, tokio::time::Instant)>,
    /// A failure was told and its recovery not yet.
    outstanding: bool,
}

impl Told {
    /// Whether to tell the user about entering `health`, and notes it if so: a failure unless
    /// the same kind was told within [`RETELL_AFTER`]; a recovery only from a failure told.
    fn should_tell(&mut self, health: &Health, now: tokio::time::Instant) -> bool {
        match health {
            Health::Unavailable(u) => {
                let kind = std::mem::discriminant(u);
                let recent = self.failure.is_some_and(|(k, at)| k == kind && now.duration_since(at) < RETELL_AFTER);
                if recent {
                    return false;
                }
                self.failure = Some((kind, now));
                self.outstanding = true;
                true
            }
            Health::Connected => std::mem::take(&mut self.outstanding),
            // New settings: what was told was about the old ones.
            Health::Idle => {
                *self = Told::default();
                false
            }
        }
    }
}

/// Problems that go away without the user changing anything.
fn recovers_by_itself(u: &Unavailable) -> bool {
    present::state_of(u) != present::StatusState::NotConfigured
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_is_told_once_and_its_recovery_once() {
        let mut told = Told::default();
        let t0 = tokio::time::Instant::now();
        let bad = Health::Unavailable(Unavailable::BadResponse("x".into()));
        let down = Health::Unavailable(Unavailable::Unreachable("x".into()));
        // Flickering: told once, recovered once.
        assert!(told.should_tell(&bad, t0));
        assert!(told.should_tell(&Health::Connected, t0));
        assert!(!told.should_tell(&bad, t0 + Duration::from_secs(1)));
        assert!(!told.should_tell(&Health::Connected, t0 + Duration::from_secs(1)));
        // Another kind is news; the same kind is news again after a while.
        assert!(told.should_tell(&down, t0 + Duration::from_secs(2)));
        assert!(told.should_tell(&down, t0 + Duration::from_secs(2) + RETELL_AFTER));
        // New settings forget what was told.
        assert!(!told.should_tell(&Health::Idle, t0 + Duration::from_secs(3)));
        assert!(told.should_tell(&bad, t0 + Duration::from_secs(3)));
    }
}
