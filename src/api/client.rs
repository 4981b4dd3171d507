//! The HTTP client for the quick job search (`GET /api/v1/jobs/?name=…&page=…&page_size=…`).
//!
//! One request per call: paging, retries, caching and politeness live in `resolve`. What this
//! guarantees: rustls with certificate verification (system roots plus `caCertificates`);
//! connect timeout 5 s and request timeout `requestTimeoutSeconds` (10 s); proxies from
//! `HTTPS_PROXY`/`NO_PROXY`; `User-Agent: synergy-ls/<version>`; a response size cap; no plain HTTP to a
//! non-loopback host unless `allowInsecureHttp`; redirects followed only within the same origin,
//! so the `Authorization` header never reaches another host.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use url::Url;

use super::error::ApiError;
use super::wire::{PageEnvelope, WireJob};
use crate::config::Secret;
use crate::model::Job;

/// Bodies larger than this are refused: a real page of jobs is a few hundred kilobytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `Retry-After` honoured: a server asking for a day gets a minute.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One page of search results, converted to domain jobs.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub jobs: Vec<Job>,
    /// The page size the server used (it may cap the one asked for).
    pub page_size: Option<u64>,
    pub total_pages: Option<u64>,
    pub total_rows: Option<u64>,
}

/// What the client needs to know; built from `Config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    pub server_url: Option<String>,
    pub token: Option<Secret>,
    pub allow_insecure_http: bool,
    pub ca_certificates: Vec<String>,
    pub request_timeout: Duration,
}

impl ClientSettings {
    pub fn from_config(config: &crate::config::Config) -> ClientSettings {
        ClientSettings {
            server_url: config.server_url.clone(),
            token: config.token.clone(),
            allow_insecure_http: config.allow_insecure_http,
            ca_certificates: config.ca_certificates.clone(),
            request_timeout: Duration::from_secs(config.request_timeout_seconds.max(1)),
        }
    }

