//! End-to-end tests of `synergy-ls check`: the real binary on real files against the simulator,
//! because exit codes, stdout/stderr and the file walk are the interface CI depends on.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use expect_test::expect;
use serde_json::Value;
use synergy_ls::simulator::{Fault, Simulator};

fn write(dir: &Path, rel: &str, content: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A small docs tree: one stale reference, one ambiguous, the rest fine or skipped.
fn docs_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/plan.md", "# Plan\nSee 😀 job:Riversde and job:Riverside.\n`job:InCode`\n".as_bytes());
    write(dir.path(), "docs/notes.txt", b"Regional: job:Drainage\n");
    write(dir.path(), "docs/image.png", b"\x89PNG\0\0job:Nope");
    write(dir.path(), "docs/latin1.txt", b"caf\xe9 job:Nope\n");
    write(dir.path(), "build/out.md", b"job:Nope\n");
    write(dir.path(), ".gitignore", b"build/\n");
    dir
}

async fn check(dir: &Path, sim_url: &str, token: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(BIN)
        .arg("check")
        .args(args)
        .current_dir(dir)
        .env("SYNERGY_CACHE_DIR", common::fresh_cache_dir())
        .env("SYNERGY_URL", sim_url)
        .env("SYNERGY_TOKEN", token)
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A path as the human report shows it on this platform: `docs/a.md` is `docs\\a.md` on
/// Windows (as typed, then the platform's separators, as ripgrep shows paths).
fn native(path: &str) -> String {
    if cfg!(windows) { path.replace('/', "\\") } else { path.to_string() }
}

/// Human output with the platform's separators made `/` after checking they are there, so one
/// expected text serves every platform.
fn with_slashes(output: &str) -> String {
    if cfg!(windows) {
        assert!(output.contains("docs\\"), "paths are shown with the platform's separators: {output}");
        output.replace("docs\\", "docs/")
    } else {
        output.to_string()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn human_output_and_exit_codes() {
    let sim = simulator().await;
    let dir = docs_tree();
    let out = check(dir.path(), &sim.url(), TOKEN, &[]).await;
    assert_eq!(out.status.code(), Some(1), "stale references fail the build");
    expect![[r#"
        information[ambiguous-job]: 3 jobs are named "Drainage": "Region A/Drainage", "Region B/Drainage", "Region North/Drainage"; use a path
         --> docs/notes.txt:1:11
          |
        1 | Regional: job:Drainage
          |           ^^^^^^^^^^^^
          = help: job:"Region A/Drainage" or job:"Region B/Drainage" or job:"Region North/Drainage"

        warning[unknown-job]: Unknown 12d Synergy job "Riversde"; did you mean "Riverside", "Riverside Park"?
         --> docs/plan.md:2:7
          |
        2 | See 😀 job:Riversde and job:Riverside.
          |        ^^^^^^^^^^^^
          = help: job:Riverside or job:"Riverside Park"

    "#]]
    .assert_eq(&with_slashes(&text(&out.stdout)));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("note: skipped {}: not UTF-8", native("docs/latin1.txt"))), "{stderr}");
    assert!(!stderr.contains("image.png"), "binary files are skipped quietly: {stderr}");
    assert!(stderr.ends_with("synergy-ls: 1 problem, 1 note in 3 references across 2 files\n"), "{stderr}");

    // Only information-level findings: clean, and said as notes, not problems.
    let out = check(dir.path(), &sim.url(), TOKEN, &["docs/notes.txt"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).ends_with("synergy-ls: 0 problems, 1 note in 1 reference across 1 file\n"));
    // Excluding the stale file makes it clean too.
    let out = check(dir.path(), &sim.url(), TOKEN, &["--exclude", "docs/plan.md"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The severity settings decide findings and the exit code, per code.
#[tokio::test(flavor = "multi_thread")]
async fn severity_settings_decide_findings_and_exit_codes() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.md", b"job:Drainage and job:riverside\n");
    let codes = |out: &Output| -> Vec<(String, String)> {
        let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        findings.iter().map(|f| (f["code"].as_str().unwrap().into(), f["severity"].as_str().unwrap().into())).collect()
    };
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "notes do not fail");
    assert_eq!(
        codes(&out),
        [("ambiguous-job".into(), "information".into()), ("case-mismatch".into(), "information".into())]
    );
    write(dir.path(), ".synergy.toml", b"[diagnostics.severity]\nambiguousJob = \"error\"\ncaseMismatch = \"off\"\n");
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1), "an ambiguous name set to error fails");
    assert_eq!(codes(&out), [("ambiguous-job".to_string(), "error".to_string())]);
    write(dir.path(), ".synergy.toml", b"[diagnostics.severity]\nambiguousJob = \"off\"\ncaseMismatch = \"warning\"\n");
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&out), [("case-mismatch".to_string(), "warning".to_string())]);
}

