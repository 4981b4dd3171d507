//! The workspace in the editor, through the in-process harness (`Lsp::in_process`: the real
//! protocol stack over a duplex pipe, no process): every folder indexed, diagnostics pushed for
//! files never opened, one source per file when documents open and close, watched files in
//! batches, folders added and removed, progress, references, highlights, symbols, the
//! `workspace.*` settings, and the honesty rule (nothing flagged while the server cannot be
//! asked).

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics.iter().map(|d| d["code"].as_str().unwrap_or("").to_string()).collect()
}

/// Two folders; stale references in files never opened are listed, with progress; opening a
/// file hands its diagnostics to the document, closing hands them back (from the disk).
#[tokio::test]
async fn unopened_files_are_checked_and_each_file_has_one_source() {
    let sim = simulator().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_text(a.path(), "docs/plan.md", "# Plan\n\nSee job:Riversde today.\n");
    write_text(a.path(), "ok.md", "job:Riverside is fine.\n");
    write_text(a.path(), ".hidden/x.md", "job:HiddenStale\n");
    write_text(a.path(), "src/x.go", "// job:GoStale\n");
    write_text(a.path(), "ignored/y.md", "job:IgnoredStale\n");
    write_text(a.path(), ".gitignore", "ignored/\n");
    write_text(b.path(), "notes.txt", "job:Gone99 and job:riverside\n");
    let mut lsp = Lsp::in_process();
    lsp.initialize_folders(
        &[a.path(), b.path()],
        sim_settings(&sim, json!({})),
        json!({"window": {"workDoneProgress": true}}),
    )
    .await;

    let plan = file_uri(&a.path().join("docs/plan.md"));
    let notes = file_uri(&b.path().join("notes.txt"));
    let d = lsp.diagnostics(&plan, |d| !d.is_empty()).await;
    assert_eq!(codes(&d), ["unknown-job"]);
    assert_eq!(d[0]["range"], json!({"start": {"line": 2, "character": 4}, "end": {"line": 2, "character": 16}}));
    let d = lsp.diagnostics(&notes, |d| d.len() == 2).await;
    assert_eq!(codes(&d), ["unknown-job", "case-mismatch"]);

    // Progress: created, begun, ended with what was indexed.
    let end = lsp.notification("$/progress", |p| p["value"]["kind"] == "end").await;
    assert!(end["value"]["message"].as_str().unwrap().contains("files"), "{end}");
    assert!(lsp.transcript().contains("\"kind\":\"begin\""));
    let status = lsp.notification("synergy/status", |p| p["indexed"].is_object()).await;
    assert_eq!(status["indexed"]["references"], 4, "{status}");

    // Open: the document's own (versioned) diagnostics replace the index's.
    lsp.open(&plan, "markdown", "# Plan\n\nSee job:Riverside today.\n").await;
    let p = lsp.notification("textDocument/publishDiagnostics", |p| p["uri"] == plan.as_str()).await;
    assert_eq!((p["version"].clone(), p["diagnostics"].clone()), (json!(1), json!([])));
    // Close without saving: the file on disk is stale again, said in one publish (not an
    // empty list first, which would flicker).
    lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": plan}})).await;
    let p = lsp.notification("textDocument/publishDiagnostics", |p| p["uri"] == plan.as_str()).await;
    assert_eq!(codes(p["diagnostics"].as_array().unwrap()), ["unknown-job"], "{p}");
    // Opening and closing an ignored file does not bring it into the workspace.
    let ignored = file_uri(&a.path().join("ignored/y.md"));
    lsp.open(&ignored, "markdown", "job:IgnoredStale\n").await;
    lsp.diagnostics(&ignored, |d| d.len() == 1).await;
    lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": ignored}})).await;
    let p = lsp.notification("textDocument/publishDiagnostics", |p| p["uri"] == ignored.as_str()).await;
    assert_eq!(p["diagnostics"], json!([]), "an ignored file is cleared on close, not indexed");

    // Hidden, git-ignored and source files (not included) are not checked, and their
    // names never reached the server.
    let t = lsp.transcript();
    for name in ["HiddenStale", "GoStale"] {
        assert!(!t.contains(name), "{name} was checked");
        assert_eq!(sim.requests_for(name), 0);
    }
    let symbols = lsp.request("workspace/symbol", json!({"query": "ignoredstale"})).await;
    assert_eq!(symbols, json!([]), "the ignored file's reference is not in the workspace");
    assert_eq!(lsp.shutdown_in_process().await, 0);
}

