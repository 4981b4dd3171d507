//! The report formats of `check`: rustc-style for people ([`render_human`], with the summary
//! on stderr, [`render_summary`]), JSON ([`render_json`]), SARIF 2.1.0 ([`render_sarif`]) and
//! GitHub Actions workflow commands ([`render_github`]); and the unified diff of `--diff`
//! ([`unified_diff`]).

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use unicode_width::UnicodeWidthStr;

use super::{FixMode, Report, display_path, plural};
use crate::model::DiagnosticCode;
use crate::present;

/// rustc-style output.
pub fn render_human(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for f in &report.findings {
        let line_no = f.line.to_string();
        let pad = " ".repeat(line_no.len());
        writeln!(out, "{}[{}]: {}", f.severity, f.code, f.message)?;
        writeln!(out, "{pad}--> {}:{}:{}", f.path, f.line, f.column)?;
        writeln!(out, "{pad} |")?;
        let shown: String = f.line_text.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
        writeln!(out, "{line_no} | {shown}")?;
        // Carets line up under wide characters (emoji, CJK) as a terminal shows them.
        let before: String = shown.chars().take(f.column - 1).collect();
        let marked: String = shown.chars().skip(f.column - 1).take(f.end_column.saturating_sub(f.column)).collect();
        let carets = "^".repeat(marked.width().max(1));
        writeln!(out, "{pad} | {}{carets}", " ".repeat(before.width()))?;
        if !f.suggestions.is_empty() {
            let list: Vec<String> =
                f.suggestions.iter().map(|s| format!("job:{}", crate::model::format_name(s))).collect();
            writeln!(out, "{pad} = help: {}", list.join(" or "))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The summary and any "could not verify" error, for stderr.
pub fn render_summary(report: &Report, mode: FixMode, out: &mut dyn Write) -> std::io::Result<()> {
    for (path, why) in &report.skipped {
        if why != "binary" {
            writeln!(out, "note: skipped {}: {why}", display_path(path))?;
        }
    }
    for e in &report.errors {
        writeln!(out, "note: {e}")?;
    }
    if let Some(why) = &report.unavailable {
        writeln!(
            out,
            "error: could not verify {} reference{}: {}",
            report.unverified,
            plural(report.unverified),
            present::unavailable_reason_batch(why)
        )?;
    }
    let (fixed, files) = report.fixed;
    let fixable: usize = report.fixable.iter().map(|f| f.edits.len()).sum();
    let choice = match report.need_choice {
        0 => String::new(),
        n => format!("; {n} need{} a choice", if n == 1 { "s" } else { "" }),
    };
    match mode {
        FixMode::Write if fixed > 0 || fixable > 0 || report.need_choice > 0 => writeln!(
            out,
            "synergy-ls: fixed {fixed} reference{} in {files} file{}{choice}",
            plural(fixed),
            plural(files)
        )?,
        FixMode::Diff => writeln!(
            out,
            "synergy-ls: {fixed} reference{} in {files} file{} would be fixed{choice}",
            plural(fixed),
            plural(files)
        )?,
        FixMode::Report if fixable > 0 => writeln!(
            out,
            "help: {fixable} reference{} can be fixed with --fix (or shown with --diff)",
            plural(fixable)
        )?,
        _ => {}
    }
    let problems = report.problems();
    let notes = report.findings.len() - problems;
    writeln!(
        out,
        "synergy-ls: {problems} problem{}, {notes} note{} in {} reference{} across {} file{}{}",
        plural(problems),
        plural(notes),
        report.references,
        plural(report.references),
        report.files,
        plural(report.files),
        if report.unverified > 0 { format!("; {} not verified", report.unverified) } else { String::new() }
    )
}

pub fn render_json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    // One line, as machine formats are (`cargo --message-format json`, `rg --json`): a quarter
    // faster to write than indented JSON for 12,000 findings. Into memory first: the
    // formatter's many small writes are cheaper there than through `dyn Write`.
    let mut json = serde_json::to_vec(&report.findings)?;
    json.push(b'\n');
    out.write_all(&json)
}

/// Where SARIF results and `--format github` lines point: the path relative to the current
/// folder with `/` separators, percent-encoded as a URI reference, and whether it is relative
/// (then resolved against `%SRCROOT%`, the current folder). An absolute path outside the
/// current folder becomes a `file:` URI.
fn artifact_uri(shown: &str) -> (String, bool) {
    let path = Path::new(shown);
    let relative = if path.is_absolute() {
        match std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf)) {
            Some(p) => p,
            None => {
                return (crate::workspace::file_uri::from_path(path).unwrap_or_else(|| shown.to_string()), false);
            }
        }
    } else {
        path.to_path_buf()
    };
    let segments: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(percent_encode(&s.to_string_lossy())),
            std::path::Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    (segments.join("/"), true)
}

