//! Target `http`: request bytes into one [`HttpConnection`], driven as the server drives
//! it, over the fuzz [`site`].
//!
//! Input: one byte of HTTP settings ([`config`]), then [`records`]: the bytes the peer
//! sends, cut where the records cut them. For each record:
//! 1. its bytes (64 times over with control flag 1, to reach the size limits) join what
//!    the peer has sent and the server not yet read (at most a receive window,
//!    [`WINDOW`]; the peer cannot send beyond it); with control flag 0 the peer's FIN
//!    follows them and it sends nothing more;
//! 2. the server steps as `Server::step` drives a connection: read as much as
//!    [`HttpConnection::input_room`] allows, tell it of the FIN once everything before
//!    the FIN is read, poll, write its output into the transport (at most 113 bytes per
//!    write with control flag 2, else 16 KiB), and again while anything moved;
//! 3. time runs on by the record's step, the connection stepped at each of its
//!    deadlines on the way. What was written counts as acknowledged once time has moved.
//!
//! When the connection answers [`Verdict::Close`], the server would close: the input
//! ends there. Bounds: [`records::MAX_RECORDS`] pieces, [`MAX_WRITES`] writes per input,
//! [`MAX_DEADLINES`] deadlines per record, [`MAX_ROUNDS`] rounds per step.
//!
//! The oracle (`Responses`): the output must be exactly the logged responses one after
//! another — each access record's status in a complete head, followed by exactly the body
//! bytes it counts, which are what the head's Content-Length says (but for HEAD, 1xx,
//! 204 and 304; interim 1xx responses, which are not logged, are skipped).
//! A client reading a pipelined connection relies on that framing.

use crate::records;
use crate::site::site;
use std::time::Duration;
use taplab::clock::VIRTUAL_EPOCH;
use taplab::http::{AccessRecord, HttpConfig, HttpConnection, Instant, Site, Verdict};

/// Most `write_output` calls per input (a 96 KiB file in 113-byte writes is ~870).
pub const MAX_WRITES: u32 = 20_000;
/// Most deadlines met while one record's time runs.
pub const MAX_DEADLINES: u32 = 16;
/// Rounds of one step, as the server's own bound on a step.
pub const MAX_ROUNDS: u32 = 64;
/// The most the peer can have sent that the server has not read: our receive window.
pub const WINDOW: usize = 64 * 1024;

/// HTTP settings from the first byte: bit 0 `Connection: close` on every response
/// (`--close server-first`); bits 1–2 the keep-alive timeout (5 s, none, 1 s, 60 s);
/// bit 3 a request timeout of 1 s instead of 10 s.
pub fn config(b: u8) -> HttpConfig {
    HttpConfig {
        close_after_response: b & 1 != 0,
        keep_alive_timeout: [Some(5), None, Some(1), Some(60)][usize::from((b >> 1) & 3)]
            .map(Duration::from_secs),
        request_timeout: Duration::from_secs(if b & 8 != 0 { 1 } else { 10 }),
        ..HttpConfig::default()
    }
}

/// The connection and what drives it.
struct Driver {
    conn: HttpConnection,
    site: Site,
    config: HttpConfig,
    now: Instant,
    /// Sent by the peer, not yet read by the server.
    pending: Vec<u8>,
    /// The peer's FIN follows `pending`.
    fin: bool,
    /// The connection has been told of the FIN.
    told_fin: bool,
    /// Bytes written that the peer has not acknowledged yet.
    unacknowledged: bool,
    writes: u32,
    /// The most one write may take.
    window: usize,
    responses: Responses,
    buf: Vec<u8>,
}

pub fn run(data: &[u8]) {
    statuses(data);
}

