//! The server's settings, per workspace folder: the layers every folder shares (environment,
//! `initializationOptions`, the editor's `synergy` section), each folder's own (its
//! `.synergy.toml`, and the editor's settings for that folder when it answers
//! `workspace/configuration` per folder, as VS Code and Emacs do), assembled by
//! [`crate::settings::Assembler`] like the command line's into one [`Scope`] per folder.
//! Folders assembled alike share a scope, and scopes that name the same server with the same
//! token and tunables share a resolver (its cache, its health, its request limits), so two
//! folders may point at two servers. A file outside every folder takes the first folder's
//! scope. Also here: the "settings are in" signal lookups wait for after `initialized`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::api::{Client as ApiClient, ClientSettings};
use crate::config::{Config, Layers, Source};
use crate::model::Unavailable;
use crate::resolve::Resolver;
use crate::scan::Scanner;
use crate::settings::{Assembled, Assembler};
use tower_lsp_server::ls_types::ConfigurationItem;

use super::from_proto;
use super::server::CLIENT_WAIT;

/// Longest wait for the editor's settings before lookups go ahead without them.
const SETTINGS_WAIT: Duration = Duration::from_secs(5);

/// The settings in force for some files: a workspace folder's, or those of files outside
/// every folder.
pub struct Scope {
    /// Distinct among the scopes of one [`Scopes`], for grouping files by scope.
    pub id: u64,
    pub config: Arc<Config>,
    pub scanner: Arc<Scanner>,
    /// Shared by every scope with the same server, token and tunables.
    pub resolver: Arc<Resolver>,
    /// Why no request can be made with these settings, if so.
    pub problem: Option<Unavailable>,
}

impl Scope {
    /// The server's `host[:port]`, if one is set.
    pub fn host(&self) -> Option<String> {
        self.config.server_url.as_deref().and_then(crate::api::client::host_of)
    }
}

/// The scopes in force: one per workspace folder (folders with the same layers share one),
/// and the one for files outside every folder (the first folder's, or, with no folder, the
/// shared layers').
pub struct Scopes {
    folders: Vec<(PathBuf, Arc<Scope>)>,
    outside: Arc<Scope>,
}

impl Scopes {
    /// The scope of a file: the innermost folder holding it, else the one outside every
    /// folder (also for a document with no path, such as `untitled:`).
    pub fn of(&self, path: Option<&Path>) -> &Arc<Scope> {
        path.and_then(|path| crate::workspace::innermost(path, self.folders.iter().map(|(r, s)| (r.as_path(), s))))
            .unwrap_or(&self.outside)
    }

    /// The scope of files outside every folder: the user's settings and the first folder's.
    pub fn outside(&self) -> &Arc<Scope> {
        &self.outside
    }

    /// What to call the server of `scope` in a message: its `host[:port]`, or, when it has
    /// none, the workspace folders whose settings it is ("the workspace folder notes").
    pub fn label(&self, scope: &Scope) -> String {
        if let Some(host) = scope.host() {
            return host;
        }
        let names: Vec<String> = self
            .folders
            .iter()
            .filter(|(_, s)| s.id == scope.id)
            .map(|(root, _)| crate::workspace::folder_name(root))
            .collect();
        match names.as_slice() {
            [] => "the server".into(),
            [one] => format!("the workspace folder {one}"),
            many => format!("the workspace folders {}", many.join(", ")),
        }
    }

    /// Every distinct scope, the outside one first.
    pub fn all(&self) -> Vec<Arc<Scope>> {
        let mut all = vec![Arc::clone(&self.outside)];
        for (_, scope) in &self.folders {
            if !all.iter().any(|s| s.id == scope.id) {
                all.push(Arc::clone(scope));
            }
        }
        all
    }

    /// Every distinct resolver with the scopes that use it, the outside scope's first.
    pub fn by_resolver(&self) -> Vec<(Arc<Resolver>, Vec<Arc<Scope>>)> {
        let mut out: Vec<(Arc<Resolver>, Vec<Arc<Scope>>)> = Vec::new();
        for scope in self.all() {
            match out.iter_mut().find(|(r, _)| Arc::ptr_eq(r, &scope.resolver)) {
                Some((_, scopes)) => scopes.push(scope),
                None => out.push((Arc::clone(&scope.resolver), vec![scope])),
            }
        }
        out
    }
}

