//! The index of the references in a workspace's files: for each file with references, each
//! reference's name, form and positions (in one [`Encoding`]), without the file's text. Built
//! by [`build`] with the same walk as `check`; kept up to date by the language server as files
//! change on disk. LSP-free: positions are `line_index::LineCol`, files are paths.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use dashmap::DashMap;

use super::{Rules, scan_file, walk};
use crate::line_index::{Encoding, LineCol, positions_in_order};
use crate::model::{JobRef, RefForm};
use crate::scan::{DocKind, Scanner};

/// One reference in an indexed file. Positions are zero-based, columns in the index's encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedRef {
    /// The name or path as written, without quotes.
    pub name: Box<str>,
    pub form: RefForm,
    /// The whole reference.
    pub range: (LineCol, LineCol),
    /// The part a fix replaces.
    pub edit_range: (LineCol, LineCol),
}

/// The references of one file, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRefs {
    pub refs: Vec<IndexedRef>,
}

impl FileRefs {
    /// Positions `refs` (byte ranges into `text`) in `enc`.
    pub fn new(text: &str, refs: &[JobRef], enc: Encoding) -> FileRefs {
        if refs.is_empty() {
            return FileRefs::default();
        }
        // In text order: the reference starts, its editable part starts and ends, it ends.
        let offsets: Vec<usize> =
            refs.iter().flat_map(|r| [r.range.start, r.edit_range.start, r.edit_range.end, r.range.end]).collect();
        let placed = positions_in_order(text, &offsets, enc);
        FileRefs {
            refs: refs
                .iter()
                .zip(placed.chunks_exact(4))
                .map(|(r, p)| IndexedRef {
                    name: r.name.as_str().into(),
                    form: r.form,
                    range: (p[0].0, p[3].0),
                    edit_range: (p[1].0, p[2].0),
                })
                .collect(),
        }
    }

    /// Reads and indexes one file. `Ok(None)` for a file without references.
    pub fn read(path: &Path, kind: DocKind, scanner: &Scanner, enc: Encoding) -> Result<Option<FileRefs>, String> {
        scan_file(path, kind, scanner, |text, refs| (!refs.is_empty()).then(|| FileRefs::new(text, &refs, enc)))
    }
}

/// The indexed files that have references, by path.
#[derive(Debug, Default)]
pub struct Index {
    files: DashMap<PathBuf, Arc<FileRefs>>,
}

impl Index {
    /// Sets a file's references; a file without any is removed. Returns whether it was indexed
    /// before.
    pub fn set(&self, path: PathBuf, refs: Option<FileRefs>) -> bool {
        match refs {
            Some(refs) if !refs.refs.is_empty() => self.files.insert(path, Arc::new(refs)).is_some(),
            _ => self.files.remove(&path).is_some(),
        }
    }

    pub fn get(&self, path: &Path) -> Option<Arc<FileRefs>> {
        self.files.get(path).map(|f| f.clone())
    }

    /// Removes every file under `root`; returns their paths.
    pub fn remove_under(&self, root: &Path) -> Vec<PathBuf> {
        let gone: Vec<PathBuf> =
            self.files.iter().filter(|f| f.key().starts_with(root)).map(|f| f.key().clone()).collect();
        for p in &gone {
            self.files.remove(p);
        }
        gone
    }

    /// Every indexed file and its references (a snapshot; no lock held after return).
    pub fn files(&self) -> Vec<(PathBuf, Arc<FileRefs>)> {
        self.files.iter().map(|f| (f.key().clone(), f.value().clone())).collect()
    }

    /// Calls `f` with every indexed file, without copying the index (each shard is read-locked
    /// while it is visited: `f` must not touch the index).
    pub fn visit(&self, mut f: impl FnMut(&Path, &FileRefs)) {
        for entry in self.files.iter() {
            f(entry.key(), entry.value());
        }
    }

