//! TCP conversations: stream numbers, relative sequence numbers, window scaling and
//! Wireshark's sequence analysis, one segment at a time.
//!
//! A [`TcpSeg`] (raw header fields) goes in with its frame number and time; out comes a
//! [`SegInfo`]: the stream index, the numbers as Wireshark displays them and the
//! analysis bits (the listing turns them into [`super::marks::Mark`]s). The rules are
//! those of Wireshark's one-pass TCP analysis (`tcp_analyze_sequence_number`),
//! re-derived and checked against tshark 4.0 on real captures: streams are numbered in
//! order of first appearance by address/port pair, and a SYN with a new initial sequence
//! number on a known pair starts a new stream (a SYN-ACK with a new one only restarts
//! its direction's numbers); the base of the relative numbers is the SYN's sequence
//! number (or one less than the first one seen, for a capture that starts mid-stream;
//! for the other direction, one less than the first acknowledgment number); windows are
//! scaled once both SYNs showed the option. A next sequence number of 0 counts as not
//! known yet, as in Wireshark.
//!
//! Memory is bounded: at most [`MAX_STREAMS`] conversations are kept, and when a new one
//! would exceed that, the least recently seen finished one (both FINs, or a RST) is
//! dropped, or failing that the least recently seen. A dropped conversation that sends
//! again gets a new stream number. Each conversation's HTTP state is bounded by
//! [`super::http`], all of them together by [`MAX_HTTP_BUFFERED`].

use super::dissect::TcpSeg;
use super::flight::Flight;
use super::http::{HTTP_PORTS, HttpConn, HttpPart};
use super::marks::bit as a;
use crate::tcp::{TcpFlags, TcpOption, options};
use std::collections::HashMap;
use std::net::IpAddr;

/// Most conversations tracked at once.
pub const MAX_STREAMS: usize = 4096;

/// Most bytes held, over all conversations, for HTTP messages whose start line or
/// headers are incomplete (each direction holds at most [`super::http::MAX_HEADER_BUF`]).
pub const MAX_HTTP_BUFFERED: usize = 4 * 1024 * 1024;

/// Most unacknowledged segment ranges remembered for bytes in flight, over all
/// conversations (each direction also keeps at most [`super::flight::MAX_UNACKED`]).
/// Only a capture that misses the ACKs of many streams gets near it; past it new
/// segments are not counted in flight.
pub const MAX_UNACKED_TOTAL: usize = 1_000_000;

/// tshark does not hand these segments to the protocol above (HTTP); out-of-order ones
/// only to a message already in progress.
pub const NOT_DISSECTED: u32 = a::RETRANSMISSION | a::SPURIOUS_RETRANSMISSION;

fn gt(x: u32, y: u32) -> bool {
    (x.wrapping_sub(y) as i32) > 0
}
fn lt(x: u32, y: u32) -> bool {
    gt(y, x)
}
fn le(x: u32, y: u32) -> bool {
    !gt(x, y)
}

/// Window scaling as Wireshark tracks it per direction.
const WS_UNKNOWN: i8 = -1;
const WS_NONE: i8 = -2;

/// One direction of a conversation.
#[derive(Debug, Clone)]
struct Flow {
    base: Option<u32>,
    nextseq: Option<u32>,
    nextseq_time: i64,
    maxseqtobeacked: Option<u32>,
    /// Last window (scaled) and acknowledgment sent in this direction; the window is
    /// `u64::MAX` until the direction has sent (so no zero-window probe is seen into a
    /// window nobody announced).
    window: u64,
    lastack: Option<u32>,
    lastacktime: i64,
    lastnondupack: u64,
    /// Duplicate ACKs in a row; -1 marks "an ACKed-unseen was reported and this
    /// direction has not sent since" (Wireshark's way to report it only once more).
    dupacknum: i32,
    lastsegmentflags: u32,
    win_scale: i8,
    fin: bool,
    /// Its data in flight (tcp.analysis.bytes_in_flight).
    flight: Flight,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            base: None,
            nextseq: None,
            nextseq_time: 0,
            maxseqtobeacked: None,
            window: u64::MAX,
            lastack: None,
            lastacktime: 0,
            lastnondupack: 0,
            dupacknum: 0,
            lastsegmentflags: 0,
            win_scale: WS_UNKNOWN,
            fin: false,
            flight: Flight::default(),
        }
    }
}