/// Files created, changed and deleted on disk arrive as one batch of watcher events: the
/// watchers are registered, each file is re-read once, each name searched once.
#[tokio::test]
async fn watched_files_are_followed_in_batches() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_text(root, "a.md", "job:StaleA\n");
    let mut lsp = Lsp::in_process();
    let caps = json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}});
    lsp.initialize_folders(&[root], sim_settings(&sim, json!({})), caps).await;
    let a = file_uri(&root.join("a.md"));
    lsp.diagnostics(&a, |d| d.len() == 1).await;
    assert!(lsp.transcript().contains("\"method\":\"client/registerCapability\""));
    assert!(lsp.transcript().contains("workspace/didChangeWatchedFiles"));

    // A checkout: 200 new files with the same stale name, a.md fixed, one file deleted.
    let mut events = Vec::new();
    for i in 0..200 {
        write_text(root, &format!("new/{i}.md"), "job:PulledStale and job:Riverside\n");
        events.push(json!({"uri": file_uri(&root.join(format!("new/{i}.md"))), "type": 1}));
    }
    write_text(root, "a.md", "job:Riverside\n");
    events.push(json!({"uri": a, "type": 2}));
    // Events for files the walk would not take change nothing.
    write_text(root, ".hidden/h.md", "job:HiddenStale\n");
    events.push(json!({"uri": file_uri(&root.join(".hidden/h.md")), "type": 1}));
    lsp.notify("workspace/didChangeWatchedFiles", json!({"changes": events})).await;
    lsp.diagnostics(&a, |d| d.is_empty()).await;
    for i in [0, 99, 199] {
        let uri = file_uri(&root.join(format!("new/{i}.md")));
        assert_eq!(codes(&lsp.diagnostics(&uri, |d| !d.is_empty()).await), ["unknown-job"]);
    }
    assert_eq!(sim.requests_for("PulledStale"), 1, "one search for 200 files");
    assert_eq!(sim.requests_for("HiddenStale"), 0);

    // Deleted: its diagnostics are cleared.
    let gone = root.join("new/7.md");
    std::fs::remove_file(&gone).unwrap();
    let gone = file_uri(&gone);
    lsp.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": gone, "type": 3}]})).await;
    lsp.diagnostics(&gone, |d| d.is_empty()).await;

    // A folder deleted or created is one event (VS Code merges its files' events).
    std::fs::remove_dir_all(root.join("new")).unwrap();
    lsp.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&root.join("new")), "type": 3}]}),
    )
    .await;
    lsp.diagnostics(&file_uri(&root.join("new/123.md")), |d| d.is_empty()).await;
    write_text(root, "moved/in/b.md", "job:MovedInStale\n");
    write_text(root, "moved/.hidden.md", "job:HiddenStale\n");
    lsp.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&root.join("moved")), "type": 1}]}),
    )
    .await;
    lsp.diagnostics(&file_uri(&root.join("moved/in/b.md")), |d| d.len() == 1).await;
    // A git-ignored file created is not taken.
    write_text(root, ".gitignore", "build/\n");
    write_text(root, "build/out.md", "job:BuildStale\n");
    lsp.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&root.join("build/out.md")), "type": 1}]}),
    )
    .await;
    let status = lsp.notification("synergy/status", |p| p["indexed"]["files"] == 2).await;
    assert_eq!(status["indexed"]["references"], 2, "a.md and moved/in/b.md: {status}");
    assert_eq!(sim.requests_for("BuildStale") + sim.requests_for("HiddenStale"), 0);

    // .synergy.toml changed on disk to exclude a folder: re-indexed, its findings cleared.
    write_text(root, ".synergy.toml", "[workspace]\nexclude = [\"moved/\"]\n");
    lsp.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(&root.join(".synergy.toml")), "type": 2}]}),
    )
    .await;
    lsp.diagnostics(&file_uri(&root.join("moved/in/b.md")), |d| d.is_empty()).await;
    lsp.shutdown_in_process().await;
}

