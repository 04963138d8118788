//! The site root and the mapping from request targets to files.
//!
//! Data in: a request target exactly as sent (origin-form or absolute-form).
//! Data out: a [`Resolved`]: a regular file (its [`SiteFile`] description and
//! its bytes, in memory or opened on disk), a redirect for a directory
//! requested without its trailing slash, or the reason it cannot be served
//! (400 or 404). Files found are kept in the site's cache (`cache.rs`), so a
//! repeated request costs no look-up on disk for a second.
//!
//! Safety comes in two layers: the target is reduced to a clean path
//! (`target.rs`: no dot segments, nothing above the root, no encoded
//! separators, no NUL), and the joined path is then
//! canonicalized (following symlinks) and must still lie under the
//! canonical root, so a symlink cannot lead outside it.

use std::cell::RefCell;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use log::{debug, warn};

use super::cache::{Cache, Identity, SMALL_FILE, SiteFile};
use super::conditional::make_etag;
use super::date::format_http_date;
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
    /// Files found so far (`cache.rs`). A RefCell: looking a file up is
    /// logically a read of the site, and each site belongs to one thread.
    cache: RefCell<Cache>,
}

/// Where a request target leads.
#[derive(Debug)]
pub(super) enum Resolved {
    /// A regular file, and where its bytes come from.
    File {
        file: Arc<SiteFile>,
        body: FileBody,
    },
    /// 301 to this Location (a directory without its trailing slash).
    Redirect(String),
    NotFound,
    BadRequest,
}

/// Where a file's bytes come from for one response.
#[derive(Debug)]
pub(super) enum FileBody {
    /// Kept in memory: a small file.
    Memory(Arc<[u8]>),
    /// Opened for this response, at its first byte: a large file.
    Disk(File),
}

/// A regular file found on disk, opened.
struct Found {
    /// Canonical path (inside the root).
    canonical: PathBuf,
    /// The path it was asked for under (before following symlinks), which
    /// gives the Content-Type.
    name: PathBuf,
    handle: File,
    meta: Metadata,
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
            cache: RefCell::default(),
        })
    }

    /// The same site, but every file reports `mtime` as its modification time (so
    /// Last-Modified and ETag do not depend on when the files were checked out).
    pub fn with_fixed_mtime(mut self, mtime: Instant) -> Site {
        self.fixed_mtime = Some(wall_time(mtime));
        self.cache = RefCell::default();
        self
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a request target to what should be served. A file looked up less
    /// than a second ago (`now` is the caller's) comes from the cache.
    pub(super) fn resolve(&self, target: &str, now: Instant) -> Resolved {
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
        let fresh = self.cache.borrow().fresh(&path, now);
        if let Some(file) = fresh {
            if let Some(body) = open_version(&file) {
                return Resolved::File { file, body };
            }
            self.cache.borrow_mut().remove(&path);
        }
        let found = match self.look_up(&path, query) {
            Ok(found) => found,
            Err(other) => {
                self.cache.borrow_mut().remove(&path);
                return other;
            }
        };
        let identity = Identity::of(&found.meta);
        let known = self.cache.borrow().same_version(&path, identity);
        if let Some(file) = known {
            // The same file as before: keep its bytes, trust it for longer.
            self.cache.borrow_mut().insert(&path, file.clone(), now);
            let body = match &file.bytes {
                Some(bytes) => FileBody::Memory(bytes.clone()),
                None => FileBody::Disk(found.handle),
            };
            return Resolved::File { file, body };
        }
        let Some((file, body, stable)) = self.load(found, identity) else {
            return Resolved::NotFound;
        };
        let file = Arc::new(file);
        if stable {
            self.cache.borrow_mut().insert(&path, file.clone(), now);
        }
        Resolved::File { file, body }
    }

    /// Finds what a clean path leads to on disk: an opened regular file, or
    /// else the answer (redirect, 404).
    fn look_up(&self, path: &str, query: Option<&str>) -> Result<Found, Resolved> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        // Dotfiles are never served.
        if segments.iter().any(|s| s.starts_with('.')) {
            return Err(Resolved::NotFound);
        }
        let mut name = self.root.clone();
        name.extend(&segments);
        let found = self.contained(&name).ok_or(Resolved::NotFound)?;
        let meta = std::fs::metadata(&found).map_err(|_| Resolved::NotFound)?;
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
                return Err(Resolved::Redirect(location));
            }
            name.push("index.html");
            let index = self.contained(&name).ok_or(Resolved::NotFound)?;
            return open_regular(index, name);
        }
        if path.ends_with('/') {
            // A file named as if it were a directory.
            return Err(Resolved::NotFound);
        }
        open_regular(found, name)
    }

    /// Describes a newly found file (reading it whole if it is small). The
    /// flag is false when the file changed while it was read: then the
    /// description matches the bytes read but is not kept.
    fn load(&self, found: Found, identity: Identity) -> Option<(SiteFile, FileBody, bool)> {
        let Found {
            canonical,
            name,
            mut handle,
            meta,
        } = found;
        let mtime = self.fixed_mtime.or_else(|| meta.modified().ok());
        let mut len = meta.len();
        let mut stable = true;
        let (bytes, body) = if len <= SMALL_FILE {
            let mut data = Vec::with_capacity(len as usize);
            if let Err(e) = (&mut handle).take(len + 1).read_to_end(&mut data) {
                warn!("cannot read {}: {e}", canonical.display());
                return None;
            }
            if data.len() as u64 != len {
                debug!("{} changed while being read", canonical.display());
                len = data.len() as u64;
                stable = false;
            }
            let data: Arc<[u8]> = data.into();
            (Some(data.clone()), FileBody::Memory(data))
        } else {
            (None, FileBody::Disk(handle))
        };
        let file = SiteFile {
            content_type: content_type(&name),
            len,
            mtime,
            etag: make_etag(len, mtime),
            last_modified: mtime.map(format_http_date),
            bytes,
            path: canonical,
            identity,
        };
        Some((file, body, stable))
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

/// The bytes of a cached file for one more response: from memory, or the
/// file opened again if it is still the same version (`None` if not).
fn open_version(file: &SiteFile) -> Option<FileBody> {
    if let Some(bytes) = &file.bytes {
        return Some(FileBody::Memory(bytes.clone()));
    }
    let handle = File::open(&file.path).ok()?;
    let meta = handle.metadata().ok()?;
    (meta.is_file() && Identity::of(&meta) == file.identity).then_some(FileBody::Disk(handle))
}

/// Opens `canonical` if it is a regular file (checking before opening, so a
/// FIFO is never opened, and again after, on the handle actually read).
fn open_regular(canonical: PathBuf, name: PathBuf) -> Result<Found, Resolved> {
    match std::fs::metadata(&canonical) {
        Ok(m) if m.is_file() => {}
        _ => return Err(Resolved::NotFound),
    }
    let handle = File::open(&canonical).map_err(|e| {
        warn!("cannot open {}: {e}", canonical.display());
        Resolved::NotFound
    })?;
    match handle.metadata() {
        Ok(meta) if meta.is_file() => Ok(Found {
            canonical,
            name,
            handle,
            meta,
        }),
        Ok(_) => Err(Resolved::NotFound),
        Err(e) => {
            warn!("cannot stat {}: {e}", canonical.display());
            Err(Resolved::NotFound)
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
