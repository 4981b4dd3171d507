//! Request handlers: convert in, call the domain, convert out. Each takes the state and the
//! request's parameters and never holds a document lock across an `.await`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::{
    CodeActionKind, CodeActionParams, CodeActionResponse, CompletionList, CompletionParams, CompletionResponse,
    DocumentHighlight, DocumentHighlightKind, DocumentHighlightParams, DocumentLink, DocumentLinkParams, Hover,
    HoverParams, Location, NumberOrString, OneOf, Range, ReferenceParams, SymbolKind, Uri, WorkspaceSymbol,
    WorkspaceSymbolParams, WorkspaceSymbolResponse,
};

use super::from_proto;
use super::settings::Scope;
use super::state::State;
use super::to_proto::{self, CompletionTarget};
use crate::model::{JobRef, Resolution, is_path};
use crate::present;
use crate::resolve::Resolved;

/// How long a hover waits for the server before saying it is still looking.
const HOVER_WAIT: Duration = Duration::from_secs(3);
/// Completion items returned at most (the list is marked incomplete beyond).
const COMPLETION_LIMIT: usize = 50;

/// A reference with its LSP ranges (the whole reference, and the part a quick fix replaces).
pub(super) struct Located {
    pub r: JobRef,
    pub range: Range,
    pub edit_range: Range,
}

/// The references of a document (those touching `within`, if given) with their LSP ranges,
/// scanned and converted under one lock so both come from the same version of the text.
pub(super) fn located_refs(state: &State, scope: &Scope, uri: &Uri, within: Option<Range>) -> Option<Vec<Located>> {
    let enc = state.caps().encoding;
    let mut doc = state.docs.get_mut(uri)?;
    let scan = doc.scan(&scope.scanner);
    let bounds =
        within.map(|r| (doc.offset(from_proto::line_col(r.start), enc), doc.offset(from_proto::line_col(r.end), enc)));
    let touches = |r: &JobRef| bounds.is_none_or(|(a, b)| r.range.start <= b && a <= r.range.end);
    let locate = |r: &JobRef| Located {
        r: r.clone(),
        range: to_proto::range(&doc, &r.range, enc),
        edit_range: to_proto::range(&doc, &r.edit_range, enc),
    };
    Some(scan.refs.iter().filter(|r| touches(r)).map(locate).collect())
}

pub async fn hover(state: &Arc<State>, params: HoverParams) -> Option<Hover> {
    let p = params.text_document_position_params;
    let at = Range { start: p.position, end: p.position };
    let uri = &p.text_document.uri;
    let Located { r, range, .. } = located_refs(state, &state.scope_of(uri), uri, Some(at))?.into_iter().next()?;
    state.settings_ready().await;
    // The settings in force once the editor's are in.
    let scope = state.scope_of(uri);
    let resolved = match tokio::time::timeout(HOVER_WAIT, scope.resolver.resolve(&r.name)).await {
        Ok(resolved) => resolved,
        Err(_) => return Some(to_proto::hover(present::pending(&r.name), state.caps().markdown_hover, range)),
    };
    let markdown = present::hover(&r.name, &resolved, scope.config.web_url_template.as_deref());
    Some(to_proto::hover(markdown, state.caps().markdown_hover, range))
}

pub async fn completion(state: &Arc<State>, params: CompletionParams) -> Option<CompletionResponse> {
    let p = params.text_document_position;
    let enc = state.caps().encoding;
    let caps = state.caps();
    let (typed, insert, replace, quoted) = {
        let doc = state.docs.get(&p.text_document.uri)?;
        let cursor = doc.offset(from_proto::line_col(p.position), enc);
        let line = doc.index.line_of(cursor);
        let line_range = doc.index.line_range(&doc.text, line);
        let ctx = crate::scan::completion_context(&doc.text[line_range.start..cursor])?;
        let start = line_range.start + ctx.start;
        // Replace a closing quote the editor inserted already, so the result is not `""`.
        let end = if ctx.quoted && doc.text[cursor..].starts_with('"') { cursor + 1 } else { cursor };
        let name_end = cursor + crate::scan::name_rest(&doc.text[cursor..line_range.end], ctx.quoted);
        (
            ctx.typed.to_string(),
            to_proto::range(&doc, &(start..end), enc),
            to_proto::range(&doc, &(start..name_end.max(end)), enc),
            ctx.quoted,
        )
    };
    state.settings_ready().await;
    let scope = state.scope_of(&p.text_document.uri);
    let found = scope.resolver.complete(&typed, COMPLETION_LIMIT).await;
    let target = CompletionTarget {
        insert,
        replace,
        insert_replace: caps.insert_replace,
        markdown: caps.markdown_completion,
        quoted,
        path: is_path(&typed),
        web_url_template: scope.config.web_url_template.clone(),
    };
    Some(CompletionResponse::List(CompletionList {
        is_incomplete: found.incomplete,
        items: to_proto::completion_items(&found.jobs, &target),
    }))
}

