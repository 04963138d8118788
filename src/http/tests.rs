//! Tests of the whole responder through the public connection API, against
//! a temporary site created per test (removed again on drop).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::body::MAX_SKIPPED_BODY;
use super::cache::SMALL_FILE;
use super::conn::INPUT_CAP;
use super::*;

const OUTSIDE: &[u8] = b"OUTSIDE SECRET CONTENT";
const DOTFILE: &[u8] = b"DOTFILE SECRET CONTENT";
const INDEX: &[u8] = b"<!doctype html><title>home</title><p>hello</p>\n";
const SUB_INDEX: &[u8] = b"<!doctype html><title>sub</title>\n";
const DIGITS: &[u8] = b"0123456789";
/// Known mtime given to `digits.txt`.
const DIGITS_MTIME: u64 = 1_600_000_000;
const EXTENSIONS: [(&str, &str); 15] = [
    ("page.html", "text/html; charset=utf-8"),
    ("page.htm", "text/html; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("logo.svg", "image/svg+xml"),
    ("logo.png", "image/png"),
    ("photo.jpg", "image/jpeg"),
    ("photo.jpeg", "image/jpeg"),
    ("favicon.ico", "image/x-icon"),
    ("sound.wav", "audio/wav"),
    ("sound.ogg", "audio/ogg"),
    ("sound.mp3", "audio/mpeg"),
    ("data.json", "application/json"),
    ("notes.txt", "text/plain; charset=utf-8"),
    ("blob.bin", "application/octet-stream"),
];

/// A site in a fresh temporary directory:
///
/// ```text
/// <base>/outside.txt              not under the root
/// <base>/root/index.html
/// <base>/root/sub/index.html
/// <base>/root/emptydir/           no index.html
/// <base>/root/files/<one file per extension>
/// <base>/root/digits.txt          "0123456789", mtime DIGITS_MTIME
/// <base>/root/empty.txt           0 bytes
/// <base>/root/.secret             dotfile
/// <base>/root/escape.txt   -> <base>/outside.txt
/// <base>/root/escdir       -> <base>
/// <base>/root/tosecret.txt -> .secret
/// <base>/root/sublink      -> sub (stays inside)
/// ```
struct TestSite {
    base: PathBuf,
    site: Site,
}

impl Drop for TestSite {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

impl TestSite {
    fn new() -> TestSite {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let base = std::env::temp_dir().join(format!(
            "taplab-http-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let root = base.join("root");
        for dir in ["sub", "emptydir", "files"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(base.join("outside.txt"), OUTSIDE).unwrap();
        fs::write(root.join("index.html"), INDEX).unwrap();
        fs::write(root.join("sub/index.html"), SUB_INDEX).unwrap();
        for (name, _) in EXTENSIONS {
            fs::write(
                root.join("files").join(name),
                format!("content of {name}\n"),
            )
            .unwrap();
        }
        fs::write(root.join("digits.txt"), DIGITS).unwrap();
        let f = fs::File::options()
            .write(true)
            .open(root.join("digits.txt"))
            .unwrap();
        f.set_modified(UNIX_EPOCH + Duration::new(DIGITS_MTIME, 123_456))
            .unwrap();
        fs::write(root.join("empty.txt"), b"").unwrap();
        fs::write(root.join(".secret"), DOTFILE).unwrap();
        std::os::unix::fs::symlink(base.join("outside.txt"), root.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink(&base, root.join("escdir")).unwrap();
        std::os::unix::fs::symlink(".secret", root.join("tosecret.txt")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("sublink")).unwrap();
        let site = Site::open(&root).unwrap();
        TestSite { base, site }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.site.root().join(rel)
    }
}

fn t0() -> Instant {
    Instant::from_secs(1_700_000_000)
}

/// `t + d` (the std duration the config holds added to the API's instant).
fn plus(t: Instant, d: Duration) -> Instant {
    t + smoltcp::time::Duration::from(d)
}

/// `t - d`.
fn minus(t: Instant, d: Duration) -> Instant {
    t - smoltcp::time::Duration::from(d)
}

/// A parsed response.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Length of the head in bytes.
    head_len: usize,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn content_length(&self) -> Option<u64> {
        self.header("Content-Length").map(|v| v.parse().unwrap())
    }

    fn closes(&self) -> bool {
        self.header("Connection") == Some("close")
    }
}

/// Parses one response from the start of `buf`; `no_body` for answers to
/// HEAD. Returns it and the number of bytes it took.
fn parse_response(buf: &[u8], no_body: bool) -> (Resp, usize) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!(
            "bad response head {other:?}: {:?}",
            String::from_utf8_lossy(buf)
        ),
    };
    assert_eq!(r.version, Some(1), "responses are HTTP/1.1");
    let status = r.code.unwrap();
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8(h.value.to_vec()).unwrap(),
            )
        })
        .collect();
    let mut resp = Resp {
        status,
        headers,
        body: Vec::new(),
        head_len,
    };
    let len = if no_body || status == 304 {
        0
    } else {
        resp.content_length().expect("Content-Length") as usize
    };
    assert!(buf.len() >= head_len + len, "truncated body");
    resp.body = buf[head_len..head_len + len].to_vec();
    (resp, head_len + len)
}

/// Parses consecutive responses; `no_body[i]` tells whether the i-th
/// answers a HEAD. Asserts nothing is left over.
fn parse_all(mut buf: &[u8], no_body: &[bool]) -> Vec<Resp> {
    let mut out = Vec::new();
    for &nb in no_body {
        let (r, n) = parse_response(buf, nb);
        out.push(r);
        buf = &buf[n..];
    }
    assert!(
        buf.is_empty(),
        "left over: {:?}",
        String::from_utf8_lossy(buf)
    );
    out
}

/// Plays the TCP side: feeds input as room allows, polls, drains output.
struct Client<'a> {
    conn: HttpConnection,
    site: &'a Site,
    config: HttpConfig,
    now: Instant,
    out: Vec<u8>,
    /// Size of the buffer given to write_output.
    chunk: usize,
    verdict: Verdict,
}

impl<'a> Client<'a> {
    fn new(site: &'a Site) -> Self {
        Self::with_config(site, HttpConfig::default())
    }

    fn with_config(site: &'a Site, config: HttpConfig) -> Self {
        Client {
            conn: HttpConnection::new(t0()),
            site,
            config,
            now: t0(),
            out: Vec::new(),
            chunk: 4096,
            verdict: Verdict::Continue,
        }
    }

