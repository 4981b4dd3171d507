//! The persisted answer cache: search answers and the jobs in them, per server, in one SQLite
//! file (`cache.sqlite3`) that every synergy-ls process on the machine shares, so verdicts,
//! hovers and completion work at once after a restart and while the server cannot be reached.
//!
//! - **Where**: [`cache_dir`] (`--cache-dir`, `cache.directory`, `$SYNERGY_CACHE_DIR`, then the
//!   platform's cache directory from the `dirs` crate: `$XDG_CACHE_HOME` or `~/.cache` on
//!   Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows, each `/synergy-ls`). The
//!   directory is made with mode 0700 and the file with 0600 (SQLite gives its `-wal` and
//!   `-shm` files the database file's mode).
//! - **Keyed by server**: the normalised origin (`Client::origin`), never anything derived
//!   from the token, which is never stored. Failures and bodies that were not understood are
//!   never stored either: only [`SearchOutcome`]s, which exist only for answers that parsed.
//! - **Shared safely**: WAL mode (readers never wait on a writer; a `kill -9` at any moment
//!   leaves the last committed transaction), `synchronous = NORMAL`, a 5 s busy timeout. Each
//!   answer is written in one transaction with its jobs, so no reader sees half of one.
//! - **Off the request path**: [`Store::save`] hands the answer to a writer thread that
//!   batches what arrives within a few milliseconds into one transaction. Reads are one indexed
//!   query on the caller's thread, never a network wait.
//! - **Bounded**: at most `cache.maxJobs` jobs (and as many terms) per file; the least recently
//!   seen are evicted. A term whose jobs were evicted reads as absent.
//! - **Versioned**: `PRAGMA user_version` is [`SCHEMA_VERSION`]; a file with another version,
//!   or one that is not a database, is set aside (renamed beside, with one log line) and a new
//!   one is made. A file damaged later is set aside when found, and this process goes on
//!   without it; the next start makes a new one.
//! - **Never fatal**: whatever fails (a read-only directory, a full disk, a damaged file), the
//!   user is told once ([`Store::take_warning`]) and answers come from the network as before.
//!
//! Tables (SQLite, see <https://www.sqlite.org/wal.html> for the concurrency rules relied on):
//! `servers(id, url)`; `jobs(server, id, name_lower, path_lower, body, seen)` with `body` a
//! JSON array `[id, name, path, type, created, creator, subJobs, folders, tdJobs, notes,
//! description]` and `seen` the Unix time in milliseconds the job was last in an answer;
//! `terms(server, term, verdict, complete, fetched, ids)` with `verdict` one of `found`,
//! `ambiguous`, `case-mismatch`, `unknown` (of the term as a name), `fetched` Unix
//! milliseconds (UTC) and `ids` a JSON array of job IDs in server order; and
//! `renamed(server, old, id)`: a name or path (lowercased) a job was seen under before it was
//! seen under another, so "was renamed; it is now X" survives restarts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::cache::SearchOutcome;
use crate::model::{Job, JobParts};