/// Which files are checked: documents by default; `--include` adds others (source files by
/// their comments, unknown types as prose); a file named on the command line is always checked.
#[tokio::test(flavor = "multi_thread")]
async fn documents_by_default_sources_by_their_comments_when_included() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README.md", b"See job:Riverside.\n");
    write(dir.path(), "guide.rst", b"Old: job:Riversde\n");
    write(
        dir.path(),
        "rules.yml",
        b"expr: sum by (job:request_latency:p99) # owner: job:NoSuchOwner\nname: job:InYamlValue\n",
    );
    write(dir.path(), "main.go", b"m := \"job:InString\" // job:NoSuchInComment\n");
    write(dir.path(), "notes.procedure", b"job:NoSuchProcedure\n");
    let refs = |out: &Output| -> Vec<String> {
        let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        findings.iter().map(|f| f["reference"].as_str().unwrap().to_string()).collect()
    };
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json"]).await;
    assert_eq!(refs(&out), ["job:Riversde"], "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("in 2 references across 2 files"), "{}", text(&out.stderr));
    let out =
        check(dir.path(), &sim.url(), TOKEN, &["--format", "json", "--include", "*.yml", "--include", "*.go"]).await;
    assert_eq!(refs(&out), ["job:Riversde", "job:NoSuchInComment", "job:NoSuchOwner"], "{}", text(&out.stderr));
    // Unknown types: prose when included or named.
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json", "--include", "*.procedure"]).await;
    assert_eq!(refs(&out), ["job:Riversde", "job:NoSuchProcedure"]);
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json", "notes.procedure", "main.go"]).await;
    assert_eq!(refs(&out), ["job:NoSuchInComment", "job:NoSuchProcedure"]);
    // The setting does what the flag does.
    write(dir.path(), ".synergy.toml", b"[files]\ninclude = [\"*.go\"]\nexclude = [\"guide.rst\"]\n");
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json"]).await;
    assert_eq!(refs(&out), ["job:NoSuchInComment"], "{}", text(&out.stderr));
    // No request was ever made for text that is not a reference.
    for name in ["request_latency", "InString", "InYamlValue", "p99"] {
        assert_eq!(sim.requests_for(name), 0, "{name} was sent to the server");
    }
}

