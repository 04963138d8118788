//! The files a baseline server answers with, read into memory once at start.
//!
//! Data in: a directory (its regular files, not its subdirectories). Data out: for a
//! request path, the ready-made bytes of the whole response, head and body, shared by
//! every connection that asks (an `Arc`, so queuing a response copies nothing).
//!
//! The heads are built once here, so the servers do no formatting per request: the
//! baselines measure the transport, not our HTTP code.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Bodies up to this size share one buffer with their head, so that a response is one
/// contiguous slice (one `write` for the kernel server).
const MERGE_LIMIT: usize = 16 * 1024;

/// One response, ready to send: `parts` go out in order; `parts[1]` is empty when the
/// body was merged into the head.
#[derive(Clone)]
pub struct Response {
    pub parts: [Arc<[u8]>; 2],
}

impl Response {
    fn new(head: String, body: &Arc<[u8]>, with_body: bool) -> Response {
        let empty: Arc<[u8]> = Arc::from(&[][..]);
        if !with_body {
            return Response {
                parts: [Arc::from(head.as_bytes()), empty],
            };
        }
        if body.len() <= MERGE_LIMIT {
            let mut all = head.into_bytes();
            all.extend_from_slice(body);
            Response {
                parts: [Arc::from(all), empty],
            }
        } else {
            Response {
                parts: [Arc::from(head.as_bytes()), Arc::clone(body)],
            }
        }
    }
}

/// The four answers for one file: GET or HEAD, keeping the connection or closing it.
struct Entry {
    get: [Response; 2],
    head: [Response; 2],
}

/// What a request asked for, as far as the site cares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Method {
    Get,
    Head,
}

/// Every file of the directory, keyed by its request path (`/name`).
pub struct Site {
    files: HashMap<String, Entry>,
    /// 404, 400, 405 and 431, each closing the connection.
    not_found: Response,
    bad_request: Response,
    bad_method: Response,
    too_large: Response,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("svg") => "image/svg+xml",
        Some("wav") => "audio/wav",
        _ => "application/octet-stream",
    }
}

/// A response that ends the connection, with a one-line text body saying why.
fn error(status: &str) -> Response {
    let body = format!("{status}\n");
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    Response::new(head, &Arc::from(body.as_bytes()), true)
}

impl Site {
    /// Reads every regular file directly in `dir`.
    pub fn load(dir: &Path) -> Result<Site, String> {
        let rd = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        let mut files = HashMap::new();
        for ent in rd {
            let ent = ent.map_err(|e| format!("reading {}: {e}", dir.display()))?;
            let meta = ent
                .metadata()
                .map_err(|e| format!("{}: {e}", ent.path().display()))?;
            let Some(name) = ent.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let body: Arc<[u8]> = std::fs::read(ent.path())
                .map_err(|e| format!("{}: {e}", ent.path().display()))?
                .into();
            let head = |close: bool| {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}\r\n",
                    content_type(&name),
                    body.len(),
                    if close { "Connection: close\r\n" } else { "" }
                )
            };
            let entry = Entry {
                get: [false, true].map(|c| Response::new(head(c), &body, true)),
                head: [false, true].map(|c| Response::new(head(c), &body, false)),
            };
            files.insert(format!("/{name}"), entry);
        }
        Ok(Site {
            files,
            not_found: error("404 Not Found"),
            bad_request: error("400 Bad Request"),
            bad_method: error("405 Method Not Allowed"),
            too_large: error("431 Request Header Fields Too Large"),
        })
    }

    /// The answer to `method path`; `close` picks the variant that says Connection: close.
    /// `None`: no such file (answer [`Site::not_found`] and close).
    pub fn lookup(&self, method: Method, path: &str, close: bool) -> Option<&Response> {
        let path = path.split('?').next().unwrap_or(path);
        let e = self.files.get(path)?;
        let variants = match method {
            Method::Get => &e.get,
            Method::Head => &e.head,
        };
        Some(&variants[close as usize])
    }

    pub fn not_found(&self) -> &Response {
        &self.not_found
    }
    pub fn bad_request(&self) -> &Response {
        &self.bad_request
    }
    pub fn bad_method(&self) -> &Response {
        &self.bad_method
    }
    pub fn too_large(&self) -> &Response {
        &self.too_large
    }
}
