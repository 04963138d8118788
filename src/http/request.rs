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

/// The parts of a request head the responder acts on.
#[derive(Debug, Clone, Default)]
pub(super) struct Request {
    pub method: String,
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Declared body length (0 when absent).
    pub content_length: u64,
    pub transfer_encoding: bool,
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
/// the status to answer with: 400, 431 or 505.
pub(super) fn parse_head(head: &[u8]) -> Result<Request, u16> {
    check_version(head)?;
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
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).ok().map(str::trim);
        let name = h.name;
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
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
            out.transfer_encoding = true;
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
    if out.transfer_encoding && content_length.is_some() {
        debug!("both Content-Length and Transfer-Encoding");
        return Err(400);
    }
    out.content_length = content_length.unwrap_or(0);
    Ok(out)
}

/// Rejects versions other than 1.0 and 1.1 with 505 before httparse, which
/// would report them as a generic syntax error. Versions that are not even
/// `HTTP/<digits and dots>` are left for httparse to reject with 400.
fn check_version(head: &[u8]) -> Result<(), u16> {
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let line = &head[..line_end];
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    let Some(number) = version.strip_prefix(b"HTTP/") else {
        return Ok(());
    };
    if number == b"1.1" || number == b"1.0" {
        return Ok(());
    }
    let looks_numeric = number.iter().any(u8::is_ascii_digit)
        && number.iter().all(|&b| b.is_ascii_digit() || b == b'.');
    if looks_numeric {
        debug!("unsupported version {}", String::from_utf8_lossy(version));
        Err(505)
    } else {
        Ok(())
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
        assert_eq!(r.content_length, 5);
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
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
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
        assert_eq!(parse_head(dup).unwrap().content_length, 2);
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
