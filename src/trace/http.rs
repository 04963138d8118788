//! HTTP over one TCP connection, labelled the way a single pass of tshark labels it.
//!
//! Segments with payload come in (raw sequence number, bytes) per direction; out comes a
//! [`Label`] saying how the listing shows that segment. tshark reassembles an HTTP
//! message that spans several segments and names the message in the frame that
//! *completes* it (`HTTP/1.1 200 OK  (text/html)`); the frame that carries the start
//! line shows that line followed by `[TCP segment of a reassembled PDU]`, and the frames
//! between show their TCP summary with the same suffix. This module follows the same
//! rules with a bounded memory per direction: one message in progress (its byte ranges
//! seen so far, or, while its headers are incomplete, at most [`MAX_HEADER_BUF`] bytes),
//! and the HEAD requests awaiting their responses (their responses have no body).
//!
//! Segments that tshark flags as retransmissions (spurious ones too) are not passed in, as
//! tshark does not pass them to HTTP either; so a response whose first transmission was
//! lost never completes in a one-pass listing, exactly as in tshark's.

use std::collections::VecDeque;

/// Ports tshark decodes as HTTP by default (`http.tcp.port`).
pub const HTTP_PORTS: [u16; 10] = [80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710];

/// Headers longer than this are not reassembled (tshark has no such limit, but a live
/// listing must not grow without bound).
pub const MAX_HEADER_BUF: usize = 64 * 1024;
/// Ranges kept per message in progress; more holes than this and it is given up.
const MAX_RANGES: usize = 256;
const MAX_PENDING_HEADS: usize = 32;

/// How a segment with HTTP payload appears in the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// Not HTTP's business: the TCP summary alone.
    Plain,
    /// Part of a message still being reassembled. With the start line when this segment
    /// carries it (tshark shows the line instead of the TCP summary).
    SegmentOf(Option<String>),
    /// Payload that belongs to no message tshark could find: "Continuation".
    Continuation,
    /// This segment completes a message: protocol column and Info text.
    Complete { protocol: String, info: String },
}

#[derive(Debug, Clone)]
enum Msp {
    /// Length known: `total` bytes from `start`; `ranges` are the offsets seen.
    Body {
        start: u32,
        total: u32,
        ranges: Vec<(u32, u32)>,
        protocol: String,
        info: String,
    },
    /// Length not known yet (start line or headers incomplete): the bytes so far and the
    /// sequence number the next segment must start at.
    More { start: u32, buf: Vec<u8>, next: u32 },
}

#[derive(Debug, Clone, Default)]
struct Flow {
    msp: Option<Msp>,
}

/// The HTTP state of one TCP connection: a direction index (0 or 1) per segment.
#[derive(Debug, Clone, Default)]
pub struct HttpConn {
    flows: [Flow; 2],
    /// One entry per request parsed, oldest first: was it HEAD?
    heads: VecDeque<bool>,
    /// A request line was seen: from then on tshark takes any payload here for HTTP.
    seen_request: bool,
}

/// What the bytes of a message start say.
enum Parse {
    /// Starts with a byte that no message starts with (not printable ASCII).
    Binary,
    NeedLine,
    NotHttp,
    Headers {
        line: String,
    },
    Message {
        line: String,
        /// Header plus body length; `None`: runs to the end of these bytes.
        total: Option<usize>,
        protocol: String,
        info: String,
        request: Option<bool>,
    },
    /// Chunked body: complete once the last chunk is in.
    Chunked {
        line: String,
        protocol: String,
        info: String,
        done: bool,
        request: Option<bool>,
    },
}

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

fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The Info suffix and protocol column tshark's media dissectors give a body.
fn media(content_type: &str, body_len: usize) -> (String, String) {
    let mt = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if body_len == 0 || mt.is_empty() || mt == "application/octet-stream" {
        return ("HTTP".into(), String::new());
    }
    if mt.ends_with("/xml") || mt.ends_with("+xml") {
        return ("HTTP/XML".into(), String::new());
    }
    if mt == "application/json" || mt.ends_with("+json") {
        return (
            "HTTP/JSON".into(),
            format!(", JavaScript Object Notation ({mt})"),
        );
    }
    let s = match mt.as_str() {
        "image/png" => "(PNG)".to_string(),
        "image/jpeg" => "(JPEG JFIF image)".to_string(),
        "image/gif" => "(GIF89a)".to_string(),
        _ => format!("({mt})"),
    };
    ("HTTP".into(), format!(" {s}"))
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

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses the start of a message. `head_pending`: the oldest unanswered request was HEAD.
fn parse(data: &[u8], head_pending: bool) -> Parse {
    // An empty line before a message is skipped (RFC 9112 2.2), as tshark does.
    let data = match data.strip_prefix(b"\r\n") {
        Some(rest) if data.len() > 3 => rest,
        _ => data,
    };
    if !data.first().is_some_and(|c| (0x20..=0x7e).contains(c)) {
        return Parse::Binary;
    }
    // A line ends at CR, LF or CRLF, as for tshark; a CR that ends the data may be the
    // first half of a CRLF, so more is needed.
    let Some(eol) = data.iter().position(|&c| c == b'\n' || c == b'\r') else {
        return Parse::NeedLine;
    };
    if eol + 1 == data.len() && data[eol] == b'\r' {
        return Parse::NeedLine;
    }
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
    let mut content_type = String::new();
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
            content_type = v.to_string();
        }
    }
    let request = method.map(|m| *m == "HEAD");
    let no_body = if is_response {
        let code: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        head_pending || (100..200).contains(&code) || code == 204 || code == 304
    } else {
        false
    };
    let base = format!("{line} ");
    if chunked && !no_body {
        let (protocol, suffix) = media(&content_type, 1);
        return Parse::Chunked {
            line,
            protocol,
            info: base + &suffix,
            done: find(&data[hdr_end..], b"0\r\n\r\n").is_some(),
            request,
        };
    }
    let body = if no_body {
        Some(0)
    } else if let Some(n) = content_length {
        Some(n)
    } else if is_response {
        // No length: the body runs to the connection's end; shown with what is here.
        None
    } else {
        Some(0)
    };
    let shown = body.unwrap_or(data.len() - hdr_end);
    let (protocol, suffix) = media(&content_type, shown);
    Parse::Message {
        line,
        total: body.map(|b| hdr_end.saturating_add(b)),
        protocol,
        info: base + &suffix,
        request,
    }
}

/// Adds `[from, to)` to sorted, merged ranges; false when there would be too many.
fn add_range(ranges: &mut Vec<(u32, u32)>, from: u32, to: u32) -> bool {
    if from >= to {
        return true;
    }
    ranges.push((from, to));
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for &(a, b) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *ranges = merged;
    ranges.len() <= MAX_RANGES
}

impl HttpConn {
    /// Bytes held for messages whose start line or headers are still incomplete.
    pub fn buffered(&self) -> usize {
        self.flows
            .iter()
            .map(|f| match &f.msp {
                Some(Msp::More { buf, .. }) => buf.len(),
                _ => 0,
            })
            .sum()
    }

    /// Gives up the incomplete messages that hold bytes (to stay within a budget).
    pub fn drop_buffers(&mut self) {
        for f in &mut self.flows {
            if matches!(f.msp, Some(Msp::More { .. })) {
                f.msp = None;
            }
        }
    }