type End = (IpAddr, u16);

/// One TCP conversation (one stream number).
#[derive(Debug, Clone)]
pub struct Conn {
    pub stream: usize,
    /// The two ends; `ends[0]` sent the first segment seen.
    pub ends: [End; 2],
    flows: [Flow; 2],
    ts_mru_syn: Option<i64>,
    ts_first_rtt: Option<i64>,
    last_frame: u64,
    rst: bool,
    /// An AccECN option was seen: Wireshark then shows the ECN bits of later segments
    /// (SYNs apart) as the ACE counter.
    accecn: bool,
    pub http: HttpConn,
}

impl Conn {
    fn new(stream: usize, first: End, second: End) -> Self {
        let on_http_port = HTTP_PORTS.contains(&first.1) || HTTP_PORTS.contains(&second.1);
        Conn {
            stream,
            ends: [first, second],
            flows: Default::default(),
            ts_mru_syn: None,
            ts_first_rtt: None,
            last_frame: 0,
            rst: false,
            accecn: false,
            http: HttpConn::new(on_http_port),
        }
    }

    fn finished(&self) -> bool {
        self.rst || (self.flows[0].fin && self.flows[1].fin)
    }

    /// Unacknowledged ranges both directions remember.
    fn unacked(&self) -> usize {
        self.flows[0].flight.len() + self.flows[1].flight.len()
    }
}

/// What the analysis made of one segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegInfo {
    pub stream: usize,
    /// 0: sent by the end that sent the stream's first segment; 1: by the other.
    pub dir: usize,
    /// Sequence and acknowledgment numbers relative to their bases.
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    /// The base of the other direction (for relative SACK edges).
    pub rev_base: Option<u32>,
    /// The base of this direction's relative sequence numbers.
    pub base: u32,
    /// Bytes in flight after this segment (data segments only).
    pub in_flight: Option<u32>,
    /// The window as Wireshark's tcp.window_size (scaled when scaling is known).
    pub window: u64,
    /// Analysis bits (`marks::bit`).
    pub analysis: u32,
    /// Duplicate ACK: (frame of the last non-duplicate, count).
    pub dup: Option<(u64, u32)>,
    /// Its ECN bits are shown as AccECN's ACE counter.
    pub ace: bool,
}

type Key = (End, End);

fn key(a: End, b: End) -> Key {
    if a <= b { (a, b) } else { (b, a) }
}

/// Every conversation seen (bounded), by address/port pair.
#[derive(Debug, Default)]
pub struct TcpTable {
    by_key: HashMap<Key, usize>,
    conns: HashMap<usize, Conn>,
    next_stream: usize,
    /// Sum of the conversations' `http.buffered()`.
    http_buffered: usize,
    /// Sum of the conversations' unacknowledged ranges (bounded by [`MAX_UNACKED_TOTAL`]).
    unacked: usize,
}