/// References, highlights and workspace symbols see open and unopened files, and one job
/// written as a name and as a path is one job.
#[tokio::test]
async fn references_highlights_and_symbols_span_the_workspace() {
    let sim = simulator().await;
    let stage = synergy_ls::simulator::data::bundled_jobs()
        .into_iter()
        .find(|j| j.name.as_deref() == Some("Stage 1"))
        .and_then(|j| j.path)
        .expect("Stage 1 in the dataset");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let open_text = format!("job:\"Stage 1\" then job:\"{stage}\" and job:Riverside\n");
    write_text(root, "open.md", &open_text);
    write_text(root, "other.md", "Intro.\n\nAlso job:\"Stage 1\" here, and job:Nowhere99.\n");
    let mut lsp = Lsp::in_process();
    lsp.initialize_folders(&[root], sim_settings(&sim, json!({})), json!({})).await;
    let (open, other) = (file_uri(&root.join("open.md")), file_uri(&root.join("other.md")));
    lsp.diagnostics(&other, |d| d.len() == 1).await;
    lsp.open(&open, "markdown", &open_text).await;
    lsp.diagnostics(&open, |_| true).await;

    let at = json!({"textDocument": {"uri": open}, "position": pos_of(&open_text, "Stage 1", 2), "context": {"includeDeclaration": true}});
    let refs = lsp.request("textDocument/references", at.clone()).await;
    let mut got: Vec<(String, u64, u64)> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let uri = l["uri"].as_str().unwrap();
            let name = if uri == open { "open" } else { "other" };
            (
                name.to_string(),
                l["range"]["start"]["line"].as_u64().unwrap(),
                l["range"]["start"]["character"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let path_col = open_text.find(&format!("job:\"{stage}\"")).unwrap() as u64;
    assert_eq!(got, [("open".into(), 0, 0), ("open".into(), 0, path_col), ("other".into(), 2, 5)]);

    let highlights = lsp.request("textDocument/documentHighlight", at).await;
    assert_eq!(highlights.as_array().unwrap().len(), 2, "{highlights}");
    // On text that is no reference: nothing.
    let none = lsp
        .request("textDocument/references", json!({"textDocument": {"uri": open}, "position": pos_of(&open_text, "then", 1), "context": {"includeDeclaration": true}}))
        .await;
    assert_eq!(none, Value::Null);

    let symbols = lsp.request("workspace/symbol", json!({"query": "stg1"})).await;
    let symbols = symbols.as_array().unwrap();
    assert_eq!(symbols.len(), 1, "{symbols:?}");
    assert_eq!(symbols[0]["name"], "Stage 1");
    assert_eq!(symbols[0]["containerName"], stage.as_str());
    assert_eq!(symbols[0]["location"]["uri"], open.as_str());
    let all = lsp.request("workspace/symbol", json!({"query": ""})).await;
    let names: Vec<&str> = all.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3, "Stage 1, Riverside, Nowhere99: {names:?}");
    assert!(names.contains(&"Nowhere99"));
    lsp.shutdown_in_process().await;
}

/// While the server cannot be asked, no unopened file is flagged; `workspace.enabled` off
/// checks none; `workspace.maxFiles` is said once; folders come and go.
#[tokio::test]
async fn settings_folders_and_honesty() {
    let sim = simulator().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for i in 0..5 {
        write_text(a.path(), &format!("{i}.md"), "job:StaleEverywhere\n");
    }
    write_text(b.path(), "b.md", "job:StaleInB\n");

    // Unreachable: told, nothing flagged.
    let mut lsp = Lsp::in_process();
    lsp.initialize_folders(&[a.path()], json!({"serverUrl": "http://127.0.0.1:9", "token": TOKEN}), json!({})).await;
    lsp.notification("synergy/status", |p| p["state"] == "offline").await;
    lsp.drain_messages(Duration::from_millis(300)).await;
    assert!(!lsp.transcript().contains("unknown-job"), "flagged while offline");
    lsp.shutdown_in_process().await;

    // Disabled: nothing indexed.
    let mut lsp = Lsp::in_process();
    lsp.initialize_folders(&[a.path()], sim_settings(&sim, json!({"workspace": {"enabled": false}})), json!({})).await;
    lsp.drain_messages(Duration::from_millis(500)).await;
    assert!(!lsp.transcript().contains("publishDiagnostics"));
    assert_eq!(sim.requests_for("StaleEverywhere"), 0);
    lsp.shutdown_in_process().await;

    // A limit: said once, the first files indexed.
    let mut lsp = Lsp::in_process();
    lsp.initialize_folders(&[a.path()], sim_settings(&sim, json!({"workspace": {"maxFiles": 2}})), json!({})).await;
    let warning =
        lsp.notification("window/showMessage", |p| p["message"].as_str().unwrap_or("").contains("maxFiles")).await;
    let name = a.path().file_name().unwrap().to_string_lossy().to_string();
    let said = warning["message"].as_str().unwrap();
    assert!(
        said.contains(&format!("folder {name} has more than 2 files")) && said.contains("first 2 of them"),
        "{warning}"
    );
    let status = lsp.notification("synergy/status", |p| p["indexed"].is_object()).await;
    assert_eq!(status["indexed"]["files"], 2);
    lsp.shutdown_in_process().await;
    // All folders together, up to the first folder's limit: b.md (one file), then 2 of a's 5.
    let mut lsp = Lsp::in_process();
    let settings = sim_settings(&sim, json!({"workspace": {"maxFiles": 3}}));
    lsp.initialize_folders(&[b.path(), a.path()], settings, json!({})).await;
    let warning =
        lsp.notification("window/showMessage", |p| p["message"].as_str().unwrap_or("").contains("maxFiles")).await;
    let said = warning["message"].as_str().unwrap();
    assert!(
        said.contains("more than 3 files to check together") && said.contains(&format!("{name} in part")),
        "{said}"
    );
    let status = lsp.notification("synergy/status", |p| p["indexed"].is_object()).await;
    assert_eq!(status["indexed"]["files"], 3);
    lsp.shutdown_in_process().await;

    // Folders added and removed.
    let mut lsp = Lsp::in_process();
    lsp.initialize_folders(&[a.path()], sim_settings(&sim, json!({})), json!({})).await;
    let first = file_uri(&a.path().join("0.md"));
    lsp.diagnostics(&first, |d| d.len() == 1).await;
    let folder = |p: &Path| json!({"uri": file_uri(p), "name": "x"});
    lsp.notify(
        "workspace/didChangeWorkspaceFolders",
        json!({"event": {"added": [folder(b.path())], "removed": [folder(a.path())]}}),
    )
    .await;
    lsp.diagnostics(&first, |d| d.is_empty()).await;
    lsp.diagnostics(&file_uri(&b.path().join("b.md")), |d| d.len() == 1).await;
    lsp.shutdown_in_process().await;
}

/// Each workspace folder has its own settings: its `.synergy.toml` and the editor's settings
/// for that folder (`workspace/configuration` with the folder's `scopeUri`). Two folders name
/// two servers: each file is checked, hovered, completed and referenced against its own
/// folder's server, with its own folder's severities; `tokenCommand` is run once per server
/// with that server's URL as `SYNERGY_URL`; the status names both servers; a folder's
/// `.synergy.toml` changed on disk applies to that folder alone.
#[tokio::test]
async fn each_folder_has_its_own_settings_and_server() {
    let (sim_a, sim_b) = (simulator().await, simulator().await);
    // On B's server, Riverside was renamed.
    assert!(sim_b.rename_job("Riverside", "Riverside Levee"));
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_text(a.path(), ".synergy.toml", &format!("serverUrl = \"{}\"\n", sim_a.url()));
    let b_config = |url: &str| format!("serverUrl = \"{url}\"\n[diagnostics.severity]\nunknownJob = \"error\"\n");
    write_text(b.path(), ".synergy.toml", &b_config(&sim_b.url()));
    write_text(a.path(), "a.md", "job:Riverside and job:GoneA\n");
    write_text(b.path(), "b.md", "job:Riverside and job:GoneB\n");
    let log = a.path().join("token-runs.log");
    let command = if cfg!(windows) {
        format!("echo %SYNERGY_URL%>> \"{}\" & echo {TOKEN}", log.display())
    } else {
        format!("echo \"$SYNERGY_URL\" >> '{}'; echo {TOKEN}", log.display())
    };

    let mut lsp = Lsp::in_process();
    // A's folder settings (from the editor) make unknown jobs hints there.
    lsp.scoped_settings = vec![(file_uri(a.path()), json!({"diagnostics": {"severity": {"unknownJob": "hint"}}}))];
    let caps = json!({"workspace": {"configuration": true, "didChangeWatchedFiles": {"dynamicRegistration": true}}});
    let init = json!({"tokenCommand": command, "diagnostics": {"debounceMs": 0}});
    lsp.initialize_folders(&[a.path(), b.path()], init, caps).await;
    let (a_doc, b_doc) = (file_uri(&a.path().join("a.md")), file_uri(&b.path().join("b.md")));
    let d = lsp.diagnostics(&a_doc, |d| !d.is_empty()).await;
    let shape = |d: &[Value]| -> Vec<(String, u64)> {
        d.iter().map(|d| (d["message"].as_str().unwrap().to_string(), d["severity"].as_u64().unwrap())).collect()
    };
    assert_eq!(codes(&d), ["unknown-job"], "{d:?}");
    assert!(d[0]["message"].as_str().unwrap().contains("GoneA") && d[0]["severity"] == 4, "{d:?}");
    let d = lsp.diagnostics(&b_doc, |d| d.len() == 2).await;
    let b_shape = shape(&d);
    assert!(b_shape[0].0.contains("Riverside Levee") && b_shape[0].1 == 1, "renamed on B's server: {b_shape:?}");
    assert!(b_shape[1].0.contains("GoneB") && b_shape[1].1 == 1, "{b_shape:?}");
    // Each name went to its own folder's server only.
    assert_eq!((sim_a.requests_for("GoneA"), sim_b.requests_for("GoneA")), (1, 0));
    assert_eq!((sim_a.requests_for("GoneB"), sim_b.requests_for("GoneB")), (0, 1));
    // tokenCommand ran once per server, told which.
    let mut runs: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(|l| l.trim().to_string()).collect();
    runs.sort();
    let mut urls = vec![sim_a.url(), sim_b.url()];
    urls.sort();
    assert_eq!(runs, urls);
    // The status item names both servers.
    let status = lsp.notification("synergy/status", |p| p["state"] == "connected").await;
    let server = status["server"].as_str().unwrap();
    for sim in [&sim_a, &sim_b] {
        assert!(server.contains(sim.url().trim_start_matches("http://")), "{status}");
    }

    // Open documents: hover and references each on their own folder's server.
    lsp.open(&a_doc, "markdown", "job:Riverside and job:GoneA\n").await;
    lsp.open(&b_doc, "markdown", "job:Riverside and job:GoneB\n").await;
    let hover = |uri: &str| json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 6}});
    let on_a = lsp.request("textDocument/hover", hover(&a_doc)).await;
    let on_b = lsp.request("textDocument/hover", hover(&b_doc)).await;
    let text = |h: &Value| h["contents"]["value"].as_str().unwrap_or_default().to_string();
    assert!(text(&on_a).contains("Flood mitigation"), "{on_a}");
    assert!(text(&on_b).contains("Riverside Levee") && !text(&on_b).contains("Flood mitigation"), "{on_b}");
    let mut at = hover(&a_doc);
    at["context"] = json!({"includeDeclaration": true});
    let refs = lsp.request("textDocument/references", at).await;
    let uris: Vec<&str> = refs.as_array().unwrap().iter().map(|l| l["uri"].as_str().unwrap()).collect();
    assert_eq!(uris, [a_doc.as_str()], "B's Riverside is another server's name");
    lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": a_doc}})).await;
    lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": b_doc}})).await;
    lsp.diagnostics(&b_doc, |d| d.len() == 2).await;

    // B's `.synergy.toml` now names A's server: B's Riverside is fine, A's folder unchanged.
    write_text(b.path(), ".synergy.toml", &b_config(&sim_a.url()));
    let changed = json!({"changes": [{"uri": file_uri(&b.path().join(".synergy.toml")), "type": 2}]});
    lsp.notify("workspace/didChangeWatchedFiles", changed).await;
    let d = lsp.diagnostics(&b_doc, |d| d.len() == 1).await;
    assert!(d[0]["message"].as_str().unwrap().contains("GoneB") && d[0]["severity"] == 1, "{d:?}");
    assert_eq!(sim_a.requests_for("GoneB"), 1);
    lsp.drain_messages(Duration::from_millis(200)).await;
    let last_a = lsp
        .transcript
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m.contains("publishDiagnostics") && m.contains(&a_doc))
        .cloned()
        .unwrap();
    assert!(last_a.contains("GoneA") && last_a.contains("\"severity\":4"), "{last_a}");

    // A third folder that names no server: the status says which folder needs one.
    let c = tempfile::tempdir().unwrap();
    write_text(c.path(), "c.md", "job:Riverside\n");
    let folder = |p: &Path| json!({"uri": file_uri(p), "name": "x"});
    lsp.notify("workspace/didChangeWorkspaceFolders", json!({"event": {"added": [folder(c.path())], "removed": []}}))
        .await;
    let status = lsp.notification("synergy/status", |p| p["state"] == "notConfigured").await;
    let c_name = c.path().file_name().unwrap().to_string_lossy().to_string();
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("the workspace folder {c_name}: No 12d Synergy server is configured")),
        "{status}"
    );

    // B removed while b.md is open: the document is checked again at once with the settings
    // of files outside every folder (A's: its server, where Riverside is fine, and its hints).
    lsp.open(&b_doc, "markdown", "job:Riverside and job:GoneB\n").await;
    lsp.diagnostics(&b_doc, |d| d.len() == 1 && d[0]["severity"] == 1).await;
    lsp.notify("workspace/didChangeWorkspaceFolders", json!({"event": {"added": [], "removed": [folder(b.path())]}}))
        .await;
    let d = lsp.diagnostics(&b_doc, |d| d.len() == 1 && d[0]["severity"] == 4).await;
    assert!(d[0]["message"].as_str().unwrap().contains("GoneB"), "{d:?}");
    assert_eq!(lsp.shutdown_in_process().await, 0);
}

