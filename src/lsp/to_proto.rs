//! Domain types out to LSP: ranges, diagnostics, hovers, completion items, code actions,
//! locations. Conversions only: what is a problem and which fix is preferred is decided in
//! `analysis`. The only place (with `from_proto`, `capabilities` and `ext`) that builds LSP types.

use std::collections::HashMap;
use std::sync::Arc;

use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CompletionItem, CompletionItemKind, CompletionTextEdit,
    Diagnostic, DiagnosticSeverity, Documentation, Hover, HoverContents, InsertReplaceEdit, MarkupContent, MarkupKind,
    MessageType, NumberOrString, Position, PositionEncodingKind, Range, TextEdit, Uri, WorkspaceEdit,
};

use super::documents::Document;
use crate::analysis::{Fix, Verdict};
use crate::config::Severity;
use crate::line_index::{Encoding, LineCol};
use crate::model::{Job, RefForm, format_name};
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

/// The diagnostic for a verdict at `range`.
pub fn diagnostic(verdict: &Verdict, range: Range) -> Diagnostic {
    Diagnostic {
        range,
        severity: severity(verdict.severity),
        code: Some(NumberOrString::String(verdict.code.as_str().into())),
        source: Some(SOURCE.into()),
        message: verdict.message.to_string(),
        ..Default::default()
    }
}

/// A range given as two positions (the workspace index's form).
pub fn range_of((start, end): (LineCol, LineCol)) -> Range {
    Range { start: position(start), end: position(end) }
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

/// The result id of a pulled diagnostics list with this [`fingerprint`] (lower-case hex): the
/// same for a file whether it is pulled alone (`textDocument/diagnostic`) or with the
/// workspace (`workspace/diagnostic`).
pub fn result_id(fingerprint: u64) -> String {
    format!("{fingerprint:x}")
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

/// A quick fix as a plain `WorkspaceEdit` (`changes`, not `documentChanges`): works everywhere.
pub fn code_action(
    uri: &Uri,
    form: RefForm,
    edit_range: Range,
    fix: &Fix,
    diagnostic: Option<Diagnostic>,
) -> CodeActionOrCommand {
    let edit = TextEdit { range: edit_range, new_text: fix.new_text(form) };
    CodeActionOrCommand::CodeAction(CodeAction {
        title: fix.title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: diagnostic.map(|d| vec![d]),
        edit: Some(WorkspaceEdit { changes: Some(HashMap::from([(uri.clone(), vec![edit])])), ..Default::default() }),
        is_preferred: fix.preferred.then_some(true),
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
