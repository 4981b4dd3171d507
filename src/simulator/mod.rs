//! A local stand-in for the 12d Synergy API, for the tests, the benchmarks and the demo.
//!
//! It serves the quick job search (`GET /api/v1/jobs/?name=&page=&page_size=`) with the
//! documented envelope and Job objects (the same `api::wire` structs the client decodes),
//! checks the Bearer token (401 otherwise), caps the page size like a real server may, matches
//! case-insensitively by substring or by prefix, and binds 127.0.0.1 only.
//!
//! Fault switches, settable at start, from a [`Simulator`] handle, or over HTTP with
//! `POST /__sim/control` (`{"fault": "outage", "latencyMs": 20, "errorRate": 0.1}`), and a request
//! counter at `GET /__sim/stats`. The control endpoints need no token: the simulator only
//! listens on loopback.

pub mod data;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};

use crate::api::wire::{PageEnvelope, WireJob};

/// How the search matches `name` against job names (both ignore case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    #[default]
    Contains,
    Prefix,
}

/// A fault the simulator can be switched into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    #[default]
    None,
    /// New connections are dropped and open ones are cut: the client sees a transport error.
    Outage,
    /// HTTP 500.
    Error500,
    /// HTTP 503.
    Error503,
    /// HTTP 429 with `Retry-After: 1`.
    RateLimit,
    /// HTTP 401, as for an expired or revoked PAT.
    Unauthorized,
    /// HTTP 200 with an HTML page.
    Html,
    /// HTTP 200 with JSON cut off halfway.
    Truncated,
    /// HTTP 502.
    Error502,
    /// HTTP 403, as for a PAT without access.
    Forbidden,
    /// HTTP 429 without `Retry-After`.
    RateLimitNoRetryAfter,
    /// HTTP 429 with `Retry-After: 86400` (synergy-ls caps the wait).
    RateLimitLong,
    /// HTTP 200 with JSON of another shape.
    WrongShape,
    /// HTTP 200 with an empty body.
    Empty,
    /// HTTP 200 with a body far larger than any real answer (64 MiB of JSON-looking bytes).
    Huge,
    /// HTTP 200 whose body arrives a few bytes a second.
    Trickle,
    /// No answer at all: the request hangs.
    Hang,
    /// A redirect to another host (port), which must not receive the token.
    RedirectElsewhere,
    /// Page counters that lie: `TotalPages` 50 while only the first page has rows, and every
    /// page repeating the first.
    LyingPages,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub token: String,
    pub match_mode: MatchMode,
    pub max_page_size: u64,
    pub latency: Duration,
    pub fault: Fault,
    pub jobs: Vec<WireJob>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            token: "demo-token".into(),
            match_mode: MatchMode::Contains,
            max_page_size: 20,
            latency: Duration::ZERO,
            fault: Fault::None,
            jobs: data::bundled_jobs(),
        }
    }
}

/// What can be changed while running.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Control {
    pub fault: Option<Fault>,
    pub latency_ms: Option<u64>,
    /// Fraction of searches answered with HTTP 500, in `[0, 1]`.
    pub error_rate: Option<f64>,
    /// Renames the job at `path` to `to` (its sub-jobs' paths follow), as a user of the web
    /// client would; its ID stays.
    pub rename: Option<RenameJob>,
    /// Deletes the job at this path.
    pub delete: Option<String>,
}

/// A job to rename (`POST /__sim/control` with `{"rename": {"path": "Riverside", "to": "Riverside Levee"}}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenameJob {
    pub path: String,
    pub to: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Search requests received (authorised or not).
    pub requests: u64,
    /// Searches per `name` parameter.
    pub by_name: HashMap<String, u64>,
    /// Requests that carried an `Authorization` header.
    #[serde(default)]
    pub with_authorization: u64,
}

