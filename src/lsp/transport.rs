//! A guard between stdio and tower-lsp-server's codec.
//!
//! tower-lsp-server reads stdin through a framed reader that ends the whole stream after one
//! undecodable message, so a single malformed message would silently shut the server down.
//! Here every frame is read and checked first: well-formed JSON-RPC messages are passed on
//! byte for byte; anything else (bad headers, bodies that are not JSON or not JSON-RPC, a
//! `Content-Length` beyond [`MAX_BODY`]) is answered with a JSON-RPC error, logged, and
//! skipped, and the server keeps running. One writer task owns stdout, so the server's
//! messages and these errors are never interleaved mid-frame.
//!
//! The guard also ends the session on time ([`Ending`]): at the end of input, on `exit`, or
//! when the editor's process is gone, the process ends within [`GRACE`] whatever handlers are
//! still in flight (tower-lsp-server would wait for them, and a handler waiting on an editor
//! that died would keep the server, and its requests to the API, alive forever). And every
//! incoming message that carries a token has it registered for redaction (see
//! `config::learn_tokens`) before tower-lsp-server, which logs raw messages at trace level,
//! sees it.
//!
//! The same writer takes notifications the server serializes itself through an [`Outbox`]:
//! `textDocument/publishDiagnostics`, whose thousands of entries tower-lsp-server would first
//! build into a `serde_json::Value` tree and then serialize (a third of the server's time on
//! an edit, by perf).

use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Request, Response};

/// The largest message accepted. A 50 MB document fits; a runaway header does not.
pub const MAX_BODY: usize = 256 * 1024 * 1024;
const MAX_HEADER_LINE: usize = 8 * 1024;
const PIPE: usize = 1 << 16;

/// How long in-flight handlers get to finish once the session has ended.
pub const GRACE: std::time::Duration = std::time::Duration::from_millis(300);

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Standard input closed (the editor exited or crashed).
    InputClosed,
    /// The `exit` notification.
    Exit,
    /// The editor's process (`initialize`'s `processId`) is gone.
    ClientGone,
}

/// The end of the session: set once by the transport or the server, awaited by [`serve`].
#[derive(Debug, Clone)]
pub struct Ending {
    reason: std::sync::Arc<tokio::sync::watch::Sender<Option<EndReason>>>,
    shutdown: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Default for Ending {
    fn default() -> Ending {
        Ending { reason: std::sync::Arc::new(tokio::sync::watch::channel(None).0), shutdown: std::sync::Arc::default() }
    }
}

impl Ending {
    /// Ends the session (the first reason wins).
    pub fn end(&self, reason: EndReason) {
        self.reason.send_if_modified(|r| r.is_none() && r.replace(reason).is_none());
    }

    /// Records that the client asked for `shutdown`.
    fn shutdown_requested(&self) {
        self.shutdown.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits for the end of the session.
    pub async fn ended(&self) -> EndReason {
        let mut rx = self.reason.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(reason) => reason.unwrap_or(EndReason::InputClosed),
            Err(_) => EndReason::InputClosed,
        }
    }

