//! Domain types out to LSP: ranges, diagnostics, hovers, completion items, code actions, links.
//! The only place (with `from_proto`) that builds LSP types.

use std::collections::HashMap;
use std::sync::Arc;

use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CompletionItem, CompletionItemKind, CompletionTextEdit,
    Diagnostic, DiagnosticSeverity, Documentation, Hover, HoverContents, MarkupContent, MarkupKind, MessageType,
    NumberOrString, Position, PositionEncodingKind, Range, TextEdit, Uri, WorkspaceEdit,
};

use super::documents::Document;
use crate::config::Severity;
use crate::line_index::{Encoding, LineCol};
use crate::model::{Job, JobRef, RefForm, Resolution, format_name, match_key};
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
pub fn diagnostic(
    doc: &Document,
    r: &JobRef,
    resolution: &Resolution,
    severities: &crate::config::SeverityConfig,
    enc: Encoding,
) -> Option<Diagnostic> {
    let code = resolution.code()?;
    let severity = severity(severities.of(code))?;
    Some(Diagnostic {
        range: range(doc, &r.range, enc),
        severity: Some(severity),
        code: Some(NumberOrString::String(code.as_str().into())),
        source: Some(SOURCE.into()),
        message: present::diagnostic_message(&r.name, resolution)?,
        ..Default::default()
    })
}

pub fn hover(markdown: String, markdown_ok: bool, range: Range) -> Hover {
    let kind = if markdown_ok { MarkupKind::Markdown } else { MarkupKind::PlainText };
    Hover { contents: HoverContents::Markup(MarkupContent { kind, value: markdown }), range: Some(range) }
}

/// What completion replaces: from the name start (quote included) to the cursor, plus a closing
/// quote the editor may have inserted already.
pub struct CompletionTarget {
    pub range: Range,
    pub quoted: bool,
    /// The user is typing a path (`Region A/Dr`): offer paths.
    pub path: bool,
    pub web_url_template: Option<String>,
}

pub fn completion_items(jobs: &[Arc<Job>], target: &CompletionTarget) -> Vec<CompletionItem> {
    jobs.iter()
        .enumerate()
        .filter_map(|(i, job)| {
            let value = if target.path { &job.path } else { &job.name };
            if !crate::model::is_referenceable(value) {
                return None;
            }
            let new_text = if target.quoted { format!("\"{value}\"") } else { format_name(value) };
            let filter_text = if target.quoted { format!("\"{value}") } else { value.clone() };
            Some(CompletionItem {
                label: job.name.clone(),
                kind: Some(CompletionItemKind::REFERENCE),
                detail: Some(job.path.clone()),
                documentation: Some(Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: present::job_card(job, None, target.web_url_template.as_deref()),
                })),
                sort_text: Some(format!("{i:05}")),
                filter_text: Some(filter_text),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit { range: target.range, new_text })),
                ..Default::default()
            })
        })
        .collect()
}

/// Quick fixes for one reference: the replacement names and their titles.
pub fn fixes(r: &JobRef, resolution: &Resolution) -> Vec<(String, String, bool)> {
    let key = |j: &Arc<Job>| match_key(j, &r.name).to_string();
    match resolution {
        Resolution::Unknown { suggestions, renamed } => suggestions
            .iter()
            .enumerate()
            .map(|(i, j)| (format!("Replace with \"{}\"", key(j)), key(j), *renamed && i == 0))
            .collect(),
        Resolution::CaseMismatch(jobs) => {
            let single = jobs.len() == 1;
            jobs.iter().map(|j| (format!("Change to \"{}\"", key(j)), key(j), single)).collect()
        }
        Resolution::Ambiguous(jobs) => {
            jobs.iter().map(|j| (format!("Use the path \"{}\"", j.path), j.path.clone(), false)).collect()
        }
        Resolution::Found(_) | Resolution::Unavailable(_) => Vec::new(),
    }
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
