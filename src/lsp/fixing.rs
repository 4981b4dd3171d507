//! Fixing in the editor, on the analysis's safe fixes (`analysis::fix`): every safe fix in a
//! document (the `source.fixAll.synergy` code action), in the workspace or in the references to
//! one job (the `synergy.fixWorkspace` command, applied with `workspace/applyEdit` as one edit,
//! so one undo), and renaming a job reference across the workspace
//! (`textDocument/prepareRename`, `textDocument/rename`).
//!
//! Open documents are edited as the editor has them; unopened files are read again from disk
//! first, so every edit's positions are those of the file as it is now, not as last indexed.
//! Nothing is fixed for a name the server could not be asked about.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Command, MessageType, PrepareRenameResponse, RenameParams,
    TextDocumentPositionParams, TextEdit, Uri, WorkspaceEdit,
};

use super::handlers::{Located, located_refs};
use super::settings::{Scope as SettingsScope, Scopes};
use super::state::State;
use super::to_proto;
use super::workspace::Identity;
use crate::analysis::{self, Reference, fix};
use crate::model::{JobId, RefForm, Resolution, Unavailable, is_path, is_referenceable};
use crate::present;

/// The code action kind of the document's fix-all (`source.fixAll` family, so
/// `editor.codeActionsOnSave: {"source.fixAll": "explicit"}` runs it).
pub const FIX_ALL_KIND: &str = "source.fixAll.synergy";

/// How long `synergy.fixWorkspace` waits for the editor to apply its edit: longer than other
/// answers, since the editor may open hundreds of files to apply it.
const APPLY_EDIT_WAIT: Duration = Duration::from_secs(60);
/// How long a fix-all code action (run on save) or a rename waits for the server.
const ASK_WAIT: Duration = Duration::from_secs(5);

/// Which references to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One open document.
    Document(Uri),
    /// Every file of the workspace, open or not.
    Workspace,
    /// The references in the workspace whose safe fix names this job: its ID, and the server
    /// it is on (URL as configured) when known; without one, that ID on any server.
    Job(JobId, Option<String>),
}

/// A name as written in the files of one settings scope (`Scope::id`): the same name in two
/// folders that name two servers is two names.
type ScopedName = (u64, String);

/// The safe fixes of a scope, as edits in the client's encoding, and what was left.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: HashMap<Uri, Vec<TextEdit>>,
    /// References with a safe fix (one edit each).
    pub fixed: usize,
    /// References with fixes, none of them safe: a person must choose.
    pub need_choice: usize,
    /// References the server could not be asked about, and why (the first reason).
    pub unverified: usize,
    pub unavailable: Option<Unavailable>,
}

/// The edits of one document's references: those `wanted` takes, that may be edited without
/// asking ([`fix::edited_without_asking`]), and that `new_text` has a replacement for, at
/// their edit range as `range` places it.
fn edits_of<R: Reference>(
    scope: &SettingsScope,
    refs: &[R],
    wanted: &impl Fn(&SettingsScope, &str) -> bool,
    new_text: &impl Fn(&SettingsScope, &str, RefForm) -> Option<String>,
    range: impl Fn(&R) -> tower_lsp_server::ls_types::Range,
) -> Vec<TextEdit> {
    refs.iter()
        .filter(|r| fix::edited_without_asking(r.form()) && wanted(scope, r.name()))
        .filter_map(|r| Some(TextEdit { range: range(r), new_text: new_text(scope, r.name(), r.form())? }))
        .collect()
}

/// A refusal the editor shows as it is (LSP's `RequestFailed`).
fn refused(message: impl Into<String>) -> Error {
    Error { code: ErrorCode::ServerError(-32803), message: message.into().into(), data: None }
}

impl State {
    /// How many references to each name are in `only` (one open document), or in the whole
    /// workspace: open documents as the editor has them, other files as indexed; by the
    /// settings scope of their file (see [`ScopedName`]), with the scopes.
    fn name_counts(
        &self,
        scopes: &Scopes,
        only: Option<&Uri>,
    ) -> (HashMap<ScopedName, usize>, HashMap<u64, Arc<SettingsScope>>) {
        let mut counts: HashMap<ScopedName, usize> = HashMap::new();
        let mut used: HashMap<u64, Arc<SettingsScope>> = HashMap::new();
        let uris: Vec<Uri> = match only {
            Some(uri) => vec![uri.clone()],
            None => self.docs.iter().map(|d| d.key().clone()).collect(),
        };
        for uri in uris {
            let scope = scopes.of(super::workspace::path_of(&uri).as_deref());
            let Some(scan) = self.docs.get_mut(&uri).map(|mut d| d.scan(&scope.scanner)) else { continue };
            used.entry(scope.id).or_insert_with(|| Arc::clone(scope));
            for r in &scan.refs {
                *counts.entry((scope.id, r.name.clone())).or_default() += 1;
            }
        }
        if only.is_none() {
            self.workspace.index.visit(|path, refs| {
                if !self.workspace.is_open(path) {
                    let scope = scopes.of(Some(path));
                    used.entry(scope.id).or_insert_with(|| Arc::clone(scope));
                    for r in &refs.refs {
                        *counts.entry((scope.id, r.name.to_string())).or_default() += 1;
                    }
                }
            });
        }
        (counts, used)
    }