/// A client that declares `textDocument.diagnostic` pulls: documents by
/// `textDocument/diagnostic`, the workspace by `workspace/diagnostic`, each with result ids
/// ("unchanged" when nothing changed), and is asked to pull again when a file changes. What
/// was pushed before the first workspace pull is cleared, and an opened file's pushed list
/// too, so no file has two sources.
#[tokio::test]
async fn pull_clients_pull_documents_and_the_workspace() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_text(root, "a.md", "job:StaleA\n");
    write_text(root, "b.md", "job:StaleB\n");
    write_text(root, "ok.md", "job:Riverside\n");
    let mut lsp = Lsp::in_process();
    let caps = json!({
        "textDocument": {"diagnostic": {"dynamicRegistration": false}, "hover": {"contentFormat": ["markdown"]}},
        "workspace": {"diagnostics": {"refreshSupport": true}},
    });
    let init = lsp.initialize_folders(&[root], sim_settings(&sim, json!({})), caps).await;
    let provider = &init["capabilities"]["diagnosticProvider"];
    assert_eq!(
        (provider["workspaceDiagnostics"].clone(), provider["interFileDependencies"].clone()),
        (json!(true), json!(true))
    );
    let (a, b) = (file_uri(&root.join("a.md")), file_uri(&root.join("b.md")));
    // Until the client pulls the workspace, unopened files are pushed.
    lsp.diagnostics(&a, |d| d.len() == 1).await;
    lsp.diagnostics(&b, |d| d.len() == 1).await;

    // Opening b.md clears its pushed list; the document is pulled.
    let text = "job:StaleB and job:AlsoStale\n";
    lsp.open(&b, "markdown", text).await;
    lsp.diagnostics(&b, |d| d.is_empty()).await;
    let report = lsp.request("textDocument/diagnostic", json!({"textDocument": {"uri": b}})).await;
    assert_eq!(report["kind"], "full");
    assert_eq!(report["items"].as_array().unwrap().len(), 2);
    let again = lsp
        .request("textDocument/diagnostic", json!({"textDocument": {"uri": b}, "previousResultId": report["resultId"]}))
        .await;
    assert_eq!(again["kind"], "unchanged");
    assert!(!lsp.transcript().contains("\"version\":1"), "a pull client's document is never pushed");

    // A file that is not open, asked on its own: what the index found in it.
    let unopened = lsp.request("textDocument/diagnostic", json!({"textDocument": {"uri": a}})).await;
    assert_eq!((unopened["kind"].as_str(), unopened["items"].as_array().map(Vec::len)), (Some("full"), Some(1)));
    assert!(unopened["items"][0]["message"].as_str().unwrap().contains("StaleA"), "{unopened}");

    // The first workspace pull: a.md in full, b.md (open) not at all, and a.md's pushed list cleared.
    let report = lsp.request("workspace/diagnostic", json!({"previousResultIds": []})).await;
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!((items[0]["uri"].as_str(), items[0]["kind"].as_str()), (Some(a.as_str()), Some("full")));
    lsp.diagnostics(&a, |d| d.is_empty()).await;
    let previous = json!([{"uri": a, "value": items[0]["resultId"]}]);
    let report = lsp.request("workspace/diagnostic", json!({"previousResultIds": previous})).await;
    assert_eq!(report["items"][0]["kind"], "unchanged", "{report}");

    // a.md fixed on disk: the client is asked to pull, and a.md's list is emptied.
    let pushes = |lsp: &Lsp| lsp.transcript().matches("textDocument/publishDiagnostics").count();
    let pushed_before = pushes(&lsp);
    write_text(root, "a.md", "job:Riverside\n");
    lsp.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": a, "type": 2}]})).await;
    lsp.next_matching(|m| m["method"] == "workspace/diagnostic/refresh").await;
    let report = lsp.request("workspace/diagnostic", json!({"previousResultIds": previous})).await;
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!((items[0]["kind"].as_str(), items[0]["items"].clone()), (Some("full"), json!([])));
    // Nothing was pushed after the client started pulling.
    lsp.drain_messages(Duration::from_millis(200)).await;
    assert_eq!(pushes(&lsp), pushed_before);
    lsp.shutdown_in_process().await;
}