/// One folder's own layers.
#[derive(Clone)]
struct FolderLayers {
    root: PathBuf,
    /// Its `.synergy.toml` (`Null` when it has none, or it could not be read).
    file: Value,
    /// The editor's settings for this folder (`workspace/configuration` with its `scopeUri`);
    /// `None` until asked, or when the editor's settings came for all folders at once.
    editor: Option<Value>,
}

/// What the resolver of a scope is built from.
type ResolverKey = (ClientSettings, crate::resolve::Settings);

/// A resolver in use, with what it was built from.
struct Pooled {
    key: ResolverKey,
    resolver: Arc<Resolver>,
    problem: Option<Unavailable>,
}

/// A resolver reused for new settings, to be reconfigured once the scopes that use it are in
/// force (its health watcher then reads the new settings' state).
type Reconfigure = (Arc<Resolver>, ApiClient, crate::resolve::Settings);

impl Pooled {
    /// A resolver for `key`: `reused` (to be reconfigured: added to `pending`), or a new one.
    fn new(key: ResolverKey, reused: Option<Arc<Resolver>>, pending: &mut Vec<Reconfigure>) -> Pooled {
        let api = ApiClient::new(&key.0);
        let problem = api.config_error().map(|e| e.to_unavailable());
        let resolver = match reused {
            Some(resolver) => {
                pending.push((Arc::clone(&resolver), api, key.1.clone()));
                resolver
            }
            None => Resolver::new(api, key.1.clone(), Arc::new(crate::resolve::clock::SystemClock)),
        };
        Pooled { key, resolver, problem }
    }
}

/// What a reload did.
pub struct Reloaded {
    /// What to warn about (errors too: the server goes on without the part that failed).
    pub warnings: Vec<String>,
}

pub struct SettingsState {
    /// The layers every folder shares.
    shared: Mutex<Layers>,
    /// Each workspace folder's own layers, in the folders' order.
    folders: Mutex<Vec<FolderLayers>>,
    assembler: Assembler,
    current: RwLock<Arc<Scopes>>,
    /// The resolvers of the scopes in force.
    pool: Mutex<Vec<Pooled>>,
    /// Numbers scopes.
    next_id: AtomicU64,
    /// Held through a reload, so two (a settings change and a `.synergy.toml` changed on disk)
    /// apply in turn and the last applied is built from the latest layers.
    reloading: tokio::sync::Mutex<()>,
    /// Whether the editor's settings are in (pulled after `initialized`). Until then nothing
    /// is looked up: a check before the server URL arrives would say "not configured".
    ready: tokio::sync::watch::Sender<bool>,
}

impl Default for SettingsState {
    fn default() -> SettingsState {
        let assembled = Assembled::new(Config::default(), Scanner::default());
        let pooled = Pooled::new((assembled.client.clone(), assembled.resolver.clone()), None, &mut Vec::new());
        let outside = Arc::new(Scope {
            id: 0,
            config: assembled.config,
            scanner: assembled.scanner,
            resolver: Arc::clone(&pooled.resolver),
            problem: pooled.problem.clone(),
        });
        SettingsState {
            shared: Mutex::new(Layers::default()),
            folders: Mutex::new(Vec::new()),
            assembler: Assembler::default(),
            current: RwLock::new(Arc::new(Scopes { folders: Vec::new(), outside })),
            pool: Mutex::new(vec![pooled]),
            next_id: AtomicU64::new(1),
            reloading: tokio::sync::Mutex::new(()),
            ready: tokio::sync::watch::channel(false).0,
        }
    }
}

