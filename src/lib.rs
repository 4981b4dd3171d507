//! synergy-ls: live references to 12d Synergy jobs in text files.
//!
//! Code map (ARCHITECTURE.md has the long form):
//!
//! - [`model`]: the vocabulary (`JobRef`, `Job`, `Resolution`, `Health`). Everything depends on it.
//! - [`scan`]: text + kind -> references: the grammar, Markdown prose (CommonMark), source
//!   comments, the one list of documents. Pure: no IO, no async, no LSP types.
//! - [`line_index`]: byte offsets <-> line/column in UTF-8/16/32. The only code that knows encodings.
//! - [`html`]: HTML descriptions -> plain text.
//! - [`config`]: the one settings struct and its layers; the token as a redacted `Secret`.
//! - [`settings`]: layers -> `Config` -> scanner and client settings, for the CLI and the server.
//! - [`analysis`]: references + verdicts -> findings (severity, message, fixes): one policy;
//!   `analysis::fix`: which fixes are safe to apply without asking, and applying them.
//! - [`workspace`]: which files, the walk, reading a file, the index of their references, and
//!   `file:` URIs <-> paths (`workspace::file_uri`, every platform's spellings).
//! - [`log`]: the stderr log writer that scrubs every known token from each line.
//! - [`api`]: the HTTP client and wire JSON. The only module that sees HTTP.
//! - [`resolve`]: name -> `Resolution`, with the cache, single-flight and the politeness gate.
//! - [`present`]: words and Markdown for people (hover cards, messages).
//! - [`lsp`]: the language server. The only module that sees LSP types.
//! - [`check`]: the CI command (`--fix`, `--diff`; human, JSON, SARIF, GitHub formats). [`demo`]: the one-command demo. [`simulator`]: the local API.
//! - [`corpus`]: deterministic text for benchmarks.
//!
//! Invariants:
//!
//! - Layering: `lsp`, `check` -> `analysis`, `workspace`, `settings` -> `resolve` -> `api`;
//!   everything -> `model`; `model` and `line_index` depend on nothing of ours, `scan` only on
//!   `model`.
//! - A failure to reach the server is `Resolution::Unavailable`, never "unknown", and is never
//!   cached.
//! - The token is a `config::Secret`: redacted `Debug`, no `Display`, no `Serialize`; it is only
//!   read to build the `Authorization` header. Every log line passes [`log::RedactingStderr`],
//!   which scrubs every token seen through any channel.
//! - Stdout belongs to the LSP protocol in `serve`: nothing prints; logs go to stderr.
//! - No lock is held across an `.await`.
//! - A fix is applied without asking only when it is confirmed (`analysis::fix::confirm`).

pub mod analysis;
pub mod api;
pub mod check;
pub mod config;
pub mod corpus;
pub mod demo;
pub mod html;
pub mod line_index;
pub mod log;
pub mod lsp;
pub mod model;
pub mod present;
pub mod resolve;
pub mod scan;
pub mod settings;
pub mod simulator;
pub mod workspace;
