//! Test harness: a language client driving synergy-ls like an editor would, against the
//! simulator on loopback. One helper per concern, so the tests read as scenarios.
//!
//! Two ways in: [`Lsp::spawn`] runs the real binary over stdio (for what needs the process
//! boundary: exit codes, stderr, the environment, signals); [`Lsp::in_process`] serves the same
//! protocol stack (`synergy_ls::lsp::serve`, framing guard included) over a
//! `tokio::io::duplex` pair inside the test, with no process spawned (typos-lsp's harness
//! style), for handler behaviour.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use synergy_ls::simulator::{SimConfig, Simulator};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

pub const TOKEN: &str = "tok-TEST-8d1e5b";
pub const BIN: &str = env!("CARGO_BIN_EXE_synergy-ls");
pub const WAIT: Duration = Duration::from_secs(15);

/// A fresh folder for one process's persisted job cache, so tests never share answers through
/// the user's cache directory (simulators on reused ports serve different data). Under the
/// system's temporary folder, in `synergy-ls-test-caches/` (the test command empties it).
pub fn fresh_cache_dir() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join("synergy-ls-test-caches").join(format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("test cache folder");
    dir.to_string_lossy().into_owned()
}

pub async fn simulator() -> Simulator {
    Simulator::start(SimConfig { token: TOKEN.into(), ..SimConfig::default() }, 0).await.expect("simulator starts")
}

