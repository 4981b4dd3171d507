//! `file:` URIs <-> paths, the one place that converts between them (the language server's
//! documents and folders, `check`'s SARIF artifact URIs).
//!
//! The URL crate does the platform rules (RFC 8089 and the WHATWG URL standard's file URLs);
//! this module adds what editors send that it does not take as is:
//!
//! - Windows drive letters in every spelling editors use: VS Code sends `file:///c%3A/x`
//!   (lowercase, the colon escaped), Neovim and Emacs `file:///C:/x`. Both give `C:\x`: the
//!   drive letter is made uppercase, so one file has one path whatever the editor sent.
//! - Network shares: `file://fileserver/projects/x` is `\\fileserver\projects\x` on Windows
//!   (and the host is kept, not dropped: a share's `.synergy.toml` is found). On other systems
//!   a URI with a host other than `localhost` names no local file: `None`.
//! - Paths made into URIs are the inverse: `C:\x` is `file:///C:/x`, `\\server\share\x` is
//!   `file://server/share/x`, `/home/x` is `file:///home/x`; reserved characters are escaped.

use std::path::{Path, PathBuf};

/// The local path a `file:` URI names, or `None` for another scheme, a relative or
/// malformed URI, or (outside Windows) a host other than `localhost`.
pub fn to_path(uri: &str) -> Option<PathBuf> {
    let url = url::Url::parse(uri).ok()?;
    if url.scheme() != "file" {
        return None;
    }
    let path = url.to_file_path().ok()?;
    Some(upper_drive_letter(path))
}

/// The `file:` URI of an absolute path; `None` for a relative path.
pub fn from_path(path: &Path) -> Option<String> {
    let mut url = url::Url::from_file_path(upper_drive_letter(path.to_path_buf())).ok()?;
    // The URL standard leaves `[` and `]` as they are in a path; RFC 3986 (which LSP's URIs
    // follow) does not allow them there.
    if url.path().contains(['[', ']']) {
        let escaped = url.path().replace('[', "%5B").replace(']', "%5D");
        url.set_path(&escaped);
    }
    Some(url.into())
}

/// `c:\x` as `C:\x` (Windows paths only; a no-op elsewhere).
fn upper_drive_letter(path: PathBuf) -> PathBuf {
    if !cfg!(windows) {
        return path;
    }
    let Some(text) = path.to_str() else { return path };
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_lowercase() && bytes[1] == b':' {
        let mut upper = text.to_string();
        upper[..1].make_ascii_uppercase();
        return PathBuf::from(upper);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(windows))]
    #[test]
    fn unix_paths_and_uris() {
        assert_eq!(to_path("file:///home/me/a%20b.md"), Some(PathBuf::from("/home/me/a b.md")));
        assert_eq!(to_path("file://localhost/home/me/x.md"), Some(PathBuf::from("/home/me/x.md")));
        assert_eq!(to_path("file://fileserver/projects/x.md"), None, "a share is not a local file here");
        assert_eq!(to_path("untitled:Untitled-1"), None);
        assert_eq!(to_path("https://example.com/x.md"), None);
        assert_eq!(to_path("not a uri"), None);
        assert_eq!(from_path(Path::new("/w/[slug] #1.md")).as_deref(), Some("file:///w/%5Bslug%5D%20%231.md"));
        assert_eq!(from_path(Path::new("relative/x.md")), None);
        for path in ["/w/a b/c.md", "/w/ü/ß.md", "/w/%41.md", "/w/a?b#c.md"] {
            let uri = from_path(Path::new(path)).unwrap();
            assert_eq!(to_path(&uri).as_deref(), Some(Path::new(path)), "{uri}");
        }
    }

    /// What VS Code, Neovim and Emacs send on Windows, and UNC shares (run under Wine).
    #[cfg(windows)]
    #[test]
    fn windows_drive_letters_and_shares() {
        for uri in ["file:///c%3A/Users/me/notes.md", "file:///C:/Users/me/notes.md", "file:///c:/Users/me/notes.md"] {
            assert_eq!(to_path(uri), Some(PathBuf::from(r"C:\Users\me\notes.md")), "{uri}");
        }
        assert_eq!(to_path("file:///C%3A/a%20b/x.md"), Some(PathBuf::from(r"C:\a b\x.md")));
        assert_eq!(
            to_path("file://fileserver/projects/bridge/README.md"),
            Some(PathBuf::from(r"\\fileserver\projects\bridge\README.md"))
        );
        assert_eq!(from_path(Path::new(r"c:\Users\me\notes.md")).as_deref(), Some("file:///C:/Users/me/notes.md"));
        assert_eq!(
            from_path(Path::new(r"\\fileserver\projects\bridge\README.md")).as_deref(),
            Some("file://fileserver/projects/bridge/README.md")
        );
        for path in [r"C:\a b\c.md", r"\\fileserver\projects\ü x\y.md", r"D:\w\[slug] #1.md"] {
            let uri = from_path(Path::new(path)).unwrap();
            assert_eq!(to_path(&uri).as_deref(), Some(Path::new(path)), "{uri}");
        }
    }
}
