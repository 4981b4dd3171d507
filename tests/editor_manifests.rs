//! The editor integrations describe the server's settings too; these tests fail when they drift
//! from [`Config`]: every server setting in the VS Code manifest (and only those, besides the
//! extension's own), with the same default and type, and the security-relevant ones
//! machine-scoped so a workspace cannot set them. And their document selectors are the
//! server's one list of documents ([`DOCUMENT_EXTENSIONS`]).

use std::collections::BTreeMap;

use serde_json::Value;
use synergy_ls::config::Config;
use synergy_ls::scan::{DOCUMENT_EXTENSIONS, DOCUMENT_LANGUAGE_IDS};

fn editor_file(rel: &str) -> String {
    std::fs::read_to_string(format!("{}/editors/{rel}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The quoted strings of the first line of `text` that starts with `start`.
fn quoted_list(text: &str, start: &str, quote: char) -> Vec<String> {
    let line = text.lines().find(|l| l.trim_start().starts_with(start)).unwrap_or_else(|| panic!("{start}"));
    line.split(quote).skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn editor_selectors_are_the_document_list() {
    let extensions: Vec<String> = DOCUMENT_EXTENSIONS.iter().map(|(e, _)| e.to_string()).collect();
    let vscode = quoted_list(&editor_file("vscode/src/settings.ts"), "export const DOCUMENT_EXTENSIONS", '\'');
    assert_eq!(vscode, extensions, "VS Code's selector");
    let untitled = quoted_list(&editor_file("vscode/src/settings.ts"), "export const UNTITLED_LANGUAGES", '\'');
    let nvim = quoted_list(&editor_file("nvim/lsp/synergy_ls.lua"), "filetypes", '\'');
    for id in untitled.iter().chain(&nvim) {
        assert!(DOCUMENT_LANGUAGE_IDS.contains(&id.as_str()), "{id} is not a document language");
    }
    // Neovim's filetype for each document extension is selected.
    for ft in ["markdown", "mdx", "text", "rst", "asciidoc"] {
        assert!(nvim.contains(&ft.to_string()), "Neovim filetypes lack {ft}");
    }
}

/// Settings the VS Code extension reads itself; the server never sees them as `Config`.
const CLIENT_ONLY: &[&str] = &["server.path", "languages", "logLevel", "trace.server"];

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), leaf.clone());
        }
    }
}

fn manifest() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/editors/vscode/package.json")).unwrap();
    let package: Value = serde_json::from_str(&text).unwrap();
    let props = package["contributes"]["configuration"]["properties"].as_object().unwrap();
    props.iter().map(|(k, v)| (k.strip_prefix("synergy.").expect("synergy.* only").to_string(), v.clone())).collect()
}

#[test]
fn vscode_settings_match_config() {
    let mut schema = BTreeMap::new();
    flatten("", &serde_json::to_value(Config::default()).unwrap(), &mut schema);
    assert!(!schema.contains_key("token"), "the token is never a setting");
    let manifest = manifest();

    let server_keys: Vec<&String> = manifest.keys().filter(|k| !CLIENT_ONLY.contains(&k.as_str())).collect();
    let config_keys: Vec<&String> = schema.keys().collect();
    assert_eq!(server_keys, config_keys, "package.json and Config list different settings");

    for (key, default) in &schema {
        let prop = &manifest[key];
        assert_eq!(&prop["default"], default, "default of synergy.{key}");
        let types: Vec<&str> = match &prop["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            other => panic!("synergy.{key}: type {other}"),
        };
        let fits = match default {
            Value::Null => types.contains(&"null") && types.contains(&"string"),
            Value::Bool(_) => types == ["boolean"],
            Value::Number(_) => types == ["integer"],
            Value::String(_) => types == ["string"],
            Value::Array(_) => types == ["array"],
            Value::Object(_) => unreachable!("flattened"),
        };
        assert!(fits, "synergy.{key}: type {types:?} does not fit the default {default}");
    }
    // Severities: the same words the server accepts.
    for key in schema.keys().filter(|k| k.starts_with("diagnostics.severity.")) {
        let words: Vec<&str> = manifest[key]["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(words, ["off", "hint", "information", "warning", "error"], "synergy.{key}");
        for w in &words {
            let json = serde_json::json!({ "diagnostics": { "severity": { "unknownJob": w } } });
            serde_json::from_value::<Config>(json).unwrap_or_else(|e| panic!("{w}: {e}"));
        }
    }
}

#[test]
fn settings_that_run_commands_or_weaken_transport_are_machine_scoped() {
    let manifest = manifest();
    for key in ["tokenCommand", "allowInsecureHttp", "caCertificates"] {
        assert_eq!(manifest[key]["scope"], "machine", "synergy.{key} must not be settable by a workspace");
    }
    assert_eq!(manifest["server.path"]["scope"], "machine-overridable");
}

/// The settings a workspace folder may have its own of (the server asks `workspace/configuration`
/// per folder) are resource-scoped: with VS Code's default (`window`), a folder's value in a
/// multi-root workspace would be ignored.
#[test]
fn settings_a_folder_may_have_its_own_are_resource_scoped() {
    let manifest = manifest();
    let per_folder = [
        "serverUrl",
        "webUrlTemplate",
        "diagnostics.severity.unknownJob",
        "diagnostics.severity.ambiguousJob",
        "diagnostics.severity.caseMismatch",
        "referencePatterns",
        "scan.includeCode",
        "files.include",
        "files.exclude",
        "workspace.enabled",
        "workspace.include",
        "workspace.exclude",
        "workspace.maxFiles",
    ];
    for key in per_folder {
        assert_eq!(manifest[key]["scope"], "resource", "synergy.{key} should be settable per folder");
    }
}