/// The schema this build reads and writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;
/// The cache file's name inside the cache directory.
pub const FILE_NAME: &str = "cache.sqlite3";
/// How long a write waits for another process's write to finish before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the writer waits for more answers before committing a batch.
const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// Jobs written between two counts of the table for eviction (a count reads the whole index).
const EVICT_CHECK_EVERY: usize = 2_000;
/// The most answers committed in one transaction.
const BATCH_MAX: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS servers (id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS jobs (
    server INTEGER NOT NULL, id TEXT NOT NULL, name_lower TEXT NOT NULL, path_lower TEXT NOT NULL,
    body TEXT NOT NULL, seen INTEGER NOT NULL, PRIMARY KEY (server, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_by_name ON jobs (server, name_lower);
CREATE INDEX IF NOT EXISTS jobs_by_seen ON jobs (seen);
CREATE TABLE IF NOT EXISTS terms (
    server INTEGER NOT NULL, term TEXT NOT NULL, verdict TEXT NOT NULL, complete INTEGER NOT NULL,
    fetched INTEGER NOT NULL, ids TEXT NOT NULL, PRIMARY KEY (server, term)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_by_fetched ON terms (fetched);
CREATE TABLE IF NOT EXISTS renamed (
    server INTEGER NOT NULL, old TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (server, old)) WITHOUT ROWID;
";

/// Where the cache lives: `explicit` (`--cache-dir` or `cache.directory`), else
/// `$SYNERGY_CACHE_DIR`, else the platform's cache directory plus `synergy-ls`; `None` when
/// the platform has none (no home directory).
pub fn cache_dir(explicit: Option<&str>) -> Option<PathBuf> {
    let non_empty = |s: &str| !s.trim().is_empty();
    explicit
        .filter(|s| non_empty(s))
        .map(PathBuf::from)
        .or_else(|| std::env::var("SYNERGY_CACHE_DIR").ok().filter(|s| non_empty(s)).map(PathBuf::from))
        .or_else(|| dirs::cache_dir().map(|d| d.join("synergy-ls")))
}

/// One persisted answer, as [`Store::load`] reads it.
#[derive(Debug, Clone)]
pub struct Persisted {
    pub outcome: Arc<SearchOutcome>,
    /// When the server gave the answer (wall clock).
    pub fetched: SystemTime,
    /// Whether the term was found as a name (found, ambiguous or case mismatch), which decides
    /// its TTL (`cache.ttlSeconds` rather than `cache.negativeTtlSeconds`).
    pub positive: bool,
}

/// What `synergy-ls cache stats` prints, per server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerStats {
    pub server: String,
    pub jobs: u64,
    pub terms: u64,
    /// When the oldest answer was fetched (Unix milliseconds), if any.
    pub oldest_ms: Option<i64>,
}

enum Op {
    Save {
        server: Arc<str>,
        term: String,
        outcome: Arc<SearchOutcome>,
        fetched: SystemTime,
    },
    /// Answers once everything sent before it is committed (or failed).
    Flush(mpsc::Sender<()>),
}

/// The persisted cache of one file. Cheap to share (`Arc`); every method is safe to call from
/// any thread, and none returns an error: problems become one warning.
pub struct Store {
    path: PathBuf,
    read: Mutex<Option<Connection>>,
    writer: Mutex<Option<mpsc::Sender<Op>>>,
    shared: Arc<Shared>,
}

/// What the reader and the writer thread both see.
struct Shared {
    path: PathBuf,
    /// Set once the file was found damaged: nothing more is read or written.
    broken: AtomicBool,
    /// The first problem, until it is taken to be shown.
    warning: Mutex<Option<String>>,
    warned: AtomicBool,
}

impl Shared {
    /// Records a problem; only the first is shown (and logged).
    fn warn(&self, what: String) {
        if !self.warned.swap(true, Ordering::SeqCst) {
            *self.warning.lock().unwrap_or_else(|e| e.into_inner()) = Some(what);
        }
    }

    /// Handles a failed database call: a damaged file is set aside and no longer used; any
    /// other failure is told once.
    fn failed(&self, doing: &str, e: &rusqlite::Error) {
        if is_damage(e) {
            if !self.broken.swap(true, Ordering::SeqCst) {
                let aside = set_aside(&self.path, "damaged");
                self.warn(format!(
                    "The job cache {} is damaged ({e}); it was set aside{} and this session works without it. The next start makes a new one.",
                    self.path.display(),
                    aside.map(|p| format!(" as {}", p.display())).unwrap_or_default()
                ));
            }
        } else {
            self.warn(format!(
                "The job cache {} could not be {doing} ({e}); answers are kept in memory only until that is fixed.",
                self.path.display()
            ));
        }
    }
}

impl Store {
    /// Opens (or makes) the cache in `dir`, keeping at most `max_jobs` jobs. `Err` is the
    /// warning to show once when it cannot be used at all; the caller then works in memory.
    pub fn open(dir: &Path, max_jobs: usize) -> Result<Store, String> {
        let path = dir.join(FILE_NAME);
        let cannot = |e: &dyn std::fmt::Display| {
            format!(
                "The job cache in {} cannot be used ({e}); answers are kept in memory only. Set cache.directory (or SYNERGY_CACHE_DIR) to a folder you can write, or cache.persist = false.",
                dir.display()
            )
        };
        make_private_dir(dir).map_err(|e| cannot(&e))?;
        let (conn, note) = open_file(&path).map_err(|e| cannot(&e))?;
        let shared = Arc::new(Shared {
            path: path.clone(),
            broken: AtomicBool::new(false),
            warning: Mutex::new(None),
            warned: AtomicBool::new(false),
        });
        if let Some(note) = note {
            shared.warn(note); // told once: what the user had is gone, a new file works
        }
        let writer_conn = open_connection(&path).map_err(|e| cannot(&e))?;
        let (tx, rx) = mpsc::channel();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("synergy-cache-writer".into())
            .spawn(move || write_loop(writer_conn, rx, max_jobs.max(1), &thread_shared))
            .map_err(|e| cannot(&e))?;
        Ok(Store { path, read: Mutex::new(Some(conn)), writer: Mutex::new(Some(tx)), shared })
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first problem met since it was last taken (a write that failed, a damaged file).
    pub fn take_warning(&self) -> Option<String> {
        self.shared.warning.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn with_reader<T>(&self, doing: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Option<T> {
        if self.shared.broken.load(Ordering::SeqCst) {
            return None;
        }
        let guard = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let conn = guard.as_ref()?;
        match f(conn) {
            Ok(v) => Some(v),
            Err(e) => {
                self.shared.failed(doing, &e);
                None
            }
        }
    }

    /// The persisted answer for `term` on `server`, if there is one whose jobs are all still
    /// kept.
    pub fn load(&self, server: &str, term: &str) -> Option<Persisted> {
        self.with_reader("read", |conn| {
            let Some(sid) = server_id(conn, server)? else { return Ok(None) };
            let row = conn
                .prepare_cached("SELECT verdict, complete, fetched, ids FROM terms WHERE server = ?1 AND term = ?2")?
                .query_row(params![sid, term], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
                })
                .optional()?;
            let Some((verdict, complete, fetched, ids)) = row else { return Ok(None) };
            let Ok(ids) = serde_json::from_str::<Vec<String>>(&ids) else { return Ok(None) };
            let mut jobs = Vec::with_capacity(ids.len());
            let mut stmt = conn.prepare_cached("SELECT body FROM jobs WHERE server = ?1 AND id = ?2")?;
            for id in &ids {
                let body: Option<String> = stmt.query_row(params![sid, id], |r| r.get(0)).optional()?;
                match body.as_deref().and_then(job_from_body) {
                    Some(job) => jobs.push(Arc::new(job)),
                    None => return Ok(None), // evicted (or not ours): the answer is not whole
                }
            }
            Ok(Some(Persisted {
                outcome: Arc::new(SearchOutcome { jobs, complete }),
                fetched: UNIX_EPOCH + Duration::from_millis(fetched.max(0) as u64),
                positive: verdict != "unknown",
            }))
        })
        .flatten()
    }

    /// Hands an answer to the writer; it is committed within milliseconds, off this thread.
    pub fn save(&self, server: &Arc<str>, term: &str, outcome: &Arc<SearchOutcome>, fetched: SystemTime) {
        if self.shared.broken.load(Ordering::SeqCst) {
            return;
        }
        if let Some(tx) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ =
                tx.send(Op::Save { server: server.clone(), term: term.to_string(), outcome: outcome.clone(), fetched });
        }
    }

    /// Waits until every answer handed to [`Store::save`] so far is committed (or failed).
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        let sent = self
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|w| w.send(Op::Flush(tx)).is_ok());
        if sent {
            let _ = rx.recv_timeout(BUSY_TIMEOUT * 2);
        }
    }

    /// The job now carrying `old` (a lowercased name or path) if a job was seen under it and
    /// later under another name.
    pub fn renamed(&self, server: &str, old: &str) -> Option<Arc<Job>> {
        self.with_reader("read", |conn| {
            let Some(sid) = server_id(conn, server)? else { return Ok(None) };
            let body: Option<(String, String, String)> = conn
                .prepare_cached(
                    "SELECT j.body, j.name_lower, j.path_lower FROM renamed r JOIN jobs j ON j.server = r.server AND j.id = r.id
                     WHERE r.server = ?1 AND r.old = ?2",
                )?
                .query_row(params![sid, old], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            Ok(body.filter(|(_, name, path)| name != old && path != old).and_then(|(b, _, _)| job_from_body(&b)))
        })
        .flatten()
        .map(Arc::new)
    }

    /// Up to `limit` persisted jobs whose name (or path, when `typed` is a path) starts with
    /// `typed` (lowercased), for completion; from the index, so it is fast at any size.
    pub fn complete(&self, server: &str, typed: &str, limit: usize) -> Vec<Arc<Job>> {
        let lower = typed.to_lowercase();
        let path = crate::model::is_path(typed);
        self.with_reader("read", |conn| {
            let Some(sid) = server_id(conn, server)? else { return Ok(Vec::new()) };
            // Every string starting with `lower` sorts between it and it followed by the
            // highest character (SQLite compares text as bytes, and UTF-8 keeps code point order).
            let upper = format!("{lower}\u{10FFFF}");
            let sql = if path {
                "SELECT body FROM jobs WHERE server = ?1 AND path_lower >= ?2 AND path_lower < ?3 LIMIT ?4"
            } else {
                "SELECT body FROM jobs WHERE server = ?1 AND name_lower >= ?2 AND name_lower < ?3 LIMIT ?4"
            };
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![sid, lower, upper, limit as i64], |r| r.get::<_, String>(0))?;
            let mut jobs = Vec::new();
            for body in rows {
                if let Some(job) = job_from_body(&body?) {
                    jobs.push(Arc::new(job));
                }
            }
            Ok(jobs)
        })
        .unwrap_or_default()
    }

    /// Marks every persisted answer of `server` stale (`synergy.refresh`): they are still
    /// served while the server cannot be asked, but asked again first.
    pub fn mark_stale(&self, server: &str) {
        self.flush();
        self.with_reader("written", |conn| {
            if let Some(sid) = server_id(conn, server)? {
                conn.execute("UPDATE terms SET fetched = 0 WHERE server = ?1", params![sid])?;
            }
            Ok(())
        });
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Commit what is pending, then let the writer thread end.
        self.flush();
        self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Per-server counts of the cache file in `dir` (`synergy-ls cache stats`), and its size on
/// disk in bytes (the database and its WAL). `Err` says why it could not be read.
pub fn stats(dir: &Path) -> Result<(Vec<ServerStats>, u64), String> {
    let path = dir.join(FILE_NAME);
    if !path.exists() {
        return Ok((Vec::new(), 0));
    }
    let conn = open_connection(&path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut read = || -> rusqlite::Result<()> {
        let mut servers = conn.prepare("SELECT id, url FROM servers ORDER BY url")?;
        let servers: Vec<(i64, String)> =
            servers.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        for (sid, url) in servers {
            let jobs: i64 = conn.query_row("SELECT count(*) FROM jobs WHERE server = ?1", [sid], |r| r.get(0))?;
            let (terms, oldest): (i64, Option<i64>) =
                conn.query_row("SELECT count(*), min(fetched) FROM terms WHERE server = ?1", [sid], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            out.push(ServerStats { server: url, jobs: jobs as u64, terms: terms as u64, oldest_ms: oldest });
        }
        Ok(())
    };
    read().map_err(|e| e.to_string())?;
    let size = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(dir.join(format!("{FILE_NAME}{s}"))).ok())
        .map(|m| m.len())
        .sum();
    Ok((out, size))
}

/// Deletes every answer in the cache file in `dir` (`synergy-ls cache clear`): the file stays,
/// empty, so processes using it go on. Returns how many jobs were removed.
pub fn clear(dir: &Path) -> Result<u64, String> {
    let path = dir.join(FILE_NAME);
    if !path.exists() {
        return Ok(0);
    }
    let conn = open_connection(&path).map_err(|e| e.to_string())?;
    let run = || -> rusqlite::Result<u64> {
        let jobs: i64 = conn.query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))?;
        conn.execute_batch(
            "BEGIN IMMEDIATE; DELETE FROM terms; DELETE FROM jobs; DELETE FROM renamed; COMMIT; VACUUM;",
        )?;
        Ok(jobs as u64)
    };
    run().map_err(|e| e.to_string())
}

/// Makes `dir` (and its parents) if missing, the last one with mode 0700.
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A connection with the settings every one needs.
/// Each connection's page cache is kept small (the operating system caches the file anyway):
/// the language server's memory target counts every megabyte; so is the log left on disk.
fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)?;
    conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES)?;
    Ok(conn)
}

