//! Fixing in the editor, through the in-process harness: the document's `source.fixAll.synergy`
//! code action, `synergy.fixWorkspace` over open and unopened files (one `workspace/applyEdit`,
//! a summary message), the "fix all N references to this job" quick fix, and rename across the
//! workspace, including the refusals. Unopened files are edited as they are on disk (CRLF, a
//! BOM, emoji before a reference), and nothing is fixed while the server cannot be asked.

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};
use synergy_ls::simulator::Fault;

const OPEN: &str = "job:riverside and job:RIVERSIDE and job:Drainage\n";
const UNOPENED: &str = "\u{feff}# B\r\n😀 job:riverside\r\njob:\"highway upgrade 2024\" and job:Riversde\r\n";
const NO_NEWLINE: &str = "see job:riverside";

/// The code actions of `source.fixAll` kind for a document, as codeActionsOnSave asks.
async fn fix_all_actions(lsp: &mut Lsp, uri: &str) -> Value {
    let at = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
    let context = json!({"diagnostics": [], "only": ["source.fixAll"]});
    lsp.request("textDocument/codeAction", json!({"textDocument": {"uri": uri}, "range": at, "context": context})).await
}

/// A workspace with an open document and two unopened files, indexed and checked.
async fn workspace(sim: &synergy_ls::simulator::Simulator, root: &Path, caps: Value) -> (Lsp, String) {
    write_text(root, "a.md", OPEN);
    write_text(root, "docs/b.md", UNOPENED);
    write_text(root, "c.txt", NO_NEWLINE);
    let mut lsp = Lsp::in_process();
    lsp.initialize_folders(&[root], sim_settings(sim, json!({})), caps).await;
    lsp.notification("synergy/status", |p| p["indexed"]["files"] == 3).await;
    let a = file_uri(&root.join("a.md"));
    lsp.open(&a, "markdown", OPEN).await;
    lsp.diagnostics(&a, |d| d.len() == 3).await;
    (lsp, a)
}

