//! Capabilities: what the client said it can do ([`Caps`], fixed at `initialize`) and what
//! this server offers in return ([`server`]). Names follow the LSP 3.17 specification's
//! `ClientCapabilities` and `ServerCapabilities`.

use tower_lsp_server::ls_types::*;

use super::{ext, from_proto, to_proto};
use crate::line_index::Encoding;

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
    /// `workspace.configuration`: settings are pulled with `workspace/configuration`.
    pub pull_configuration: bool,
    /// The client shows `synergy/status` itself (`experimental.synergyStatus`), so health
    /// changes are not also sent as `window/showMessage`.
    pub shows_status: bool,
    /// `window.workDoneProgress`: the server may create progress tokens.
    pub work_done_progress: bool,
    /// `workspace.didChangeWatchedFiles.dynamicRegistration`: the server registers its file
    /// watchers after `initialized` (VS Code, Neovim 0.10+).
    pub watch_files: bool,
    /// `textDocument.diagnostic`: the client pulls diagnostics (LSP 3.17), so open documents
    /// are answered by `textDocument/diagnostic` and never pushed.
    pub pull_diagnostics: bool,
    /// `workspace.diagnostics.refreshSupport`: the server may ask for a new pull
    /// (`workspace/diagnostic/refresh`) when answers change.
    pub diagnostic_refresh: bool,
    /// `textDocument.rename.prepareSupport`: the client sends `textDocument/prepareRename`.
    pub prepare_rename: bool,
}

impl Default for Caps {
    /// What is assumed of a client before `initialize`: UTF-16, Markdown, nothing optional.
    fn default() -> Caps {
        Caps {
            encoding: Encoding::Utf16,
            markdown_hover: true,
            markdown_completion: true,
            insert_replace: false,
            pull_configuration: false,
            shows_status: false,
            work_done_progress: false,
            watch_files: false,
            pull_diagnostics: false,
            diagnostic_refresh: false,
            prepare_rename: false,
        }
    }
}

impl Caps {
    pub fn from_client(caps: &ClientCapabilities) -> Caps {
        let workspace = caps.workspace.as_ref();
        Caps {
            encoding: from_proto::encoding(caps),
            markdown_hover: from_proto::markdown_hover(caps),
            markdown_completion: from_proto::markdown_completion(caps),
            insert_replace: from_proto::insert_replace(caps),
            pull_configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
            shows_status: from_proto::shows_status(caps),
            work_done_progress: caps.window.as_ref().and_then(|w| w.work_done_progress).unwrap_or(false),
            watch_files: workspace
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
            pull_diagnostics: caps.text_document.as_ref().is_some_and(|t| t.diagnostic.is_some()),
            diagnostic_refresh: workspace
                .and_then(|w| w.diagnostics.as_ref())
                .and_then(|d| d.refresh_support)
                .unwrap_or(false),
            prepare_rename: caps
                .text_document
                .as_ref()
                .and_then(|t| t.rename.as_ref())
                .and_then(|r| r.prepare_support)
                .unwrap_or(false),
        }
    }
}

/// What this server offers.
pub fn server(caps: &Caps) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(to_proto::encoding_kind(caps.encoding)),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            ..Default::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![":".into(), "\"".into()]),
            ..Default::default()
        }),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX, CodeActionKind::from(super::fixing::FIX_ALL_KIND)]),
            ..Default::default()
        })),
        document_link_provider: Some(DocumentLinkOptions {
            resolve_provider: Some(false),
            work_done_progress_options: Default::default(),
        }),
        diagnostic_provider: caps.pull_diagnostics.then(|| {
            DiagnosticServerCapabilities::Options(DiagnosticOptions {
                identifier: Some(to_proto::SOURCE.into()),
                inter_file_dependencies: true,
                workspace_diagnostics: true,
                work_done_progress_options: Default::default(),
            })
        }),
        references_provider: Some(OneOf::Left(true)),
        // `prepareProvider` only for clients that said they send `prepareRename`.
        rename_provider: Some(if caps.prepare_rename {
            OneOf::Right(RenameOptions { prepare_provider: Some(true), work_done_progress_options: Default::default() })
        } else {
            OneOf::Left(true)
        }),
        document_highlight_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![ext::REFRESH_COMMAND.into(), ext::FIX_WORKSPACE_COMMAND.into()],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The registration of file watchers for `workspace/didChangeWatchedFiles`: every file, so a
/// file an include glob adds later is seen too (what is indexed is decided on our side).
pub fn watch_registration() -> Registration {
    let options = DidChangeWatchedFilesRegistrationOptions {
        watchers: vec![FileSystemWatcher { glob_pattern: GlobPattern::String("**/*".into()), kind: None }],
    };
    Registration {
        id: "synergy-watched-files".into(),
        method: "workspace/didChangeWatchedFiles".into(),
        register_options: serde_json::to_value(options).ok(),
    }
}
