//! Settings: one serde struct ([`Config`], camelCase, every field defaulted) and its layering.
//!
//! Layers, lowest first: defaults < `.synergy.toml` at the workspace folder's root < environment
//! (`SYNERGY_URL`, `SYNERGY_TOKEN`) < editor settings (`initializationOptions`, then
//! `workspace/configuration` section `synergy`, also re-read on `didChangeConfiguration`).
//! Each layer is validated on its own: a broken layer is reported and skipped, the others apply.
//!
//! The Personal Access Token is a [`Secret`]: its `Debug` is redacted and it is never
//! serialized. It is accepted from the environment, `tokenCommand`, and `initializationOptions`
//! only; a token found in a workspace file or workspace settings is dropped with a warning,
//! because those files get committed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The PAT. Deliberately has no `Display`, no `Serialize`, and a redacted `Debug`. Every
/// token made is remembered (in this process only) so [`redact`] can scrub it from text that
/// must be shown, such as a panic message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

fn known_secrets() -> &'static std::sync::RwLock<Vec<String>> {
    static KNOWN: std::sync::OnceLock<std::sync::RwLock<Vec<String>>> = std::sync::OnceLock::new();
    KNOWN.get_or_init(Default::default)
}

/// `text` with every token this process has seen replaced by `<redacted>`.
pub fn redact(text: &str) -> String {
    let known = known_secrets().read().unwrap_or_else(|e| e.into_inner());
    known.iter().filter(|s| s.len() >= 4).fold(text.to_string(), |t, s| t.replace(s.as_str(), "<redacted>"))
}

/// Registers every string under a `token` key anywhere in `value` (an LSP message, a settings
/// object) as a known secret, whether or not it is used, so [`redact`] scrubs it from every
/// log line and message from now on.
pub fn learn_tokens(value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(t) if k == "token" => drop(Secret::new(t.as_str())),
                    _ => learn_tokens(v),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(learn_tokens),
        _ => {}
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        let s = s.into();
        let trimmed = s.trim().to_string();
        let mut known = known_secrets().write().unwrap_or_else(|e| e.into_inner());
        if !trimmed.is_empty() && !known.contains(&trimmed) && known.len() < 64 {
            known.push(trimmed);
        }
        Secret(s)
    }
    /// The token itself, for the one place that needs it: the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Every setting synergy-ls reads. Documented field by field in the README ("Configuration").
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// Base URL of the 12d Synergy server, e.g. `https://synergy.example.com`. Env `SYNERGY_URL`.
    pub server_url: Option<String>,
    /// The PAT. Env `SYNERGY_TOKEN` or `initializationOptions.token`; see the module docs.
    /// Never serialized (`Secret` has no `Serialize`): `Config`'s serialization is its
    /// settings schema, used to check editor manifests against it.
    #[serde(skip_serializing)]
    pub token: Option<Secret>,
    /// A shell command that prints the PAT (e.g. `pass show synergy`), run once when no token
    /// is set otherwise.
    pub token_command: Option<String>,
    /// Link to a job in the web client; placeholders `{id}`, `{name}`, `{path}`.
    pub web_url_template: Option<String>,
    pub cache: CacheConfig,
    pub diagnostics: DiagnosticsConfig,
    /// Extra regexes with a named group `name` that also mark references.
    pub reference_patterns: Vec<String>,
    pub scan: ScanConfig,
    pub files: FilesConfig,
    pub workspace: WorkspaceConfig,
    /// Most requests in flight to the server at once.
    pub max_concurrent_requests: usize,
    /// Allow plain `http://` to a non-loopback host (the token then crosses the network in clear).
    pub allow_insecure_http: bool,
    /// PEM files of extra certificate authorities to trust (an on-premises server with a
    /// private CA), besides the system's.
    pub ca_certificates: Vec<String>,
    /// How long one request may take, body included, before it counts as a timeout.
    pub request_timeout_seconds: u64,
}