/// A shown path with `/` separators, for machine-read output (JSON, GitHub annotations):
/// on Windows `docs\\a.md` is `docs/a.md`; elsewhere a `\\` is part of a file name and stays.
pub fn portable_path(shown: &str) -> std::borrow::Cow<'_, str> {
    if cfg!(windows) { shown.replace('\\', "/").into() } else { shown.into() }
}

/// Serializes a shown path as [`portable_path`] gives it (`Finding::path` in JSON).
pub fn serialize_portable_path<S: serde::Serializer>(shown: &std::sync::Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&portable_path(shown))
}

/// RFC 3986 percent-encoding of one path segment: everything but the unreserved characters.
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// SARIF's `level` for a severity name: `error`, `warning`, else `note`.
fn sarif_level(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        _ => "note",
    }
}

/// FNV-1a, 64 bits: a fingerprint that is the same in every release and on every platform.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The codes, in rule order (`ruleIndex`).
const CODES: [DiagnosticCode; 3] =
    [DiagnosticCode::UnknownJob, DiagnosticCode::AmbiguousJob, DiagnosticCode::CaseMismatch];

/// SARIF 2.1.0 (OASIS, <https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html>), as
/// GitHub code scanning takes it: one run; the tool's driver with one rule per code (`id`,
/// `shortDescription`, `fullDescription`, `help`, `defaultConfiguration.level`); a result per
/// finding with `ruleId`, `ruleIndex`, `level`, `message`, one `physicalLocation` (artifact URI
/// relative to `%SRCROOT%`, the current folder; 1-based `startLine`, `startColumn`,
/// `endColumn` in Unicode code points, as `columnKind` says), `partialFingerprints` that stay
/// the same when lines move (the code, the reference as written and which occurrence of it in
/// the file it is), and `fixes` for the safe fixes. References that could not be verified are a
/// `toolExecutionNotification` and make `executionSuccessful` false.
pub fn render_sarif(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let defaults = crate::config::SeverityConfig::default();
    let rules: Vec<Value> = CODES
        .iter()
        .map(|&code| {
            let (short, help) = present::rule_help(code);
            json!({
                "id": code.as_str(),
                "name": code.as_str().split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect::<String>(),
                "shortDescription": {"text": short},
                "fullDescription": {"text": help},
                "help": {"text": help, "markdown": help},
                "defaultConfiguration": {"level": sarif_level(defaults.of(code).as_str())},
            })
        })
        .collect();
    let mut seen: std::collections::HashMap<(&str, &str, &str), usize> = std::collections::HashMap::new();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let (uri, relative) = artifact_uri(&f.path);
            let artifact =
                if relative { json!({"uri": uri, "uriBaseId": "%SRCROOT%"}) } else { json!({"uri": uri}) };
            let occurrence = seen.entry((&f.path, f.code, &f.reference)).or_insert(0);
            *occurrence += 1;
            let fingerprint = fnv1a(&[f.code.as_bytes(), f.reference.as_bytes(), occurrence.to_string().as_bytes()]);
            let mut result = json!({
                "ruleId": f.code,
                "ruleIndex": CODES.iter().position(|c| c.as_str() == f.code).unwrap_or(0),
                "level": sarif_level(f.severity),
                "message": {"text": f.message.as_ref()},
                "locations": [{"physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {"startLine": f.line, "startColumn": f.column, "endColumn": f.end_column},
                }}],
                "partialFingerprints": {"synergyReference/v1": format!("{fingerprint:016x}")},
            });
            if let Some(fix) = &f.fix {
                result["fixes"] = json!([{
                    "description": {"text": format!("Replace with {}", fix.text)},
                    "artifactChanges": [{
                        "artifactLocation": artifact,
                        "replacements": [{
                            "deletedRegion": {"startLine": fix.line, "startColumn": fix.column, "endColumn": fix.end_column},
                            "insertedContent": {"text": fix.text},
                        }],
                    }],
                }]);
            }
            result
        })
        .collect();
    let mut invocation = json!({"executionSuccessful": report.unavailable.is_none()});
    if let Some(why) = &report.unavailable {
        invocation["toolExecutionNotifications"] = json!([{
            "level": "error",
            "message": {"text": format!(
                "Could not verify {} reference{}: {}",
                report.unverified,
                plural(report.unverified),
                present::unavailable_reason_batch(why)
            )},
        }]);
    }
    let root = std::env::current_dir().ok().and_then(|d| url::Url::from_directory_path(d).ok());
    let mut run = json!({
        "tool": {"driver": {
            "name": "synergy-ls",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "informationUri": env!("CARGO_PKG_REPOSITORY"),
            "rules": rules,
        }},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [invocation],
    });
    if let Some(root) = root {
        run["originalUriBaseIds"] = json!({"%SRCROOT%": {"uri": root.as_str()}});
    }
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    });
    let mut bytes = serde_json::to_vec_pretty(&sarif)?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}

