//! The persisted job cache across processes (issue 13), end to end over the real binary: two
//! language servers and a `check` writing one cache at once, `kill -9` in the middle of write
//! bursts, damaged and unusable caches, the token never on disk, and working offline from it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use synergy_ls::simulator::{Fault, SimConfig, Simulator, data};

/// A simulator serving `Lot 0000` … `Lot {count-1}` (and nothing else).
async fn lots(count: usize) -> Simulator {
    let config = SimConfig { token: TOKEN.into(), jobs: data::numbered_jobs("Lot", count, 4), ..SimConfig::default() };
    Simulator::start(config, 0).await.expect("simulator starts")
}

fn names(range: std::ops::Range<usize>) -> String {
    range.map(|i| format!("See job:\"Lot {i:04}\".\n")).collect()
}

/// Writes `text` into `dir/name`, making `dir`.
fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// `synergy-ls check --format json` on `tree` with the persisted cache in `cache`.
fn check_command(sim: &Simulator, cache: &Path, tree: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["check", "--format", "json"])
        .arg(tree)
        .env("SYNERGY_URL", sim.url())
        .env("SYNERGY_TOKEN", TOKEN)
        .env("SYNERGY_CACHE_DIR", cache)
        .env_remove("SYNERGY_LOG")
        .env_remove("RUST_LOG");
    cmd
}

async fn check(sim: &Simulator, cache: &Path, tree: &Path) -> Output {
    let mut cmd = check_command(sim, cache, tree);
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The findings of a `check --format json` run, as (name, code).
fn findings(out: &Output) -> Vec<(String, String)> {
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    report
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["reference"].as_str().unwrap().to_string(), f["code"].as_str().unwrap().to_string()))
        .collect()
}

/// The lines of stderr that are about the job cache.
fn cache_warnings(out: &Output) -> Vec<String> {
    text(&out.stderr).lines().filter(|l| l.contains("job cache")).map(str::to_string).collect()
}

fn cache_file(cache: &Path) -> PathBuf {
    cache.join("cache.sqlite3")
}

async fn spawn_server(sim: &Simulator, cache: &Path) -> Lsp {
    let cache = cache.to_string_lossy().into_owned();
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN), ("SYNERGY_CACHE_DIR", &cache)]);
    lsp.initialize(json!({}), json!(null)).await;
    lsp
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "under Wine 8, SQLite reports this cache 'locked' when three processes open it at once; \
              real Windows runs it in the release workflow's test step (windows-latest)"
)]
async fn two_servers_and_a_check_share_one_cache_without_losing_an_answer() {
    let sim = lots(600).await;
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let mut a = spawn_server(&sim, &cache).await;
    let mut b = spawn_server(&sim, &cache).await;
    write(&work.path().join("c"), "c.md", &format!("{}job:\"Lot 9999\"\n", names(400..600)));
    // All three at once: each document has one unknown name, so its final diagnostics say 1.
    a.open("file:///a.md", "markdown", &format!("{}job:\"Lot 9997\"\n", names(0..200))).await;
    b.open("file:///b.md", "markdown", &format!("{}job:\"Lot 9998\"\n", names(200..400))).await;
    let c = work.path().join("c");
    let checked = check(&sim, &cache, &c);
    let (da, db, out) = tokio::join!(
        a.diagnostics("file:///a.md", |d| d.len() == 1),
        b.diagnostics("file:///b.md", |d| d.len() == 1),
        checked
    );
    assert_eq!((da.len(), db.len()), (1, 1));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(findings(&out), [("job:\"Lot 9999\"".to_string(), "unknown-job".to_string())]);
    assert!(cache_warnings(&out).is_empty(), "{}", text(&out.stderr));
    for lsp in [a, b] {
        let stderr = lsp.stderr.lock().unwrap().clone();
        assert!(!stderr.contains("job cache"), "{stderr}");
        lsp.shutdown().await;
    }
    // Every answer is on disk: with the server down, a new process verifies all 600 names
    // (and still knows the three unknown ones) without asking.
    sim.set_fault(Fault::Outage);
    write(
        &work.path().join("all"),
        "all.md",
        &format!("{}job:\"Lot 9997\" job:\"Lot 9998\" job:\"Lot 9999\"\n", names(0..600)),
    );
    let asked = sim.requests();
    let out = check(&sim, &cache, &work.path().join("all")).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let mut unknown: Vec<_> = findings(&out).into_iter().map(|(n, code)| format!("{n} {code}")).collect();
    unknown.sort();
    assert_eq!(
        unknown,
        ["job:\"Lot 9997\" unknown-job", "job:\"Lot 9998\" unknown-job", "job:\"Lot 9999\" unknown-job"]
    );
    assert_eq!(sim.requests(), asked, "answered from the cache alone");
    // The cache files hold no token, and are the user's alone.
    for file in std::fs::read_dir(&cache).unwrap() {
        let file = file.unwrap();
        let bytes = std::fs::read(file.path()).unwrap();
        assert!(!bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()), "the token is in {:?}", file.path());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600, "{:?}", file.path());
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o700);
    }
    // `cache stats` sees them; `cache clear` empties the file.
    let stats = std::process::Command::new(BIN)
        .args(["cache", "stats", "--format", "json", "--cache-dir"])
        .arg(&cache)
        .output()
        .unwrap();
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["servers"][0]["jobs"], 600, "{stats}");
    assert_eq!(stats["servers"][0]["server"], sim.url().trim_end_matches('/'));
    let cleared = std::process::Command::new(BIN).args(["cache", "clear", "--cache-dir"]).arg(&cache).output().unwrap();
    assert!(text(&cleared.stdout).contains("cleared 600 jobs"), "{}", text(&cleared.stdout));
    let out = check(&sim, &cache, &work.path().join("all")).await;
    assert_eq!(out.status.code(), Some(2), "nothing left to answer from: {}", text(&out.stderr));
}