    /// Runs the caller loop until nothing moves any more.
    fn send(&mut self, input: &[u8]) -> Verdict {
        let mut pending = input;
        let mut buf = vec![0u8; self.chunk];
        loop {
            let mut moved = false;
            let room = self.conn.input_room();
            if room > 0 && !pending.is_empty() {
                let n = room.min(pending.len());
                self.conn.receive(&pending[..n], self.now);
                pending = &pending[n..];
                moved = true;
            }
            self.verdict = self.conn.poll(self.site, &self.config, self.now);
            while self.conn.has_output() {
                let n = self.conn.write_output(&mut buf, self.now);
                self.out.extend_from_slice(&buf[..n]);
                moved = true;
            }
            if self.verdict == Verdict::Close && !self.conn.has_output() {
                return Verdict::Close;
            }
            if !moved {
                return self.verdict;
            }
        }
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// Sends one request on a fresh connection; returns the response and the
/// final verdict.
fn exchange(site: &Site, request: &str) -> (Resp, Verdict) {
    let mut c = Client::new(site);
    let v = c.send(request.as_bytes());
    let no_body = request.starts_with("HEAD ");
    let out = c.take();
    let rs = parse_all(&out, &[no_body]);
    (rs.into_iter().next().unwrap(), v)
}

fn get(site: &Site, target: &str) -> (Resp, Verdict) {
    exchange(site, &format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n"))
}

fn get_with(site: &Site, target: &str, extra: &str) -> Resp {
    exchange(
        site,
        &format!("GET {target} HTTP/1.1\r\nHost: t\r\n{extra}\r\n"),
    )
    .0
}

fn file_etag(path: &Path) -> String {
    let m = fs::metadata(path).unwrap();
    let d = m.modified().unwrap().duration_since(UNIX_EPOCH).unwrap();
    format!("\"{:x}-{:x}-{:x}\"", m.len(), d.as_secs(), d.subsec_nanos())
}

#[test]
fn serves_index_with_all_headers() {
    let ts = TestSite::new();
    let (r, v) = get(&ts.site, "/");
    assert_eq!(v, Verdict::Continue);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX);
    assert_eq!(r.header("Date"), Some("Tue, 14 Nov 2023 22:13:20 GMT"));
    assert_eq!(
        r.header("Server"),
        Some(HttpConfig::default().server.as_str())
    );
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.content_length(), Some(INDEX.len() as u64));
    let mtime = fs::metadata(ts.path("index.html"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        r.header("Last-Modified"),
        Some(format_http_date(mtime).as_str())
    );
    assert_eq!(
        r.header("ETag"),
        Some(file_etag(&ts.path("index.html")).as_str())
    );
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(r.header("Cache-Control"), Some("no-cache"));
    assert_eq!(r.header("Connection"), Some("keep-alive"));
    // Index page under its own name too.
    assert_eq!(get(&ts.site, "/index.html").0.body, INDEX);
}

#[test]
fn content_type_by_extension() {
    let ts = TestSite::new();
    for (name, ctype) in EXTENSIONS {
        let (r, _) = get(&ts.site, &format!("/files/{name}"));
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.header("Content-Type"), Some(ctype), "{name}");
        assert_eq!(r.body, format!("content of {name}\n").as_bytes());
    }
}

#[test]
fn directories_and_redirects() {
    let ts = TestSite::new();
    let (r, _) = get(&ts.site, "/sub/");
    assert_eq!((r.status, r.body.as_slice()), (200, SUB_INDEX));
    assert_eq!(get(&ts.site, "/sublink/").0.body, SUB_INDEX);
    let (r, v) = get(&ts.site, "/sub");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/sub/"));
    assert_eq!(v, Verdict::Continue);
    assert!(!r.closes());
    assert_eq!(
        get(&ts.site, "/sub?x=1&y=2#frag").0.header("Location"),
        Some("/sub/?x=1&y=2")
    );
    // Empty segments collapse, so "//sub" cannot redirect off-site.
    assert_eq!(get(&ts.site, "//sub").0.header("Location"), Some("/sub/"));
    assert_eq!(get(&ts.site, "/emptydir/").0.status, 404);
    assert_eq!(get(&ts.site, "/missing.html").0.status, 404);
    assert_eq!(get(&ts.site, "/index.html/").0.status, 404);
    // Query strings and fragments do not take part in the lookup.
    assert_eq!(get(&ts.site, "/sub/?q=1").0.body, SUB_INDEX);
    assert_eq!(get(&ts.site, "/%69ndex.html").0.body, INDEX);
    // Percent-encoded UTF-8 names.
    fs::write(ts.path("café.txt"), b"coffee").unwrap();
    assert_eq!(get(&ts.site, "/caf%C3%A9.txt").0.body, b"coffee");
    fs::create_dir(ts.path("a dir")).unwrap();
    assert_eq!(
        get(&ts.site, "/a%20dir").0.header("Location"),
        Some("/a%20dir/")
    );
}

#[test]
fn absolute_form_target() {
    let ts = TestSite::new();
    assert_eq!(get(&ts.site, "http://example.com/sub/").0.body, SUB_INDEX);
    assert_eq!(get(&ts.site, "http://example.com").0.body, INDEX);
    assert_eq!(
        get(&ts.site, "http://example.com/../outside.txt").0.status,
        400
    );
}

#[test]
fn head_has_get_headers_without_body() {
    let ts = TestSite::new();
    for target in [
        "/",
        "/files/logo.png",
        "/empty.txt",
        "/sub",
        "/missing",
        "/.secret",
    ] {
        let (g, _) = get(&ts.site, target);
        let mut c = Client::new(&ts.site);
        c.send(format!("HEAD {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let out = c.take();
        let (h, used) = parse_response(&out, true);
        assert_eq!(used, out.len(), "{target}: HEAD must not send a body");
        assert_eq!(used, h.head_len);
        assert_eq!(h.status, g.status, "{target}");
        assert_eq!(h.content_length(), g.content_length(), "{target}");
        assert_eq!(h.header("Content-Type"), g.header("Content-Type"));
        assert_eq!(h.header("ETag"), g.header("ETag"));
        let log = c.conn.take_log();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].bytes, 0);
        assert_eq!(log[0].method, "HEAD");
    }
}

#[test]
fn methods_not_allowed_and_unknown() {
    let ts = TestSite::new();
    for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
        let (r, v) = exchange(
            &ts.site,
            &format!("{m} /index.html HTTP/1.1\r\nHost: t\r\n\r\n"),
        );
        assert_eq!(r.status, 405, "{m}");
        assert_eq!(r.header("Allow"), Some("GET, HEAD"));
        assert_eq!(v, Verdict::Continue, "{m}: 405 keeps the connection");
    }
    let (r, _) = exchange(
        &ts.site,
        "CONNECT example.com:443 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(r.status, 405);
    let (r, _) = exchange(&ts.site, "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 405);
    for m in ["FOO", "get", "BREW"] {
        let (r, v) = exchange(&ts.site, &format!("{m} / HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(r.status, 501, "{m}");
        assert!(r.closes());
        assert_eq!(v, Verdict::Close);
    }
    // A non-path target with GET is a bad request.
    assert_eq!(get(&ts.site, "*").0.status, 400);
    assert_eq!(get(&ts.site, "index.html").0.status, 400);
}

#[test]
fn request_body_is_skipped_for_the_next_request() {
    let ts = TestSite::new();
    let mut c = Client::new(&ts.site);
    let v = c.send(
        b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello worldGET /sub/ HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(v, Verdict::Continue);
    let rs = parse_all(&c.take(), &[false, false]);
    assert_eq!(rs[0].status, 405);
    assert_eq!((rs[1].status, rs[1].body.as_slice()), (200, SUB_INDEX));

    // The same with the body trickling in separately, one byte at a time.
    let mut c = Client::new(&ts.site);
    c.send(b"PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 300\r\n\r\n");
    assert_eq!(parse_all(&c.take(), &[false])[0].status, 405);
    for _ in 0..300 {
        c.send(b"G");
    }
    assert!(c.take().is_empty());
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(parse_all(&c.take(), &[false])[0].body, INDEX);

    // A body that stops arriving: the connection closes silently (its
    // response was already sent) after request_timeout without input.
    let config = HttpConfig::default();
    let mut c = Client::new(&ts.site);
    c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc");
    assert_eq!(parse_all(&c.take(), &[false])[0].status, 405);
    c.now = plus(t0(), Duration::from_secs(3));
    c.send(b"def");
    let deadline = plus(c.now, config.request_timeout);
    assert_eq!(c.conn.next_deadline(&config), Some(deadline));
    c.now = minus(deadline, Duration::from_millis(1));
    assert_eq!(c.send(b""), Verdict::Continue);
    c.now = deadline;
    assert_eq!(c.send(b""), Verdict::Close);
    assert!(c.take().is_empty());
}

#[test]
fn oversized_body_answers_and_closes() {
    let ts = TestSite::new();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\nxxxx",
        MAX_SKIPPED_BODY + 1
    );
    let (r, v) = exchange(&ts.site, &req);
    assert_eq!(r.status, 405);
    assert!(r.closes());
    assert_eq!(v, Verdict::Close);
    // A client waiting for 100-continue would stall us: answer and close.
    let req = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    let (r, v) = exchange(&ts.site, req);
    assert_eq!((r.status, v), (405, Verdict::Close));
}

#[test]
fn chunked_bodies_are_skipped_for_the_next_request() {
    let ts = TestSite::new();
    let next = "GET /sub/ HTTP/1.1\r\nHost: t\r\n\r\n";
    for (method, status) in [("POST", 405), ("GET", 200), ("FOO", 501)] {
        let req = format!(
            "{method} / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
             5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n{next}"
        );
        let mut c = Client::new(&ts.site);
        let v = c.send(req.as_bytes());
        let out = c.take();
        if status == 501 {
            // An unknown method closes (the framing of what follows is in doubt).
            assert_eq!(v, Verdict::Close);
            assert_eq!(parse_all(&out, &[false])[0].status, 501);
            continue;
        }
        assert_eq!(v, Verdict::Continue, "{method}");
        let rs = parse_all(&out, &[false, false]);
        assert_eq!(rs[0].status, status, "{method}");
        assert!(!rs[0].closes());
        assert_eq!((rs[1].status, rs[1].body.as_slice()), (200, SUB_INDEX));
    }

    // The same body trickling in one byte at a time, after its answer went out.
    let mut c = Client::new(&ts.site);
    c.send(b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(parse_all(&c.take(), &[false])[0].status, 405);
    for b in b"3\r\nGET\r\n0\r\n\r\n" {
        c.send(std::slice::from_ref(b));
    }
    assert!(c.take().is_empty(), "chunk data is not a request");
    c.send(next.as_bytes());
    assert_eq!(parse_all(&c.take(), &[false])[0].body, SUB_INDEX);
}

#[test]
fn chunked_bodies_that_cannot_be_followed_close() {
    let ts = TestSite::new();
    let head = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    let next = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    let huge = format!("{:x}\r\n", MAX_SKIPPED_BODY + 1);
    for body in [
        "zz\r\n",
        "3\r\nabcd\r\n",
        "3\nabc\r\n",
        "0\r\nbad trailer\r\n\r\n",
        &huge,
    ] {
        let mut c = Client::new(&ts.site);
        let v = c.send(format!("{head}{body}{next}").as_bytes());
        // The answer (already on its way) is written, then the connection closes;
        // nothing after the bad body is taken as a request.
        assert_eq!(v, Verdict::Close, "{body:?}");
        let rs = parse_all(&c.take(), &[false]);
        assert_eq!(rs[0].status, 405, "{body:?}");
        assert_eq!(c.conn.take_log().len(), 1);
    }
    // A big body is read up to the limit, then the connection closes.
    let mut c = Client::new(&ts.site);
    c.send(head.as_bytes());
    let chunk = format!("10000\r\n{}\r\n", "z".repeat(0x10000));
    let mut verdict = Verdict::Continue;
    for _ in 0..(MAX_SKIPPED_BODY / 0x10000 + 2) {
        verdict = c.send(chunk.as_bytes());
    }
    assert_eq!(verdict, Verdict::Close);
    assert_eq!(parse_all(&c.take(), &[false])[0].status, 405);
}

#[test]
fn transfer_encoding_rules() {
    let ts = TestSite::new();
    let body = "3\r\nabc\r\n0\r\n\r\n";
    let cases = [
        // TE overrides Content-Length (RFC 9112 §6.3), and the connection closes.
        (
            "POST",
            "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
            405,
        ),
        (
            "GET",
            "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
            200,
        ),
        // Codings we do not understand: 501 (§6.1).
        ("GET", "Transfer-Encoding: xchunked\r\n", 501),
        ("GET", "Transfer-Encoding: gzip\r\n", 501),
        ("POST", "Transfer-Encoding: gzip, chunked\r\n", 501),
        // A list that does not end in one chunked: the length is unknown (§6.3).
        ("POST", "Transfer-Encoding: chunked, gzip\r\n", 400),
        (
            "POST",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            400,
        ),
        // A client waiting for 100-continue may never send the body.
        (
            "POST",
            "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n",
            405,
        ),
    ];
    for (m, extra, status) in cases {
        let req = format!("{m} / HTTP/1.1\r\nHost: t\r\n{extra}\r\n{body}GET / HTTP/1.1\r\n\r\n");
        let mut c = Client::new(&ts.site);
        let v = c.send(req.as_bytes());
        let rs = parse_all(&c.take(), &[false]);
        assert_eq!(rs[0].status, status, "{m} {extra:?}");
        assert!(rs[0].closes(), "{m} {extra:?}");
        assert_eq!(v, Verdict::Close);
    }
    // HTTP/1.0 with Transfer-Encoding: faulty framing, answered and closed.
    let (r, v) = exchange(
        &ts.site,
        &format!("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n{body}"),
    );
    assert_eq!((r.status, v), (200, Verdict::Close));
}

#[test]
fn keep_alive_and_close_rules() {
    let ts = TestSite::new();
    let (r, v) = exchange(&ts.site, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        (r.header("Connection"), v),
        (Some("keep-alive"), Verdict::Continue)
    );
    let (r, v) = exchange(
        &ts.site,
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((r.header("Connection"), v), (Some("close"), Verdict::Close));
    let (r, v) = exchange(
        &ts.site,
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: foo, CLOSE\r\n\r\n",
    );
    assert_eq!((r.header("Connection"), v), (Some("close"), Verdict::Close));
    let (r, v) = exchange(&ts.site, "GET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        (r.status, r.header("Connection"), v),
        (200, Some("close"), Verdict::Close)
    );
    let (r, v) = exchange(&ts.site, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!((r.header("Connection"), v), (Some("close"), Verdict::Close));
    // 404 keeps the connection open.
    let (r, v) = get(&ts.site, "/nope");
    assert_eq!((r.status, v), (404, Verdict::Continue));
    // Nothing after a closing response is answered.
    let mut c = Client::new(&ts.site);
    let v = c.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(v, Verdict::Close);
    assert_eq!(parse_all(&c.take(), &[false]).len(), 1);
    assert_eq!(c.conn.input_room(), 0);
}

#[test]
fn close_after_response_config() {
    let ts = TestSite::new();
    let config = HttpConfig {
        close_after_response: true,
        ..HttpConfig::default()
    };
    let mut c = Client::with_config(&ts.site, config);
    let v = c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = parse_all(&c.take(), &[false]).remove(0);
    assert_eq!(
        (r.status, r.header("Connection"), v),
        (200, Some("close"), Verdict::Close)
    );
}

#[test]
fn unsupported_version() {
    let ts = TestSite::new();
    for v in ["HTTP/2.0", "HTTP/3", "HTTP/0.9", "HTTP/1.10"] {
        let (r, verdict) = exchange(&ts.site, &format!("GET / {v}\r\nHost: t\r\n\r\n"));
        assert_eq!(r.status, 505, "{v}");
        assert!(r.closes());
        assert_eq!(verdict, Verdict::Close);
        assert!(
            r.body
                .starts_with(b"<!doctype html><title>505 HTTP Version Not Supported</title>")
        );
    }
    // The HTTP/2 connection preface.
    let (r, _) = exchange(&ts.site, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert_eq!(r.status, 505);
}

#[test]
fn later_http_1_versions_are_served_as_1_1() {
    let ts = TestSite::new();
    for v in ["HTTP/1.2", "HTTP/1.9"] {
        let (r, verdict) = exchange(&ts.site, &format!("GET / {v}\r\nHost: t\r\n\r\n"));
        assert_eq!((r.status, r.body.as_slice()), (200, INDEX), "{v}");
        // As 1.1: the connection stays open.
        assert_eq!(
            (r.header("Connection"), verdict),
            (Some("keep-alive"), Verdict::Continue)
        );
    }
    // ... and need a Host, as 1.1 does.
    let (r, _) = exchange(&ts.site, "GET / HTTP/1.2\r\n\r\n");
    assert_eq!(r.status, 400);
}

#[test]
fn http_0_9_request_line_is_answered_at_once() {
    let ts = TestSite::new();
    let mut c = Client::new(&ts.site);
    // No version, no header block to wait for: 400 and close now, not at the
    // request timeout.
    assert_eq!(c.send(b"GET /\r\n"), Verdict::Close);
    let r = parse_all(&c.take(), &[false]).remove(0);
    assert_eq!(r.status, 400);
    assert!(r.closes());
    assert_eq!(c.conn.take_log()[0].target, "/");
}

#[test]
fn invalid_host_fields() {
    let ts = TestSite::new();
    for host in [
        "Host: a b",
        "Host: a/b",
        "Host: user@h",
        "Host: [::1",
        "Host: h:x",
        "Host: a\r\nHost: a",
    ] {
        let (r, v) = exchange(&ts.site, &format!("GET / HTTP/1.1\r\n{host}\r\n\r\n"));
        assert_eq!((r.status, v), (400, Verdict::Close), "{host:?}");
        assert!(r.closes());
    }
    for host in [
        "Host: 192.168.69.1",
        "Host: [fdaa::1]:80",
        "Host: localhost:8080",
        "Host:",
    ] {
        let (r, _) = exchange(&ts.site, &format!("GET / HTTP/1.1\r\n{host}\r\n\r\n"));
        assert_eq!(r.status, 200, "{host:?}");
    }
    // HTTP/1.0 needs no Host, but one that is there must be valid.
    assert_eq!(exchange(&ts.site, "GET / HTTP/1.0\r\n\r\n").0.status, 200);
    assert_eq!(
        exchange(&ts.site, "GET / HTTP/1.0\r\nHost: a b\r\n\r\n")
            .0
            .status,
        400
    );
}

#[test]
fn bad_requests_close() {
    let ts = TestSite::new();
    let cases: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",
        b"GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo-Colon\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /%ff HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ];
    for req in cases {
        let mut c = Client::new(&ts.site);
        let v = c.send(req);
        let out = c.take();
        let (r, used) = parse_response(&out, false);
        assert_eq!(used, out.len());
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(req));
        assert!(r.closes());
        assert_eq!(v, Verdict::Close, "{:?}", String::from_utf8_lossy(req));
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(
            r.body,
            b"<!doctype html><title>400 Bad Request</title><h1>400 Bad Request</h1>\n"
        );
    }
    // A bare LF is answered at once, without waiting for a blank line.
    let mut c = Client::new(&ts.site);
    assert_eq!(c.send(b"GET / HTTP/1.1\n"), Verdict::Close);
    assert_eq!(parse_all(&c.take(), &[false])[0].status, 400);
    // HEAD gets the error without a body.
    let mut c = Client::new(&ts.site);
    c.send(b"HEAD / HTTP/1.1\r\n\r\n");
    let out = c.take();
    let (r, used) = parse_response(&out, true);
    assert_eq!((r.status, used), (400, out.len()));
    assert!(r.content_length().unwrap() > 0);
}

#[test]
fn request_line_too_long() {
    let ts = TestSite::new();
    let mut c = Client::new(&ts.site);
    let mut line = b"GET /".to_vec();
    line.resize(8 * 1024 - 1, b'a');
    assert_eq!(c.send(&line), Verdict::Continue);
    assert!(c.take().is_empty());
    // The 8192nd byte without a line end settles it.
    assert_eq!(c.send(b"a"), Verdict::Close);
    let r = parse_all(&c.take(), &[false]).remove(0);
    assert_eq!(r.status, 414);
    assert!(r.closes());
    let log = c.conn.take_log();
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].target.chars().count(), 200);
    assert_eq!(log[0].status, 414);
}

#[test]
fn header_block_too_large() {
    let ts = TestSite::new();
    let mut req = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: ".to_vec();
    req.resize(20 * 1024, b'b');
    let (r, v) = {
        let mut c = Client::new(&ts.site);
        let v = c.send(&req);
        (parse_all(&c.take(), &[false]).remove(0), v)
    };
    assert_eq!((r.status, v), (431, Verdict::Close));
    assert!(r.closes());

    let mut req = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..100 {
        req.push_str(&format!("X-{i}: v\r\n"));
    }
    req.push_str("\r\n");
    let (r, v) = exchange(&ts.site, &req);
    assert_eq!((r.status, v), (431, Verdict::Close));
    // Exactly 100 fields is fine.
    let mut req = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..99 {
        req.push_str(&format!("X-{i}: v\r\n"));
    }
    req.push_str("\r\n");
    assert_eq!(exchange(&ts.site, &req).0.status, 200);
}

#[test]
fn request_timeout_408() {
    let ts = TestSite::new();
    let config = HttpConfig::default();
    let mut c = Client::new(&ts.site);
    assert_eq!(c.send(b"GET / HT"), Verdict::Continue);
    assert_eq!(
        c.conn.next_deadline(&config),
        Some(plus(t0(), config.request_timeout))
    );
    // More bytes do not restart the timer: it runs from the first byte.
    c.now = plus(t0(), Duration::from_secs(4));
    c.send(b"TP/1.1\r\nHost");
    assert_eq!(
        c.conn.next_deadline(&config),
        Some(plus(t0(), config.request_timeout))
    );
    c.now = minus(plus(t0(), config.request_timeout), Duration::from_millis(1));
    assert_eq!(c.send(b""), Verdict::Continue);
    assert!(c.take().is_empty());
    c.now = plus(t0(), config.request_timeout);
    assert_eq!(c.send(b""), Verdict::Close);
    let r = parse_all(&c.take(), &[false]).remove(0);
    assert_eq!(r.status, 408);
    assert!(r.closes());
    assert_eq!(c.conn.take_log()[0].status, 408);

    // The timer runs for a partial request left after a complete one.
    let mut c = Client::new(&ts.site);
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /sub/");
    assert_eq!(parse_all(&c.take(), &[false]).len(), 1);
    assert_eq!(
        c.conn.next_deadline(&config),
        Some(plus(t0(), config.request_timeout))
    );
    c.now = plus(t0(), Duration::from_secs(60));
    assert_eq!(c.send(b""), Verdict::Close);
    assert_eq!(parse_all(&c.take(), &[false])[0].status, 408);
}

#[test]
fn keep_alive_idle_timeout() {
    let ts = TestSite::new();
    let config = HttpConfig::default();
    let ka = config.keep_alive_timeout.unwrap();
    let mut c = Client::new(&ts.site);
    // Before its first request a connection waits the (longer) request timeout.
    assert!(config.request_timeout > ka);
    assert_eq!(
        c.conn.next_deadline(&config),
        Some(plus(t0(), config.request_timeout))
    );
    c.now = plus(t0(), Duration::from_secs(2));
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(parse_all(&c.take(), &[false]).len(), 1);
    // The idle timer restarts when the response has been written.
    let idle_from = c.now;
    assert_eq!(c.conn.next_deadline(&config), Some(plus(idle_from, ka)));
    c.now = minus(plus(idle_from, ka), Duration::from_millis(1));
    assert_eq!(c.send(b""), Verdict::Continue);
    c.now = plus(idle_from, ka);
    assert_eq!(c.send(b""), Verdict::Close);
    assert!(c.take().is_empty(), "idle close sends nothing");

    // A connection that never asks anything is closed after the request timeout.
    let mut c = Client::new(&ts.site);
    c.now = plus(t0(), ka);
    assert_eq!(c.send(b""), Verdict::Continue);
    c.now = plus(t0(), config.request_timeout);
    assert_eq!(c.send(b""), Verdict::Close);
    assert!(c.take().is_empty(), "an idle close sends nothing");

    // None: never closed for idleness.
    let config = HttpConfig {
        keep_alive_timeout: None,
        ..HttpConfig::default()
    };
    let mut c = Client::with_config(&ts.site, config.clone());
    assert_eq!(c.conn.next_deadline(&config), None);
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.conn.next_deadline(&config), None);
    c.now = plus(t0(), Duration::from_secs(10_000_000));
    assert_eq!(c.send(b""), Verdict::Continue);
}

#[test]
fn pipelined_requests_in_order() {
    let ts = TestSite::new();
    let mut c = Client::new(&ts.site);
    c.now = t0();
    let v = c.send(
        b"GET / HTTP/1.1\r\nHost: t\r\n\r\nHEAD /sub/ HTTP/1.1\r\nHost: t\r\n\r\nGET /files/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(v, Verdict::Continue);
    let rs = parse_all(&c.take(), &[false, true, false]);
    assert_eq!(rs[0].body, INDEX);
    assert_eq!(rs[1].content_length(), Some(SUB_INDEX.len() as u64));
    assert_eq!(rs[2].body, b"content of notes.txt\n");
    let log = c.conn.take_log();
    let targets: Vec<&str> = log.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/", "/sub/", "/files/notes.txt"]);
    assert_eq!(log[0].bytes, INDEX.len() as u64);
    assert_eq!(log[1].bytes, 0);
    assert!(c.conn.take_log().is_empty());
}

#[test]
fn poll_after_write_makes_progress() {
    // Drive the calls by hand, exactly as the TCP side would.
    let ts = TestSite::new();
    let config = HttpConfig::default();
    let mut conn = HttpConnection::new(t0());
    let reqs = b"GET /digits.txt HTTP/1.1\r\nHost: t\r\n\r\n".repeat(3);
    conn.receive(&reqs, t0());
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Continue);
    assert!(conn.has_output());
    // Two responses queued, the third request waits in the buffer.
    assert_eq!(conn.input_room(), 0);
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let n = conn.write_output(&mut buf, t0());
    out.extend_from_slice(&buf[..n]);
    assert!(!conn.has_output());
    // The caller must not sleep now: poll has the third request to answer.
    assert!(conn.next_deadline(&config).is_some_and(|d| d <= t0()));
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Continue);
    assert!(conn.has_output());
    let n = conn.write_output(&mut buf, t0());
    out.extend_from_slice(&buf[..n]);
    let rs = parse_all(&out, &[false, false, false]);
    assert!(rs.iter().all(|r| r.body == DIGITS));
    // A closing response: Close only after it is drained, and reported at once.
    conn.receive(
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        t0(),
    );
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Continue);
    while conn.has_output() {
        conn.write_output(&mut buf[..100], t0());
    }
    assert!(conn.next_deadline(&config).is_some_and(|d| d <= t0()));
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Close);
    // Cheap repeated polls keep their answer.
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Close);
}

