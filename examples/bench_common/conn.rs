//! One HTTP/1.1 connection of a baseline server, independent of the transport.
//!
//! Data in: bytes the peer sent ([`Conn::received`]). Each complete request head is
//! answered at once by queuing the [`Site`]'s ready-made response (pipelined requests
//! queue in order). Data out: [`Conn::pending`] is the next slice to send, and the
//! transport reports how much it took with [`Conn::sent`]. [`Conn::finished`] says when
//! the transport should close: after a response that ends the connection.
//!
//! Requests with a body are refused (400): the benchmarks only GET.

use super::site::{Method, Response, Site};
use std::collections::VecDeque;
use std::sync::Arc;

/// The most header bytes we wait for before answering 431.
const MAX_HEAD: usize = 16 * 1024;
/// Stop reading while this many responses are queued (a pipelining peer waits).
const MAX_QUEUED: usize = 64;

#[derive(Default)]
pub struct Conn {
    input: Vec<u8>,
    out: VecDeque<(Arc<[u8]>, usize)>,
    /// A response that ends the connection is queued; read no more.
    closing: bool,
}

impl Conn {
    pub fn new() -> Conn {
        Conn::default()
    }

    /// Forget everything: the transport reuses this slot for a new peer.
    pub fn reset(&mut self) {
        self.input.clear();
        self.out.clear();
        self.closing = false;
    }

    /// Whether to read more from the peer now.
    pub fn wants_input(&self) -> bool {
        !self.closing && self.out.len() < MAX_QUEUED
    }

    /// Takes bytes from the peer and answers every complete request among them. Called
    /// with no bytes, it answers requests left waiting while too many responses were queued.
    pub fn received(&mut self, data: &[u8], site: &Site) {
        if !self.wants_input() || (data.is_empty() && self.input.is_empty()) {
            return;
        }
        self.input.extend_from_slice(data);
        let mut used = 0;
        while self.wants_input() {
            match parse(&self.input[used..]) {
                Parsed::Partial => break,
                Parsed::Request {
                    len,
                    method,
                    path,
                    close,
                } => {
                    let (r, ends) = match method {
                        None => (site.bad_method(), true),
                        Some(m) => match site.lookup(m, path, close) {
                            Some(r) => (r, close),
                            None => (site.not_found(), true),
                        },
                    };
                    let r = r.clone();
                    used += len;
                    self.queue(&r, ends);
                }
                Parsed::Bad => {
                    let r = site.bad_request().clone();
                    self.queue(&r, true);
                }
            }
        }
        self.input.drain(..used);
        if !self.closing && self.input.len() > MAX_HEAD {
            let r = site.too_large().clone();
            self.queue(&r, true);
        }
    }

    fn queue(&mut self, r: &Response, ends: bool) {
        for p in &r.parts {
            if !p.is_empty() {
                self.out.push_back((Arc::clone(p), 0));
            }
        }
        self.closing |= ends;
    }

    /// The next bytes to send (empty when nothing is queued).
    pub fn pending(&self) -> &[u8] {
        self.out.front().map_or(&[], |(b, off)| &b[*off..])
    }

    /// The transport took `n` bytes of [`Conn::pending`].
    pub fn sent(&mut self, n: usize) {
        if let Some((b, off)) = self.out.front_mut() {
            *off += n;
            if *off >= b.len() {
                self.out.pop_front();
            }
        }
    }

    /// Everything queued is sent and the last response ends the connection.
    pub fn finished(&self) -> bool {
        self.closing && self.out.is_empty()
    }

    /// Nothing is queued.
    pub fn idle(&self) -> bool {
        self.out.is_empty()
    }
}

enum Parsed<'a> {
    Partial,
    Request {
        len: usize,
        /// None: a method we do not serve.
        method: Option<Method>,
        path: &'a str,
        close: bool,
    },
    Bad,
}