impl TcpTable {
    /// Number of conversations currently tracked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.conns.len()
    }

    /// Bytes held by HTTP reassembly over all conversations.
    #[cfg(test)]
    pub(crate) fn http_buffered(&self) -> usize {
        self.http_buffered
    }

    /// Passes a segment's payload to the stream's HTTP state (and its FIN, when it has
    /// one), within the global budget: a conversation that would exceed it gives up its
    /// incomplete messages.
    pub fn http(
        &mut self,
        stream: usize,
        dir: usize,
        seg: &TcpSeg,
        out_of_order: bool,
    ) -> Option<HttpPart> {
        let c = self.conns.get_mut(&stream)?;
        let before = c.http.buffered();
        let mut part = c.http.segment(dir, seg.seq, seg.payload, out_of_order);
        if seg.flags.contains(TcpFlags::FIN)
            && let Some(done) = c.http.fin(dir)
        {
            part = Some(done);
        }
        let after = c.http.buffered();
        self.http_buffered = self.http_buffered - before + after;
        if self.http_buffered > MAX_HTTP_BUFFERED {
            c.http.drop_buffers();
            self.http_buffered -= after;
        }
        part
    }

    /// Analyses one segment and returns what was found.
    pub fn segment(&mut self, frame: u64, time_us: i64, seg: &TcpSeg) -> SegInfo {
        let (src, dst) = ((seg.src, seg.sport), (seg.dst, seg.dport));
        let k = key(src, dst);
        let mut reused = false;
        let existing = self
            .by_key
            .get(&k)
            .copied()
            .filter(|s| self.conns.contains_key(s));
        let syn_only = seg.flags & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN;
        let stream = match existing {
            Some(s) => {
                let c = &self.conns[&s];
                let dir = usize::from(c.ends[0] != src);
                let base = c.flows[dir].base;
                // A new SYN with another initial sequence number: the port pair is
                // reused by a new connection.
                if syn_only && base.is_some_and(|b| b != seg.seq) {
                    reused = true;
                    self.insert(k, src, dst)
                } else {
                    s
                }
            }
            None => self.insert(k, src, dst),
        };
        let room = self.unacked < MAX_UNACKED_TOTAL;
        match self.conns.get_mut(&stream) {
            Some(conn) => {
                let before = conn.unacked();
                let info = analyze(conn, frame, time_us, seg, reused, room);
                self.unacked = self.unacked - before + conn.unacked();
                info
            }
            // Unreachable: the stream was found or inserted above.
            None => SegInfo::default(),
        }
    }

    fn insert(&mut self, k: Key, src: End, dst: End) -> usize {
        if self.conns.len() >= MAX_STREAMS {
            let victim = self
                .conns
                .values()
                .filter(|c| c.finished())
                .min_by_key(|c| c.last_frame)
                .or_else(|| self.conns.values().min_by_key(|c| c.last_frame))
                .map(|c| (c.stream, key(c.ends[0], c.ends[1])));
            if let Some((s, vk)) = victim {
                if let Some(c) = self.conns.remove(&s) {
                    self.http_buffered -= c.http.buffered();
                    self.unacked -= c.unacked();
                }
                if self.by_key.get(&vk) == Some(&s) {
                    self.by_key.remove(&vk);
                }
            }
        }
        let s = self.next_stream;
        self.next_stream += 1;
        self.conns.insert(s, Conn::new(s, src, dst));
        self.by_key.insert(k, s);
        s
    }
}

/// The segment's fields the analysis steps share.
struct Seg {
    frame: u64,
    now: i64,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    seglen: u32,
    /// The window, scaled as Wireshark scales it.
    window: u64,
}

impl Seg {
    fn has(&self, f: TcpFlags) -> bool {
        self.flags.contains(f)
    }

    /// SYN, FIN or RST: never a keep-alive, window update or duplicate ACK.
    fn control(&self) -> bool {
        self.flags
            .intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST)
    }
}

