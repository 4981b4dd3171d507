//! End-to-end: the real binary over stdio against the simulator on loopback. These are the
//! user's scenarios (open, see diagnostics, hover, complete, fix, change settings, lose the
//! server, have the token rejected); they need the process boundary to be real, because the
//! transport, the environment and the process's own output are part of what is tested.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use synergy_ls::simulator::Fault;

const URI: &str = "file:///work/ws/plan.md";
const DOC: &str = "# Plan 😀 job:Riverside\nSee job:\"Highway Upgrade 2024\" and job:Drainage, job:riverside, job:Riversde.\n`job:InCode` is syntax.\n";

fn codes(diags: &[Value]) -> Vec<String> {
    let mut c: Vec<String> = diags.iter().map(|d| d["code"].as_str().unwrap().to_string()).collect();
    c.sort();
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn diagnostics_hover_completion_and_quick_fixes() {
    let sim = simulator().await;
    let mut lsp = Lsp::start(&sim, TOKEN).await;
    lsp.open(URI, "markdown", DOC).await;

    let diags = lsp.diagnostics(URI, |d| d.len() == 3).await;
    assert_eq!(codes(&diags), ["ambiguous-job", "case-mismatch", "unknown-job"]);
    let unknown = diags.iter().find(|d| d["code"] == "unknown-job").unwrap();
    assert_eq!(unknown["severity"], 2);
    assert_eq!(unknown["source"], "synergy");
    assert_eq!(unknown["range"]["start"], pos_of(DOC, "job:Riversde", 0));
    assert_eq!(unknown["range"]["end"], pos_of(DOC, "job:Riversde", 12));
    assert!(unknown["message"].as_str().unwrap().contains("did you mean \"Riverside\""));
    let ambiguous = diags.iter().find(|d| d["code"] == "ambiguous-job").unwrap();
    assert_eq!(ambiguous["severity"], 3);
    for path in ["Region A/Drainage", "Region B/Drainage", "Region North/Drainage"] {
        assert!(ambiguous["message"].as_str().unwrap().contains(path), "{ambiguous}");
    }

    // Hover after an emoji (UTF-16 positions): the job card, with the HTML description as text.
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": pos_of(DOC, "job:Riverside", 6)}),
        )
        .await;
    let card = hover["contents"]["value"].as_str().unwrap();
    assert_eq!(hover["contents"]["kind"], "markdown");
    assert!(card.starts_with("### Riverside\n"), "{card}");
    assert!(card.contains("ID `40002_1`"), "{card}");
    assert!(card.contains("Flood mitigation for the Riverside precinct & levee."), "{card}");
    assert!(!card.contains("<P>") && !card.contains("&amp;"), "{card}");
    assert_eq!(hover["range"]["start"], pos_of(DOC, "job:Riverside", 0));

    // Hover on an unknown job lists close names.
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": pos_of(DOC, "job:Riversde", 5)}),
        )
        .await;
    let card = hover["contents"]["value"].as_str().unwrap();
    assert!(card.contains("Unknown job") && card.contains("`Riverside`"), "{card}");

    // Type `job:"Highway Up` on a new line (with an auto-closed quote) and complete.
    let line = 3;
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": "Next: job:\"Highway Up\""}
        ]}),
    )
    .await;
    let text = format!("{DOC}Next: job:\"Highway Up\"");
    let cursor = json!({"line": line, "character": "Next: job:\"Highway Up".len()});
    let list = lsp
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": cursor,
            "context": {"triggerKind": 1}}),
        )
        .await;
    let items = list["items"].as_array().unwrap();
    let item = items.iter().find(|i| i["label"] == "Highway Upgrade 2024").expect("completion offered");
    assert_eq!(item["detail"], "Highway Upgrade 2024");
    assert_eq!(item["filterText"], "\"Highway Upgrade 2024");
    assert!(item["documentation"]["value"].as_str().unwrap().contains("Duplication of the highway"));
    let edited = apply_edit(&text, &item["textEdit"]);
    assert_eq!(edited.lines().nth(3).unwrap(), "Next: job:\"Highway Upgrade 2024\"");

    // Bare completion of a name with spaces inserts it quoted.
    let list = lsp
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": pos_of(&text, "job:Riverside", 13)}),
        )
        .await;
    let park =
        list["items"].as_array().unwrap().iter().find(|i| i["label"] == "Riverside Park").expect("Riverside Park");
    assert_eq!(apply_edit(&text, &park["textEdit"]).lines().next().unwrap(), "# Plan 😀 job:\"Riverside Park\"");

    // Quick fixes: unknown -> closest names; case mismatch -> the right case; ambiguous -> paths.
    // Version 2 also flags the half-typed `job:"Highway Up"`.
    let diags = lsp.diagnostics(URI, |d| d.len() == 4).await;
    let unknown =
        diags.iter().find(|d| d["code"] == "unknown-job" && d["range"]["start"]["line"] == 1).unwrap().clone();
    let actions = lsp
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": unknown["range"],
            "context": {"diagnostics": [unknown]}}),
        )
        .await;
    let first = &actions[0];
    assert_eq!(first["title"], "Replace with \"Riverside\"");
    assert_eq!(first["kind"], "quickfix");
    assert_eq!(first["diagnostics"][0]["code"], "unknown-job");
    let edit = &first["edit"]["changes"][URI][0];
    assert!(apply_edit(&text, edit).contains("job:Riverside."), "{edit}");
    let case = diags.iter().find(|d| d["code"] == "case-mismatch").unwrap().clone();
    let actions = lsp
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": case["range"], "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(actions[0]["title"], "Change to \"Riverside\"");
    assert_eq!(actions[0]["isPreferred"], true);
    let ambiguous = diags.iter().find(|d| d["code"] == "ambiguous-job").unwrap().clone();
    let actions = lsp
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": ambiguous["range"], "context": {"diagnostics": []}}),
        )
        .await;
    let fixed = apply_edit(&text, &actions[1]["edit"]["changes"][URI][0]);
    assert!(fixed.contains("job:\"Region B/Drainage\","), "{fixed}");

    // Closing clears the diagnostics.
    lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": URI}})).await;
    lsp.diagnostics(URI, |d| d.is_empty()).await;
    assert!(lsp.shutdown().await.success());
}

