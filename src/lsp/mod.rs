//! The language server: the only module that speaks LSP.
//!
//! - [`server`]: the thin `LanguageServer` impl (every handler under the panic guard).
//! - [`capabilities`]: what the client can do (`Caps`) and what the server offers.
//! - [`ext`]: what synergy-ls adds to LSP (`synergy/status`, commands).
//! - [`handlers`]: hover, completion, code actions, links, references, highlights, symbols.
//! - [`state`]: the shared state, split by job into [`settings`], [`health`] (status,
//!   warnings, the health watcher, the editor's process), [`diagnostics`] (open documents
//!   and unopened files), [`pull`] (`workspace/diagnostic`, and its fast path behind the
//!   transport) and [`workspace`] (folders, index, watched files).
//! - [`documents`]: open documents and their edits.
//! - [`from_proto`] / [`to_proto`]: the conversions; positions go through `line_index`.
//! - [`transport`]: the framing guard that keeps one malformed message from ending the session.

pub mod capabilities;
pub mod diagnostics;
pub mod documents;
pub mod ext;
pub mod fixing;
pub mod from_proto;
pub mod handlers;
pub mod health;
pub mod pull;
pub mod server;
pub mod settings;
pub mod state;
pub mod to_proto;
pub mod transport;
pub mod workspace;

use tower_lsp_server::{LspService, Server as Transport};

/// Gives freed memory back to the system; set by the binary for its allocator (mimalloc keeps
/// freed pages until it is next busy, and after a large document the server is idle).
static RELEASE_MEMORY: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

pub fn set_memory_release(release: fn()) {
    let _ = RELEASE_MEMORY.set(release);
}

/// Documents at least this large release memory after they are checked or closed.
const LARGE_DOCUMENT: usize = 4 << 20;

/// Hands memory back, at most once a second (edits of a large document publish often).
pub(crate) fn release_memory() {
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let Some(release) = RELEASE_MEMORY.get() else { return };
    {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
            return;
        }
        *last = Some(std::time::Instant::now());
    }
    release();
}

/// Serves LSP on stdin/stdout behind the framing guard until the session ends (input closed,
/// `exit`, or the editor's process gone); returns the process exit code (0 after `shutdown`,
/// else 1).
pub async fn serve_stdio() -> u8 {
    serve(tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves LSP over any byte streams, behind the same framing guard as [`serve_stdio`] (the
/// in-process test harness uses a `tokio::io::duplex` pair); returns the session's exit code.
pub async fn serve<I, O>(input: I, output: O) -> u8
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let ending = transport::Ending::default();
    let ends = ending.clone();
    transport::serve(input, output, ending, |input, output, outbox, shortcuts| {
        Box::pin(async move {
            let (service, socket) =
                LspService::build(move |client| server::Server::behind_transport(client, outbox, ends, shortcuts))
                    .custom_method("window/workDoneProgress/cancel", server::Server::on_progress_cancel)
                    .custom_method(transport::SHORTCUT_METHOD, server::Server::on_shortcut)
                    .finish();
            Transport::new(input, output, socket).serve(service).await;
        })
    })
    .await
}
