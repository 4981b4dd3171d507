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
///
/// Compact, since the cache may hold 100,000 of them (the README's memory target): the name,
/// path, creation date and description share one allocation (the name is usually the path's
/// last segment and then takes no room of its own), the type and creator are shared among jobs
/// (interned), and the counts are 32-bit. Read it through its methods.
#[derive(Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    /// `path`, then `created`, then `description`, then the name when it is not the path's
    /// last segment.
    text: Box<str>,
    /// Where `path`, `created` and `description` end in `text`, and where the name starts.
    ends: [u32; 4],
    pub job_type: Option<Arc<str>>,
    pub creator: Option<Arc<str>>,
    /// Sub-jobs, folders, 12d jobs and notes; [`NO_COUNT`] where the server gave none.
    counts: [u32; 4],
}

const NO_COUNT: u32 = u32::MAX;

/// Everything a [`Job`] is made of, borrowed; [`Job::new`] packs it.
#[derive(Debug, Clone, Default)]
pub struct JobParts<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// The full `/`-separated path, e.g. `Region A/Drainage`; the name for a top-level job.
    pub path: &'a str,
    pub job_type: Option<Arc<str>>,
    pub created: Option<&'a str>,
    pub creator: Option<Arc<str>>,
    pub sub_jobs: Option<u32>,
    pub folders: Option<u32>,
    pub td_jobs: Option<u32>,
    pub notes: Option<u32>,
    pub description: &'a str,
}

impl Job {
    pub fn new(parts: JobParts<'_>) -> Job {
        let JobParts { id, name, path, job_type, created, creator, sub_jobs, folders, td_jobs, notes, description } =
            parts;
        let created = created.unwrap_or("");
        let shared = last_segment_at(path, name);
        let mut text = String::with_capacity(
            path.len() + created.len() + description.len() + if shared.is_some() { 0 } else { name.len() },
        );
        let mut end = |part: &str| {
            text.push_str(part);
            u32::try_from(text.len()).expect("a job's text is under 4 GiB")
        };
        let ends = [end(path), end(created), end(description), 0];
        let name_at = match shared {
            Some(at) => at as u32,
            None => {
                let at = ends[2];
                end(name);
                at
            }
        };
        let count = |c: Option<u32>| c.map_or(NO_COUNT, |c| c.min(NO_COUNT - 1));
        Job {
            id: JobId(id.into()),
            text: text.into_boxed_str(),
            ends: [ends[0], ends[1], ends[2], name_at],
            job_type,
            creator,
            counts: [count(sub_jobs), count(folders), count(td_jobs), count(notes)],
        }
    }

    /// A job with only its identity: no type, dates, counts or description.
    pub fn named(id: &str, name: &str, path: &str) -> Job {
        Job::new(JobParts { id, name, path, ..JobParts::default() })
    }

    pub fn name(&self) -> &str {
        let [path_end, _, description_end, name_at] = self.ends.map(|e| e as usize);
        if name_at < path_end {
            &self.text[name_at..path_end] // the path's last segment
        } else {
            // kept apart (or empty, which only a path ending in `/` can share)
            &self.text[description_end..]
        }
    }

    /// The full `/`-separated path, e.g. `Region A/Drainage`; the name for a top-level job.
    pub fn path(&self) -> &str {
        &self.text[..self.ends[0] as usize]
    }

    pub fn created(&self) -> Option<&str> {
        Some(&self.text[self.ends[0] as usize..self.ends[1] as usize]).filter(|c| !c.is_empty())
    }

    /// Plain text (converted from HTML once).
    pub fn description(&self) -> &str {
        &self.text[self.ends[1] as usize..self.ends[2] as usize]
    }

    fn count(&self, i: usize) -> Option<u32> {
        Some(self.counts[i]).filter(|&c| c != NO_COUNT)
    }

    pub fn sub_jobs(&self) -> Option<u32> {
        self.count(0)
    }

    pub fn folders(&self) -> Option<u32> {
        self.count(1)
    }

    pub fn td_jobs(&self) -> Option<u32> {
        self.count(2)
    }

