//! The resolver: a reference name -> [`Resolution`], through a cache, with one request in
//! flight per search term however many documents, hovers and completions ask (single-flight).
//!
//! - [`cache`]: answers with TTLs, stale entries served while refreshed, failures never stored.
//! - [`host`]: the politeness gate (concurrency, retries, circuit breaker, health).
//! - [`clock`]: the time seam.
//!
//! Search rules (see `shared/reference/synergy-api.md`): the quick job search is a
//! case-insensitive search that may match by prefix or substring and returns pages. A reference
//! is looked up by its last path segment; pages are read until an exact name match has been seen
//! and the page did not end on a match (duplicates sort together), or the pages run out, or
//! [`MAX_PAGES`] is reached. The page size and page count are taken from the response.

pub mod cache;
pub mod clock;
pub mod host;
pub mod persist;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use dashmap::DashMap;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::watch;

use self::cache::{Cache, FoldedKey, Key, KeyView, SearchOutcome};
use self::clock::Clock;
use self::host::{HealthSignal, HostGate};
use crate::api::{ApiError, Client};
use crate::model::{Health, Job, JobId, Resolution, is_path, match_key, search_term};

/// Rows asked for per page; the server may answer with fewer (its cap wins).
pub const PAGE_SIZE: u64 = 100;
/// The most pages read for one term.
pub const MAX_PAGES: u64 = 10;
/// How many "did you mean" names an unknown reference gets.
pub const MAX_SUGGESTIONS: usize = 3;

/// Resolver tunables, from `Config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub ttl: Duration,
    pub negative_ttl: Duration,
    pub max_concurrent: usize,
    /// The persisted cache's directory ([`persist::cache_dir`]); `None` keeps answers in
    /// memory only (`cache.persist = false`, `check --no-cache`, or no cache directory).
    pub persist: Option<std::path::PathBuf>,
    /// The most jobs the persisted cache keeps (`cache.maxJobs`).
    pub max_jobs: usize,
}

impl Settings {
    pub fn from_config(c: &crate::config::Config) -> Settings {
        Settings {
            ttl: Duration::from_secs(c.cache.ttl_seconds),
            negative_ttl: Duration::from_secs(c.cache.negative_ttl_seconds),
            max_concurrent: c.max_concurrent_requests,
            persist: if c.cache.persist { persist::cache_dir(c.cache.directory.as_deref()) } else { None },
            max_jobs: c.cache.max_jobs,
        }
    }

    /// Settings for answers kept in memory only.
    pub fn in_memory(ttl: Duration, negative_ttl: Duration, max_concurrent: usize) -> Settings {
        Settings { ttl, negative_ttl, max_concurrent, persist: None, max_jobs: 0 }
    }
}

/// A verdict and how old the answer behind it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub resolution: Resolution,
    /// Time since the server answered; `None` when it could not be asked.
    pub age: Option<Duration>,
    /// Why the server could not be asked again, when the answer is older than its TTL and the
    /// last request failed (the hover says "checked 3 days ago · server unreachable").
    pub stale_because: Option<crate::model::Unavailable>,
}

impl Resolved {
    /// A verdict with nothing known of its age.
    pub fn of(resolution: Resolution) -> Resolved {
        Resolved { resolution, age: None, stale_because: None }
    }
}

/// Candidates for completion.
#[derive(Debug, Clone)]
pub struct Completions {
    pub jobs: Vec<Arc<Job>>,
    /// More candidates exist than were returned (or the server could not be asked).
    pub incomplete: bool,
}

type SharedFetch = Shared<BoxFuture<'static, Result<Arc<SearchOutcome>, ApiError>>>;

/// Whether a fetch reads all pages it needs (resolution) or only the first (completion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Depth {
    Resolve,
    FirstPage,
}

struct Backend {
    client: Client,
    origin: Arc<str>,
    gate: Arc<HostGate>,
    settings: Settings,
    /// The persisted cache, opened at its first use (so start-up never waits on it).
    store: Arc<LazyStore>,
}

/// A persisted cache opened on first use; `None` inside when it is off or could not be opened.
struct LazyStore {
    dir: Option<std::path::PathBuf>,
    max_jobs: usize,
    store: std::sync::OnceLock<Option<Arc<persist::Store>>>,
}

impl LazyStore {
    fn get(&self, warnings: &std::sync::Mutex<Vec<String>>) -> Option<&Arc<persist::Store>> {
        self.store
            .get_or_init(|| {
                let dir = self.dir.as_ref()?;
                match persist::Store::open(dir, self.max_jobs) {
                    Ok(store) => Some(Arc::new(store)),
                    Err(warning) => {
                        warnings.lock().unwrap_or_else(|e| e.into_inner()).push(warning);
                        None
                    }
                }
            })
            .as_ref()
    }
}

pub struct Resolver {
    backend: RwLock<Arc<Backend>>,
    cache: Cache,
    inflight: DashMap<(Depth, Key), SharedFetch>,
    health: Arc<HealthSignal>,
    /// Bumped when a refresh replaced a cached answer with a different one.
    changes: watch::Sender<u64>,
    clock: Arc<dyn Clock>,
    /// "Did you mean" per reference name, valid while the job index and the name's search
    /// answer are the same: scoring the whole index again on every keystroke would make
    /// checks O(unknown names × jobs seen).
    suggested: DashMap<String, Suggested>,
    /// What to tell the user about the persisted cache (it could not be opened), until taken.
    store_warnings: std::sync::Mutex<Vec<String>>,
}

struct Suggested {
    generation: u64,
    outcome: Arc<SearchOutcome>,
    jobs: Vec<Arc<Job>>,
}

