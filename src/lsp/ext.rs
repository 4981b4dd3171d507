//! What synergy-ls adds to LSP, in one place (as rust-analyzer's `lsp/ext.rs`): the
//! `synergy/status` notification, the commands, and their parameters. Documented for client
//! authors in `docs/lsp-extensions.md`.

use crate::present;

/// The command that drops the cache and re-checks open documents and the workspace.
pub const REFRESH_COMMAND: &str = "synergy.refresh";
/// The command that applies every safe fix in the workspace (`workspace/applyEdit`), or, with
/// the argument `{"job": ID}`, those that name that job; documented in `docs/lsp-extensions.md`.
pub const FIX_WORKSPACE_COMMAND: &str = "synergy.fixWorkspace";
/// A command that panics, honoured only with `SYNERGY_TEST_PANIC` set (for the tests).
pub const PANIC_COMMAND: &str = "synergy.test.panic";

/// `synergy/status`: the server's connection state for the editor's status item. Sent after
/// `initialized` and whenever the state or its explanation changes. Documented in
/// `docs/lsp-extensions.md`.
pub enum StatusNotification {}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusParams {
    /// `connected` | `idle` | `offline` | `tokenRejected` | `notConfigured`.
    pub state: String,
    /// `host[:port]` of the configured server, if any.
    pub server: Option<String>,
    /// What is wrong and what to do, one paragraph.
    pub message: String,
    /// When the server last answered or failed to (RFC 3339, UTC), if ever.
    pub last_check: Option<String>,
    /// What the workspace index holds, once the first index is done.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub indexed: Option<Indexed>,
}

/// The size of the workspace index, for the status item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Indexed {
    /// Files with job references.
    pub files: usize,
    /// References in them (open documents as last scanned).
    pub references: usize,
}

impl tower_lsp_server::ls_types::notification::Notification for StatusNotification {
    type Params = StatusParams;
    const METHOD: &'static str = "synergy/status";
}

pub fn status(
    state: present::StatusState,
    message: String,
    server: Option<String>,
    last_check: Option<std::time::SystemTime>,
    indexed: Option<Indexed>,
) -> StatusParams {
    StatusParams { state: state.as_str().into(), server, message, last_check: last_check.map(rfc3339), indexed }
}

/// `2026-11-27T22:16:48Z` for a wall-clock time.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = present::civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod status_tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_817_808)), "2026-11-27T22:16:48Z");
    }
}