/// What the client declares it can do is honoured: plain-text documentation and hovers for a
/// client without Markdown, an `InsertReplaceEdit` for one with `insertReplaceSupport`, and
/// completion in the middle of a name replaces the whole name either way.
#[tokio::test(flavor = "multi_thread")]
async fn completion_and_hover_honour_the_client_capabilities() {
    let sim = simulator().await;
    let text = "Go to job:Rivers here, job:\"Highway Up2024\" x.\n";
    let position = |at: Value| json!({"textDocument": {"uri": URI}, "position": at});
    for insert_replace in [false, true] {
        let caps = json!({"textDocument": {
            "hover": {"contentFormat": ["plaintext"]},
            "completion": {"completionItem": {"documentationFormat": ["plaintext"], "insertReplaceSupport": insert_replace}},
        }});
        let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN)]);
        lsp.initialize(json!({}), caps).await;
        lsp.open(URI, "markdown", text).await;
        // The cursor after `job:Rive`, in the middle of `Rivers`.
        let list = lsp.request("textDocument/completion", position(pos_of(text, "job:Rive", 8))).await;
        let item = list["items"].as_array().unwrap().iter().find(|i| i["label"] == "Riverside").expect("Riverside");
        let docs = &item["documentation"];
        assert_eq!(docs["kind"], "plaintext", "{docs}");
        let value = docs["value"].as_str().unwrap();
        assert!(value.starts_with("Riverside\n") && !value.contains("###") && !value.contains('`'), "{value}");
        let edit = &item["textEdit"];
        let replaced = if insert_replace {
            assert_eq!(edit["insert"]["end"], pos_of(text, "job:Rive", 8), "insert ends at the cursor");
            apply_edit(text, &json!({"range": edit["replace"], "newText": edit["newText"]}))
        } else {
            assert!(edit.get("insert").is_none(), "a plain TextEdit: {edit}");
            apply_edit(text, edit)
        };
        assert_eq!(replaced, "Go to job:Riverside here, job:\"Highway Up2024\" x.\n", "{edit}");
        // Inside a quoted name: through the closing quote.
        let list = lsp.request("textDocument/completion", position(pos_of(text, "job:\"Highway Up", 15))).await;
        let item = list["items"].as_array().unwrap().iter().find(|i| i["label"] == "Highway Upgrade 2024").unwrap();
        let edit = &item["textEdit"];
        let range = if insert_replace { &edit["replace"] } else { &edit["range"] };
        let replaced = apply_edit(text, &json!({"range": range, "newText": edit["newText"]}));
        assert_eq!(replaced, "Go to job:Rivers here, job:\"Highway Upgrade 2024\" x.\n");
        // Hover in plain text too.
        let hover = lsp
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": URI}, "position": pos_of(text, "job:Riv", 5)}),
            )
            .await;
        assert_eq!(hover["contents"]["kind"], "plaintext", "{hover}");
        assert!(!hover["contents"]["value"].as_str().unwrap().contains("###"), "{hover}");
        assert!(lsp.shutdown().await.success());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_change_applies_without_restart() {
    let sim = simulator().await;
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN)]);
    lsp.settings = json!({"webUrlTemplate": "https://web.example/jobs/{id}"});
    lsp.initialize(json!({}), json!({"workspace": {"configuration": true}})).await;
    lsp.open(URI, "markdown", "job:Riversde and job:Riverside\n").await;
    let diags = lsp.diagnostics(URI, |d| d.len() == 1).await;
    assert_eq!(diags[0]["severity"], 2);
    // Document links come from the pulled webUrlTemplate.
    let links = lsp.request("textDocument/documentLink", json!({"textDocument": {"uri": URI}})).await;
    assert_eq!(links[0]["target"], "https://web.example/jobs/40002_1");

    // Pushed settings: unknown jobs become errors.
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"synergy": {"diagnostics": {"severity": {"unknownJob": "error"}}}}}),
    )
    .await;
    let diags = lsp.diagnostics(URI, |d| d.len() == 1 && d[0]["severity"] == 1).await;
    assert_eq!(diags[0]["code"], "unknown-job");
    // A null payload makes the server pull: turning the code off clears it.
    lsp.settings = json!({"diagnostics": {"severity": {"unknownJob": "off"}}});
    lsp.notify("workspace/didChangeConfiguration", json!({"settings": null})).await;
    lsp.diagnostics(URI, |d| d.is_empty()).await;
    // `synergy.refresh` drops the cache: the next check asks the server again.
    let before = sim.requests_for("Riverside");
    lsp.request("workspace/executeCommand", json!({"command": "synergy.refresh", "arguments": []})).await;
    let asked_again = async {
        while sim.requests_for("Riverside") == before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, asked_again).await.expect("refresh asks the server again");
}