/// Entries kept in the suggestion memo before it is emptied (a bound, not a cache policy).
const MAX_MEMO: usize = 10_000;
/// Up to this many jobs seen, every one is a "did you mean" candidate; beyond it, only the
/// server's answers for the name and for its first three characters are (scoring 100,000
/// names for each unknown reference would stall checks).
pub const INDEX_SUGGESTION_LIMIT: usize = 5_000;

impl Resolver {
    pub fn new(client: Client, settings: Settings, clock: Arc<dyn Clock>) -> Arc<Resolver> {
        let health = Arc::new(HealthSignal::default());
        let backend = make_backend(client, settings, &health, &clock, None);
        Arc::new(Resolver {
            backend: RwLock::new(Arc::new(backend)),
            cache: Cache::default(),
            inflight: DashMap::new(),
            health,
            changes: watch::channel(0).0,
            clock,
            suggested: DashMap::new(),
            store_warnings: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// A resolver for `config`'s server and token, on the real clock.
    pub fn from_config(config: &crate::config::Config) -> Arc<Resolver> {
        Resolver::new(
            Client::new(&crate::api::ClientSettings::from_config(config)),
            Settings::from_config(config),
            Arc::new(clock::SystemClock),
        )
    }

    fn backend(&self) -> Arc<Backend> {
        self.backend.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Applies new settings. The cache survives unless the server changed; the circuit breaker
    /// starts afresh (a new token deserves a new try).
    pub fn reconfigure(&self, client: Client, settings: Settings) {
        let mut slot = self.backend.write().unwrap_or_else(|e| e.into_inner());
        let backend = make_backend(client, settings, &self.health, &self.clock, Some(&slot.store));
        if slot.origin != backend.origin {
            self.cache.clear();
        }
        *slot = Arc::new(backend);
        drop(slot);
        self.health.reset();
    }

    /// Drops every cached answer and gives the server a fresh try at once, whatever wait a
    /// failure or a `Retry-After` imposed (`synergy.refresh`: the user asked for it).
    /// The persisted answers are marked stale too: still served while the server cannot be
    /// asked, but asked again first.
    pub fn clear(&self) {
        let backend = self.backend();
        if let Some(store) = self.store(&backend) {
            store.mark_stale(&backend.origin);
        }
        self.cache.clear();
        backend.gate.reset();
    }

    /// The persisted cache in use, opening it on first use.
    fn store<'a>(&self, backend: &'a Backend) -> Option<&'a Arc<persist::Store>> {
        if backend.origin.is_empty() {
            return None;
        }
        backend.store.get(&self.store_warnings)
    }

    /// What the user should be told about the persisted cache since last asked: it could not
    /// be opened, a write failed, the file was damaged. Each problem is told once.
    pub fn take_cache_warnings(&self) -> Vec<String> {
        let mut out = std::mem::take(&mut *self.store_warnings.lock().unwrap_or_else(|e| e.into_inner()));
        let backend = self.backend();
        if let Some(store) = backend.store.store.get().and_then(|s| s.as_ref()) {
            out.extend(store.take_warning());
        }
        out
    }

    /// Waits until the answers handed to the persisted cache are written (`check` calls it
    /// before exiting; the writer thread does not outlive the process).
    pub fn flush_cache(&self) {
        if let Some(Some(store)) = self.backend().store.store.get() {
            store.flush();
        }
    }

    /// The answer for `key`: from memory, else from the persisted cache (then kept in memory,
    /// with the age it had on disk).
    fn entry(&self, backend: &Backend, key: &Key) -> Option<cache::Entry> {
        if let Some(entry) = self.cache.get(key) {
            return Some(entry);
        }
        let found = self.store(backend)?.load(&key.0, &key.1)?;
        let aged = std::time::SystemTime::now().duration_since(found.fetched).unwrap_or_default();
        let ttl = if found.positive { backend.settings.ttl } else { backend.settings.negative_ttl };
        self.cache.insert_aged(key.clone(), found.outcome, self.clock.now(), aged, ttl);
        self.cache.get(key)
    }

    /// When the server last answered a request (or failed to), for the status item.
    pub fn last_check(&self) -> Option<std::time::SystemTime> {
        self.backend().gate.last_check()
    }

    /// Health changes, for telling the user once per change.
    pub fn subscribe_health(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    /// Every health change in order, for telling the user (the watch of
    /// [`Resolver::subscribe_health`] coalesces changes that follow each other at once).
    pub fn subscribe_health_changes(&self) -> tokio::sync::broadcast::Receiver<Health> {
        self.health.subscribe_changes()
    }

    /// Ticks when a background refresh changed an answer, so open documents can be re-checked.
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The verdict from the cache alone, stale or not; `None` when a request would be needed.
    /// A stale answer is refreshed in the background (and a change announced), so callers
    /// that never wait on the network still see answers expire.
    pub fn resolve_cached(self: &Arc<Self>, name: &str) -> Option<Resolved> {
        let backend = self.backend();
        let (age, outcome) = self.cached(&backend, search_term(name))?;
        Some(self.resolved(&backend, name, &outcome, age))
    }

    /// The cached answer for a search term and its age; an expired one is returned too and
    /// refreshed in the background (the fetch runs in its own task, so it need not be awaited).
    /// An expired answer that does not have the name is not returned: "no such job" could
    /// have stopped being true (the job created since), so it is asked again first, and while
    /// the server cannot be asked the reference is not reported at all.
    fn cached(self: &Arc<Self>, backend: &Arc<Backend>, term: &str) -> Option<(Duration, Arc<SearchOutcome>)> {
        let key: Key = (backend.origin.clone(), term.to_string());
        let entry = self.entry(backend, &key).filter(|e| usable_for_resolve(e, term))?;
        let now = self.clock.now();
        if !entry.is_fresh(now) {
            let positive = has_name(&entry.outcome.jobs, &term.to_lowercase());
            drop(self.fetch(backend, Depth::Resolve, key));
            if !positive {
                return None;
            }
        }
        Some((entry.age(now), entry.outcome))
    }

    /// The verdict from an answer of `age`, saying why it was not renewed when it is stale.
    fn resolved(&self, backend: &Backend, name: &str, outcome: &Arc<SearchOutcome>, age: Duration) -> Resolved {
        let stale_because = match &*self.health.subscribe().borrow() {
            Health::Unavailable(why) if age >= backend.settings.ttl => Some(why.clone()),
            _ => None,
        };
        Resolved { resolution: self.judge(name, outcome), age: Some(age), stale_because }
    }

    /// The verdict on a reference name, asking the server if the cache has no fresh answer.
    pub async fn resolve(self: &Arc<Self>, name: &str) -> Resolved {
        let backend = self.backend();
        if let Some(err) = backend.client.config_error() {
            backend.gate.report_unusable(err);
            return unavailable(err);
        }
        let term = search_term(name);
        let (age, outcome) = match self.cached(&backend, term) {
            Some(found) => found,
            None => match self.fetch(&backend, Depth::Resolve, (backend.origin.clone(), term.to_string())).await {
                Ok(outcome) => (Duration::ZERO, outcome),
                Err(err) => return unavailable(&err),
            },
        };
        if direct_verdict(name, &outcome).is_none() {
            self.widen_index(&backend, term).await;
        }
        self.resolved(&backend, name, &outcome, age)
    }

    /// Before suggesting names for an unknown reference, asks for the first page of its first
    /// few characters (again when the answer kept is no longer fresh), so the index holds close
    /// names the document never mentioned, and a job renamed since is seen under its new name.
    async fn widen_index(self: &Arc<Self>, backend: &Arc<Backend>, term: &str) {
        let Some(stem) = stem_of(term) else { return };
        let key: Key = (backend.origin.clone(), stem);
        if !self.entry(backend, &key).is_some_and(|e| e.is_fresh(self.clock.now())) {
            let _ = self.fetch(backend, Depth::FirstPage, key).await;
        }
    }

    /// Found / ambiguous / case mismatch / unknown, from what a search returned.
    fn judge(&self, name: &str, outcome: &Arc<SearchOutcome>) -> Resolution {
        if let Some(verdict) = direct_verdict(name, outcome) {
            return verdict;
        }
        let mut suggestions = self.suggestions(name, outcome);
        let renamed = self.cache.renamed(name).or_else(|| {
            let backend = self.backend();
            self.store(&backend)?.renamed(&backend.origin, &name.to_lowercase())
        });
        if let Some(job) = &renamed {
            suggestions.retain(|j| j.id != job.id);
            suggestions.insert(0, job.clone());
            suggestions.truncate(MAX_SUGGESTIONS);
        }
        Resolution::Unknown { suggestions, renamed: renamed.is_some() }
    }

    /// The closest names to an unknown reference among its search answer and every job seen,
    /// from the memo when neither changed since.
    fn suggestions(&self, name: &str, outcome: &Arc<SearchOutcome>) -> Vec<Arc<Job>> {
        // The answer for the name's first letters, from memory or the persisted cache (which
        // puts its jobs in the index): after a restart the index holds only what was read since,
        // and an unknown name judged from the cache alone would have no candidates.
        let stem = stem_of(search_term(name)).and_then(|stem| {
            let backend = self.backend();
            self.entry(&backend, &(backend.origin.clone(), stem))
        });
        let generation = self.cache.generation();
        if let Some(m) = self.suggested.get(name) {
            if m.generation == generation && Arc::ptr_eq(&m.outcome, outcome) {
                return m.jobs.clone();
            }
        }
        let mut best = Closest::new(name);
        for job in &outcome.jobs {
            best.offer(FoldedKey::new(match_key(job, name)).view(), job);
        }
        let path = is_path(name);
        if self.cache.job_count() <= INDEX_SUGGESTION_LIMIT {
            self.cache.for_each_job(|ix| best.offer(ix.key(path), &ix.job));
        } else if let Some(entry) = stem {
            for job in &entry.outcome.jobs {
                best.offer(FoldedKey::new(match_key(job, name)).view(), job);
            }
        }
        let jobs = best.finish();
        if self.suggested.len() >= MAX_MEMO {
            self.suggested.clear();
        }
        self.suggested.insert(name.to_string(), Suggested { generation, outcome: outcome.clone(), jobs: jobs.clone() });
        jobs
    }

    /// Completion candidates for the text typed after `job:`, best first, at most `limit`.
    pub async fn complete(self: &Arc<Self>, typed: &str, limit: usize) -> Completions {
        let backend = self.backend();
        let term = search_term(typed);
        let mut incomplete = false;
        // Persisted jobs whose name (or path) starts with what was typed: offered at once,
        // whatever the server says (or cannot say) now. The first `limit + 1` in name order
        // (one more tells the list is incomplete): reading every match of a short prefix
        // among 100,000 jobs to rank them by length would cost more than a keystroke allows.
        let persisted = match self.store(&backend) {
            Some(store) if !typed.is_empty() => store.complete(&backend.origin, typed, limit + 1),
            _ => Vec::new(),
        };
        if !term.is_empty() && backend.client.config_error().is_none() {
            // Reuse the term's own answer, or a complete answer for a shorter prefix of it: the
            // server's matches for "Highw" are among its matches for "High" whether it matches by
            // prefix or by substring. Either way its jobs are in the index, which is ranked below.
            let origin = &backend.origin;
            let found =
                self.entry(&backend, &(origin.clone(), term.to_string())).or_else(|| {
                    term.char_indices().map(|(i, _)| &term[..i]).filter(|p| !p.is_empty()).rev().find_map(|p| {
                        self.entry(&backend, &(origin.clone(), p.to_string())).filter(|e| e.outcome.complete)
                    })
                });
            match found {
                Some(entry) => incomplete |= !entry.outcome.complete,
                // Answered from disk now, asked of the server in the background: the list is
                // marked incomplete, so the editor asks again as the user types on.
                None if !persisted.is_empty() => {
                    drop(self.fetch(&backend, Depth::FirstPage, (origin.clone(), term.to_string())));
                    incomplete = true;
                }
                None => {
                    match self.fetch(&backend, Depth::FirstPage, (backend.origin.clone(), term.to_string())).await {
                        Ok(outcome) => incomplete |= !outcome.complete,
                        Err(_) => incomplete = true,
                    }
                }
            }
        }
        let ranked = rank_completions(typed, &self.cache, &persisted, limit);
        incomplete |= ranked.len() > limit;
        Completions { jobs: ranked.into_iter().take(limit).collect(), incomplete }
    }

    /// Starts (or joins) the one fetch for `key`. The work runs in its own task, so it
    /// finishes and fills the cache even when every caller has gone away.
    fn fetch(self: &Arc<Self>, backend: &Arc<Backend>, depth: Depth, key: Key) -> SharedFetch {
        use dashmap::mapref::entry::Entry;
        let slot = (depth, key);
        match self.inflight.entry(slot.clone()) {
            Entry::Occupied(e) => e.get().clone(),
            Entry::Vacant(v) => {
                let this = Arc::clone(self);
                let backend = Arc::clone(backend);
                let task = tokio::spawn(async move {
                    let result = this.search_pages(&backend, &slot.1.1, slot.0).await;
                    if let Ok(outcome) = &result {
                        let lower = slot.1.1.to_lowercase();
                        let positive = has_name(&outcome.jobs, &lower);
                        let ttl = if positive { backend.settings.ttl } else { backend.settings.negative_ttl };
                        let old = this.cache.get(&slot.1);
                        let changed = old.as_ref().is_some_and(|old| old.outcome.jobs != outcome.jobs);
                        let gone = !positive && old.as_ref().is_some_and(|old| has_name(&old.outcome.jobs, &lower));
                        this.cache.insert(slot.1.clone(), outcome.clone(), this.clock.now(), ttl);
                        if let Some(store) = this.store(&backend) {
                            store.save(&slot.1.0, &slot.1.1, outcome, std::time::SystemTime::now());
                        }
                        if changed {
                            // A name that named a job names none now (renamed, moved or
                            // deleted): the first page of its first letters is read before the
                            // change is announced, so the check it starts finds the job under
                            // its new name (a rename) and the names close to it.
                            if gone {
                                this.widen_index(&backend, &slot.1.1).await;
                            }
                            this.changes.send_modify(|n| *n += 1);
                        }
                    }
                    this.inflight.remove(&slot);
                    result
                });
                let shared = async move {
                    task.await.unwrap_or_else(|e| Err(ApiError::BadBody(format!("lookup task failed: {e}"))))
                }
                .boxed()
                .shared();
                v.insert(shared.clone());
                shared
            }
        }
    }

    /// Reads search pages for `term` (see the module docs for when it stops).
    async fn search_pages(&self, backend: &Backend, term: &str, depth: Depth) -> Result<Arc<SearchOutcome>, ApiError> {
        let lower = term.to_lowercase();
        let mut jobs: Vec<Arc<Job>> = Vec::new();
        let mut seen = HashSet::new();
        let mut page = 1;
        let complete = loop {
            let result = backend.gate.call(|| backend.client.search(term, page, PAGE_SIZE)).await?;
            let rows = result.jobs.len() as u64;
            let mut added = 0;
            let mut last_matches = false;
            for job in result.jobs {
                last_matches = job.name().to_lowercase() == lower;
                if seen.insert(job.id.clone()) {
                    jobs.push(Arc::new(job));
                    added += 1;
                }
            }
            let page_size = result.page_size.unwrap_or(PAGE_SIZE).max(1);
            let total_pages = result.total_pages.or_else(|| result.total_rows.map(|r| r.div_ceil(page_size)));
            let last_page = match total_pages {
                Some(t) => page >= t,
                None => rows < page_size,
            };
            if last_page || rows == 0 {
                break true;
            }
            // Rows but nothing new while the counters promise more pages: the server repeats
            // pages or its counters lie. What it has is unknowable, so nothing is judged from it
            // (judging would report a job on a page never really served as unknown).
            if added == 0 {
                if has_name(&jobs, &lower) {
                    break false; // the exact match was served: judge from it, incomplete
                }
                let err = ApiError::BadBody(format!(
                    "page {page} of `{term}` repeats earlier rows although {} pages are announced",
                    total_pages.map_or_else(|| "more".to_string(), |t| t.to_string())
                ));
                // Every request succeeded, so the gate saw no failure: the user is told here.
                backend.gate.report_unusable(&err);
                return Err(err);
            }
            if depth == Depth::FirstPage || page >= MAX_PAGES {
                break false;
            }
            let matched = has_name(&jobs, &lower);
            if matched && !last_matches {
                break false;
            }
            page += 1;
        };
        Ok(Arc::new(SearchOutcome { jobs, complete }))
    }
}

/// The backend for `settings`; the persisted cache of `previous` is kept when its place and
/// bound are the same (so a settings change does not open the file again).
fn make_backend(
    client: Client,
    settings: Settings,
    health: &Arc<HealthSignal>,
    clock: &Arc<dyn Clock>,
    previous: Option<&Arc<LazyStore>>,
) -> Backend {
    let origin: Arc<str> = client.origin().unwrap_or_default().into();
    let gate = Arc::new(HostGate::new(settings.max_concurrent, health.clone(), clock.clone()));
    let store = match previous {
        Some(p) if p.dir == settings.persist && p.max_jobs == settings.max_jobs => p.clone(),
        _ => Arc::new(LazyStore {
            dir: settings.persist.clone(),
            max_jobs: settings.max_jobs,
            store: std::sync::OnceLock::new(),
        }),
    };
    Backend { client, origin, gate, settings, store }
}

/// A cached outcome answers a resolution if it is complete or already holds the exact name.
fn usable_for_resolve(entry: &cache::Entry, term: &str) -> bool {
    let lower = term.to_lowercase();
    entry.outcome.complete || has_name(&entry.outcome.jobs, &lower)
}

/// Whether one of `jobs` is named `lower` (lowercase), ignoring case.
fn has_name(jobs: &[Arc<Job>], lower: &str) -> bool {
    jobs.iter().any(|j| j.name().to_lowercase() == lower)
}

fn unavailable(err: &ApiError) -> Resolved {
    Resolved::of(Resolution::Unavailable(err.to_unavailable()))
}

fn sorted_by_path(mut jobs: Vec<Arc<Job>>) -> Vec<Arc<Job>> {
    jobs.sort_by(|a, b| a.path().cmp(b.path()).then_with(|| a.id.cmp(&b.id)));
    jobs.dedup_by(|a, b| a.id == b.id);
    jobs
}

/// The first three characters of a search term, searched to find names close to an unknown
/// one; `None` when the term is that short already.
fn stem_of(term: &str) -> Option<String> {
    let stem: String = term.chars().take(3).collect();
    (stem.chars().count() == 3 && stem != term).then_some(stem)
}

/// Exact, several exact, or case-insensitive matches in a search answer; `None` when the
/// reference is unknown.
fn direct_verdict(name: &str, outcome: &SearchOutcome) -> Option<Resolution> {
    let exact: Vec<_> = outcome.jobs.iter().filter(|j| match_key(j, name) == name).cloned().collect();
    match exact.len() {
        1 => return Some(Resolution::Found(exact.into_iter().next().expect("one"))),
        n if n > 1 => return Some(Resolution::Ambiguous(sorted_by_path(exact))),
        _ => {}
    }
    let lower = name.to_lowercase();
    let folded: Vec<_> = outcome.jobs.iter().filter(|j| match_key(j, name).to_lowercase() == lower).cloned().collect();
    (!folded.is_empty()).then(|| Resolution::CaseMismatch(sorted_by_path(folded)))
}

/// Picks the closest names (or paths, for a path reference) to an unknown one: normalized
/// Damerau-Levenshtein similarity of at least 0.5, or a prefix either way. Candidates that
/// cannot reach 0.5 (too different in length or in the characters they use) are skipped
/// without computing the distance.
struct Closest {
    lower: FoldedKey,
    seen: HashSet<Box<str>>,
    scored: Vec<(f64, Arc<Job>)>,
}

impl Closest {
    fn new(name: &str) -> Closest {
        Closest { lower: FoldedKey::new(name), seen: HashSet::new(), scored: Vec::new() }
    }

    fn offer(&mut self, key: KeyView<'_>, job: &Arc<Job>) {
        let (a, b) = (&*self.lower.text, key.text);
        if a == b {
            return;
        }
        let prefix = b.starts_with(a) || a.starts_with(b);
        if !prefix {
            // distance <= max/2 is needed; it is at least the length difference and at least the
            // number of character classes one side has and the other lacks.
            let budget = self.lower.chars.max(key.chars) / 2;
            let missing = (self.lower.mask & !key.mask).count_ones().max((key.mask & !self.lower.mask).count_ones());
            if self.lower.chars.abs_diff(key.chars) > budget || missing as usize > budget {
                return;
            }
        }
        let mut score = strsim::normalized_damerau_levenshtein(a, b);
        if prefix {
            score = score.max(0.6);
        }
        if score >= 0.5 && self.seen.insert(b.into()) {
            self.scored.push((score, job.clone()));
        }
    }

    fn finish(mut self) -> Vec<Arc<Job>> {
        self.scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.name().cmp(b.1.name())));
        self.scored.into_iter().take(MAX_SUGGESTIONS).map(|(_, j)| j).collect()
    }
}

/// Ranks completion candidates: prefix matches before substring matches before fuzzy ones
/// (Jaro-Winkler ≥ 0.8, only for 3+ typed characters); shorter names first within a tier.
struct Ranker {
    typed: FoldedKey,
    seen: HashSet<JobId>,
    ranked: Vec<(u8, usize, Arc<Job>)>,
}

impl Ranker {
    fn new(typed: &str) -> Ranker {
        Ranker { typed: FoldedKey::new(typed), seen: HashSet::new(), ranked: Vec::new() }
    }