/// The verdict for a quick fix: the cache if it knows, else a (bounded) lookup.
async fn verdict(scope: &Scope, name: &str) -> Option<Resolved> {
    match scope.resolver.resolve_cached(name) {
        Some(r) => Some(r),
        None => tokio::time::timeout(HOVER_WAIT, scope.resolver.resolve(name)).await.ok(),
    }
}

pub async fn code_action(state: &Arc<State>, params: CodeActionParams) -> Option<CodeActionResponse> {
    let uri = params.text_document.uri;
    let only = params.context.only.as_deref();
    let mut actions = Vec::new();
    // Quick fixes are the actions at the cursor: asked for with no `only`, or by kind.
    if only.is_none() || super::fixing::asked_for(only, CodeActionKind::QUICKFIX.as_str()) {
        let scope = state.scope_of(&uri);
        let refs = located_refs(state, &scope, &uri, Some(params.range))?;
        for Located { r, range, edit_range } in refs {
            let Some(resolved) = verdict(&scope, &r.name).await else { continue };
            let code = resolved.resolution.code().map(|c| NumberOrString::String(c.as_str().into()));
            let diagnostic = params.context.diagnostics.iter().find(|d| d.range == range && d.code == code).cloned();
            for fix in crate::analysis::fixes(&r.name, &resolved.resolution) {
                actions.push(to_proto::code_action(&uri, r.form, edit_range, &fix, diagnostic.clone()));
                actions.extend(super::fixing::fix_job_action(state, &scope, &fix));
            }
        }
    }
    actions.extend(super::fixing::fix_all_action(state, &uri, only).await);
    Some(actions)
}

pub async fn document_links(state: &Arc<State>, params: DocumentLinkParams) -> Option<Vec<DocumentLink>> {
    let uri = params.text_document.uri;
    let scope = state.scope_of(&uri);
    let template = scope.config.web_url_template.as_deref().filter(|t| !t.trim().is_empty())?;
    let links = located_refs(state, &scope, &uri, None)?
        .into_iter()
        .filter_map(|Located { r, range, .. }| {
            let Some(Resolved { resolution: Resolution::Found(job), .. }) = scope.resolver.resolve_cached(&r.name)
            else {
                return None;
            };
            let target = present::web_url(template, &job)?.parse().ok()?;
            Some(DocumentLink {
                range,
                target: Some(target),
                tooltip: Some(format!("Open {} in 12d Synergy", job.path())),
                data: None,
            })
        })
        .collect();
    Some(links)
}

/// The identity of the reference under the cursor, if any.
fn identity_at(
    state: &Arc<State>,
    scope: &Scope,
    uri: &Uri,
    position: tower_lsp_server::ls_types::Position,
) -> Option<super::workspace::Identity> {
    let at = Range { start: position, end: position };
    let Located { r, .. } = located_refs(state, scope, uri, Some(at))?.into_iter().next()?;
    Some(State::identity(scope, &r.name))
}

/// `textDocument/references`: every reference to the same job in the workspace, open or not
/// (same job = same ID when the name resolves; the same name otherwise). The declaration flag
/// is moot: a job is declared on the server, not in a file.
pub async fn references(state: &Arc<State>, params: ReferenceParams) -> Option<Vec<Location>> {
    let p = params.text_document_position;
    let wanted = identity_at(state, &state.scope_of(&p.text_document.uri), &p.text_document.uri, p.position)?;
    let started = std::time::Instant::now();
    let locations: Vec<Location> = state
        .references_where(|scope, name| State::identity(scope, name) == wanted)
        .into_iter()
        .map(|(uri, _, range)| Location { uri, range: to_proto::range_of(range) })
        .collect();
    tracing::debug!(locations = locations.len(), ms = started.elapsed().as_secs_f64() * 1e3, "references");
    Some(locations)
}