/// Each code's severity setting does what it says: every code, every level, and `off`.
#[tokio::test(flavor = "multi_thread")]
async fn every_severity_setting_applies_to_its_own_code() {
    let sim = simulator().await;
    let mut lsp = Lsp::start(&sim, TOKEN).await;
    // One reference of each code: unknown, ambiguous, case mismatch.
    lsp.open(URI, "markdown", "job:Riversde job:Drainage job:riverside\n").await;
    let severities = |d: &[Value]| -> Vec<(String, i64)> {
        let mut s: Vec<_> =
            d.iter().map(|d| (d["code"].as_str().unwrap().to_string(), d["severity"].as_i64().unwrap())).collect();
        s.sort();
        s
    };
    let defaults = lsp.diagnostics(URI, |d| d.len() == 3).await;
    let expected = |a, c, u| {
        vec![("ambiguous-job".to_string(), a), ("case-mismatch".to_string(), c), ("unknown-job".to_string(), u)]
    };
    assert_eq!(severities(&defaults), expected(3, 3, 2));
    for (ambiguous, case, unknown, levels) in
        [("error", "hint", "information", (1, 4, 3)), ("hint", "warning", "error", (4, 2, 1))]
    {
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"synergy": {"diagnostics": {"severity":
                {"ambiguousJob": ambiguous, "caseMismatch": case, "unknownJob": unknown}}}}}),
        )
        .await;
        let want = expected(levels.0, levels.1, levels.2);
        let got = lsp.diagnostics(URI, |d| severities(d) == want).await;
        assert_eq!(severities(&got), want);
    }
    // Off: only that code disappears.
    for (key, gone) in [("ambiguousJob", "ambiguous-job"), ("caseMismatch", "case-mismatch")] {
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"synergy": {"diagnostics": {"severity": {key: "off"}}}}}),
        )
        .await;
        let got = lsp.diagnostics(URI, |d| d.len() == 2).await;
        assert!(severities(&got).iter().all(|(c, _)| c != gone), "{key}: {got:?}");
    }
    assert!(lsp.shutdown().await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_opened_before_the_settings_arrive_wait_for_them() {
    // The URL comes only from workspace/configuration, and the document is opened at once, as
    // VS Code does: no "not configured" on the way, and a client that renders synergy/status
    // itself gets no showMessage for it.
    let sim = simulator().await;
    let mut lsp = Lsp::spawn(&[("SYNERGY_TOKEN", TOKEN)]);
    lsp.settings = json!({"serverUrl": sim.url()});
    lsp.initialize(json!({}), json!({"workspace": {"configuration": true}, "experimental": {"synergyStatus": true}}))
        .await;
    lsp.open(URI, "markdown", "job:Riversde and job:Riverside\n").await;
    let diags = lsp.diagnostics(URI, |d| !d.is_empty()).await;
    assert_eq!(codes(&diags), ["unknown-job"]);
    let first = lsp.notification("synergy/status", |_| true).await;
    assert_eq!(first["state"], "idle", "{first}");
    lsp.notification("synergy/status", |p| p["state"] == "connected").await;
    sim.set_fault(Fault::Unauthorized);
    lsp.request("workspace/executeCommand", json!({"command": "synergy.refresh", "arguments": []})).await;
    lsp.notification("synergy/status", |p| p["state"] == "tokenRejected").await;
    let messages = lsp.drain_messages(Duration::from_millis(300)).await;
    assert!(messages.is_empty(), "the client shows the status itself: {messages:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_never_reports_unknown_and_recovers_by_itself() {
    let sim = simulator().await;
    let mut lsp = Lsp::start(&sim, TOKEN).await;
    lsp.open(URI, "markdown", "job:Riverside\n").await;
    lsp.diagnostics(URI, |d| d.is_empty()).await;

    sim.set_fault(Fault::Outage);
    let other = "file:///work/ws/other.md";
    lsp.open(other, "markdown", "job:Riversde job:\"Zürich Tunnel\" job:Nope\n").await;
    // While the server is down: no diagnostics at all for uncached names.
    let diags = lsp.diagnostics(other, |_| true).await;
    assert!(diags.is_empty(), "{diags:?}");
    // Hover from cache still works; an uncached name says why it is not checked.
    let hover = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 5}}))
        .await;
    assert!(hover["contents"]["value"].as_str().unwrap().starts_with("### Riverside"));
    let hover = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": other}, "position": {"line": 0, "character": 5}}))
        .await;
    assert!(hover["contents"]["value"].as_str().unwrap().contains("unreachable"), "{hover}");

    let messages = lsp.drain_messages(Duration::from_secs(3)).await;
    let warnings: Vec<_> = messages.iter().filter(|m| m["type"] == 2).collect();
    assert_eq!(warnings.len(), 1, "told once: {messages:?}");
    assert!(warnings[0]["message"].as_str().unwrap().contains("unreachable"));
    // The status item follows: connected, then offline with the reason and the host.
    let host = sim.url().trim_start_matches("http://").trim_end_matches('/').to_string();
    let status = lsp.notification("synergy/status", |p| p["state"] == "offline").await;
    assert_eq!(status["server"], host.as_str());
    assert!(status["message"].as_str().unwrap().contains("unreachable"), "{status}");
    assert!(status["lastCheck"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 20), "{status}");

    // The server comes back: verdicts return without a restart.
    sim.set_fault(Fault::None);
    let diags = lsp.diagnostics(other, |d| d.len() == 2).await;
    assert_eq!(codes(&diags), ["unknown-job", "unknown-job"]);
    let messages = lsp.drain_messages(Duration::from_millis(200)).await;
    assert!(
        messages.iter().any(|m| m["type"] == 3 && m["message"].as_str().unwrap().contains("connected")),
        "{messages:?}"
    );
    let status = lsp.notification("synergy/status", |p| p["state"] == "connected").await;
    assert_eq!(status["message"], format!("Connected to {host}."));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_is_reported_once_and_never_leaks() {
    let sim = simulator().await;
    let wrong = "tok-WRONG-55aa01";
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", wrong), ("SYNERGY_LOG", "trace")]);
    lsp.initialize(json!({}), json!(null)).await;
    lsp.open(URI, "markdown", "job:Riversde job:Riverside job:Drainage\n").await;
    lsp.open("file:///work/ws/b.md", "markdown", "job:Nope\n").await;
    let diags = lsp.diagnostics(URI, |_| true).await;
    assert!(diags.is_empty(), "no false diagnostics: {diags:?}");
    let messages = lsp.drain_messages(Duration::from_secs(2)).await;
    let errors: Vec<_> = messages.iter().filter(|m| m["type"] == 1).collect();
    assert_eq!(errors.len(), 1, "{messages:?}");
    let text = errors[0]["message"].as_str().unwrap();
    assert!(
        text.contains("rejected") && text.contains("180 days") && text.contains("Personal Access Tokens"),
        "{text}"
    );
    let status = lsp.notification("synergy/status", |p| p["state"] == "tokenRejected").await;
    assert!(status["message"].as_str().unwrap().contains("Personal Access Tokens"), "{status}");
    let status = lsp.shutdown_checked(wrong).await;
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn many_references_to_few_names_cost_one_search_each() {
    let sim = simulator().await;
    let mut lsp = Lsp::start(&sim, TOKEN).await;
    let names = ["Riverside", "\"Highway Upgrade 2024\"", "Bridge", "\"Zürich Tunnel\"", "\"Region A/Drainage\""];
    let text: String = (0..400).map(|i| format!("Line {i}: job:{}\n", names[i % names.len()])).collect();
    lsp.open(URI, "markdown", &text).await;
    lsp.open("file:///work/ws/copy.md", "markdown", &text).await;
    lsp.diagnostics(URI, |d| d.is_empty()).await;
    lsp.diagnostics("file:///work/ws/copy.md", |d| d.is_empty()).await;
    assert_eq!(sim.requests_for("Riverside"), 1);
    assert_eq!(sim.requests_for("Highway Upgrade 2024"), 1);
    assert_eq!(sim.requests_for("Zürich Tunnel"), 1);
    assert_eq!(sim.requests_for("Drainage"), 1, "a path is searched by its last segment");
    assert_eq!(sim.requests_for("Bridge"), 2, "its exact match is on page 2");
    assert_eq!(sim.requests(), 6);
    // Hovering every reference costs nothing more.
    for line in [0, 1, 2, 3, 4] {
        lsp.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": 12}}),
        )
        .await;
    }
    assert_eq!(sim.requests(), 6);
}