#[tokio::test]
async fn fix_all_in_a_document_and_in_the_workspace() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (mut lsp, a) = workspace(&sim, root, json!({})).await;
    let b = file_uri(&root.join("docs/b.md"));
    let c = file_uri(&root.join("c.txt"));

    // The document's fix-all: asked for by kind (as codeActionsOnSave and Neovim do), one
    // plain edit with every safe fix in this file, and nothing of other files.
    let whole = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
    let actions = fix_all_actions(&mut lsp, &a).await;
    let actions = actions.as_array().unwrap();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["kind"], "source.fixAll.synergy");
    let changes = actions[0]["edit"]["changes"].as_object().unwrap();
    assert_eq!(changes.keys().collect::<Vec<_>>(), [&a]);
    assert_eq!(apply_edits(OPEN, &changes[&a]), "job:Riverside and job:Riverside and job:Drainage\n");
    // Not among the actions at the cursor.
    let at_cursor = lsp
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": a}, "range": whole, "context": {"diagnostics": []}}),
        )
        .await;
    assert!(at_cursor.as_array().unwrap().iter().all(|x| x["kind"] != "source.fixAll.synergy"), "{at_cursor}");

    // The quick fix also offers every reference to that job in the workspace.
    let titles: Vec<String> =
        at_cursor.as_array().unwrap().iter().map(|x| x["title"].as_str().unwrap().to_string()).collect();
    assert_eq!(titles, ["Change to \"Riverside\"", "Fix all 4 references to this job in the workspace"], "{titles:?}");
    let command = at_cursor[1]["command"].clone();
    assert_eq!(command["command"], "synergy.fixWorkspace");

    // That command: only that job's references, open and unopened, in one applied edit.
    let result = lsp
        .request("workspace/executeCommand", json!({"command": command["command"], "arguments": command["arguments"]}))
        .await;
    assert_eq!((result["fixed"].clone(), result["files"].clone()), (json!(4), json!(3)), "{result}");
    let edit = lsp.applied_edits.pop().expect("workspace/applyEdit was sent");
    let changes = edit["changes"].as_object().unwrap();
    assert_eq!(apply_edits(NO_NEWLINE, &changes[&c]), "see job:Riverside");
    // UTF-16 positions after an emoji, in a file with a BOM and CRLF; highway is another job.
    assert_eq!(
        apply_edits(UNOPENED, &changes[&b]),
        "\u{feff}# B\r\n😀 job:Riverside\r\njob:\"highway upgrade 2024\" and job:Riversde\r\n"
    );

    // A malformed argument is refused, never taken as "the whole workspace".
    for bad in [json!([5]), json!(["x"]), json!([{"job": 7}]), json!([{"job": "1", "more": true}]), json!([{}, {}])] {
        let r = lsp
            .request_raw("workspace/executeCommand", json!({"command": "synergy.fixWorkspace", "arguments": bad}))
            .await;
        assert_eq!(r["error"]["code"], -32602, "{bad}: {r}");
    }
    assert!(lsp.applied_edits.is_empty());

    // The whole workspace: every safe fix, the rest counted as needing a choice, said once.
    let result =
        lsp.request("workspace/executeCommand", json!({"command": "synergy.fixWorkspace", "arguments": []})).await;
    assert_eq!(result["fixed"], 5, "{result}");
    assert_eq!(result["needChoice"], 2, "Drainage is ambiguous, Riversde only has suggestions: {result}");
    let edit = lsp.applied_edits.pop().unwrap();
    assert_eq!(
        apply_edits(UNOPENED, &edit["changes"][&b]),
        "\u{feff}# B\r\n😀 job:Riverside\r\njob:\"Highway Upgrade 2024\" and job:Riversde\r\n"
    );
    let messages = lsp.drain_messages(std::time::Duration::from_millis(200)).await;
    let said: Vec<&str> = messages.iter().filter_map(|m| m["message"].as_str()).collect();
    assert!(said.contains(&"synergy-ls: Fixed 5 references in 3 files; 2 need a choice."), "{said:?}");

    // A file changed on disk since it was indexed is edited as it is now.
    write_text(root, "c.txt", "moved\n\nsee job:riverside");
    let result =
        lsp.request("workspace/executeCommand", json!({"command": "synergy.fixWorkspace", "arguments": []})).await;
    assert_eq!(result["fixed"], 5);
    let edit = lsp.applied_edits.pop().unwrap();
    assert_eq!(apply_edits("moved\n\nsee job:riverside", &edit["changes"][&c]), "moved\n\nsee job:Riverside");
    assert_eq!(lsp.shutdown_in_process().await, 0);
}

/// While the server cannot be asked, nothing is fixed and the message says why.
#[tokio::test]
async fn nothing_is_fixed_while_the_server_cannot_be_asked() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut lsp, a) = workspace(&sim, dir.path(), json!({})).await;
    lsp.request("workspace/executeCommand", json!({"command": "synergy.refresh", "arguments": []})).await;
    sim.set_fault(Fault::Error503);
    let result =
        lsp.request("workspace/executeCommand", json!({"command": "synergy.fixWorkspace", "arguments": []})).await;
    assert_eq!((result["fixed"].clone(), result["applied"].clone()), (json!(0), json!(false)), "{result}");
    assert!(result["unverified"].as_u64().unwrap() > 0, "{result}");
    assert!(lsp.applied_edits.is_empty(), "an edit was sent during the fault");
    assert!(result["message"].as_str().unwrap().contains("not checked"), "{result}");
    let actions = fix_all_actions(&mut lsp, &a).await;
    assert_eq!(actions, json!([]));
    assert_eq!(lsp.shutdown_in_process().await, 0);
}

/// `textDocument/rename` at `position`: the whole response (result or error).
async fn rename(lsp: &mut Lsp, uri: &str, position: Value, new_name: &str) -> Value {
    lsp.request_raw(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": position, "newName": new_name}),
    )
    .await
}