impl Config {
    /// How many name lookups a batch (a workspace check, `check`, a fix) starts at once: four
    /// per request allowed in flight, so the host gate (`resolve::host`) always has the next
    /// request ready; the gate bounds what is actually sent.
    pub fn lookup_fanout(&self) -> usize {
        self.max_concurrent_requests.max(1) * 4
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            server_url: None,
            token: None,
            token_command: None,
            web_url_template: None,
            cache: CacheConfig::default(),
            diagnostics: DiagnosticsConfig::default(),
            reference_patterns: Vec::new(),
            scan: ScanConfig::default(),
            files: FilesConfig::default(),
            workspace: WorkspaceConfig::default(),
            max_concurrent_requests: 8,
            allow_insecure_http: false,
            ca_certificates: Vec::new(),
            request_timeout_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CacheConfig {
    /// How long a found or ambiguous answer is fresh.
    pub ttl_seconds: u64,
    /// How long "no such job" is believed.
    pub negative_ttl_seconds: u64,
    /// Keep answers on disk, shared by every synergy-ls process of this user, so they are
    /// there after a restart and while the server cannot be reached (`resolve::persist`).
    pub persist: bool,
    /// Where the persisted cache lives; default `$SYNERGY_CACHE_DIR`, else the platform's
    /// cache directory (`~/.cache/synergy-ls`, `%LOCALAPPDATA%\synergy-ls`,
    /// `~/Library/Caches/synergy-ls`).
    pub directory: Option<String>,
    /// The most jobs the persisted cache keeps; the least recently seen go first.
    pub max_jobs: usize,
}

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig { ttl_seconds: 300, negative_ttl_seconds: 60, persist: true, directory: None, max_jobs: 200_000 }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiagnosticsConfig {
    pub severity: SeverityConfig,
    /// Quiet time after the last edit before a document is re-checked.
    pub debounce_ms: u64,
}

impl Default for DiagnosticsConfig {
    fn default() -> DiagnosticsConfig {
        DiagnosticsConfig { severity: SeverityConfig::default(), debounce_ms: 200 }
    }
}

/// Severity per diagnostic code; `off` hides that code.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeverityConfig {
    pub unknown_job: Severity,
    pub ambiguous_job: Severity,
    pub case_mismatch: Severity,
}

impl Default for SeverityConfig {
    fn default() -> SeverityConfig {
        SeverityConfig {
            unknown_job: Severity::Warning,
            ambiguous_job: Severity::Information,
            case_mismatch: Severity::Information,
        }
    }
}

impl SeverityConfig {
    pub fn of(&self, code: crate::model::DiagnosticCode) -> Severity {
        use crate::model::DiagnosticCode::*;
        match code {
            UnknownJob => self.unknown_job,
            AmbiguousJob => self.ambiguous_job,
            CaseMismatch => self.case_mismatch,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Off,
    Hint,
    #[serde(alias = "info")]
    Information,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Hint => "hint",
            Severity::Information => "information",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScanConfig {
    /// Also report references inside Markdown code blocks and code spans.
    pub include_code: bool,
}

/// Which files besides the documents (`scan::DOCUMENT_EXTENSIONS`) are checked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FilesConfig {
    /// Globs (gitignore syntax) of more files to check, e.g. `**/*.yaml`: source files by their
    /// comments, files of unknown type as prose. `check --include` adds to these.
    pub include: Vec<String>,
    /// Globs of files never to check. `check --exclude` adds to these.
    pub exclude: Vec<String>,
}

/// The language server's workspace index: every file of every workspace folder, not only the
/// open ones, is checked, with the same walk as `check` (`.gitignore`, hidden files, the
/// document list, `files.include` / `files.exclude`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkspaceConfig {
    /// Index and check the whole workspace (else only open documents).
    pub enabled: bool,
    /// More globs of files to index, besides `files.include`.
    pub include: Vec<String>,
    /// More globs of files never to index, besides `files.exclude`.
    pub exclude: Vec<String>,
    /// Most files indexed in a folder (the first folder's value also bounds all folders
    /// together); past it, the server says so once and indexes the first ones.
    pub max_files: usize,
}

impl Default for WorkspaceConfig {
    fn default() -> WorkspaceConfig {
        WorkspaceConfig { enabled: true, include: Vec::new(), exclude: Vec::new(), max_files: 20_000 }
    }
}

/// The file read from the workspace root.
pub const CONFIG_FILE: &str = ".synergy.toml";

/// Where a layer of settings came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    File,
    Environment,
    InitializationOptions,
    EditorSettings,
    /// Flags of the `check` command.
    CommandLine,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::File => CONFIG_FILE,
            Source::Environment => "the environment",
            Source::InitializationOptions => "initializationOptions",
            Source::EditorSettings => "the editor settings (synergy.*)",
            Source::CommandLine => "the command line",
        }
    }

    /// Whether a token may come from here (see the module docs).
    fn may_hold_token(self) -> bool {
        matches!(self, Source::Environment | Source::InitializationOptions)
    }
}

