//! Request heads: finding where one ends, enforcing the size limits, and
//! parsing it.
//!
//! Data in: the connection's buffer of unparsed input bytes.
//! Data out: [`Scan`] (need more / head length / error status) from the
//! incremental [`HeadScanner`], then a [`Request`] (or an error status) from
//! [`parse_head`]. Nothing here does I/O.
//!
//! httparse is lenient where we want to be strict (it accepts a bare LF as a
//! line end), so the scanner checks every byte of the head first: a CR must
//! be followed by LF, an LF must follow a CR, and NUL is never allowed.
//! Doing this incrementally keeps a request trickling in byte by byte from
//! costing quadratic time.

use log::debug;

use super::host::valid_host;

/// Longest request line, including its CRLF.
pub(super) const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Longest header block: all field lines plus the final empty line.
pub(super) const MAX_HEADER_BLOCK: usize = 16 * 1024;
/// Most header fields in one request.
pub(super) const MAX_HEADERS: usize = 100;

/// Result of scanning the buffered bytes of the current head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    /// The head is incomplete; wait for more bytes.
    Partial,
    /// The head is complete and is this many bytes long (final CRLF included).
    Complete(usize),
    /// The head is unacceptable; answer with this status and close.
    Error(u16),
}

/// Incremental scanner for one request head at the start of the buffer.
/// It remembers how far it got, so each byte is examined once.
#[derive(Debug, Default)]
pub(super) struct HeadScanner {
    /// Next byte to examine.
    pos: usize,
    /// Start of the line being scanned.
    line_start: usize,
    /// Where the header block starts, once the request line has ended.
    fields_start: Option<usize>,
    /// Header field lines seen so far.
    fields: usize,
}

impl HeadScanner {
    /// True when nothing of the current head has been examined yet.
    pub(super) fn at_start(&self) -> bool {
        self.pos == 0
    }

    /// Forget the current head (after it was consumed from the buffer).
    pub(super) fn reset(&mut self) {
        *self = Self::default();
    }

