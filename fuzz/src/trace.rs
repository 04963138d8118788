//! Target `trace`: capture-file bytes through `taplab trace` — the capture reader, the
//! analyzer, the state tracker, the listing and (when asked) the SVG ladder.
//!
//! Input: one byte of options, then the file. Options, bit 0 the lowest: 0 `--absolute`,
//! 1 `--http`, 2 `--no-states`, 3 `--no-http`, 4 `--svg` (drawn, then written to
//! /dev/null), bits 5–7 `--stream N-1` when not 0. (`--http` with `--no-http` is refused
//! by the command line; the renderer takes it, so it is fuzzed too.)
//!
//! The entry is [`taplab::trace::render`], the function `taplab trace` itself calls,
//! which reads the capture from a path. The bytes go to an unlinked temporary file,
//! reached by its `/proc/self/fd` path, so that nothing is left behind when libFuzzer
//! ends the process. [`render_bytes`] is the one place to change when the reader takes
//! bytes or a reader instead of a path.
//!
//! Oracle: no panic; a listing, when there is one, starts with the column header.

use std::cell::RefCell;
use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use taplab::trace::{ListingOptions, Row, TraceOptions, render};

pub fn run(data: &[u8]) {
    let Some((&o, file)) = data.split_first() else {
        return;
    };
    let opts = TraceOptions {
        file: PathBuf::new(),
        listing: ListingOptions {
            absolute: o & 1 != 0,
        },
        http_only: o & 2 != 0,
        states: o & 4 == 0,
        decode_http: o & 8 == 0,
        svg: (o & 16 != 0).then(|| PathBuf::from("/dev/null")),
        stream: match o >> 5 {
            0 => None,
            n => Some(usize::from(n) - 1),
        },
    };
    if let Ok((listing, _warning)) = render_bytes(file, opts) {
        assert!(
            listing.starts_with(&Row::header()),
            "a listing without its header"
        );
    }
}

/// Renders a capture given as bytes, as `taplab trace` renders a file.
pub fn render_bytes(
    bytes: &[u8],
    mut opts: TraceOptions,
) -> Result<(String, Option<String>), String> {
    thread_local! {
        static SCRATCH: RefCell<Option<File>> = const { RefCell::new(None) };
    }
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            *s = Some(unlinked_file().map_err(|e| format!("no scratch file: {e}"))?);
        }
        let Some(file) = s.as_mut() else {
            return Err("no scratch file".into());
        };
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(bytes))
            .map_err(|e| format!("writing the scratch file: {e}"))?;
        opts.file = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        render(&opts)
    })
}

/// A new file, already removed from its directory (it lives while it is open): in
/// /dev/shm, a tmpfs, when there is one (no disk file system in the way of a file
/// rewritten for every input), else in the temp dir.
fn unlinked_file() -> std::io::Result<File> {
    let name = format!("taplab-fuzz-trace-{}.pcap", std::process::id());
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(name);
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_given_as_bytes_is_listed_and_junk_is_refused() {
        let cap = crate::seeds::trace::pcap(&crate::seeds::frames::handshake_frames(), false);
        let (listing, warning) = render_bytes(&cap, TraceOptions::default()).unwrap();
        assert_eq!(warning, None);
        assert_eq!(listing.lines().count(), 1 + 3, "{listing}");
        assert!(listing.contains("[SYN, ACK]"), "{listing}");
        let e = render_bytes(b"not a capture", TraceOptions::default()).unwrap_err();
        assert!(!e.is_empty());
        // The same scratch file serves the next input from its start.
        let (again, _) = render_bytes(&cap, TraceOptions::default()).unwrap();
        assert_eq!(again, listing);
    }
}