/// The settings layers, each a JSON object in [`Config`]'s shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layers {
    pub layers: Vec<(Source, Value)>,
    /// What messages call the settings file ([`Source::File`]): its path as the user gave
    /// it; `.synergy.toml` when not set.
    pub file_name: Option<String>,
}

impl Layers {
    /// How messages name where a layer came from.
    fn describe(&self, source: Source) -> &str {
        match (source, &self.file_name) {
            (Source::File, Some(name)) => name,
            _ => source.describe(),
        }
    }

    /// Sets (replaces) one layer.
    pub fn set(&mut self, source: Source, value: Value) {
        self.layers.retain(|(s, _)| *s != source);
        self.layers.push((source, value));
        self.layers.sort_by_key(|(s, _)| *s as u8);
    }

    /// Merges the layers into a [`Config`]; what was wrong is returned as warnings, never
    /// containing a token.
    pub fn build(&self) -> (Config, Vec<String>) {
        let mut warnings = Vec::new();
        let mut merged = Value::Object(Map::new());
        // Who set `serverUrl` last, and what `.synergy.toml` said: a workspace folder's server
        // hidden by the user's is said (see `server_overridden`).
        let mut server_from: Option<(Source, String)> = None;
        let mut file_server: Option<String> = None;
        for (source, value) in &self.layers {
            let mut value = match value {
                Value::Object(_) => value.clone(),
                Value::Null => continue,
                _ => {
                    warnings.push(format!("Settings from {} are not an object; ignored.", self.describe(*source)));
                    continue;
                }
            };
            // The token is taken out and checked on its own, so no error message about the rest
            // of the layer can ever quote it.
            let mut token = None;
            let removed = value.as_object_mut().and_then(|obj| obj.remove("token"));
            // Used or not, a token is scrubbed from logs from now on.
            if let Some(Value::String(t)) = &removed {
                drop(Secret::new(t.as_str()));
            }
            match removed {
                Some(_) if !source.may_hold_token() => warnings.push(format!(
                    "A token in {} was ignored: workspace files get committed. Set SYNERGY_TOKEN in the \
                     environment, use tokenCommand, or your editor's secret store.",
                    self.describe(*source)
                )),
                Some(Value::String(t)) => token = Some(t),
                Some(Value::Null) | None => {}
                Some(_) => warnings.push(format!("The token in {} is not a string; ignored.", self.describe(*source))),
            }
            // A command in a workspace file would run as soon as someone opens a cloned
            // repository: only the user's own settings may name one.
            if *source == Source::File && value.as_object_mut().and_then(|obj| obj.remove("tokenCommand")).is_some() {
                warnings.push(format!(
                    "tokenCommand in {} was ignored: a command from a workspace file would run for anyone who opens it. Set it in your editor's user settings or SYNERGY_TOKEN_COMMAND.",
                    self.describe(*source)
                ));
            }
            if let Err(e) = Config::deserialize(&value) {
                warnings.push(format!("Settings from {} ignored: {e}", self.describe(*source)));
                continue;
            }
            if let Some(t) = token {
                merge(&mut merged, serde_json::json!({ "token": t }));
            }
            if let Some(url) = value.get("serverUrl").and_then(Value::as_str) {
                if *source == Source::File {
                    file_server = Some(url.to_string());
                }
                server_from = Some((*source, url.to_string()));
            }
            merge(&mut merged, value);
        }
        warnings.extend(server_overridden(self.describe(Source::File), file_server.as_deref(), server_from.as_ref()));
        let config = Config::deserialize(&merged).unwrap_or_else(|e| {
            warnings.push(format!("Settings ignored: {e}"));
            Config::default()
        });
        (config, warnings)
    }
}

