//! Domain vocabulary shared by every layer: a reference found in text ([`JobRef`]), a job as
//! synergy-ls understands it ([`Job`]), and the verdict on a reference ([`Resolution`]).
//!
//! Nothing here knows about HTTP, JSON or LSP. Problems are data: an API outage is
//! [`Resolution::Unavailable`], never "unknown job".

use std::ops::Range;
use std::sync::Arc;

/// A job's identity on its server: the API's `IDString` (`"40009_1"`). Shared, not copied:
/// the cache's index is keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub Arc<str>);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job, converted once from the wire format. The description is already plain text.
/// Compact, since the cache may hold 100,000 of them: the type and creator are shared among
/// jobs (interned), counts are 32-bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub name: String,
    /// The full `/`-separated path, e.g. `Region A/Drainage`; the name for a top-level job.
    pub path: String,
    pub job_type: Option<Arc<str>>,
    pub created: Option<String>,
    pub creator: Option<Arc<str>>,
    pub sub_jobs: Option<u32>,
    pub folders: Option<u32>,
    pub td_jobs: Option<u32>,
    pub notes: Option<u32>,
    pub description: String,
}

impl Job {
    /// A job with only its identity: no type, dates, counts or description.
    pub fn named(id: &str, name: &str, path: &str) -> Job {
        Job {
            id: JobId(id.into()),
            name: name.into(),
            path: path.into(),
            job_type: None,
            created: None,
            creator: None,
            sub_jobs: None,
            folders: None,
            td_jobs: None,
            notes: None,
            description: String::new(),
        }
    }
}

/// How a reference was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefForm {
    /// `job:Name`
    Bare,
    /// `job:"Name with spaces"`
    Quoted,
    /// A match of a user-defined `referencePatterns` regex.
    Custom,
}

/// One reference to a job found in a text. Ranges are byte offsets into that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    /// The name or path as written, without quotes.
    pub name: String,
    /// The whole reference, `job:` and quotes included: what diagnostics underline.
    pub range: Range<usize>,
    /// The part a quick fix replaces: quotes included for the built-in grammar, the `name`
    /// group for custom patterns.
    pub edit_range: Range<usize>,
    pub form: RefForm,
}

impl JobRef {
    /// A name with a `/` is a path and is matched against [`Job::path`].
    pub fn is_path(&self) -> bool {
        is_path(&self.name)
    }
}

/// Whether a reference name is a path (matched against `Path`) rather than a name.
pub fn is_path(name: &str) -> bool {
    name.contains('/')
}

/// The text to search the server for: the last segment of a path, or the name itself.
pub fn search_term(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name).trim()
}

/// The key a reference is compared on: `Path` for paths, `Name` otherwise.
pub fn match_key<'a>(job: &'a Job, reference: &str) -> &'a str {
    if is_path(reference) { &job.path } else { &job.name }
}

/// Why a reference could not be checked. Never cached, never shown as "unknown".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// No server URL configured.
    NotConfigured,
    /// No Personal Access Token configured.
    NoToken,
    /// The URL is unusable (malformed, or plain HTTP to a non-loopback host without opt-in).
    BadUrl(String),
    /// Connection refused, DNS, TLS, timeout, dropped connection.
    Unreachable(String),
    /// 401 or 403: the PAT is expired, revoked or lacks access.
    TokenRejected(u16),
    /// 429, with the wait the server asked for.
    RateLimited(Option<u64>),
    /// 5xx or another unexpected status.
    ServerError(u16),
    /// 200 with a body that is not the expected JSON.
    BadResponse(String),
}

/// The verdict on one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one job has this name (or path).
    Found(Arc<Job>),
    /// Several jobs share this name; each is listed.
    Ambiguous(Vec<Arc<Job>>),
    /// No exact match, but these match ignoring case.
    CaseMismatch(Vec<Arc<Job>>),
    /// No such job; the closest existing names, best first (at most 3). `renamed` is set when
    /// the job this name used to refer to was seen since under another name or path; it is
    /// then also the first suggestion.
    Unknown { suggestions: Vec<Arc<Job>>, renamed: bool },
    /// The server could not be asked.
    Unavailable(Unavailable),
}

impl Resolution {
    /// The stable diagnostic code for a verdict that is a problem in the text.
    pub fn code(&self) -> Option<DiagnosticCode> {
        match self {
            Resolution::Found(_) | Resolution::Unavailable(_) => None,
            Resolution::Ambiguous(_) => Some(DiagnosticCode::AmbiguousJob),
            Resolution::CaseMismatch(_) => Some(DiagnosticCode::CaseMismatch),
            Resolution::Unknown { .. } => Some(DiagnosticCode::UnknownJob),
        }
    }
}

/// Diagnostic codes, stable across releases (they appear in CI output and settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiagnosticCode {
    UnknownJob,
    AmbiguousJob,
    CaseMismatch,
}

impl DiagnosticCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::UnknownJob => "unknown-job",
            DiagnosticCode::AmbiguousJob => "ambiguous-job",
            DiagnosticCode::CaseMismatch => "case-mismatch",
        }
    }
}

/// The state of the connection to the Synergy server, as the user should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Nothing asked yet.
    Idle,
    Connected,
    Unavailable(Unavailable),
}

/// Whether a name can be written bare (`job:Name`) or needs quotes (`job:"Name"`).
pub fn needs_quotes(name: &str) -> bool {
    name.is_empty() || name.ends_with('.') || !name.chars().all(crate::scan::is_bare_char)
}

/// The reference text for a name in the built-in grammar, without the `job:` prefix.
pub fn format_name(name: &str) -> String {
    if needs_quotes(name) { format!("\"{name}\"") } else { name.to_string() }
}

/// Whether a name can be referenced at all with the built-in grammar.
pub fn is_referenceable(name: &str) -> bool {
    !name.is_empty() && !name.contains(['"', '\n', '\r'])
}