impl Lsp {
    /// Shuts down and asserts the token appeared nowhere the server wrote.
    async fn shutdown_checked(self, token: &str) -> std::process::ExitStatus {
        let transcript = self.transcript.clone();
        let stderr = self.stderr.clone();
        let status = self.shutdown().await;
        let out = transcript.lock().unwrap().join("\n");
        let err = stderr.lock().unwrap().clone();
        assert!(!err.is_empty(), "trace logging produced output");
        assert!(!out.contains(token), "token in LSP output");
        assert!(!err.contains(token), "token in logs:\n{err}");
        status
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_in_no_output_even_at_trace_level_for_every_crate() {
    // RUST_LOG=trace turns on hyper, reqwest, rustls and tower-lsp-server tracing too.
    let sim = simulator().await;
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN), ("RUST_LOG", "trace")]);
    lsp.initialize(json!({}), json!(null)).await;
    lsp.open(URI, "markdown", DOC).await;
    lsp.diagnostics(URI, |d| d.len() == 3).await;
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": pos_of(DOC, "job:Riverside", 6)}),
        )
        .await;
    assert!(hover["contents"]["value"].as_str().unwrap().contains("Riverside"));
    sim.set_fault(Fault::Unauthorized);
    lsp.request("workspace/executeCommand", json!({"command": "synergy.refresh", "arguments": []})).await;
    lsp.notification("synergy/status", |p| p["state"] == "tokenRejected").await;
    assert!(lsp.stderr().contains("TRACE"), "trace logging is on");
    assert!(lsp.shutdown_checked(TOKEN).await.success());
}

