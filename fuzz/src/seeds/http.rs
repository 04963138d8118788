//! The `http` target's seeds: requests a browser, curl or a careless client sends, each
//! a settings byte and records ([`crate::http`]).

use crate::records::{Control, encode};

/// One record: (time step, FIN after, repeat ×64, small writes), bytes.
type Piece<'a> = ((u8, bool, bool, bool), &'a [u8]);

fn input(settings: u8, pieces: &[Piece]) -> Vec<u8> {
    let mut v = vec![settings];
    for &((step, fin, repeat, small), bytes) in pieces {
        encode(&mut v, Control::new(step, [fin, repeat, small]), bytes);
    }
    v
}

const SOON: (u8, bool, bool, bool) = (3, false, false, false);
const FIN: (u8, bool, bool, bool) = (3, true, false, false);

/// The `http` target's seeds.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let one =
        |name: &str, settings: u8, req: &[u8]| (name.to_string(), input(settings, &[(SOON, req)]));
    let mut out = vec![
        one("get", 0, b"GET / HTTP/1.1\r\nHost: 192.168.69.1\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n"),
        one("head", 0, b"HEAD /style.css HTTP/1.1\r\nHost: a\r\n\r\n"),
        one("http10", 0, b"GET /logo.svg HTTP/1.0\r\n\r\n"),
        one("http09", 0, b"GET /\r\n"),
        one("http12", 0, b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
        one("http2-version", 0, b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        one(
            "pipelined",
            0,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /style.css HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        ),
        one("range-open", 0, b"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-\r\n\r\n"),
        one("range-suffix", 0, b"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=-10\r\n\r\n"),
        one("range-several", 0, b"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1,5-9\r\n\r\n"),
        one("range-unsatisfiable", 0, b"GET /style.css HTTP/1.1\r\nHost: a\r\nRange: bytes=9999-\r\n\r\n"),
        one(
            "if-range",
            0,
            b"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=5-9\r\nIf-Range: \"x\"\r\n\r\n",
        ),
        one(
            "conditional",
            0,
            b"GET /logo.svg HTTP/1.1\r\nHost: a\r\nIf-None-Match: W/\"1\", *\r\nIf-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n",
        ),
        one(
            "post-body",
            0,
            b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        one(
            "chunked-body",
            0,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        one("te-and-length", 0, b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"),
        one("bad-host", 0, b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        one("two-hosts", 0, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        one("no-host", 0, b"GET / HTTP/1.1\r\n\r\n"),
        one("absolute-form", 0, b"GET http://192.168.69.1/sub/ HTTP/1.1\r\nHost: 192.168.69.1\r\n\r\n"),
        one(
            "paths",
            0,
            b"GET /x/../index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /./style.css HTTP/1.1\r\nHost: a\r\n\r\nGET //logo.svg HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        one(
            "escapes",
            0,
            b"GET /escape.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /%2e%2e/outside.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /.secret HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        one(
            "dirs",
            0,
            b"GET /sub HTTP/1.1\r\nHost: a\r\n\r\nGET /sublink/ HTTP/1.1\r\nHost: a\r\n\r\nGET /emptydir/ HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        one("percent", 0, b"GET /st%79le.css?x=%00 HTTP/1.1\r\nHost: a\r\n\r\nGET /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n"),
        one("methods", 0, b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nBREW / HTTP/1.1\r\nHost: a\r\n\r\n"),
        one("bare-lf", 0, b"GET / HTTP/1.1\nHost: a\n\n"),
        one("expect", 0, b"PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"),
        one("server-first", 1, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ];
    // A request in pieces with time between them, the last after the request timeout.
    out.push((
        "slow".into(),
        input(
            8,
            &[
                ((7, false, false, false), b"GET / HT"),
                ((7, false, false, false), b"TP/1.1\r\nHo"),
                ((9, false, false, false), b"st: a\r\n"),
            ],
        ),
    ));
    // A long request line and a long header block, by repetition.
    out.push((
        "long-line".into(),
        input(0, &[(SOON, b"GET /"), ((3, false, true, false), b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]),
    ));
    out.push((
        "many-headers".into(),
        input(
            0,
            &[
                (SOON, b"GET / HTTP/1.1\r\nHost: a\r\n"),
                (
                    (3, false, true, false),
                    b"X-Filler: abcdefghijklmnopqrstuvwxyz0123456789\r\n",
                ),
                (
                    (3, false, true, false),
                    b"X-More: abcdefghijklmnopqrstuvwxyz0123456789\r\n",
                ),
                (SOON, b"\r\n"),
            ],
        ),
    ));
    // The big file through small writes, then idle until keep-alive closes.
    out.push((
        "big-small-writes".into(),
        input(
            4,
            &[
                (
                    (3, false, false, true),
                    b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n",
                ),
                ((8, false, false, false), b""),
            ],
        ),
    ));
    out.push((
        "fin-mid-request".into(),
        input(0, &[(FIN, b"GET / HTTP/1.1\r\nHost")]),
    ));
    out.push((
        "nul".into(),
        input(0, &[(SOON, b"GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n")]),
    ));
    out
}