/// [`run`], returning the status of every response the connection logged.
pub fn statuses(data: &[u8]) -> Vec<u16> {
    let Some((&settings, rest)) = data.split_first() else {
        return Vec::new();
    };
    let now = VIRTUAL_EPOCH;
    let mut d = Driver {
        conn: HttpConnection::new(now),
        site: site(),
        config: config(settings),
        now,
        pending: Vec::new(),
        fin: false,
        told_fin: false,
        unacknowledged: false,
        writes: 0,
        window: 16 * 1024,
        responses: Responses::default(),
        buf: vec![0; 16 * 1024],
    };
    for (control, piece) in records::decode(rest) {
        d.window = if control.bit(2) { 113 } else { 16 * 1024 };
        if !d.fin {
            let times = if control.bit(1) { 64 } else { 1 };
            for _ in 0..times {
                let room = WINDOW - d.pending.len();
                d.pending.extend_from_slice(&piece[..piece.len().min(room)]);
            }
            d.fin = control.bit(0);
        }
        if d.step() == Verdict::Close || !d.advance(control.wait()) {
            break;
        }
    }
    d.responses.statuses
}

impl Driver {
    /// One step of the server for this connection: rounds while anything moves.
    fn step(&mut self) -> Verdict {
        for _ in 0..MAX_ROUNDS {
            let (verdict, moved) = self.round();
            if verdict == Verdict::Close || !moved {
                return verdict;
            }
        }
        Verdict::Continue
    }

    /// One round, as `Server::drive` makes it: read, FIN, poll, write, check the log.
    /// Close once the output is written; also when the write budget is spent (the input
    /// ends there).
    fn round(&mut self) -> (Verdict, bool) {
        let mut moved = false;
        let n = self.conn.input_room().min(self.pending.len());
        if n > 0 {
            self.conn.receive(&self.pending[..n], self.now);
            self.pending.drain(..n);
            moved = true;
        }
        if self.fin && self.pending.is_empty() && !self.told_fin {
            self.conn.peer_closed();
            self.told_fin = true;
            moved = true;
        }
        self.conn.set_unacknowledged(self.unacknowledged, self.now);
        let mut verdict = self.conn.poll(&self.site, &self.config, self.now);
        while self.conn.has_output() {
            if self.writes >= MAX_WRITES {
                return (Verdict::Close, moved);
            }
            self.writes += 1;
            let n = self
                .conn
                .write_output(&mut self.buf[..self.window], self.now);
            if n == 0 {
                break;
            }
            moved = true;
            self.unacknowledged = true;
            self.responses.written(&self.buf[..n]);
            if !self.conn.has_output() {
                verdict = self.conn.poll(&self.site, &self.config, self.now);
            }
        }
        for r in self.conn.take_log() {
            self.responses.logged(&r);
        }
        (verdict, moved)
    }

    /// Lets `by` pass, stepping at the connection's deadlines on the way. False when it
    /// closed.
    fn advance(&mut self, by: smoltcp::time::Duration) -> bool {
        let target = self.now + by;
        if by > smoltcp::time::Duration::ZERO {
            // Time passes: the peer has acknowledged what was written.
            self.unacknowledged = false;
        }
        for _ in 0..MAX_DEADLINES {
            match self.conn.next_deadline(&self.config) {
                Some(t) if t > self.now && t <= target => self.now = t,
                _ => break,
            }
            if self.step() == Verdict::Close {
                return false;
            }
        }
        self.now = target;
        self.step() != Verdict::Close
    }
}

/// The response stream as a client reads it, checked against the access log.
#[derive(Default)]
struct Responses {
    /// Written, not yet matched to an access record.
    unread: Vec<u8>,
    /// Each logged response's status.
    statuses: Vec<u16>,
}

impl Responses {
    fn written(&mut self, b: &[u8]) {
        self.unread.extend_from_slice(b);
    }

