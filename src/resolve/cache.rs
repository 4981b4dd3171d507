//! The answer cache: search outcomes keyed by (server, search term), with TTLs, in a `DashMap`.
//!
//! Only answers are stored (found, ambiguous, unknown); a transport failure is never cached,
//! so an outage cannot turn into "unknown job". An expired entry is kept and served while it is
//! refreshed (stale-while-revalidate), which is what keeps hover working during an outage.
//! Every job seen is also kept in an index by ID, for completion and "did you mean".

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::model::{Job, JobId};

/// What one search term returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOutcome {
    /// The jobs returned, in server order, without duplicates.
    pub jobs: Vec<Arc<Job>>,
    /// Whether every page was read (the jobs are all the server has for the term).
    pub complete: bool,
}

/// A cached answer and when it was had.
#[derive(Debug, Clone)]
pub struct Entry {
    pub outcome: Arc<SearchOutcome>,
    /// When it came into this process's memory (from the server or from the persisted cache).
    pub fetched: Instant,
    /// How old it already was then: zero from the server, the time since the server gave it
    /// when read from the persisted cache ([`super::persist`]).
    pub aged: Duration,
    pub ttl: Duration,
}

impl Entry {
    pub fn is_fresh(&self, now: Instant) -> bool {
        self.age(now) < self.ttl
    }
    /// Time since the server gave the answer.
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.fetched) + self.aged
    }
}

/// (server origin, search term).
pub type Key = (Arc<str>, String);

/// A lowercased name or path with what the fuzzy matchers need to skip it cheaply.
#[derive(Debug)]
pub struct FoldedKey {
    pub text: Box<str>,
    pub chars: usize,
    /// One bit per character class (`char as u32 % 64`): characters one key has and the other
    /// lacks bound their edit distance from below.
    pub mask: u64,
}

impl FoldedKey {
    pub fn new(s: &str) -> FoldedKey {
        let text = s.to_lowercase();
        FoldedKey { chars: text.chars().count(), mask: char_mask(&text), text: text.into() }
    }

    pub fn view(&self) -> KeyView<'_> {
        KeyView { text: &self.text, chars: self.chars, mask: self.mask }
    }
}

/// A borrowed [`FoldedKey`].
#[derive(Debug, Clone, Copy)]
pub struct KeyView<'a> {
    pub text: &'a str,
    pub chars: usize,
    pub mask: u64,
}

pub fn char_mask(s: &str) -> u64 {
    s.chars().fold(0, |m, c| m | 1 << (c as u32 % 64))
}

/// A job in the index, with its path and name folded once (not once per lookup), in one
/// allocation: the folded name is usually the folded path's last segment and then shares it.
#[derive(Debug)]
pub struct Indexed {
    pub job: Arc<Job>,
    /// The folded path, then the folded name when it is not the path's last segment.
    folded: Box<str>,
    path_len: u32,
    /// Where the folded name starts: before `path_len` when shared, at `path_len` when kept apart.
    name_at: u32,
    path_chars: u32,
    name_chars: u32,
    path_mask: u64,
    name_mask: u64,
}

impl Indexed {
    pub fn new(job: Arc<Job>) -> Indexed {
        let path = job.path().to_lowercase();
        let name = job.name().to_lowercase();
        let shared = crate::model::last_segment_at(&path, &name);
        let (path_chars, path_mask) = (path.chars().count() as u32, char_mask(&path));
        let (name_chars, name_mask) = (name.chars().count() as u32, char_mask(&name));
        let path_len = path.len() as u32;
        let (folded, name_at) = match shared {
            Some(at) => (path, at as u32),
            None => (path + &name, path_len),
        };
        Indexed {
            job,
            folded: folded.into_boxed_str(),
            path_len,
            name_at,
            path_chars,
            name_chars,
            path_mask,
            name_mask,
        }
    }

