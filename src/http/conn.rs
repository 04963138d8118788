//! The per-connection HTTP state machine.
//!
//! Data in: peer bytes via [`HttpConnection::receive`] (bounded by
//! [`HttpConnection::input_room`]), the peer's FIN via
//! [`HttpConnection::peer_closed`], and the time on every call.
//! Data out: response bytes via [`HttpConnection::write_output`], the
//! close decision via [`HttpConnection::poll`], when to call again via
//! [`HttpConnection::next_deadline`], and access records via
//! [`HttpConnection::take_log`].
//!
//! Shape: unparsed input accumulates in `inbuf`; `poll` cuts complete heads
//! off its front, discards any request body (a count or chunked framing,
//! followed by `body.rs` so the next pipelined request is found exactly; one
//! that cannot be followed closes the connection), and queues one rendered
//! response per request (at most [`MAX_QUEUED`], so a pipelining client
//! cannot make us open many files); `write_output` drains the queue front
//! to back. Once a response that needs the connection closed is queued,
//! nothing more is read, and `poll` answers `Close` once the queue is empty.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::time::Duration;

use log::{debug, warn};

use super::body::{BodySkip, MAX_SKIPPED_BODY, Progress};
use super::request::{
    Framing, HeadScanner, MAX_HEADER_BLOCK, MAX_REQUEST_LINE, Scan, log_text, parse_head,
    request_line_parts,
};
use super::response::{Body, Plan, plan_request};
use super::{AccessRecord, HttpConfig, Instant, Site, Verdict, after, elapsed};
use super::{Generator, NoGenerator};

/// Unparsed input we accept beyond the largest possible head.
const INPUT_SLACK: usize = 32 * 1024;
/// Cap on buffered unparsed input.
pub(super) const INPUT_CAP: usize = MAX_REQUEST_LINE + MAX_HEADER_BLOCK + INPUT_SLACK;
/// Responses queued at once: the one being written and one more.
pub(super) const MAX_QUEUED: usize = 2;

/// One response on its way out. Its head is in the connection's `heads`.
struct Outgoing {
    /// Bytes of the head not yet written.
    head_left: usize,
    body: Body,
    /// Access record, completed when the last byte is written.
    record: AccessRecord,
    /// When the request was complete (the start of `record.duration`).
    completed_at: Instant,
}

impl Outgoing {
    fn done(&self) -> bool {
        self.head_left == 0 && self.body.remaining() == 0
    }
}

/// Per-connection HTTP state machine. Created when a TCP connection is
/// established.
pub struct HttpConnection {
    inbuf: Vec<u8>,
    scanner: HeadScanner,
    /// The body of an answered request, still to be read and dropped.
    body: Option<BodySkip>,
    queue: VecDeque<Outgoing>,
    /// The unwritten heads of the queued responses, in order, from
    /// `heads_pos` on: one buffer reused for every response.
    heads: Vec<u8>,
    heads_pos: usize,
    /// No further request will be read; close once `queue` is empty.
    closing: bool,
    peer_closed: bool,
    /// Something happened that `poll` has not looked at yet.
    dirty: bool,
    /// When the bytes of the partial head in `inbuf` started arriving (or
    /// when we became free to answer them, if that was later).
    head_started: Option<Instant>,
    /// Last activity (input, or the response queue running empty): base of
    /// the keep-alive idle timer and of the body-skip timer.
    idle_since: Instant,
    last_rx: Instant,
    /// Latest `now` we were given: reported as an already-passed deadline
    /// when `poll` has work to do right away.
    last_seen: Instant,
    /// The transport still holds bytes we wrote that the peer has not
    /// acknowledged ([`HttpConnection::set_unacknowledged`]).
    unacknowledged: bool,
    /// A response has been queued on this connection.
    answered: bool,
    log: Vec<AccessRecord>,
}

impl HttpConnection {
    pub fn new(now: Instant) -> Self {
        HttpConnection {
            inbuf: Vec::new(),
            scanner: HeadScanner::default(),
            body: None,
            queue: VecDeque::new(),
            heads: Vec::new(),
            heads_pos: 0,
            closing: false,
            peer_closed: false,
            dirty: false,
            head_started: None,
            idle_since: now,
            last_rx: now,
            last_seen: now,
            unacknowledged: false,
            answered: false,
            log: Vec::new(),
        }
    }

    /// The transport tells whether bytes we wrote are still unacknowledged by
    /// the peer. A response is not finished until it has arrived: the
    /// keep-alive idle timer starts when the last byte is acknowledged, not
    /// when it was handed to the transport (a large response under loss can
    /// take longer than the idle timeout to get through, and closing then
    /// would send our FIN behind data still being retransmitted).
    pub fn set_unacknowledged(&mut self, unacknowledged: bool, now: Instant) {
        if self.unacknowledged && !unacknowledged {
            self.idle_since = self.idle_since.max(now);
            self.dirty = true;
        }
        self.unacknowledged = unacknowledged;
    }