struct Shared {
    token: String,
    match_mode: MatchMode,
    max_page_size: u64,
    jobs: std::sync::RwLock<Vec<(String, WireJob)>>,
    fault: Mutex<Fault>,
    latency_ms: AtomicU64,
    error_rate_ppm: AtomicU64,
    outage: AtomicBool,
    requests: AtomicU64,
    by_name: Mutex<HashMap<String, u64>>,
    /// Where `RedirectElsewhere` sends clients.
    redirect_port: AtomicU64,
    /// Requests that carried an `Authorization` header at all.
    with_authorization: AtomicU64,
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Simulator {
    /// Starts on `127.0.0.1:port` (0 picks a free port).
    pub async fn start(config: SimConfig, port: u16) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            token: config.token,
            match_mode: config.match_mode,
            max_page_size: config.max_page_size.max(1),
            jobs: std::sync::RwLock::new(
                config.jobs.into_iter().map(|j| (j.name.clone().unwrap_or_default().to_lowercase(), j)).collect(),
            ),
            fault: Mutex::new(Fault::None),
            latency_ms: AtomicU64::new(config.latency.as_millis() as u64),
            error_rate_ppm: AtomicU64::new(0),
            outage: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            by_name: Mutex::new(HashMap::new()),
            redirect_port: AtomicU64::new(9),
            with_authorization: AtomicU64::new(0),
        });
        shared.set_fault(config.fault);
        let app = Router::new()
            .route("/api/v1/jobs/", get(search))
            .route("/api/v1/jobs", get(search))
            .route("/__sim/stats", get(stats))
            .route("/__sim/control", post(control))
            .with_state(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listener = FaultyListener { inner: listener, shared: shared.clone() };
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Simulator { addr, shared, _stop: stop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give synergy-ls as `serverUrl`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_fault(&self, fault: Fault) {
        self.shared.set_fault(fault);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.latency_ms.store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn set_error_rate(&self, rate: f64) {
        self.shared.error_rate_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }

    /// Search requests received so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Search requests received for one `name`.
    pub fn requests_for(&self, name: &str) -> u64 {
        self.shared.by_name.lock().unwrap_or_else(|e| e.into_inner()).get(name).copied().unwrap_or(0)
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Where [`Fault::RedirectElsewhere`] sends clients: another port on 127.0.0.1.
    pub fn set_redirect_port(&self, port: u16) {
        self.shared.redirect_port.store(port.into(), Ordering::Relaxed);
    }

    /// Renames the job at `path` (and the paths of its sub-jobs), as a user of the web client
    /// would. Returns whether it existed.
    pub fn rename_job(&self, path: &str, new_name: &str) -> bool {
        self.shared.rename_job(path, new_name)
    }

    /// Deletes the job at `path`. Returns whether it existed.
    pub fn remove_job(&self, path: &str) -> bool {
        self.shared.remove_job(path)
    }
}

impl Shared {
    /// See [`Simulator::rename_job`].
    fn rename_job(&self, path: &str, new_name: &str) -> bool {
        let mut jobs = self.jobs.write().unwrap_or_else(|e| e.into_inner());
        let Some(old) = jobs.iter().position(|(_, j)| j.path.as_deref() == Some(path)) else { return false };
        let new_path = match path.rsplit_once('/') {
            Some((parent, _)) => format!("{parent}/{new_name}"),
            None => new_name.to_string(),
        };
        for (_, job) in jobs.iter_mut() {
            let Some(p) = job.path.clone() else { continue };
            if let Some(rest) = p.strip_prefix(path).filter(|r| r.is_empty() || r.starts_with('/')) {
                job.path = Some(format!("{new_path}{rest}"));
            }
        }
        let (lower, job) = &mut jobs[old];
        *lower = new_name.to_lowercase();
        job.name = Some(new_name.to_string());
        if let Some(e) = job.entity_object.as_mut() {
            e.name = Some(new_name.to_string());
        }
        true
    }

    /// See [`Simulator::remove_job`].
    fn remove_job(&self, path: &str) -> bool {
        let mut jobs = self.jobs.write().unwrap_or_else(|e| e.into_inner());
        let before = jobs.len();
        jobs.retain(|(_, j)| j.path.as_deref() != Some(path));
        jobs.len() != before
    }

    fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = fault;
        self.outage.store(fault == Fault::Outage, Ordering::Relaxed);
    }

    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stats(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            by_name: self.by_name.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            with_authorization: self.with_authorization.load(Ordering::Relaxed),
        }
    }

    /// Deterministic "random" draw for the error rate: every n-th request fails.
    fn draw_error(&self, n: u64) -> bool {
        let ppm = self.error_rate_ppm.load(Ordering::Relaxed);
        ppm > 0 && (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 44) % 1_000_000 < ppm
    }
}

/// Accepts connections, except during an outage, when it drops them at once, but for those
/// to the simulator's own endpoints (`/__sim/…`), so the outage can be switched off.
struct FaultyListener {
    inner: TcpListener,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for FaultyListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) if self.shared.outage.load(Ordering::Relaxed) => {
                    let mut head = [0u8; 16];
                    let peeked = tokio::time::timeout(Duration::from_millis(500), stream.peek(&mut head)).await;
                    if matches!(peeked, Ok(Ok(n)) if is_own_endpoint(&head[..n])) {
                        return (stream, addr);
                    }
                    drop(stream)
                }
                Ok(pair) => return pair,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Whether a request's first bytes ask for one of the simulator's own endpoints.
fn is_own_endpoint(head: &[u8]) -> bool {
    head.starts_with(b"GET /__sim/") || head.starts_with(b"POST /__sim/")
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    name: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
}

async fn search(State(sim): State<Arc<Shared>>, headers: HeaderMap, Query(q): Query<SearchQuery>) -> Response {
    let n = sim.requests.fetch_add(1, Ordering::Relaxed);
    if headers.contains_key(header::AUTHORIZATION) {
        sim.with_authorization.fetch_add(1, Ordering::Relaxed);
    }
    let name = q.name.unwrap_or_default();
    *sim.by_name.lock().unwrap_or_else(|e| e.into_inner()).entry(name.clone()).or_default() += 1;
    let latency = sim.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let fault = sim.fault();
    match fault {
        Fault::Outage => {
            // A connection opened before the outage: cut it mid-response.
            let body =
                Body::from_stream(futures::stream::once(async { Err::<Vec<u8>, _>(std::io::Error::other("outage")) }));
            return (StatusCode::OK, body).into_response();
        }
        Fault::Error500 => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Fault::Error503 => return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
        Fault::RateLimit => {
            return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "slow down").into_response();
        }
        Fault::Unauthorized => return StatusCode::UNAUTHORIZED.into_response(),
        Fault::Forbidden => return StatusCode::FORBIDDEN.into_response(),
        Fault::Error502 => return (StatusCode::BAD_GATEWAY, "<html>Bad Gateway</html>").into_response(),
        Fault::RateLimitNoRetryAfter => return (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response(),
        Fault::RateLimitLong => {
            return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "86400")], "slow down").into_response();
        }
        Fault::Hang => {
            std::future::pending::<()>().await;
        }
        Fault::RedirectElsewhere => {
            // Same host name, another port: another origin. The token must not follow.
            let port = sim.redirect_port.load(Ordering::Relaxed);
            let to = format!(
                "http://127.0.0.1:{port}/api/v1/jobs/?name={}",
                url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
            );
            return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
        }
        _ => {}
    }
    let expected = format!("Bearer {}", sim.token);
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if sim.draw_error(n) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    match fault {
        Fault::Html => {
            return ([(header::CONTENT_TYPE, "text/html")], "<html><body><h1>Sign in</h1></body></html>")
                .into_response();
        }
        Fault::Truncated => {
            return ([(header::CONTENT_TYPE, "application/json")], "{\"PageNumber\":1,\"Result\":[{\"Name\":\"Riv")
                .into_response();
        }
        Fault::WrongShape => {
            return (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"error\":{\"code\":\"Maintenance\"},\"Result\":42}",
            )
                .into_response();
        }
        Fault::Empty => return ([(header::CONTENT_TYPE, "application/json")], "").into_response(),
        Fault::Huge => {
            let chunk = axum::body::Bytes::from(vec![b' '; 1 << 20]);
            let stream = futures::stream::iter((0..64).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
            return ([(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response();
        }
        Fault::Trickle => {
            let stream = futures::stream::unfold(0u32, |i| async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                (i < 1000).then(|| (Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b" ")), i + 1))
            });
            return ([(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response();
        }
        _ => {}
    }
    let needle = name.trim().to_lowercase();
    let jobs = sim.jobs.read().unwrap_or_else(|e| e.into_inner());
    let matches: Vec<&WireJob> = jobs
        .iter()
        .filter(|(lower, _)| match sim.match_mode {
            MatchMode::Contains => lower.contains(&needle),
            MatchMode::Prefix => lower.starts_with(&needle),
        })
        .map(|(_, j)| j)
        .collect();
    let page_size = q.page_size.and_then(|s| s.parse::<u64>().ok()).unwrap_or(20).clamp(1, sim.max_page_size);
    let mut page = q.page.and_then(|s| s.parse::<u64>().ok()).unwrap_or(1).max(1);
    let mut total_rows = matches.len() as u64;
    let mut total_pages = total_rows.div_ceil(page_size);
    if fault == Fault::LyingPages {
        (page, total_pages, total_rows) = (1, 50, 50 * page_size);
    }
    let start = ((page - 1) * page_size).min(total_rows) as usize;
    let end = (start + page_size as usize).min(matches.len());
    let envelope = PageEnvelope {
        page_number: Some(page as i64),
        page_size: Some(page_size as i64),
        total_rows: Some(total_rows as i64),
        total_pages: Some(total_pages as i64),
        result: matches[start..end].iter().map(|j| (*j).clone()).collect(),
    };
    axum::Json(envelope).into_response()
}

async fn stats(State(sim): State<Arc<Shared>>) -> axum::Json<Stats> {
    axum::Json(sim.stats())
}

async fn control(State(sim): State<Arc<Shared>>, axum::Json(c): axum::Json<Control>) -> StatusCode {
    if let Some(f) = c.fault {
        sim.set_fault(f);
    }
    if let Some(ms) = c.latency_ms {
        sim.latency_ms.store(ms, Ordering::Relaxed);
    }
    if let Some(rate) = c.error_rate {
        sim.error_rate_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }
    // A job that is not there: 404, and nothing else of the request is undone.
    let mut found = true;
    if let Some(r) = c.rename {
        found &= sim.rename_job(&r.path, &r.to);
    }
    if let Some(path) = c.delete {
        found &= sim.remove_job(&path);
    }
    if found { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }
}

/// Loads a dataset file: a JSON array of Job objects (the API's shape; missing fields allowed)
/// or a search envelope with `Result`.
pub fn load_jobs(path: &std::path::Path) -> Result<Vec<WireJob>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let array = match value {
        serde_json::Value::Object(mut o) => o.remove("Result").unwrap_or_default(),
        v => v,
    };
    serde_json::from_value(array).map_err(|e| format!("{}: expected an array of jobs: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn control_and_stats_over_http() {
        let sim = Simulator::start(SimConfig::default(), 0).await.unwrap();
        let http = reqwest::Client::new();
        let search = |token: &'static str| {
            http.get(format!("{}/api/v1/jobs/?name=High+way&page=1&page_size=5", sim.url())).bearer_auth(token).send()
        };
        assert_eq!(search("wrong").await.unwrap().status(), 401);
        let body = search("demo-token").await.unwrap().text().await.unwrap();
        let page: PageEnvelope<WireJob> = serde_json::from_str(&body).unwrap();
        assert_eq!((page.page_size, page.total_rows), (Some(5), Some(0)), "`+` decodes to a space");
        let control = http
            .post(format!("{}/__sim/control", sim.url()))
            .header("content-type", "application/json")
            .body(r#"{"fault": "error503", "latencyMs": 1}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(control.status(), 204);
        assert_eq!(search("demo-token").await.unwrap().status(), 503);
        let stats = http.get(format!("{}/__sim/stats", sim.url())).send().await.unwrap().text().await.unwrap();
        let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
        assert_eq!(stats["requests"], 3);
        assert_eq!(stats["byName"]["High way"], 3);
        // Renaming and deleting jobs at run time, as the web client would.
        let post = |body: &'static str| {
            http.post(format!("{}/__sim/control", sim.url()))
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        // An outage cuts the API, not the control: it can be switched off again.
        assert_eq!(post(r#"{"fault": "outage"}"#).await.unwrap().status(), 204);
        assert!(search("demo-token").await.is_err());
        assert_eq!(post(r#"{"fault": "none"}"#).await.unwrap().status(), 204);
        assert_eq!(search("demo-token").await.unwrap().status(), 200);
        let names = |query: &'static str| {
            let http = http.clone();
            let url = format!("{}/api/v1/jobs/?name={query}&page=1&page_size=20", sim.url());
            async move {
                let body = http.get(url).bearer_auth("demo-token").send().await.unwrap().text().await.unwrap();
                let page: PageEnvelope<WireJob> = serde_json::from_str(&body).unwrap();
                page.result.into_iter().filter_map(|j| j.name).collect::<Vec<_>>()
            }
        };
        assert!(names("Riverside+Levee").await.is_empty());
        assert_eq!(post(r#"{"rename": {"path": "Riverside", "to": "Riverside Levee"}}"#).await.unwrap().status(), 204);
        assert_eq!(names("Riverside+Levee").await, ["Riverside Levee"]);
        assert_eq!(post(r#"{"delete": "Riverside Levee"}"#).await.unwrap().status(), 204);
        assert!(names("Riverside+Levee").await.is_empty());
        assert_eq!(post(r#"{"delete": "No Such Job"}"#).await.unwrap().status(), 404);
    }

    #[test]
    fn loads_a_dataset_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.json");
        std::fs::write(&path, r#"[{"Name": "A", "Path": "A"}, {"Name": "B", "Description": "<p>x</p>"}]"#).unwrap();
        let jobs = load_jobs(&path).unwrap();
        assert_eq!(jobs.len(), 2);
        std::fs::write(&path, r#"{"PageNumber": 1, "Result": [{"Name": "C"}]}"#).unwrap();
        assert_eq!(load_jobs(&path).unwrap()[0].name.as_deref(), Some("C"));
        std::fs::write(&path, "{").unwrap();
        assert!(load_jobs(&path).unwrap_err().contains("not JSON"));
    }
}