    /// The key a reference is compared on: the path for paths, the name otherwise.
    pub fn key(&self, reference_is_path: bool) -> KeyView<'_> {
        let (path_len, name_at) = (self.path_len as usize, self.name_at as usize);
        if reference_is_path {
            KeyView { text: &self.folded[..path_len], chars: self.path_chars as usize, mask: self.path_mask }
        } else {
            let text = if name_at < path_len { &self.folded[name_at..path_len] } else { &self.folded[path_len..] };
            KeyView { text, chars: self.name_chars as usize, mask: self.name_mask }
        }
    }

    #[cfg(test)]
    fn shares_name(&self) -> bool {
        self.name_at < self.path_len
    }
}

#[derive(Debug, Default)]
pub struct Cache {
    entries: DashMap<Key, Entry>,
    jobs: DashMap<JobId, Indexed>,
    /// Bumped whenever the set of indexed jobs changes, so answers derived from the whole
    /// index (suggestions) can be reused until then.
    generation: AtomicU64,
    /// Old name or path (lowercased) -> the job that carried it and now has another.
    renamed: DashMap<String, JobId>,
    /// Jobs a complete answer for their name no longer holds (deleted, or renamed: the answer
    /// cannot tell), as they were: out of the index, so they are not suggested, and kept so
    /// that seeing one again under another name is known as a rename. At most [`MAX_LEFT`]
    /// (past it, they are forgotten all at once).
    left: DashMap<JobId, Indexed>,
}

/// Jobs kept in [`Cache::left`] at most.
const MAX_LEFT: usize = 10_000;

impl Cache {
    pub fn get(&self, key: &Key) -> Option<Entry> {
        self.entries.get(key).map(|e| e.clone())
    }

    /// Keeps an answer the server just gave (see [`Cache::insert_aged`]).
    pub fn insert(&self, key: Key, outcome: Arc<SearchOutcome>, fetched: Instant, ttl: Duration) {
        self.insert_aged(key, outcome, fetched, Duration::ZERO, ttl)
    }

    /// Keeps an answer that was already `aged` old at `fetched`, and indexes its jobs (noting
    /// any seen before under another name or path).
    pub fn insert_aged(&self, key: Key, outcome: Arc<SearchOutcome>, fetched: Instant, aged: Duration, ttl: Duration) {
        if outcome.complete {
            // Every job of this name is in a complete answer: one the previous answer had under
            // the name but this one lacks was deleted, so it must not be suggested any more.
            let term = key.1.to_lowercase();
            let gone: Vec<JobId> = self.entries.get(&key).map_or_else(Vec::new, |old| {
                old.outcome
                    .jobs
                    .iter()
                    .filter(|j| j.name().to_lowercase() == term && !outcome.jobs.iter().any(|n| n.id == j.id))
                    .map(|j| j.id.clone())
                    .collect()
            });
            for id in gone {
                if let Some((id, was)) = self.jobs.remove(&id) {
                    self.generation.fetch_add(1, Ordering::Relaxed);
                    if self.left.len() >= MAX_LEFT {
                        self.left.clear();
                    }
                    self.left.insert(id, was);
                }
            }
        }
        for job in &outcome.jobs {
            if self.jobs.get(&job.id).is_some_and(|old| old.job == *job) {
                continue; // seen before, unchanged: the index (and its generation) stays
            }
            let indexed = Indexed::new(job.clone());
            self.generation.fetch_add(1, Ordering::Relaxed);
            let before =
                self.jobs.insert(job.id.clone(), indexed).or_else(|| self.left.remove(&job.id).map(|(_, was)| was));
            if let Some(old) = before {
                if old.job.path() != job.path() {
                    for was in [old.key(true), old.key(false)] {
                        self.renamed.insert(was.text.to_string(), job.id.clone());
                    }
                }
            }
        }
        self.entries.insert(key, Entry { outcome, fetched, aged, ttl });
    }

    /// Visits every job seen so far.
    pub fn for_each_job(&self, mut f: impl FnMut(&Indexed)) {
        for job in self.jobs.iter() {
            f(job.value());
        }
    }

    /// Changes whenever the set of indexed jobs changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// The job now carrying a name or path it was seen under before, if it was renamed or moved.
    pub fn renamed(&self, old: &str) -> Option<Arc<Job>> {
        let old = old.to_lowercase();
        let id = self.renamed.get(&old)?.clone();
        let entry = self.jobs.get(&id)?;
        let now = entry.value();
        (now.key(true).text != old && now.key(false).text != old).then(|| now.job.clone())
    }