/// Every channel a token can arrive through, at trace level for every crate: the token (and a
/// changed one) is in no log line and no message, whether it was used or ignored.
#[tokio::test(flavor = "multi_thread")]
async fn no_token_in_any_log_whatever_channel_it_came_through() {
    let sim = simulator().await;
    let url = sim.url();
    let doc = "job:Riverside job:Nope\n";
    // Commands that print a token without naming it (as `pass show synergy` does).
    let dir = tempfile::tempdir().unwrap();
    let token_file = |name: &str, token: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, token).unwrap();
        common::print_file_command(&path)
    };
    // (channel, environment, initializationOptions, workspace/configuration answer, the token)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, Value, Value, &'a str);
    let cases: [Case; 5] = [
        ("environment", vec![("SYNERGY_TOKEN", TOKEN.into())], json!({}), json!({}), TOKEN),
        ("tokenCommand", vec![("SYNERGY_TOKEN_COMMAND", token_file("env", TOKEN))], json!({}), json!({}), TOKEN),
        ("initializationOptions", vec![], json!({"token": TOKEN}), json!({}), TOKEN),
        (
            "workspace/configuration (ignored)",
            vec![("SYNERGY_TOKEN", TOKEN.into())],
            json!({}),
            json!({"token": "tok-WSCONF-31f0aa"}),
            "tok-WSCONF-31f0aa",
        ),
        (
            "didChangeConfiguration (ignored)",
            vec![("SYNERGY_TOKEN", TOKEN.into())],
            json!({}),
            json!({}),
            "tok-DIDCHANGE-77c2",
        ),
    ];
    for (channel, env, init, settings, token) in cases {
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend([("SYNERGY_URL", url.as_str()), ("RUST_LOG", "trace")]);
        let mut lsp = Lsp::spawn(&env);
        lsp.settings = settings;
        lsp.initialize(init, json!({"workspace": {"configuration": true}})).await;
        if channel.starts_with("didChange") {
            lsp.notify("workspace/didChangeConfiguration", json!({"settings": {"synergy": {"token": token}}})).await;
        }
        lsp.open(URI, "markdown", doc).await;
        lsp.diagnostics(URI, |d| d.len() == 1).await;
        let err = lsp.stderr();
        assert!(err.contains("TRACE"), "{channel}: trace logging is on");
        assert!(lsp.shutdown_checked(token).await.success(), "{channel}");
    }
    // A changed token: the one given at start and the one a settings change brings are both
    // scrubbed (tokenCommand, changed through the editor's settings).
    let (first, second) = ("tok-FIRST-0a1b2c", "tok-SECOND-3d4e5f");
    let mut lsp = Lsp::spawn(&[
        ("SYNERGY_URL", url.as_str()),
        ("SYNERGY_TOKEN_COMMAND", &token_file("first", first)),
        ("RUST_LOG", "trace"),
    ]);
    lsp.initialize(json!({}), json!(null)).await;
    lsp.open(URI, "markdown", doc).await;
    lsp.diagnostics(URI, |d| d.is_empty()).await;
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"synergy": {"tokenCommand": token_file("second", second)}}}),
    )
    .await;
    lsp.open("file:///work/ws/second.md", "markdown", doc).await;
    lsp.diagnostics("file:///work/ws/second.md", |_| true).await;
    lsp.request("workspace/executeCommand", json!({"command": "synergy.refresh", "arguments": []})).await;
    lsp.drain_messages(Duration::from_millis(500)).await;
    let err = lsp.stderr();
    assert!(err.contains("TRACE") && err.contains(&sim.url()), "trace logging is on");
    let out = lsp.transcript();
    lsp.shutdown().await;
    for token in [first, second] {
        assert!(!err.contains(token) && !out.contains(token), "{token} leaked:\n{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_sources_workspace_file_and_utf8_positions() {
    let sim = simulator().await;
    // The workspace file gives the URL; the token in it is refused with a warning.
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join(".synergy.toml"),
        format!("serverUrl = \"{}\"\ntoken = \"tok-COMMITTED-3c9d\"\n", sim.url()),
    )
    .unwrap();
    let root_uri = common::file_uri(root.path());
    // No token in the environment: it comes from tokenCommand in initializationOptions.
    let mut lsp = Lsp::spawn(&[]);
    let result = lsp
        .request(
            "initialize",
            json!({"processId": null, "rootUri": root_uri,
                "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-32"]}},
                "initializationOptions": {"tokenCommand": format!("echo {TOKEN}")}}),
        )
        .await;
    lsp.notify("initialized", json!({})).await;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(result["serverInfo"]["name"], "synergy-ls");
    let text = "é😀 job:Riversde\n";
    lsp.open(URI, "plaintext", text).await;
    let diags = lsp.diagnostics(URI, |d| d.len() == 1).await;
    // UTF-8: the column counts bytes (é = 2, 😀 = 4, space = 1).
    assert_eq!(diags[0]["range"]["start"], json!({"line": 0, "character": 7}));
    let messages = lsp.drain_messages(Duration::from_millis(300)).await;
    let warning = messages.iter().find(|m| m["type"] == 2).expect("a warning about the token in the file");
    assert!(warning["message"].as_str().unwrap().contains(".synergy.toml"), "{messages:?}");
    assert!(!lsp.transcript().contains("tok-COMMITTED-3c9d"));
    assert!(!lsp.transcript().contains(TOKEN));

    // initializationOptions.token works for clients that cannot set the environment.
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url())]);
    lsp.initialize(json!({"token": TOKEN}), json!(null)).await;
    lsp.open(URI, "markdown", "job:Riversde\n").await;
    lsp.diagnostics(URI, |d| d.len() == 1).await;
    assert!(!lsp.stderr().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn not_configured_is_said_once_and_nothing_is_flagged() {
    let mut lsp = Lsp::spawn(&[]);
    lsp.initialize(json!({}), json!(null)).await;
    lsp.open(URI, "markdown", "job:Riversde\n").await;
    lsp.open("file:///work/ws/2.md", "markdown", "job:Other\n").await;
    let diags = lsp.diagnostics(URI, |_| true).await;
    assert!(diags.is_empty());
    let hover = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 4}}))
        .await;
    assert!(hover["contents"]["value"].as_str().unwrap().contains("SYNERGY_URL"), "{hover}");
    let messages = lsp.drain_messages(Duration::from_millis(500)).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0]["message"].as_str().unwrap().contains("No 12d Synergy server is configured"));
    let status = lsp.notification("synergy/status", |_| true).await;
    assert_eq!(status["state"], "notConfigured", "{status}");
    assert_eq!(status["server"], Value::Null);
    assert!(status["message"].as_str().unwrap().contains("SYNERGY_URL"), "{status}");
    // Requests for unknown methods and garbage do not take the server down.
    let response = lsp.request_raw("textDocument/frobnicate", json!({})).await;
    assert_eq!(response["error"]["code"], -32601);
    lsp.send_raw(b"Content-Length: 7\r\n\r\n{oops}\n").await;
    let parse_error = lsp.next_matching(|m| m["error"]["code"] == -32700).await;
    assert_eq!(parse_error["id"], Value::Null);
    lsp.send_raw(b"Content-Length: 5\r\n\r\n[1,2]").await;
    let invalid =
        lsp.next_matching(|m| m["error"]["message"].as_str().is_some_and(|s| s.contains("not a JSON-RPC"))).await;
    assert_eq!(invalid["error"]["code"], -32600, "JSON, but no request: Invalid Request, not Parse error");
    let bad_id = br#"{"jsonrpc":"2.0","id":1.5,"method":"textDocument/hover","params":{}}"#;
    lsp.send_raw(format!("Content-Length: {}\r\n\r\n", bad_id.len()).as_bytes()).await;
    lsp.send_raw(bad_id).await;
    let invalid = lsp.next_matching(|m| m["error"]["code"] == -32600 && m["id"].is_null()).await;
    assert!(invalid["error"]["message"].as_str().unwrap().contains("integer"), "{invalid}");
    let hover = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": URI}, "position": {"line": 99, "character": 99}}))
        .await;
    assert!(hover.is_null());
    assert!(lsp.shutdown().await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_renamed_on_the_server_is_flagged_in_an_open_document() {
    let sim = simulator().await;
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN)]);
    lsp.initialize(json!({"cache": {"ttlSeconds": 1, "negativeTtlSeconds": 1}}), json!(null)).await;
    lsp.open(URI, "markdown", "Levee design: job:Riverside\n").await;
    lsp.open("file:///work/ws/pit.md", "markdown", "Survey: job:Pit-Survey_07\n").await;
    lsp.diagnostics(URI, |d| d.is_empty()).await;
    lsp.diagnostics("file:///work/ws/pit.md", |d| d.is_empty()).await;
    // Someone renames one job and deletes another in 12d Synergy; nobody touches the documents.
    assert!(sim.rename_job("Riverside", "Riverside Levee"));
    assert!(sim.remove_job("Pit-Survey_07"));
    let gone = lsp.diagnostics("file:///work/ws/pit.md", |d| d.len() == 1).await;
    assert_eq!(gone[0]["message"], "Unknown 12d Synergy job \"Pit-Survey_07\"");
    let diags = lsp.diagnostics(URI, |d| d.len() == 1).await;
    assert_eq!(diags[0]["code"], "unknown-job");
    assert_eq!(
        diags[0]["message"],
        "12d Synergy job \"Riverside\" was renamed or moved; it is now \"Riverside Levee\""
    );
    let hover = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 20}}))
        .await;
    assert!(
        hover["contents"]["value"].as_str().unwrap().contains("renamed or moved: it is now `Riverside Levee`"),
        "{hover}"
    );
    // The preferred quick fix writes the new name.
    let actions = lsp
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": diags[0]["range"], "context": {"diagnostics": diags}}),
        )
        .await;
    assert_eq!(actions[0]["isPreferred"], true);
    let edit = &actions[0]["edit"]["changes"][URI][0];
    assert_eq!(apply_edit("Levee design: job:Riverside\n", edit), "Levee design: job:\"Riverside Levee\"\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_answers_and_the_server_keeps_working() {
    let sim = simulator().await;
    let mut lsp = Lsp::start(&sim, TOKEN).await;
    let ghost = "file:///ws/never-opened.md";
    // Notifications and requests for a document never opened.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": ghost, "version": 3}, "contentChanges": [{"text": "job:X"}]}),
    )
    .await;
    lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": ghost}})).await;
    let hover = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": ghost}, "position": {"line": 0, "character": 0}}))
        .await;
    assert!(hover.is_null());
    // A 5 MB single line with a reference at its end, and 100,000 references in one file.
    let line = format!("{} job:Riversde\n", "a".repeat(5_000_000));
    lsp.open(URI, "markdown", &line).await;
    let diags = lsp.diagnostics(URI, |d| d.len() == 1).await;
    assert_eq!(diags[0]["range"]["start"], json!({"line": 0, "character": 5_000_001}));
    let many: String = (0..100_000).map(|i| if i % 1000 == 0 { "job:Riversde\n" } else { "job:Riverside\n" }).collect();
    let big = "file:///ws/many.md";
    lsp.open(big, "markdown", &many).await;
    assert_eq!(lsp.diagnostics(big, |d| d.len() == 100).await.len(), 100);
    // Edits with positions past the end, a reversed range, and a stale version: clamped or
    // ignored, never a crash; the text stays consistent with what a client would compute.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 99, "character": 0}, "end": {"line": 120, "character": 7}}, "text": "job:Nope\n"},
            {"range": {"start": {"line": 0, "character": 9_999_999}, "end": {"line": 0, "character": 3}}, "text": ""}
        ]}),
    )
    .await;
    let diags = lsp.diagnostics(URI, |d| d.len() == 2).await;
    assert_eq!(diags.iter().filter(|d| d["message"].as_str().unwrap().contains("\"Nope\"")).count(), 1);
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": {"line": 4_000_000_000u64, "character": 4_000_000_000u64}}),
        )
        .await;
    // Clamped to the end of the document, after its last line break: nothing to hover there.
    assert_eq!(hover, Value::Null, "a position past the end is clamped, not an error");
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": big}, "position": {"line": 4_000_000_000u64, "character": 0}}),
        )
        .await;
    assert_eq!(hover, Value::Null, "clamped to the end of the large document");
    // A stale document version (a client bug) is applied, not fatal.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": big, "version": 1}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "job:Stale\n"}
        ]}),
    )
    .await;
    assert_eq!(lsp.diagnostics(big, |d| d.len() == 101).await.len(), 101);
    // Requests with wrong parameter shapes get an error, not a crash.
    let bad = lsp.request_raw("textDocument/hover", json!({"textDocument": 42})).await;
    assert!(bad["error"]["code"].as_i64().is_some(), "{bad}");
    // And the server still works.
    let ok = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": big}, "position": {"line": 2, "character": 5}}))
        .await;
    assert!(ok["contents"]["value"].as_str().unwrap().starts_with("### Riverside"));
    assert!(lsp.shutdown().await.success());
}