    /// How many files have references.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// How many references are indexed.
    pub fn references(&self) -> usize {
        self.files.iter().map(|f| f.refs.len()).sum()
    }
}

/// What a build found.
#[derive(Debug, Default)]
pub struct Built {
    /// Files with references.
    pub files: Vec<(PathBuf, FileRefs)>,
    /// Files taken by the walk (with references or not).
    pub walked: usize,
    /// Files skipped, and why (binary, not UTF-8, too large, unreadable).
    pub skipped: Vec<(PathBuf, String)>,
    pub errors: Vec<String>,
    /// The walk stopped at `max_files`.
    pub truncated: bool,
}

/// How far a [`build`] (or several in turn, sharing one) is: the files to read (added once
/// each walk is done) and those read.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files the walks took (what a walk takes is added when it is done).
    pub total: AtomicUsize,
    /// Files read so far.
    pub done: AtomicUsize,
}

/// Walks `root` under `rules` and indexes every file taken, at most `max_files` of them: the
/// walk first (paths only, so `progress` knows the total), then the files read on every core.
/// `cancel` stops either.
pub fn build(
    root: &Path,
    rules: &Rules,
    scanner: &Scanner,
    enc: Encoding,
    max_files: usize,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Built {
    let found = std::sync::Mutex::new(Vec::new());
    let truncated = AtomicBool::new(false);
    let visit = |path: PathBuf, kind: DocKind| {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
        if found.len() >= max_files {
            truncated.store(true, Ordering::Relaxed);
            return false;
        }
        found.push((path, kind));
        true
    };
    let errors = walk(&[root.to_path_buf()], rules, &visit);
    let found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    progress.total.fetch_add(found.len(), Ordering::Relaxed);
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(found.len()).max(1);
    let read = || {
        let mut out = Built::default();
        while !cancel.load(Ordering::Relaxed) {
            let Some((path, kind)) = found.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
            out.walked += 1;
            match FileRefs::read(path, *kind, scanner, enc) {
                Ok(Some(refs)) => out.files.push((path.clone(), refs)),
                Ok(None) => {}
                Err(why) => out.skipped.push((path.clone(), why)),
            }
            progress.done.fetch_add(1, Ordering::Relaxed);
        }
        out
    };
    let mut built = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads).map(|_| scope.spawn(read)).collect();
        let mut built = read();
        for part in workers.into_iter().filter_map(|w| w.join().ok()) {
            built.walked += part.walked;
            built.files.extend(part.files);
            built.skipped.extend(part.skipped);
        }
        built
    });
    match errors {
        Ok(errors) => built.errors = errors,
        Err(e) => built.errors.push(e),
    }
    built.truncated = truncated.load(Ordering::Relaxed);
    super::sort_paths(&mut built.files, |f| &f.0);
    built
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_indexed_with_the_walk_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |p: &str, text: &[u8]| {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("a.md", "# A\n\nSee job:Riverside and `job:Code`.\r\n😀 job:\"Region A/Drainage\"\n".as_bytes());
        write("notes.txt", b"job:Plain\n");
        write("src/main.go", b"// job:InComment\nx := \"job:InString\"\n");
        write("ignored/skip.md", b"job:Ignored\n");
        write(".hidden/h.md", b"job:Hidden\n");
        write("bin.md", b"job:X\0\0");
        write("none.md", b"nothing here\n");
        write(".gitignore", b"ignored/\n");
        let rules = Rules::new(root, &["**/*.go".into()], &[], ("include", "exclude")).unwrap();
        let (progress, cancel) = (Progress::default(), AtomicBool::new(false));
        let built = build(root, &rules, &Scanner::default(), Encoding::Utf16, 100, &progress, &cancel);
        let names: Vec<(String, Vec<String>)> = built
            .files
            .iter()
            .map(|(p, f)| {
                let rel = p.strip_prefix(root).unwrap().display().to_string().replace(std::path::MAIN_SEPARATOR, "/");
                (rel, f.refs.iter().map(|r| format!("{}@{}:{}", r.name, r.range.0.line, r.range.0.col)).collect())
            })
            .collect();
        expect_test::expect![[r#"
            [
                (
                    "a.md",
                    [
                        "Riverside@2:4",
                        "Region A/Drainage@3:3",
                    ],
                ),
                (
                    "notes.txt",
                    [
                        "Plain@0:0",
                    ],
                ),
                (
                    "src/main.go",
                    [
                        "InComment@0:3",
                    ],
                ),
            ]
        "#]]
        .assert_debug_eq(&names);
        // a.md, notes.txt, main.go, bin.md (skipped: binary) and none.md.
        assert_eq!(built.walked, 5, "{built:?}");
        assert_eq!(built.skipped.len(), 1);
        assert!(!built.truncated);
        // The total is known before the files are read, and every file is counted once.
        assert_eq!((progress.total.load(Ordering::Relaxed), progress.done.load(Ordering::Relaxed)), (5, 5));
        // A limit stops the walk and says so; a shared progress adds the second walk's files.
        let small = build(root, &rules, &Scanner::default(), Encoding::Utf16, 2, &progress, &cancel);
        assert!(small.truncated);
        assert_eq!(small.walked, 2);
        assert_eq!((progress.total.load(Ordering::Relaxed), progress.done.load(Ordering::Relaxed)), (7, 7));
        // Cancelled: nothing read.
        cancel.store(true, Ordering::Relaxed);
        let stopped = build(root, &rules, &Scanner::default(), Encoding::Utf16, 100, &Progress::default(), &cancel);
        assert_eq!((stopped.walked, stopped.files.len()), (0, 0));
        // The index keeps files with references only.
        let index = Index::default();
        for (p, f) in built.files {
            index.set(p, Some(f));
        }
        assert_eq!((index.len(), index.references()), (3, 4));
        assert!(index.set(root.join("notes.txt"), None));
        assert_eq!(index.remove_under(&root.join("src")).len(), 1);
        assert_eq!(index.len(), 1);
    }

    /// A path that did not come from a walk is judged as the walk would: ignore files at every
    /// level (the nearest verdict wins), hidden files and folders.
    #[test]
    fn ignore_files_apply_to_paths_outside_a_walk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("docs/build")).unwrap();
        std::fs::write(root.join(".gitignore"), "build/\n*.log.md\n").unwrap();
        std::fs::write(root.join("docs/.gitignore"), "!keep.log.md\n").unwrap();
        for (rel, ignored) in [
            ("a.md", false),
            ("docs/build/x.md", true),
            ("build/y.md", true),
            ("docs/z.log.md", true),
            ("docs/keep.log.md", false),
            (".hidden/h.md", true),
            ("docs/.secret.md", true),
        ] {
            assert_eq!(crate::workspace::ignored(root, &root.join(rel)), ignored, "{rel}");
        }
        assert!(crate::workspace::ignored(root, Path::new("/elsewhere/a.md")), "outside the root");
    }

    #[test]
    fn excluded_folders_exclude_files_that_did_not_come_from_a_walk() {
        let root = Path::new("/w");
        let rules = Rules::new(root, &[], &["build/".into(), "*.log.md".into()], ("i", "e")).unwrap();
        assert!(rules.kind_unwalked(Path::new("/w/build/x.md")).is_none());
        assert!(rules.kind_unwalked(Path::new("/w/a/b.log.md")).is_none());
        assert!(rules.kind_unwalked(Path::new("/w/docs/x.md")).is_some());
        // A folder above the root is not the workspace's business.
        let rules = Rules::new(Path::new("/build/w"), &[], &["build/".into()], ("i", "e")).unwrap();
        assert!(rules.kind_unwalked(Path::new("/build/w/x.md")).is_some());
    }
}