    /// Labels a segment of `dir` (0 or 1) starting at raw sequence number `seq`.
    /// `out_of_order`: the analysis marked it so. tshark adds such a segment to a message
    /// in progress, but does not decode anything it would have to decode itself (a new
    /// message, or the message it completes).
    pub fn segment(&mut self, dir: usize, seq: u32, payload: &[u8], out_of_order: bool) -> Label {
        let dir = dir.min(1);
        if payload.is_empty() {
            return Label::Plain;
        }
        let end = seq.wrapping_add(payload.len() as u32);
        match self.flows[dir].msp.take() {
            Some(Msp::Body {
                start,
                total,
                mut ranges,
                protocol,
                info,
            }) if !gt(start, seq) && gt(start.wrapping_add(total), seq) => {
                let off = seq.wrapping_sub(start);
                let upto = if gt(end, start.wrapping_add(total)) {
                    total
                } else {
                    end.wrapping_sub(start)
                };
                if !add_range(&mut ranges, off, upto) {
                    return Label::SegmentOf(None);
                }
                let label = if ranges == [(0, total)] {
                    if out_of_order {
                        return Label::Plain;
                    }
                    Label::Complete { protocol, info }
                } else {
                    self.flows[dir].msp = Some(Msp::Body {
                        start,
                        total,
                        ranges,
                        protocol,
                        info,
                    });
                    Label::SegmentOf(None)
                };
                if upto < end.wrapping_sub(start) && matches!(label, Label::Complete { .. }) {
                    // Another message starts inside this segment: keep its state; the
                    // frame is named after the one it completes.
                    let rest = &payload[(upto - off) as usize..];
                    let _ = self.fresh(dir, start.wrapping_add(total), rest);
                }
                label
            }
            Some(Msp::More { start, buf, next }) if out_of_order => {
                self.flows[dir].msp = Some(Msp::More { start, buf, next });
                Label::Plain
            }
            Some(Msp::More {
                start,
                mut buf,
                next,
            }) if next == seq => {
                if buf.len() + payload.len() > MAX_HEADER_BUF {
                    return Label::SegmentOf(None);
                }
                buf.extend_from_slice(payload);
                self.message(dir, start, buf)
            }
            other if out_of_order => {
                self.flows[dir].msp = other;
                Label::Plain
            }
            // Anything else starts afresh (a message in progress that this segment does
            // not continue is given up, as tshark's lookup would not find it either).
            _ => self.fresh(dir, seq, payload),
        }
    }

    fn fresh(&mut self, dir: usize, seq: u32, payload: &[u8]) -> Label {
        self.message(dir, seq, payload.to_vec())
    }

    /// Decides what the bytes of a message starting at `start` (all of them so far,
    /// ending with the current segment's) make of the current segment.
    fn message(&mut self, dir: usize, start: u32, buf: Vec<u8>) -> Label {
        let head_pending = self.heads.front().copied().unwrap_or(false);
        let next = start.wrapping_add(buf.len() as u32);
        let parsed = parse(&buf, head_pending);
        if let Parse::Headers { line } | Parse::Message { line, .. } = &parsed
            && !line.starts_with("HTTP/")
        {
            self.seen_request = true;
        }
        match parsed {
            Parse::Binary if self.seen_request => Label::Continuation,
            Parse::Binary => Label::Plain,
            Parse::NotHttp => Label::Continuation,
            Parse::NeedLine => {
                self.flows[dir].msp = Some(Msp::More { start, buf, next });
                Label::SegmentOf(None)
            }
            Parse::Headers { line } => {
                self.flows[dir].msp = Some(Msp::More { start, buf, next });
                Label::SegmentOf(Some(line))
            }
            Parse::Chunked {
                line,
                protocol,
                info,
                done,
                request,
            } => {
                // A chunked message is examined again with each segment: it is
                // accounted for once, when complete.
                if done {
                    self.account(request);
                    Label::Complete { protocol, info }
                } else {
                    self.flows[dir].msp = Some(Msp::More { start, buf, next });
                    Label::SegmentOf(Some(line))
                }
            }
            Parse::Message {
                line,
                total,
                protocol,
                info,
                request,
            } => {
                self.account(request);
                let total = total.unwrap_or(buf.len());
                if total <= buf.len() {
                    if total < buf.len() {
                        let rest = buf[total..].to_vec();
                        let _ = self.fresh(dir, start.wrapping_add(total as u32), &rest);
                    }
                    return Label::Complete { protocol, info };
                }
                let Ok(total) = u32::try_from(total) else {
                    return Label::SegmentOf(Some(line));
                };
                self.flows[dir].msp = Some(Msp::Body {
                    start,
                    total,
                    ranges: vec![(0, buf.len() as u32)],
                    protocol,
                    info,
                });
                Label::SegmentOf(Some(line))
            }
        }
    }