/// A byte order mark neither hides a fence nor shifts line 1's columns.
#[tokio::test(flavor = "multi_thread")]
async fn a_byte_order_mark_hides_nothing() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bom.md", "\u{feff}```\njob:InFence\n```\nafter job:Riversde\n".as_bytes());
    write(dir.path(), "first.txt", "\u{feff}job:Riversde\r\n".as_bytes());
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json"]).await;
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let at: Vec<(&str, u64, u64)> = findings
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(at, [("bom.md", 4, 7), ("first.txt", 1, 1)], "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output() {
    let sim = simulator().await;
    let dir = docs_tree();
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json", "docs/plan.md"]).await;
    assert_eq!(out.status.code(), Some(1));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    expect![[r#"
        [
          {
            "code": "unknown-job",
            "column": 7,
            "endColumn": 19,
            "line": 2,
            "message": "Unknown 12d Synergy job \"Riversde\"; did you mean \"Riverside\", \"Riverside Park\"?",
            "path": "docs/plan.md",
            "reference": "job:Riversde",
            "severity": "warning",
            "suggestions": [
              "Riverside",
              "Riverside Park"
            ]
          }
        ]"#]]
    .assert_eq(&serde_json::to_string_pretty(&findings).unwrap());
}

/// References to names already known to be fine are counted without being located; the
/// counts and the findings must not depend on which names were settled when a file was read.
#[tokio::test(flavor = "multi_thread")]
async fn many_files_count_every_reference_once() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..400 {
        let body = format!("{}job:Riverside, job:Riversde\nand job:Riverside again\n", "line\n".repeat(i % 7));
        write(dir.path(), &format!("d{}/f{i:03}.md", i % 5), body.as_bytes());
    }
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.ends_with("synergy-ls: 400 problems, 0 notes in 1200 references across 400 files\n"), "{stderr}");
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.len(), 400);
    for f in &findings {
        let i: usize = f["path"].as_str().unwrap()[4..7].parse().unwrap();
        assert_eq!(
            (f["reference"].as_str(), f["line"].as_u64(), f["column"].as_u64()),
            (Some("job:Riversde"), Some(i as u64 % 7 + 1), Some(16)),
            "{f}"
        );
    }
    let paths: Vec<&str> = findings.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(paths.is_sorted() && paths[0] == "d0/f000.md", "{:?}", &paths[..3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn could_not_verify_is_exit_2_and_never_stale() {
    let sim = simulator().await;
    let dir = docs_tree();
    for fault in [Fault::Outage, Fault::Error503, Fault::Html, Fault::Truncated, Fault::RateLimit] {
        sim.set_fault(fault);
        let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "json"]).await;
        assert_eq!(out.status.code(), Some(2), "{fault:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), "[]", "{fault:?}: nothing reported stale");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("error: could not verify"), "{fault:?}");
        assert!(stderr.contains("0 problems, 0 notes in 3 references across 2 files; 3 not verified"), "{stderr}");
        // A finished run says what to do, not what it would do next.
        assert!(!stderr.contains("retrying"), "{fault:?}: {stderr}");
        if fault == Fault::RateLimit {
            assert!(stderr.contains("rate-limiting requests; try again later"), "{stderr}");
        }
    }
    sim.set_fault(Fault::None);
    let out = check(dir.path(), &sim.url(), "tok-WRONG-0b7e", &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("rejected the Personal Access Token"), "{stderr}");
    // Told once: one line says it, however many requests failed.
    assert_eq!(stderr.matches("rejected").count(), 1, "{stderr}");
    assert!(!stderr.contains("tok-WRONG-0b7e") && !text(&out.stdout).contains("tok-WRONG-0b7e"));
    // A server that is not there at all.
    drop(sim);
    let gone = Simulator::start(Default::default(), 0).await.unwrap();
    let url = gone.url();
    drop(gone);
    let out = check(dir.path(), &url, TOKEN, &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("unreachable"));
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_and_configuration_errors_are_exit_3() {
    let dir = docs_tree();
    let run = |args: &'static [&'static str], url: &'static str| {
        let dir = dir.path().to_path_buf();
        async move {
            let mut cmd = tokio::process::Command::new(BIN);
            cmd.arg("check")
                .args(args)
                .current_dir(dir)
                .env("SYNERGY_TOKEN", TOKEN)
                .env("SYNERGY_CACHE_DIR", common::fresh_cache_dir())
                .env_remove("SYNERGY_URL");
            if !url.is_empty() {
                cmd.env("SYNERGY_URL", url);
            }
            cmd.output().await.unwrap()
        }
    };
    let out = run(&[], "").await;
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("SYNERGY_URL"));
    let out = run(&[], "http://synergy.example.com").await;
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("allowInsecureHttp"), "{}", text(&out.stderr));
    let out = run(&["--include", "a{"], "http://127.0.0.1:9").await;
    assert_eq!(out.status.code(), Some(3));
    let out = run(&["no/such/dir"], "http://127.0.0.1:9").await;
    assert_eq!(out.status.code(), Some(3));
    // Command-line usage errors are 3 too, for every subcommand (clap's own code is 2, which
    // means "could not verify" here).
    for args in [&["--frobnicate"][..], &["--format", "xml"], &["--include"]] {
        let out = run(args, "http://127.0.0.1:9").await;
        assert_eq!(out.status.code(), Some(3), "check {args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("error:"), "{args:?}");
    }
    for args in [&["status", "--bogus"][..], &["simulate", "--port", "x"], &["demo", "--bogus"], &["no-such-command"]] {
        let out = tokio::process::Command::new(BIN).args(args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out.stderr));
    }
    let out = tokio::process::Command::new(BIN).args(["check", "--help"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "help is not an error");
    write(dir.path(), ".synergy.toml", b"serverUrl = \n");
    let out = run(&[], "").await;
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("not valid TOML"));
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_on_the_bundled_examples() {
    let out = tokio::process::Command::new(BIN).arg("demo").output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("warning[unknown-job]: Unknown 12d Synergy job \"Riversde\""), "{stdout}");
    assert!(stdout.contains("### Highway Upgrade 2024"), "{stdout}");
    assert!(stdout.contains("SYNERGY_URL=http://127.0.0.1:8765"), "{stdout}");
}

