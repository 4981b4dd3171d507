//! The language server: the only module that speaks LSP.
//!
//! - [`server`]: capabilities and thin handlers (`LanguageServer` impl).
//! - [`handlers`]: hover, completion, code actions, document links.
//! - [`state`]: settings, document checks (debounced, version-checked), health messages.
//! - [`documents`]: open documents and their edits.
//! - [`from_proto`] / [`to_proto`]: the conversions; positions go through `line_index`.
//! - [`transport`]: the framing guard that keeps one malformed message from ending the session.

pub mod documents;
pub mod from_proto;
pub mod handlers;
pub mod server;
pub mod state;
pub mod to_proto;
pub mod transport;

use tower_lsp_server::{LspService, Server as Transport};

/// Serves LSP on stdin/stdout until the client exits, behind the framing guard.
pub async fn serve_stdio() {
    transport::serve(tokio::io::stdin(), tokio::io::stdout(), |input, output| {
        Box::pin(async move {
            let (service, socket) = LspService::new(server::Server::new);
            Transport::new(input, output, socket).serve(service).await;
        })
    })
    .await;
}