    /// Notes a parsed request (queued: is it HEAD?) or response (answers the oldest).
    fn account(&mut self, request: Option<bool>) {
        match request {
            Some(head) => {
                if self.heads.len() >= MAX_PENDING_HEADS {
                    self.heads.pop_front();
                }
                self.heads.push_back(head);
            }
            None => {
                self.heads.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(info: &str) -> Label {
        Label::Complete {
            protocol: "HTTP".into(),
            info: info.into(),
        }
    }

    #[test]
    fn request_in_one_segment() {
        let mut h = HttpConn::default();
        let l = h.segment(0, 1000, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false);
        assert_eq!(l, complete("GET / HTTP/1.1 "));
    }

    #[test]
    fn response_over_three_segments_completes_in_the_last() {
        let mut h = HttpConn::default();
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 10\r\n\r\n0123";
        assert_eq!(
            h.segment(1, 5000, head, false),
            Label::SegmentOf(Some("HTTP/1.1 200 OK".into()))
        );
        let next = 5000 + head.len() as u32;
        assert_eq!(h.segment(1, next, b"456", false), Label::SegmentOf(None));
        assert_eq!(
            h.segment(1, next + 3, b"789", false),
            complete("HTTP/1.1 200 OK  (text/html)")
        );
        // The next response starts fresh.
        assert_eq!(
            h.segment(1, next + 6, b"HTTP/1.1 304 Not Modified\r\n\r\n", false),
            complete("HTTP/1.1 304 Not Modified ")
        );
    }

    #[test]
    fn out_of_order_segments_fill_a_message_but_decode_nothing() {
        let mut h = HttpConn::default();
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n";
        let body = 1 + head.len() as u32;
        assert!(matches!(
            h.segment(1, 1, head, false),
            Label::SegmentOf(Some(_))
        ));
        assert_eq!(
            h.segment(1, body + 3, b"345", false),
            Label::SegmentOf(None)
        );
        // Completing it out of order: added, but the message is not shown.
        assert_eq!(h.segment(1, body, b"012", true), Label::Plain);
        // Nor is a new message that arrives out of order.
        assert_eq!(
            h.segment(1, 500, b"GET / HTTP/1.1\r\n\r\n", true),
            Label::Plain
        );
    }

    #[test]
    fn a_lost_segment_keeps_the_message_open_until_it_is_filled() {
        let mut h = HttpConn::default();
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: audio/wav\r\n\r\n";
        let s = 7u32;
        assert!(matches!(
            h.segment(1, s, head, false),
            Label::SegmentOf(Some(_))
        ));
        let body = s + head.len() as u32;
        assert_eq!(
            h.segment(1, body + 3, b"345", false),
            Label::SegmentOf(None)
        );
        assert_eq!(
            h.segment(1, body, b"012", false),
            complete("HTTP/1.1 200 OK  (audio/wav)")
        );
    }

    #[test]
    fn wraps_past_2_pow_32() {
        let mut h = HttpConn::default();
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n";
        let s = u32::MAX - 10;
        assert!(matches!(
            h.segment(1, s, head, false),
            Label::SegmentOf(Some(_))
        ));
        let body = s.wrapping_add(head.len() as u32);
        assert_eq!(h.segment(1, body, b"0123", false), Label::SegmentOf(None));
        assert!(matches!(
            h.segment(1, body.wrapping_add(4), b"4567", false),
            Label::Complete { .. }
        ));
    }

    #[test]
    fn media_types_as_tshark_names_them() {
        let mut h = HttpConn::default();
        let mut resp = |ct: &str| {
            let r = format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: 2\r\n\r\nab");
            h.segment(1, 1, r.as_bytes(), false)
        };
        assert_eq!(
            resp("application/json"),
            Label::Complete {
                protocol: "HTTP/JSON".into(),
                info: "HTTP/1.1 200 OK , JavaScript Object Notation (application/json)".into()
            }
        );
        assert_eq!(
            resp("image/svg+xml"),
            Label::Complete {
                protocol: "HTTP/XML".into(),
                info: "HTTP/1.1 200 OK ".into()
            }
        );
        assert_eq!(resp("image/png"), complete("HTTP/1.1 200 OK  (PNG)"));
        assert_eq!(
            resp("application/octet-stream"),
            complete("HTTP/1.1 200 OK ")
        );
    }

    #[test]
    fn head_responses_have_no_body() {
        let mut h = HttpConn::default();
        h.segment(0, 1, b"HEAD /x HTTP/1.1\r\n\r\n", false);
        let l = h.segment(
            1,
            1,
            b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\nContent-Type: text/css\r\n\r\n",
            false,
        );
        assert_eq!(l, complete("HTTP/1.1 200 OK "));
    }

    #[test]
    fn continuation_and_unfinished_lines() {
        let mut h = HttpConn::default();
        assert_eq!(
            h.segment(1, 1, b"<p>hello</p>\n", false),
            Label::Continuation
        );
        // No line end yet: tshark waits for one (CR counts, but not a final one).
        assert_eq!(h.segment(1, 100, b"abc\x01", false), Label::SegmentOf(None));
        assert_eq!(h.segment(1, 104, b"more\r", false), Label::SegmentOf(None));
        assert_eq!(h.segment(1, 109, b"x", false), Label::Continuation);
        // Binary payload is not HTTP until a request was seen; then it continues one.
        assert_eq!(h.segment(1, 200, b"\x00\x01\n", false), Label::Plain);
        h.segment(0, 1, b"GET / HTTP/1.1\r\n\r\n", false);
        assert_eq!(h.segment(1, 300, b"\x00\x01\n", false), Label::Continuation);
    }

    #[test]
    fn headers_split_over_segments() {
        let mut h = HttpConn::default();
        assert_eq!(
            h.segment(0, 1, b"GET /a HTTP/1.1\r\nHo", false),
            Label::SegmentOf(Some("GET /a HTTP/1.1".into()))
        );
        assert_eq!(
            h.segment(0, 20, b"st: x\r\n\r\n", false),
            complete("GET /a HTTP/1.1 ")
        );
    }

    #[test]
    fn garbage_never_panics_and_memory_stays_bounded() {
        let mut s = 88172645463325252u64;
        let mut h = HttpConn::default();
        for i in 0..20_000u32 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let n = (s % 1500) as usize;
            let bytes: Vec<u8> = (0..n).map(|k| (s >> (k % 56)) as u8).collect();
            let mut payload = if i % 5 == 0 {
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n".to_vec()
            } else {
                Vec::new()
            };
            payload.extend(bytes);
            let _ = h.segment(
                (s % 2) as usize,
                (s >> 20) as u32,
                &payload,
                s.is_multiple_of(7),
            );
            for f in &h.flows {
                if let Some(Msp::More { buf, .. }) = &f.msp {
                    assert!(buf.len() <= MAX_HEADER_BUF);
                }
                if let Some(Msp::Body { ranges, .. }) = &f.msp {
                    assert!(ranges.len() <= MAX_RANGES);
                }
            }
            assert!(h.heads.len() <= MAX_PENDING_HEADS);
        }
    }
}
