//! Fault injection, end to end: the real binary over stdio against a simulator switched into
//! each fault the API can show (and against hosts that cannot be reached at all), with
//! documents open. For every fault: no reference is reported unknown while it lasts, the user
//! is told once, hover still answers from the cache, and verdicts come back after the fault
//! clears without a restart. `check` exits 2 under the same faults. The cases run concurrently;
//! every failure is collected and reported together.
#![allow(clippy::print_stderr)] // the per-fault summary is the test's report

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use synergy_ls::simulator::{Fault, SimConfig, Simulator};

const A: &str = "file:///ws/cached.md";
const B: &str = "file:///ws/new.md";
/// Known (Riverside) and unknown (Riversde) names, checked before the fault: cached.
const CACHED: &str = "job:Riverside and job:Riversde\n";
/// Names first asked during the fault: two that exist (Bridge's exact match is on page 2) and
/// one that does not.
const FRESH: &str = "job:Bridge job:\"Zürich Tunnel\" job:Nope\n";

#[derive(Clone, Copy, PartialEq)]
enum Recovery {
    /// Verdicts return by themselves once the fault clears.
    Automatic,
    /// The server asked for a long wait (or rejected the token): verdicts return when the
    /// user asks (`synergy.refresh`, what setting a new token also does).
    OnRefresh,
}

fn unknown_names(diags: &[Value]) -> Vec<String> {
    let mut names: Vec<String> =
        diags.iter().map(|d| d["message"].as_str().unwrap().split('"').nth(1).unwrap_or("?").to_string()).collect();
    names.sort();
    names
}