    /// How many more input bytes it is willing to buffer now; 0 means the
    /// caller should stop reading so that the TCP window closes.
    pub fn input_room(&self) -> usize {
        if self.closing || self.peer_closed || self.queue.len() >= MAX_QUEUED {
            return 0;
        }
        INPUT_CAP.saturating_sub(self.inbuf.len())
    }

    /// Feeds bytes received from the peer.
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        self.last_seen = now;
        if self.closing || self.peer_closed || data.is_empty() {
            // Past a closing response the rest of the stream is ignored.
            return;
        }
        self.last_rx = now;
        self.idle_since = now;
        self.dirty = true;
        let mut data = data;
        if let Some(body) = self.body.as_mut()
            && self.inbuf.is_empty()
        {
            // Body bytes to discard need not pass through the buffer.
            let (used, progress) = body.skip(data);
            data = &data[used..];
            if !self.body_progress(progress) {
                return;
            }
        }
        if data.is_empty() {
            return;
        }
        if self.body.is_none() && self.head_started.is_none() {
            self.head_started = Some(now);
        }
        if data.len() > self.input_room() {
            debug!(
                "given {} bytes with room for {}",
                data.len(),
                self.input_room()
            );
        }
        self.inbuf.extend_from_slice(data);
    }

    /// The peer half-closed. Complete requests are still answered; a partial
    /// one is dropped.
    pub fn peer_closed(&mut self) {
        self.peer_closed = true;
        self.dirty = true;
    }

    /// Parses buffered requests, queues their responses, checks timers.
    pub fn poll(&mut self, site: &Site, config: &HttpConfig, now: Instant) -> Verdict {
        self.poll_with(site, &NoGenerator, config, now)
    }

    /// [`HttpConnection::poll`], with `generator` asked first for every GET/HEAD path
    /// (resources made by the caller, such as `/tcpinfo`).
    pub fn poll_with(
        &mut self,
        site: &Site,
        generator: &dyn Generator,
        config: &HttpConfig,
        now: Instant,
    ) -> Verdict {
        self.last_seen = now;
        if self.dirty {
            self.dirty = false;
            self.process(site, generator, config, now);
        }
        self.check_timers(config, now);
        if self.closing && self.queue.is_empty() {
            Verdict::Close
        } else {
            Verdict::Continue
        }
    }

    /// Writes pending response bytes into `out`; returns how many.
    pub fn write_output(&mut self, out: &mut [u8], now: Instant) -> usize {
        self.last_seen = now;
        let mut n = 0;
        while n < out.len() {
            let Some(cur) = self.queue.front_mut() else {
                break;
            };
            if cur.head_left > 0 {
                let k = cur.head_left.min(out.len() - n);
                let from = self.heads_pos;
                out[n..n + k].copy_from_slice(&self.heads[from..from + k]);
                self.heads_pos += k;
                cur.head_left -= k;
                n += k;
                continue;
            }
            match &mut cur.body {
                Body::Empty => {}
                Body::Memory { .. } => {
                    let src = cur.body.memory();
                    if !src.is_empty() {
                        let k = src.len().min(out.len() - n);
                        out[n..n + k].copy_from_slice(&src[..k]);
                        cur.body.advance(k);
                        n += k;
                        cur.record.bytes += k as u64;
                        continue;
                    }
                }
                Body::File { file, remaining } => {
                    if *remaining > 0 {
                        let want = usize::try_from(*remaining)
                            .unwrap_or(usize::MAX)
                            .min(out.len() - n);
                        match file.read(&mut out[n..n + want]) {
                            Ok(0) => {
                                warn!("{}: file shrank while being sent", cur.record.target);
                                self.abort(now);
                                return n;
                            }
                            Ok(k) => {
                                *remaining -= k as u64;
                                n += k;
                                cur.record.bytes += k as u64;
                            }
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(e) => {
                                warn!("{}: read error while sending: {e}", cur.record.target);
                                self.abort(now);
                                return n;
                            }
                        }
                        continue;
                    }
                }
            }
            self.finish_front(now);
        }
        // A response whose last byte just filled `out` is complete too; retire
        // it now so has_output() does not promise bytes that are not there.
        while self.queue.front().is_some_and(Outgoing::done) {
            self.finish_front(now);
        }
        if self.heads_pos == self.heads.len() {
            // Every head is written: start again at the front (capacity kept).
            self.heads.clear();
            self.heads_pos = 0;
        }
        n
    }

    /// True if response bytes (headers or body) remain to be written.
    pub fn has_output(&self) -> bool {
        !self.queue.is_empty()
    }

    /// When `poll` would change its answer by itself. Besides the idle and
    /// request timers this reports an already-passed time (the latest `now`
    /// seen) when `poll` has work to do right away, e.g. a close that became
    /// due or pipelined requests that can now be answered because
    /// `write_output` drained the queue; callers should treat a past
    /// deadline as "do not sleep".
    pub fn next_deadline(&self, config: &HttpConfig) -> Option<Instant> {
        if self.dirty || (self.closing && self.queue.is_empty()) {
            return Some(self.last_seen);
        }
        if self.closing || !self.queue.is_empty() || self.unacknowledged {
            // Progress is driven by the socket taking our output, or the peer
            // acknowledging it.
            return None;
        }
        if self.body.is_some() {
            return Some(after(self.idle_since, config.request_timeout));
        }
        if !self.inbuf.is_empty() {
            let started = self.head_started.unwrap_or(self.last_rx);
            return Some(after(started, config.request_timeout));
        }
        self.idle_timeout(config).map(|t| after(self.idle_since, t))
    }

    /// How long the connection may sit idle before we close it. Before its first request
    /// a connection gets at least the request timeout (as nginx's
    /// `client_header_timeout`): the keep-alive timeout is for the pause between
    /// requests, and a first request delayed by a lossy network must not find the
    /// connection already closing.
    fn idle_timeout(&self, config: &HttpConfig) -> Option<Duration> {
        let ka = config.keep_alive_timeout?;
        Some(if self.answered {
            ka
        } else {
            ka.max(config.request_timeout)
        })
    }

    /// Records of requests whose responses were written since the last call.
    pub fn take_log(&mut self) -> Vec<AccessRecord> {
        std::mem::take(&mut self.log)
    }

    /// Cuts complete requests off the input and queues their responses.
    fn process(
        &mut self,
        site: &Site,
        generator: &dyn Generator,
        config: &HttpConfig,
        now: Instant,
    ) {
        let mut queue_full = false;
        while !self.closing {
            if let Some(body) = self.body.as_mut() {
                let (used, progress) = body.skip(&self.inbuf);
                self.inbuf.drain(..used);
                if !self.body_progress(progress) || self.body.is_some() {
                    break;
                }
            }
            if self.queue.len() >= MAX_QUEUED {
                queue_full = true;
                break;
            }
            if self.scanner.at_start() {
                // RFC 9112 §2.2: ignore empty lines before a request line.
                let blank = self.inbuf.chunks(2).take_while(|c| *c == b"\r\n").count();
                self.inbuf.drain(..blank * 2);
            }
            if self.inbuf.is_empty() {
                break;
            }
            match self.scanner.scan(&self.inbuf) {
                Scan::Partial => break,
                Scan::Error(status) => {
                    let (method, target) = request_line_parts(&self.inbuf);
                    self.queue_error(status, method, target, config, now);
                }
                Scan::Complete(len) => self.handle_head(len, site, generator, config, now),
            }
        }
        if self.peer_closed && !self.closing && !queue_full {
            // Whatever is left cannot become a complete request any more.
            if !self.inbuf.is_empty() || self.body.is_some() {
                debug!(
                    "peer closed with {} bytes of a partial request",
                    self.inbuf.len()
                );
            }
            self.closing = true;
        }
        if self.closing {
            self.inbuf = Vec::new();
            self.body = None;
        }
        if self.inbuf.is_empty() || self.body.is_some() {
            self.head_started = None;
        } else if self.head_started.is_none() {
            // The leftover of a pipelined feed: its bytes came with the last input.
            self.head_started = Some(self.last_rx);
        }
    }

    /// Plans and queues the response to the complete head of `len` bytes at
    /// the front of the input, then removes the head from the input.
    fn handle_head(
        &mut self,
        len: usize,
        site: &Site,
        generator: &dyn Generator,
        config: &HttpConfig,
        now: Instant,
    ) {
        let head = &self.inbuf[..len];
        let req = match parse_head(head) {
            Ok(req) => req,
            Err(status) => {
                let (method, target) = request_line_parts(head);
                self.queue_error(status, method, target, config, now);
                return;
            }
        };
        self.inbuf.drain(..len);
        self.scanner.reset();
        self.head_started = None;

        let mut close = req.minor_version == 0
            || req.connection_close
            || req.framing_suspect
            || config.close_after_response;
        // A client waiting for 100-continue may never send the body, so
        // waiting to skip it could stall; closing is the safe answer.
        if req.framing != Framing::None && !close && !req.expect_continue {
            self.body = match req.framing {
                Framing::Length(n) if n <= MAX_SKIPPED_BODY => Some(BodySkip::Length(n)),
                Framing::Chunked => Some(BodySkip::chunked()),
                _ => None,
            };
        }
        close |= req.framing != Framing::None && self.body.is_none();
        let plan = plan_request(&req, site, generator, now);
        close |= plan.forces_close();
        let record = AccessRecord {
            method: log_text(req.method.as_bytes()),
            target: log_text(req.target.as_bytes()),
            status: plan.status,
            bytes: 0,
            duration: Duration::ZERO,
        };
        debug!("{} {} -> {}", record.method, record.target, record.status);
        let head_only = req.method == "HEAD";
        self.enqueue(plan, head_only, close, record, config, now);
    }

    /// Queues an error response that ends the connection (bad framing, 408).
    fn queue_error(
        &mut self,
        status: u16,
        method: String,
        target: String,
        config: &HttpConfig,
        now: Instant,
    ) {
        debug!("answering {status} and closing");
        let head_only = method == "HEAD";
        let record = AccessRecord {
            method,
            target,
            status,
            bytes: 0,
            duration: Duration::ZERO,
        };
        self.enqueue(Plan::error(status), head_only, true, record, config, now);
    }

    fn enqueue(
        &mut self,
        plan: Plan,
        head_only: bool,
        close: bool,
        record: AccessRecord,
        config: &HttpConfig,
        now: Instant,
    ) {
        if self.heads_pos > 0 {
            // Drop the written heads in front (a move of at most one head).
            self.heads.drain(..self.heads_pos);
            self.heads_pos = 0;
        }
        let before = self.heads.len();
        let body = plan.render(&mut self.heads, head_only, close, now, &config.server);
        self.answered = true;
        self.queue.push_back(Outgoing {
            head_left: self.heads.len() - before,
            body,
            record,
            completed_at: self.last_rx,
        });
        if close {
            self.closing = true;
        }
    }

    /// Acts on where the body being skipped stands; false if nothing more
    /// should be read (the body could not be followed, so the connection
    /// closes once the answer already queued is written).
    fn body_progress(&mut self, progress: Progress) -> bool {
        match progress {
            Progress::NeedMore => {}
            Progress::Done => self.body = None,
            Progress::Stop(why) => {
                debug!("request body: {why}; closing after the response");
                self.body = None;
                self.closing = true;
                self.inbuf = Vec::new();
                self.dirty = true;
                return false;
            }
        }
        true
    }

    /// Retires the fully written front response.
    fn finish_front(&mut self, now: Instant) {
        let Some(done) = self.queue.pop_front() else {
            return;
        };
        let mut record = done.record;
        record.duration = elapsed(done.completed_at, now);
        self.log.push(record);
        // Room in the queue: buffered pipelined requests may now be answered.
        self.dirty = true;
        if self.queue.is_empty() {
            self.idle_since = now;
            // The request timer does not run while we are busy answering.
            self.head_started = self.head_started.map(|t| t.max(now));
        }
    }

    /// Gives up on the current response mid-body: the framing is lost, so
    /// nothing else may follow it on this connection.
    fn abort(&mut self, now: Instant) {
        if let Some(cur) = self.queue.pop_front() {
            let mut record = cur.record;
            record.duration = elapsed(cur.completed_at, now);
            self.log.push(record);
        }
        self.queue.clear();
        self.heads.clear();
        self.heads_pos = 0;
        self.closing = true;
        self.inbuf = Vec::new();
        self.body = None;
        self.head_started = None;
        self.dirty = true;
    }

    fn check_timers(&mut self, config: &HttpConfig, now: Instant) {
        if self.closing || !self.queue.is_empty() {
            return;
        }
        if self.unacknowledged && self.body.is_none() && self.inbuf.is_empty() {
            // Idle only once the peer has everything we sent.
            return;
        }
        let reached = |base: Instant, span: Duration| now >= after(base, span);
        if self.body.is_some() {
            if reached(self.idle_since, config.request_timeout) {
                // The response was already sent; there is nothing to answer.
                debug!("request body stalled; closing");
                self.closing = true;
            }
        } else if !self.inbuf.is_empty() {
            let started = self.head_started.unwrap_or(self.last_rx);
            if reached(started, config.request_timeout) {
                let (method, target) = request_line_parts(&self.inbuf);
                // The 408 is timed from now, not from the last input byte.
                self.last_rx = now;
                self.queue_error(408, method, target, config, now);
                self.inbuf = Vec::new();
                self.head_started = None;
            }
        } else if let Some(idle) = self.idle_timeout(config)
            && reached(self.idle_since, idle)
        {
            debug!("keep-alive idle timeout");
            self.closing = true;
        }
    }
}
