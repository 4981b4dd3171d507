//! Settings assembled for use, in one place for the command line and the language server:
//! the layers ([`config::Layers`]) merged into a [`Config`], `tokenCommand` run when it is the
//! only source of a token (once per distinct command and server), the scanner built from the
//! `referencePatterns`, the HTTP client's and the resolver's settings derived, and every
//! warning collected. `main.rs` (`check`, `status`) and `lsp/settings.rs` both call
//! [`Assembler::assemble`]; only what they do with an error differs (the command line stops,
//! the server warns and goes on).

use std::sync::{Arc, Mutex};

use crate::api::ClientSettings;
use crate::config::{self, Config, Layers, Secret};
use crate::scan::Scanner;

/// Settings ready for use.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub config: Arc<Config>,
    pub scanner: Arc<Scanner>,
    /// What the HTTP client is built from (server URL, token, TLS and timeouts).
    pub client: ClientSettings,
    /// The resolver's tunables (TTLs, concurrency).
    pub resolver: crate::resolve::Settings,
    /// What was wrong but could be worked around: a layer that was skipped, a token in a
    /// workspace file, plain HTTP allowed to a remote host. Never contains a token.
    pub warnings: Vec<String>,
    /// What makes the settings unusable as asked: `tokenCommand` failed, a `referencePatterns`
    /// regex does not compile. The command line stops on these (exit 3); the server shows
    /// them as warnings and goes on without the failed part.
    pub errors: Vec<String>,
}

/// Assembles settings; remembers the token each `tokenCommand` printed for each server, so a
/// command runs once per distinct command line and server, not on every settings change.
#[derive(Debug, Default)]
pub struct Assembler {
    /// By `(command, server URL)`: the last few asked (a workspace names a server or two).
    command_tokens: Mutex<Vec<(CommandKey, Secret)>>,
}

/// A `tokenCommand` and the server URL it was run for.
type CommandKey = (String, Option<String>);

/// Distinct `(command, server)` tokens remembered at most.
const COMMAND_TOKENS: usize = 8;

impl Assembler {
    /// Merges `layers`, runs `tokenCommand` if needed (bounded at 30 s, with the server's URL
    /// as `SYNERGY_URL`; see [`config::run_token_command`]) and derives everything else.
    pub async fn assemble(&self, layers: &Layers) -> Assembled {
        let (mut config, mut warnings) = layers.build();
        let mut errors = Vec::new();
        if config.token.is_none()
            && let Some(cmd) = config.token_command.clone().filter(|c| !c.trim().is_empty())
        {
            let key = (cmd, config.server_url.clone());
            let cached = {
                let tokens = self.command_tokens.lock().unwrap_or_else(|e| e.into_inner());
                tokens.iter().find(|(k, _)| *k == key).map(|(_, t)| t.clone())
            };
            match cached {
                Some(token) => config.token = Some(token),
                None => match config::run_token_command(&key.0, key.1.as_deref()).await {
                    Ok(token) => {
                        let mut tokens = self.command_tokens.lock().unwrap_or_else(|e| e.into_inner());
                        tokens.retain(|(k, _)| *k != key);
                        if tokens.len() >= COMMAND_TOKENS {
                            tokens.remove(0);
                        }
                        tokens.push((key, token.clone()));
                        config.token = Some(token);
                    }
                    Err(e) => errors.push(e),
                },
            }
        }
        let (scanner, pattern_errors) = Scanner::new(config.scan.include_code, &config.reference_patterns);
        errors.extend(
            pattern_errors
                .into_iter()
                .map(|e| format!("referencePatterns: `{}` is not used: {}", e.pattern, e.message)),
        );
        let mut assembled = Assembled::new(config, scanner);
        warnings.extend(crate::api::client::insecure_warning(&assembled.client));
        assembled.warnings = warnings;
        assembled.errors = errors;
        assembled
    }
}

impl Assembled {
    /// `config` and `scanner` with what derives from them, and no warnings or errors.
    pub fn new(config: Config, scanner: Scanner) -> Assembled {
        Assembled {
            client: ClientSettings::from_config(&config),
            resolver: crate::resolve::Settings::from_config(&config),
            config: Arc::new(config),
            scanner: Arc::new(scanner),
            warnings: Vec::new(),
            errors: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;
    use serde_json::json;

    #[tokio::test]
    async fn token_command_runs_once_per_command_and_errors_are_apart() {
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("runs");
        let cmd = if cfg!(windows) {
            format!("echo x>> \"{}\" & echo tok-ASSEMBLE-1", count.display())
        } else {
            format!("echo x >> '{}'; echo tok-ASSEMBLE-1", count.display())
        };
        let mut layers = Layers::default();
        layers.set(
            Source::EditorSettings,
            json!({"serverUrl": "http://10.0.0.1", "allowInsecureHttp": true, "referencePatterns": ["(unclosed"]}),
        );
        layers.set(Source::Environment, json!({ "tokenCommand": cmd }));
        let assembler = Assembler::default();
        for _ in 0..3 {
            let a = assembler.assemble(&layers).await;
            assert_eq!(a.config.token.as_ref().map(Secret::expose), Some("tok-ASSEMBLE-1"));
            assert_eq!(a.client.token.as_ref().map(Secret::expose), Some("tok-ASSEMBLE-1"));
            assert!(a.warnings.iter().any(|w| w.contains("clear text")), "{:?}", a.warnings);
            assert_eq!(a.errors.len(), 1, "{:?}", a.errors);
            assert!(a.errors[0].contains("referencePatterns"));
        }
        assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 1);
        // Another server is another token (two workspace folders, two servers): asked once
        // each, however the folders alternate.
        for url in ["http://10.0.0.2", "http://10.0.0.1", "http://10.0.0.2"] {
            let mut other = layers.clone();
            other.set(Source::File, json!({ "serverUrl": url }));
            other.set(Source::EditorSettings, json!({"allowInsecureHttp": true}));
            let a = assembler.assemble(&other).await;
            assert_eq!(a.config.server_url.as_deref(), Some(url));
            assert_eq!(a.config.token.as_ref().map(Secret::expose), Some("tok-ASSEMBLE-1"));
        }
        assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 2);
        layers.set(Source::Environment, json!({ "tokenCommand": "exit 4" }));
        let a = assembler.assemble(&layers).await;
        assert!(a.config.token.is_none());
        assert!(a.errors.iter().any(|e| e.contains("tokenCommand") && e.contains("failed")), "{:?}", a.errors);
    }
}