/// The warning when the settings file (called `name`) names a server (`file`) and a layer
/// above it names another (`winner`, the last to set one): the file is not what decides, and
/// with several workspace folders they would all use the one server. Not said for
/// `--server-url`, which the user gave for this run.
fn server_overridden(name: &str, file: Option<&str>, winner: Option<&(Source, String)>) -> Option<String> {
    let (source, url) = winner?;
    let file = file?;
    let same = |a: &str, b: &str| a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/');
    if *source == Source::File || *source == Source::CommandLine || same(file, url) {
        return None;
    }
    let (named_by, undo) = match source {
        Source::Environment => ("SYNERGY_URL in the environment", "unset SYNERGY_URL"),
        Source::InitializationOptions => ("initializationOptions", "leave serverUrl out of initializationOptions"),
        _ => ("the editor settings (serverUrl)", "clear the serverUrl setting"),
    };
    Some(format!(
        "{name} names the server {file}, but {named_by} names {url}, which is used. To let {name} choose the \
         server, {undo}."
    ))
}

/// Deep merge: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) if v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// The environment layer: `SYNERGY_URL`, `SYNERGY_TOKEN` and `SYNERGY_TOKEN_COMMAND`.
pub fn env_layer(get: impl Fn(&str) -> Option<String>) -> Value {
    let mut obj = Map::new();
    if let Some(url) = get("SYNERGY_URL").filter(|s| !s.trim().is_empty()) {
        obj.insert("serverUrl".into(), Value::String(url.trim().to_string()));
    }
    if let Some(token) = get("SYNERGY_TOKEN").filter(|s| !s.trim().is_empty()) {
        obj.insert("token".into(), Value::String(token.trim().to_string()));
    }
    if let Some(cmd) = get("SYNERGY_TOKEN_COMMAND").filter(|s| !s.trim().is_empty()) {
        obj.insert("tokenCommand".into(), Value::String(cmd.trim().to_string()));
    }
    Value::Object(obj)
}

/// Reads `.synergy.toml` in `root` as a layer. `Ok(None)` when there is none.
pub fn file_layer(root: &std::path::Path) -> Result<Option<Value>, String> {
    let path = root.join(CONFIG_FILE);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => file_layer_at(&path).map(Some),
    }
}

/// Reads a settings file (TOML, [`Config`]'s shape) as a layer; a missing file is an error.
pub fn file_layer_at(path: &std::path::Path) -> Result<Value, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Err(format!("Could not read {}: {e}", path.display())),
    };
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{} is not valid TOML: {}", path.display(), e.message()))?;
    serde_json::to_value(table).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `tokenCommand` through the platform's shell and returns the first line it printed,
/// trimmed. The error never contains the output. The command sees the server it is asked a
/// token for as `SYNERGY_URL` (`server_url`, when one is set), so one command can print the
/// right token for each of several servers (workspace folders may name their own).
///
/// On Windows the command goes to `cmd.exe /D /S /C "<command>"` verbatim (`raw_arg`): cmd.exe
/// does not understand the `\"` escaping that `.arg()` applies, so `type "C:\my token.txt"`
/// would fail. `/S` makes cmd.exe strip only the outer quotes, `/D` skips AutoRun commands
/// (Node's `shell: true` spawns the same way). Elsewhere it is `sh -c <command>`.
pub async fn run_token_command(command: &str, server_url: Option<&str>) -> Result<Secret, String> {
    let mut cmd = shell_command(command);
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    if let Some(url) = server_url {
        cmd.env("SYNERGY_URL", url);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), cmd.output())
        .await
        .map_err(|_| format!("tokenCommand `{command}` did not finish within 30 s"))?
        .map_err(|e| format!("tokenCommand `{command}` could not start: {e}"))?;
    if !out.status.success() {
        return Err(format!("tokenCommand `{command}` failed ({})", out.status));
    }
    let token = String::from_utf8(out.stdout).map_err(|_| format!("tokenCommand `{command}` printed non-UTF-8"))?;
    let token = token.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(format!("tokenCommand `{command}` printed nothing"));
    }
    Ok(Secret::new(token))
}

