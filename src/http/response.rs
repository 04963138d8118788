//! Planning and rendering responses.
//!
//! Data in: a parsed [`Request`] (or just an error status), the [`Site`],
//! and the time of planning.
//! Data out: a [`Plan`] (status, the header fields' values, body source),
//! which [`Plan::render`] writes as head bytes into the connection's head
//! buffer, handing back the [`Body`] that the connection writes out piece by
//! piece: bytes in memory (a cached file, an error page, a generated
//! resource) or a large file streamed from disk, already positioned at the
//! first byte to send.
//!
//! Rendering allocates nothing: every field is written straight into the
//! reusable buffer, from values made once per file (`cache.rs`) or static
//! text.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;

use log::warn;

use super::cache::SiteFile;
use super::conditional::{if_none_match_matches, if_range_matches, not_modified_since};
use super::date::write_http_date;
use super::range::{RangeOutcome, evaluate_range};
use super::request::Request;
use super::site::{FileBody, Resolved, Site};
use super::{Generator, Instant, wall_time};

/// What caches may do with every response of the site (files, redirects and
/// error pages): store it, but not reuse it without asking us first.
///
/// Decision: `no-cache` with validators rather than a freshness lifetime
/// (`max-age`). The site is for watching the wire: every reload should show
/// the browser revalidating (`If-None-Match` → `304 Not Modified`, as the
/// seeds' captures show for the logo) rather than the page coming silently
/// from the browser's cache, and a student who edits `www/` sees the change
/// on the next reload, never a stale copy for as long as a max-age. A
/// revalidation costs one small round trip, which is the point here. Without
/// any Cache-Control, caches pick a heuristic freshness from Last-Modified,
/// so what a reload shows would depend on the browser (REDbot warns of it).
const SITE_CACHE_CONTROL: &str = "no-cache";
/// Resources generated per request (`/tcpinfo` describes the very
/// connection that asks): never stored.
const GENERATED_CACHE_CONTROL: &str = "no-store";

/// Methods the site knows but does not accept (405); other syntactically
/// valid methods get 501.
const KNOWN_NOT_ALLOWED: [&str; 7] = [
    "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

/// Bytes a body is sent from.
#[derive(Debug)]
pub(super) enum Bytes {
    /// An error page.
    Static(&'static [u8]),
    /// A cached file.
    Shared(Arc<[u8]>),
    /// A generated resource.
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Static(b) => b,
            Bytes::Shared(b) => b,
            Bytes::Owned(b) => b,
        }
    }
}

/// Where the body bytes of a response come from.
#[derive(Debug)]
pub(super) enum Body {
    Empty,
    /// `data[pos..end]` is still to be written.
    Memory {
        data: Bytes,
        pos: usize,
        end: usize,
    },
    /// `remaining` bytes still to be read from the current file position.
    File {
        file: File,
        remaining: u64,
    },
}

impl Body {
    /// All of `data`.
    fn whole(data: Bytes) -> Body {
        let end = data.as_slice().len();
        Body::Memory { data, pos: 0, end }
    }

    /// Body bytes still to be written.
    pub(super) fn remaining(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Memory { pos, end, .. } => (end - pos) as u64,
            Body::File { remaining, .. } => *remaining,
        }
    }

    /// The next in-memory bytes to write (empty for the other kinds), and
    /// marks `n` of them written with [`Body::advance`].
    pub(super) fn memory(&self) -> &[u8] {
        match self {
            Body::Memory { data, pos, end } => &data.as_slice()[*pos..*end],
            _ => &[],
        }
    }

    /// Marks `n` bytes of the in-memory body written.
    pub(super) fn advance(&mut self, n: usize) {
        if let Body::Memory { pos, .. } = self {
            *pos += n;
        }
    }
}

/// The `Content-Range` field of a 206 or 416.
#[derive(Debug, Clone, Copy)]
enum ContentRange {
    /// `bytes first-last/len`
    Span { first: u64, last: u64, len: u64 },
    /// `bytes */len`
    Unsatisfied { len: u64 },
}