/// `status` says what the editor's workspace index would hold for the current folder, with
/// the same walk as `check` (and the workspace settings), whether or not the server answers.
#[test]
fn status_counts_what_the_workspace_index_would_hold() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/a.md", b"job:Riverside and job:Gone42\n");
    write(dir.path(), "notes.txt", b"job:One\n");
    write(dir.path(), "src/x.go", b"// job:InComment\n");
    write(dir.path(), "skip/b.md", b"job:Skipped\n");
    write(dir.path(), ".synergy.toml", b"[workspace]\nexclude = [\"skip/\"]\n");
    let out = std::process::Command::new(BIN)
        .args(["status", "--format", "json", "--server-url", "http://127.0.0.1:9"])
        .current_dir(dir.path())
        .env("SYNERGY_TOKEN", "tok-STATUS-1")
        .env_remove("SYNERGY_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "unreachable: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["indexed"], serde_json::json!({"files": 2, "references": 3}), "{json}");
}

/// Files whose fixes are certain, written in every shape a file comes in: a BOM and CRLF, mixed
/// line endings without a last newline, emoji before a reference, a quoted and a bare reference.
fn fixable_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "docs/crlf.md",
        "\u{feff}# Plan\r\nSee 😀 job:riverside and job:\"highway upgrade 2024\".\r\nAlso job:Riversde\r\n".as_bytes(),
    );
    write(dir.path(), "docs/mixed.txt", b"a job:RIVERSIDE\nb\r\nc job:Drainage");
    write(dir.path(), "docs/fine.md", b"job:Riverside\n");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn fix_writes_only_the_safe_fixes_and_every_other_byte_stays() {
    let sim = simulator().await;
    let dir = fixable_tree();
    #[cfg(unix)]
    let mixed = dir.path().join("docs/mixed.txt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&mixed, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let read = |rel: &str| std::fs::read(dir.path().join(rel)).unwrap();
    let (crlf_before, mixed_before) = (read("docs/crlf.md"), read("docs/mixed.txt"));
    let mixed_before = mixed_before.clone();

    // A lone CR (old Mac line ends) and a name with a space: the diff still applies.
    write(dir.path(), "docs/Meeting notes.md", b"a job:riverside\rb job:RiverSide\n");
    let copy = tempfile::tempdir().unwrap();
    for rel in ["docs/crlf.md", "docs/mixed.txt", "docs/fine.md", "docs/Meeting notes.md"] {
        write(copy.path(), rel, &std::fs::read(dir.path().join(rel)).unwrap());
    }
    // The same file twice is one file.
    let out = check(dir.path(), &sim.url(), TOKEN, &["--diff", "docs/mixed.txt", "docs/mixed.txt"]).await;
    assert_eq!(text(&out.stdout).matches("@@").count(), 2, "one hunk: {}", text(&out.stdout));

    // --diff: the patch on stdout, nothing written, exit 1.
    let out = check(dir.path(), &sim.url(), TOKEN, &["--diff"]).await;
    let patch_file = copy.path().join("fix.patch");
    std::fs::write(&patch_file, &out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(diff.contains("--- docs/crlf.md\n+++ docs/crlf.md\n"), "{diff}");
    assert!(diff.contains("+See 😀 job:Riverside and job:\"Highway Upgrade 2024\".\r\n"), "{diff}");
    assert!(diff.contains("-a job:RIVERSIDE\n+a job:Riverside\n"), "{diff}");
    assert!(
        !diff.contains("-Also") && !diff.contains("-c job") && !diff.contains("fine.md"),
        "only the safe fixes: {diff}"
    );
    assert_eq!((read("docs/crlf.md"), read("docs/mixed.txt")), (crlf_before.clone(), mixed_before));
    assert!(
        text(&out.stderr).contains("synergy-ls: 5 references in 3 files would be fixed; 2 need a choice\n"),
        "{}",
        text(&out.stderr)
    );
    assert!(diff.contains("--- \"docs/Meeting notes.md\"\n"), "{diff}");

    // --fix: written, what remains reported, exit 1 for the unknown name left.
    let out = check(dir.path(), &sim.url(), TOKEN, &["--fix"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("fixed {}: 2 references\n", native("docs/crlf.md"))), "{stderr}");
    assert!(stderr.contains(&format!("fixed {}: 1 reference\n", native("docs/mixed.txt"))), "{stderr}");
    assert!(stderr.contains("synergy-ls: fixed 5 references in 3 files; 2 need a choice\n"), "{stderr}");
    assert!(stderr.ends_with("synergy-ls: 1 problem, 1 note in 8 references across 4 files\n"), "{stderr}");
    assert_eq!(read("docs/Meeting notes.md"), b"a job:Riverside\rb job:Riverside\n");
    // GNU patch applies the diff to a copy and gets the same bytes as --fix.
    #[cfg(unix)]
    let patched = std::process::Command::new("patch")
        .args(["-p0", "--batch", "--quiet", "-i"])
        .arg(&patch_file)
        .current_dir(copy.path())
        .output()
        .expect("patch runs");
    #[cfg(unix)]
    {
        assert!(patched.status.success(), "{}{}", text(&patched.stdout), text(&patched.stderr));
        for rel in ["docs/crlf.md", "docs/mixed.txt", "docs/fine.md", "docs/Meeting notes.md"] {
            assert_eq!(std::fs::read(copy.path().join(rel)).unwrap(), read(rel), "{rel}: patch -p0 and --fix differ");
        }
    }
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Riversde") && stdout.contains("job:Drainage"), "{stdout}");
    assert!(!stdout.contains("case-mismatch"), "the fixed findings are gone: {stdout}");
    assert_eq!(
        text(&read("docs/crlf.md")),
        "\u{feff}# Plan\r\nSee 😀 job:Riverside and job:\"Highway Upgrade 2024\".\r\nAlso job:Riversde\r\n"
    );
    assert_eq!(read("docs/mixed.txt"), b"a job:Riverside\nb\r\nc job:Drainage");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&mixed).unwrap().permissions().mode() & 0o777, 0o640, "permissions kept");
    }
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path().join("docs")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 4, "no temporary file left beside: {leftovers:?}");

    // Again: nothing left to fix, nothing written.
    let out = check(dir.path(), &sim.url(), TOKEN, &["--fix"]).await;
    assert!(!text(&out.stderr).contains("fixed docs"), "{}", text(&out.stderr));
    let out = check(dir.path(), &sim.url(), TOKEN, &["--diff"]).await;
    assert!(out.stdout.is_empty());
    assert_eq!(out.status.code(), Some(1), "the unknown name still fails");
}