/// `workspace/diagnostic` asked again and again with the same result ids (as an editor does
/// while nothing changes) is answered from what is true now: a file opened leaves the answer,
/// closed it comes back, changed on disk it is sent in full; a new partial-result token each
/// time changes nothing; string ids are answered with their id; malformed parameters are
/// refused and the session goes on.
#[tokio::test]
async fn repeated_workspace_pulls_with_the_same_ids_follow_every_change() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for name in ["a", "b", "c"] {
        write_text(root, &format!("{name}.md"), &format!("job:Stale{name}\n"));
    }
    let mut lsp = Lsp::in_process();
    let caps = json!({"textDocument": {"diagnostic": {}}, "workspace": {"diagnostics": {"refreshSupport": true}}});
    lsp.initialize_folders(&[root], sim_settings(&sim, json!({})), caps).await;
    let uri = |name: &str| file_uri(&root.join(format!("{name}.md")));
    let mut items = Vec::new();
    for _ in 0..100 {
        let report = lsp.request("workspace/diagnostic", json!({"previousResultIds": []})).await;
        items = report["items"].as_array().unwrap().clone();
        if items.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(items.len(), 3, "{items:?}");
    let previous: Vec<Value> = items.iter().map(|i| json!({"uri": i["uri"], "value": i["resultId"]})).collect();
    let ask = |token: usize| json!({"previousResultIds": previous, "partialResultToken": format!("p{token}")});
    // What each file is in an answer: its kind, or absent.
    let kinds = |report: &Value| -> Vec<(String, String)> {
        let mut kinds: Vec<(String, String)> = report["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["uri"].as_str().unwrap().to_string(), i["kind"].as_str().unwrap().to_string()))
            .collect();
        kinds.sort();
        kinds
    };
    let all_unchanged: Vec<(String, String)> = ["a", "b", "c"].iter().map(|n| (uri(n), "unchanged".into())).collect();
    for token in 0..3 {
        assert_eq!(kinds(&lsp.request("workspace/diagnostic", ask(token)).await), all_unchanged);
    }
    // b.md opened: not in the answer (the document is pulled on its own); closed: back.
    lsp.open(&uri("b"), "markdown", "job:Staleb\n").await;
    let report = lsp.request("workspace/diagnostic", ask(3)).await;
    assert_eq!(kinds(&report), [(uri("a"), "unchanged".into()), (uri("c"), "unchanged".into())]);
    lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": uri("b")}})).await;
    let mut report = Value::Null;
    for token in 4..254 {
        report = lsp.request("workspace/diagnostic", ask(token)).await;
        if report["items"].as_array().unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(kinds(&report), all_unchanged, "closed, b.md is the index's again");
    // c.md changed on disk: in full, with its new list.
    lsp.discard_notifications("workspace/diagnostic/refresh").await;
    write_text(root, "c.md", "job:Stalec and job:Staled\n");
    lsp.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": uri("c"), "type": 2}]})).await;
    lsp.next_matching(|m| m["method"] == "workspace/diagnostic/refresh").await;
    let report = lsp.request("workspace/diagnostic", ask(1000)).await;
    let c = report["items"].as_array().unwrap().iter().find(|i| i["uri"] == uri("c").as_str()).unwrap().clone();
    assert_eq!((c["kind"].as_str(), c["items"].as_array().map(Vec::len)), (Some("full"), Some(2)), "{c}");
    assert_eq!(report["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "unchanged").count(), 2, "{report}");

    // a.md fixed on disk: "full" and empty, then "unchanged" with the id that says clean;
    // opened, it leaves the answer (it has no report: only which files are open changed).
    lsp.discard_notifications("workspace/diagnostic/refresh").await;
    write_text(root, "a.md", "job:Riverside\n");
    lsp.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": uri("a"), "type": 2}]})).await;
    lsp.next_matching(|m| m["method"] == "workspace/diagnostic/refresh").await;
    let report = lsp.request("workspace/diagnostic", ask(1002)).await;
    let ids: Vec<Value> =
        report["items"].as_array().unwrap().iter().map(|i| json!({"uri": i["uri"], "value": i["resultId"]})).collect();
    let clean = json!({"previousResultIds": ids});
    let kinds_now = kinds(&lsp.request("workspace/diagnostic", clean.clone()).await);
    assert_eq!(kinds_now, all_unchanged, "a.md is known clean");
    lsp.open(&uri("a"), "markdown", "job:Riverside\n").await;
    let kinds_now = kinds(&lsp.request("workspace/diagnostic", clean.clone()).await);
    assert_eq!(kinds_now, [(uri("b"), "unchanged".into()), (uri("c"), "unchanged".into())]);

    // A string id is answered with it.
    lsp.send(json!({"jsonrpc": "2.0", "id": "pull-7", "method": "workspace/diagnostic", "params": ask(1001)})).await;
    let answer = lsp.next_matching(|m| m["id"] == "pull-7").await;
    assert_eq!(answer["result"]["items"].as_array().map(Vec::len), Some(2), "{answer}");
    // Malformed parameters: refused as such, and the session goes on.
    for params in [json!({"previousResultIds": "all"}), json!({}), json!([1])] {
        let answer = lsp.request_raw("workspace/diagnostic", params.clone()).await;
        assert_eq!(answer["error"]["code"], -32602, "{params}: {answer}");
    }
    assert_eq!(kinds(&lsp.request("workspace/diagnostic", json!({"previousResultIds": []})).await).len(), 2);
    assert_eq!(lsp.shutdown_in_process().await, 0);
}

/// A check of the whole workspace that began before a file changed on disk never overwrites
/// the newer check that the change started: after every change, the last list pushed for the
/// file is what the file says now, with whole-workspace re-checks (a settings change) racing
/// the changes. (A stale list would make the next change look unchanged, and never be sent.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_workspace_recheck_never_overwrites_a_newer_result() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..600 {
        write_text(root, &format!("many/{i}.md"), "job:Riversde and job:Gone77\n");
    }
    write_text(root, "t.md", "job:Riversde\n");
    let mut lsp = Lsp::in_process();
    let caps = json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}});
    let settings = sim_settings(&sim, json!({}));
    lsp.initialize_folders(&[root], settings.clone(), caps).await;
    let t = file_uri(&root.join("t.md"));
    lsp.diagnostics(&t, |d| d.len() == 1).await;
    lsp.notification("synergy/status", |p| p["indexed"]["files"] == 601).await;
    for i in 0..40 {
        let (text, expected) = if i % 2 == 0 { ("no reference\n", 0) } else { ("job:Riversde\n", 1) };
        write_text(root, "t.md", text);
        lsp.discard_notifications("textDocument/publishDiagnostics").await;
        // A whole-workspace re-check, then the change, while it runs.
        lsp.notify("workspace/didChangeConfiguration", json!({"settings": {"synergy": settings}})).await;
        lsp.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": t, "type": 2}]})).await;
        lsp.diagnostics(&t, move |d| d.len() == expected).await;
    }
    // Nothing older comes after the last one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    lsp.discard_notifications("none").await;
    let last = lsp
        .transcript
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m.contains("publishDiagnostics") && m.contains(&t))
        .cloned();
    let last: Value = serde_json::from_str(&last.expect("a list for t.md")).unwrap();
    assert_eq!(last["params"]["diagnostics"].as_array().map(Vec::len), Some(1), "{last}");
    assert_eq!(lsp.shutdown_in_process().await, 0);
}