/// Notifications run under the panic guard too: a panic in any of them is logged (scrubbed)
/// and the server goes on serving.
#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_any_notification_handler_leaves_the_server_running() {
    let sim = simulator().await;
    for method in ["initialized", "textDocument/didOpen", "textDocument/didClose", "workspace/didChangeConfiguration"] {
        let mut lsp =
            Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN), ("SYNERGY_TEST_PANIC", method)]);
        lsp.initialize(json!({}), json!(null)).await;
        lsp.open("file:///work/ws/first.md", "markdown", "job:Riversde\n").await;
        lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": "file:///work/ws/first.md"}})).await;
        lsp.notify("workspace/didChangeConfiguration", json!({"settings": {"synergy": {}}})).await;
        // Still serving: a document opened after the panic gets its diagnostics (or, when
        // didOpen itself panics, the server still answers requests).
        if method == "textDocument/didOpen" {
            let hover = lsp
                .request(
                    "textDocument/hover",
                    json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}),
                )
                .await;
            assert!(hover.is_null(), "{method}: {hover}");
        } else {
            lsp.open(URI, "markdown", "job:Riversde\n").await;
            assert_eq!(lsp.diagnostics(URI, |d| d.len() == 1).await.len(), 1, "{method}");
        }
        let stderr = lsp.stderr();
        assert!(stderr.contains(&format!("test panic in {method} holding <redacted>")), "{method}: {stderr}");
        assert!(lsp.shutdown_checked(TOKEN).await.success(), "{method}");
    }
    // A panic in `initialize` is answered with an error, and the server is still there.
    let mut lsp =
        Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN), ("SYNERGY_TEST_PANIC", "initialize")]);
    let response = lsp.request_raw("initialize", json!({"processId": null, "rootUri": null, "capabilities": {}})).await;
    assert_eq!(response["error"]["code"], -32603, "{response}");
    let again = lsp.request_raw("textDocument/hover", json!({})).await;
    assert!(again["error"].is_object(), "still answering: {again}");
    lsp.close_stdin();
    assert!(lsp.exited_within(Duration::from_secs(2)).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_a_handler_is_answered_and_never_shows_the_token() {
    let sim = simulator().await;
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN), ("SYNERGY_TEST_PANIC", "1")]);
    lsp.initialize(json!({}), json!(null)).await;
    let response = lsp.request_raw("workspace/executeCommand", json!({"command": "synergy.test.panic"})).await;
    assert_eq!(response["error"]["code"], -32603, "{response}");
    assert!(response["error"]["message"].as_str().unwrap().contains("internal error"), "{response}");
    // Still serving.
    lsp.open(URI, "markdown", "job:Riversde\n").await;
    assert_eq!(lsp.diagnostics(URI, |d| d.len() == 1).await.len(), 1);
    let stderr = lsp.stderr();
    assert!(stderr.contains("test panic holding <redacted>"), "the panic is logged, scrubbed: {stderr}");
    assert!(lsp.shutdown_checked(TOKEN).await.success());
}