#[tokio::test]
async fn kill_9_during_write_bursts_never_leaves_a_half_written_answer() {
    let sim = lots(3000).await;
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let tree = work.path().join("docs");
    for f in 0..30 {
        write(&tree, &format!("{f}.md"), &names(f * 100..f * 100 + 100));
    }
    // Under Wine a process takes about a second to start: the kills come that much later.
    let started = if cfg!(windows) { 1500 } else { 0 };
    for (round, after_ms) in [150u64, 400, 250, 600, 300].into_iter().enumerate() {
        let after_ms = after_ms + started;
        let mut child = check_command(&sim, &cache, &tree)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        let _ = child.kill(); // SIGKILL
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
        let warned = cache_warnings(&out);
        assert!(warned.len() <= 1, "round {round}: {warned:?}");
    }
    // The next start opens what is there; with the server down, every name it answers is
    // found (a torn answer would read as unknown), and the rest cannot be verified.
    sim.set_fault(Fault::Outage);
    let out = check(&sim, &cache, &tree).await;
    assert!(matches!(out.status.code(), Some(0 | 2)), "{:?}: {}", out.status, text(&out.stderr));
    let unknown: Vec<_> = findings(&out).into_iter().filter(|(_, code)| code == "unknown-job").collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert!(cache_warnings(&out).is_empty(), "{}", text(&out.stderr));
    let (stats, _) = synergy_ls::resolve::persist::stats(&cache).unwrap();
    assert!(stats.first().is_some_and(|s| s.jobs > 0), "some answers were committed before the kills: {stats:?}");
}

/// A warm cache of `Lot 0000`…`Lot 0049` in `cache`, from one `check` run.
async fn warm(sim: &Simulator, cache: &Path, tree: &Path) {
    let out = check(sim, cache, tree).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(cache_file(cache).exists());
}