    /// Edits for every reference in `only` (one open document) or the workspace for which
    /// `new_text(scope, name, form)` gives a replacement of its edit range. Unopened files are
    /// read again from disk first, and only those with a name `wanted` accepts.
    async fn edits_where(
        self: &Arc<Self>,
        scopes: &Scopes,
        only: Option<&Uri>,
        wanted: impl Fn(&SettingsScope, &str) -> bool,
        new_text: impl Fn(&SettingsScope, &str, RefForm) -> Option<String>,
    ) -> HashMap<Uri, Vec<TextEdit>> {
        let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
        let enc = self.caps().encoding;
        let uris: Vec<Uri> = match only {
            Some(uri) => vec![uri.clone()],
            None => self.docs.iter().map(|d| d.key().clone()).collect(),
        };
        for uri in uris {
            let scope = scopes.of(super::workspace::path_of(&uri).as_deref());
            let Some(mut doc) = self.docs.get_mut(&uri) else { continue };
            let scan = doc.scan(&scope.scanner);
            let edits = edits_of(scope, &scan.refs, &wanted, &new_text, |r| to_proto::range(&doc, &r.edit_range, enc));
            if !edits.is_empty() {
                changes.insert(uri, edits);
            }
        }
        if only.is_some() {
            return changes;
        }
        let mut paths = Vec::new();
        self.workspace.index.visit(|path, refs| {
            let scope = scopes.of(Some(path));
            if !self.workspace.is_open(path) && refs.refs.iter().any(|r| wanted(scope, &r.name)) {
                paths.push(path.to_path_buf());
            }
        });
        for (path, refs) in self.reread(paths).await {
            let (Some(refs), Some(uri)) = (refs, self.workspace.uri(&path)) else { continue };
            let scope = scopes.of(Some(&path));
            let edits = edits_of(scope, &refs.refs, &wanted, &new_text, |r| to_proto::range_of(r.edit_range));
            if !edits.is_empty() {
                changes.insert(uri, edits);
            }
        }
        changes
    }

    /// The safe fixes of `target`: names resolved (cache first) on each file's server, judged
    /// with its folder's severities, their fixes confirmed against the server, then placed.
    pub async fn plan_fixes(self: &Arc<Self>, target: Target) -> Plan {
        self.settings_ready().await;
        let only = match &target {
            Target::Document(uri) => Some(uri),
            _ => None,
        };
        // One snapshot for the whole plan: a scope's id names it only within its snapshot, and a
        // reload while the names are asked must not leave the edits matching nothing.
        let in_force = self.scopes();
        let (counts, scopes) = self.name_counts(&in_force, only);
        let mut safe: HashMap<ScopedName, analysis::Fix> = HashMap::new();
        let mut plan = Plan::default();
        for (id, scope) in &scopes {
            let names: Vec<&str> = counts.keys().filter(|(s, _)| s == id).map(|(_, n)| n.as_str()).collect();
            let config = &scope.config;
            let fanout = config.lookup_fanout();
            let verdicts = analysis::resolve_names(&scope.resolver, names.iter().copied(), fanout).await;
            let judged = analysis::judge(&verdicts, &config.diagnostics.severity);
            let fix::Confirmed { safe: confirmed, unconfirmed } = fix::confirm(&scope.resolver, &judged, fanout).await;
            for (name, f) in confirmed {
                let on_target = match &target {
                    Target::Job(job, server) => {
                        f.target.as_ref() == Some(job)
                            && server.as_ref().is_none_or(|s| Some(s) == config.server_url.as_ref())
                    }
                    _ => true,
                };
                if on_target {
                    safe.insert((*id, name), f);
                }
            }
            if matches!(target, Target::Job(..)) {
                continue;
            }
            for name in names {
                let count = counts[&(*id, name.to_string())];
                if let Some(why) = unconfirmed.get(name) {
                    // Its fix could not be confirmed: not a choice, a reference not checked.
                    plan.unverified += count;
                    plan.unavailable.get_or_insert_with(|| why.clone());
                } else if judged.get(name).is_some_and(|v| !v.fixes.is_empty())
                    && !safe.contains_key(&(*id, name.to_string()))
                {
                    plan.need_choice += count;
                }
                if let Some(Resolution::Unavailable(why)) = verdicts.get(name).map(|r| &r.resolution) {
                    plan.unverified += count;
                    plan.unavailable.get_or_insert_with(|| why.clone());
                }
            }
        }
        let key = |scope: &SettingsScope, name: &str| (scope.id, name.to_string());
        plan.changes = self
            .edits_where(
                &in_force,
                only,
                |scope, name| safe.contains_key(&key(scope, name)),
                |scope, name, form| Some(safe.get(&key(scope, name))?.new_text(form)),
            )
            .await;
        plan.fixed = plan.changes.values().map(Vec::len).sum();
        plan
    }