/// `command` as the platform's shell runs it (see [`run_token_command`]).
#[cfg(windows)]
fn shell_command(command: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("cmd");
    c.raw_arg(format!("/D /S /C \"{command}\""));
    c
}

/// `command` as the platform's shell runs it (see [`run_token_command`]).
#[cfg(not(windows))]
fn shell_command(command: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c").arg(command);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layers_merge_in_order_and_bad_layers_are_skipped() {
        let mut layers = Layers::default();
        layers.set(
            Source::EditorSettings,
            json!({"cache": {"ttlSeconds": 10}, "diagnostics": {"severity": {"unknownJob": "error"}}}),
        );
        layers.set(
            Source::File,
            json!({"serverUrl": "https://file", "cache": {"negativeTtlSeconds": 5}, "token": "tok-FILE-91c2",
                   "tokenCommand": "touch /tmp/pwned"}),
        );
        layers.set(Source::Environment, json!({"serverUrl": "https://env", "token": "tok-ENV-7f3a"}));
        layers.set(Source::InitializationOptions, json!({"maxConcurrentRequests": "many"}));
        let (config, warnings) = layers.build();
        assert_eq!(config.server_url.as_deref(), Some("https://env"));
        assert_eq!(config.cache, CacheConfig { ttl_seconds: 10, negative_ttl_seconds: 5, ..CacheConfig::default() });
        assert_eq!(config.diagnostics.severity.unknown_job, Severity::Error);
        assert_eq!(config.diagnostics.severity.ambiguous_job, Severity::Information);
        assert_eq!(config.max_concurrent_requests, 8);
        assert_eq!(config.token.as_ref().map(Secret::expose), Some("tok-ENV-7f3a"));
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].contains(".synergy.toml") && warnings[0].contains("token"));
        assert!(warnings[1].contains(".synergy.toml") && warnings[1].contains("tokenCommand"));
        assert!(warnings[2].contains("initializationOptions"));
        assert!(warnings[3].contains("names the server https://file") && warnings[3].contains("SYNERGY_URL"));
        assert_eq!(config.token_command, None);
        let all = format!("{warnings:?}{config:?}");
        assert!(!all.contains("tok-"), "token leaked: {all}");
    }

    #[test]
    fn a_server_named_in_the_settings_file_and_hidden_by_another_is_said() {
        let mut layers = Layers::default();
        layers.set(Source::File, json!({"serverUrl": "https://a.example.com"}));
        let (config, warnings) = layers.build();
        assert_eq!((config.server_url.as_deref(), warnings.len()), (Some("https://a.example.com"), 0));
        layers.set(Source::Environment, json!({"serverUrl": "https://a.example.com/"}));
        assert!(layers.build().1.is_empty(), "the same server is no news");
        layers.set(Source::Environment, json!({"serverUrl": "https://b.example.com"}));
        let (config, warnings) = layers.build();
        assert_eq!(config.server_url.as_deref(), Some("https://b.example.com"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("names the server https://a.example.com")
                && warnings[0].contains("SYNERGY_URL")
                && warnings[0].contains("https://b.example.com, which is used"),
            "{warnings:?}"
        );
        layers.set(Source::EditorSettings, json!({"serverUrl": "https://c.example.com"}));
        let (_, warnings) = layers.build();
        assert!(
            warnings[0].contains("editor settings") && warnings[0].contains("https://c.example.com"),
            "{warnings:?}"
        );
        // A settings file given by its path is called by it.
        layers.file_name = Some("ci/synergy.toml".into());
        let (_, warnings) = layers.build();
        assert!(warnings[0].starts_with("ci/synergy.toml names the server"), "{warnings:?}");
        // --server-url is asked for this run: not a surprise.
        let mut layers = Layers::default();
        layers.set(Source::File, json!({"serverUrl": "https://a.example.com"}));
        layers.set(Source::CommandLine, json!({"serverUrl": "https://d.example.com"}));
        assert!(layers.build().1.is_empty());
    }

    #[test]
    fn a_token_of_the_wrong_type_is_not_quoted_back() {
        let mut layers = Layers::default();
        layers.set(Source::InitializationOptions, json!({"token": ["hunter2-secret"]}));
        let (_, warnings) = layers.build();
        assert_eq!(warnings.len(), 1);
        assert!(!warnings[0].contains("hunter2"), "{warnings:?}");
        // A number is quoted by serde in backticks, not quotes: it must not leak either.
        layers.set(Source::InitializationOptions, json!({"token": 918273645}));
        let (config, warnings) = layers.build();
        assert!(config.token.is_none());
        assert!(!warnings[0].contains("918273645"), "{warnings:?}");
    }

    #[test]
    fn known_tokens_are_redacted() {
        let _ = Secret::new(" tok-REDACT-4411 ");
        let from_json: Secret = serde_json::from_value(json!("tok-JSON-9921")).unwrap();
        assert_eq!(from_json.expose(), "tok-JSON-9921");
        assert_eq!(
            redact("called `Result::unwrap()` on tok-REDACT-4411 and tok-JSON-9921"),
            "called `Result::unwrap()` on <redacted> and <redacted>"
        );
    }

    #[test]
    fn env_and_file_layers() {
        let env = env_layer(|k| match k {
            "SYNERGY_URL" => Some(" http://127.0.0.1:1 ".into()),
            "SYNERGY_TOKEN" => Some("".into()),
            _ => None,
        });
        assert_eq!(env, json!({"serverUrl": "http://127.0.0.1:1"}));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(file_layer(dir.path()), Ok(None));
        std::fs::write(dir.path().join(CONFIG_FILE), "serverUrl = \"https://x\"\n[scan]\nincludeCode = true\n")
            .unwrap();
        assert_eq!(
            file_layer(dir.path()).unwrap(),
            Some(json!({"serverUrl": "https://x", "scan": {"includeCode": true}}))
        );
        std::fs::write(dir.path().join(CONFIG_FILE), "serverUrl = ").unwrap();
        assert!(file_layer(dir.path()).unwrap_err().contains("not valid TOML"));
    }

    #[cfg(not(windows))]
    #[tokio::test]
    async fn token_command() {
        assert_eq!(run_token_command("echo ' tok '", None).await.unwrap().expose(), "tok");
        let err = run_token_command("echo abc$((40+2)); exit 3", None).await.unwrap_err();
        assert!(err.contains("failed") && !err.contains("abc42"), "{err}");
        assert!(run_token_command("true", None).await.unwrap_err().contains("printed nothing"));
    }

    /// cmd.exe syntax, run under Wine by scripts/windows: quotes, spaces, `&&`, exit codes.
    #[cfg(windows)]
    #[tokio::test]
    async fn token_command() {
        assert_eq!(run_token_command("echo  tok ", None).await.unwrap().expose(), "tok");
        let err = run_token_command("echo abc4^2 && exit /b 3", None).await.unwrap_err();
        assert!(err.contains("failed") && !err.contains("abc42"), "{err}");
        assert!(run_token_command("rem nothing", None).await.unwrap_err().contains("printed nothing"));
    }

    /// The command sees the server it is for as SYNERGY_URL.
    #[tokio::test]
    async fn token_command_sees_its_server() {
        let print = if cfg!(windows) { "echo tok-%SYNERGY_URL%" } else { "echo tok-$SYNERGY_URL" };
        let token = run_token_command(print, Some("https://b.example.com")).await.unwrap();
        assert_eq!(token.expose(), "tok-https://b.example.com");
    }

    /// A token in a file whose path has spaces, read the way the README says (`type "…"` on
    /// Windows, `cat '…'` elsewhere): the quoting reaches the shell unchanged.
    #[tokio::test]
    async fn token_command_with_a_quoted_path_with_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("my folder");
        std::fs::create_dir(&folder).unwrap();
        let file = folder.join("my token.txt");
        std::fs::write(&file, "tok-in-file-77\r\n").unwrap();
        let print = |path: &std::path::Path| {
            if cfg!(windows) { format!("type \"{}\"", path.display()) } else { format!("cat '{}'", path.display()) }
        };
        let command = print(&file);
        assert_eq!(run_token_command(&command, None).await.unwrap().expose(), "tok-in-file-77", "{command}");
        let command = print(&folder.join("no such file.txt"));
        assert!(run_token_command(&command, None).await.unwrap_err().contains("failed"), "{command}");
    }
}