/// Runs one fault; `Err` describes what went wrong.
async fn survive(fault: Fault, recovery: Recovery) -> Result<String, String> {
    let sim = simulator().await;
    let elsewhere = simulator().await;
    sim.set_redirect_port(elsewhere.addr().port());
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN)]);
    lsp.initialize(json!({"requestTimeoutSeconds": 1}), json!(null)).await;
    lsp.open(A, "markdown", CACHED).await;
    let before = lsp.diagnostics(A, |d| d.len() == 1).await;
    if unknown_names(&before) != ["Riversde"] {
        return Err(format!("before the fault: {before:?}"));
    }
    lsp.drain_messages(Duration::ZERO).await;

    sim.set_fault(fault);
    let started = Instant::now();
    lsp.open(B, "markdown", FRESH).await;
    let during = lsp.diagnostics(B, |_| true).await;
    let expected_during: Vec<String> = if fault == Fault::LyingPages { vec!["Nope".into()] } else { vec![] };
    if unknown_names(&during) != expected_during {
        return Err(format!("false verdicts during the fault: {during:?}"));
    }
    let hover_started = Instant::now();
    let hover = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": A}, "position": {"line": 0, "character": 6}}))
        .await;
    let hover_time = hover_started.elapsed();
    let card = hover["contents"]["value"].as_str().unwrap_or_default();
    if !card.starts_with("### Riverside") || hover_time > Duration::from_secs(1) {
        return Err(format!("hover from the cache during the fault took {hover_time:?}: {card}"));
    }
    // Ask again while it lasts: still one message, not one per request.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": B, "version": 2}, "contentChanges": [{"text": format!("{FRESH}job:Other\n")}]}),
    )
    .await;
    let again = lsp.diagnostics(B, |_| true).await;
    if unknown_names(&again) != expected_during {
        return Err(format!("false verdicts on the second check: {again:?}"));
    }
    let messages = lsp.drain_messages(Duration::from_millis(1500)).await;
    let told: Vec<&Value> = messages.iter().filter(|m| m["type"] == 1 || m["type"] == 2).collect();
    // Exactly once, for every fault: lying page counters too, although they fail only the
    // names that need a second page while others succeed.
    if told.len() != 1 {
        return Err(format!("told {} times: {messages:?}", told.len()));
    }
    if fault == Fault::LyingPages {
        let hover = lsp
            .request("textDocument/hover", json!({"textDocument": {"uri": B}, "position": {"line": 0, "character": 6}}))
            .await;
        let card = hover["contents"]["value"].as_str().unwrap_or_default().to_string();
        if !card.contains("repeats earlier rows") {
            return Err(format!("hover on Bridge does not say why: {card}"));
        }
    }
    let message = told.first().and_then(|m| m["message"].as_str()).unwrap_or_default().to_string();
    if message.contains("unknown job") || message.contains(TOKEN) {
        return Err(format!("bad message: {message}"));
    }

    // Recovery is what happens after the fault clears: lists published during it do not count.
    // (Dropped before it clears: a list published at once after it is the recovery.)
    lsp.discard_notifications("textDocument/publishDiagnostics").await;
    sim.set_fault(Fault::None);
    let cleared = Instant::now();
    if recovery == Recovery::OnRefresh {
        lsp.request("workspace/executeCommand", json!({"command": "synergy.refresh", "arguments": []})).await;
    }
    if fault == Fault::LyingPages {
        // The list is the same before and after (Bridge was never flagged, only unverified),
        // so recovery shows in what the server says of Bridge.
        let deadline = Instant::now() + WAIT;
        loop {
            let hover = lsp
                .request(
                    "textDocument/hover",
                    json!({"textDocument": {"uri": B}, "position": {"line": 0, "character": 6}}),
                )
                .await;
            if hover["contents"]["value"].as_str().is_some_and(|c| c.starts_with("### Bridge")) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("Bridge never resolved after the fault: {hover}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    } else {
        let after = lsp.diagnostics(B, |d| unknown_names(d) == ["Nope", "Other"]).await;
        if after.len() != 2 {
            return Err(format!("after the fault: {after:?}"));
        }
    }
    let recovered_in = cleared.elapsed();
    let leaked = elsewhere.stats();
    if leaked.requests > 0 || leaked.with_authorization > 0 {
        return Err(format!(
            "another host was sent {} requests ({} with a token)",
            leaked.requests, leaked.with_authorization
        ));
    }
    let transcript = lsp.transcript();
    let stderr = lsp.stderr();
    if transcript.contains(TOKEN) || stderr.contains(TOKEN) {
        return Err("the token leaked".into());
    }
    let _ = lsp.shutdown().await;
    Ok(format!(
        "told once ({:.0?} after it began): \"{}\"; hover {hover_time:.1?}; recovered {recovered_in:.1?} after it cleared",
        started.elapsed(),
        message.chars().take(70).collect::<String>()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_api_fault_is_survived() {
    use Recovery::*;
    let cases = [
        (Fault::Outage, Automatic),
        (Fault::Error500, Automatic),
        (Fault::Error502, Automatic),
        (Fault::Error503, Automatic),
        (Fault::RateLimit, Automatic),
        (Fault::RateLimitNoRetryAfter, Automatic),
        (Fault::RateLimitLong, OnRefresh),
        (Fault::Unauthorized, OnRefresh),
        (Fault::Forbidden, OnRefresh),
        (Fault::Html, Automatic),
        (Fault::Truncated, Automatic),
        (Fault::WrongShape, Automatic),
        (Fault::Empty, Automatic),
        (Fault::Huge, Automatic),
        (Fault::Trickle, Automatic),
        (Fault::Hang, Automatic),
        (Fault::RedirectElsewhere, Automatic),
        (Fault::LyingPages, Automatic),
    ];
    let runs = cases.iter().map(|&(fault, recovery)| async move { (fault, survive(fault, recovery).await) });
    let results = futures::future::join_all(runs).await;
    let mut failed = Vec::new();
    for (fault, result) in &results {
        match result {
            Ok(summary) => eprintln!("ok   {fault:?}: {summary}"),
            Err(why) => {
                eprintln!("FAIL {fault:?}: {why}");
                failed.push(format!("{fault:?}: {why}"));
            }
        }
    }
    assert!(failed.is_empty(), "{} of {} faults not survived:\n{}", failed.len(), results.len(), failed.join("\n"));
}

/// Hosts that cannot be asked at all: nothing is flagged, the user is told once, and a hover
/// says why.
#[tokio::test(flavor = "multi_thread")]
async fn unreachable_hosts_never_produce_verdicts() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let sim = simulator().await;
    let cases = [
        ("connection refused", refused),
        ("DNS failure", "https://synergy.invalid".to_string()),
        // TLS to a server that does not speak it: the handshake fails.
        ("TLS failure", format!("https://localhost:{}", sim.addr().port())),
    ];
    for (what, url) in cases {
        let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &url), ("SYNERGY_TOKEN", TOKEN)]);
        lsp.initialize(json!({"requestTimeoutSeconds": 2}), json!(null)).await;
        lsp.open(B, "markdown", FRESH).await;
        let diags = lsp.diagnostics(B, |_| true).await;
        assert!(diags.is_empty(), "{what}: {diags:?}");
        let hover = lsp
            .request("textDocument/hover", json!({"textDocument": {"uri": B}, "position": {"line": 0, "character": 6}}))
            .await;
        let card = hover["contents"]["value"].as_str().unwrap_or_default().to_string();
        assert!(card.contains("unreachable") || card.contains("not checked"), "{what}: {card}");
        let messages = lsp.drain_messages(Duration::from_millis(500)).await;
        let told: Vec<_> = messages.iter().filter(|m| m["type"] == 2).collect();
        assert_eq!(told.len(), 1, "{what}: {messages:?}");
        eprintln!("ok   {what}: {}", told[0]["message"]);
        assert!(lsp.shutdown().await.success());
    }
}