    /// `synergy.fixWorkspace`: every safe fix in the workspace (or, with `{"job": ID}`, those
    /// that name that job, on the server `"server"` names when given), applied through
    /// `workspace/applyEdit` in one edit, then said in one message. Answers `{fixed, files,
    /// needChoice, unverified, applied}`.
    pub async fn fix_workspace(self: &Arc<Self>, arguments: &[Value]) -> Result<Option<Value>> {
        // Anything but no argument or `{"job": "<ID>"}` (with an optional `"server"`) is
        // refused: a malformed argument must not widen a fix meant for one job to the whole
        // workspace.
        let target = match arguments {
            [] => Target::Workspace,
            [Value::Object(o)]
                if o.get("job").is_some_and(Value::is_string)
                    && o.get("server").is_none_or(Value::is_string)
                    && o.keys().all(|k| k == "job" || k == "server") =>
            {
                let server = o.get("server").and_then(Value::as_str).map(str::to_string);
                Target::Job(JobId(o["job"].as_str().unwrap_or_default().into()), server)
            }
            _ => {
                return Err(Error::invalid_params(format!(
                    "{} takes no argument or [{{\"job\": \"<job ID>\"}}] (with an optional \"server\")",
                    super::ext::FIX_WORKSPACE_COMMAND
                )));
            }
        };
        let started = std::time::Instant::now();
        let plan = self.plan_fixes(target).await;
        tracing::debug!(fixed = plan.fixed, ms = started.elapsed().as_secs_f64() * 1e3, "fix planned");
        let files = plan.changes.len();
        let summary = present::fix_summary(
            plan.fixed,
            files,
            plan.need_choice,
            plan.unavailable.as_ref().map(|why| (plan.unverified, why)),
        );
        let applied = if plan.changes.is_empty() {
            false
        } else {
            let edit = WorkspaceEdit { changes: Some(plan.changes), ..Default::default() };
            match tokio::time::timeout(APPLY_EDIT_WAIT, self.client.apply_edit(edit)).await {
                Ok(Ok(r)) if r.applied => true,
                Ok(Ok(r)) => {
                    let why = r.failure_reason.unwrap_or_else(|| "no reason given".into());
                    let text = format!("synergy-ls: the editor did not apply the fixes ({why}).");
                    self.client.show_message(MessageType::WARNING, text.clone()).await;
                    return Ok(Some(json!({
                        "fixed": 0,
                        "files": 0,
                        "needChoice": plan.need_choice,
                        "unverified": plan.unverified,
                        "applied": false,
                        "message": text,
                    })));
                }
                Ok(Err(e)) => return Err(refused(format!("The editor refused the fixes: {}", e.message))),
                Err(_) => return Err(refused("The editor did not answer within 60 s; the fixes may not be applied.")),
            }
        };
        let level = if plan.unverified > 0 { MessageType::WARNING } else { MessageType::INFO };
        self.client.show_message(level, format!("synergy-ls: {summary}")).await;
        Ok(Some(json!({
            "fixed": if applied { plan.fixed } else { 0 },
            "files": if applied { files } else { 0 },
            "needChoice": plan.need_choice,
            "unverified": plan.unverified,
            "applied": applied,
            "message": summary,
        })))
    }