#[test]
fn request_fed_one_byte_at_a_time() {
    let ts = TestSite::new();
    let mut c = Client::new(&ts.site);
    let req = b"GET /files/data.json HTTP/1.1\r\nHost: t\r\nUser-Agent: slow\r\n\r\n";
    for (i, b) in req.iter().enumerate() {
        c.send(std::slice::from_ref(b));
        if i + 1 < req.len() {
            assert!(c.out.is_empty());
        }
    }
    let r = parse_all(&c.take(), &[false]).remove(0);
    assert_eq!(r.body, b"content of data.json\n");
}

#[test]
fn leading_empty_lines_ignored() {
    let ts = TestSite::new();
    let (r, _) = exchange(&ts.site, "\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
}

#[test]
fn input_room_backpressure() {
    let ts = TestSite::new();
    let config = HttpConfig::default();
    let mut conn = HttpConnection::new(t0());
    assert_eq!(conn.input_room(), INPUT_CAP);
    conn.receive(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", t0());
    assert_eq!(conn.input_room(), INPUT_CAP - 27);
    // The buffer cap is reached without any parsing.
    let filler = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n".repeat(INPUT_CAP);
    let room = conn.input_room();
    conn.receive(&filler[..room], t0());
    assert_eq!(conn.input_room(), 0);
    // Parsing queues two responses; with them pending the window stays shut.
    conn.poll(&ts.site, &config, t0());
    assert!(conn.has_output());
    assert_eq!(conn.input_room(), 0);
    // Writing one response and polling lets one more in, and so on.
    let mut buf = [0u8; 256];
    let mut answered = 0;
    for _ in 0..20 {
        while conn.has_output() {
            conn.write_output(&mut buf, t0());
        }
        conn.poll(&ts.site, &config, t0());
        answered += conn.take_log().len();
    }
    assert!(answered >= 20);
    assert!(conn.input_room() > 0 || conn.has_output());
}

#[test]
fn streams_large_file_in_small_pieces() {
    let ts = TestSite::new();
    let data: Vec<u8> = (0..4u32 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(ts.path("big.bin"), &data).unwrap();
    let mut c = Client::new(&ts.site);
    c.chunk = 1000;
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    let out = c.take();
    let r = parse_all(&out, &[false]).remove(0);
    assert_eq!(r.content_length(), Some(data.len() as u64));
    assert!(r.body == data, "streamed bytes differ");
    assert_eq!(c.conn.take_log()[0].bytes, data.len() as u64);

    // A range from the middle, through the same small buffer.
    let r = {
        let mut c = Client::new(&ts.site);
        c.chunk = 1000;
        c.send(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=1000000-2999999\r\n\r\n");
        parse_all(&c.take(), &[false]).remove(0)
    };
    assert_eq!(r.status, 206);
    assert!(r.body == data[1_000_000..3_000_000]);
}

#[test]
fn file_shrinking_mid_body_closes() {
    // Only files streamed from disk can shrink under us: a large one.
    let ts = TestSite::new();
    let path = ts.path("shrink.bin");
    let size = SMALL_FILE as usize + 10_000;
    fs::write(&path, vec![7u8; size]).unwrap();
    let config = HttpConfig::default();
    let mut conn = HttpConnection::new(t0());
    conn.receive(
        b"GET /shrink.bin HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
        t0(),
    );
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Continue);
    let mut buf = [0u8; 1000];
    let mut out = Vec::new();
    let n = conn.write_output(&mut buf, t0());
    out.extend_from_slice(&buf[..n]);
    fs::write(&path, b"short").unwrap();
    while conn.has_output() {
        let n = conn.write_output(&mut buf, t0());
        out.extend_from_slice(&buf[..n]);
    }
    assert!(out.len() < size);
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Close);
    assert!(!conn.has_output());
    let log = conn.take_log();
    assert_eq!(log.len(), 1);
    assert!(log[0].bytes < size as u64);
}

/// One GET on a fresh connection at `now`.
fn get_at(site: &Site, target: &str, now: Instant) -> Resp {
    let mut c = Client::new(site);
    c.now = now;
    c.send(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    parse_all(&c.take(), &[false]).remove(0)
}

#[test]
fn small_files_come_from_memory_and_changes_show_within_a_second() {
    let ts = TestSite::new();
    let page = ts.path("page.html");
    fs::write(&page, b"first version").unwrap();
    let first = get_at(&ts.site, "/page.html", t0());
    assert_eq!(first.body, b"first version");
    // Changed on disk: the cached copy is served until a second has passed
    // (proof that it is not read from disk per request) ...
    fs::write(&page, b"second, longer version").unwrap();
    let soon = plus(t0(), Duration::from_millis(999));
    let r = get_at(&ts.site, "/page.html", soon);
    assert_eq!(r.body, b"first version");
    assert_eq!(r.header("ETag"), first.header("ETag"));
    // ... also under another spelling of the same path.
    assert_eq!(
        get_at(&ts.site, "/x/../page.html?q", soon).body,
        b"first version"
    );
    // From then on the new version is served.
    let later = plus(t0(), Duration::from_secs(1));
    let r = get_at(&ts.site, "/page.html", later);
    assert_eq!(r.body, b"second, longer version");
    assert_ne!(r.header("ETag"), first.header("ETag"));
    // A file that is gone is gone after a second too.
    fs::remove_file(&page).unwrap();
    assert_eq!(get_at(&ts.site, "/page.html", later).status, 200);
    assert_eq!(
        get_at(&ts.site, "/page.html", plus(later, Duration::from_secs(1))).status,
        404
    );
    // A file that appears is found at once (misses are never cached).
    assert_eq!(get_at(&ts.site, "/new.txt", later).status, 404);
    fs::write(ts.path("new.txt"), b"new").unwrap();
    assert_eq!(get_at(&ts.site, "/new.txt", later).body, b"new");
    // Ranges of a cached file come from the same bytes.
    let r = get_with(&ts.site, "/digits.txt", "Range: bytes=3-5\r\n");
    assert_eq!((r.status, r.body.as_slice()), (206, &b"345"[..]));
}

#[test]
fn large_files_stream_and_a_replaced_one_is_noticed_at_once() {
    let ts = TestSite::new();
    let big = ts.path("big.bin");
    let size = SMALL_FILE as usize + 1;
    fs::write(&big, vec![1u8; size]).unwrap();
    assert_eq!(get_at(&ts.site, "/big.bin", t0()).body, vec![1u8; size]);
    // Replaced by another file (a new inode): seen on the next request,
    // because a large file is opened per request and checked against what
    // was found.
    let tmp = ts.path("big.tmp");
    fs::write(&tmp, vec![2u8; size]).unwrap();
    fs::rename(&tmp, &big).unwrap();
    assert_eq!(get_at(&ts.site, "/big.bin", t0()).body, vec![2u8; size]);
}

#[test]
fn fixed_mtime_is_what_the_site_reports() {
    let ts = TestSite::new();
    let fixed = Instant::from_secs(1_767_139_200);
    let site = Site::open(ts.site.root()).unwrap().with_fixed_mtime(fixed);
    let r = get_at(&site, "/digits.txt", t0());
    assert_eq!(
        r.header("Last-Modified"),
        Some("Wed, 31 Dec 2025 00:00:00 GMT")
    );
    assert_eq!(r.header("ETag"), Some("\"a-69546780-0\""));
    // Edits change the bytes but not the reported time.
    fs::write(ts.path("digits.txt"), b"9876543210").unwrap();
    let r = get_at(&site, "/digits.txt", plus(t0(), Duration::from_secs(2)));
    assert_eq!(r.body, b"9876543210");
    assert_eq!(
        r.header("Last-Modified"),
        Some("Wed, 31 Dec 2025 00:00:00 GMT")
    );
}

#[test]
fn traversal_and_hidden_files() {
    let ts = TestSite::new();
    let cases = [
        ("/../etc/passwd", 400),
        ("/../outside.txt", 400),
        ("/%2e%2e/", 400),
        ("/%2e%2e/outside.txt", 400),
        ("/.%2e/", 400),
        ("/%2E./", 400),
        ("/sub/../../outside.txt", 400),
        ("/sub/../..", 400),
        ("/./../outside.txt", 400),
        ("/a/%2f/b", 400),
        ("/%2F", 400),
        ("/a\\b", 400),
        ("/%5c", 400),
        ("/..%5coutside.txt", 400),
        ("/%00", 400),
        ("/index.html%00.txt", 400),
        ("/escape.txt", 404),
        ("/escdir/outside.txt", 404),
        ("/escdir/", 404),
        ("/escdir", 404),
        ("/.secret", 404),
        ("/%2esecret", 404),
        ("/tosecret.txt", 404),
        ("/sub/../.secret", 404),
        ("/./.secret", 404),
    ];
    for (target, status) in cases {
        for method in ["GET", "HEAD"] {
            let mut c = Client::new(&ts.site);
            c.send(format!("{method} {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
            let out = c.take();
            let r = parse_all(&out, &[method == "HEAD"]).remove(0);
            assert_eq!(r.status, status, "{method} {target}");
            let hay = String::from_utf8_lossy(&out);
            assert!(!hay.contains("SECRET"), "{target} leaked a file");
        }
    }
}

#[test]
fn dot_segments_are_removed() {
    let ts = TestSite::new();
    for target in [
        "/./index.html",
        "/x/../index.html",
        "/sub/../index.html",
        "/%2e/index.html",
        "/x/%2e%2e/index.html",
        "//index.html",
        "/.",
        "/sub/..",
        "/sub/x/../../",
    ] {
        let (r, _) = get(&ts.site, target);
        assert_eq!((r.status, r.body.as_slice()), (200, INDEX), "{target}");
    }
    assert_eq!(get(&ts.site, "/sub/./index.html").0.body, SUB_INDEX);
    assert_eq!(get(&ts.site, "/sub/.").0.body, SUB_INDEX);
    // ".." removes an empty segment, as in RFC 3986's algorithm.
    assert_eq!(get(&ts.site, "/sub//../").0.body, SUB_INDEX);
    // A directory reached through dot segments redirects to its clean name.
    let (r, _) = get(&ts.site, "/x/../sub");
    assert_eq!((r.status, r.header("Location")), (301, Some("/sub/")));
}

#[test]
fn range_requests() {
    let ts = TestSite::new();
    let range = |spec: &str| get_with(&ts.site, "/digits.txt", &format!("Range: {spec}\r\n"));
    let partial = [
        ("bytes=2-5", "2345", "2-5"),
        ("bytes=0-0", "0", "0-0"),
        ("bytes=7-", "789", "7-9"),
        ("bytes=-3", "789", "7-9"),
        ("bytes=-100", "0123456789", "0-9"),
        ("bytes=8-1000", "89", "8-9"),
    ];
    for (spec, body, span) in partial {
        let r = range(spec);
        assert_eq!(r.status, 206, "{spec}");
        assert_eq!(r.body, body.as_bytes(), "{spec}");
        assert_eq!(r.content_length(), Some(body.len() as u64));
        assert_eq!(
            r.header("Content-Range"),
            Some(format!("bytes {span}/10").as_str())
        );
        assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
        assert!(!r.closes());
    }
    for spec in [
        "bytes=-0",
        "bytes=10-",
        "bytes=10-20",
        "bytes=99999999999999999999-",
    ] {
        let r = range(spec);
        assert_eq!(r.status, 416, "{spec}");
        assert_eq!(r.header("Content-Range"), Some("bytes */10"));
        assert!(!r.closes());
    }
    let r = get_with(&ts.site, "/empty.txt", "Range: bytes=0-\r\n");
    assert_eq!(
        (r.status, r.header("Content-Range")),
        (416, Some("bytes */0"))
    );
    let r = get_with(&ts.site, "/empty.txt", "Range: bytes=-5\r\n");
    assert_eq!(r.status, 416);
    // Several ranges and invalid syntax: the full body.
    for spec in [
        "bytes=0-1,4-5",
        "bytes=0-1, -2",
        "bytes=5-2",
        "bytes=x-y",
        "lines=1-2",
        "bytes 1-2",
    ] {
        let r = range(spec);
        assert_eq!((r.status, r.body.as_slice()), (200, DIGITS), "{spec}");
        assert_eq!(r.header("Content-Range"), None);
    }
    // HEAD ignores Range (documented choice).
    let (r, _) = exchange(
        &ts.site,
        "HEAD /digits.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-1\r\n\r\n",
    );
    assert_eq!((r.status, r.content_length()), (200, Some(10)));
}

#[test]
fn if_range() {
    let ts = TestSite::new();
    let etag = file_etag(&ts.path("digits.txt"));
    let lm = format_http_date(UNIX_EPOCH + Duration::from_secs(DIGITS_MTIME));
    let with = |if_range: &str| {
        get_with(
            &ts.site,
            "/digits.txt",
            &format!("Range: bytes=0-3\r\nIf-Range: {if_range}\r\n"),
        )
    };
    assert_eq!(with(&etag).status, 206);
    assert_eq!(with(&etag).body, b"0123");
    assert_eq!(with(&lm).status, 206);
    let r = with("\"other\"");
    assert_eq!((r.status, r.body.as_slice()), (200, DIGITS));
    assert_eq!(with(&format!("W/{etag}")).status, 200);
    let later = format_http_date(UNIX_EPOCH + Duration::from_secs(DIGITS_MTIME + 1));
    assert_eq!(with(&later).status, 200);
    assert_eq!(with("garbage").status, 200);
}

#[test]
fn conditional_requests() {
    let ts = TestSite::new();
    let etag = file_etag(&ts.path("digits.txt"));
    let at = |secs: u64| format_http_date(UNIX_EPOCH + Duration::from_secs(secs));
    let cond = |extra: String| get_with(&ts.site, "/digits.txt", &extra);

    let r = cond(format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.content_length(), None);
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
    assert_eq!(r.header("Last-Modified"), Some(at(DIGITS_MTIME).as_str()));
    assert!(r.header("Date").is_some() && r.header("Server").is_some());
    assert!(!r.closes());

    assert_eq!(cond("If-None-Match: \"nope\"\r\n".into()).status, 200);
    assert_eq!(cond("If-None-Match: *\r\n".into()).status, 304);
    assert_eq!(cond(format!("If-None-Match: W/{etag}\r\n")).status, 304);
    assert_eq!(
        cond(format!("If-None-Match: \"a\", {etag}\r\n")).status,
        304
    );
    assert_eq!(
        cond(format!("If-None-Match: \"a\"\r\nIf-None-Match: {etag}\r\n")).status,
        304
    );

    assert_eq!(
        cond(format!("If-Modified-Since: {}\r\n", at(DIGITS_MTIME - 1))).status,
        200
    );
    assert_eq!(
        cond(format!("If-Modified-Since: {}\r\n", at(DIGITS_MTIME))).status,
        304
    );
    assert_eq!(
        cond(format!("If-Modified-Since: {}\r\n", at(DIGITS_MTIME + 99))).status,
        304
    );
    assert_eq!(
        cond("If-Modified-Since: last tuesday\r\n".into()).status,
        200
    );

    // If-None-Match takes precedence over If-Modified-Since, both ways.
    let newer = at(DIGITS_MTIME + 99);
    assert_eq!(
        cond(format!(
            "If-None-Match: \"x\"\r\nIf-Modified-Since: {newer}\r\n"
        ))
        .status,
        200
    );
    let older = at(DIGITS_MTIME - 99);
    assert_eq!(
        cond(format!(
            "If-None-Match: {etag}\r\nIf-Modified-Since: {older}\r\n"
        ))
        .status,
        304
    );

    // A 304 wins over Range; HEAD gets 304 too.
    assert_eq!(
        cond(format!("If-None-Match: {etag}\r\nRange: bytes=0-1\r\n")).status,
        304
    );
    let (r, _) = exchange(
        &ts.site,
        &format!("HEAD /digits.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n"),
    );
    assert_eq!(r.status, 304);
}

#[test]
fn every_response_says_what_caches_may_do() {
    let ts = TestSite::new();
    let etag = file_etag(&ts.path("digits.txt"));
    let responses = [
        get(&ts.site, "/digits.txt").0,
        get_with(&ts.site, "/digits.txt", "Range: bytes=1-2\r\n"),
        get_with(
            &ts.site,
            "/digits.txt",
            &format!("If-None-Match: {etag}\r\n"),
        ),
        get_with(&ts.site, "/digits.txt", "Range: bytes=99-\r\n"),
        get(&ts.site, "/sub").0,
        get(&ts.site, "/missing").0,
        get(&ts.site, "/../x").0,
        exchange(&ts.site, "POST / HTTP/1.1\r\nHost: t\r\n\r\n").0,
        exchange(&ts.site, "GET / HTTP/2.0\r\n\r\n").0,
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 206, 304, 416, 301, 404, 400, 405, 505]);
    for r in &responses {
        // Stored, but revalidated before every reuse: the 304 above is what
        // a reload gets.
        assert_eq!(r.header("Cache-Control"), Some("no-cache"), "{}", r.status);
    }
}

#[test]
fn error_page_format() {
    let ts = TestSite::new();
    let (r, _) = get(&ts.site, "/missing");
    assert_eq!(
        r.body,
        b"<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n"
    );
    assert_eq!(r.content_length(), Some(r.body.len() as u64));
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert!(r.header("Date").is_some() && r.header("Server").is_some());
    assert_eq!(r.header("ETag"), None);
}

#[test]
fn peer_close_handling() {
    let ts = TestSite::new();
    let config = HttpConfig::default();
    // Complete requests are still answered, then Close.
    let mut c = Client::new(&ts.site);
    c.conn.receive(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: t\r\n\r\nGET /digits.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /par", t0());
    c.conn.peer_closed();
    assert_eq!(c.conn.input_room(), 0);
    assert_eq!(c.send(b""), Verdict::Close);
    let rs = parse_all(&c.take(), &[false, false, false]);
    assert_eq!(rs[2].body, DIGITS);
    // A partial request alone: dropped, Close at once, nothing sent.
    let mut conn = HttpConnection::new(t0());
    conn.receive(b"GET / HTTP/1.1\r\nHo", t0());
    conn.peer_closed();
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Close);
    assert!(!conn.has_output());
    // Nothing at all.
    let mut conn = HttpConnection::new(t0());
    conn.peer_closed();
    assert_eq!(conn.poll(&ts.site, &config, t0()), Verdict::Close);
}

#[test]
fn access_log_records() {
    let ts = TestSite::new();
    let config = HttpConfig::default();
    let mut conn = HttpConnection::new(t0());
    let t1 = plus(t0(), Duration::from_millis(5));
    conn.receive(b"GET /digits.txt?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", t1);
    conn.poll(&ts.site, &config, plus(t1, Duration::from_millis(1)));
    let mut buf = [0u8; 4096];
    conn.write_output(&mut buf[..20], plus(t1, Duration::from_millis(2)));
    assert!(conn.take_log().is_empty(), "not fully written yet");
    conn.write_output(&mut buf, plus(t1, Duration::from_millis(30)));
    let log = conn.take_log();
    assert_eq!(log.len(), 1);
    let rec = &log[0];
    assert_eq!(
        (rec.method.as_str(), rec.target.as_str()),
        ("GET", "/digits.txt?x=1")
    );
    assert_eq!((rec.status, rec.bytes), (200, 10));
    assert_eq!(rec.duration, Duration::from_millis(30));

    let mut c = Client::new(&ts.site);
    c.send(b"\x01\x02\r\n\r\n");
    let log = c.conn.take_log();
    assert_eq!(
        (
            log[0].method.as_str(),
            log[0].target.as_str(),
            log[0].status
        ),
        ("-", "-", 400)
    );
    let out = c.take();
    assert_eq!(
        log[0].bytes,
        (out.len() - parse_response(&out, false).0.head_len) as u64
    );
}

#[test]
fn site_open() {
    let ts = TestSite::new();
    assert!(Site::open(&ts.path("index.html")).is_err());
    assert!(Site::open(&ts.base.join("no-such-dir")).is_err());
    // The root is canonical: opening through a symlink gives the real path.
    let via_link = Site::open(&ts.path("sublink")).unwrap();
    assert_eq!(via_link.root(), ts.path("sub"));
    assert!(ts.site.root().is_absolute());
}

/// Tiny xorshift PRNG, so the fuzz test needs no crate and is repeatable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Asserts `out` is a sequence of HTTP/1.1 response starts as far as we can
/// tell without knowing which requests were HEADs: it must begin with a
/// status line.
fn assert_response_start(out: &[u8], input: &[u8]) {
    let ok = out.len() >= 13
        && out.starts_with(b"HTTP/1.1 ")
        && out[9..12].iter().all(u8::is_ascii_digit)
        && out[12] == b' ';
    assert!(
        ok,
        "input {input:?} gave {:?}",
        String::from_utf8_lossy(&out[..out.len().min(80)])
    );
}

#[test]
fn garbage_never_panics() {
    let ts = TestSite::new();
    let config = HttpConfig::default();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let seeds: [&[u8]; 6] = [
        b"GET /index.html HTTP/1.1\r\nHost: t\r\nRange: bytes=1-3\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\nGET /./sub/../ HTTP/1.2\r\nHost: [::1]:80\r\n\r\n",
        b"GET /x/../digits.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 4\r\n\r\n",
        b"HEAD /sub HTTP/1.0\r\nIf-None-Match: \"x\", W/\"y\"\r\n\r\n",
        b"POST /%2e%2e/a?b#c HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
        b"GET http://h/digits.txt HTTP/1.1\r\nHost: t\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\nRange: bytes=-4\r\n\r\n",
    ];
    let alphabet = b"GETHEAD /%.2e5cfF\\\r\n\r\n:;,=-\"*W0123456789HTTP/1.1\0\xff";
    for iter in 0..3000 {
        let mut input: Vec<u8> = match iter % 3 {
            0 => (0..rng.below(400)).map(|_| rng.next() as u8).collect(),
            1 => (0..rng.below(400))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect(),
            _ => {
                let mut v = seeds[rng.below(seeds.len())].to_vec();
                for _ in 0..rng.below(6) {
                    let i = rng.below(v.len());
                    match rng.below(3) {
                        0 => v[i] = rng.next() as u8,
                        1 => v.insert(i, alphabet[rng.below(alphabet.len())]),
                        _ => {
                            v.remove(i);
                        }
                    }
                }
                v
            }
        };
        if iter % 7 == 0 {
            input.extend_from_slice(b"\r\n\r\n");
        }
        let mut c = Client::new(&ts.site);
        c.chunk = 1 + rng.below(300);
        // Feed in random pieces.
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = (1 + rng.below(64)).min(rest.len());
            c.send(&rest[..n]);
            rest = &rest[n..];
        }
        let mut v = c.send(b"");
        if v == Verdict::Continue {
            // Whatever is still pending must be settled by the timers.
            c.now = plus(t0(), config.request_timeout + Duration::from_secs(1));
            v = c.send(b"");
        }
        if v == Verdict::Continue {
            c.now = plus(c.now, Duration::from_secs(3600));
            v = c.send(b"");
        }
        assert_eq!(v, Verdict::Close, "input {input:?}");
        let out = c.take();
        if out.is_empty() {
            // Only blank lines (ignored before a request line) yield no
            // answer; the connection then closed for idleness.
            assert!(
                input.iter().all(|&b| b == b'\r' || b == b'\n'),
                "no answer to {input:?}"
            );
            continue;
        }
        assert_response_start(&out, &input);
        // The first response head must parse as a whole.
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let parsed = httparse::Response::new(&mut headers).parse(&out);
        assert!(
            matches!(parsed, Ok(httparse::Status::Complete(_))),
            "input {input:?}"
        );
    }
}

struct Echo;

impl super::Generator for Echo {
    fn generate(&self, path: &str) -> Option<super::Generated> {
        (path == "/tcpinfo").then(|| super::Generated {
            content_type: "application/json",
            body: br#"{"made":"here"}"#.to_vec(),
        })
    }
}

#[test]
fn generated_resources_come_before_the_site_and_are_not_cached() {
    let ts = TestSite::new();
    let config = HttpConfig::default();
    let mut conn = HttpConnection::new(t0());
    conn.receive(
        b"GET /tcpinfo?x=1 HTTP/1.1\r\nHost: t\r\n\r\nHEAD /tcpinfo HTTP/1.1\r\nHost: t\r\n\r\nGET /index.html HTTP/1.1\r\nHost: t\r\n\r\n",
        t0(),
    );
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    for _ in 0..10 {
        conn.poll_with(&ts.site, &Echo, &config, t0());
        while conn.has_output() {
            let n = conn.write_output(&mut buf, t0());
            out.extend_from_slice(&buf[..n]);
        }
    }
    let r = parse_all(&out, &[false, true, false]);
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[0].status, r[0].body.as_slice()),
        (200, &br#"{"made":"here"}"#[..])
    );
    assert_eq!(r[0].header("content-type"), Some("application/json"));
    assert_eq!(r[0].header("cache-control"), Some("no-store"));
    assert_eq!(r[1].content_length(), Some(15));
    assert!(r[1].body.is_empty());
    assert_eq!(r[2].status, 200, "other paths still come from the site");
    // Without a generator the path is just a missing file.
    assert_eq!(get(&ts.site, "/tcpinfo").0.status, 404);
}

#[test]
fn keep_alive_waits_for_the_response_to_be_acknowledged() {
    let ts = TestSite::new();
    let config = HttpConfig::default();
    let ka = config.keep_alive_timeout.unwrap();
    let mut c = Client::new(&ts.site);
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(parse_all(&c.take(), &[false]).len(), 1);
    // The transport still holds unacknowledged bytes: no idle timer, however long.
    c.conn.set_unacknowledged(true, c.now);
    assert_eq!(c.conn.next_deadline(&config), None);
    c.now = plus(t0(), ka * 10);
    assert_eq!(c.send(b""), Verdict::Continue);
    // Acknowledged now: the idle timer starts from here.
    let acked = c.now;
    c.conn.set_unacknowledged(false, acked);
    c.now = minus(plus(acked, ka), Duration::from_millis(1));
    assert_eq!(c.send(b""), Verdict::Continue);
    c.now = plus(acked, ka);
    assert_eq!(c.send(b""), Verdict::Close);
}