/// One request head from the front of `buf`.
fn parse(buf: &[u8]) -> Parsed<'_> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Bad,
    };
    let (Some(m), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Parsed::Bad;
    };
    let mut close = minor == 0;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            if v.contains("close") {
                close = true;
            } else if v.contains("keep-alive") {
                close = false;
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
            || (h.name.eq_ignore_ascii_case("content-length") && h.value != b"0")
        {
            return Parsed::Bad;
        }
    }
    let method = match m {
        "GET" => Some(Method::Get),
        "HEAD" => Some(Method::Head),
        _ => None,
    };
    Parsed::Request {
        len,
        method,
        path,
        close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A site directory with `a.html` (5 bytes) and `big.bin` (above the merge limit),
    /// removed on drop.
    struct TempSite(PathBuf);
    impl TempSite {
        fn new(tag: &str) -> TempSite {
            let d = std::env::temp_dir().join(format!("bench-site-{}-{tag}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("a.html"), b"hello").unwrap();
            std::fs::write(d.join("big.bin"), vec![7u8; 100_000]).unwrap();
            TempSite(d)
        }
        fn site(&self) -> Site {
            Site::load(&self.0).unwrap()
        }
    }
    impl Drop for TempSite {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Everything the connection has to send, taken in pieces of at most `step` bytes.
    fn drain(c: &mut Conn, step: usize) -> String {
        let mut out = Vec::new();
        while !c.pending().is_empty() {
            let p = c.pending();
            let n = p.len().min(step);
            out.extend_from_slice(&p[..n]);
            c.sent(n);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn keep_alive_requests_are_answered_in_order_even_when_split() {
        let t = TempSite::new("order");
        let site = t.site();
        let mut c = Conn::new();
        c.received(b"GET /a.html HTTP/1.1\r\nHost: x\r\n\r\nGET /a.h", &site);
        c.received(b"tml HTTP/1.1\r\nHost: x\r\n\r\n", &site);
        let out = drain(&mut c, 7);
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
        assert!(out.ends_with("\r\n\r\nhello"), "{out}");
        assert!(!out.contains("Connection: close"));
        assert!(!c.finished() && c.wants_input());
    }

    #[test]
    fn close_is_honoured_and_ends_the_connection() {
        let t = TempSite::new("close");
        let site = t.site();
        let mut c = Conn::new();
        c.received(b"GET /big.bin HTTP/1.1\r\nConnection: close\r\n\r\n", &site);
        assert!(!c.wants_input());
        let out = drain(&mut c, 4096);
        assert!(out.contains("Content-Length: 100000\r\nConnection: close\r\n\r\n"));
        assert_eq!(out.len(), out.find("\r\n\r\n").unwrap() + 4 + 100_000);
        assert!(c.finished());
        let mut old = Conn::new();
        old.received(b"HEAD /a.html HTTP/1.0\r\n\r\n", &site);
        let out = drain(&mut old, 100);
        assert!(
            out.ends_with("Connection: close\r\n\r\n"),
            "HEAD has no body: {out}"
        );
        assert!(old.finished());
    }

    #[test]
    fn bad_input_gets_a_clear_answer_and_a_close() {
        let t = TempSite::new("bad");
        let site = t.site();
        for (req, status) in [
            (&b"GET /nope HTTP/1.1\r\n\r\n"[..], "404 Not Found"),
            (b"POST /a.html HTTP/1.1\r\n\r\n", "405 Method Not Allowed"),
            (
                b"POST /a.html HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
                "400 Bad Request",
            ),
            (b"\x01\x02 nonsense\r\n\r\n", "400 Bad Request"),
        ] {
            let mut c = Conn::new();
            c.received(req, &site);
            let out = drain(&mut c, 100);
            assert!(out.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{out}");
            assert!(c.finished(), "{status}");
        }
        let mut c = Conn::new();
        c.received(&vec![b'a'; MAX_HEAD + 1], &site);
        assert!(drain(&mut c, 100).starts_with("HTTP/1.1 431 "));
        assert!(Site::load(&t.0.join("missing")).is_err());
    }

    #[test]
    fn a_pipelining_peer_waits_while_the_queue_is_full_then_is_answered() {
        let t = TempSite::new("pipe");
        let site = t.site();
        let mut c = Conn::new();
        let many = b"GET /a.html HTTP/1.1\r\n\r\n".repeat(MAX_QUEUED + 3);
        c.received(&many, &site);
        assert!(!c.wants_input());
        let first = drain(&mut c, 1000);
        assert_eq!(first.matches("200 OK").count(), MAX_QUEUED);
        c.received(&[], &site);
        assert_eq!(drain(&mut c, 1000).matches("200 OK").count(), 3);
    }
}