    /// How many references in the workspace the cache already says have a safe fix naming
    /// `job` on the server of `scope` (for the "fix all N references to this job" quick fix;
    /// no request is made).
    fn count_fixable(&self, scope: &SettingsScope, job: &JobId) -> usize {
        let (counts, scopes) = self.name_counts(&self.scopes(), None);
        counts
            .into_iter()
            .filter(|((id, name), _)| {
                let Some(other) = scopes.get(id) else { return false };
                if other.config.server_url != scope.config.server_url {
                    return false;
                }
                let Some(resolved) = other.resolver.resolve_cached(name) else { return false };
                analysis::Verdict::of(name, &resolved.resolution, &other.config.diagnostics.severity)
                    .is_some_and(|v| v.safe_fix().is_some_and(|f| f.target.as_ref() == Some(job)))
            })
            .map(|(_, n)| n)
            .sum()
    }
}

/// Whether the client asked for code actions of `kind` (`only` absent means: the ones at the
/// cursor, which a fix-all is not; a listed kind matches its sub-kinds, as the specification
/// says: `source` and `source.fixAll` both ask for `source.fixAll.synergy`).
pub(super) fn asked_for(only: Option<&[CodeActionKind]>, kind: &str) -> bool {
    only.is_some_and(|only| {
        only.iter()
            .any(|k| kind == k.as_str() || kind.strip_prefix(k.as_str()).is_some_and(|rest| rest.starts_with('.')))
    })
}

/// The document's fix-all, when the client asked for it and there is anything to fix.
pub async fn fix_all_action(
    state: &Arc<State>,
    uri: &Uri,
    only: Option<&[CodeActionKind]>,
) -> Option<CodeActionOrCommand> {
    if !asked_for(only, FIX_ALL_KIND) {
        return None;
    }
    let plan = tokio::time::timeout(ASK_WAIT, state.plan_fixes(Target::Document(uri.clone()))).await.ok()?;
    if plan.changes.is_empty() {
        return None;
    }
    let n = plan.fixed;
    Some(CodeActionOrCommand::CodeAction(CodeAction {
        title: format!("Fix {n} job reference{} in this file", if n == 1 { "" } else { "s" }),
        kind: Some(CodeActionKind::from(FIX_ALL_KIND)),
        edit: Some(WorkspaceEdit { changes: Some(plan.changes), ..Default::default() }),
        ..Default::default()
    }))
}

/// "Fix all N references to this job in the workspace", beside a reference's safe fix, when
/// the workspace has more than this one.
pub fn fix_job_action(state: &Arc<State>, scope: &SettingsScope, fix: &analysis::Fix) -> Option<CodeActionOrCommand> {
    let job = fix.target.as_ref().filter(|_| fix.preferred)?;
    let n = state.count_fixable(scope, job);
    (n > 1).then(|| {
        let title = format!("Fix all {n} references to this job in the workspace");
        CodeActionOrCommand::CodeAction(CodeAction {
            title: title.clone(),
            kind: Some(CodeActionKind::QUICKFIX),
            command: Some(Command {
                title,
                command: super::ext::FIX_WORKSPACE_COMMAND.into(),
                arguments: Some(vec![match &scope.config.server_url {
                    Some(server) => json!({"job": job.0.as_ref(), "server": server}),
                    None => json!({"job": job.0.as_ref()}),
                }]),
            }),
            ..Default::default()
        })
    })
}

/// The reference at a position, or a refusal that says what to do.
fn reference_at(state: &Arc<State>, scope: &SettingsScope, p: &TextDocumentPositionParams) -> Result<Located> {
    let at = tower_lsp_server::ls_types::Range { start: p.position, end: p.position };
    located_refs(state, scope, &p.text_document.uri, Some(at))
        .and_then(|refs| refs.into_iter().next())
        .ok_or_else(|| refused("Put the cursor on a job reference (job:Name) to rename it."))
}

/// `textDocument/prepareRename`: the name of the job reference under the cursor (its quotes
/// are kept out of the range), or a refusal.
pub async fn prepare_rename(
    state: &Arc<State>,
    params: TextDocumentPositionParams,
) -> Result<Option<PrepareRenameResponse>> {
    let Located { r, edit_range, .. } = reference_at(state, &state.scope_of(&params.text_document.uri), &params)?;
    let range = match r.form {
        // Inside the quotes: the name is what is renamed.
        RefForm::Quoted => tower_lsp_server::ls_types::Range {
            start: tower_lsp_server::ls_types::Position {
                character: edit_range.start.character + 1,
                ..edit_range.start
            },
            end: tower_lsp_server::ls_types::Position {
                character: edit_range.end.character.saturating_sub(1),
                ..edit_range.end
            },
        },
        _ => edit_range,
    };
    Ok(Some(PrepareRenameResponse::RangeWithPlaceholder { range, placeholder: r.name }))
}

