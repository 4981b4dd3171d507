//! The files of a workspace: which are checked ([`Rules`]), the walk over them ([`walk`]),
//! reading one ([`scan_file`]), and the index of the references in each ([`index`]). Shared by
//! `check` and the language server's workspace index, so both see the same files.
//!
//! The walk is ripgrep's (the `ignore` crate, in parallel): `.gitignore`, `.ignore` and global
//! git excludes are respected (also outside a git repository), hidden files are skipped,
//! binary (a NUL in the first 8 KiB) and non-UTF-8 files are skipped with a reason, files over
//! [`MAX_FILE_BYTES`] too. Documents (`scan::DOCUMENT_EXTENSIONS`) are checked by default;
//! include globs add other files (source files by their comments, unknown types as prose);
//! exclude globs remove any. A file named explicitly is always checked.

pub mod file_uri;
pub mod index;

use std::path::{Path, PathBuf};

use crate::model::JobRef;
use crate::scan::{DocKind, Scanner};

/// Files larger than this are skipped (and said so): nobody writes 64 MiB of prose.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Which files a walk takes, and as what kind of text.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Include globs: files they match are checked whatever their type.
    include: ignore::overrides::Override,
    /// Exclude globs, negated (the `ignore` crate's override form).
    exclude: ignore::overrides::Override,
    /// The folder the globs are relative to.
    root: PathBuf,
}

impl Rules {
    /// Rules with globs (gitignore syntax) relative to `root`. `Err` names the bad glob, with
    /// `flags` (`("--include", "--exclude")` or the settings' names) saying where it came from.
    pub fn new(root: &Path, include: &[String], exclude: &[String], flags: (&str, &str)) -> Result<Rules, String> {
        Ok(Rules {
            include: glob_rules(root, include, false, flags.0)?,
            exclude: glob_rules(root, exclude, true, flags.1)?,
            root: root.to_path_buf(),
        })
    }

    /// The rules of a workspace index rooted at `root`: `files.*` and `workspace.*` globs
    /// together (the language server's index and `synergy-ls status` use these).
    pub fn for_workspace(root: &Path, config: &crate::config::Config) -> Result<Rules, String> {
        let include: Vec<String> = config.files.include.iter().chain(&config.workspace.include).cloned().collect();
        let exclude: Vec<String> = config.files.exclude.iter().chain(&config.workspace.exclude).cloned().collect();
        Rules::new(root, &include, &exclude, ("workspace.include", "workspace.exclude"))
    }

    /// The kind to scan a file that did not come from a walk as (a file-watcher event): as
    /// [`Rules::kind`], and `None` when it or one of its folders is excluded.
    pub fn kind_unwalked(&self, path: &Path) -> Option<DocKind> {
        if self.excluded(path) {
            return None;
        }
        self.kind(path)
    }

    /// The kind to scan a walked file as; `None` skips it: documents are checked, other files
    /// only when an include glob matches them (source files then by their comments, unknown
    /// types as prose). Exclude globs are the walk's business (it never enters an excluded
    /// folder); see [`Rules::kind_unwalked`].
    pub fn kind(&self, path: &Path) -> Option<DocKind> {
        match DocKind::from_path(path) {
            Some(kind @ (DocKind::Markdown | DocKind::Plain)) => Some(kind),
            kind if self.include.matched(path, false).is_whitelist() => Some(kind.unwrap_or(DocKind::Plain)),
            _ => None,
        }
    }
}

impl Rules {
    /// Whether an exclude glob matches the file or one of its folders (the walk never enters
    /// an excluded folder; a path that did not come from a walk, such as a file-watcher event,
    /// is checked here).
    pub fn excluded(&self, path: &Path) -> bool {
        self.exclude.matched(path, false).is_ignore()
            || path
                .ancestors()
                .skip(1)
                .take_while(|dir| dir.starts_with(&self.root) && *dir != self.root)
                .any(|dir| self.exclude.matched(dir, true).is_ignore())
    }
}

/// Of `items` (each with the folder it is for), the one whose folder holds `path` most
/// closely (workspace folders may nest); `None` when no folder holds it.
pub fn innermost<'a, T>(path: &Path, items: impl IntoIterator<Item = (&'a Path, T)>) -> Option<T> {
    items
        .into_iter()
        .filter(|(root, _)| path.starts_with(root))
        .max_by_key(|(root, _)| root.as_os_str().len())
        .map(|(_, t)| t)
}