/// A file that is read-only, or a link (the file it names is fixed; the link stays a link), or
/// not UTF-8 any more by the time it is fixed.
// Unix only: modes, symbolic links (which need a privilege on Windows), set-user-ID and owners.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn fix_leaves_alone_what_it_must_not_write() {
    use std::os::unix::fs::PermissionsExt;
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ro.md", b"job:riverside\n");
    std::fs::set_permissions(dir.path().join("ro.md"), std::fs::Permissions::from_mode(0o444)).unwrap();
    write(dir.path(), "real/target.md", b"job:riverside\n");
    std::os::unix::fs::symlink(dir.path().join("real/target.md"), dir.path().join("link.md")).unwrap();
    let out = check(dir.path(), &sim.url(), TOKEN, &["--fix", "ro.md", "link.md"]).await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("note: left ro.md alone: it is read-only"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("ro.md")).unwrap(), "job:riverside\n");
    assert!(stderr.contains("fixed link.md: 1 reference"), "{stderr}");
    assert!(std::fs::symlink_metadata(dir.path().join("link.md")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(dir.path().join("real/target.md")).unwrap(), "job:Riverside\n");

    // A reference written with a custom pattern is not fixed without asking (the pattern may
    // not match the new name); its finding stays.
    write(dir.path(), ".synergy.toml", b"referencePatterns = [\"#(?<name>[a-z]+)\"]\n");
    write(dir.path(), "tags.md", b"tag #riverside here\n");
    let out = check(dir.path(), &sim.url(), TOKEN, &["--fix", "tags.md"]).await;
    assert_eq!(std::fs::read_to_string(dir.path().join("tags.md")).unwrap(), "tag #riverside here\n");
    assert!(text(&out.stdout).contains("case-mismatch"), "{}", text(&out.stdout));
    std::fs::remove_file(dir.path().join(".synergy.toml")).unwrap();

    // Owner and set-user-ID bit kept (changing the owner would clear the bit: it comes first).
    use std::os::unix::fs::MetadataExt;
    write(dir.path(), "tool.sh", b"# job:riverside\n");
    let tool = dir.path().join("tool.sh");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
    if root {
        std::os::unix::fs::chown(&tool, Some(65534), Some(65534)).unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o4755)).unwrap();
    }
    let out = check(dir.path(), &sim.url(), TOKEN, &["--fix", "tool.sh"]).await;
    assert!(text(&out.stderr).contains("fixed tool.sh: 1 reference"), "{}", text(&out.stderr));
    let meta = std::fs::metadata(&tool).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o4755, "mode kept");
    if root {
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "owner kept");
    }
}

