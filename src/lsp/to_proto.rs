//! Domain types out to LSP: ranges, diagnostics, hovers, completion items, code actions, links.
//! The only place (with `from_proto`) that builds LSP types.

use std::collections::HashMap;
use std::sync::Arc;

use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CompletionItem, CompletionItemKind, CompletionTextEdit,
    Diagnostic, DiagnosticSeverity, Documentation, Hover, HoverContents, InsertReplaceEdit, MarkupContent, MarkupKind,
    MessageType, NumberOrString, Position, PositionEncodingKind, Range, TextEdit, Uri, WorkspaceEdit,
};

use super::documents::Document;
use crate::config::Severity;
use crate::line_index::{Encoding, LineCol};
use crate::model::{Job, JobRef, RefForm, Resolution, format_name};
use crate::present;

pub const SOURCE: &str = "synergy";

pub fn encoding_kind(enc: Encoding) -> PositionEncodingKind {
    match enc {
        Encoding::Utf8 => PositionEncodingKind::UTF8,
        Encoding::Utf16 => PositionEncodingKind::UTF16,
        Encoding::Utf32 => PositionEncodingKind::UTF32,
    }
}

pub fn position(p: LineCol) -> Position {
    Position { line: p.line, character: p.col }
}

pub fn range(doc: &Document, bytes: &std::ops::Range<usize>, enc: Encoding) -> Range {
    Range { start: position(doc.position(bytes.start, enc)), end: position(doc.position(bytes.end, enc)) }
}

pub fn severity(s: Severity) -> Option<DiagnosticSeverity> {
    match s {
        Severity::Off => None,
        Severity::Hint => Some(DiagnosticSeverity::HINT),
        Severity::Information => Some(DiagnosticSeverity::INFORMATION),
        Severity::Warning => Some(DiagnosticSeverity::WARNING),
        Severity::Error => Some(DiagnosticSeverity::ERROR),
    }
}

/// The diagnostic for a reference, `None` when the verdict is not a problem or its code is off.
/// A diagnostic without its range: what every reference to one name shares.
pub struct DiagnosticShape {
    severity: DiagnosticSeverity,
    code: &'static str,
    message: String,
}

impl DiagnosticShape {
    /// The diagnostic at `range`.
    pub fn at(&self, range: Range) -> Diagnostic {
        Diagnostic {
            range,
            severity: Some(self.severity),
            code: Some(NumberOrString::String(self.code.into())),
            source: Some(SOURCE.into()),
            message: self.message.clone(),
            ..Default::default()
        }
    }
}

/// The diagnostic for references to `name`, `None` when the verdict is not a problem or its
/// code is turned off.
pub fn diagnostic_shape(
    name: &str,
    resolution: &Resolution,
    severities: &crate::config::SeverityConfig,
) -> Option<DiagnosticShape> {
    let code = resolution.code()?;
    let severity = severity(severities.of(code))?;
    Some(DiagnosticShape { severity, code: code.as_str(), message: present::diagnostic_message(name, resolution)? })
}

/// A hash of what a client sees of a diagnostics list, to skip publishing the same list twice
/// without keeping a copy of it.
pub fn fingerprint(diagnostics: &[Diagnostic]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    diagnostics.len().hash(&mut h);
    for d in diagnostics {
        (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character).hash(&mut h);
        d.message.hash(&mut h);
        let levels = [DiagnosticSeverity::ERROR, DiagnosticSeverity::WARNING, DiagnosticSeverity::INFORMATION];
        d.severity.map(|s| levels.iter().position(|l| *l == s)).hash(&mut h);
        d.code.hash(&mut h);
    }
    h.finish()
}

/// Markup in the format the client declared it renders: the Markdown itself, or its plain
/// text ([`present::plain_text`]), never Markdown labelled as plain text.
pub fn markup(markdown: String, markdown_ok: bool) -> MarkupContent {
    if markdown_ok {
        MarkupContent { kind: MarkupKind::Markdown, value: markdown }
    } else {
        MarkupContent { kind: MarkupKind::PlainText, value: present::plain_text(&markdown) }
    }
}

pub fn hover(markdown: String, markdown_ok: bool, range: Range) -> Hover {
    Hover { contents: HoverContents::Markup(markup(markdown, markdown_ok)), range: Some(range) }
}