/// Rename: the job under the cursor (after it was renamed on the server: the old name and the
/// old path are references to it) rewritten everywhere to the new name; a path stays a path,
/// bare names become quoted when they need it; the new name must be one existing job.
#[tokio::test]
async fn rename_a_job_reference_across_the_workspace() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let open = "Levee: job:Riverside, job:\"Riverside Park\" is another job.\nDrains: job:\"Region A/Drainage\", job:Drainage\n";
    let unopened = "Path: job:\"Region A/Drainage\"\r\nCase: job:riverside\r\n";
    write_text(root, "a.md", open);
    write_text(root, "b.md", unopened);
    let mut lsp = Lsp::in_process();
    let caps = json!({"textDocument": {"rename": {"prepareSupport": true}}});
    let init = lsp
        .initialize_folders(
            &[root],
            sim_settings(&sim, json!({"cache": {"ttlSeconds": 1, "negativeTtlSeconds": 1}})),
            caps,
        )
        .await;
    assert_eq!(init["capabilities"]["renameProvider"], json!({"prepareProvider": true}));
    let (a, b) = (file_uri(&root.join("a.md")), file_uri(&root.join("b.md")));
    lsp.open(&a, "markdown", open).await;
    lsp.diagnostics(&a, |d| d.len() == 1).await;

    // Refusals, each saying why.
    let at = |text: &str, needle: &str| pos_of(text, needle, 5);
    let refusal = |response: &Value| response["error"]["message"].as_str().unwrap_or_default().to_string();
    let nowhere = lsp
        .request_raw(
            "textDocument/prepareRename",
            json!({"textDocument": {"uri": a}, "position": {"line": 0, "character": 1}}),
        )
        .await;
    assert!(refusal(&nowhere).contains("Put the cursor on a job reference"), "{nowhere}");
    for (new_name, why) in [
        ("Nowhere Job", "No 12d Synergy job is named \"Nowhere Job\""),
        ("Drainage", "3 jobs are named \"Drainage\""),
        ("bad\"name", "cannot be empty or hold a double quote"),
    ] {
        let r = rename(&mut lsp, &a, at(open, "job:Riverside,"), new_name).await;
        assert!(refusal(&r).contains(why), "{new_name}: {r}");
    }

    // Renamed on the server: the open document is re-checked within the TTL and flags it.
    assert!(sim.rename_job("Riverside", "Riverside Levee"));
    lsp.diagnostics(&a, |d| d.len() == 2).await;
    let r = rename(&mut lsp, &a, at(open, "job:Riverside,"), "riverside levee").await;
    assert!(refusal(&r).contains("No job is named \"riverside levee\"; did you mean \"Riverside Levee\"?"), "{r}");
    let prepared = lsp
        .request(
            "textDocument/prepareRename",
            json!({"textDocument": {"uri": a}, "position": at(open, "job:Riverside,")}),
        )
        .await;
    assert_eq!(prepared["placeholder"], "Riverside");
    let edit = rename(&mut lsp, &a, at(open, "job:Riverside,"), "Riverside Levee").await["result"].clone();
    let changes = edit["changes"].as_object().unwrap();
    assert_eq!(
        apply_edits(open, &changes[&a]),
        "Levee: job:\"Riverside Levee\", job:\"Riverside Park\" is another job.\nDrains: job:\"Region A/Drainage\", job:Drainage\n",
        "another job that shares a word is left alone"
    );
    // The differently-cased old name named the same job: it is renamed too.
    assert_eq!(
        apply_edits(unopened, &changes[&b]),
        "Path: job:\"Region A/Drainage\"\r\nCase: job:\"Riverside Levee\"\r\n"
    );

    // A path: every reference to that job (by its path; the ambiguous bare name is not it)
    // is pointed at another job, and stays a path.
    let edit = rename(&mut lsp, &a, at(open, "job:\"Region A"), "Region B/Drainage").await["result"].clone();
    let changes = edit["changes"].as_object().unwrap();
    assert_eq!(
        apply_edits(open, &changes[&a]),
        "Levee: job:Riverside, job:\"Riverside Park\" is another job.\nDrains: job:\"Region B/Drainage\", job:Drainage\n"
    );
    assert_eq!(apply_edits(unopened, &changes[&b]), "Path: job:\"Region B/Drainage\"\r\nCase: job:riverside\r\n");
    assert_eq!(lsp.shutdown_in_process().await, 0);
}