    /// The process exit code: 0 after `shutdown`, else 1 (the LSP specification, `exit`: "The
    /// server should exit with success code 0 if the shutdown request has been received
    /// before; otherwise with error code 1").
    pub fn exit_code(&self) -> u8 {
        if self.shutdown.load(std::sync::atomic::Ordering::SeqCst) { 0 } else { 1 }
    }
}

/// Whether a message is the `shutdown` request or the `exit` notification: its method, for
/// the small messages that mention either (every other message is passed on unparsed; one
/// that carries a document is large and never either).
fn lifecycle_method(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Method {
        method: Option<String>,
    }
    let mentions = |m: &[u8]| memchr::memmem::find(body, m).is_some();
    if body.len() > LARGE || !(mentions(b"\"shutdown\"") || mentions(b"\"exit\"")) {
        return None;
    }
    serde_json::from_slice::<Method>(body).ok()?.method
}

/// Registers the tokens a message carries (`initializationOptions`, a settings answer or
/// change) for redaction before anything can log it. Only a message with a `"token"` key is
/// parsed: inside a JSON string the quotes would be escaped, so document text cannot match.
fn learn_tokens(body: &[u8]) {
    if memchr::memmem::find(body, b"\"token\"").is_some()
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
    {
        crate::config::learn_tokens(&value);
    }
}

/// Characters some clients leave raw in a `file:` URI's path (those built on the `url` crate
/// keep `[` and `]`, as in `blog/[slug].md`) that RFC 3986 does not allow there, so
/// tower-lsp-server's `Uri` refuses the whole message and the document would be dropped.
const NOT_IN_A_PATH: &[u8] = b"[]^|{}`<> ";

/// Whether `b` is one of [`NOT_IN_A_PATH`], by table (this runs on every byte of every URI).
fn not_in_a_path(b: u8) -> bool {
    static TABLE: [bool; 256] = {
        let mut table = [false; 256];
        let mut i = 0;
        while i < NOT_IN_A_PATH.len() {
            table[NOT_IN_A_PATH[i] as usize] = true;
            i += 1;
        }
        table
    };
    TABLE[b as usize]
}

/// The message with every `"uri"` and `"rootUri"` value's disallowed characters
/// ([`NOT_IN_A_PATH`]) percent-encoded, so the document is taken under the same file's valid
/// URI (clients compare URIs as paths, and decode these). Only those keys: inside a JSON string
/// a quote is escaped, so document text cannot look like one. Unchanged (and not copied) when
/// no such value has such a character.
fn valid_uris(body: Vec<u8>) -> Vec<u8> {
    // The values to encode, as byte ranges, found for each key, then rewritten in order.
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    for key in [&b"\"uri\""[..], b"\"rootUri\""] {
        // One finder per key, not one per occurrence: a `workspace/diagnostic` request names
        // thousands of URIs.
        let finder = memchr::memmem::Finder::new(key);
        let mut from = 0;
        while let Some(at) = finder.find(&body[from..]).map(|i| from + i) {
            from = at + key.len();
            if at > 0 && body[at - 1] == b'\\' {
                continue;
            }
            // `"uri"`, spaces, `:`, spaces, `"`, the value up to its closing quote.
            let mut i = from;
            let skip = |i: &mut usize| {
                while body.get(*i).is_some_and(u8::is_ascii_whitespace) {
                    *i += 1;
                }
            };
            skip(&mut i);
            if body.get(i) != Some(&b':') {
                continue;
            }
            i += 1;
            skip(&mut i);
            if body.get(i) != Some(&b'"') {
                continue;
            }
            let start = i + 1;
            let Some(len) = body[start..].iter().position(|&b| b == b'"' || b == b'\\') else { break };
            // A value with an escape in it is left as it is.
            if body[start + len] == b'"' && body[start..start + len].iter().any(|&b| not_in_a_path(b)) {
                spans.push(start..start + len);
            }
        }
    }
    if spans.is_empty() {
        return body;
    }
    spans.sort_by_key(|r| r.start);
    let mut out = Vec::with_capacity(body.len() + 16 * spans.len());
    let mut copied = 0;
    for span in spans {
        out.extend_from_slice(&body[copied..span.start]);
        for &b in &body[span.clone()] {
            if not_in_a_path(b) {
                out.extend_from_slice(format!("%{b:02X}").as_bytes());
            } else {
                out.push(b);
            }
        }
        copied = span.end;
    }
    out.extend_from_slice(&body[copied..]);
    out
}

/// Why a frame was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Headers without a usable `Content-Length`.
    Header(String),
    /// A body larger than [`MAX_BODY`] (it is skipped).
    TooLarge(usize),
}

/// Reads one frame's body. `Ok(None)` at the end of input.
pub async fn read_frame<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<Result<Vec<u8>, FrameError>>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut saw_any = false;
    loop {
        let mut line = Vec::new();
        let n = (&mut *r).take(MAX_HEADER_LINE as u64).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Ok(if saw_any { Some(Err(FrameError::Header("input ended inside headers".into()))) } else { None });
        }
        saw_any = true;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse().map_err(|_| format!("bad Content-Length `{}`", value.trim())));
            }
        } else if length.is_none() {
            length = Some(Err(format!("not a header line: `{}`", line.chars().take(40).collect::<String>())));
        }
    }
    let len = match length {
        Some(Ok(len)) => len,
        Some(Err(e)) => return Ok(Some(Err(FrameError::Header(e)))),
        None => return Ok(Some(Err(FrameError::Header("no Content-Length header".into())))),
    };
    if len > MAX_BODY {
        tokio::io::copy(&mut (&mut *r).take(len as u64), &mut tokio::io::sink()).await?;
        return Ok(Some(Err(FrameError::TooLarge(len))));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(Ok(body)))
}