    pub fn notes(&self) -> Option<u32> {
        self.count(3)
    }
}

/// Where `name` starts in `path` when it is the path's last segment (or the whole path).
pub fn last_segment_at(path: &str, name: &str) -> Option<usize> {
    let at = path.len().checked_sub(name.len())?;
    (path.get(at..) == Some(name) && (at == 0 || path[..at].ends_with('/'))).then_some(at)
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("name", &self.name())
            .field("path", &self.path())
            .field("job_type", &self.job_type)
            .field("created", &self.created())
            .field("creator", &self.creator)
            .field("sub_jobs", &self.sub_jobs())
            .field("folders", &self.folders())
            .field("td_jobs", &self.td_jobs())
            .field("notes", &self.notes())
            .field("description", &self.description())
            .finish()
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
    if is_path(reference) { job.path() } else { job.name() }
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
    /// What a reference named `name` could be replaced with to fix it, best first: the
    /// suggested or differently-cased names (paths, for a path reference), or the paths of the
    /// jobs sharing an ambiguous name. Empty for verdicts that are not problems.
    pub fn replacements<'a>(&'a self, name: &str) -> Vec<&'a str> {
        match self {
            Resolution::Unknown { suggestions: jobs, .. } | Resolution::CaseMismatch(jobs) => {
                jobs.iter().map(|j| match_key(j, name)).collect()
            }
            Resolution::Ambiguous(jobs) => jobs.iter().map(|j| j.path()).collect(),
            Resolution::Found(_) | Resolution::Unavailable(_) => Vec::new(),
        }
    }

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

/// A character allowed in a bare name: Unicode letters and digits, `_ - . /`. The quoting
/// rules below and the scanner's grammar both stand on it.
pub fn is_bare_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Whether a name can be written bare (`job:Name`) or needs quotes (`job:"Name"`).
pub fn needs_quotes(name: &str) -> bool {
    name.is_empty() || name.ends_with('.') || !name.chars().all(is_bare_char)
}

/// The reference text for a name in the built-in grammar, without the `job:` prefix.
pub fn format_name(name: &str) -> String {
    if needs_quotes(name) { format!("\"{name}\"") } else { name.to_string() }
}

/// Whether a name can be referenced at all with the built-in grammar.
pub fn is_referenceable(name: &str) -> bool {
    !name.is_empty() && !name.contains(['"', '\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_job_gives_back_what_it_was_made_of() {
        let parts = JobParts {
            id: "40009_1",
            name: "Drainage",
            path: "Region A/Drainage",
            created: Some("2024-12-17T22:51:58.097"),
            sub_jobs: Some(2),
            notes: Some(0),
            description: "Stage 2.",
            ..JobParts::default()
        };
        let job = Job::new(parts.clone());
        let read = |j: &Job| {
            (j.name().to_string(), j.path().to_string(), j.created().map(str::to_string), j.description().to_string())
        };
        assert_eq!(
            read(&job),
            ("Drainage".into(), "Region A/Drainage".into(), Some(parts.created.unwrap().into()), "Stage 2.".into())
        );
        assert_eq!((job.sub_jobs(), job.folders(), job.td_jobs(), job.notes()), (Some(2), None, None, Some(0)));
        assert_eq!(job.text.len(), "Region A/Drainage".len() + 23 + 8, "the name shares the path");
        // A name that is not the path's last segment (or only a suffix of one) is kept apart.
        let cases =
            [("Age", "Drainage"), ("Zürich", "Other/Name"), ("A", ""), ("Lot 1", "Lot 1"), ("x", "é"), ("é", "Aé")];
        for (name, path) in cases {
            let job = Job::new(JobParts { name, path, ..parts.clone() });
            assert_eq!((job.name(), job.path(), job.description()), (name, path, "Stage 2."), "{name} in {path}");
        }
        let bare = Job::named("1_1", "A", "A");
        assert_eq!((bare.created(), bare.description(), bare.folders()), (None, "", None));
        assert_eq!(Job::new(JobParts { sub_jobs: Some(u32::MAX), ..parts }).sub_jobs(), Some(u32::MAX - 1));
    }
}
