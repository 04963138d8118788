//! Planning and rendering responses.
//!
//! Data in: a parsed [`Request`] (or just an error status), the [`Site`],
//! and the time of planning.
//! Data out: a [`Plan`] (status, header fields, body source), which
//! [`Plan::render`] turns into the head bytes and a [`Body`] that the
//! connection writes out piece by piece. File bodies stay on disk: the plan
//! holds the opened file, already positioned at the first byte to send.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::time::SystemTime;

use log::warn;

use super::conditional::{if_none_match_matches, if_range_matches, make_etag, not_modified_since};
use super::date::{format_http_date, write_http_date};
use super::range::{RangeOutcome, evaluate_range};
use super::request::Request;
use super::site::{Resolved, Site, content_type};
use super::{Generator, Instant, wall_time};

/// Methods the site knows but does not accept (405); other syntactically
/// valid methods get 501.
const KNOWN_NOT_ALLOWED: [&str; 7] = [
    "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

/// Where the body bytes of a response come from.
#[derive(Debug)]
pub(super) enum Body {
    Empty,
    /// In-memory body (error pages); `pos` bytes of it are already written.
    Bytes {
        data: Vec<u8>,
        pos: usize,
    },
    /// `remaining` bytes still to be read from the current file position.
    File {
        file: File,
        remaining: u64,
    },
}

impl Body {
    /// Body bytes still to be written.
    pub(super) fn remaining(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes { data, pos } => (data.len() - pos) as u64,
            Body::File { remaining, .. } => *remaining,
        }
    }
}

/// A response decided on but not yet rendered (the Connection header
/// depends on decisions the caller makes afterwards).
#[derive(Debug)]
pub(super) struct Plan {
    pub status: u16,
    /// Fields besides Date, Server, Content-Length and Connection.
    headers: Vec<(&'static str, String)>,
    /// None for 304, which carries no Content-Length.
    content_length: Option<u64>,
    body: Body,
}

impl Plan {
    /// An error (or redirect) page: a short HTML body naming the status.
    pub(super) fn error(status: u16) -> Plan {
        let title = format!("{status} {}", reason(status));
        let html = format!("<!doctype html><title>{title}</title><h1>{title}</h1>\n").into_bytes();
        Plan {
            status,
            headers: vec![("Content-Type", "text/html; charset=utf-8".to_owned())],
            content_length: Some(html.len() as u64),
            body: Body::Bytes { data: html, pos: 0 },
        }
    }

    fn with(mut self, name: &'static str, value: String) -> Plan {
        self.headers.push((name, value));
        self
    }

    /// Whether this status leaves the framing of the request stream in doubt,
    /// so the connection must close after it.
    pub(super) fn forces_close(&self) -> bool {
        matches!(self.status, 400 | 408 | 414 | 431 | 501 | 505)
    }

    /// Renders the head and hands back the body to write (none for HEAD,
    /// which keeps the Content-Length the GET would have had).
    pub(super) fn render(
        self,
        head_only: bool,
        close: bool,
        now: Instant,
        server: &str,
    ) -> (Vec<u8>, Body) {
        let mut h = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).into_bytes();
        h.extend_from_slice(b"Date: ");
        write_http_date(&mut h, wall_time(now));
        // The server name comes from configuration; keep it from breaking
        // the head all the same.
        let server: String = server.chars().filter(|c| !c.is_control()).collect();
        h.extend_from_slice(format!("\r\nServer: {server}\r\n").as_bytes());
        for (name, value) in &self.headers {
            h.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if let Some(len) = self.content_length {
            h.extend_from_slice(format!("Content-Length: {len}\r\n").as_bytes());
        }
        h.extend_from_slice(if close {
            b"Connection: close\r\n\r\n"
        } else {
            b"Connection: keep-alive\r\n\r\n"
        });
        let body = if head_only { Body::Empty } else { self.body };
        (h, body)
    }
}

/// Decides the response to a well-formed request.
pub(super) fn plan_request(req: &Request, site: &Site, generator: &dyn Generator) -> Plan {
    let head_only = match req.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        m if KNOWN_NOT_ALLOWED.contains(&m) => {
            return Plan::error(405).with("Allow", "GET, HEAD".to_owned());
        }
        _ => return Plan::error(501),
    };
    let path = req.target.split(['?', '#']).next().unwrap_or("");
    if let Some(g) = generator.generate(path) {
        // Made for this request and this connection: never cached.
        let len = g.body.len() as u64;
        return Plan {
            status: 200,
            headers: vec![
                ("Content-Type", g.content_type.to_owned()),
                ("Cache-Control", "no-store".to_owned()),
            ],
            content_length: Some(len),
            body: Body::Bytes {
                data: g.body,
                pos: 0,
            },
        };
    }
    match site.resolve(&req.target) {
        Resolved::BadRequest => Plan::error(400),
        Resolved::NotFound => Plan::error(404),
        Resolved::Redirect(location) => Plan::error(301).with("Location", location),
        Resolved::File { file, meta, name } => plan_file(
            req,
            head_only,
            file,
            meta.len(),
            site.mtime(&meta),
            content_type(&name),
        ),
    }
}

/// 200, 206, 304 or 416 for an existing regular file.
fn plan_file(
    req: &Request,
    head_only: bool,
    mut file: File,
    len: u64,
    mtime: Option<SystemTime>,
    ctype: &'static str,
) -> Plan {
    let etag = make_etag(len, mtime);
    let mut validators = vec![("ETag", etag.clone())];
    if let Some(t) = mtime {
        validators.push(("Last-Modified", format_http_date(t)));
    }

    // If-None-Match takes precedence: when present, If-Modified-Since is
    // not even looked at (RFC 9110 §13.2.2).
    let not_modified = match (&req.if_none_match, &req.if_modified_since, mtime) {
        (Some(inm), _, _) => if_none_match_matches(inm, &etag),
        (None, Some(ims), Some(t)) => not_modified_since(ims, t),
        _ => false,
    };
    if not_modified {
        return Plan {
            status: 304,
            headers: validators,
            content_length: None,
            body: Body::Empty,
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
            .is_none_or(|v| if_range_matches(v, &etag, mtime))
    {
        match evaluate_range(range, len) {
            RangeOutcome::Full => {}
            RangeOutcome::Partial { start, end } => span = Some((start, end)),
            RangeOutcome::Unsatisfiable => {
                return Plan::error(416).with("Content-Range", format!("bytes */{len}"));
            }
        }
    }

    let mut headers = vec![("Content-Type", ctype.to_owned())];
    headers.extend(validators);
    headers.push(("Accept-Ranges", "bytes".to_owned()));
    let (status, start, count) = match span {
        Some((start, end)) => {
            headers.push(("Content-Range", format!("bytes {start}-{end}/{len}")));
            (206, start, end - start + 1)
        }
        None => (200, 0, len),
    };
    if start > 0
        && let Err(e) = file.seek(SeekFrom::Start(start))
    {
        warn!("cannot seek to {start}: {e}");
        return Plan::error(500);
    }
    Plan {
        status,
        headers,
        content_length: Some(count),
        body: Body::File {
            file,
            remaining: count,
        },
    }
}

pub(super) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}