/// A document whose URI holds `[` and `]` raw (`blog/[slug].md`, as clients built on the `url`
/// crate send it) is taken, under the encoded URI: checked, and fixed from the editor's text,
/// not from the file on disk.
#[tokio::test]
async fn a_uri_with_brackets_is_taken_and_fixed_from_the_editor_text() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_text(root, "blog/[slug].md", "disk line\njob:riverside\n");
    let mut lsp = Lsp::in_process();
    lsp.initialize_folders(&[root], sim_settings(&sim, json!({})), json!({})).await;
    lsp.notification("synergy/status", |p| p["indexed"]["files"] == 1).await;
    let raw = format!("{}/blog/[slug].md", file_uri(root));
    let encoded = format!("{}/blog/%5Bslug%5D.md", file_uri(root));
    let editor = "EDITOR added a line\n\n\njob:riverside and job:\"highway upgrade 2024\"\n";
    lsp.open(&raw, "markdown", editor).await;
    lsp.diagnostics(&encoded, |d| d.len() == 2).await;
    let result =
        lsp.request("workspace/executeCommand", json!({"command": "synergy.fixWorkspace", "arguments": []})).await;
    assert_eq!(result["fixed"], 2, "{result}");
    let edit = lsp.applied_edits.pop().unwrap();
    let changes = edit["changes"].as_object().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        apply_edits(editor, &changes[&encoded]),
        "EDITOR added a line\n\n\njob:Riverside and job:\"Highway Upgrade 2024\"\n"
    );
    assert_eq!(lsp.shutdown_in_process().await, 0);
}

/// A job renamed on the server, then `synergy.refresh` (what a user runs after renaming it):
/// the reference is flagged as renamed, with its new name as the preferred fix. The answer
/// that turned from found to unknown reads the first page of the name's first letters before
/// the change is announced, so the job is seen under its new name; before, the refresh had
/// dropped what the cache knew and the reference was a bare "unknown", with no suggestion.
#[tokio::test]
async fn a_job_renamed_then_refreshed_is_flagged_as_renamed() {
    let sim = simulator().await;
    let mut lsp = Lsp::in_process();
    lsp.initialize(sim_settings(&sim, json!({})), json!({})).await;
    let uri = "file:///work/renamed/plan.md";
    lsp.open(uri, "markdown", "Works: job:\"Burwood Cycleway\"\n").await;
    // Published once the name is looked up (nothing was cached): found, so no diagnostic.
    assert_eq!(lsp.diagnostics(uri, |_| true).await, Vec::<Value>::new());
    assert_eq!(sim.requests_for("Burwood Cycleway"), 1);
    assert!(sim.rename_job("Burwood Cycleway", "Burwood Shared Path"));
    lsp.request("workspace/executeCommand", json!({"command": "synergy.refresh", "arguments": []})).await;
    let d = lsp.diagnostics(uri, |d| !d.is_empty()).await;
    let message = d[0]["message"].as_str().unwrap();
    assert!(message.contains("renamed") && message.contains("\"Burwood Shared Path\""), "{d:?}");
    let at = json!({"start": {"line": 0, "character": 12}, "end": {"line": 0, "character": 12}});
    let actions = lsp
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": at, "context": {"diagnostics": d}}),
        )
        .await;
    let preferred: Vec<&Value> = actions.as_array().unwrap().iter().filter(|a| a["isPreferred"] == true).collect();
    assert_eq!(preferred.len(), 1, "{actions}");
    assert!(preferred[0]["title"].as_str().unwrap().contains("Burwood Shared Path"), "{actions}");
    assert_eq!(lsp.shutdown_in_process().await, 0);
}