/// A language client speaking to the binary.
pub struct Lsp {
    /// The server process; `None` in process.
    child: Option<Child>,
    /// `None` once closed (an editor that died).
    stdin: Option<Box<dyn AsyncWrite + Unpin + Send>>,
    /// The in-process session, which ends with its exit code.
    session: Option<tokio::task::JoinHandle<u8>>,
    incoming: mpsc::UnboundedReceiver<Value>,
    /// Notifications and requests from the server not consumed yet.
    backlog: VecDeque<Value>,
    next_id: i64,
    /// What `workspace/configuration` answers with.
    pub settings: Value,
    /// Answers to `workspace/configuration` items with this `scopeUri` (a workspace folder's
    /// own settings), instead of `settings`.
    pub scoped_settings: Vec<(String, Value)>,
    /// Every `workspace/applyEdit` the server asked for (each answered `applied: true`).
    pub applied_edits: Vec<Value>,
    /// Every message the server sent, for leak checks.
    pub transcript: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Lsp {
    pub fn spawn(env: &[(&str, &str)]) -> Lsp {
        let mut cmd = Command::new(BIN);
        cmd.arg("--stdio")
            .env_remove("SYNERGY_URL")
            .env_remove("SYNERGY_TOKEN")
            .env_remove("RUST_LOG")
            .env_remove("SYNERGY_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd.env("SYNERGY_CACHE_DIR", fresh_cache_dir());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("binary starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let s = stderr.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr_pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                s.lock().unwrap().push_str(&line);
                s.lock().unwrap().push('\n');
            }
        });
        let mut lsp = Lsp::over(Box::new(stdin), stdout, stderr);
        lsp.child = Some(child);
        lsp
    }

    /// The server in this process over an in-memory duplex pipe (no spawn). Settings come
    /// through `initializationOptions`, as the environment is the test process's.
    pub fn in_process() -> Lsp {
        let (client_end, server_end) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_end);
        let (client_read, client_write) = tokio::io::split(client_end);
        let session = tokio::spawn(synergy_ls::lsp::serve(server_read, server_write));
        let mut lsp = Lsp::over(Box::new(client_write), client_read, Arc::default());
        lsp.session = Some(session);
        lsp
    }

    fn over(
        stdin: Box<dyn AsyncWrite + Unpin + Send>,
        stdout: impl AsyncRead + Unpin + Send + 'static,
        stderr: Arc<Mutex<String>>,
    ) -> Lsp {
        let (tx, incoming) = mpsc::unbounded_channel();
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let t = transcript.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("Content-Length")];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                let text = String::from_utf8(body).expect("UTF-8 message");
                t.lock().unwrap().push(text.clone());
                let _ = tx.send(serde_json::from_str(&text).expect("JSON message"));
            }
        });
        Lsp {
            child: None,
            stdin: Some(stdin),
            session: None,
            incoming,
            backlog: VecDeque::new(),
            next_id: 1,
            settings: Value::Null,
            scoped_settings: Vec::new(),
            applied_edits: Vec::new(),
            transcript,
            stderr,
        }
    }

    /// Spawns with the simulator's URL and the given token, and initializes.
    pub async fn start(sim: &Simulator, token: &str) -> Lsp {
        let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", token)]);
        lsp.initialize(json!({}), json!(null)).await;
        lsp
    }

    pub async fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.send_raw(frame.as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).await.expect("write");
        stdin.flush().await.unwrap();
    }

    /// Closes the server's standard input, as an editor that exits or crashes does.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `limit` for the process to exit; `None` if it is still running.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut().expect("a spawned server");
        tokio::time::timeout(limit, child.wait()).await.ok().map(|s| s.expect("status"))
    }

    /// Sends `initialize` with these capabilities and parameters merged in, and `initialized`,
    /// without answering anything the server asks (an editor that hangs or dies).
    pub async fn initialize_unresponsive(&mut self, params: Value) {
        let mut init =
            json!({"processId": null, "rootUri": null, "capabilities": {"workspace": {"configuration": true}}});
        if let (Some(i), Some(extra)) = (init.as_object_mut(), params.as_object()) {
            for (k, v) in extra {
                i.insert(k.clone(), v.clone());
            }
        }
        self.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init})).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg =
                tokio::time::timeout_at(deadline, self.incoming.recv()).await.expect("initialize answered").unwrap();
            if msg.get("id") == Some(&json!(0)) && msg.get("method").is_none() {
                break;
            }
        }
        self.notify("initialized", json!({})).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params})).await;
    }

    /// Sends a request and returns its `result` (panics on an error response).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request_raw(method, params).await;
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    pub async fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        self.next_matching(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none()).await
    }

    /// Reads messages until one matches; answers server requests and keeps the rest.
    pub async fn next_matching(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i).unwrap();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out; backlog: {:?}\nstderr: {}", self.backlog, self.stderr()))
                .expect("server closed stdout");
            if msg.get("id").is_some() && msg.get("method").is_some() {
                self.answer_server_request(&msg).await;
            }
            if pred(&msg) {
                return msg;
            }
            self.backlog.push_back(msg);
        }
    }

    async fn answer_server_request(&mut self, msg: &Value) {
        let result = match msg["method"].as_str() {
            Some("workspace/configuration") => {
                let items = msg["params"]["items"].as_array().cloned().unwrap_or_default();
                let answer = |item: &Value| {
                    let scoped = self.scoped_settings.iter().find(|(uri, _)| item["scopeUri"] == uri.as_str());
                    scoped.map_or_else(|| self.settings.clone(), |(_, v)| v.clone())
                };
                Value::Array(items.iter().map(answer).collect())
            }
            Some("workspace/applyEdit") => {
                self.applied_edits.push(msg["params"]["edit"].clone());
                json!({"applied": true})
            }
            _ => Value::Null,
        };
        self.send(json!({"jsonrpc": "2.0", "id": msg["id"], "result": result})).await;
    }

    pub async fn notification(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let method = method.to_string();
        self.next_matching(move |m| m.get("id").is_none() && m["method"] == method.as_str() && pred(&m["params"])).await
            ["params"]
            .take()
    }

    /// The next diagnostics for `uri` that satisfy `pred`.
    pub async fn diagnostics(&mut self, uri: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let uri = uri.to_string();
        let p = self
            .notification("textDocument/publishDiagnostics", move |p| {
                p["uri"] == uri.as_str() && pred(p["diagnostics"].as_array().map(Vec::as_slice).unwrap_or(&[]))
            })
            .await;
        let mut p = p;
        match p["diagnostics"].take() {
            Value::Array(diagnostics) => diagnostics,
            other => panic!("diagnostics are not an array: {other}"),
        }
    }

    /// Drops every notification of `method` received so far (answering server requests), so
    /// the next one waited for was sent after this call.
    pub async fn discard_notifications(&mut self, method: &str) {
        while let Ok(msg) = self.incoming.try_recv() {
            if msg.get("id").is_some() && msg.get("method").is_some() {
                self.answer_server_request(&msg).await;
            }
            self.backlog.push_back(msg);
        }
        self.backlog.retain(|m| m["method"] != method);
    }

    /// Messages (`window/showMessage`) received so far, draining them from the backlog.
    pub async fn drain_messages(&mut self, settle: Duration) -> Vec<Value> {
        tokio::time::sleep(settle).await;
        while let Ok(msg) = self.incoming.try_recv() {
            if msg.get("id").is_some() && msg.get("method").is_some() {
                self.answer_server_request(&msg).await;
            }
            self.backlog.push_back(msg);
        }
        let (messages, rest): (Vec<Value>, Vec<Value>) =
            self.backlog.drain(..).partition(|m| m["method"] == "window/showMessage");
        self.backlog = rest.into();
        messages.into_iter().map(|m| m["params"].clone()).collect()
    }

    /// In process, the environment is the test process's: the fresh cache folder goes in the
    /// settings instead (unless the test chose one).
    pub fn isolated(&self, mut init_options: Value) -> Value {
        if self.child.is_some() {
            return init_options;
        }
        if !init_options.is_object() {
            init_options = json!({});
        }
        let cache = init_options.as_object_mut().unwrap().entry("cache").or_insert_with(|| json!({}));
        if let Some(cache) = cache.as_object_mut() {
            cache.entry("directory").or_insert_with(|| json!(fresh_cache_dir()));
        }
        init_options
    }

    pub async fn initialize(&mut self, init_options: Value, extra_caps: Value) -> Value {
        let init_options = self.isolated(init_options);
        let caps = client_capabilities(extra_caps);
        let result = self
            .request(
                "initialize",
                json!({"processId": null, "rootUri": null, "capabilities": caps, "initializationOptions": init_options}),
            )
            .await;
        self.notify("initialized", json!({})).await;
        result
    }

    /// `initialize` with these workspace folders (the first is also `rootUri`), settings as
    /// `initializationOptions` and extra client capabilities; then `initialized`.
    pub async fn initialize_folders(
        &mut self,
        folders: &[&std::path::Path],
        init_options: Value,
        extra_caps: Value,
    ) -> Value {
        let init_options = self.isolated(init_options);
        let caps = client_capabilities(extra_caps);
        let folders: Vec<Value> = folders
            .iter()
            .map(|f| json!({"uri": file_uri(f), "name": f.file_name().unwrap().to_string_lossy()}))
            .collect();
        let result = self
            .request(
                "initialize",
                json!({"processId": null, "rootUri": folders.first().map(|f| f["uri"].clone()), "workspaceFolders": folders,
                       "capabilities": caps, "initializationOptions": init_options}),
            )
            .await;
        self.notify("initialized", json!({})).await;
        result
    }

    pub async fn open(&mut self, uri: &str, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        )
        .await;
    }

    /// The server's process id (0 once it has exited).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().and_then(Child::id).unwrap_or(0)
    }

    /// The server process's resident and peak memory in bytes (Linux `/proc`), if readable.
    pub fn memory(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.as_ref()?.id()?)).ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn transcript(&self) -> String {
        self.transcript.lock().unwrap().join("\n")
    }

    pub async fn shutdown(mut self) -> std::process::ExitStatus {
        self.request("shutdown", Value::Null).await;
        self.notify("exit", Value::Null).await;
        let mut child = self.child.take().expect("a spawned server");
        tokio::time::timeout(WAIT, child.wait()).await.expect("exits").expect("status")
    }

    /// Ends an in-process session with `shutdown` and `exit`; returns its exit code.
    pub async fn shutdown_in_process(mut self) -> u8 {
        self.request("shutdown", Value::Null).await;
        self.notify("exit", Value::Null).await;
        let session = self.session.take().expect("an in-process server");
        tokio::time::timeout(WAIT, session).await.expect("session ends").expect("no panic")
    }
}