/// Whether tower-lsp-server can decode the body (it would otherwise end the stream); for a
/// large request, its [`Head`], read on the way. Refused: the JSON-RPC error code (-32700 for
/// text that is not JSON, -32600 for JSON that is no request, notification or response, such
/// as an `id` that is neither a string nor an integer) and why.
fn is_json_rpc(body: &[u8]) -> Result<Option<Head>, (i64, String)> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Message {
        Response(Response),
        Request(Request),
    }
    // Large messages are documents being opened or replaced: checked by shape without copying
    // them (the exact check buffers the whole message, twice, before tower-lsp-server parses it
    // again).
    if body.len() > LARGE
        && let Some(head) = request_head(body)
    {
        return Ok(Some(head));
    }
    match serde_json::from_slice::<Message>(body) {
        Ok(_) => Ok(None),
        Err(_) => match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Err(e) => Err((-32700, format!("Parse error: not JSON: {e}"))),
            Ok(_) => Err((
                -32600,
                "Invalid Request: JSON, but not a JSON-RPC 2.0 request, notification or response (an id must be \
                 a string or an integer)"
                    .into(),
            )),
        },
    }
}

/// Messages above this size are checked by [`request_head`] first.
const LARGE: usize = 64 * 1024;

/// A request's or notification's method and id, read without copying its parameters.
#[derive(Debug)]
struct Head {
    method: String,
    /// The id as written: a number or a string (a notification, or `null`, has none here).
    id: Option<Box<RawValue>>,
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.method == other.method && self.id.as_ref().map(|i| i.get()) == other.id.as_ref().map(|i| i.get())
    }
}

/// The [`Head`] of a request or notification as tower-lsp-server will accept it: `"jsonrpc":
/// "2.0"`, a string `method`, an `id` that is an integer, a string or null, and any `params`
/// (skipped, not copied); `None` for anything else.
fn request_head(body: &[u8]) -> Option<Head> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(#[allow(dead_code)] i64),
        Text(#[allow(dead_code)] String),
        Null(()),
    }
    #[derive(Deserialize)]
    struct Shape<'a> {
        #[serde(borrow)]
        jsonrpc: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        method: std::borrow::Cow<'a, str>,
        #[serde(default, borrow)]
        id: Option<&'a RawValue>,
        #[serde(default)]
        #[allow(dead_code)]
        params: Option<serde::de::IgnoredAny>,
    }
    let shape =
        serde_json::from_slice::<Shape<'_>>(body).ok().filter(|s| s.jsonrpc == "2.0" && !s.method.is_empty())?;
    let id = match shape.id {
        None => None,
        Some(raw) => match serde_json::from_str::<Id>(raw.get()).ok()? {
            Id::Null(()) => None,
            _ => Some(raw.to_owned()),
        },
    };
    Some(Head { method: shape.method.into_owned(), id })
}