/// What the write-ahead log is cut back to after a checkpoint (`PRAGMA journal_size_limit`,
/// bytes): a small page cache spills a big batch into the log, which otherwise keeps its
/// largest size on disk for good.
const WAL_LIMIT_BYTES: i64 = 1 << 20;

/// SQLite's page cache per connection, as `PRAGMA cache_size` takes it (negative: KiB).
const PAGE_CACHE_KIB: i64 = -512;

/// Opens the cache file, making it (mode 0600) and its schema if needed, setting aside one
/// that is not a database or has another schema. The note says what was set aside.
fn open_file(path: &Path) -> Result<(Connection, Option<String>), String> {
    create_private_file(path).map_err(|e| e.to_string())?;
    match prepare(path) {
        Ok(conn) => Ok((conn, None)),
        Err(Unusable::Io(e)) => Err(e),
        Err(Unusable::Aside(why)) => {
            let aside = set_aside(path, &why);
            let note = format!(
                "The job cache {} {why}; it was set aside{} and a new one was made.",
                path.display(),
                aside.as_ref().map(|p| format!(" as {}", p.display())).unwrap_or_default()
            );
            create_private_file(path).map_err(|e| e.to_string())?;
            match prepare(path) {
                Ok(conn) => Ok((conn, Some(note))),
                Err(Unusable::Io(e) | Unusable::Aside(e)) => Err(e),
            }
        }
    }
}