/// GitHub Actions workflow commands, one line per finding
/// (<https://docs.github.com/actions/reference/workflow-commands-for-github-actions>):
/// `::warning file=docs/a.md,line=3,col=5,endColumn=18,title=synergy-ls unknown-job::…`.
/// Information and hints are `notice`s. Values are escaped as the runner expects (`%`, CR and
/// LF everywhere; `:` and `,` in properties too).
pub fn render_github(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    for f in &report.findings {
        let level = match f.severity {
            "error" => "error",
            "warning" => "warning",
            _ => "notice",
        };
        let path = portable_path(&f.path);
        let fix = f.fix.as_ref().map(|x| format!(" (fix: {})", x.text)).unwrap_or_default();
        writeln!(
            out,
            "::{level} file={},line={},col={},endColumn={},title={}::{}{}",
            property(&path),
            f.line,
            f.column,
            f.end_column,
            property(&format!("synergy-ls {}", f.code)),
            data(&f.message),
            data(&fix)
        )?;
    }
    if let Some(why) = &report.unavailable {
        writeln!(
            out,
            "::error title=synergy-ls::{}",
            data(&format!(
                "Could not verify {} reference{}: {}",
                report.unverified,
                plural(report.unverified),
                present::unavailable_reason_batch(why)
            ))
        )?;
    }
    Ok(())
}