/// SARIF 2.1.0 for code scanning: the rules, results with 1-based character columns (after an
/// emoji), fingerprints that survive moved lines, and fixes. Validated with Microsoft's SARIF
/// validator when `SARIF_MULTITOOL` names it (scripts/test installs it).
#[tokio::test(flavor = "multi_thread")]
async fn sarif_for_code_scanning() {
    let sim = simulator().await;
    let dir = fixable_tree();
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "sarif"]).await;
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rules, ["unknown-job", "ambiguous-job", "case-mismatch"]);
    assert_eq!(run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"], "warning");
    let results = run["results"].as_array().unwrap();
    let case = results.iter().find(|r| r["message"]["text"].as_str().unwrap().contains("\"riverside\"")).unwrap();
    assert_eq!(case["ruleId"], "case-mismatch");
    assert_eq!(case["level"], "note");
    let location = &case["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"], serde_json::json!({"uri": "docs/crlf.md", "uriBaseId": "%SRCROOT%"}));
    // "See 😀 job:riverside": the emoji is one character.
    assert_eq!(location["region"], serde_json::json!({"startLine": 2, "startColumn": 7, "endColumn": 20}));
    let replacement = &case["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(replacement["deletedRegion"], serde_json::json!({"startLine": 2, "startColumn": 11, "endColumn": 20}));
    assert_eq!(replacement["insertedContent"]["text"], "Riverside");
    let unknown = results.iter().find(|r| r["ruleId"] == "unknown-job").unwrap();
    assert!(unknown.get("fixes").is_none(), "a did-you-mean is no fix");

    // Lines moved: the same fingerprints.
    let fingerprints = |v: &Value| -> Vec<Value> {
        v["runs"][0]["results"].as_array().unwrap().iter().map(|r| r["partialFingerprints"].clone()).collect()
    };
    let moved = std::fs::read_to_string(dir.path().join("docs/crlf.md"))
        .unwrap()
        .replace("# Plan\r\n", "# Plan\r\n\r\nNew.\r\n");
    write(dir.path(), "docs/crlf.md", moved.as_bytes());
    let again: Value =
        serde_json::from_slice(&check(dir.path(), &sim.url(), TOKEN, &["--format", "sarif"]).await.stdout).unwrap();
    assert_eq!(again["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"], 4);
    assert_eq!(fingerprints(&again), fingerprints(&sarif));

    // Microsoft's validator is a Linux program here: the Windows run (under Wine) checks the
    // SARIF above, the Linux run validates it.
    let validator = if cfg!(windows) { None } else { std::env::var_os("SARIF_MULTITOOL") };
    if let Some(tool) = validator {
        let file = dir.path().join("out.sarif");
        std::fs::write(&file, &out.stdout).unwrap();
        let validated = std::process::Command::new(tool).arg("validate").arg(&file).output().unwrap();
        let said = format!("{}{}", text(&validated.stdout), text(&validated.stderr));
        assert!(validated.status.success(), "the SARIF validator refused it: {said}");
        // It exits 0 whatever it finds: its findings are read from what it says.
        assert!(!said.contains(": error ") && !said.contains(": warning "), "{said}");
        assert!(said.contains("Analysis completed successfully"), "{said}");
    } else if std::env::var_os("CI").is_some() && !cfg!(windows) {
        panic!("SARIF_MULTITOOL is not set: scripts/test installs Microsoft's SARIF validator");
    }
}