    /// The next response in the stream must be the one `r` records (interim 1xx
    /// responses before it are not logged, and are skipped).
    fn logged(&mut self, r: &AccessRecord) {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut head = httparse::Response::new(&mut headers);
            match head.parse(&self.unread) {
                Ok(httparse::Status::Complete(n))
                    if head.code.is_some_and(|c| (100..200).contains(&c))
                        && !(100..200).contains(&r.status) =>
                {
                    self.unread.drain(..n);
                }
                _ => break,
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut head = httparse::Response::new(&mut headers);
        let head_len = match head.parse(&self.unread) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!(
                "logged {} {} {} but the output does not start with a complete response head ({other:?}): {:?}",
                r.method,
                r.target,
                r.status,
                String::from_utf8_lossy(&self.unread[..self.unread.len().min(300)])
            ),
        };
        assert_eq!(
            head.code,
            Some(r.status),
            "the response's status differs from the logged one for {} {}",
            r.method,
            r.target
        );
        let length = head
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .map(|h| String::from_utf8_lossy(h.value).trim().parse::<u64>());
        let body = r.bytes;
        // Responses without content (RFC 9110 §6.4.1): HEAD, 1xx, 204, 304.
        if r.method != "HEAD" && !matches!(r.status, 100..=199 | 204 | 304) {
            match length {
                Some(Ok(n)) => assert_eq!(
                    n, body,
                    "{} {} -> {}: Content-Length {n} but {body} body bytes written",
                    r.method, r.target, r.status
                ),
                Some(Err(e)) => panic!("{} {}: a bad Content-Length: {e}", r.method, r.target),
                None => panic!(
                    "{} {} -> {}: no Content-Length",
                    r.method, r.target, r.status
                ),
            }
        }
        let end = head_len as u64 + body;
        assert!(
            end <= self.unread.len() as u64,
            "{} {}: {body} body bytes logged, {} written after the head",
            r.method,
            r.target,
            self.unread.len() - head_len
        );
        self.unread.drain(..end as usize);
        self.statuses.push(r.status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Control, encode};

    fn input(settings: u8, pieces: &[(Control, &[u8])]) -> Vec<u8> {
        let mut v = vec![settings];
        for (c, p) in pieces {
            encode(&mut v, *c, p);
        }
        v
    }

    fn seed(name: &str) -> Vec<u8> {
        let all = crate::seeds::http::seeds();
        all.into_iter().find(|(n, _)| n == name).unwrap().1
    }

    /// The seeds reach what they were written for (statuses as today's server gives).
    #[test]
    fn the_seeds_get_their_statuses() {
        assert_eq!(statuses(&seed("get")), [200]);
        assert_eq!(statuses(&seed("pipelined")), [200, 200, 404]);
        assert_eq!(statuses(&seed("range-open")), [206]);
        assert_eq!(statuses(&seed("range-unsatisfiable")), [416]);
        assert_eq!(statuses(&seed("slow")), [408]);
        assert_eq!(statuses(&seed("long-line")), [414]);
        assert_eq!(statuses(&seed("many-headers")), [431]);
        assert_eq!(statuses(&seed("big-small-writes")), [200]);
        assert_eq!(statuses(&seed("server-first")), [200]);
    }

    #[test]
    fn the_oracle_accepts_what_the_server_writes_and_rejects_a_broken_stream() {
        // Pipelined, split in the middle of a header, small writes, a HEAD and a 404.
        run(&input(
            0,
            &[
                (
                    Control::new(0, [false, false, true]),
                    b"GET /big.bin HTTP/1.1\r\nHo",
                ),
                (
                    Control::new(3, [false; 3]),
                    b"st: f\r\n\r\nHEAD / HTTP/1.1\r\nHost: f\r\n\r\nGET /nope HTTP/1.1\r\nHost: f\r\n\r\n",
                ),
                (Control::new(14, [true, false, false]), b""),
            ],
        ));

        let mut r = Responses::default();
        r.written(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\n");
        let rec = |status, bytes| AccessRecord {
            method: "GET".into(),
            target: "/".into(),
            status,
            bytes,
            duration: Duration::ZERO,
        };
        r.logged(&rec(200, 3));
        let caught = std::panic::catch_unwind(move || r.logged(&rec(404, 0)));
        assert!(caught.is_err(), "an incomplete head must fail the check");

        // An interim response before the logged one is skipped; a wrong length is not.
        let mut r = Responses::default();
        r.written(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        r.logged(&rec(200, 2));
        assert!(r.unread.is_empty());
        r.written(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok");
        let caught = std::panic::catch_unwind(move || r.logged(&rec(200, 2)));
        assert!(
            caught.is_err(),
            "a Content-Length unlike the body must fail the check"
        );
    }
}