#[tokio::test]
async fn a_damaged_foreign_or_unwritable_cache_warns_once_and_verdicts_come_from_the_server() {
    let sim = lots(100).await;
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("docs");
    write(&tree, "a.md", &format!("{}job:\"Lot 9999\"\n", names(0..50)));
    let expected = [("job:\"Lot 9999\"".to_string(), "unknown-job".to_string())];
    type Damage = (&'static str, fn(&Path));
    let damages: [Damage; 4] = [
        ("random bytes", |c| {
            let noise: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            std::fs::write(cache_file(c), noise).unwrap();
        }),
        ("truncated", |c| {
            let len = std::fs::metadata(cache_file(c)).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(cache_file(c)).unwrap();
            f.set_len(len / 2).unwrap();
        }),
        ("a future schema", |c| {
            let conn = rusqlite::Connection::open(cache_file(c)).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }),
        ("zero bytes", |c| {
            std::fs::write(cache_file(c), b"").unwrap();
        }),
    ];
    for (what, damage) in damages {
        let cache = work.path().join(what.replace(' ', "-"));
        warm(&sim, &cache, &tree).await;
        damage(&cache);
        for run in 0..2 {
            let out = check(&sim, &cache, &tree).await;
            assert_eq!(out.status.code(), Some(1), "{what}, run {run}: {}", text(&out.stderr));
            assert_eq!(findings(&out), expected, "{what}, run {run}");
            let warned = cache_warnings(&out);
            assert!(warned.len() <= 1, "{what}, run {run}: {warned:?}");
            assert!(!text(&out.stderr).contains("panicked"), "{what}: {}", text(&out.stderr));
        }
        // After at most one run that set it aside, the cache works again.
        sim.set_fault(Fault::Outage);
        let out = check(&sim, &cache, &tree).await;
        sim.set_fault(Fault::None);
        assert_eq!(out.status.code(), Some(1), "{what}: the cache was made anew and used: {}", text(&out.stderr));
    }

    // A folder that cannot be made: one warning, every verdict from the server.
    let blocker = work.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let out = check(&sim, &blocker.join("cache"), &tree).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(findings(&out), expected);
    let warned = cache_warnings(&out);
    assert_eq!(warned.len(), 1, "{}", text(&out.stderr));
    assert!(warned[0].contains("cannot be used") && warned[0].contains("cache.directory"), "{warned:?}");

    // A read-only folder. Root writes through permissions: then the folder is made immutable
    // (`chattr +i`, which stops root too); where neither holds, the folder above is the case.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = work.path().join("read-only");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        let immutable = std::fs::write(ro.join("probe"), "").is_ok()
            && std::fs::remove_file(ro.join("probe")).is_ok()
            && std::process::Command::new("chattr").arg("+i").arg(&ro).status().is_ok_and(|s| s.success());
        if std::fs::write(ro.join("probe"), "").is_err() {
            let out = check(&sim, &ro, &tree).await;
            assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
            assert_eq!(findings(&out), expected);
            assert_eq!(cache_warnings(&out).len(), 1, "{}", text(&out.stderr));
        }
        if immutable {
            std::process::Command::new("chattr").arg("-i").arg(&ro).status().unwrap();
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

/// A full disk, as the kernel reports it: the cache's files may not grow past a size limit
/// (RLIMIT_FSIZE, with SIGXFSZ ignored, so writes fail with EFBIG as on a full disk).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_full_disk_warns_once_and_verdicts_come_from_the_server() {
    use std::os::unix::process::CommandExt;
    let sim = lots(2000).await;
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let small = work.path().join("small");
    write(&small, "a.md", &format!("{}job:\"Lot 9999\"\n", names(0..5)));
    warm(&sim, &cache, &small).await;
    // Room for the shared-memory file (32 KiB) and a few pages of the WAL, not for 2,000 answers.
    let limit = std::fs::metadata(cache_file(&cache)).unwrap().len().max(32 * 1024) + 48 * 1024;
    let tree = work.path().join("docs");
    write(&tree, "a.md", &format!("{}job:\"Lot 9999\"\n", names(0..2000)));
    let mut cmd = check_command(&sim, &cache, &tree);
    // SAFETY: setrlimit and signal are async-signal-safe, and nothing else runs in the child.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rl = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(findings(&out), [("job:\"Lot 9999\"".to_string(), "unknown-job".to_string())]);
    let warned = cache_warnings(&out);
    assert_eq!(warned.len(), 1, "{}", text(&out.stderr));
    assert!(warned[0].contains("could not be written"), "{warned:?}");
}

#[tokio::test]
async fn offline_after_a_warm_run_hovers_and_completion_come_from_disk() {
    let sim = common::simulator().await;
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let doc = "See job:Riverside and job:Nope-Nope.\njob:Highw\n";
    {
        let mut lsp = spawn_server(&sim, &cache).await;
        lsp.open("file:///w.md", "markdown", doc).await;
        lsp.diagnostics("file:///w.md", |d| d.len() == 2).await; // Nope-Nope, and Highw being typed
        let items = lsp
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": "file:///w.md"}, "position": {"line": 1, "character": 9}}),
            )
            .await;
        assert!(items.to_string().contains("Highway Upgrade 2024"));
        lsp.shutdown().await;
    }
    // The server is gone, and every answer on disk is past its TTL.
    sim.set_fault(Fault::Outage);
    let cache_env = cache.to_string_lossy().into_owned();
    let mut lsp =
        Lsp::spawn(&[("SYNERGY_URL", &sim.url()), ("SYNERGY_TOKEN", TOKEN), ("SYNERGY_CACHE_DIR", &cache_env)]);
    lsp.initialize(json!({"cache": {"ttlSeconds": 0, "negativeTtlSeconds": 0}}), json!(null)).await;
    lsp.open("file:///w.md", "markdown", doc).await;
    // The "unknown" answers (Nope-Nope, Highw) are old and cannot be renewed: not reported.
    lsp.notification("window/showMessage", |p| p["message"].as_str().is_some_and(|m| m.contains("unreachable"))).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let published: Vec<Value> = lsp
        .transcript
        .lock()
        .unwrap()
        .iter()
        .filter_map(|m| serde_json::from_str::<Value>(m).ok())
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .collect();
    assert!(
        published.iter().all(|p| p["params"]["diagnostics"].as_array().is_none_or(|d| d.iter().all(|d| !d["message"]
            .as_str()
            .unwrap_or("")
            .contains("Nope-Nope")
            || d["code"].as_str() != Some("unknown-job")))),
        "{published:?}"
    );
    let hover = lsp
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": "file:///w.md"}, "position": {"line": 0, "character": 10}}),
        )
        .await;
    let card = hover["contents"]["value"].as_str().unwrap_or_default().to_string();
    assert!(card.contains("### Riverside"), "{card}");
    assert!(card.contains("checked") && card.contains("server unreachable"), "{card}");
    let items = lsp
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": "file:///w.md"}, "position": {"line": 1, "character": 9}}),
        )
        .await;
    assert!(items.to_string().contains("Highway Upgrade 2024"), "completion from disk: {items}");
    lsp.shutdown().await;
}