    fn len(&self) -> usize {
        self.ranked.len()
    }

    /// Considers a candidate for the exact tiers (`fuzzy` false) or the fuzzy one (`fuzzy`).
    fn offer(&mut self, key: KeyView<'_>, job: &Arc<Job>, fuzzy: bool) {
        let typed = &*self.typed.text;
        let direct = typed.is_empty() || key.text.contains(typed);
        let tier = match (fuzzy, direct) {
            (false, true) if key.text.starts_with(typed) => 0,
            (false, true) => 1,
            (true, false) if self.typed.chars >= 3 && strsim::jaro_winkler(typed, key.text) >= 0.8 => 2,
            _ => return,
        };
        if !crate::model::is_referenceable(job.name()) || !self.seen.insert(job.id.clone()) {
            return;
        }
        self.ranked.push((tier, key.chars, job.clone()));
    }

    fn finish(mut self) -> Vec<Arc<Job>> {
        self.ranked.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| a.2.path().cmp(b.2.path())));
        self.ranked.into_iter().map(|(_, _, j)| j).collect()
    }
}

/// Every job seen, and `persisted` (jobs from the persisted cache), ranked for the text typed
/// (see [`Ranker`]); more than `limit` only when the prefix and substring matches alone are more.
fn rank_completions(typed: &str, index: &Cache, persisted: &[Arc<Job>], limit: usize) -> Vec<Arc<Job>> {
    let mut ranker = Ranker::new(typed);
    let path = is_path(typed);
    for fuzzy in [false, true] {
        // Fuzzy matches rank after every prefix and substring match: when those already fill
        // the list, scoring the rest of the index would be wasted.
        if fuzzy && ranker.len() > limit {
            break;
        }
        index.for_each_job(|ix| ranker.offer(ix.key(path), &ix.job, fuzzy));
        if !fuzzy {
            for job in persisted {
                ranker.offer(FoldedKey::new(if path { job.path() } else { job.name() }).view(), job, false);
            }
        }
    }
    ranker.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u32, path: &str) -> Arc<Job> {
        Arc::new(Job::named(&format!("{id}_1"), path.rsplit('/').next().unwrap(), path))
    }

    fn resolver() -> Arc<Resolver> {
        let client = Client::new(&crate::api::ClientSettings::new(None, None));
        let settings = Settings::in_memory(Duration::from_secs(60), Duration::from_secs(10), 2);
        Resolver::new(client, settings, Arc::new(clock::SystemClock))
    }

    fn check(name: &str, jobs: &[Arc<Job>], expect: expect_test::Expect) {
        let outcome = Arc::new(SearchOutcome { jobs: jobs.to_vec(), complete: true });
        let rendered = match resolver().judge(name, &outcome) {
            Resolution::Found(j) => format!("found {}", j.path()),
            Resolution::Ambiguous(js) => format!("ambiguous {:?}", js.iter().map(|j| j.path()).collect::<Vec<_>>()),
            Resolution::CaseMismatch(js) => format!("case {:?}", js.iter().map(|j| j.path()).collect::<Vec<_>>()),
            Resolution::Unknown { suggestions, .. } => {
                format!("unknown {:?}", suggestions.iter().map(|j| j.path()).collect::<Vec<_>>())
            }
            Resolution::Unavailable(u) => format!("unavailable {u:?}"),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn verdicts() {
        use expect_test::expect;
        let jobs = [
            job(1, "Riverside"),
            job(2, "Riverside Park"),
            job(3, "Region A/Drainage"),
            job(4, "Region B/Drainage"),
            job(5, "Highway Upgrade 2024"),
        ];
        check("Riverside", &jobs, expect!["found Riverside"]);
        check("Drainage", &jobs, expect![[r#"ambiguous ["Region A/Drainage", "Region B/Drainage"]"#]]);
        check("Region A/Drainage", &jobs, expect!["found Region A/Drainage"]);
        check("region a/drainage", &jobs, expect![[r#"case ["Region A/Drainage"]"#]]);
        check("riverside", &jobs, expect![[r#"case ["Riverside"]"#]]);
        check("Riversid", &jobs, expect![[r#"unknown ["Riverside", "Riverside Park"]"#]]);
        check("Highway Upgrade 2023", &jobs, expect![[r#"unknown ["Highway Upgrade 2024"]"#]]);
        check("Region C/Drainage", &jobs, expect![[r#"unknown ["Region A/Drainage", "Region B/Drainage"]"#]]);
        check("Zebra", &jobs, expect![[r#"unknown []"#]]);
    }

    #[test]
    fn completion_ranking() {
        let pool = vec![
            job(1, "Old Highway"),
            job(2, "Highway Upgrade 2024"),
            job(3, "Highway"),
            job(4, "Hihgway Depot"),
            job(5, "Other"),
        ];
        let index = Cache::default();
        let outcome = Arc::new(SearchOutcome { jobs: pool, complete: true });
        index.insert(("https://s".into(), "h".into()), outcome, std::time::Instant::now(), Duration::from_secs(60));
        let names: Vec<_> = rank_completions("highway", &index, &[], 10).iter().map(|j| j.name().to_string()).collect();
        assert_eq!(names, ["Highway", "Highway Upgrade 2024", "Old Highway", "Hihgway Depot"]);
    }

    mod against_the_simulator {
        use super::*;
        use crate::api::ClientSettings;
        use crate::resolve::clock::ManualClock;
        use crate::simulator::{MatchMode, SimConfig, Simulator};

        async fn setup(config: SimConfig, clock: Arc<dyn Clock>) -> (Simulator, Arc<Resolver>) {
            let sim = Simulator::start(SimConfig { token: "t".into(), ..config }, 0).await.unwrap();
            let client = Client::new(&ClientSettings::new(Some(&sim.url()), Some("t")));
            let settings = Settings::in_memory(Duration::from_secs(300), Duration::from_secs(60), 4);
            (sim, Resolver::new(client, settings, clock))
        }

        fn summary(r: &Resolution) -> String {
            match r {
                Resolution::Found(j) => format!("found {}", j.id),
                Resolution::Ambiguous(js) => format!("ambiguous {}", js.len()),
                Resolution::CaseMismatch(js) => format!("case {}", js[0].path()),
                Resolution::Unknown { suggestions, .. } => format!("unknown {}", suggestions.len()),
                Resolution::Unavailable(u) => format!("unavailable {u:?}"),
            }
        }

        #[tokio::test]
        async fn same_verdicts_whether_the_server_matches_by_prefix_or_substring() {
            let names = ["Riverside", "Drainage", "Region A/Drainage", "riverside", "Bridge", "Zürich Tunnel", "Nope"];
            let mut results = Vec::new();
            for mode in [MatchMode::Contains, MatchMode::Prefix] {
                for page in [20, 3] {
                    let config = SimConfig { match_mode: mode, max_page_size: page, ..SimConfig::default() };
                    let (_sim, resolver) = setup(config, Arc::new(clock::SystemClock)).await;
                    let mut verdicts = Vec::new();
                    for name in names {
                        verdicts.push(summary(&resolver.resolve(name).await.resolution));
                    }
                    results.push(verdicts.join(", "));
                }
            }
            expect_test::expect![
                "found 40002_1, ambiguous 3, found 40019_1, case Riverside, found 40054_1, found 40007_1, unknown 0"
            ]
            .assert_eq(&results[0]);
            assert!(results.iter().all(|r| r == &results[0]), "{results:#?}");
        }

        #[tokio::test]
        async fn the_page_size_comes_from_the_response() {
            // The server caps pages at 5: "Bridge" (the 28th match) is found on page 6.
            let config = SimConfig { max_page_size: 5, ..SimConfig::default() };
            let (sim, resolver) = setup(config, Arc::new(clock::SystemClock)).await;
            assert!(matches!(resolver.resolve("Bridge").await.resolution, Resolution::Found(_)));
            assert_eq!(sim.requests_for("Bridge"), 6);
        }

        #[tokio::test]
        async fn single_flight_one_request_however_many_ask() {
            let (sim, resolver) = setup(SimConfig::default(), Arc::new(clock::SystemClock)).await;
            sim.set_latency(Duration::from_millis(50));
            let asks = (0..50).map(|i| {
                let r = resolver.clone();
                let name = if i % 2 == 0 { "Drainage" } else { "Region B/Drainage" };
                tokio::spawn(async move { r.resolve(name).await })
            });
            for ask in futures::future::join_all(asks).await {
                assert!(!matches!(ask.unwrap().resolution, Resolution::Unavailable(_)));
            }
            assert_eq!(sim.requests(), 1);
        }

        #[tokio::test]
        async fn ttls_on_a_manual_clock() {
            let clock = Arc::new(ManualClock::default());
            let (sim, resolver) = setup(SimConfig::default(), clock.clone()).await;
            assert!(matches!(resolver.resolve("Riverside").await.resolution, Resolution::Found(_)));
            assert!(matches!(resolver.resolve("Nope-Nope").await.resolution, Resolution::Unknown { .. }));
            assert_eq!((sim.requests_for("Riverside"), sim.requests_for("Nope-Nope")), (1, 1));
            // Within the negative TTL nothing is asked again.
            clock.advance(Duration::from_secs(59));
            resolver.resolve("Riverside").await;
            resolver.resolve("Nope-Nope").await;
            assert_eq!(sim.requests(), 3, "two searches and one for suggestions");
            // Past the negative TTL, "unknown" is not served stale (the job may exist since):
            // it is asked again first, and the cache-only path has no answer meanwhile.
            clock.advance(Duration::from_secs(2));
            assert!(resolver.resolve_cached("Nope-Nope").is_none());
            let renewed = resolver.resolve("Nope-Nope").await;
            assert!(matches!(renewed.resolution, Resolution::Unknown { .. }));
            assert_eq!(renewed.age, Some(Duration::ZERO));
            assert_eq!(sim.requests_for("Nope-Nope"), 2);
            assert_eq!(sim.requests_for("Riverside"), 1, "still fresh");
            // The cache-only path (used for diagnostics) refreshes stale answers too.
            clock.advance(Duration::from_secs(300));
            assert!(resolver.resolve_cached("Riverside").is_some());
            wait_for(|| sim.requests_for("Riverside") == 2).await;
            // The refreshed answer is fresh again.
            let fresh = resolver.resolve("Riverside").await;
            assert_eq!(fresh.age, Some(Duration::ZERO));
        }

        #[tokio::test]
        async fn persisted_answers_after_a_restart_and_while_the_server_is_down() {
            use crate::simulator::Fault;
            let dir = tempfile::tempdir().unwrap();
            let sim = Simulator::start(SimConfig { token: "t".into(), ..SimConfig::default() }, 0).await.unwrap();
            let persisted = |clock: Arc<dyn Clock>| {
                let client = Client::new(&ClientSettings::new(Some(&sim.url()), Some("t")));
                let settings = Settings {
                    persist: Some(dir.path().to_path_buf()),
                    max_jobs: 1000,
                    ..Settings::in_memory(Duration::from_secs(300), Duration::from_secs(60), 4)
                };
                Resolver::new(client, settings, clock)
            };
            let first = persisted(Arc::new(clock::SystemClock));
            assert!(matches!(first.resolve("Riverside").await.resolution, Resolution::Found(_)));
            assert!(matches!(first.resolve("Nope-Nope").await.resolution, Resolution::Unknown { .. }));
            first.complete("Highway", 10).await;
            first.flush_cache();
            drop(first);
            let asked = sim.requests();
            // A new process: fresh answers come from disk, with no request.
            let clock = Arc::new(ManualClock::default());
            let second = persisted(clock.clone());
            let found = second.resolve("Riverside").await;
            assert!(matches!(found.resolution, Resolution::Found(_)), "{found:?}");
            assert!(matches!(second.resolve("Nope-Nope").await.resolution, Resolution::Unknown { .. }));
            assert!(second.resolve_cached("Riverside").is_some());
            assert_eq!(sim.requests(), asked, "nothing asked of the server");
            // Completion offers persisted jobs at once (and asks the server in the background).
            let offered = second.complete("Highw", 10).await;
            assert!(offered.jobs.iter().any(|j| j.name() == "Highway Upgrade 2024"), "{offered:?}");
            assert!(offered.incomplete, "the editor asks again as the user types on");
            // Past every TTL with the server down: the found job is still served, saying why it
            // was not checked again; the unknown one is not reported at all.
            sim.set_fault(Fault::Outage);
            clock.advance(Duration::from_secs(400));
            let _ = second.resolve("Riverside").await; // the refresh fails in the background
            wait_for(|| matches!(&*second.subscribe_health().borrow(), Health::Unavailable(_))).await;
            let stale = second.resolve("Riverside").await;
            assert!(matches!(stale.resolution, Resolution::Found(_)), "{stale:?}");
            assert!(matches!(stale.stale_because, Some(crate::model::Unavailable::Unreachable(_))), "{stale:?}");
            assert!(stale.age.unwrap() >= Duration::from_secs(400));
            let unknown = second.resolve("Nope-Nope").await;
            assert!(matches!(unknown.resolution, Resolution::Unavailable(_)), "{unknown:?}");
            let offline = second.complete("Highw", 10).await;
            assert!(offline.jobs.iter().any(|j| j.name() == "Highway Upgrade 2024"), "completion works offline");
            assert!(second.take_cache_warnings().is_empty());
        }

        #[tokio::test]
        async fn a_refresh_that_changes_an_answer_is_announced() {
            let clock = Arc::new(ManualClock::default());
            let (sim, resolver) = setup(SimConfig::default(), clock.clone()).await;
            let changes = resolver.subscribe_changes();
            resolver.resolve("Riverside").await;
            clock.advance(Duration::from_secs(301));
            resolver.resolve("Riverside").await; // stale: refreshed in the background, same answer
            wait_for(|| sim.requests_for("Riverside") == 2).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(!changes.has_changed().unwrap(), "an identical answer is no news");
            // A cache that still holds an old answer (a job since renamed): the refresh differs.
            let renamed = Resolver::new(
                Client::new(&ClientSettings::new(Some(&sim.url()), Some("t"))),
                Settings::in_memory(Duration::from_secs(300), Duration::from_secs(60), 4),
                clock.clone(),
            );
            renamed.cache.insert(
                (renamed.backend().origin.clone(), "Riverside".into()),
                Arc::new(SearchOutcome { jobs: vec![job(1, "Riverside")], complete: true }),
                clock.now(),
                Duration::from_secs(1),
            );
            let mut renamed_changes = renamed.subscribe_changes();
            clock.advance(Duration::from_secs(2));
            let stale = renamed.resolve("Riverside").await;
            assert_eq!(stale.resolution, Resolution::Found(job(1, "Riverside")));
            tokio::time::timeout(Duration::from_secs(5), renamed_changes.changed()).await.unwrap().unwrap();
            let fresh = renamed.resolve("Riverside").await;
            assert!(matches!(fresh.resolution, Resolution::Found(j) if &*j.id.0 == "40002_1"));
        }

        #[tokio::test]
        async fn failures_are_never_cached() {
            let (sim, resolver) = setup(SimConfig::default(), Arc::new(clock::SystemClock)).await;
            sim.set_fault(crate::simulator::Fault::Unauthorized);
            let r = resolver.resolve("Riverside").await;
            assert_eq!(r.resolution, Resolution::Unavailable(crate::model::Unavailable::TokenRejected(401)));
            assert!(resolver.resolve_cached("Riverside").is_none());
            // A new token (reconfigure) gets a fresh try at once.
            sim.set_fault(crate::simulator::Fault::None);
            let client = Client::new(&ClientSettings::new(Some(&sim.url()), Some("t")));
            resolver.reconfigure(client, Settings::in_memory(Duration::from_secs(1), Duration::from_secs(1), 1));
            assert!(matches!(resolver.resolve("Riverside").await.resolution, Resolution::Found(_)));
        }

        #[tokio::test]
        async fn completion_reuses_a_complete_shorter_prefix() {
            let (sim, resolver) = setup(SimConfig::default(), Arc::new(clock::SystemClock)).await;
            let first = resolver.complete("Hig", 10).await;
            assert_eq!(first.jobs[0].name(), "Highway Upgrade 2024");
            assert!(!first.incomplete);
            for typed in ["High", "Highw", "Highwa", "Highway", "Highway U"] {
                let c = resolver.complete(typed, 10).await;
                assert_eq!(c.jobs[0].name(), "Highway Upgrade 2024", "{typed}");
            }
            assert_eq!(sim.requests(), 1, "one search for six keystrokes");
            // Non-ASCII and paths.
            let c = resolver.complete("Zür", 10).await;
            assert_eq!(c.jobs[0].name(), "Zürich Tunnel");
            let c = resolver.complete("Region North/Dr", 10).await;
            assert_eq!(c.jobs[0].path(), "Region North/Drainage");
            // A long list is capped and says so.
            let c = resolver.complete("a", 10).await;
            assert_eq!(c.jobs.len(), 10);
            assert!(c.incomplete);
        }

        async fn wait_for(cond: impl Fn() -> bool) {
            for _ in 0..500 {
                if cond() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("condition not reached");
        }
    }
}