/// The unified diff (POSIX `diff -u`, as GNU patch and `git apply` read it) of a file whose
/// fixes replaced text within lines: lines end at `\n` only (a lone `\r` is a byte of its
/// line, as patch sees it), three lines of context, hunks that touch merged, and
/// `\ No newline at end of file` after a last line without one. A file name with a space,
/// tab, quote, backslash or control character is written quoted, C-style, as git does (GNU
/// patch reads that too).
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    const CONTEXT: usize = 3;
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    // Fixes never add or remove a line break; were they ever to, the whole file is one change.
    let changed: Vec<usize> = if a.len() == b.len() {
        (0..a.len()).filter(|&i| a[i] != b[i]).collect()
    } else {
        (0..a.len().max(b.len())).collect()
    };
    if changed.is_empty() {
        return String::new();
    }
    let quoted = if name.chars().any(|c| c == ' ' || c == '"' || c == '\\' || c.is_control()) {
        let mut q = String::from("\"");
        for c in name.chars() {
            match c {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                '\n' => q.push_str("\\n"),
                '\t' => q.push_str("\\t"),
                '\r' => q.push_str("\\r"),
                c if c.is_control() => q.push_str(&format!("\\{:03o}", c as u32)),
                c => q.push(c),
            }
        }
        q.push('"');
        q
    } else {
        name.to_string()
    };
    let mut out = format!("--- {quoted}\n+++ {quoted}\n");
    let line = |out: &mut String, mark: char, text: &str| {
        out.push(mark);
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    };
    let mut i = 0;
    while i < changed.len() {
        // One hunk: changes whose contexts touch.
        let mut j = i;
        while j + 1 < changed.len() && changed[j + 1] <= changed[j] + 2 * CONTEXT + 1 {
            j += 1;
        }
        let start = changed[i].saturating_sub(CONTEXT);
        let (end_a, end_b) = ((changed[j] + CONTEXT + 1).min(a.len()), (changed[j] + CONTEXT + 1).min(b.len()));
        let range = |start: usize, end: usize| match end.saturating_sub(start) {
            0 => format!("{start},0"),
            1 => format!("{}", start + 1),
            n => format!("{},{n}", start + 1),
        };
        out.push_str(&format!("@@ -{} +{} @@\n", range(start, end_a), range(start, end_b)));
        for k in start..end_a.max(end_b) {
            match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) if x == y => line(&mut out, ' ', x),
                (x, y) => {
                    if let Some(x) = x.filter(|_| k < end_a) {
                        line(&mut out, '-', x);
                    }
                    if let Some(y) = y.filter(|_| k < end_b) {
                        line(&mut out, '+', y);
                    }
                }
            }
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diffs() {
        let old = "1\n2\n3\n4 job:x\n5\n6\n7\n8\n9\n10\n11\n12 job:x\n13";
        let new = old.replace("job:x", "job:X");
        let got = unified_diff("docs/a.md", old, &new);
        expect_test::expect![[r#"
            --- docs/a.md
            +++ docs/a.md
            @@ -1,7 +1,7 @@
             1
             2
             3
            -4 job:x
            +4 job:X
             5
             6
             7
            @@ -9,5 +9,5 @@
             9
             10
             11
            -12 job:x
            +12 job:X
             13
            \ No newline at end of file
        "#]]
        .assert_eq(&got);
        // A lone CR is a byte of its line; a name with a space is quoted.
        let got = unified_diff("Meeting notes.md", "a job:x\rb\n", "a job:X\rb\n");
        assert_eq!(got, "--- \"Meeting notes.md\"\n+++ \"Meeting notes.md\"\n@@ -1 +1 @@\n-a job:x\rb\n+a job:X\rb\n");
        assert_eq!(unified_diff("x", "same\n", "same\n"), "");
    }

    #[test]
    fn artifact_uris_are_relative_and_encoded() {
        assert_eq!(artifact_uri("docs/a b/é.md"), ("docs/a%20b/%C3%A9.md".to_string(), true));
        assert_eq!(artifact_uri("./x.md"), ("x.md".to_string(), true));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(artifact_uri(&cwd.join("y.md").display().to_string()), ("y.md".to_string(), true));
        #[cfg(unix)]
        assert_eq!(artifact_uri("/elsewhere/z.md"), ("file:///elsewhere/z.md".to_string(), false));
    }

    #[test]
    fn fingerprints_are_stable() {
        // Fixed forever: a changed fingerprint reopens every alert in code scanning.
        assert_eq!(format!("{:016x}", fnv1a(&[b"unknown-job", b"job:Old", b"1"])), "c6339b4077daee34");
    }
}
