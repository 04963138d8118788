//! Reading the start of an HTTP message the way tshark 4.0's HTTP dissector does, and its
//! heuristic for spotting HTTP on a port it does not know.
//!
//! Bytes go in (the message so far, from its first byte); what leaves is a [`Parse`]: not
//! HTTP, more needed, or the message's [`Head`] with where it ends. Nothing here keeps
//! state; [`super::HttpConn`] does.

use super::Head;

/// Request methods tshark recognises at the start of a line.
const METHODS: [&str; 24] = [
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "NOTIFY",
    "SUBSCRIBE",
    "M-SEARCH",
];

/// What a request asks, as far as the responses' framing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Its response has no body.
    Head,
    /// A 2xx response turns the connection into a tunnel.
    Connect,
    Other,
}

/// A request (with its method) or a response (with its status code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request(Method),
    Response(u16),
}

/// What the bytes of a message start say.
#[derive(Debug)]
pub enum Parse {
    /// Starts with a byte that no message starts with (not printable ASCII).
    Binary,
    /// The first line is not complete yet.
    NeedLine,
    /// A complete first line that is neither a request nor a status line.
    NotHttp,
    /// The start line is there, the headers are not complete.
    Headers { line: String },
    Message {
        head: Head,
        kind: Kind,
        /// Header plus body length; `None`: a response without a length, whose body runs
        /// to the end of the connection.
        total: Option<usize>,
        /// Where the body starts.
        body_at: usize,
        has_body: bool,
    },
    /// Chunked body: complete once the last chunk is in.
    Chunked { head: Head, kind: Kind, done: bool },
}

/// Where the first line of `p` ends (at CR, LF or CRLF), as tshark's
/// `tvb_find_line_end` finds it while reassembling: a CR that ends the bytes may be the
/// first half of a CRLF, so that is no line end yet.
fn line_end(p: &[u8]) -> Option<usize> {
    let eol = p.iter().position(|&c| c == b'\n' || c == b'\r')?;
    (eol + 1 < p.len() || p[eol] == b'\n').then_some(eol)
}

/// tshark's heuristic for HTTP on a port it does not decode as HTTP: the segment's first
/// line ends with `HTTP/1.` and one more character, or the segment starts with `HTTP/1.`
/// (both ignoring case). Its quirks are kept: a first line of exactly 8 characters never
/// counts, and for a first line shorter than 8 the "end of the line" is counted back
/// from the end of the segment (Wireshark's negative buffer offsets).
pub fn looks_like_http(p: &[u8]) -> bool {
    const TOKEN: &[u8] = b"HTTP/1.";
    let Some(len) = line_end(p) else {
        return false;
    };
    if len == 8 {
        return false;
    }
    let at = if len >= 8 {
        Some(len - 8)
    } else {
        p.len().checked_sub(8 - len)
    };
    let token_at = |i: usize| {
        p.get(i..i + TOKEN.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(TOKEN))
    };
    at.is_some_and(token_at) || token_at(0)
}