    /// Settings for `url` and `token` with every other setting at its default.
    pub fn new(server_url: Option<&str>, token: Option<&str>) -> ClientSettings {
        ClientSettings {
            server_url: server_url.map(str::to_string),
            token: token.map(Secret::new),
            allow_insecure_http: false,
            ca_certificates: Vec::new(),
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

/// A configured client. A misconfiguration is kept as the error every call returns, so the
/// resolver reports it like any other unavailability.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Result<Ready, ApiError>,
}

#[derive(Debug, Clone)]
struct Ready {
    /// Built on first use: building it loads the system's root certificates (tens of
    /// milliseconds), which `initialize` and a `check` of a clean tree need not wait for.
    http: std::sync::Arc<std::sync::OnceLock<Result<reqwest::Client, ApiError>>>,
    setup: HttpSetup,
    search_url: Url,
    auth: HeaderValue,
}

/// What the HTTP client is built from; checked (CA files read and parsed) when settings apply.
#[derive(Debug, Clone)]
struct HttpSetup {
    certificates: Vec<reqwest::Certificate>,
    timeout: Duration,
    https_only: bool,
    /// The server is on this machine: no proxy, whatever the environment or the system says
    /// (Windows itself never proxies loopback, and a proxy must not see a token sent to a
    /// loopback server over plain HTTP).
    direct: bool,
    origin: url::Origin,
}

impl HttpSetup {
    fn build(&self) -> Result<reqwest::Client, ApiError> {
        let mut builder = reqwest::Client::builder();
        for cert in &self.certificates {
            builder = builder.add_root_certificate(cert.clone());
        }
        let origin = self.origin.clone();
        // The proxy is the system's (reqwest's default, with its `system-proxy` feature):
        // HTTPS_PROXY / HTTP_PROXY / NO_PROXY, else the Windows Internet Settings
        // (ProxyEnable, ProxyServer, ProxyOverride) or macOS's network configuration.
        if self.direct {
            builder = builder.no_proxy();
        }
        builder
            .user_agent(concat!("synergy-ls/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT.min(self.timeout))
            .timeout(self.timeout)
            .https_only(self.https_only)
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() < 5 && attempt.url().origin() == origin {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|e| ApiError::BadUrl(format!("could not set up HTTP: {e}")))
    }
}

impl Ready {
    fn http(&self) -> Result<&reqwest::Client, ApiError> {
        self.http.get_or_init(|| self.setup.build()).as_ref().map_err(Clone::clone)
    }
}

impl Client {
    pub fn new(settings: &ClientSettings) -> Client {
        Client { inner: Ready::new(settings) }
    }

    /// The server's origin, for cache keys and messages (never includes credentials).
    pub fn origin(&self) -> Option<String> {
        self.inner.as_ref().ok().map(|r| r.search_url.origin().ascii_serialization())
    }

    /// The configuration problem, if the client cannot make requests at all.
    pub fn config_error(&self) -> Option<&ApiError> {
        self.inner.as_ref().err()
    }

    /// Fetches one page of the quick job search.
    pub async fn search(&self, name: &str, page: u64, page_size: u64) -> Result<SearchPage, ApiError> {
        let ready = self.inner.as_ref().map_err(Clone::clone)?;
        let url = ready.url(name, page, page_size);
        let response = ready
            .http()?
            .get(url)
            .header(AUTHORIZATION, ready.auth.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(ApiError::Redirected);
        }
        match status.as_u16() {
            200..=299 => {}
            401 | 403 => return Err(ApiError::Unauthorized(status.as_u16())),
            429 => {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
                return Err(ApiError::RateLimited { retry_after });
            }
            s => return Err(ApiError::Status(s)),
        }
        let body = read_capped(response).await?;
        decode_page(&body)
    }
}

impl Ready {
    /// The search URL. `append_pair` form-encodes: a space becomes `+`, as the API docs show.
    fn url(&self, name: &str, page: u64, page_size: u64) -> Url {
        let mut url = self.search_url.clone();
        url.query_pairs_mut()
            .append_pair("name", name)
            .append_pair("page", &page.to_string())
            .append_pair("page_size", &page_size.to_string());
        url
    }

    fn new(settings: &ClientSettings) -> Result<Ready, ApiError> {
        let raw = settings.server_url.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let raw = raw.ok_or(ApiError::NotConfigured)?;
        let mut base = Url::parse(raw).map_err(|e| ApiError::BadUrl(format!("serverUrl `{raw}` is not a URL: {e}")))?;
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ApiError::BadUrl("serverUrl must not contain credentials; use the token".into()));
        }
        match base.scheme() {
            "https" => {}
            "http" if settings.allow_insecure_http || is_loopback(&base) => {}
            "http" => {
                return Err(ApiError::BadUrl(format!(
                    "refusing to send the token in clear text to {}: use https://, or set allowInsecureHttp",
                    base.host_str().unwrap_or("?")
                )));
            }
            other => return Err(ApiError::BadUrl(format!("serverUrl scheme `{other}` is not http or https"))),
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let search_url = base.join("api/v1/jobs/").map_err(|e| ApiError::BadUrl(e.to_string()))?;
        let token = settings.token.as_ref().filter(|t| !t.is_empty()).ok_or(ApiError::NoToken)?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose().trim()))
            .map_err(|_| ApiError::BadUrl("the token contains characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let mut certificates = Vec::new();
        for path in &settings.ca_certificates {
            let pem = std::fs::read(path)
                .map_err(|e| ApiError::BadUrl(format!("caCertificates: cannot read {path}: {e}")))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ApiError::BadUrl(format!("caCertificates: {path} holds no PEM certificate")))?;
            certificates.extend(certs);
        }
        let setup = HttpSetup {
            certificates,
            timeout: settings.request_timeout,
            https_only: !settings.allow_insecure_http && !is_loopback(&base),
            direct: is_loopback(&base),
            origin: search_url.origin(),
        };
        Ok(Ready { http: Default::default(), setup, search_url, auth })
    }
}

/// The warning owed to a user who opted into sending the token over plain HTTP to another host.
pub fn insecure_warning(settings: &ClientSettings) -> Option<String> {
    let url = Url::parse(settings.server_url.as_deref()?.trim()).ok()?;
    (settings.allow_insecure_http && url.scheme() == "http" && !is_loopback(&url)).then(|| {
        format!(
            "allowInsecureHttp is set: the token is sent in clear text to {}; anyone on the network path can read it.",
            url.host_str().unwrap_or("the server")
        )
    })
}

/// `host[:port]` of a server URL (the port only when it is not the scheme's default), for
/// people: status items and messages. Credentials are refused in server URLs, so none show.
pub fn host_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// Whether the URL's host is on this machine (plain HTTP is always allowed there).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn transport_error(e: reqwest::Error) -> ApiError {
    let e = e.without_url();
    if e.is_timeout() {
        return ApiError::Timeout;
    }
    // The chain holds the useful part ("connection refused", "invalid peer certificate").
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    ApiError::Connect(detail)
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, ApiError> {
    if response.content_length().is_some_and(|n| n as usize > MAX_BODY_BYTES) {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::TooLarge(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Decodes a search page; exposed for the fuzz targets and tests.
pub fn decode_page(body: &[u8]) -> Result<SearchPage, ApiError> {
    let envelope: PageEnvelope<WireJob> = serde_json::from_slice(body).map_err(|e| {
        let what = if body.iter().all(u8::is_ascii_whitespace) {
            "the body was empty".to_string()
        } else if body.trim_ascii_start().starts_with(b"<") {
            "it was HTML, not JSON".to_string()
        } else {
            e.to_string()
        };
        ApiError::BadBody(what)
    })?;
    let positive = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
    Ok(SearchPage {
        page_size: positive(envelope.page_size).filter(|&n| n > 0),
        total_pages: positive(envelope.total_pages),
        total_rows: positive(envelope.total_rows),
        jobs: envelope.result.into_iter().filter_map(WireJob::into_job).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, insecure: bool) -> ClientSettings {
        ClientSettings { allow_insecure_http: insecure, ..ClientSettings::new(Some(url), Some("tok")) }
    }

    #[test]
    fn url_rules() {
        let err = |url: &str, insecure| Client::new(&settings(url, insecure)).config_error().cloned();
        assert_eq!(err("https://synergy.example.com", false), None);
        assert_eq!(err("http://127.0.0.1:8080", false), None);
        assert_eq!(err("http://localhost", false), None);
        assert_eq!(err("http://[::1]:9", false), None);
        assert!(
            matches!(err("http://synergy.example.com", false), Some(ApiError::BadUrl(m)) if m.contains("allowInsecureHttp"))
        );
        assert_eq!(err("http://synergy.example.com", true), None);
        assert!(insecure_warning(&settings("http://synergy.example.com", true)).unwrap().contains("clear text"));
        assert_eq!(insecure_warning(&settings("http://127.0.0.1:1", true)), None);
        assert_eq!(insecure_warning(&settings("https://synergy.example.com", true)), None);
        assert!(matches!(err("ftp://x", false), Some(ApiError::BadUrl(_))));
        assert!(matches!(err("https://u:p@x", false), Some(ApiError::BadUrl(_))));
        assert!(matches!(err("not a url", false), Some(ApiError::BadUrl(_))));
        let none = Client::new(&ClientSettings::new(None, None));
        assert_eq!(none.config_error(), Some(&ApiError::NotConfigured));
        let no_token = Client::new(&ClientSettings { token: None, ..settings("https://x", false) });
        assert_eq!(no_token.config_error(), Some(&ApiError::NoToken));
    }

    #[test]
    fn search_url_keeps_a_path_prefix() {
        let c = Client::new(&settings("https://h.example/synergy?x=1", false));
        let ready = c.inner.unwrap();
        assert_eq!(ready.search_url.as_str(), "https://h.example/synergy/api/v1/jobs/");
        assert_eq!(
            ready.url("My API Job & Co/ü", 2, 100).as_str(),
            "https://h.example/synergy/api/v1/jobs/?name=My+API+Job+%26+Co%2F%C3%BC&page=2&page_size=100"
        );
    }

    #[test]
    fn decode_errors_say_what_they_saw() {
        let e = |b: &str| decode_page(b.as_bytes()).unwrap_err().to_string();
        assert!(e("").contains("empty"));
        assert!(e("<html>oops</html>").contains("HTML"));
        assert!(e("{\"Result\": [").contains("EOF"));
    }
}