    /// Examines the bytes of `buf` not seen before. `buf` must start with the
    /// head being scanned and must only grow between calls.
    pub(super) fn scan(&mut self, buf: &[u8]) -> Scan {
        let mut i = self.pos;
        while i < buf.len() {
            match buf[i] {
                0 => {
                    debug!("NUL byte in request head");
                    return Scan::Error(400);
                }
                b'\r' => match buf.get(i + 1) {
                    // Cannot judge this CR until the next byte arrives.
                    None => break,
                    Some(b'\n') => {}
                    Some(_) => {
                        debug!("bare CR in request head");
                        return Scan::Error(400);
                    }
                },
                b'\n' => {
                    if i == 0 || buf[i - 1] != b'\r' {
                        debug!("bare LF in request head");
                        return Scan::Error(400);
                    }
                    let empty_line = i - 1 == self.line_start;
                    match self.fields_start {
                        None => {
                            if i + 1 > MAX_REQUEST_LINE {
                                return Scan::Error(414);
                            }
                            if empty_line {
                                // Leading empty lines are stripped by the caller,
                                // so this cannot be one; be safe anyway.
                                return Scan::Error(400);
                            }
                            // `method SP target SP version`: fewer than two spaces
                            // is an HTTP/0.9 line (`GET /`), which has no header
                            // block to wait for. Answer it now, not at the timeout.
                            let line = &buf[self.line_start..i - 1];
                            if line.iter().filter(|&&b| b == b' ').count() < 2 {
                                debug!("request line without a version");
                                return Scan::Error(400);
                            }
                            self.fields_start = Some(i + 1);
                        }
                        Some(start) => {
                            if i + 1 - start > MAX_HEADER_BLOCK {
                                return Scan::Error(431);
                            }
                            if empty_line {
                                return Scan::Complete(i + 1);
                            }
                            self.fields += 1;
                            if self.fields > MAX_HEADERS {
                                return Scan::Error(431);
                            }
                        }
                    }
                    self.line_start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        self.pos = i;
        // Everything buffered belongs to this unfinished head: enforce the
        // limits now rather than waiting for a line end that may never come.
        match self.fields_start {
            None if buf.len() >= MAX_REQUEST_LINE => Scan::Error(414),
            Some(start) if buf.len() - start > MAX_HEADER_BLOCK => Scan::Error(431),
            _ => Scan::Partial,
        }
    }
}

/// How a request's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Framing {
    /// No body (no Content-Length, or 0).
    #[default]
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// The parts of a request head the responder acts on.
#[derive(Debug, Clone, Default)]
pub(super) struct Request {
    pub method: String,
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1 (and for HTTP/1.2 to 1.9, served as 1.1).
    pub minor_version: u8,
    pub framing: Framing,
    /// The framing is in doubt though usable (Transfer-Encoding with
    /// Content-Length, or in HTTP/1.0): answer, then close (RFC 9112 §6.1, §6.3).
    pub framing_suspect: bool,
    pub connection_close: bool,
    pub expect_continue: bool,
    /// Several If-None-Match fields are combined into one list.
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    /// Several Range fields are combined, which makes them "several ranges".
    pub range: Option<String>,
    pub if_range: Option<String>,
}

/// Parses a complete head (as delimited by [`HeadScanner`]). `Err` carries
/// the status to answer with: 400, 431, 501 or 505.
pub(super) fn parse_head(head: &[u8]) -> Result<Request, u16> {
    // httparse knows only 1.0 and 1.1: a later 1.x is handed to it as 1.1
    // (RFC 9110 §2.5: serve it as the highest minor version we support).
    let patched;
    let head = match check_version(head)? {
        Some(at) => {
            let mut copy = head.to_vec();
            copy[at] = b'1';
            patched = copy;
            &patched[..]
        }
        None => head,
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            debug!("httparse found the head incomplete");
            return Err(400);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(431),
        Err(e) => {
            debug!("malformed request head: {e}");
            return Err(400);
        }
    }
    let (Some(method), Some(target), Some(minor_version)) = (req.method, req.path, req.version)
    else {
        return Err(400);
    };
    let mut out = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        minor_version,
        ..Request::default()
    };
    let mut hosts = 0;
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding: Option<String> = None;
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).ok().map(str::trim);
        let name = h.name;
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
            if !value.is_some_and(|v| valid_host(v.as_bytes())) {
                debug!("invalid Host {:?}", String::from_utf8_lossy(h.value));
                return Err(400);
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            let Some(n) = value.and_then(parse_content_length) else {
                debug!("invalid Content-Length");
                return Err(400);
            };
            if content_length.is_some_and(|old| old != n) {
                debug!("conflicting Content-Length fields");
                return Err(400);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Several fields form one list (RFC 9110 §5.3).
            append_list(&mut transfer_encoding, value.ok_or(400u16)?);
        } else if name.eq_ignore_ascii_case("connection") {
            let close =
                value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
            out.connection_close |= close;
        } else if name.eq_ignore_ascii_case("expect") {
            out.expect_continue |= value.is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        } else if name.eq_ignore_ascii_case("if-none-match") {
            if let Some(v) = value {
                append_list(&mut out.if_none_match, v);
            }
        } else if name.eq_ignore_ascii_case("range") {
            if let Some(v) = value {
                append_list(&mut out.range, v);
            }
        } else if name.eq_ignore_ascii_case("if-modified-since") {
            if out.if_modified_since.is_none() {
                out.if_modified_since = value.map(str::to_owned);
            }
        } else if name.eq_ignore_ascii_case("if-range") && out.if_range.is_none() {
            out.if_range = value.map(str::to_owned);
        }
    }
    if hosts > 1 || (hosts == 0 && minor_version == 1) {
        debug!("{hosts} Host fields");
        return Err(400);
    }
    out.framing = match (transfer_encoding, content_length) {
        (Some(te), cl) => {
            check_transfer_coding(&te)?;
            // Transfer-Encoding overrides Content-Length, but the pair smells
            // of request smuggling, and an HTTP/1.0 message with it has faulty
            // framing: either way, close after answering (RFC 9112 §6.1, §6.3).
            if cl.is_some() || minor_version == 0 {
                debug!("Transfer-Encoding with Content-Length or in HTTP/1.0");
                out.framing_suspect = true;
            }
            Framing::Chunked
        }
        (None, Some(0) | None) => Framing::None,
        (None, Some(n)) => Framing::Length(n),
    };
    Ok(out)
}

/// Accepts a Transfer-Encoding list only when it is exactly `chunked`, the one
/// coding we decode. Otherwise the status to answer with:
///
/// * 400 when the list is malformed or empty, or when a list of several codings
///   does not end in a single `chunked`: the body's length cannot be told
///   (RFC 9112 §6.3, rule 4; chunked applied twice is not allowed either, §7);
/// * 501 for a lone coding other than `chunked` (`gzip`, `xchunked`), or when
///   `chunked` comes after codings we do not implement (`gzip, chunked`): the
///   request may be well formed, we just do not understand it (§6.1).
fn check_transfer_coding(list: &str) -> Result<(), u16> {
    let mut codings = Vec::new();
    for element in list.split(',') {
        let element = element.trim_matches([' ', '\t']);
        if element.is_empty() {
            continue;
        }
        // A coding may carry parameters (`name;param=value`); the name decides.
        let (name, params) = match element.split_once(';') {
            Some((n, p)) => (n.trim_end_matches([' ', '\t']), Some(p)),
            None => (element, None),
        };
        if name.is_empty() || !name.bytes().all(is_tchar) {
            debug!("malformed Transfer-Encoding {list:?}");
            return Err(400);
        }
        // chunked takes no parameters: with some it is a coding we do not know.
        codings.push(name.eq_ignore_ascii_case("chunked") && params.is_none());
    }
    let Some((&last_is_chunked, before)) = codings.split_last() else {
        debug!("empty Transfer-Encoding");
        return Err(400);
    };
    let status = match (last_is_chunked, before.is_empty()) {
        (true, true) => return Ok(()),
        (false, true) => 501,
        (false, false) => 400,
        (true, false) if before.iter().any(|&chunked| chunked) => 400,
        (true, false) => 501,
    };
    debug!("Transfer-Encoding {list:?}: {status}");
    Err(status)
}

/// Decides on the version before httparse, which would report anything but
/// 1.0 and 1.1 as a generic syntax error. `HTTP/1.2` to `HTTP/1.9` are served
/// as 1.1 (RFC 9110 §2.5): `Ok(Some(i))` gives the index of the minor digit to
/// read as `1`. Other numeric versions (`HTTP/2.0`, `HTTP/0.9`, `HTTP/3`) get
/// 505. Versions that are not even `HTTP/<digits and dots>` are left for
/// httparse to reject with 400.
fn check_version(head: &[u8]) -> Result<Option<usize>, u16> {
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let line = &head[..line_end];
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    let Some(number) = version.strip_prefix(b"HTTP/") else {
        return Ok(None);
    };
    match number {
        b"1.1" | b"1.0" => return Ok(None),
        [b'1', b'.', minor] if minor.is_ascii_digit() => {
            debug!("HTTP/1.{} served as HTTP/1.1", char::from(*minor));
            return Ok(Some(line_end - 1));
        }
        _ => {}
    }
    let looks_numeric = number.iter().any(u8::is_ascii_digit)
        && number.iter().all(|&b| b.is_ascii_digit() || b == b'.');
    if looks_numeric {
        debug!("unsupported version {}", String::from_utf8_lossy(version));
        Err(505)
    } else {
        Ok(None)
    }
}

fn parse_content_length(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

fn append_list(slot: &mut Option<String>, v: &str) {
    match slot {
        Some(s) => {
            s.push_str(", ");
            s.push_str(v);
        }
        None => *slot = Some(v.to_owned()),
    }
}

/// Method and target for the access log, taken leniently from whatever of
/// the request line is buffered (also for heads that failed to parse).
/// `("-", "-")` when no method token followed by a space is there.
pub(super) fn request_line_parts(buf: &[u8]) -> (String, String) {
    let end = buf
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(buf.len());
    let mut parts = buf[..end].split(|&b| b == b' ');
    let method = parts
        .next()
        .filter(|m| !m.is_empty() && m.iter().all(|&b| is_tchar(b)));
    let target = parts.next().filter(|t| !t.is_empty());
    match (method, target) {
        (Some(m), Some(t)) => (log_text(m), log_text(t)),
        _ => ("-".to_owned(), "-".to_owned()),
    }
}

/// Lossy UTF-8, cut to 200 characters, as the access log wants it.
pub(super) fn log_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().take(200).collect()
}

/// RFC 9110 token characters (method names, header names).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(buf: &[u8]) -> Scan {
        HeadScanner::default().scan(buf)
    }

    /// Feeds `buf` one byte at a time, like a slow client.
    fn scan_bytewise(buf: &[u8]) -> Scan {
        let mut s = HeadScanner::default();
        let mut last = Scan::Partial;
        for n in 1..=buf.len() {
            last = s.scan(&buf[..n]);
            if last != Scan::Partial {
                break;
            }
        }
        last
    }

    #[test]
    fn finds_head_end() {
        let req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
        assert_eq!(scan_all(req), Scan::Complete(27));
        assert_eq!(scan_bytewise(req), Scan::Complete(27));
        assert_eq!(scan_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r"), Scan::Partial);
        assert_eq!(scan_all(b"GET / HTTP/1.0\r\n\r\n"), Scan::Complete(18));
    }

    #[test]
    fn rejects_bare_cr_lf_nul() {
        for head in [
            &b"GET / HTTP/1.1\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\n",
            b"GET / HTTP/1.1\rHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\0\r\n\r\n",
            b"GET /\0 HTTP/1.1\r\n",
            b"\n",
        ] {
            assert_eq!(scan_all(head), Scan::Error(400), "{head:?}");
            assert_eq!(scan_bytewise(head), Scan::Error(400), "{head:?}");
        }
    }

    #[test]
    fn request_line_limit() {
        let mut line = b"GET /".to_vec();
        line.resize(MAX_REQUEST_LINE - 1, b'a');
        assert_eq!(scan_all(&line), Scan::Partial);
        line.push(b'a');
        // 8 KiB arrived without a line end: answer at once.
        assert_eq!(scan_all(&line), Scan::Error(414));
        // A line of exactly 8 KiB including CRLF is fine.
        let mut ok = b"GET /".to_vec();
        ok.resize(MAX_REQUEST_LINE - 11, b'a');
        ok.extend_from_slice(b" HTTP/1.1\r\n");
        assert_eq!(ok.len(), MAX_REQUEST_LINE);
        assert_eq!(scan_all(&ok), Scan::Partial);
    }

    #[test]
    fn header_limits() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        let mut ok = head.clone();
        ok.extend_from_slice(b"\r\n");
        assert_eq!(scan_all(&ok), Scan::Complete(ok.len()));
        head.extend_from_slice(b"X-last: v\r\n");
        assert_eq!(scan_all(&head), Scan::Error(431));

        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(16 + MAX_HEADER_BLOCK + 1, b'v');
        assert_eq!(scan_all(&big), Scan::Error(431));
        assert_eq!(scan_bytewise(&big), Scan::Error(431));
    }

    #[test]
    fn parses_fields() {
        let head = b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\
            Content-Length: 5\r\nIf-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n\
            Range: bytes=0-1\r\nIf-Range: \"a\"\r\nIf-Modified-Since: x\r\n\r\n";
        let r = parse_head(head).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "/x");
        assert_eq!(r.minor_version, 1);
        assert!(r.connection_close);
        assert_eq!(r.framing, Framing::Length(5));
        assert!(!r.framing_suspect);
        assert_eq!(r.if_none_match.as_deref(), Some("\"a\", \"b\""));
        assert_eq!(r.range.as_deref(), Some("bytes=0-1"));
        assert_eq!(r.if_range.as_deref(), Some("\"a\""));
        assert_eq!(r.if_modified_since.as_deref(), Some("x"));
    }

    #[test]
    fn parse_errors() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GET / HTTP/3\r\n\r\n", 505),
            (b"GET / HTTP/0.9\r\n\r\n", 505),
            (b"GET / HTTP/x.y\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
            (b"GET / HTTP/1.0\r\nHost: a/b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: \xff\r\n\r\n", 400),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
                501,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
                400,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
                400,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                400,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                400,
            ),
            (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nBad Name: a\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        ];
        for (head, status) in cases {
            assert_eq!(
                parse_head(head).unwrap_err(),
                *status,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse_head(&many).unwrap_err(), 431);
        // HTTP/1.0 needs no Host; equal duplicate Content-Length is tolerated.
        assert!(parse_head(b"GET / HTTP/1.0\r\n\r\n").is_ok());
        let dup = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(parse_head(dup).unwrap().framing, Framing::Length(2));
    }

    #[test]
    fn answers_http_0_9_lines_at_once() {
        for line in [&b"GET /\r\n"[..], b"GET\r\n", b"GET /index.html\r\n"] {
            assert_eq!(scan_all(line), Scan::Error(400), "{line:?}");
            assert_eq!(scan_bytewise(line), Scan::Error(400), "{line:?}");
        }
        assert_eq!(scan_all(b"GET / HTTP/1.1\r\n"), Scan::Partial);
    }

    #[test]
    fn later_1_x_versions_are_1_1() {
        for v in ["1.2", "1.9"] {
            let head = format!("GET /v HTTP/{v}\r\nHost: a\r\n\r\n");
            let r = parse_head(head.as_bytes()).unwrap();
            assert_eq!((r.minor_version, r.target.as_str()), (1, "/v"));
        }
        for v in ["2.0", "0.9", "1.10", "3", "11.1"] {
            let head = format!("GET / HTTP/{v}\r\nHost: a\r\n\r\n");
            assert_eq!(parse_head(head.as_bytes()).unwrap_err(), 505, "{v}");
        }
    }

    #[test]
    fn transfer_codings() {
        let parse = |te: &str| {
            let head = format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {te}\r\n\r\n");
            parse_head(head.as_bytes()).map(|r| (r.framing, r.framing_suspect))
        };
        let chunked = Ok((Framing::Chunked, false));
        for te in [
            "chunked",
            "Chunked",
            "CHUNKED",
            " chunked ",
            ",chunked,",
            "chunked\r\nTransfer-Encoding: ",
        ] {
            assert_eq!(parse(te), chunked, "{te:?}");
        }
        // What we do not understand: 501.
        for te in [
            "xchunked",
            "gzip",
            "identity",
            "chunked;x=1",
            "gzip, chunked",
            "gzip\r\nTransfer-Encoding: chunked",
        ] {
            assert_eq!(parse(te), Err(501), "{te:?}");
        }
        // What leaves the length unknown, or is malformed: 400.
        for te in [
            "chunked, gzip",
            "chunked, chunked",
            "gzip, deflate",
            "chunked\r\nTransfer-Encoding: gzip",
            "",
            ",",
            "chun ked",
            "chunked, \"x\"",
        ] {
            assert_eq!(parse(te), Err(400), "{te:?}");
        }
        // With Content-Length, Transfer-Encoding wins, and the connection closes.
        let head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        let r = parse_head(head).unwrap();
        assert_eq!((r.framing, r.framing_suspect), (Framing::Chunked, true));
        // In HTTP/1.0 the framing is faulty: answered, then closed.
        let head = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(parse_head(head).unwrap().framing_suspect);
        // A zero Content-Length is no body.
        let head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parse_head(head).unwrap().framing, Framing::None);
    }

    #[test]
    fn log_parts() {
        assert_eq!(
            request_line_parts(b"GET /a HTTP/1.1\r\n"),
            ("GET".into(), "/a".into())
        );
        assert_eq!(
            request_line_parts(b"HEAD /partial"),
            ("HEAD".into(), "/partial".into())
        );
        assert_eq!(request_line_parts(b"\x01\x02 x"), ("-".into(), "-".into()));
        assert_eq!(request_line_parts(b"GET"), ("-".into(), "-".into()));
        let long = format!("GET /{} HTTP/1.1", "é".repeat(300));
        assert_eq!(request_line_parts(long.as_bytes()).1.chars().count(), 200);
    }
}