/// A position `{line, character}` in UTF-16 units of `needle`'s first occurrence plus `delta` chars.
pub fn pos_of(text: &str, needle: &str, delta: usize) -> Value {
    let at = text.find(needle).expect("needle in text");
    let line = text[..at].matches('\n').count();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let prefix: String = text[line_start..at].chars().chain(needle.chars().take(delta)).collect();
    json!({"line": line, "character": prefix.encode_utf16().count()})
}

/// Applies a list of LSP TextEdits (UTF-16 positions, not overlapping) to a text, last first.
pub fn apply_edits(text: &str, edits: &Value) -> String {
    let mut edits = edits.as_array().expect("a list of edits").clone();
    let key = |e: &Value| (e["range"]["start"]["line"].as_u64(), e["range"]["start"]["character"].as_u64());
    edits.sort_by_key(|e| std::cmp::Reverse(key(e)));
    edits.iter().fold(text.to_string(), |t, e| apply_edit(&t, e))
}

/// Applies one LSP TextEdit (UTF-16 positions) to a text.
pub fn apply_edit(text: &str, edit: &Value) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let col = p["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= col || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let (a, b) = (offset(&edit["range"]["start"]), offset(&edit["range"]["end"]));
    format!("{}{}{}", &text[..a], edit["newText"].as_str().unwrap(), &text[b..])
}

/// The harness's client capabilities (UTF-16, Markdown hovers) with `extra`'s top-level keys
/// replacing or adding to them.
pub fn client_capabilities(extra: Value) -> Value {
    let mut caps = json!({
        "general": {"positionEncodings": ["utf-16"]},
        "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]}},
    });
    if let (Some(c), Some(extra)) = (caps.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    caps
}

/// Writes `text` at `rel` under `root`, creating its folders.
pub fn write_text(root: &std::path::Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Settings for the in-process harness (`initializationOptions`): the simulator, the token, no
/// debounce, and `extra`'s top-level keys.
pub fn sim_settings(sim: &Simulator, extra: Value) -> Value {
    let mut s = json!({"serverUrl": sim.url(), "token": TOKEN, "diagnostics": {"debounceMs": 0}});
    if let (Some(o), Some(e)) = (s.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    s
}

/// A `tokenCommand` that prints the file at `path`, in the platform's shell syntax (`type "…"`
/// for cmd.exe, `cat '…'` for sh).
pub fn print_file_command(path: &std::path::Path) -> String {
    if cfg!(windows) { format!("type \"{}\"", path.display()) } else { format!("cat '{}'", path.display()) }
}

/// A `file:` URI for a path, as editors send it.
pub fn file_uri(path: &std::path::Path) -> String {
    synergy_ls::workspace::file_uri::from_path(path).expect("absolute path")
}