enum Unusable {
    /// Cannot be opened or written here (permissions, disk): reported, file left alone.
    Io(String),
    /// Not ours to read (not a database, another schema): set aside and made anew.
    Aside(String),
}

/// Opens `path` in WAL mode and checks (or makes) the schema.
fn prepare(path: &Path) -> Result<Connection, Unusable> {
    let classify = |e: rusqlite::Error| {
        if is_damage(&e) {
            Unusable::Aside(format!("is not a readable cache ({e})"))
        } else {
            Unusable::Io(e.to_string())
        }
    };
    let conn = open_connection(path).map_err(classify)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(classify)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Unusable::Io(format!("the file system does not allow SQLite's WAL mode (got {mode})")));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(classify)?;
    match version {
        SCHEMA_VERSION => Ok(conn),
        0 => {
            // New (or made by a process that died before finishing): make the schema, once
            // whichever process gets here first.
            conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))
                .map_err(classify)?;
            Ok(conn)
        }
        other => Err(Unusable::Aside(format!("has schema version {other}, not {SCHEMA_VERSION}"))),
    }
}

/// Whether an error means the file is not a (sound) SQLite database.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase))
}

/// Creates `path` empty with mode 0600 unless it exists.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Renames the cache file (and its WAL and shared-memory files) beside itself, e.g.
/// `cache.sqlite3.damaged-1733222400`; `None` when that failed too.
fn set_aside(path: &Path, why: &str) -> Option<PathBuf> {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let tag: String = why.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let tag = if tag.is_empty() { "old".to_string() } else { tag };
    let aside = path.with_file_name(format!("{FILE_NAME}.{tag}-{stamp}"));
    std::fs::rename(path, &aside).ok()?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(path.with_file_name(format!("{FILE_NAME}{suffix}")));
    }
    Some(aside)
}