/// `textDocument/documentHighlight`: the references to the same job in this document.
pub async fn document_highlight(state: &Arc<State>, params: DocumentHighlightParams) -> Option<Vec<DocumentHighlight>> {
    let p = params.text_document_position_params;
    let uri = p.text_document.uri;
    let scope = state.scope_of(&uri);
    let wanted = identity_at(state, &scope, &uri, p.position)?;
    let mut memo: HashMap<String, bool> = HashMap::new();
    let highlights = located_refs(state, &scope, &uri, None)?
        .into_iter()
        .filter(|l| *memo.entry(l.r.name.clone()).or_insert_with(|| State::identity(&scope, &l.r.name) == wanted))
        .map(|l| DocumentHighlight { range: l.range, kind: Some(DocumentHighlightKind::TEXT) })
        .collect();
    Some(highlights)
}

/// Symbols listed at most, as other servers bound `workspace/symbol`.
const SYMBOL_LIMIT: usize = 256;

/// `workspace/symbol`: the jobs referenced in the workspace whose name matches the query
/// (fuzzy: its characters in order, ignoring case), each at its first reference. Names that
/// resolve to no single job are listed as written, with why in the container name.
pub async fn workspace_symbol(state: &Arc<State>, params: WorkspaceSymbolParams) -> Option<WorkspaceSymbolResponse> {
    let query = params.query.to_lowercase();
    let mut seen: HashMap<super::workspace::Identity, ()> = HashMap::new();
    let mut by_name: HashMap<(u64, Box<str>), Option<super::workspace::Identity>> = HashMap::new();
    let mut symbols = Vec::new();
    let mut refs = state.references_where(|_, _| true);
    // The first reference in path order, then position.
    refs.sort_by(|a, b| (a.0.as_str(), a.2.0).cmp(&(b.0.as_str(), b.2.0)));
    let scopes = state.scopes();
    for (uri, name, range) in refs {
        let scope = scopes.of(super::workspace::path_of(&uri).as_deref());
        let identity = by_name
            .entry((scope.id, name.clone()))
            .or_insert_with(|| {
                let resolved = scope.resolver.resolve_cached(&name).map(|r| r.resolution);
                let shown = match &resolved {
                    Some(Resolution::Found(job)) => job.name().to_string(),
                    _ => name.rsplit('/').next().unwrap_or(&name).to_string(),
                };
                fuzzy_match(&query, &shown).then(|| State::identity(scope, &name))
            })
            .clone();
        let Some(identity) = identity else { continue };
        if seen.insert(identity, ()).is_some() {
            continue;
        }
        let (label, container) = match scope.resolver.resolve_cached(&name).map(|r| r.resolution) {
            Some(Resolution::Found(job)) => (job.name().to_string(), Some(job.path().to_string())),
            Some(Resolution::Unavailable(_)) | None => (name.to_string(), Some("not checked yet".to_string())),
            Some(other) => (
                name.to_string(),
                Some(other.code().map(|c| c.as_str().to_string()).unwrap_or_else(|| "not a single job".into())),
            ),
        };
        #[allow(deprecated)]
        symbols.push(WorkspaceSymbol {
            name: label,
            kind: SymbolKind::OBJECT,
            tags: None,
            container_name: container,
            location: OneOf::Left(Location { uri, range: to_proto::range_of(range) }),
            data: None,
        });
        if symbols.len() >= SYMBOL_LIMIT {
            break;
        }
    }
    Some(WorkspaceSymbolResponse::Nested(symbols))
}

/// Whether every character of `query` (lower case) appears in `name` in order, ignoring case.
fn fuzzy_match(query: &str, name: &str) -> bool {
    let mut chars = name.chars().flat_map(char::to_lowercase);
    query.chars().all(|q| chars.any(|c| c == q))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzzy() {
        assert!(super::fuzzy_match("", "Riverside"));
        assert!(super::fuzzy_match("rvsd", "Riverside"));
        assert!(super::fuzzy_match("hwy24", "Highway Upgrade 2024"));
        assert!(!super::fuzzy_match("sdr", "Riverside"));
    }
}