fn analyze(
    conn: &mut Conn,
    frame: u64,
    now: i64,
    seg: &TcpSeg,
    reused: bool,
    room: bool,
) -> SegInfo {
    let fwd = usize::from(conn.ends[0] != (seg.src, seg.sport));
    let rev = 1 - fwd;
    let syn = seg.flags.contains(TcpFlags::SYN);
    conn.last_frame = frame;
    if seg.flags.contains(TcpFlags::RST) {
        conn.rst = true;
    }
    if seg.flags.contains(TcpFlags::FIN) {
        conn.flows[fwd].fin = true;
    }
    let ace = conn.accecn && !syn;
    let mut fl = if reused { a::REUSED_PORTS } else { 0 };
    let window = scale_window(conn, fwd, seg);
    fl |= set_bases(conn, fwd, seg);
    note_handshake_rtt(conn, seg, now);

    let s = Seg {
        frame,
        now,
        seq: seg.seq,
        ack: seg.ack,
        flags: seg.flags,
        seglen: seg.seglen,
        window,
    };
    let ooo_thres = conn.ts_first_rtt.filter(|t| *t != 0).unwrap_or(3_000);
    let (f, r) = if fwd == 0 {
        let (x, y) = conn.flows.split_at_mut(1);
        (&mut x[0], &mut y[0])
    } else {
        let (x, y) = conn.flows.split_at_mut(1);
        (&mut y[0], &mut x[0])
    };
    let (bits, dup) = forward_marks(f, r, &s);
    fl |= bits;
    fl |= acked_unseen(f, r, &s);
    fl |= retransmission_kind(f, r, &s, fl, ooo_thres);
    advance(f, &s, fl);
    let in_flight = in_flight(f, r, &s, seg.options, fl, room);

    SegInfo {
        stream: conn.stream,
        dir: fwd,
        rel_seq: seg.seq.wrapping_sub(conn.flows[fwd].base.unwrap_or(0)),
        rel_ack: seg
            .flags
            .contains(TcpFlags::ACK)
            .then(|| seg.ack.wrapping_sub(conn.flows[rev].base.unwrap_or(0))),
        rev_base: conn.flows[rev].base,
        base: conn.flows[fwd].base.unwrap_or(0),
        in_flight,
        window,
        analysis: fl,
        dup,
        ace,
    }
}

/// Window scale: the option counts on SYNs only (RFC 7323), and only when both SYNs
/// carry it. Returns the segment's window as tshark's tcp.window_size. Also notes an
/// AccECN option.
fn scale_window(conn: &mut Conn, fwd: usize, seg: &TcpSeg) -> u64 {
    let rev = 1 - fwd;
    let syn = seg.flags.contains(TcpFlags::SYN);
    for o in options(seg.options) {
        match o.option {
            TcpOption::WindowScale(s) if syn => conn.flows[fwd].win_scale = s.min(14) as i8,
            TcpOption::AccEcn { .. } => conn.accecn = true,
            _ => {}
        }
    }
    if syn {
        if conn.flows[fwd].win_scale == WS_UNKNOWN {
            conn.flows[fwd].win_scale = WS_NONE;
            conn.flows[rev].win_scale = WS_NONE;
        } else if seg.flags.contains(TcpFlags::ACK) && conn.flows[rev].win_scale == WS_NONE {
            conn.flows[fwd].win_scale = WS_NONE;
        }
    }
    match conn.flows[fwd].win_scale {
        ws if ws >= 0 && !syn => u64::from(seg.window) << ws,
        _ => u64::from(seg.window),
    }
}

/// Bases of the relative numbers. A SYN-ACK with another initial sequence number than
/// its direction had restarts that direction's numbers: the port pair was reused (the
/// returned bit says so).
fn set_bases(conn: &mut Conn, fwd: usize, seg: &TcpSeg) -> u32 {
    let rev = 1 - fwd;
    let mut fl = 0;
    let flow = &mut conn.flows[fwd];
    if seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK) && flow.base.is_some_and(|b| b != seg.seq)
    {
        fl |= a::REUSED_PORTS;
        flow.base = Some(seg.seq);
    }
    if flow.base.is_none() {
        let syn = seg.flags.contains(TcpFlags::SYN);
        flow.base = Some(if syn {
            seg.seq
        } else {
            seg.seq.wrapping_sub(1)
        });
    }
    if conn.flows[rev].base.is_none() && seg.flags.contains(TcpFlags::ACK) {
        conn.flows[rev].base = Some(seg.ack.wrapping_sub(1));
    }
    fl
}