/// Where the cache lives without a setting: the platform's cache folder (`%LOCALAPPDATA%` on
/// Windows, run under Wine by scripts/windows; `$XDG_CACHE_HOME`, else `~/.cache`, on Linux),
/// and `$SYNERGY_CACHE_DIR` before it.
#[test]
fn the_cache_folder_is_the_platforms() {
    let path = |envs: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(["cache", "path"]).env_remove("SYNERGY_CACHE_DIR").env_remove("XDG_CACHE_HOME");
        let out = cmd.envs(envs.iter().copied()).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim_end().to_string()
    };
    if cfg!(windows) {
        let local = std::env::var("LOCALAPPDATA").expect("LOCALAPPDATA is set on Windows");
        assert_eq!(path(&[]), format!("{local}\\synergy-ls\\cache.sqlite3"));
    } else if cfg!(target_os = "linux") {
        assert_eq!(path(&[("XDG_CACHE_HOME", "/srv/xdg-cache")]), "/srv/xdg-cache/synergy-ls/cache.sqlite3");
        let home = std::env::var("HOME").unwrap();
        assert_eq!(path(&[]), format!("{home}/.cache/synergy-ls/cache.sqlite3"));
    }
    let own = std::env::temp_dir().join("own-cache-folder");
    assert_eq!(path(&[("SYNERGY_CACHE_DIR", own.to_str().unwrap())]), own.join("cache.sqlite3").display().to_string());
}

/// After a restart, an unknown name answered from the persisted cache still gets its "did you
/// mean": the persisted answer for its first letters is read into the index from disk (no
/// request), where before the index held only what was read since the restart, and the
/// reference was a bare "unknown".
#[tokio::test]
async fn after_a_restart_an_unknown_name_from_the_cache_keeps_its_suggestions() {
    let sim = simulator().await;
    let dir = fresh_cache_dir();
    let uri = "file:///work/restart/plan.md";
    let mut said = Vec::new();
    for _ in 0..2 {
        let mut lsp = Lsp::in_process();
        lsp.initialize(sim_settings(&sim, json!({"cache": {"directory": dir}})), json!({})).await;
        lsp.open(uri, "markdown", "job:Riversde\n").await;
        let d = lsp.diagnostics(uri, |d| !d.is_empty()).await;
        said.push(d[0]["message"].as_str().unwrap().to_string());
        assert_eq!(lsp.shutdown_in_process().await, 0);
    }
    let suggestion = "did you mean \"Riverside\"";
    assert!(said.iter().all(|m| m.contains(suggestion)), "{said:?}");
    assert_eq!((sim.requests_for("Riversde"), sim.requests_for("Riv")), (1, 1), "the second run asked nothing");
}
