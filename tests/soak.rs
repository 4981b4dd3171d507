//! Soak: thousands of random editor operations against one server process while the simulator
//! switches faults on and off: open, edit, hover, completion, code action, settings change,
//! close, with several requests in flight at once. Afterwards the server must answer at once,
//! give correct verdicts, not have panicked, and its memory and thread count must be back near
//! where they were after warm-up.
//!
//! `scripts/test` runs 10,000 operations; `SOAK_OPS=200000 cargo test --release --test soak --
//! --nocapture` is the long run. Linux only: the growth checks read threads and memory from
//! `/proc`.
#![cfg(target_os = "linux")]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use synergy_ls::corpus::{self, Rng, Spec};
use synergy_ls::simulator::Fault;

const FAULTS: [Fault; 6] =
    [Fault::None, Fault::Outage, Fault::Error503, Fault::Html, Fault::RateLimit, Fault::Truncated];

/// The server's thread count (Linux `/proc`); a reading that fails fails the test, so the
/// growth checks below can never pass by reading nothing.
fn threads(lsp: &Lsp) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", lsp.pid())).expect("/proc/PID/status is readable");
    let threads = status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok());
    threads.filter(|&n| n > 0).expect("a thread count")
}

/// The server's resident memory (Linux `/proc`); a reading that fails fails the test.
fn rss(lsp: &Lsp) -> (u64, u64) {
    lsp.memory().filter(|&(rss, _)| rss > 0).expect("/proc/PID/status has VmRSS and VmHWM")
}

#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_random_operations_under_faults() {
    let ops: usize = std::env::var("SOAK_OPS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let sim = simulator().await;
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN)]);
    lsp.initialize(json!({"requestTimeoutSeconds": 1, "diagnostics": {"debounceMs": 20}}), json!(null)).await;
    let mut rng = Rng::new(7);
    let uris: Vec<String> = (0..6).map(|i| format!("file:///soak/doc{i}.md")).collect();
    let mut open: Vec<(String, i32, usize)> = Vec::new(); // uri, version, line count
    let mut next_id = 1_000_000;
    let mut baseline = None;
    let started = Instant::now();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();

    for op in 0..ops {
        if op == ops / 10 {
            baseline = Some((rss(&lsp).0, threads(&lsp)));
        }
        let kind = rng.below(100);
        let what = match kind {
            0..=7 => {
                let uri = rng.pick(&uris).clone();
                if open.iter().any(|(u, _, _)| *u == uri) {
                    continue;
                }
                let spec = Spec { seed: rng.next_u64(), refs_per_kib: 8.0, markdown: true, ..Spec::default() };
                let text = corpus::text(&spec, 1 + rng.below(6000));
                lsp.open(&uri, "markdown", &text).await;
                open.push((uri, 1, text.lines().count().max(1)));
                "open"
            }
            8..=10 if !open.is_empty() => {
                let (uri, _, _) = open.remove(rng.below(open.len()));
                lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}})).await;
                "close"
            }
            11..=45 if !open.is_empty() => {
                let i = rng.below(open.len());
                open[i].1 += 1;
                let (uri, version, lines) = open[i].clone();
                let line = rng.below(lines + 2);
                let insert = *rng.pick(&["job:Riverside ", "job:Riversde\n", "x", "\n", "😀", "job:\"Highway Up", ""]);
                let change = json!({"range": {"start": {"line": line, "character": rng.below(40)},
                    "end": {"line": line + rng.below(2), "character": rng.below(40)}}, "text": insert});
                lsp.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}),
                )
                .await;
                open[i].2 += insert.matches('\n').count();
                "edit"
            }
            46..=85 if !open.is_empty() => {
                // Several requests in flight at once; every one must be answered.
                let mut ids = Vec::new();
                for _ in 0..1 + rng.below(4) {
                    let (uri, _, lines) = rng.pick(&open).clone();
                    let position = json!({"line": rng.below(lines), "character": rng.below(60)});
                    let method =
                        *rng.pick(&["textDocument/hover", "textDocument/completion", "textDocument/codeAction"]);
                    let params = if method == "textDocument/codeAction" {
                        json!({"textDocument": {"uri": uri}, "range": {"start": position, "end": position},
                               "context": {"diagnostics": []}})
                    } else {
                        json!({"textDocument": {"uri": uri}, "position": position})
                    };
                    next_id += 1;
                    lsp.send(json!({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params})).await;
                    ids.push(next_id);
                }
                for id in ids {
                    let response = lsp.next_matching(|m| m["id"] == id && m.get("method").is_none()).await;
                    assert!(response.get("error").is_none(), "request {id} failed: {response}");
                }
                "requests"
            }
            86..=90 => {
                let severity = *rng.pick(&["warning", "error", "hint", "off"]);
                lsp.notify(
                    "workspace/didChangeConfiguration",
                    json!({"settings": {"synergy": {"diagnostics": {"severity": {"unknownJob": severity}, "debounceMs": 20}}}}),
                )
                .await;
                "settings"
            }
            _ => {
                sim.set_fault(*rng.pick(&FAULTS));
                "fault"
            }
        };
        *counts.entry(what).or_default() += 1;
        if op % 200 == 0 {
            // Keep the backlog of notifications from growing without bound.
            lsp.drain_messages(Duration::ZERO).await;
        }
    }

    // The fault clears: the server answers at once and its verdicts are right again.
    sim.set_fault(Fault::None);
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"synergy": {"diagnostics": {"severity": {"unknownJob": "warning"}}}}}),
    )
    .await;
    lsp.request("workspace/executeCommand", json!({"command": "synergy.refresh", "arguments": []})).await;
    let check = "file:///soak/final.md";
    lsp.open(check, "markdown", "job:Riverside job:Riversde job:\"Highway Upgrade 2024\"\n").await;
    let diags = lsp.diagnostics(check, |d| d.len() == 1).await;
    assert_eq!(diags[0]["code"], "unknown-job");
    let answered = Instant::now();
    let hover = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": check}, "position": {"line": 0, "character": 6}}))
        .await;
    assert!(hover["contents"]["value"].as_str().unwrap().starts_with("### Riverside"));
    assert!(answered.elapsed() < Duration::from_secs(1));

    let stderr = lsp.stderr();
    assert!(!stderr.contains("internal error") && !stderr.contains("panicked"), "{stderr}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss, peak) = rss(&lsp);
    let threads_now = threads(&lsp);
    let (base_rss, base_threads) = baseline.expect("a baseline was taken");
    assert!(rss < base_rss + 64 * 1024 * 1024, "memory grew from {base_rss} to {rss}");
    assert!(threads_now <= base_threads + 4, "threads grew from {base_threads} to {threads_now}");
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!(
            "soak: {ops} operations {counts:?} in {:.1?}; RSS {} MB (peak {} MB), baseline {:?}; threads {threads_now}; {} searches\n",
            started.elapsed(),
            rss >> 20,
            peak >> 20,
            (base_rss >> 20, base_threads),
            sim.requests()
        ),
    );
    assert!(lsp.shutdown().await.success());
}