/// A folder as people call it in messages: its last name (`notes`), or the whole path when it
/// has none (`/`).
pub fn folder_name(root: &Path) -> String {
    root.file_name().map_or_else(|| root.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Whether the walk from `root` would skip `path` for its ignore files: a `.gitignore` or
/// `.ignore` in one of its folders from `root` down that ignores it and is not overridden by a
/// deeper one, or a hidden file or folder below `root`. For a
/// path that did not come from a walk (a file-watcher event, a document closed); reads a few
/// small files.
pub fn ignored(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else { return true };
    if rel.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')) {
        return true;
    }
    // The nearest ignore file with a verdict on the path (or one of its folders) decides.
    for dir in path.ancestors().skip(1).take_while(|dir| dir.starts_with(root)) {
        for name in [".ignore", ".gitignore"] {
            let file = dir.join(name);
            if !file.is_file() {
                continue;
            }
            let (rules, _) = ignore::gitignore::Gitignore::new(&file);
            match rules.matched_path_or_any_parents(path, false) {
                ignore::Match::Ignore(_) => return true,
                ignore::Match::Whitelist(_) => return false,
                ignore::Match::None => {}
            }
        }
    }
    false
}

fn glob_rules(root: &Path, globs: &[String], negate: bool, flag: &str) -> Result<ignore::overrides::Override, String> {
    let mut builder = ignore::overrides::OverrideBuilder::new(root);
    for g in globs {
        let glob = if negate { format!("!{g}") } else { g.clone() };
        builder.add(&glob).map_err(|e| format!("{flag} {g}: {e}"))?;
    }
    builder.build().map_err(|e| e.to_string())
}

/// What the walk does with each file it takes: called on the walker's threads with the path and
/// its kind; returns `false` to stop the walk (a file limit reached).
pub type Visit<'a> = dyn Fn(PathBuf, DocKind) -> bool + Sync + 'a;

/// Walks `paths` (files and folders; none means the current folder) under `rules`, in
/// parallel, calling `visit` for each file taken. Returns the walk's errors (unreadable
/// folders, broken links), as text. `Err` when a path does not exist.
pub fn walk(paths: &[PathBuf], rules: &Rules, visit: &Visit<'_>) -> Result<Vec<String>, String> {
    let mut paths = paths.to_vec();
    if paths.is_empty() {
        paths.push(PathBuf::from("."));
    }
    for p in &paths {
        if !p.exists() {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    let errors = std::sync::Mutex::new(Vec::new());
    // Files named on the command line are always checked: by their type, else as prose.
    let (files, dirs): (Vec<PathBuf>, Vec<PathBuf>) = paths.into_iter().partition(|p| p.is_file());
    for path in files {
        let kind = DocKind::from_path(&path).unwrap_or(DocKind::Plain);
        if !visit(path, kind) {
            return Ok(Vec::new());
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
        let mut builder = ignore::WalkBuilder::new(first);
        for p in rest {
            builder.add(p);
        }
        builder.overrides(rules.exclude.clone()).require_git(false);
        builder.build_parallel().run(|| {
            let errors = &errors;
            Box::new(move |entry| match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => match rules.kind(e.path()) {
                    Some(kind) if !visit(e.into_path(), kind) => ignore::WalkState::Quit,
                    _ => ignore::WalkState::Continue,
                },
                Ok(_) => ignore::WalkState::Continue,
                Err(err) => {
                    errors.lock().unwrap_or_else(|e| e.into_inner()).push(err.to_string());
                    ignore::WalkState::Continue
                }
            })
        });
    }
    Ok(errors.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// Reads and scans one file, handing its text and references to `then` (on this thread, from
/// a reused per-thread buffer). The text is only given when there may be references (`""`
/// otherwise, with no references): a file without `job:` is not even validated as UTF-8.
/// A byte order mark is stripped: offsets count from after it. `Err` says why the file was
/// skipped: too large, binary, not UTF-8, or the IO error.
pub fn scan_file<R>(
    path: &Path,
    kind: DocKind,
    scanner: &Scanner,
    then: impl FnOnce(&str, Vec<JobRef>) -> R,
) -> Result<R, String> {
    scan_file_stamped(path, kind, scanner, |text, refs, _| then(text, refs))
}

/// A file's size and modification time as it was read: a file whose stamp differs later has
/// changed since (`check --fix` leaves such a file alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub len: u64,
    pub modified: Option<std::time::SystemTime>,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp { len: meta.len(), modified: meta.modified().ok() }
    }
}

/// [`scan_file`], also handing `then` the file's [`Stamp`], taken from the open file before it
/// was read.
pub fn scan_file_stamped<R>(
    path: &Path,
    kind: DocKind,
    scanner: &Scanner,
    then: impl FnOnce(&str, Vec<JobRef>, Stamp) -> R,
) -> Result<R, String> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let stamp = Stamp::of(&file.metadata().map_err(|e| e.to_string())?);
    let len = stamp.len;
    if len > MAX_FILE_BYTES {
        return Err(format!("larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    BUFFER.with_borrow_mut(|bytes| {
        bytes.clear();
        bytes.reserve(len as usize + 1);
        // Through `take`, which is also a bound if the file grows: `File::read_to_end` would
        // ask the file system for the size a second time.
        std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, MAX_FILE_BYTES), bytes)
            .map_err(|e| e.to_string())?;
        if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
            return Err("binary".into());
        }
        if memchr::memmem::find(bytes, b"job:").is_none() && !scanner.has_patterns() {
            return Ok(then("", Vec::new(), stamp));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let refs = scanner.scan(text, kind);
        Ok(then(text, refs, stamp))
    })
}

/// Sorts paths component by component, as `Path`'s order has it, but on keys made once
/// (separators become NUL, which sorts first), not by splitting both paths at every comparison.
pub fn sort_paths<T>(items: &mut [T], path: impl Fn(&T) -> &Path) {
    items.sort_by_cached_key(|f| {
        let separator = |b: u8| b == b'/' || (cfg!(windows) && b == b'\\');
        path(f).as_os_str().as_encoded_bytes().iter().map(|&b| if separator(b) { 0 } else { b }).collect::<Vec<u8>>()
    });
}