impl SettingsState {
    /// The scopes in force (a snapshot: an operation that groups files by scope takes one).
    pub fn scopes(&self) -> Arc<Scopes> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Every resolver in use.
    pub fn resolvers(&self) -> Vec<Arc<Resolver>> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|p| Arc::clone(&p.resolver)).collect()
    }

    /// Sets (replaces) one of the layers every folder shares.
    pub fn set_layer(&self, source: Source, value: Value) {
        self.shared.lock().unwrap_or_else(|e| e.into_inner()).set(source, value);
    }

    /// Sets the workspace folders, in order; a folder kept keeps its layers, a new one has
    /// none until [`SettingsState::set_folder_file`].
    pub fn set_folders(&self, roots: &[PathBuf]) {
        let mut folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        let mut kept: Vec<FolderLayers> = Vec::with_capacity(roots.len());
        for root in roots {
            match folders.iter().find(|f| f.root == *root) {
                Some(f) => kept.push(f.clone()),
                None => kept.push(FolderLayers { root: root.clone(), file: Value::Null, editor: None }),
            }
        }
        *folders = kept;
    }

    /// Sets a folder's `.synergy.toml` layer (`Null`: none).
    pub fn set_folder_file(&self, root: &Path, value: Value) {
        let mut folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = folders.iter_mut().find(|f| f.root == root) {
            f.file = value;
        }
    }

    /// Sets the editor's settings for each folder (`None`: the editor's settings for all
    /// folders apply, as when they were pushed with `didChangeConfiguration`).
    pub fn set_folder_editor_settings(&self, each: impl Fn(&Path) -> Option<Value>) {
        for f in self.folders.lock().unwrap_or_else(|e| e.into_inner()).iter_mut() {
            f.editor = each(&f.root);
        }
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

    /// Assembles every folder's settings from its layers and applies them: a resolver is kept
    /// for the same server, token and tunables, reconfigured (its cache kept for the same
    /// server) or made for new ones, and dropped when no scope uses it any more.
    pub async fn reload(&self) -> Reloaded {
        let _turn = self.reloading.lock().await;
        let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let folders = self.folders.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // Each folder's layers; with no folder, the shared ones alone.
        let stacks: Vec<(Option<&FolderLayers>, Layers)> = if folders.is_empty() {
            vec![(None, shared.clone())]
        } else {
            folders
                .iter()
                .map(|f| {
                    let mut layers = shared.clone();
                    layers.set(Source::File, f.file.clone());
                    if let Some(editor) = &f.editor {
                        layers.set(Source::EditorSettings, editor.clone());
                    }
                    (Some(f), layers)
                })
                .collect()
        };
        // Folders with the same layers are assembled once (and share a scope).
        let mut assembled: Vec<(Layers, Arc<Assembled>)> = Vec::new();
        let mut of_stack = Vec::with_capacity(stacks.len());
        for (_, layers) in &stacks {
            let i = match assembled.iter().position(|(l, _)| l == layers) {
                Some(i) => i,
                None => {
                    assembled.push((layers.clone(), Arc::new(self.assembler.assemble(layers).await)));
                    assembled.len() - 1
                }
            };
            of_stack.push(i);
        }
        let warnings = warnings_of(&stacks, &of_stack, &assembled);

        // Resolvers, one per distinct key: the same key keeps its resolver; a new key takes one
        // no longer needed (the same server's first, so its cache is kept) or a new one.
        let mut keys: Vec<ResolverKey> = Vec::new();
        let key_of: Vec<usize> = assembled
            .iter()
            .map(|(_, a)| {
                let key = (a.client.clone(), a.resolver.clone());
                keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                    keys.push(key);
                    keys.len() - 1
                })
            })
            .collect();
        let mut pending = Vec::new();
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        let mut old: Vec<Option<Pooled>> = std::mem::take(&mut *pool).into_iter().map(Some).collect();
        let mut kept: Vec<Option<Pooled>> =
            keys.iter().map(|key| old.iter_mut().find(|p| p.as_ref().is_some_and(|p| p.key == *key))?.take()).collect();
        for (k, key) in keys.iter().enumerate() {
            if kept[k].is_some() {
                continue;
            }
            let same_server =
                old.iter().position(|p| p.as_ref().is_some_and(|p| p.key.0.server_url == key.0.server_url));
            let reused = same_server.or_else(|| old.iter().position(Option::is_some)).and_then(|i| old[i].take());
            kept[k] = Some(Pooled::new(key.clone(), reused.map(|p| p.resolver), &mut pending));
        }
        pool.extend(kept.into_iter().flatten());
        let scopes: Vec<Arc<Scope>> = assembled
            .iter()
            .zip(&key_of)
            .map(|((_, a), &k)| {
                let pooled = &pool[k];
                Arc::new(Scope {
                    id: self.next_id.fetch_add(1, Ordering::Relaxed),
                    config: Arc::clone(&a.config),
                    scanner: Arc::clone(&a.scanner),
                    resolver: Arc::clone(&pooled.resolver),
                    problem: pooled.problem.clone(),
                })
            })
            .collect();
        drop(pool);
        let folders: Vec<(PathBuf, Arc<Scope>)> = stacks
            .iter()
            .zip(&of_stack)
            .filter_map(|((f, _), i)| Some((f.as_ref()?.root.clone(), Arc::clone(&scopes[*i]))))
            .collect();
        let outside = Arc::clone(&scopes[of_stack[0]]);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Scopes { folders, outside });
        for (resolver, api, settings) in pending {
            resolver.reconfigure(api, settings);
        }
        Reloaded { warnings }
    }
}