fn server_id(conn: &Connection, server: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM servers WHERE url = ?1")?.query_row([server], |r| r.get(0)).optional()
}

/// The writer thread: batches answers into transactions until the store is dropped.
fn write_loop(mut conn: Connection, rx: mpsc::Receiver<Op>, max_jobs: usize, shared: &Shared) {
    lower_thread_priority();
    let mut servers: HashMap<Arc<str>, i64> = HashMap::new();
    // Jobs written since the tables were last counted; the first batch counts.
    let mut unchecked = EVICT_CHECK_EVERY;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let deadline = std::time::Instant::now() + BATCH_WINDOW;
        while batch.len() < BATCH_MAX {
            match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut flushes = Vec::new();
        let mut saves = Vec::new();
        for op in batch {
            match op {
                Op::Save { server, term, outcome, fetched } => saves.push((server, term, outcome, fetched)),
                Op::Flush(done) => flushes.push(done),
            }
        }
        if !saves.is_empty() && !shared.broken.load(Ordering::SeqCst) {
            unchecked += saves.iter().map(|s| s.2.jobs.len().max(1)).sum::<usize>();
            let evict = unchecked >= EVICT_CHECK_EVERY.min(max_jobs / 10 + 1);
            if evict {
                unchecked = 0;
            }
            if let Err(e) = write_batch(&mut conn, &mut servers, &saves, evict.then_some(max_jobs)) {
                servers.clear();
                shared.failed("written", &e);
            }
        }
        if !flushes.is_empty() {
            // A flush comes at the end of a run: the log goes into the file and is emptied,
            // as far as other processes' readers allow, without waiting for them.
            let _ = conn.busy_timeout(Duration::ZERO);
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            let _ = conn.busy_timeout(BUSY_TIMEOUT);
        }
        // What the batch's pages and statements took goes back to the allocator.
        let _ = conn.release_memory();
        for done in flushes {
            let _ = done.send(());
        }
    }
}