/// Escapes what tshark's format_text would not show as is.
fn line_text(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            0x20..=0x7e => s.push(c as char),
            b'\t' => s.push_str("\\t"),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses the start of a message. `pending`: the oldest unanswered request's method
/// (a response to HEAD has no body, nor has a 2xx to CONNECT).
pub fn parse(data: &[u8], pending: Option<Method>) -> Parse {
    // An empty line before a message is skipped (RFC 9112 2.2), as tshark does; lengths
    // still count from the first byte.
    let (skip, data) = match data.strip_prefix(b"\r\n") {
        Some(rest) if data.len() > 3 => (2, rest),
        _ => (0, data),
    };
    if !data.first().is_some_and(|c| (0x20..=0x7e).contains(c)) {
        return Parse::Binary;
    }
    let Some(eol) = line_end(data) else {
        return Parse::NeedLine;
    };
    let first = &data[..eol];
    let is_response = first.starts_with(b"HTTP/");
    let method = (!is_response)
        .then(|| {
            METHODS
                .iter()
                .find(|m| first.starts_with(m.as_bytes()) && first.get(m.len()) == Some(&b' '))
        })
        .flatten();
    if !is_response && method.is_none() {
        return Parse::NotHttp;
    }
    let line = line_text(first);
    let Some(hdr_end) = find(data, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| find(data, b"\n\n").map(|i| i + 2))
    else {
        return Parse::Headers { line };
    };
    let mut content_length = None;
    let mut chunked = false;
    let mut content_type = None;
    for l in data[..hdr_end].split(|&c| c == b'\n').skip(1) {
        let l = String::from_utf8_lossy(l);
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("content-length") && content_length.is_none() {
            content_length = v.parse::<usize>().ok();
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            chunked |= v.to_ascii_lowercase().contains("chunked");
        } else if k.eq_ignore_ascii_case("content-type") {
            content_type = Some(v.to_string());
        }
    }
    let kind = match method {
        Some(m) => Kind::Request(match *m {
            "HEAD" => Method::Head,
            "CONNECT" => Method::Connect,
            _ => Method::Other,
        }),
        None => Kind::Response(
            line.split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
        ),
    };
    let no_body = match kind {
        Kind::Response(code) => {
            pending == Some(Method::Head)
                || (pending == Some(Method::Connect) && (200..300).contains(&code))
                || (100..200).contains(&code)
                || code == 204
                || code == 304
        }
        Kind::Request(_) => false,
    };
    let head = Head { line, content_type };
    if chunked && !no_body {
        return Parse::Chunked {
            head,
            kind,
            done: find(&data[hdr_end..], b"0\r\n\r\n").is_some(),
        };
    }
    let body = if no_body {
        Some(0)
    } else if let Some(n) = content_length {
        Some(n)
    } else if is_response {
        // No length: the body runs to the connection's end.
        None
    } else {
        Some(0)
    };
    Parse::Message {
        head,
        kind,
        total: body.map(|b| (skip + hdr_end).saturating_add(b)),
        body_at: skip + hdr_end,
        has_body: body.is_none_or(|b| b > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heuristic_as_tshark_4_0_applies_it() {
        // Each checked against tshark on a capture of its own (see tests/trace.rs).
        for yes in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\n",
            b"GET / HTTP/1.9\r\n",
            b"get / http/1.1\r\n",
            b"FOO / HTTP/1.1\r\n",
            b"xx http/1.1\r\n",
            b"GET / HTTP/1.1\n",
            b"HTTP/1.0 200 OK\r\n",
            b"http/1.1 200 OK\r\n",
            // A first line shorter than 8 counts back from the segment's end.
            b"a\r\nHTTP/1.",
        ] {
            assert!(looks_like_http(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"GET / HTTP/1.1"[..],
            b"GET / HTTP/1.1\r",
            b"HTTP/1.1\r\n",
            b"GET / HTTP/1.\r\n",
            b"GET / HTTP/1.1 x\r\n",
            b"HTTP/2 200 OK\r\n",
            b"a\r\nHTTP/1.1",
            b"hello\r\n",
            b"\r\nGET / HTTP/1.1\r\n",
            b"",
        ] {
            assert!(!looks_like_http(no), "{}", String::from_utf8_lossy(no));
        }
    }

    #[test]
    fn heads_kinds_and_lengths() {
        let Parse::Message {
            head,
            kind,
            total,
            has_body,
            ..
        } = parse(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n\r\n",
            None,
        )
        else {
            panic!()
        };
        assert_eq!(head.line, "HTTP/1.1 200 OK");
        assert_eq!(head.media_type().as_deref(), Some("text/html"));
        assert_eq!(kind, Kind::Response(200));
        assert_eq!(total, Some(83));
        assert!(has_body);
        let Parse::Message { total, .. } = parse(b"HTTP/1.0 200 OK\r\n\r\nabc", None) else {
            panic!()
        };
        assert_eq!(total, None, "no length: until the connection closes");
        let Parse::Message { kind, .. } = parse(b"CONNECT a:443 HTTP/1.1\r\n\r\n", None) else {
            panic!()
        };
        assert_eq!(kind, Kind::Request(Method::Connect));
        assert!(matches!(parse(b"\x01", None), Parse::Binary));
        assert!(matches!(parse(b"hello\r\n", None), Parse::NotHttp));
        assert!(matches!(parse(b"GET / HTTP/1.1\r", None), Parse::NeedLine));
    }
}
