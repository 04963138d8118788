//! What HTTP makes of segments, as data. Every expectation is what tshark 4.0.17 showed
//! for the same bytes (captures made while writing these; the listing's text for them
//! is checked in `trace::tests` and against tshark in tests/trace.rs).

use super::*;

fn head(line: &str, ct: Option<&str>) -> Head {
    Head {
        line: line.into(),
        content_type: ct.map(str::to_string),
    }
}

fn done(line: &str, ct: Option<&str>, has_body: bool, starts_here: bool) -> Message {
    Message {
        head: head(line, ct),
        has_body,
        starts_here,
    }
}

fn one(m: Message) -> Option<HttpPart> {
    Some(HttpPart::Messages {
        done: vec![m],
        tail: None,
    })
}

fn http() -> HttpConn {
    HttpConn::new(true)
}

#[test]
fn request_in_one_segment() {
    let mut h = http();
    let l = h.segment(0, 1000, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert_eq!(l, one(done("GET / HTTP/1.1", None, false, true)));
}

#[test]
fn response_over_three_segments_completes_in_the_last() {
    let mut h = http();
    let head_bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 10\r\n\r\n0123";
    let ct = Some("text/html; charset=utf-8");
    assert_eq!(
        h.segment(1, 5000, head_bytes, false),
        Some(HttpPart::SegmentOf(Some(head("HTTP/1.1 200 OK", ct))))
    );
    let next = 5000 + head_bytes.len() as u32;
    assert_eq!(
        h.segment(1, next, b"456", false),
        Some(HttpPart::SegmentOf(None))
    );
    let last = h.segment(1, next + 3, b"789", false);
    assert_eq!(last, one(done("HTTP/1.1 200 OK", ct, true, false)));
    assert_eq!(last.unwrap().head_at_start(), None, "it started earlier");
    // The next response starts fresh.
    assert_eq!(
        h.segment(1, next + 6, b"HTTP/1.1 304 Not Modified\r\n\r\n", false),
        one(done("HTTP/1.1 304 Not Modified", None, false, true))
    );
}

#[test]
fn out_of_order_segments_fill_a_message_but_decode_nothing() {
    let mut h = http();
    let head_bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n";
    let body = 1 + head_bytes.len() as u32;
    assert!(matches!(
        h.segment(1, 1, head_bytes, false),
        Some(HttpPart::SegmentOf(Some(_)))
    ));
    assert_eq!(
        h.segment(1, body + 3, b"345", false),
        Some(HttpPart::SegmentOf(None))
    );
    // Completing it out of order: added, but the message is not shown.
    assert_eq!(h.segment(1, body, b"012", true), None);
    // Nor is a new message that arrives out of order.
    assert_eq!(h.segment(1, 500, b"GET / HTTP/1.1\r\n\r\n", true), None);
}

#[test]
fn a_lost_segment_keeps_the_message_open_until_it_is_filled() {
    let mut h = http();
    let head_bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: audio/wav\r\n\r\n";
    let s = 7u32;
    assert!(matches!(
        h.segment(1, s, head_bytes, false),
        Some(HttpPart::SegmentOf(Some(_)))
    ));
    let body = s + head_bytes.len() as u32;
    assert_eq!(
        h.segment(1, body + 3, b"345", false),
        Some(HttpPart::SegmentOf(None))
    );
    assert_eq!(
        h.segment(1, body, b"012", false),
        one(done("HTTP/1.1 200 OK", Some("audio/wav"), true, false))
    );
}

#[test]
fn wraps_past_2_pow_32() {
    let mut h = http();
    let head_bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n";
    let s = u32::MAX - 10;
    assert!(matches!(
        h.segment(1, s, head_bytes, false),
        Some(HttpPart::SegmentOf(Some(_)))
    ));
    let body = s.wrapping_add(head_bytes.len() as u32);
    assert_eq!(
        h.segment(1, body, b"0123", false),
        Some(HttpPart::SegmentOf(None))
    );
    assert!(matches!(
        h.segment(1, body.wrapping_add(4), b"4567", false),
        Some(HttpPart::Messages { .. })
    ));
}

#[test]
fn head_responses_have_no_body() {
    let mut h = http();
    h.segment(0, 1, b"HEAD /x HTTP/1.1\r\n\r\n", false);
    let l = h.segment(
        1,
        1,
        b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\nContent-Type: text/css\r\n\r\n",
        false,
    );
    assert_eq!(
        l,
        one(done("HTTP/1.1 200 OK", Some("text/css"), false, true))
    );
}

#[test]
fn bytes_that_are_no_message_are_continuation_only_after_a_request() {
    let mut h = http();
    // Before any request: TCP (tshark 4.0 rejects them), binary or text alike, also once
    // an unfinished line is completed.
    assert_eq!(h.segment(1, 1, b"<p>hello</p>\n", false), None);
    assert_eq!(h.segment(1, 14, b"\x00\x01\n", false), None);
    assert_eq!(
        h.segment(1, 100, b"abc\x01", false),
        Some(HttpPart::SegmentOf(None))
    );
    assert_eq!(
        h.segment(1, 104, b"more\r", false),
        Some(HttpPart::SegmentOf(None))
    );
    assert_eq!(h.segment(1, 109, b"x", false), None);
    // A response does not count; a request does.
    assert!(
        h.segment(
            1,
            200,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            false
        )
        .is_some()
    );
    assert_eq!(h.segment(1, 300, b"garbage\r\n", false), None);
    h.segment(0, 1, b"GET / HTTP/1.1\r\n\r\n", false);
    assert_eq!(
        h.segment(1, 400, b"\x00\x01\n", false),
        Some(HttpPart::Continuation)
    );
    assert_eq!(
        h.segment(0, 19, b"hello\r\n", false),
        Some(HttpPart::Continuation)
    );
}

#[test]
fn headers_split_over_segments() {
    let mut h = http();
    assert_eq!(
        h.segment(0, 1, b"GET /a HTTP/1.1\r\nHo", false),
        Some(HttpPart::SegmentOf(Some(head("GET /a HTTP/1.1", None))))
    );
    assert_eq!(
        h.segment(0, 20, b"st: x\r\n\r\n", false),
        one(done("GET /a HTTP/1.1", None, false, false))
    );
}

#[test]
fn pipelined_messages_are_all_named_and_a_started_one_too() {
    let mut h = http();
    assert_eq!(
        h.segment(
            0,
            1,
            b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
            false
        ),
        Some(HttpPart::Messages {
            done: vec![
                done("GET /a HTTP/1.1", None, false, true),
                done("GET /b HTTP/1.1", None, false, true)
            ],
            tail: None
        })
    );
    // The end of a body, a whole response, and one whose body goes on.
    let first = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nab";
    h.segment(1, 1, first, false);
    let second = b"cHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\ny";
    let s2 = 1 + first.len() as u32;
    assert_eq!(
        h.segment(1, s2, second, false),
        Some(HttpPart::Messages {
            done: vec![
                done("HTTP/1.1 200 OK", Some("text/plain"), true, false),
                done("HTTP/1.1 200 OK", None, true, true)
            ],
            tail: Some(Tail::Starts(head("HTTP/1.1 200 OK", None)))
        })
    );
    assert_eq!(
        h.segment(1, s2 + second.len() as u32, b"zzzz", false),
        one(done("HTTP/1.1 200 OK", None, true, false))
    );
    // A request cut inside its start line is not named where it starts.
    let mut h = http();
    assert_eq!(
        h.segment(0, 1, b"GET /a HTTP/1.1\r\n\r\nGET /b HT", false),
        one(done("GET /a HTTP/1.1", None, false, true))
    );
    assert_eq!(
        h.segment(0, 29, b"TP/1.1\r\n\r\n", false),
        one(done("GET /b HTTP/1.1", None, false, false))
    );
    // Bytes after a complete message that are none: Continuation.
    let mut h = http();
    h.segment(0, 1, b"GET /a HTTP/1.1\r\n\r\n", false);
    assert_eq!(
        h.segment(
            1,
            1,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nbgarbage\r\n",
            false
        ),
        Some(HttpPart::Messages {
            done: vec![done("HTTP/1.1 200 OK", None, true, true)],
            tail: Some(Tail::Continuation)
        })
    );
}

#[test]
fn a_response_without_a_length_runs_until_the_fin() {
    let mut h = http();
    h.segment(0, 1, b"GET / HTTP/1.1\r\n\r\n", false);
    let start = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<p>";
    assert_eq!(
        h.segment(1, 1, start, false),
        Some(HttpPart::SegmentOf(Some(head(
            "HTTP/1.0 200 OK",
            Some("text/html")
        ))))
    );
    assert_eq!(
        h.segment(1, 1 + start.len() as u32, b"more</p>", false),
        Some(HttpPart::SegmentOf(None))
    );
    assert_eq!(h.fin(0), None, "the client's FIN ends nothing");
    assert_eq!(
        h.fin(1),
        one(done("HTTP/1.0 200 OK", Some("text/html"), true, false))
    );
    assert_eq!(h.fin(1), None);
    // Without any body bytes.
    let mut h = http();
    h.segment(1, 1, b"HTTP/1.1 200\r\n\r\n", false);
    assert_eq!(h.fin(1), one(done("HTTP/1.1 200", None, false, false)));
}

#[test]
fn a_connect_answered_2xx_makes_a_tunnel() {
    let mut h = http();
    h.segment(0, 1, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n", false);
    // Sent before the answer: still HTTP's.
    assert_eq!(
        h.segment(0, 38, b"hello\r\n", false),
        Some(HttpPart::Continuation)
    );
    // A 2xx to CONNECT has no body, length or not.
    assert_eq!(
        h.segment(1, 1, b"HTTP/1.1 200 Connection established\r\n\r\n", false),
        one(done(
            "HTTP/1.1 200 Connection established",
            None,
            false,
            true
        ))
    );
    assert_eq!(
        h.segment(1, 40, b"\x16\x03\x03\x00\x02ok", false),
        Some(HttpPart::Tunnelled)
    );
    assert_eq!(
        h.segment(0, 45, b"\x00\x01 tunnelled bytes", false),
        Some(HttpPart::Tunnelled)
    );
    // A segment in the tunnel that passes the heuristic is HTTP again, that one alone.
    assert_eq!(
        h.segment(0, 65, b"GET / HTTP/1.1\r\n\r\n", false),
        one(done("GET / HTTP/1.1", None, false, true))
    );
    assert_eq!(
        h.segment(1, 47, b"\n\r\n\r1.1/PTTH / TEG", false),
        Some(HttpPart::Tunnelled)
    );
    // A refused CONNECT leaves HTTP in charge.
    let mut h = http();
    h.segment(0, 1, b"CONNECT a:1 HTTP/1.1\r\n\r\n", false);
    h.segment(
        1,
        1,
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(
        h.segment(0, 26, b"x\r\n", false),
        Some(HttpPart::Continuation)
    );
}

#[test]
fn off_the_http_ports_a_connection_is_http_once_the_heuristic_matches() {
    let mut h = HttpConn::new(false);
    assert_eq!(h.segment(0, 1, b"hello\r\n", false), None);
    // Matches the heuristic but is no request: TCP, yet the connection is HTTP's now.
    assert_eq!(h.segment(0, 8, b"FOO / HTTP/1.1\r\n\r\n", false), None);
    assert_eq!(
        h.segment(1, 1, b"x", false),
        Some(HttpPart::SegmentOf(None))
    );
    let mut h = HttpConn::new(false);
    assert_eq!(
        h.segment(0, 1, b"GET / HTTP/1.0\r\n\r\n", false),
        one(done("GET / HTTP/1.0", None, false, true))
    );
}

#[test]
fn garbage_never_panics_and_memory_stays_bounded() {
    let mut s = 88172645463325252u64;
    let mut h = HttpConn::new(false);
    for i in 0..20_000u32 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let n = (s % 1500) as usize;
        let bytes: Vec<u8> = (0..n).map(|k| (s >> (k % 56)) as u8).collect();
        let mut payload = match i % 5 {
            0 => b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n".to_vec(),
            1 => b"GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n".to_vec(),
            2 => b"HTTP/1.0 200 OK\r\n\r\n".to_vec(),
            _ => Vec::new(),
        };
        payload.extend(bytes);
        let dir = (s % 2) as usize;
        let _ = h.segment(dir, (s >> 20) as u32, &payload, s.is_multiple_of(7));
        if s.is_multiple_of(11) {
            let _ = h.fin(dir);
        }
        for m in h.msp.iter().flatten() {
            match m {
                Msp::More { buf, .. } => assert!(buf.len() <= MAX_HEADER_BUF + 1500),
                Msp::Body { ranges, .. } => assert!(ranges.len() <= MAX_RANGES),
                Msp::UntilClose { .. } => {}
            }
        }
        assert!(h.requests.len() <= MAX_PENDING_REQUESTS);
    }
}

#[test]
fn media_types_are_read_without_parameters() {
    assert_eq!(
        head("x", Some("Text/HTML; charset=utf-8"))
            .media_type()
            .as_deref(),
        Some("text/html")
    );
    assert_eq!(head("x", Some(" ; q")).media_type(), None);
    assert_eq!(head("x", None).media_type(), None);
}

#[test]
fn an_empty_line_before_a_message_is_skipped_and_counted() {
    let mut h = http();
    assert_eq!(
        h.segment(0, 1, b"\r\nGET / HTTP/1.1\r\n\r\n", false),
        one(done("GET / HTTP/1.1", None, false, true))
    );
    assert_eq!(
        h.segment(
            1,
            1,
            b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            false
        ),
        one(done("HTTP/1.1 200 OK", None, true, true))
    );
}