/// `--format github`: one workflow command per finding, parsed back as the runner parses them.
#[tokio::test(flavor = "multi_thread")]
async fn github_annotations() {
    let sim = simulator().await;
    let dir = fixable_tree();
    let out = check(dir.path(), &sim.url(), TOKEN, &["--format", "github"]).await;
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    let parse = |line: &str| -> (String, std::collections::HashMap<String, String>, String) {
        let rest = line.strip_prefix("::").unwrap();
        let (command, rest) = rest.split_once(' ').unwrap();
        let (props, message) = rest.split_once("::").unwrap();
        let unescape = |s: &str| {
            s.replace("%3A", ":").replace("%2C", ",").replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
        };
        let props =
            props.split(',').map(|p| p.split_once('=').unwrap()).map(|(k, v)| (k.to_string(), unescape(v))).collect();
        (command.to_string(), props, unescape(message))
    };
    let (command, props, message) = parse(lines.iter().find(|l| l.contains("Riversde")).unwrap());
    assert_eq!(command, "warning");
    assert_eq!(props["file"], "docs/crlf.md");
    assert_eq!((props["line"].as_str(), props["col"].as_str(), props["endColumn"].as_str()), ("3", "6", "18"));
    assert_eq!(props["title"], "synergy-ls unknown-job");
    assert!(message.starts_with("Unknown 12d Synergy job \"Riversde\""), "{message}");
    let (command, _, message) = parse(lines.iter().find(|l| l.contains("RIVERSIDE")).unwrap());
    assert_eq!(command, "notice");
    assert!(message.ends_with("(fix: Riverside)"), "{message}");
}