/// `check` under faults exits 2 ("could not verify"), never 0 or 1.
#[tokio::test(flavor = "multi_thread")]
async fn check_exits_2_under_every_fault() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.md"), format!("{CACHED}{FRESH}")).unwrap();
    let faults = [
        Fault::Outage,
        Fault::Error500,
        Fault::Error503,
        Fault::RateLimitLong,
        Fault::Unauthorized,
        Fault::Html,
        Fault::WrongShape,
        Fault::Huge,
        Fault::Hang,
        Fault::RedirectElsewhere,
    ];
    for fault in faults {
        let sim = Simulator::start(SimConfig { token: TOKEN.into(), fault, ..SimConfig::default() }, 0).await.unwrap();
        let settings = dir.path().join("settings.toml");
        std::fs::write(&settings, "requestTimeoutSeconds = 1\n").unwrap();
        let check = |args: &[&str], file: &std::path::Path| {
            tokio::process::Command::new(BIN)
                .arg("check")
                .args(args)
                .env("SYNERGY_CACHE_DIR", common::fresh_cache_dir())
                .arg("--config")
                .arg(&settings)
                .arg(file)
                .env("SYNERGY_URL", sim.url())
                .env("SYNERGY_TOKEN", TOKEN)
                .output()
        };
        let out = check(&["--format", "json"], &dir.path().join("doc.md")).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fault:?}: {stdout}\n{stderr}");
        assert!(!stdout.contains("unknown-job") && !stdout.contains(TOKEN) && !stderr.contains(TOKEN), "{fault:?}");
        // Fixing under the fault writes nothing (and --diff prints nothing): a case that would
        // be fixed on a healthy server stays as it is.
        let fixable = dir.path().join("fixable.md");
        let before = "job:riverside and job:Nope\r\n";
        std::fs::write(&fixable, before).unwrap();
        for mode in ["--fix", "--diff"] {
            let out = check(&[mode], &fixable).await.unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{fault:?} {mode}: {stderr}");
            assert_eq!(std::fs::read_to_string(&fixable).unwrap(), before, "{fault:?} {mode} changed the file");
            if mode == "--diff" {
                assert!(out.stdout.is_empty(), "{fault:?}: a diff under a fault: {:?}", out.stdout);
            }
        }
    }
}