/// A response decided on but not yet rendered (the Connection header
/// depends on decisions the caller makes afterwards).
#[derive(Debug)]
pub(super) struct Plan {
    pub status: u16,
    /// None for 304, which describes the representation the client has.
    content_type: Option<&'static str>,
    cache_control: &'static str,
    /// The file whose validators (ETag, Last-Modified) the response carries.
    validators: Option<Arc<SiteFile>>,
    accept_ranges: bool,
    content_range: Option<ContentRange>,
    location: Option<String>,
    /// `Allow: GET, HEAD` (with 405).
    allow: bool,
    /// None for 304, which carries no Content-Length.
    content_length: Option<u64>,
    body: Body,
}

impl Plan {
    /// A response with `status` and no fields of its own yet: no Content-Type,
    /// no validators, no body (and so no Content-Length).
    fn bare(status: u16) -> Plan {
        Plan {
            status,
            content_type: None,
            cache_control: SITE_CACHE_CONTROL,
            validators: None,
            accept_ranges: false,
            content_range: None,
            location: None,
            allow: false,
            content_length: None,
            body: Body::Empty,
        }
    }

    /// An error (or redirect) page: a short HTML body naming the status.
    pub(super) fn error(status: u16) -> Plan {
        let page = status_text(status).1.as_bytes();
        Plan {
            content_type: Some("text/html; charset=utf-8"),
            content_length: Some(page.len() as u64),
            body: Body::whole(Bytes::Static(page)),
            ..Plan::bare(status)
        }
    }

    /// Whether this status leaves the framing of the request stream in doubt,
    /// so the connection must close after it.
    pub(super) fn forces_close(&self) -> bool {
        matches!(self.status, 400 | 408 | 414 | 431 | 501 | 505)
    }

    /// Appends the head to `out` and hands back the body to write (none for
    /// HEAD, which keeps the Content-Length the GET would have had).
    pub(super) fn render(
        self,
        out: &mut Vec<u8>,
        head_only: bool,
        close: bool,
        now: Instant,
        server: &str,
    ) -> Body {
        // Writing into a Vec cannot fail, so the results of write! are ignored.
        let (reason, _) = status_text(self.status);
        let _ = write!(out, "HTTP/1.1 {} {reason}\r\nDate: ", self.status);
        write_http_date(out, wall_time(now));
        // The server name comes from configuration; keep it from breaking
        // the head all the same.
        out.extend_from_slice(b"\r\nServer: ");
        out.extend(server.bytes().filter(|b| !b.is_ascii_control()));
        if let Some(ct) = self.content_type {
            field(out, "Content-Type", ct);
        }
        field(out, "Cache-Control", self.cache_control);
        if let Some(f) = &self.validators {
            field(out, "ETag", &f.etag);
            if let Some(lm) = &f.last_modified {
                field(out, "Last-Modified", lm);
            }
        }
        if self.accept_ranges {
            field(out, "Accept-Ranges", "bytes");
        }
        match self.content_range {
            Some(ContentRange::Span { first, last, len }) => {
                let _ = write!(out, "\r\nContent-Range: bytes {first}-{last}/{len}");
            }
            Some(ContentRange::Unsatisfied { len }) => {
                let _ = write!(out, "\r\nContent-Range: bytes */{len}");
            }
            None => {}
        }
        if let Some(location) = &self.location {
            field(out, "Location", location);
        }
        if self.allow {
            field(out, "Allow", "GET, HEAD");
        }
        if let Some(len) = self.content_length {
            let _ = write!(out, "\r\nContent-Length: {len}");
        }
        out.extend_from_slice(if close {
            b"\r\nConnection: close\r\n\r\n"
        } else {
            b"\r\nConnection: keep-alive\r\n\r\n"
        });
        if head_only { Body::Empty } else { self.body }
    }
}

/// Appends `CRLF name: value` (the line ends come first, so that the head's
/// last field is followed by exactly the CRLF CRLF that ends it).
fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
}