    pub fn clear(&self) {
        self.entries.clear();
        self.jobs.clear();
        self.renamed.clear();
        self.left.clear();
        self.generation.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::clock::{Clock, ManualClock};

    #[test]
    fn the_folded_name_is_the_folded_path_s_last_segment() {
        let job = |name: &str, path: &str| Arc::new(Job::named("1_1", name, path));
        let ix = Indexed::new(job("Drainage", "Region A/Drainage"));
        assert_eq!((ix.key(false).text, ix.key(true).text), ("drainage", "region a/drainage"));
        assert_eq!(ix.key(false).chars, 8);
        assert!(ix.shares_name(), "shared with the path");
        let odd = Indexed::new(job("Zürich", "Other/Name"));
        assert_eq!((odd.key(false).text, odd.key(false).chars), ("zürich", 6));
        let top = Indexed::new(job("ÉCOLE", "ÉCOLE"));
        assert_eq!(top.key(false).text, "école");
        let split_char = Indexed::new(job("x", "é"));
        assert_eq!((split_char.key(false).text, split_char.key(true).text), ("x", "é"));
        let suffix_only = Indexed::new(job("Age", "Drainage"));
        assert_eq!(suffix_only.key(false).text, "age");
        assert!(!suffix_only.shares_name(), "a suffix that is not a whole segment is not shared");
        assert_eq!((suffix_only.key(true).text, suffix_only.key(true).chars), ("drainage", 8));
    }

    #[test]
    fn entries_expire_but_stay_servable() {
        let clock = ManualClock::default();
        let cache = Cache::default();
        let key: Key = ("https://s".into(), "A".into());
        let outcome = Arc::new(SearchOutcome { jobs: vec![], complete: true });
        cache.insert(key.clone(), outcome.clone(), clock.now(), Duration::from_secs(60));
        assert!(cache.get(&key).unwrap().is_fresh(clock.now()));
        clock.advance(Duration::from_secs(59));
        assert!(cache.get(&key).unwrap().is_fresh(clock.now()));
        clock.advance(Duration::from_secs(1));
        let stale = cache.get(&key).unwrap();
        assert!(!stale.is_fresh(clock.now()));
        assert_eq!(stale.outcome, outcome);
        assert_eq!(stale.age(clock.now()), Duration::from_secs(60));
        // Another server's entry is another key.
        assert!(cache.get(&("https://other".into(), "A".into())).is_none());
    }

    /// A complete answer for a name that no longer holds its job takes the job out of the
    /// suggestions (it may be deleted), but seeing it again under another name is a rename.
    #[test]
    fn a_job_gone_from_its_name_and_seen_again_under_another_is_a_rename() {
        let clock = ManualClock::default();
        let cache = Cache::default();
        let key = |term: &str| -> Key { ("https://s".into(), term.into()) };
        let answer = |jobs: Vec<Arc<Job>>| Arc::new(SearchOutcome { jobs, complete: true });
        let cycleway = Arc::new(Job::named("7_1", "Burwood Cycleway", "Burwood Cycleway"));
        let shared_path = Arc::new(Job::named("7_1", "Burwood Shared Path", "Burwood Shared Path"));
        let ttl = Duration::from_secs(60);
        cache.insert(key("Burwood Cycleway"), answer(vec![cycleway]), clock.now(), ttl);
        assert_eq!(cache.job_count(), 1);
        cache.insert(key("Burwood Cycleway"), answer(vec![]), clock.now(), ttl);
        assert_eq!(cache.job_count(), 0, "not suggested: it may be deleted");
        assert!(cache.renamed("Burwood Cycleway").is_none());
        cache.insert(key("Bur"), answer(vec![shared_path]), clock.now(), ttl);
        assert_eq!(
            cache.renamed("burwood cycleway").map(|j| j.name().to_string()).as_deref(),
            Some("Burwood Shared Path")
        );
    }
}