/// The handshake's round trip: from the SYN to the first ACK after it. A zero (same
/// timestamp) counts as not yet known, so a later ACK sets it (as in tshark).
fn note_handshake_rtt(conn: &mut Conn, seg: &TcpSeg, now: i64) {
    let (syn, ack) = (
        seg.flags.contains(TcpFlags::SYN),
        seg.flags.contains(TcpFlags::ACK),
    );
    if syn && !ack {
        conn.ts_mru_syn = Some(now);
    }
    if !syn
        && ack
        && conn.ts_first_rtt.is_none_or(|t| t == 0)
        && let Some(t) = conn.ts_mru_syn
    {
        conn.ts_first_rtt = Some(now - t);
    }
}

/// What the segment says about its own direction: zero-window probes, zero windows,
/// lost segments, keep-alives, window updates and full windows, duplicate ACKs. Returns
/// the bits and the duplicate ACK's numbers.
fn forward_marks(f: &mut Flow, r: &Flow, s: &Seg) -> (u32, Option<(u64, u32)>) {
    let (seq, seglen, window, control) = (s.seq, s.seglen, s.window, s.control());
    let at_next = f.nextseq == Some(seq);
    let same_ack = f.lastack == Some(s.ack);
    let mut fl = 0;
    let mut dup = None;
    'fwd: {
        if seglen == 1 && at_next && r.window == 0 {
            fl |= a::ZERO_WINDOW_PROBE;
            break 'fwd;
        }
        if window == 0 && !control {
            fl |= a::ZERO_WINDOW;
        }
        if f.nextseq.is_some_and(|n| gt(seq, n)) && !s.has(TcpFlags::RST) {
            fl |= a::LOST_PACKET;
        }
        if seglen <= 1 && f.nextseq.is_some_and(|n| n.wrapping_sub(1) == seq) && !control {
            fl |= a::KEEP_ALIVE;
        }
        if seglen == 0 && window != 0 && window != f.window && at_next && same_ack && !control {
            fl |= a::WINDOW_UPDATE;
        }
        if seglen > 0
            && r.win_scale != WS_UNKNOWN
            && r.lastack.is_some_and(|l| {
                u64::from(seq.wrapping_add(seglen)) == (u64::from(l) + r.window) % (1 << 32)
            })
            && !control
        {
            fl |= a::WINDOW_FULL;
        }
        let repeat = seglen == 0 && window == f.window && at_next && same_ack && !control;
        if repeat && window != 0 && r.lastsegmentflags & a::KEEP_ALIVE != 0 {
            fl |= a::KEEP_ALIVE_ACK;
            break 'fwd;
        }
        if repeat && window == 0 && r.lastsegmentflags & a::ZERO_WINDOW_PROBE != 0 {
            fl |= a::ZERO_WINDOW_PROBE_ACK;
            break 'fwd;
        }
        if repeat && window != 0 {
            f.dupacknum = if f.dupacknum == -1 {
                1
            } else {
                f.dupacknum + 1
            };
            fl |= a::DUPLICATE_ACK;
            dup = Some((f.lastnondupack, f.dupacknum.max(0) as u32));
        }
    }
    if !same_ack {
        f.lastnondupack = s.frame;
        f.dupacknum = 0;
    }
    (fl, dup)
}

/// An acknowledgment of data never seen. Reported when the other direction's highest
/// contiguous sequence number lags behind the highest one, and then once more at most
/// until that direction sends again (tshark 4.0's rule, including its plain, not
/// wrap-aware, comparison).
fn acked_unseen(_f: &Flow, r: &mut Flow, s: &Seg) -> u32 {
    let mut fl = 0;
    if s.has(TcpFlags::ACK)
        && let Some(m) = r.maxseqtobeacked
        && gt(s.ack, m)
    {
        let next = r.nextseq.unwrap_or(0);
        if m < next {
            r.maxseqtobeacked = Some(next);
            fl |= a::ACK_LOST_PACKET;
        } else {
            if r.dupacknum == 0 {
                fl |= a::ACK_LOST_PACKET;
            }
            r.dupacknum = -1;
        }
    }
    fl
}

