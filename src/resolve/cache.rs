//! The answer cache: search outcomes keyed by (server, search term), with TTLs, in a `DashMap`.
//!
//! Only answers are stored (found, ambiguous, unknown); a transport failure is never cached,
//! so an outage cannot turn into "unknown job". An expired entry is kept and served while it is
//! refreshed (stale-while-revalidate), which is what keeps hover working during an outage.
//! Every job seen is also kept in an index by ID, for completion and "did you mean".

use std::sync::Arc;
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

#[derive(Debug, Clone)]
pub struct Entry {
    pub outcome: Arc<SearchOutcome>,
    pub fetched: Instant,
    pub ttl: Duration,
}

impl Entry {
    pub fn is_fresh(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.fetched) < self.ttl
    }
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.fetched)
    }
}

/// (server origin, search term).
pub type Key = (Arc<str>, String);

#[derive(Debug, Default)]
pub struct Cache {
    entries: DashMap<Key, Entry>,
    jobs: DashMap<JobId, Arc<Job>>,
    /// Old name or path (lowercased) -> the job that carried it and now has another.
    renamed: DashMap<String, JobId>,
}

impl Cache {
    pub fn get(&self, key: &Key) -> Option<Entry> {
        self.entries.get(key).map(|e| e.clone())
    }

    pub fn insert(&self, key: Key, outcome: Arc<SearchOutcome>, fetched: Instant, ttl: Duration) {
        if outcome.complete {
            // Every job of this name is in a complete answer: one the previous answer had under
            // the name but this one lacks was deleted, so it must not be suggested any more.
            let term = key.1.to_lowercase();
            let gone: Vec<JobId> = self.entries.get(&key).map_or_else(Vec::new, |old| {
                old.outcome
                    .jobs
                    .iter()
                    .filter(|j| j.name.to_lowercase() == term && !outcome.jobs.iter().any(|n| n.id == j.id))
                    .map(|j| j.id.clone())
                    .collect()
            });
            for id in gone {
                self.jobs.remove(&id);
            }
        }
        for job in &outcome.jobs {
            if let Some(old) = self.jobs.insert(job.id.clone(), job.clone()) {
                if old.path != job.path {
                    self.renamed.insert(old.path.to_lowercase(), job.id.clone());
                    self.renamed.insert(old.name.to_lowercase(), job.id.clone());
                }
            }
        }
        self.entries.insert(key, Entry { outcome, fetched, ttl });
    }

    /// Visits every job seen so far.
    pub fn for_each_job(&self, mut f: impl FnMut(&Arc<Job>)) {
        for job in self.jobs.iter() {
            f(job.value());
        }
    }

    /// The job now carrying a name or path it was seen under before, if it was renamed or moved.
    pub fn renamed(&self, old: &str) -> Option<Arc<Job>> {
        let id = self.renamed.get(&old.to_lowercase())?.clone();
        let job = self.jobs.get(&id)?.clone();
        (job.path.to_lowercase() != old.to_lowercase() && job.name.to_lowercase() != old.to_lowercase()).then_some(job)
    }

    pub fn clear(&self) {
        self.entries.clear();
        self.jobs.clear();
        self.renamed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::clock::{Clock, ManualClock};

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
}