/// Starts an in-process server on one workspace folder given by its URI as an editor spells it.
#[cfg(windows)]
async fn initialize_folder_uri(lsp: &mut Lsp, folder_uri: &str, settings: Value) {
    let init_options = lsp.isolated(settings);
    lsp.request(
        "initialize",
        json!({"processId": null, "rootUri": folder_uri, "workspaceFolders": [{"uri": folder_uri, "name": "w"}],
               "capabilities": client_capabilities(json!({})), "initializationOptions": init_options}),
    )
    .await;
    lsp.notify("initialized", json!({})).await;
}

/// Windows (run under Wine by scripts/windows): the drive-letter spellings editors send
/// (VS Code `file:///c%3A/…`, Neovim and Emacs `file:///C:/…`) name one file, so the folder's
/// `.synergy.toml` applies to a document whatever the spelling of either; and a workspace on a
/// network share (`file://fileserver/projects/bridge/`) keeps its host, so its `.synergy.toml`
/// is found and its files are checked.
#[cfg(windows)]
#[tokio::test]
async fn windows_drive_letter_spellings_and_network_shares() {
    let sim = simulator().await;
    let config = "[diagnostics.severity]\nunknownJob = \"error\"\n";
    let dir = tempfile::tempdir().unwrap();
    write_text(dir.path(), ".synergy.toml", config);
    write_text(dir.path(), "plan.md", "See job:Riversde.\n");
    let neovim = file_uri(dir.path()); // file:///C:/users/…
    assert!(neovim.starts_with("file:///C:/"), "{neovim}");
    let vscode = format!("file:///{}%3A{}", neovim[8..9].to_lowercase(), &neovim[10..]);
    for (folder, document) in [(&vscode, format!("{neovim}/plan.md")), (&neovim, format!("{vscode}/plan.md"))] {
        let mut lsp = Lsp::in_process();
        initialize_folder_uri(&mut lsp, folder, sim_settings(&sim, json!({}))).await;
        lsp.open(&document, "markdown", "See job:Riversde.\n").await;
        let d = lsp.diagnostics(&document, |d| !d.is_empty()).await;
        assert_eq!(
            (d[0]["code"].clone(), d[0]["severity"].clone()),
            (json!("unknown-job"), json!(1)),
            "{folder} {document}"
        );
    }

    // \\fileserver\projects is served by Wine from the prefix's dosdevices\unc folder.
    let prefix = std::env::var("WINEPREFIX").expect("scripts/windows sets WINEPREFIX");
    let share = std::path::PathBuf::from(format!("Z:{}", prefix.replace('/', "\\")))
        .join(r"dosdevices\unc\fileserver\projects");
    let bridge = share.join("bridge");
    let _ = std::fs::remove_dir_all(&bridge);
    write_text(&bridge, ".synergy.toml", config);
    write_text(&bridge, "plan.md", "See job:Riversde.\n");
    write_text(&bridge, "notes.md", "And job:Gone77.\n");
    assert_eq!(std::fs::read_to_string(r"\\fileserver\projects\bridge\plan.md").unwrap(), "See job:Riversde.\n");
    let mut lsp = Lsp::in_process();
    initialize_folder_uri(&mut lsp, "file://fileserver/projects/bridge/", sim_settings(&sim, json!({}))).await;
    // An unopened file of the share, from the workspace index, with the share's settings.
    let d = lsp.diagnostics("file://fileserver/projects/bridge/notes.md", |d| !d.is_empty()).await;
    assert_eq!((d[0]["code"].clone(), d[0]["severity"].clone()), (json!("unknown-job"), json!(1)), "{d:?}");
    lsp.open("file://fileserver/projects/bridge/plan.md", "markdown", "See job:Riversde.\n").await;
    let d = lsp.diagnostics("file://fileserver/projects/bridge/plan.md", |d| !d.is_empty()).await;
    assert_eq!((d[0]["code"].clone(), d[0]["severity"].clone()), (json!("unknown-job"), json!(1)), "{d:?}");
    let _ = std::fs::remove_dir_all(&bridge);
}