/// A segment with data (or SYN or FIN) that does not advance the sequence number: a
/// spurious, fast or plain retransmission, or one out of order.
fn retransmission_kind(f: &Flow, r: &Flow, s: &Seg, fl: u32, ooo_thres: i64) -> u32 {
    let (seq, seglen, now) = (s.seq, s.seglen, s.now);
    let syn_or_fin = s.flags.intersects(TcpFlags::SYN | TcpFlags::FIN);
    if !(seglen > 0 || syn_or_fin) || fl & a::KEEP_ALIVE != 0 {
        return 0;
    }
    let n = f.nextseq.unwrap_or(0);
    // A segment one byte before the next expected one that brings more than one byte is
    // new data (after a zero-window probe), not a retransmission.
    let not_advanced =
        f.nextseq.is_some_and(|n| lt(seq, n)) && !(seglen > 1 && n.wrapping_sub(1) == seq);
    // Data the receiver had already acknowledged is spurious, whatever its sequence
    // number (tshark 4.0 checks this first).
    if seglen > 0 && r.lastack.is_some_and(|l| le(seq.wrapping_add(seglen), l)) {
        a::SPURIOUS_RETRANSMISSION
    } else if not_advanced
        && r.dupacknum >= 2
        && r.lastack == Some(seq)
        && now - r.lastacktime < 20_000
    {
        a::FAST_RETRANSMISSION
    } else if not_advanced
        && now - f.nextseq_time < ooo_thres
        && n != seq.wrapping_add(seglen).wrapping_add(u32::from(syn_or_fin))
    {
        a::OUT_OF_ORDER
    } else if not_advanced {
        a::RETRANSMISSION
    } else {
        0
    }
}

/// Bytes in flight after the segment (see [`super::flight`]): it joins its direction's
/// flight (a gap before it suspends the count), its ACK takes out what it covers of the
/// other direction's, its SACK blocks are kept for the other direction's values.
fn in_flight(f: &mut Flow, r: &mut Flow, s: &Seg, opts: &[u8], fl: u32, room: bool) -> Option<u32> {
    let syn_or_fin = s.flags.intersects(TcpFlags::SYN | TcpFlags::FIN);
    let gap = fl & a::LOST_PACKET != 0;
    f.flight.sent(s.seq, s.seglen, syn_or_fin, gap, room);
    f.flight.options(opts);
    if s.has(TcpFlags::ACK) {
        r.flight.acked(s.ack);
    }
    f.flight.bytes(f.base.unwrap_or(0), s.seglen, &r.flight)
}

/// Remembers what the segment moved: the next expected and the highest sequence number
/// to be acknowledged (0 counts as not known, as in Wireshark), the window and the ACK.
fn advance(f: &mut Flow, s: &Seg, fl: u32) {
    let mut nextseq = s.seq.wrapping_add(s.seglen);
    if s.flags.intersects(TcpFlags::SYN | TcpFlags::FIN) {
        nextseq = nextseq.wrapping_add(1);
    }
    if (f.nextseq.is_none() || f.nextseq.is_some_and(|n| gt(nextseq, n)))
        && fl & a::ZERO_WINDOW_PROBE == 0
    {
        f.nextseq = (nextseq != 0).then_some(nextseq);
        f.nextseq_time = s.now;
    }
    if (f.maxseqtobeacked.is_none() || f.maxseqtobeacked == Some(s.seq))
        && fl & a::ZERO_WINDOW_PROBE == 0
    {
        f.maxseqtobeacked = f.nextseq;
    }
    f.window = s.window;
    f.lastack = Some(s.ack);
    f.lastacktime = s.now;
    f.lastsegmentflags = fl;
}