/// Each path is checked with its own settings, as each workspace folder is in the editor: the
/// nearest `.synergy.toml` at or above it (up to the current folder), so two folders may name
/// two servers and two severities; a path without one takes the current folder's. Fixes are
/// all or nothing across every group. `--config` applies one file to every path. A server in
/// `.synergy.toml` hidden by `SYNERGY_URL` is said.
#[tokio::test(flavor = "multi_thread")]
async fn each_path_is_checked_with_its_own_settings_file() {
    let (sim_a, sim_b) = (simulator().await, simulator().await);
    assert!(sim_b.rename_job("Riverside", "Riverside Levee"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "alpha/.synergy.toml", format!("serverUrl = \"{}\"\n", sim_a.url()).as_bytes());
    write(root, "alpha/plan.md", b"job:Riverside and job:GoneA\n");
    let beta = format!("serverUrl = \"{}\"\n[diagnostics.severity]\nunknownJob = \"error\"\n", sim_b.url());
    write(root, "beta/.synergy.toml", beta.as_bytes());
    write(root, "beta/deep/plan.md", b"job:Riverside and job:GoneB\n");
    // The current folder's settings: for paths with none of their own.
    write(root, ".synergy.toml", format!("serverUrl = \"{}\"\n", sim_a.url()).as_bytes());
    write(root, "loose/notes.md", b"job:riverside\n");
    let run = |args: &'static [&'static str], env_url: Option<String>| {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("check")
            .args(args)
            .current_dir(root)
            .env("SYNERGY_CACHE_DIR", common::fresh_cache_dir())
            .env_remove("SYNERGY_URL")
            .env("SYNERGY_TOKEN", TOKEN)
            .env_remove("RUST_LOG");
        if let Some(url) = env_url {
            cmd.env("SYNERGY_URL", url);
        }
        async move { cmd.output().await.unwrap() }
    };
    let findings = |out: &Output| -> Vec<(String, String, String)> {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let path = f["path"].as_str().unwrap().to_string();
                (path, f["reference"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string())
            })
            .collect()
    };

    // beta/deep is under beta/.synergy.toml; loose/ under the current folder's.
    let out = run(&["--format", "json", "alpha", "beta/deep", "loose"], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        findings(&out),
        [
            ("alpha/plan.md".into(), "job:GoneA".into(), "warning".into()),
            ("beta/deep/plan.md".into(), "job:Riverside".into(), "error".into()),
            ("beta/deep/plan.md".into(), "job:GoneB".into(), "error".into()),
            ("loose/notes.md".into(), "job:riverside".into(), "information".into()),
        ]
    );
    assert_eq!((sim_a.requests_for("GoneA"), sim_b.requests_for("GoneA")), (1, 0));
    assert_eq!((sim_a.requests_for("GoneB"), sim_b.requests_for("GoneB")), (0, 1));
    assert!(!text(&out.stderr).contains("warning:"), "{}", text(&out.stderr));

    // --config: one file for every path (alpha's server, its severities).
    let out = run(&["--format", "json", "--config", "alpha/.synergy.toml", "alpha", "beta"], None).await;
    let all = findings(&out);
    assert!(all.iter().all(|(_, r, _)| r != "job:Riverside"), "Riverside is fine on alpha's server: {all:?}");
    assert!(all.iter().any(|(p, r, s)| p == "beta/deep/plan.md" && r == "job:GoneB" && s == "warning"), "{all:?}");

    // SYNERGY_URL hides alpha's server (beta's file names the same one): said, once.
    let out = run(&["--format", "json", "alpha", "beta"], Some(sim_b.url())).await;
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("which is used").count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("{} names the server", native("alpha/.synergy.toml"))), "which file: {stderr}");
    assert!(
        stderr.contains(&format!("names the server {}", sim_a.url())) && stderr.contains("unset SYNERGY_URL"),
        "{stderr}"
    );

    // --fix writes nothing while any group has a reference it could not verify: beta's
    // server down, alpha's case mismatch is left too.
    write(root, "alpha/case.md", b"job:riverside\n");
    sim_b.set_fault(Fault::Error503);
    let out = run(&["--fix", "alpha", "beta"], None).await;
    assert_eq!(out.status.code(), Some(1), "alpha's stale job:GoneA wins: {}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(root.join("alpha/case.md")).unwrap(), "job:riverside\n");
    assert!(text(&out.stderr).contains("nothing was fixed"), "{}", text(&out.stderr));
    sim_b.set_fault(Fault::None);
    let out = run(&["--fix", "alpha", "beta"], None).await;
    assert_eq!(
        std::fs::read_to_string(root.join("alpha/case.md")).unwrap(),
        "job:Riverside\n",
        "{}",
        text(&out.stderr)
    );

    // A path whose settings name no server: said, with the path.
    write(root, "gamma/.synergy.toml", b"[scan]\nincludeCode = true\n");
    write(root, "gamma/x.md", b"job:X\n");
    let out = run(&["alpha", "gamma"], None).await;
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("No 12d Synergy server is configured") && stderr.contains("for gamma"), "{stderr}");
}
