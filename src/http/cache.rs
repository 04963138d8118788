//! The site's files kept in memory, so that a request for a known file costs
//! no system call.
//!
//! Data in: a clean path (from `target.rs`) and the caller's `now`; after a
//! full look-up on disk, the [`SiteFile`] it found.
//! Data out: the [`SiteFile`] last found for that path, while it is fresh.
//!
//! A [`SiteFile`] is everything a response about one version of a file needs,
//! made once: Content-Type, length, ETag and Last-Modified text, and for a
//! small file (at most [`SMALL_FILE`] bytes) its bytes. Larger files keep only
//! their canonical path and are streamed from disk in pieces, as before.
//!
//! How changes are noticed: an entry is trusted for [`RECHECK`] after the
//! look-up that made it. After that, the next request for the path looks it up
//! on disk again; if the file found has the same identity (device, inode,
//! length, modification and change times), the entry, bytes included, is kept
//! and trusted for another [`RECHECK`]; otherwise the new version replaces it.
//! So an edited page is served within a second, at a cost of one look-up per
//! path and second, and no clock is read here: the time is the caller's.
//!
//! Bounds: at most [`MAX_ENTRIES`] paths and [`MAX_BYTES`] of file bytes. Keys
//! are clean paths of files that exist, so only a site with that many files
//! can reach them; when it does, the cache is emptied and refills with what is
//! asked for (simple, and each entry costs one look-up to make again).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Instant, after};

/// Files up to this size are kept in memory; larger ones stream from disk.
pub(super) const SMALL_FILE: u64 = 1024 * 1024;
/// How long a look-up is trusted before the disk is asked again.
pub(super) const RECHECK: Duration = Duration::from_secs(1);
/// Most paths kept.
const MAX_ENTRIES: usize = 1024;
/// Most file bytes kept, over all entries.
const MAX_BYTES: u64 = 32 * 1024 * 1024;

/// What tells one version of a file on disk from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    pub(super) fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// One version of one file, as every response about it needs it.
#[derive(Debug)]
pub(super) struct SiteFile {
    pub content_type: &'static str,
    pub len: u64,
    /// The modification time the site reports (the fixed one in the lab).
    pub mtime: Option<SystemTime>,
    pub etag: String,
    /// `mtime` as an HTTP date.
    pub last_modified: Option<String>,
    /// The whole file, for a small one; `None`: read `path` per request.
    pub bytes: Option<Arc<[u8]>>,
    /// The canonical path it was found at (inside the root).
    pub path: PathBuf,
    pub identity: Identity,
}

#[derive(Clone)]
struct Entry {
    file: Arc<SiteFile>,
    /// Trusted until then.
    fresh_until: Instant,
}

/// Clean path → the file last found for it.
#[derive(Default, Clone)]
pub(super) struct Cache {
    entries: HashMap<String, Entry>,
    /// File bytes held, over all entries.
    bytes: u64,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Cache({} entries, {} bytes)",
            self.entries.len(),
            self.bytes
        )
    }
}

impl Cache {
    /// The file for `path`, if it was looked up less than [`RECHECK`] ago.
    pub(super) fn fresh(&self, path: &str, now: Instant) -> Option<Arc<SiteFile>> {
        let e = self.entries.get(path)?;
        (now < e.fresh_until).then(|| e.file.clone())
    }

    /// The file kept for `path` if it is still the version `identity` names
    /// (a look-up found the same file again): its bytes need not be read again.
    pub(super) fn same_version(&self, path: &str, identity: Identity) -> Option<Arc<SiteFile>> {
        let e = self.entries.get(path)?;
        (e.file.identity == identity).then(|| e.file.clone())
    }

    /// Keeps `file` as what `path` leads to, trusted from `now` for [`RECHECK`].
    pub(super) fn insert(&mut self, path: &str, file: Arc<SiteFile>, now: Instant) {
        self.remove(path);
        let size = file_bytes(&file);
        if self.entries.len() >= MAX_ENTRIES || self.bytes + size > MAX_BYTES {
            log::debug!("file cache full ({self:?}): emptied");
            self.entries.clear();
            self.bytes = 0;
        }
        if size > MAX_BYTES {
            return;
        }
        self.bytes += size;
        let fresh_until = after(now, RECHECK);
        self.entries
            .insert(path.to_owned(), Entry { file, fresh_until });
    }

    /// Forgets `path` (its file is gone or changed).
    pub(super) fn remove(&mut self, path: &str) {
        if let Some(e) = self.entries.remove(path) {
            self.bytes -= file_bytes(&e.file);
        }
    }
}

fn file_bytes(f: &SiteFile) -> u64 {
    f.bytes.as_ref().map_or(0, |b| b.len() as u64)
}