fn write_batch(
    conn: &mut Connection,
    servers: &mut HashMap<Arc<str>, i64>,
    saves: &[(Arc<str>, String, Arc<SearchOutcome>, SystemTime)],
    evict_to: Option<usize>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (server, term, outcome, fetched) in saves {
        let sid = match servers.get(server) {
            Some(&id) => id,
            None => {
                tx.execute("INSERT OR IGNORE INTO servers (url) VALUES (?1)", [&**server])?;
                let id: i64 = tx.query_row("SELECT id FROM servers WHERE url = ?1", [&**server], |r| r.get(0))?;
                servers.insert(server.clone(), id);
                id
            }
        };
        let at = fetched.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut ids = Vec::with_capacity(outcome.jobs.len());
        {
            let mut before =
                tx.prepare_cached("SELECT name_lower, path_lower FROM jobs WHERE server = ?1 AND id = ?2")?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO jobs (server, id, name_lower, path_lower, body, seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (server, id) DO UPDATE SET name_lower = ?3, path_lower = ?4, body = ?5, seen = max(seen, ?6)",
            )?;
            let mut renamed =
                tx.prepare_cached("INSERT OR REPLACE INTO renamed (server, old, id) VALUES (?1, ?2, ?3)")?;
            for job in &outcome.jobs {
                let (name, path) = (job.name().to_lowercase(), job.path().to_lowercase());
                let old: Option<(String, String)> =
                    before.query_row(params![sid, &*job.id.0], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
                if let Some((old_name, old_path)) = old
                    && old_path != path
                {
                    for was in [old_name, old_path] {
                        renamed.execute(params![sid, was, &*job.id.0])?;
                    }
                }
                upsert.execute(params![sid, &*job.id.0, name, path, job_body(job), at])?;
                ids.push(Value::String(job.id.0.to_string()));
            }
        }
        tx.prepare_cached(
            "INSERT OR REPLACE INTO terms (server, term, verdict, complete, fetched, ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![sid, term, term_verdict(term, outcome), outcome.complete, at, Value::Array(ids).to_string()])?;
    }
    if let Some(max) = evict_to {
        evict(&tx, max)?;
    }
    tx.commit()
}

/// Gives the writer thread a lower scheduling priority (nice 10 on Linux, where a thread has
/// its own), so writing never takes the CPU from answering the editor.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take and return plain integers; on Linux PRIO_PROCESS
    // with a thread ID sets that thread's nice value only.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

/// Keeps at most `max` jobs and `max` terms: the least recently seen (fetched) go.
fn evict(tx: &rusqlite::Transaction<'_>, max: usize) -> rusqlite::Result<()> {
    let max = max as i64;
    for (table, key, by) in [("jobs", "server, id", "seen"), ("terms", "server, term", "fetched")] {
        let count: i64 = tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        if count > max {
            // A tenth more than needed, so a full cache is not trimmed on every batch.
            let excess = count - max + max / 10;
            tx.execute(
                &format!("DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} ORDER BY {by} LIMIT ?1)"),
                [excess],
            )?;
        }
    }
    tx.execute("DELETE FROM renamed WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.server = renamed.server AND j.id = renamed.id)", [])?;
    Ok(())
}

/// The verdict on a term as a name: what decides its TTL, and what `stats` could show.
fn term_verdict(term: &str, outcome: &SearchOutcome) -> &'static str {
    let exact = outcome.jobs.iter().filter(|j| j.name() == term).count();
    let lower = term.to_lowercase();
    match exact {
        1 => "found",
        n if n > 1 => "ambiguous",
        _ if outcome.jobs.iter().any(|j| j.name().to_lowercase() == lower) => "case-mismatch",
        _ => "unknown",
    }
}

/// A job as the JSON array stored in `jobs.body`.
fn job_body(job: &Job) -> String {
    serde_json::json!([
        &*job.id.0,
        job.name(),
        job.path(),
        job.job_type.as_deref(),
        job.created(),
        job.creator.as_deref(),
        job.sub_jobs(),
        job.folders(),
        job.td_jobs(),
        job.notes(),
        job.description(),
    ])
    .to_string()
}

/// A job from its stored JSON array; `None` for anything else.
fn job_from_body(body: &str) -> Option<Job> {
    let v: Vec<Value> = serde_json::from_str(body).ok()?;
    let [id, name, path, job_type, created, creator, sub_jobs, folders, td_jobs, notes, description] = &v[..] else {
        return None;
    };
    let count = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let shared = |v: &Value| v.as_str().map(Arc::<str>::from);
    Some(Job::new(JobParts {
        id: id.as_str()?,
        name: name.as_str()?,
        path: path.as_str()?,
        job_type: shared(job_type),
        created: created.as_str(),
        creator: shared(creator),
        sub_jobs: count(sub_jobs),
        folders: count(folders),
        td_jobs: count(td_jobs),
        notes: count(notes),
        description: description.as_str().unwrap_or(""),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(jobs: &[(&str, &str)]) -> Arc<SearchOutcome> {
        let jobs =
            jobs.iter().map(|(id, path)| Arc::new(Job::named(id, path.rsplit('/').next().unwrap(), path))).collect();
        Arc::new(SearchOutcome { jobs, complete: true })
    }

    #[test]
    fn answers_round_trip_and_renames_survive() {
        let dir = tempfile::tempdir().unwrap();
        let server: Arc<str> = "https://s.example".into();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        {
            let store = Store::open(dir.path(), 100).unwrap();
            store.save(
                &server,
                "Drainage",
                &outcome(&[("1_1", "Region A/Drainage"), ("2_1", "Region B/Drainage")]),
                t0,
            );
            store.save(&server, "Nope", &outcome(&[]), t0);
            store.flush();
            let got = store.load(&server, "Drainage").unwrap();
            assert_eq!(got.outcome.jobs.len(), 2);
            assert_eq!(got.fetched, t0);
            assert!(got.positive);
            assert!(!store.load(&server, "Nope").unwrap().positive);
            assert!(store.load("https://other", "Drainage").is_none(), "another server's answers are apart");
            // Job 1 is seen again under a new name.
            store.save(&server, "Stormwater", &outcome(&[("1_1", "Region A/Stormwater")]), t0);
        }
        let store = Store::open(dir.path(), 100).unwrap();
        let now = store.renamed(&server, "region a/drainage").expect("rename kept across opens");
        assert_eq!(now.path(), "Region A/Stormwater");
        assert_eq!(store.renamed(&server, "drainage").unwrap().id.0.as_ref(), "1_1");
        let names: Vec<_> = store.complete(&server, "storm", 10).iter().map(|j| j.path().to_string()).collect();
        assert_eq!(names, ["Region A/Stormwater"]);
        assert_eq!(store.complete(&server, "region b/", 10).len(), 1, "a typed path completes by path");
        store.mark_stale(&server);
        assert_eq!(store.load(&server, "Stormwater").unwrap().fetched, UNIX_EPOCH);
        let (stats, size) = stats(dir.path()).unwrap();
        assert_eq!(stats[0].jobs, 2);
        assert_eq!(stats[0].terms, 3);
        assert!(size > 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in std::fs::read_dir(dir.path()).unwrap() {
                let f = f.unwrap();
                assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600, "{:?}", f.path());
            }
        }
        assert_eq!(clear(dir.path()).unwrap(), 2);
        assert!(store.load(&server, "Stormwater").is_none());
    }

    #[test]
    fn evicts_the_least_recently_seen_and_a_partial_answer_reads_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let server: Arc<str> = "https://s".into();
        let store = Store::open(dir.path(), 10).unwrap();
        for i in 0..30u64 {
            let at = UNIX_EPOCH + Duration::from_secs(1_000 + i);
            store.save(&server, &format!("T{i}"), &outcome(&[(&format!("{i}_1"), &format!("T{i}"))]), at);
            store.flush();
        }
        let (stats, _) = stats(dir.path()).unwrap();
        assert!(stats[0].jobs <= 10 && stats[0].terms <= 10, "{stats:?}");
        assert!(store.load(&server, "T0").is_none(), "the oldest went");
        assert!(store.load(&server, "T29").is_some(), "the newest stayed");
    }

    #[test]
    fn another_schema_or_random_bytes_are_set_aside() {
        for junk in [Some(&b"this is not a database at all, just some bytes"[..]), None] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(FILE_NAME);
            match junk {
                Some(bytes) => std::fs::write(&path, bytes.repeat(200)).unwrap(),
                None => {
                    let c = Connection::open(&path).unwrap();
                    c.execute_batch("PRAGMA user_version = 99; CREATE TABLE future (x);").unwrap();
                }
            }
            let store = Store::open(dir.path(), 10).expect("made anew");
            store.save(&"https://s".into(), "A", &outcome(&[("1_1", "A")]), SystemTime::now());
            store.flush();
            assert!(store.load("https://s", "A").is_some());
            let aside = std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|f| {
                    f.as_ref().unwrap().file_name().to_string_lossy().starts_with("cache.sqlite3.")
                        && !f.as_ref().unwrap().file_name().to_string_lossy().ends_with("-wal")
                        && !f.as_ref().unwrap().file_name().to_string_lossy().ends_with("-shm")
                })
                .count();
            assert_eq!(aside, 1, "the old file is kept beside");
        }
    }
}