/// The warnings and errors of every assembled stack, once each; with several folders, one
/// that not every folder has is said with the folder it is about.
fn warnings_of(
    stacks: &[(Option<&FolderLayers>, Layers)],
    of_stack: &[usize],
    assembled: &[(Layers, Arc<Assembled>)],
) -> Vec<String> {
    let said: Vec<Vec<&String>> = of_stack
        .iter()
        .map(|&i| {
            let a = &assembled[i].1;
            a.warnings.iter().chain(&a.errors).collect()
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    for ((folder, _), mine) in stacks.iter().zip(&said) {
        for &w in mine {
            let everywhere = said.iter().all(|other| other.contains(&w));
            let w = match folder {
                Some(f) if !everywhere => {
                    format!("In the workspace folder {}: {w}", crate::workspace::folder_name(&f.root))
                }
                _ => w.clone(),
            };
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

impl super::state::State {
    /// Pulls `workspace/configuration` (section `synergy`) when the client supports it: once
    /// for all folders, and once for each workspace folder (`scopeUri`), whose answer is that
    /// folder's editor settings (VS Code's folder settings, Emacs' directory variables; other
    /// editors answer the same for every folder).
    pub async fn pull_settings(&self) {
        if !self.caps().pull_configuration {
            return;
        }
        let folders = self.workspace.folders();
        let mut items = vec![ConfigurationItem { scope_uri: None, section: Some("synergy".into()) }];
        items.extend(
            folders
                .iter()
                .map(|f| ConfigurationItem { scope_uri: super::workspace::uri_of(f), section: Some("synergy".into()) }),
        );
        // Bounded: an editor that never answers (it died during start-up) must not hold this
        // handler, and with it the process, forever.
        match tokio::time::timeout(CLIENT_WAIT, self.client.configuration(items)).await {
            Ok(Ok(values)) if !values.is_empty() => {
                let mut values = values.into_iter();
                if let Some(v) = values.next().and_then(|v| from_proto::settings(Some(v))) {
                    self.settings.set_layer(Source::EditorSettings, v);
                }
                let per_folder: Vec<(std::path::PathBuf, Option<Value>)> =
                    folders.into_iter().zip(values.map(|v| from_proto::settings(Some(v)))).collect();
                self.settings.set_folder_editor_settings(|root| {
                    per_folder.iter().find(|(f, _)| f == root).and_then(|(_, v)| v.clone())
                });
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("workspace/configuration failed: {e}"),
            Err(_) => tracing::warn!(
                "workspace/configuration: no answer within {} s; going on without the editor's settings",
                CLIENT_WAIT.as_secs()
            ),
        }
    }
}
