//! A server process never outlives its editor. End to end over stdio, because what is tested
//! is the process itself: that it is gone, and with what exit code. Each case leaves the
//! server with work in flight (a `workspace/configuration` request the editor never answers,
//! an open document whose references it would re-check against the API) and asserts the
//! process is gone within 2 s and made no request to the API afterwards.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const GONE_WITHIN: Duration = Duration::from_secs(2);

/// An editor that started the server, sent `initialized`, never answered the server's
/// `workspace/configuration` request and opened a document: the server is busy waiting.
async fn busy_server(sim: &synergy_ls::simulator::Simulator, params: serde_json::Value) -> Lsp {
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN)]);
    lsp.initialize_unresponsive(params).await;
    lsp.open("file:///tmp/busy.md", "markdown", "See job:Riverside and job:NoSuchJob.").await;
    // Long enough for the server to be inside the `initialized` handler, waiting on us.
    tokio::time::sleep(Duration::from_millis(200)).await;
    lsp
}

/// No request reaches the API after the process is gone (watched for longer than a re-check
/// interval would take with a 1 s TTL).
async fn no_requests_after(sim: &synergy_ls::simulator::Simulator) {
    let before = sim.requests();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sim.requests(), before, "a request reached the API after the server was gone");
}

#[tokio::test]
async fn stdin_closed_while_waiting_on_the_editor_ends_the_process() {
    let sim = simulator().await;
    let mut lsp =
        busy_server(&sim, json!({"initializationOptions": {"cache": {"ttlSeconds": 1, "negativeTtlSeconds": 1}}}))
            .await;
    lsp.close_stdin();
    let status =
        lsp.exited_within(GONE_WITHIN).await.unwrap_or_else(|| panic!("still running; stderr: {}", lsp.stderr()));
    assert_eq!(status.code(), Some(1), "input closed without shutdown");
    no_requests_after(&sim).await;
}

#[tokio::test]
async fn shutdown_and_exit_while_waiting_on_the_editor_ends_the_process_with_0() {
    let sim = simulator().await;
    let mut lsp = busy_server(&sim, json!({})).await;
    // The shutdown answer may never come while the server waits; an editor sends exit anyway.
    lsp.send(json!({"jsonrpc": "2.0", "id": 99, "method": "shutdown", "params": null})).await;
    lsp.notify("exit", serde_json::Value::Null).await;
    // stdin stays open: `exit` alone must end the process.
    let status =
        lsp.exited_within(GONE_WITHIN).await.unwrap_or_else(|| panic!("still running; stderr: {}", lsp.stderr()));
    assert_eq!(status.code(), Some(0), "exit after shutdown");
    no_requests_after(&sim).await;
}

#[tokio::test]
async fn exit_without_shutdown_is_exit_code_1() {
    let sim = simulator().await;
    let mut lsp = Lsp::start(&sim, TOKEN).await;
    lsp.notify("exit", serde_json::Value::Null).await;
    let status = lsp.exited_within(GONE_WITHIN).await.expect("gone");
    assert_eq!(status.code(), Some(1));
    // And with shutdown first, 0 (the usual path, through the harness).
    let lsp = Lsp::start(&sim, TOKEN).await;
    assert_eq!(lsp.shutdown().await.code(), Some(0));
}

#[tokio::test]
async fn the_editor_process_gone_ends_the_server() {
    let sim = simulator().await;
    // A stand-in for the editor: a process the test owns and can end (the simulator, which
    // runs until it is ended, on every platform).
    let mut editor = std::process::Command::new(BIN)
        .args(["simulate", "--port", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the stand-in editor starts");
    let mut lsp = busy_server(&sim, json!({"processId": editor.id()})).await;
    // Still alive while its editor is.
    assert!(lsp.exited_within(Duration::from_millis(1200)).await.is_none(), "ended while the editor was alive");
    editor.kill().unwrap();
    editor.wait().unwrap();
    let status =
        lsp.exited_within(GONE_WITHIN).await.unwrap_or_else(|| panic!("still running; stderr: {}", lsp.stderr()));
    assert_eq!(status.code(), Some(1));
    no_requests_after(&sim).await;
}

/// A `processId` the server cannot see at start (another PID namespace) is not watched: the
/// server keeps serving instead of exiting at once.
#[tokio::test]
async fn an_invisible_process_id_is_not_watched() {
    let sim = simulator().await;
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN)]);
    let init = json!({"processId": 999_999_999u32, "rootUri": null, "capabilities": {}});
    lsp.request("initialize", init).await;
    lsp.notify("initialized", json!({})).await;
    assert!(lsp.exited_within(Duration::from_millis(1500)).await.is_none(), "ended for a process it cannot see");
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": "file:///none.md"}, "position": {"line": 0, "character": 0}}),
        )
        .await;
    assert!(hover.is_null(), "still serving: {hover}");
    assert_eq!(lsp.shutdown().await.code(), Some(0));
}