/// What the user typed as the new name, without a `job:` prefix or quotes.
fn typed_name(new_name: &str) -> &str {
    let name = new_name.trim();
    let name = name.strip_prefix("job:").unwrap_or(name);
    name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name).trim()
}

/// `textDocument/rename`: every reference in the workspace to the job under the cursor (the
/// same job ID, or the same name when it names no job) rewritten to the new name, which must
/// name exactly one existing job (asked of the server now). A reference written as a path gets
/// the job's path; a bare one stays bare when the name allows it.
pub async fn rename(state: &Arc<State>, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
    let uri = &params.text_document_position.text_document.uri;
    let Located { r, .. } = reference_at(state, &state.scope_of(uri), &params.text_document_position)?;
    let typed = typed_name(&params.new_name).to_string();
    if !is_referenceable(&typed) {
        return Err(refused("A job name cannot be empty or hold a double quote or a line break."));
    }
    state.settings_ready().await;
    // The settings in force once the editor's are in.
    let here = state.scope_of(uri);
    let resolve = |name: String| {
        let resolver = Arc::clone(&here.resolver);
        async move { tokio::time::timeout(ASK_WAIT, resolver.resolve(&name)).await.ok() }
    };
    let Some(target) = resolve(typed.clone()).await else {
        return Err(refused(format!("The 12d Synergy server did not answer about \"{typed}\" in time; try again.")));
    };
    let job = match &target.resolution {
        Resolution::Found(job) => job.clone(),
        other => return Err(refused(present::rename_refusal(&typed, other).unwrap_or_default())),
    };
    // Every name's verdict is current before identities are compared, each on its folder's
    // server.
    let in_force = state.scopes();
    let (counts, scopes) = state.name_counts(&in_force, None);
    let asked = scopes.values().map(|scope| {
        let names = counts.keys().filter(|(id, _)| *id == scope.id).map(|(_, n)| n.as_str());
        analysis::resolve_names(&scope.resolver, names, scope.config.lookup_fanout())
    });
    let _ = tokio::time::timeout(ASK_WAIT, futures::future::join_all(asked)).await;
    if let Some(Resolution::Unavailable(why)) = resolve(r.name.clone()).await.map(|r| r.resolution) {
        return Err(refused(format!("Cannot rename: {}", present::unavailable_reason_batch(&why))));
    }
    let wanted = State::identity(&here, &r.name);
    let memo: std::sync::Mutex<HashMap<ScopedName, bool>> = Default::default();
    let same = |scope: &SettingsScope, name: &str| -> bool {
        let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
        *memo.entry((scope.id, name.to_string())).or_insert_with(|| State::identity(scope, name) == wanted)
    };
    let new_value = |name: &str| if is_path(name) { job.path().to_string() } else { typed.clone() };
    let changes = state
        .edits_where(&in_force, None, same, |_, name, form| {
            let value = new_value(name);
            (value != name).then(|| fix::new_text(&value, form))
        })
        .await;
    if let Identity::Name(_) = wanted {
        tracing::debug!(name = r.name, "rename by name: it names no single job");
    }
    Ok(Some(WorkspaceEdit { changes: Some(changes), ..Default::default() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_asked_for() {
        let kinds = |k: &[&str]| k.iter().map(|k| CodeActionKind::from(k.to_string())).collect::<Vec<_>>();
        assert!(asked_for(Some(&kinds(&["source.fixAll"])), FIX_ALL_KIND));
        assert!(asked_for(Some(&kinds(&["source"])), FIX_ALL_KIND));
        assert!(asked_for(Some(&kinds(&["quickfix", "source.fixAll.synergy"])), FIX_ALL_KIND));
        assert!(!asked_for(Some(&kinds(&["source.fix"])), FIX_ALL_KIND), "a prefix of a word is no parent kind");
        assert!(!asked_for(Some(&kinds(&["quickfix"])), FIX_ALL_KIND));
        assert!(!asked_for(None, FIX_ALL_KIND), "not among the actions at the cursor");
    }

    #[test]
    fn typed_names() {
        assert_eq!(typed_name("  Riverside Levee "), "Riverside Levee");
        assert_eq!(typed_name("job:\"Region A/Drainage\""), "Region A/Drainage");
        assert_eq!(typed_name("\"Riverside\""), "Riverside");
        assert_eq!(typed_name("job:Riverside"), "Riverside");
    }
}