/// Where a completion goes. `insert` runs from the name start (quote included) to the cursor,
/// plus a closing quote the editor may have inserted already; `replace` runs to the end of the
/// name under the cursor (`job:Rive|rs` replaces `Rivers`). Clients with `insertReplaceSupport`
/// get both and let the user choose; others get `replace`, so accepting a name mid-word never
/// leaves the old tail behind.
pub struct CompletionTarget {
    pub insert: Range,
    pub replace: Range,
    pub insert_replace: bool,
    /// Documentation as Markdown (else plain text).
    pub markdown: bool,
    pub quoted: bool,
    /// The user is typing a path (`Region A/Dr`): offer paths.
    pub path: bool,
    pub web_url_template: Option<String>,
}

pub fn completion_items(jobs: &[Arc<Job>], target: &CompletionTarget) -> Vec<CompletionItem> {
    jobs.iter()
        .enumerate()
        .filter_map(|(i, job)| {
            let value = if target.path { job.path() } else { job.name() };
            if !crate::model::is_referenceable(value) {
                return None;
            }
            let new_text = if target.quoted { format!("\"{value}\"") } else { format_name(value) };
            let filter_text = if target.quoted { format!("\"{value}") } else { value.to_string() };
            Some(CompletionItem {
                label: job.name().to_string(),
                kind: Some(CompletionItemKind::REFERENCE),
                detail: Some(job.path().to_string()),
                documentation: Some(Documentation::MarkupContent(markup(
                    present::job_card(job, None, target.web_url_template.as_deref()),
                    target.markdown,
                ))),
                sort_text: Some(format!("{i:05}")),
                filter_text: Some(filter_text),
                text_edit: Some(if target.insert_replace {
                    CompletionTextEdit::InsertAndReplace(InsertReplaceEdit {
                        new_text,
                        insert: target.insert,
                        replace: target.replace,
                    })
                } else {
                    CompletionTextEdit::Edit(TextEdit { range: target.replace, new_text })
                }),
                ..Default::default()
            })
        })
        .collect()
}

/// Quick fixes for one reference: the replacement names and their titles.
pub fn fixes(r: &JobRef, resolution: &Resolution) -> Vec<(String, String, bool)> {
    // The title's verb, and whether the fix at this position is the preferred one: the new
    // name of a renamed job, or the only differently-cased match.
    let (verb, preferred): (&str, &dyn Fn(usize) -> bool) = match resolution {
        Resolution::Unknown { renamed, .. } => ("Replace with", &|i| *renamed && i == 0),
        Resolution::CaseMismatch(jobs) => ("Change to", &|_| jobs.len() == 1),
        Resolution::Ambiguous(_) => ("Use the path", &|_| false),
        Resolution::Found(_) | Resolution::Unavailable(_) => return Vec::new(),
    };
    resolution
        .replacements(&r.name)
        .into_iter()
        .enumerate()
        .map(|(i, to)| (format!("{verb} \"{to}\""), to.to_string(), preferred(i)))
        .collect()
}

/// A quick fix as a plain `WorkspaceEdit` (`changes`, not `documentChanges`): works everywhere.
pub fn code_action(
    uri: &Uri,
    r: &JobRef,
    edit_range: Range,
    fix: (String, String, bool),
    diagnostic: Option<Diagnostic>,
) -> CodeActionOrCommand {
    let (title, value, preferred) = fix;
    let new_text = match r.form {
        RefForm::Custom => value,
        RefForm::Bare | RefForm::Quoted => format_name(&value),
    };
    let edit = TextEdit { range: edit_range, new_text };
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: diagnostic.map(|d| vec![d]),
        edit: Some(WorkspaceEdit { changes: Some(HashMap::from([(uri.clone(), vec![edit])])), ..Default::default() }),
        is_preferred: preferred.then_some(true),
        ..Default::default()
    })
}

pub fn message_type(level: present::Level) -> MessageType {
    match level {
        present::Level::Error => MessageType::ERROR,
        present::Level::Warning => MessageType::WARNING,
        present::Level::Info => MessageType::INFO,
    }
}

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
) -> StatusParams {
    StatusParams { state: state.as_str().into(), server, message, last_check: last_check.map(rfc3339) }
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
