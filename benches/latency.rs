//! Latency and request-count benchmark: warm hover measured in-process (through the
//! `LspService`, no transport) and end to end over stdio (the real binary), and how many
//! searches reach the server for many references to few names.
//!
//! `cargo bench --bench latency` runs it in full and prints a table; under `cargo test` it runs
//! a few iterations only, so it cannot rot.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_lsp_server::LspService;
use tower_lsp_server::jsonrpc::Request;

const URI: &str = "file:///bench/doc.md";
const NAMES: [&str; 5] =
    ["Riverside", "\"Highway Upgrade 2024\"", "Bridge", "\"Zürich Tunnel\"", "\"Region A/Drainage\""];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[allow(clippy::print_stdout)]
fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what:<44} n={:<6} p50={:>8.1} µs  p99={:>8.1} µs  max={:>8.1} µs",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.last().unwrap().as_secs_f64() * 1e6,
    );
}

fn document(lines: usize) -> String {
    (0..lines).map(|i| format!("Step {i}: see job:{} for details.\n", NAMES[i % NAMES.len()])).collect()
}

async fn in_process(sim_url: &str, iterations: usize) {
    let (mut service, socket) = LspService::new(synergy_ls::lsp::server::Server::new);
    tokio::spawn(futures::StreamExt::for_each(socket, |_| async {}));
    let mut id = 0;
    let mut call = async |method: &'static str, params: Value, notification: bool| {
        id += 1;
        let builder = Request::build(method).params(params);
        let req = if notification { builder.finish() } else { builder.id(id).finish() };
        service.ready().await.unwrap().call(req).await.unwrap()
    };
    let options = json!({"serverUrl": sim_url, "token": common::TOKEN});
    call("initialize", json!({"capabilities": {}, "initializationOptions": options}), false).await;
    call("initialized", json!({}), true).await;
    let text = document(1000);
    call(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "markdown", "version": 1, "text": text}}),
        true,
    )
    .await;
    let hover = json!({"textDocument": {"uri": URI}, "position": {"line": 500, "character": 20}});
    call("textDocument/hover", hover.clone(), false).await; // warms the cache
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        let response = call("textDocument/hover", hover.clone(), false).await;
        samples.push(start.elapsed());
        assert!(response.is_some());
    }
    report("warm hover, in-process (LspService)", samples);
}

#[allow(clippy::print_stdout)]
async fn over_stdio(sim: &synergy_ls::simulator::Simulator, iterations: usize) {
    let mut lsp = common::Lsp::start(sim, common::TOKEN).await;
    let text = document(10_000);
    let before = sim.requests();
    lsp.open(URI, "markdown", &text).await;
    lsp.diagnostics(URI, |d| d.is_empty()).await;
    let searches = sim.requests() - before;
    println!(
        "{:<44} {} references, {} distinct names -> {searches} searches (Bridge needs 2 pages)",
        "cold diagnostics, 10,000 references",
        10_000,
        NAMES.len()
    );
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let pos = json!({"textDocument": {"uri": URI}, "position": {"line": i % 10_000, "character": 20}});
        let start = Instant::now();
        let hover = lsp.request("textDocument/hover", pos).await;
        samples.push(start.elapsed());
        assert!(hover["contents"]["value"].as_str().is_some());
    }
    report("warm hover, end to end over stdio", samples);
    println!("{:<44} {}", "searches after all hovers", sim.requests() - before);
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let iterations = if full { 10_000 } else { 20 };
    let sim = common::simulator().await;
    over_stdio(&sim, iterations).await;
    in_process(&sim.url(), iterations).await;
}