fn header(body_len: usize) -> String {
    format!("Content-Length: {body_len}\r\n\r\n")
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = header(body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Notifications written to the output without passing through tower-lsp-server. Every
/// message of one method must take the same way, or they could overtake each other.
#[derive(Debug, Clone)]
pub struct Outbox(mpsc::UnboundedSender<Vec<u8>>);

impl Outbox {
    /// Queues one framed message; `false` once the output is gone.
    fn send(&self, framed: Vec<u8>) -> bool {
        self.0.send(framed).is_ok()
    }

    /// Serializes and queues one notification; `false` once the output is gone.
    pub fn notify<P: Serialize>(&self, method: &str, params: &P) -> bool {
        let mut body = Vec::with_capacity(256);
        body.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
        let framed = serde_json::to_writer(&mut body, method)
            .and_then(|()| {
                body.extend_from_slice(br#","params":"#);
                serde_json::to_writer(&mut body, params)
            })
            .map(|()| {
                body.push(b'}');
                frame(&body)
            });
        match framed {
            Ok(bytes) => self.send(bytes),
            Err(e) => {
                tracing::error!("cannot serialize a {method} notification: {e}");
                false
            }
        }
    }
}

/// Requests the server answers from the raw message to the raw result: those whose parameters
/// and results are large, where tower-lsp-server's `serde_json::Value` round trip (the message
/// parsed into a tree, buffered, copied and converted; the result converted into a tree and
/// serialized) is most of the time. `workspace/diagnostic` names every reported file twice
/// over (about 1 MB each way for 7,000 files).
///
/// Such a request keeps its place among the other messages: the reader puts its body aside
/// and sends tower-lsp-server a small notification ([`SHORTCUT_METHOD`]) in its place, so it
/// is handled after every message before it was started, as any request would be; the
/// handler of that notification ([`Shortcuts::run`]) answers it through the [`Outbox`].
pub trait Shortcut: Send + Sync {
    /// The methods it answers: only requests of these are offered to [`Shortcut::answer`].
    fn methods(&self) -> &'static [&'static str];
    /// Whether requests may take the shortcut now: after `initialized`, when tower-lsp-server
    /// takes notifications (before, it answers requests itself with the error they deserve).
    fn ready(&self) -> bool;
    /// The JSON `result` for the request `body`, or why it is refused (a JSON-RPC error code
    /// and message, e.g. -32602 for parameters that do not parse).
    fn answer(&self, body: &[u8]) -> Result<std::sync::Arc<[u8]>, (i64, String)>;
}

/// The notification that takes a shortcut request's place in the queue to tower-lsp-server;
/// its parameters are `{"slot": N}`, the request put aside.
pub const SHORTCUT_METHOD: &str = "synergy/internal/shortcut";

/// The slot of a request put aside ([`SHORTCUT_METHOD`]'s parameters).
#[derive(Debug, Deserialize)]
pub struct Slot {
    pub slot: u64,
}

/// The server's [`Shortcut`] (set once the server exists: the transport starts first) and
/// the requests put aside for it until their turn. Holds the shortcut weakly, so a server
/// that holds this is dropped with its session.
#[derive(Clone, Default)]
pub struct Shortcuts(std::sync::Arc<ShortcutsInner>);

/// A request put aside: its raw id and its body.
type Aside = (Box<RawValue>, Vec<u8>);

#[derive(Default)]
struct ShortcutsInner {
    shortcut: std::sync::OnceLock<std::sync::Weak<dyn Shortcut>>,
    /// Requests put aside, by slot.
    aside: std::sync::Mutex<std::collections::HashMap<u64, Aside>>,
    next: std::sync::atomic::AtomicU64,
    outbox: std::sync::OnceLock<Outbox>,
}

impl Shortcuts {
    /// Sets the shortcut (the first one set stays).
    pub fn set(&self, shortcut: std::sync::Weak<dyn Shortcut>) {
        let _ = self.0.shortcut.set(shortcut);
    }

    fn shortcut(&self) -> Option<std::sync::Arc<dyn Shortcut>> {
        self.0.shortcut.get()?.upgrade()
    }

    /// If the shortcut takes the request `body` (`head` is its [`Head`] when already read,
    /// else the body is searched for the shortcut's method names as JSON strings first: inside
    /// a document's text the quotes would be escaped), puts it aside and puts the notification
    /// to send tower-lsp-server in its place.
    fn put_aside(&self, head: Option<&Head>, body: &mut Vec<u8>) -> bool {
        let Some(shortcut) = self.shortcut().filter(|s| s.ready()) else { return false };
        let read;
        let head = match head {
            Some(head) => head,
            None => {
                let named = |m: &&str| memchr::memmem::find(body, format!("\"{m}\"").as_bytes()).is_some();
                if body.len() > LARGE || !shortcut.methods().iter().any(named) {
                    return false;
                }
                let Some(h) = request_head(body) else { return false };
                read = h;
                &read
            }
        };
        // A notification is tower-lsp-server's to refuse.
        let Some(id) = head.id.as_ref().filter(|_| shortcut.methods().contains(&head.method.as_str())) else {
            return false;
        };
        let slot = self.0.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stand_in = format!(r#"{{"jsonrpc":"2.0","method":"{SHORTCUT_METHOD}","params":{{"slot":{slot}}}}}"#);
        let body = std::mem::replace(body, stand_in.into_bytes());
        self.0.aside.lock().unwrap_or_else(|e| e.into_inner()).insert(slot, (id.clone(), body));
        true
    }

    /// Answers the request put aside in `slot` (its turn has come: [`SHORTCUT_METHOD`]'s
    /// handler calls this) through the [`Outbox`]: its result, its refusal, or an internal
    /// error if the shortcut panicked (the session goes on).
    pub fn run(&self, slot: u64) {
        let Some((id, body)) = self.0.aside.lock().unwrap_or_else(|e| e.into_inner()).remove(&slot) else { return };
        let Some(outbox) = self.0.outbox.get() else { return };
        let answered = match self.shortcut() {
            None => Err((-32603, "the server is gone".to_string())),
            Some(shortcut) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shortcut.answer(&body)))
                .unwrap_or_else(|_| {
                    tracing::error!("a shortcut request panicked");
                    Err((-32603, "synergy-ls: internal error".to_string()))
                }),
        };
        let mut response = Vec::with_capacity(answered.as_ref().map_or(128, |r| r.len() + 64));
        response.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        response.extend_from_slice(id.get().as_bytes());
        match answered {
            Ok(result) => {
                response.extend_from_slice(br#","result":"#);
                response.extend_from_slice(&result);
                response.push(b'}');
            }
            Err((code, message)) => {
                let error = json!({"code": code, "message": message});
                response.extend_from_slice(format!(r#","error":{error}}}"#).as_bytes());
            }
        }
        outbox.send(frame(&response));
    }
}

impl std::fmt::Debug for Shortcuts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shortcuts").field("set", &self.0.shortcut.get().is_some()).finish()
    }
}

fn error_frame(code: i64, message: &str) -> Vec<u8> {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    frame(body.to_string().as_bytes())
}

/// Serves `service` on `input`/`output` behind the guard.
pub async fn serve<I, O>(
    input: I,
    mut output: O,
    ending: Ending,
    service: impl FnOnce(
        tokio::io::DuplexStream,
        tokio::io::DuplexStream,
        Outbox,
        Shortcuts,
    ) -> futures::future::BoxFuture<'static, ()>,
) -> u8
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (server_in, mut feed) = tokio::io::duplex(PIPE);
    let (server_out, drain) = tokio::io::duplex(PIPE);
    // Frames that bypass the server's pipe: refusals from the reader, and the Outbox.
    let (direct_tx, mut direct_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let outbox = Outbox(direct_tx.clone());
    let shortcuts = Shortcuts::default();
    let _ = shortcuts.0.outbox.set(outbox.clone());

    let ends = ending.clone();
    let taken = shortcuts.clone();
    let reader = tokio::spawn(async move {
        let ending = ends;
        let mut input = BufReader::with_capacity(PIPE, input);
        loop {
            let refused = match read_frame(&mut input).await {
                Ok(None) => break,
                Err(e) => {
                    tracing::error!("reading stdin failed: {e}");
                    break;
                }
                Ok(Some(Ok(body))) => match is_json_rpc(&body) {
                    Ok(head) => {
                        let mut body = valid_uris(body);
                        learn_tokens(&body);
                        if !ending.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
                            taken.put_aside(head.as_ref(), &mut body);
                        }
                        let method = lifecycle_method(&body);
                        if method.as_deref() == Some("shutdown") {
                            ending.shutdown_requested();
                        }
                        // Header and body written apart: a 50 MB document is not copied again.
                        if feed.write_all(header(body.len()).as_bytes()).await.is_err()
                            || feed.write_all(&body).await.is_err()
                        {
                            break; // the server has exited
                        }
                        if method.as_deref() == Some("exit") {
                            ending.end(EndReason::Exit);
                            return;
                        }
                        continue;
                    }
                    Err(refused) => refused,
                },
                Ok(Some(Err(FrameError::Header(why)))) => (-32700, format!("Parse error: {why}")),
                Ok(Some(Err(FrameError::TooLarge(n)))) => {
                    (-32600, format!("Invalid request: message of {n} bytes exceeds the {MAX_BODY}-byte limit"))
                }
            };
            tracing::error!(code = refused.0, "refused a message from the client: {}", refused.1);
            let _ = direct_tx.send(error_frame(refused.0, &refused.1));
        }
        // End of input: the server sees its stdin close, and has [`GRACE`] to finish.
        drop(feed);
        ending.end(EndReason::InputClosed);
    });

    // The server's own messages are framed by a task of their own and handed over whole:
    // `read_frame` is not cancellation-safe, so racing it against the Outbox in `select!` would
    // drop a half-read message (a large `workspace/applyEdit` or references answer) whenever a
    // notification arrived while it was being read.
    let (server_tx, mut server_rx) = mpsc::channel::<Vec<u8>>(64);
    let pump = tokio::spawn(async move {
        let mut drain = BufReader::with_capacity(PIPE, drain);
        // Until the server has exited (after `exit`) or the writer is gone.
        while let Ok(Some(Ok(body))) = read_frame(&mut drain).await {
            if server_tx.send(frame(&body)).await.is_err() {
                break;
            }
        }
    });
    let writer = tokio::spawn(async move {
        loop {
            let mut bytes = tokio::select! {
                biased;
                from_server = server_rx.recv() => match from_server {
                    Some(bytes) => bytes,
                    // The server has exited (after `exit`): stop now, even though the client may
                    // keep stdin open, so the process ends at once.
                    None => break,
                },
                Some(direct) = direct_rx.recv() => direct,
            };
            // Notifications queued meanwhile go out in the same write (in their order): a
            // workspace's thousands of `publishDiagnostics` cost a few writes, and the client
            // a few wake-ups, instead of one each.
            while bytes.len() < PIPE {
                match direct_rx.try_recv() {
                    Ok(more) => bytes.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
            if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });

    let mut running = std::pin::pin!(service(server_in, server_out, outbox, shortcuts));
    let mut writer = writer;
    tokio::select! {
        () = &mut running => {
            // Let the writer finish what the server wrote.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), &mut writer).await;
        }
        reason = ending.ended() => {
            tracing::debug!(?reason, "the session ended");
            // Handlers still running get a moment, not a promise: one may be waiting on an
            // editor that is gone.
            let _ = tokio::time::timeout(GRACE, &mut running).await;
            let _ = tokio::time::timeout(GRACE, &mut writer).await;
        }
    }
    writer.abort();
    pump.abort();
    reader.abort();
    ending.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shortcut for `x/big` that answers with the body's length, or panics for `"boom"`.
    struct Lengths;

    impl Shortcut for Lengths {
        fn methods(&self) -> &'static [&'static str] {
            &["x/big"]
        }
        fn ready(&self) -> bool {
            true
        }
        fn answer(&self, body: &[u8]) -> Result<std::sync::Arc<[u8]>, (i64, String)> {
            assert!(!body.windows(6).any(|w| w == b"\"boom\""), "boom");
            Ok(body.len().to_string().into_bytes().into())
        }
    }

    /// Only requests of the shortcut's methods with a number or string id are put aside,
    /// whatever else mentions the method; each is answered in its slot with its own id, and a
    /// panic is an internal error, not the end of the session.
    #[tokio::test]
    async fn shortcut_requests_are_put_aside_and_answered_in_their_turn() {
        let shortcut: std::sync::Arc<dyn Shortcut> = std::sync::Arc::new(Lengths);
        let shortcuts = Shortcuts::default();
        shortcuts.set(std::sync::Arc::downgrade(&shortcut));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _ = shortcuts.0.outbox.set(Outbox(tx));
        let taken = |body: &str| {
            let mut bytes = body.as_bytes().to_vec();
            let aside = shortcuts.put_aside(None, &mut bytes);
            (aside, String::from_utf8(bytes).unwrap())
        };
        for untouched in [
            r#"{"jsonrpc":"2.0","method":"x/big","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"x/big","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x/small","params":{"text":"\"x/big\""}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/didChange","params":{"method":"x/big"}}"#,
            r#"not JSON "x/big""#,
        ] {
            assert_eq!(taken(untouched), (false, untouched.to_string()));
        }
        let (aside, stand_in) = taken(r#"{"jsonrpc":"2.0","id":"a-1","method":"x/big","params":{"n":1}}"#);
        assert!(aside);
        assert_eq!(stand_in, format!(r#"{{"jsonrpc":"2.0","method":"{SHORTCUT_METHOD}","params":{{"slot":0}}}}"#));
        assert!(taken(r#"{"jsonrpc":"2.0","id":7,"method":"x/big","params":"boom"}"#).0);
        shortcuts.run(1);
        shortcuts.run(0);
        shortcuts.run(0); // answered once
        let answer = |bytes: Vec<u8>| -> serde_json::Value {
            let text = String::from_utf8(bytes).unwrap();
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap()
        };
        let boom = answer(rx.try_recv().unwrap());
        assert_eq!((boom["id"].clone(), boom["error"]["code"].clone()), (json!(7), json!(-32603)), "{boom}");
        let ok = answer(rx.try_recv().unwrap());
        assert_eq!(ok, json!({"jsonrpc": "2.0", "id": "a-1", "result": 62}));
        assert!(rx.try_recv().is_err());
        // A head already read (a large message's) is used as it is.
        let body = br#"{"jsonrpc":"2.0","id":2,"method":"x/big","params":{}}"#.to_vec();
        let head = request_head(&body).unwrap();
        assert!(shortcuts.put_aside(Some(&head), &mut body.clone()));
        let other = Head { method: "x/other".into(), ..head };
        assert!(!shortcuts.put_aside(Some(&other), &mut body.clone()));
    }

    async fn frames(input: &[u8]) -> Vec<Result<String, FrameError>> {
        let mut r = BufReader::new(input);
        let mut out = Vec::new();
        while let Some(f) = read_frame(&mut r).await.unwrap() {
            out.push(f.map(|b| String::from_utf8(b).unwrap()));
        }
        out
    }

    #[tokio::test]
    async fn frames_and_resynchronises() {
        let input = b"Content-Length: 2\r\n\r\n{}content-length:3\r\nContent-Type: x\r\n\r\n[1]garbage\r\n\r\nContent-Length: x\r\n\r\nContent-Length: 4\r\n\r\nnull";
        let got = frames(input).await;
        assert_eq!(got[0], Ok("{}".into()));
        assert_eq!(got[1], Ok("[1]".into()));
        assert!(matches!(&got[2], Err(FrameError::Header(m)) if m.contains("not a header line")));
        assert!(matches!(&got[3], Err(FrameError::Header(m)) if m.contains("bad Content-Length")));
        assert_eq!(got[4], Ok("null".into()));
        assert_eq!(got.len(), 5);
    }

    #[tokio::test]
    async fn outbox_frames_a_notification() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let outbox = Outbox(tx);
        assert!(outbox.notify("textDocument/publishDiagnostics", &json!({"uri": "file:///a\"b", "diagnostics": []})));
        let bytes = rx.recv().await.unwrap();
        let got = frames(&bytes).await;
        let [Ok(body)] = &got[..] else { panic!("one frame: {got:?}") };
        assert!(is_json_rpc(body.as_bytes()).is_ok());
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            value,
            json!({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": {"uri": "file:///a\"b", "diagnostics": []}})
        );
        drop(rx);
        assert!(!outbox.notify("x", &()), "the output is gone");
    }

    /// A large message from the server (several pipe buffers) while the Outbox sends
    /// notifications all the time: every message arrives whole, in one piece each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_server_messages_survive_outbox_traffic() {
        use tokio::io::AsyncWriteExt;
        let (client_out, server_reads) = tokio::io::duplex(1 << 20);
        let (server_writes, client_in) = tokio::io::duplex(1 << 20);
        let big =
            format!(r#"{{"jsonrpc":"2.0","id":7,"method":"workspace/applyEdit","params":"{}"}}"#, "x".repeat(PIPE * 5));
        let sent = big.clone();
        let session = tokio::spawn(serve(
            server_reads,
            server_writes,
            Ending::default(),
            move |_input, mut output, outbox, _shortcuts| {
                Box::pin(async move {
                    let noise = tokio::spawn(async move {
                        for i in 0..2_000 {
                            outbox.notify(
                                "textDocument/publishDiagnostics",
                                &json!({"uri": format!("file:///{i}"), "diagnostics": []}),
                            );
                            if i % 50 == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    });
                    for _ in 0..5 {
                        // In small writes, as a slow serializer would.
                        let framed = frame(sent.as_bytes());
                        for chunk in framed.chunks(4096) {
                            output.write_all(chunk).await.unwrap();
                            tokio::task::yield_now().await;
                        }
                    }
                    noise.await.unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                })
            },
        ));
        let mut reader = BufReader::new(client_in);
        let (mut whole, mut notifications) = (0, 0);
        while whole < 5 || notifications < 2_000 {
            let body = tokio::time::timeout(std::time::Duration::from_secs(10), read_frame(&mut reader))
                .await
                .expect("every message arrives")
                .unwrap()
                .expect("the stream goes on")
                .expect("a well-formed frame");
            if body.starts_with(br#"{"jsonrpc":"2.0","id":7"#) {
                assert_eq!(body, big.as_bytes(), "the large message arrived whole");
                whole += 1;
            } else {
                assert!(is_json_rpc(&body).is_ok(), "{}", String::from_utf8_lossy(&body[..body.len().min(200)]));
                notifications += 1;
            }
        }
        drop(client_out);
        let _ = session.await;
    }

    #[test]
    fn uris_with_characters_a_path_may_not_hold() {
        let fixed = |s: &str| String::from_utf8(valid_uris(s.as_bytes().to_vec())).unwrap();
        let open = r#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri" : "file:///w/blog/[slug] x.md","text":"see \"uri\":\"[a]\" job:x"}}}"#;
        assert_eq!(
            fixed(open),
            r#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri" : "file:///w/blog/%5Bslug%5D%20x.md","text":"see \"uri\":\"[a]\" job:x"}}}"#,
            "the URI is encoded; the document's text is not touched"
        );
        let init = r#"{"rootUri":"file:///w/a|b","workspaceFolders":[{"uri":"file:///w/a|b","name":"[x]"}]}"#;
        assert_eq!(
            fixed(init),
            r#"{"rootUri":"file:///w/a%7Cb","workspaceFolders":[{"uri":"file:///w/a%7Cb","name":"[x]"}]}"#
        );
        let fine = r#"{"uri":"file:///w/%5Bslug%5D.md"}"#;
        assert_eq!(fixed(fine), fine);
        // A value with an escape is left as it is (and so is everything after a broken one).
        assert_eq!(fixed(r#"{"uri":"file:///a\"[b].md"}"#), r#"{"uri":"file:///a\"[b].md"}"#);
    }

    #[test]
    fn json_rpc_shapes() {
        assert!(is_json_rpc(br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#).is_ok());
        assert!(is_json_rpc(br#"{"jsonrpc":"2.0","id":1,"result":null}"#).is_ok());
        assert_eq!(is_json_rpc(b"{oops}").unwrap_err().0, -32700);
        assert!(is_json_rpc(b"{oops}").unwrap_err().1.starts_with("Parse error: not JSON"));
        assert_eq!(is_json_rpc(b"[1,2]").unwrap_err().0, -32600);
        assert!(is_json_rpc(b"[1,2]").unwrap_err().1.contains("not a JSON-RPC"));
        for id in ["1.5", "true", "{\"a\":1}", "9223372036854775813"] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"x"}}"#);
            assert_eq!(is_json_rpc(body.as_bytes()).unwrap_err().0, -32600, "{id}");
        }
        assert!(is_json_rpc(br#"{"jsonrpc":"1.0","method":"x"}"#).is_err());
        // Large messages: by shape, the same verdicts.
        let big = "x".repeat(LARGE);
        let open = format!(r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"text":"{big}"}}}}"#);
        let head = Head { method: "textDocument/didOpen".into(), id: None };
        assert_eq!(request_head(open.as_bytes()).as_ref(), Some(&head));
        assert_eq!(is_json_rpc(open.as_bytes()), Ok(Some(head)));
        let bad_id = format!(r#"{{"jsonrpc":"2.0","id":{{"a":1}},"method":"x","params":"{big}"}}"#);
        assert!(request_head(bad_id.as_bytes()).is_none() && is_json_rpc(bad_id.as_bytes()).is_err());
        let old = format!(r#"{{"jsonrpc":"1.0","method":"x","params":"{big}"}}"#);
        assert!(is_json_rpc(old.as_bytes()).is_err());
        let cut = &open.as_bytes()[..open.len() - 2];
        assert_eq!(is_json_rpc(cut).unwrap_err().0, -32700);
    }
}
