//! The language server: the only module that speaks LSP.
//!
//! - [`server`]: capabilities and thin handlers (`LanguageServer` impl).
//! - [`handlers`]: hover, completion, code actions, document links.
//! - [`state`]: settings, document checks (debounced, version-checked), health messages.
//! - [`documents`]: open documents and their edits.
//! - [`from_proto`] / [`to_proto`]: the conversions; positions go through `line_index`.

pub mod documents;
pub mod from_proto;
pub mod handlers;
pub mod server;
pub mod state;
pub mod to_proto;

use tower_lsp_server::{LspService, Server as Transport};

/// Serves LSP on stdin/stdout until the client exits.
pub async fn serve_stdio() {
    let (service, socket) = LspService::new(server::Server::new);
    Transport::new(tokio::io::stdin(), tokio::io::stdout(), socket).serve(service).await;
}