/// Decides the response to a well-formed request.
pub(super) fn plan_request(
    req: &Request,
    site: &Site,
    generator: &dyn Generator,
    now: Instant,
) -> Plan {
    let head_only = match req.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        m if KNOWN_NOT_ALLOWED.contains(&m) => {
            return Plan {
                allow: true,
                ..Plan::error(405)
            };
        }
        _ => return Plan::error(501),
    };
    let path = req.target.split(['?', '#']).next().unwrap_or("");
    if let Some(g) = generator.generate(path) {
        let len = g.body.len() as u64;
        return Plan {
            content_type: Some(g.content_type),
            cache_control: GENERATED_CACHE_CONTROL,
            content_length: Some(len),
            body: Body::whole(Bytes::Owned(g.body)),
            ..Plan::bare(200)
        };
    }
    match site.resolve(&req.target, now) {
        Resolved::BadRequest => Plan::error(400),
        Resolved::NotFound => Plan::error(404),
        Resolved::Redirect(location) => Plan {
            location: Some(location),
            ..Plan::error(301)
        },
        Resolved::File { file, body } => plan_file(req, head_only, file, body),
    }
}

/// 200, 206, 304 or 416 for an existing regular file.
fn plan_file(req: &Request, head_only: bool, file: Arc<SiteFile>, body: FileBody) -> Plan {
    // If-None-Match takes precedence: when present, If-Modified-Since is
    // not even looked at (RFC 9110 §13.2.2).
    let not_modified = match (&req.if_none_match, &req.if_modified_since, file.mtime) {
        (Some(inm), _, _) => if_none_match_matches(inm, &file.etag),
        (None, Some(ims), Some(t)) => not_modified_since(ims, t),
        _ => false,
    };
    let len = file.len;
    if not_modified {
        return Plan {
            validators: Some(file),
            ..Plan::bare(304)
        };
    }

    // Decision: Range is honoured for GET only; a HEAD with Range gets the
    // plain 200 head. That is allowed (a server may always ignore Range) and
    // keeps HEAD's Content-Length equal to the full GET's.
    let mut span = None;
    if !head_only
        && let Some(range) = &req.range
        && req
            .if_range
            .as_deref()
            .is_none_or(|v| if_range_matches(v, &file.etag, file.mtime))
    {
        match evaluate_range(range, len) {
            RangeOutcome::Full => {}
            RangeOutcome::Partial { start, end } => span = Some((start, end)),
            RangeOutcome::Unsatisfiable => {
                return Plan {
                    content_range: Some(ContentRange::Unsatisfied { len }),
                    ..Plan::error(416)
                };
            }
        }
    }

    let (status, start, count) = match span {
        Some((start, end)) => (206, start, end - start + 1),
        None => (200, 0, len),
    };
    let body = match body {
        FileBody::Memory(data) => {
            // In range by construction: start + count <= len == data.len().
            let pos = usize::try_from(start).unwrap_or(usize::MAX).min(data.len());
            let end = usize::try_from(start + count)
                .unwrap_or(usize::MAX)
                .min(data.len());
            Body::Memory {
                data: Bytes::Shared(data),
                pos,
                end,
            }
        }
        FileBody::Disk(mut handle) => {
            if start > 0
                && let Err(e) = handle.seek(SeekFrom::Start(start))
            {
                warn!("cannot seek to {start}: {e}");
                return Plan::error(500);
            }
            Body::File {
                file: handle,
                remaining: count,
            }
        }
    };
    Plan {
        content_type: Some(file.content_type),
        content_range: span.map(|(first, last)| ContentRange::Span { first, last, len }),
        validators: Some(file),
        accept_ranges: true,
        content_length: Some(count),
        body,
        ..Plan::bare(status)
    }
}

/// Defines [`status_text`] from the table of the statuses we answer with.
macro_rules! statuses {
    ($($code:literal $reason:literal,)*) => {
        /// The reason phrase of `status` and the small HTML page that names it.
        pub(super) fn status_text(status: u16) -> (&'static str, &'static str) {
            match status {
                $($code => (
                    $reason,
                    concat!(
                        "<!doctype html><title>", $code, " ", $reason, "</title><h1>",
                        $code, " ", $reason, "</h1>\n"
                    ),
                ),)*
                _ => ("Unknown", "<!doctype html><title>Unknown</title><h1>Unknown</h1>\n"),
            }
        }
    };
}

statuses! {
    200 "OK",
    206 "Partial Content",
    301 "Moved Permanently",
    304 "Not Modified",
    400 "Bad Request",
    404 "Not Found",
    405 "Method Not Allowed",
    408 "Request Timeout",
    414 "URI Too Long",
    416 "Range Not Satisfiable",
    431 "Request Header Fields Too Large",
    500 "Internal Server Error",
    501 "Not Implemented",
    505 "HTTP Version Not Supported",
}
