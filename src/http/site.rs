//! The site root and the mapping from request targets to files.
//!
//! Data in: a request target exactly as sent (origin-form or absolute-form).
//! Data out: a [`Resolved`]: an opened regular file with its metadata, a
//! redirect for a directory requested without its trailing slash, or the
//! reason it cannot be served (400 or 404).
//!
//! Safety comes in two layers: the target is reduced to a clean path
//! (`target.rs`: no dot segments, nothing above the root, no encoded
//! separators, no NUL), and the joined path is then
//! canonicalized (following symlinks) and must still lie under the
//! canonical root, so a symlink cannot lead outside it.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use log::{debug, warn};

use super::target::{Target, clean_target};
use super::{Instant, wall_time};

/// The site root. [`Site::open`] canonicalizes the root; it fails if it is
/// not a directory.
#[derive(Debug, Clone)]
pub struct Site {
    root: PathBuf,
    /// Reported as every file's modification time instead of the disk's (the lab's
    /// deterministic runs: checkouts give files different mtimes on every machine).
    fixed_mtime: Option<SystemTime>,
}

/// Where a request target leads.
#[derive(Debug)]
pub(super) enum Resolved {
    /// A regular file, already opened; `name` is the path it was found
    /// under (before following symlinks), used for the Content-Type.
    File {
        file: File,
        meta: Metadata,
        name: PathBuf,
    },
    /// 301 to this Location (a directory without its trailing slash).
    Redirect(String),
    NotFound,
    BadRequest,
}

impl Site {
    /// Opens the site at `root`, which must be a directory.
    pub fn open(root: &Path) -> io::Result<Site> {
        let root = std::fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("site root {} is not a directory", root.display()),
            ));
        }
        Ok(Site {
            root,
            fixed_mtime: None,
        })
    }

    /// The same site, but every file reports `mtime` as its modification time (so
    /// Last-Modified and ETag do not depend on when the files were checked out).
    pub fn with_fixed_mtime(mut self, mtime: Instant) -> Site {
        self.fixed_mtime = Some(wall_time(mtime));
        self
    }

    /// A file's modification time as the site reports it.
    pub(super) fn mtime(&self, meta: &Metadata) -> Option<SystemTime> {
        self.fixed_mtime.or_else(|| meta.modified().ok())
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a request target to what should be served.
    pub(super) fn resolve(&self, target: &str) -> Resolved {
        let (path, query) = match clean_target(target) {
            Target::Path { path, query } => (path, query),
            Target::Climbs => {
                debug!("target {target:?} climbs above the root");
                return Resolved::BadRequest;
            }
            Target::Bad => {
                debug!("target {target:?} is not a path, or escapes wrongly");
                return Resolved::BadRequest;
            }
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        // Dotfiles are never served.
        if segments.iter().any(|s| s.starts_with('.')) {
            return Resolved::NotFound;
        }
        let mut name = self.root.clone();
        name.extend(&segments);
        let Some(found) = self.contained(&name) else {
            return Resolved::NotFound;
        };
        let Ok(meta) = std::fs::metadata(&found) else {
            return Resolved::NotFound;
        };
        if meta.is_dir() {
            if !path.ends_with('/') {
                // Rebuilt from the clean segments: collapsing empty ones means
                // "//host" style targets cannot become protocol-relative URLs.
                let mut location = String::from("/");
                for s in &segments {
                    location.push_str(&encode_path_segment(s));
                    location.push('/');
                }
                if let Some(q) = query {
                    location.push('?');
                    location.push_str(&encode_query(q));
                }
                return Resolved::Redirect(location);
            }
            name.push("index.html");
            let Some(index) = self.contained(&name) else {
                return Resolved::NotFound;
            };
            return open_regular(&index, name);
        }
        if path.ends_with('/') {
            // A file named as if it were a directory.
            return Resolved::NotFound;
        }
        open_regular(&found, name)
    }

    /// Canonicalizes `path` and returns it only if it stays inside the root
    /// and does not pass through a dot-named entry (a symlink could point at one).
    fn contained(&self, path: &Path) -> Option<PathBuf> {
        let canonical = match std::fs::canonicalize(path) {
            Ok(c) => c,
            Err(e) => {
                debug!("{}: {e}", path.display());
                return None;
            }
        };
        let Ok(rel) = canonical.strip_prefix(&self.root) else {
            debug!("{} leads outside the root", path.display());
            return None;
        };
        let hidden = rel.components().any(|c| match c {
            Component::Normal(s) => s.as_encoded_bytes().starts_with(b"."),
            _ => true,
        });
        (!hidden).then_some(canonical)
    }
}

/// Opens `path` if it is a regular file (checking before opening, so a FIFO
/// is never opened, and again after, on the handle actually read).
fn open_regular(path: &Path, name: PathBuf) -> Resolved {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        _ => return Resolved::NotFound,
    }
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            warn!("cannot open {}: {e}", path.display());
            return Resolved::NotFound;
        }
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() => Resolved::File { file, meta, name },
        Ok(_) => Resolved::NotFound,
        Err(e) => {
            warn!("cannot stat {}: {e}", path.display());
            Resolved::NotFound
        }
    }
}

/// Percent-encodes a decoded path segment for a Location header, leaving
/// the characters RFC 3986 allows in a segment as they are.
fn encode_path_segment(s: &str) -> String {
    encode(s, |c| {
        c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c)
    })
}

/// The query is passed on as sent; only bytes that cannot appear in a
/// header value unescaped (controls, space, non-ASCII) are encoded.
fn encode_query(q: &str) -> String {
    encode(q, |c| c.is_ascii_graphic())
}

fn encode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if keep(c) {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Content-Type by file extension (case-insensitive).
pub(super) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_locations() {
        assert_eq!(encode_path_segment("a b%€"), "a%20b%25%E2%82%AC");
        assert_eq!(encode_query("x=1&y=é"), "x=1&y=%C3%A9");
    }

    #[test]
    fn content_types() {
        let cases = [
            ("a.html", "text/html; charset=utf-8"),
            ("a.HTM", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.svg", "image/svg+xml"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.jpeg", "image/jpeg"),
            ("a.ico", "image/x-icon"),
            ("a.wav", "audio/wav"),
            ("a.ogg", "audio/ogg"),
            ("a.mp3", "audio/mpeg"),
            ("a.json", "application/json"),
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.bin", "application/octet-stream"),
            ("noext", "application/octet-stream"),
        ];
        for (name, ct) in cases {
            assert_eq!(content_type(Path::new(name)), ct, "{name}");
        }
    }
}
