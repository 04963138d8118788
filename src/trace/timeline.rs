//! The TCP state of both ends of each stream, inferred from the segments that pass.
//!
//! Rows of the listing go in ([`StateTracker::push`]); out come the [`StateChange`]s
//! that row caused, each naming the stream, the frame and its time, the side (client:
//! the end that sent the first SYN; server: the other) and the transition. Every change
//! is *inferred*: the capture shows segments, not states, and a state is taken to change
//! when the segment that causes it passes the capture point (for the receiving end that
//! is when it arrives there, a moment later). Ends that never send a segment (TIME_WAIT
//! running out after 2·MSL) show no change.
//!
//! The rules: the client goes CLOSED → SYN_SENT with its SYN and → ESTABLISHED when the
//! SYN-ACK is seen; the server LISTEN → SYN_RCVD with the SYN and → ESTABLISHED with the
//! ACK of its SYN-ACK. The end that sends the first FIN goes → FIN_WAIT_1, → FIN_WAIT_2
//! with the ACK of that FIN, → TIME_WAIT with the peer's FIN; the other end goes
//! → CLOSE_WAIT with that FIN, → LAST_ACK with its own FIN and → CLOSED with the ACK of
//! it. A FIN that crosses the peer's FIN (simultaneous close) takes both ends through
//! CLOSING to TIME_WAIT. A RST takes both ends to CLOSED. A stream first seen without its
//! SYN starts with both ends ESTABLISHED (the server is the end on the lower port, or
//! the one on an HTTP port).
//!
//! The same [`TcpState`] names the live server's real socket states (`From<smoltcp
//! State>`). At most [`MAX_TRACKED`] streams are kept; the oldest finished one goes first.

use super::dissect::flag;
use super::http::HTTP_PORTS;
use super::listing::Row;
use std::collections::HashMap;
use std::fmt;

/// Streams whose states are tracked at once.
pub const MAX_TRACKED: usize = 4096;

/// A TCP state, named as in the lab reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynReceived => "SYN_RCVD",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<smoltcp::socket::tcp::State> for TcpState {
    fn from(s: smoltcp::socket::tcp::State) -> Self {
        use smoltcp::socket::tcp::State as S;
        match s {
            S::Closed => TcpState::Closed,
            S::Listen => TcpState::Listen,
            S::SynSent => TcpState::SynSent,
            S::SynReceived => TcpState::SynReceived,
            S::Established => TcpState::Established,
            S::FinWait1 => TcpState::FinWait1,
            S::FinWait2 => TcpState::FinWait2,
            S::CloseWait => TcpState::CloseWait,
            S::Closing => TcpState::Closing,
            S::LastAck => TcpState::LastAck,
            S::TimeWait => TcpState::TimeWait,
        }
    }
}

/// Which end of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The end that sent the first SYN (or, mid-stream, the one not on the server port).
    Client,
    Server,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
}

/// One end of one stream changing state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub stream: usize,
    /// The frame whose segment caused it.
    pub frame: u64,
    /// That frame's time, seconds since the first frame.
    pub time: f64,
    pub side: Side,
    /// "address:port" of that end ("[v6]:port" for IPv6).
    pub endpoint: String,
    pub from: TcpState,
    pub to: TcpState,
    /// True when inferred from segments (always, here); false for a live socket's report.
    pub inferred: bool,
    /// What caused it, e.g. "its FIN", "ACK of its FIN", "peer's FIN".
    pub cause: &'static str,
}

/// A stream as the tracker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStates {
    pub stream: usize,
    /// "address:port" of the client and the server.
    pub client: String,
    pub server: String,
    /// The capture started after the handshake (both ends taken as ESTABLISHED), or in
    /// the middle of it.
    pub mid_stream: bool,
    pub first_frame: u64,
    /// Current states: client, server.
    pub states: [TcpState; 2],
    /// For each end, the acknowledgment number that covers its SYN and its FIN.
    syn_end: [Option<u32>; 2],
    fin_end: [Option<u32>; 2],
    last_frame: u64,
}

impl StreamStates {
    pub fn state(&self, side: Side) -> TcpState {
        self.states[side.index()]
    }

    fn finished(&self) -> bool {
        self.states
            .iter()
            .all(|s| matches!(s, TcpState::Closed | TcpState::TimeWait))
    }
}

/// Infers the states of both ends of every stream from the rows of a listing.
#[derive(Debug, Default)]
pub struct StateTracker {
    streams: HashMap<usize, StreamStates>,
}

fn endpoint(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// `ack` acknowledges everything before `end` (sequence-number order, with wrap).
fn covers(ack: Option<u32>, end: Option<u32>) -> bool {
    match (ack, end) {
        (Some(a), Some(e)) => (a.wrapping_sub(e) as i32) >= 0,
        _ => false,
    }
}

impl StateTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The stream's ends and current states, if tracked.
    pub fn stream(&self, stream: usize) -> Option<&StreamStates> {
        self.streams.get(&stream)
    }

    /// Number of streams tracked (at most [`MAX_TRACKED`]).
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// The state changes the row's segment causes (none for rows that are not TCP).
    pub fn push(&mut self, row: &Row) -> Vec<StateChange> {
        let Some(t) = &row.tcp else {
            return Vec::new();
        };
        let bits = t.flag_bits;
        let (syn, ack_flag, fin, rst) = (
            bits & flag::SYN != 0,
            bits & flag::ACK != 0,
            bits & flag::FIN != 0,
            bits & flag::RST != 0,
        );
        let src = endpoint(&row.src, t.src_port);
        let dst = endpoint(&row.dst, t.dst_port);
        if !self.streams.contains_key(&t.stream) {
            self.make_room();
            let (client, server, states, mid) = if syn && !ack_flag {
                (
                    src.clone(),
                    dst.clone(),
                    [TcpState::Closed, TcpState::Listen],
                    false,
                )
            } else if syn {
                // The SYN was missed: the SYN-ACK's receiver is the client.
                (
                    dst.clone(),
                    src.clone(),
                    [TcpState::SynSent, TcpState::SynReceived],
                    true,
                )
            } else {
                let is_server = |p: u16| HTTP_PORTS.contains(&p);
                let src_serves = match (is_server(t.src_port), is_server(t.dst_port)) {
                    (true, false) => true,
                    (false, true) => false,
                    _ => t.src_port < t.dst_port,
                };
                let (c, s) = if src_serves {
                    (dst.clone(), src.clone())
                } else {
                    (src.clone(), dst.clone())
                };
                (c, s, [TcpState::Established; 2], true)
            };
            self.streams.insert(
                t.stream,
                StreamStates {
                    stream: t.stream,
                    client,
                    server,
                    mid_stream: mid,
                    first_frame: row.no,
                    states,
                    syn_end: [None; 2],
                    fin_end: [None; 2],
                    last_frame: row.no,
                },
            );
        }
        let Some(st) = self.streams.get_mut(&t.stream) else {
            return Vec::new();
        };
        st.last_frame = row.no;
        let me = if st.client == src { 0 } else { 1 };
        let peer = 1 - me;
        let sides = [Side::Client, Side::Server];
        let mut out = Vec::new();
        let mut go = |st: &mut StreamStates, who: usize, to: TcpState, cause: &'static str| {
            let from = st.states[who];
            if from == to {
                return;
            }
            st.states[who] = to;
            out.push(StateChange {
                stream: st.stream,
                frame: row.no,
                time: row.time,
                side: sides[who],
                endpoint: if who == 0 {
                    st.client.clone()
                } else {
                    st.server.clone()
                },
                from,
                to,
                inferred: true,
                cause,
            });
        };
        use TcpState::*;

        if rst {
            go(st, me, Closed, "its RST");
            go(st, peer, Closed, "peer's RST");
            return out;
        }
        let seg_end = t
            .raw_seq
            .wrapping_add(t.len as u32)
            .wrapping_add(u32::from(syn) + u32::from(fin));
        let ack = t.raw_ack;

        // The sender's own SYN and FIN.
        if syn {
            st.syn_end[me] = Some(seg_end);
            if !ack_flag && st.states[me] == Closed {
                go(st, me, SynSent, "its SYN");
            }
            if !ack_flag && st.states[peer] == Listen {
                go(st, peer, SynReceived, "SYN seen");
            }
        }
        if fin && st.fin_end[me].is_none() {
            st.fin_end[me] = Some(seg_end);
            match st.states[me] {
                SynSent | SynReceived | Established => go(st, me, FinWait1, "its FIN"),
                CloseWait if st.fin_end[peer].is_some() && !covers(ack, st.fin_end[peer]) => {
                    // Sent before the peer's FIN arrived: the FINs crossed.
                    go(st, me, Closing, "its FIN crossed the peer's")
                }
                CloseWait => go(st, me, LastAck, "its FIN"),
                _ => {}
            }
        }
        // What the segment tells the receiver: ACKs first, then the FIN.
        if syn && ack_flag && st.states[peer] == SynSent {
            go(st, peer, Established, "SYN-ACK seen");
        }
        if ack_flag {
            if st.states[peer] == SynReceived && covers(ack, st.syn_end[peer]) {
                go(st, peer, Established, "ACK of its SYN-ACK");
            }
            if covers(ack, st.fin_end[peer]) {
                match st.states[peer] {
                    FinWait1 => go(st, peer, FinWait2, "ACK of its FIN"),
                    Closing => go(st, peer, TimeWait, "ACK of its FIN"),
                    LastAck => go(st, peer, Closed, "ACK of its FIN"),
                    _ => {}
                }
            }
        }
        if fin && st.fin_end[me] == Some(seg_end) {
            match st.states[peer] {
                SynSent | SynReceived | Established => go(st, peer, CloseWait, "peer's FIN"),
                FinWait1 => go(st, peer, Closing, "peer's FIN before the ACK of its own"),
                FinWait2 => go(st, peer, TimeWait, "peer's FIN"),
                _ => {}
            }
        }
        out
    }

    fn make_room(&mut self) {
        if self.streams.len() < MAX_TRACKED {
            return;
        }
        let victim = self
            .streams
            .values()
            .filter(|s| s.finished())
            .min_by_key(|s| s.last_frame)
            .or_else(|| self.streams.values().min_by_key(|s| s.last_frame))
            .map(|s| s.stream);
        if let Some(v) = victim {
            self.streams.remove(&v);
        }
    }
}

/// The timeline block of one stream, as `taplab trace` prints it.
pub fn render_stream(st: &StreamStates, changes: &[StateChange]) -> String {
    let cell = |c: &StateChange| format!("{} → {} ({})", c.from, c.to, c.cause);
    let head_c = format!("client ({})", st.client);
    let head_s = format!("server ({})", st.server);
    let width = changes
        .iter()
        .filter(|c| c.side == Side::Client)
        .map(|c| cell(c).chars().count())
        .chain([head_c.chars().count()])
        .max()
        .unwrap_or(0)
        + 3;
    let mut s = format!(
        "Stream {}: {} ↔ {} (states inferred from the segments)\n",
        st.stream, st.client, st.server
    );
    s += &format!(
        "  {:>5}  {:<10} {head_c:<width$}{head_s}\n",
        "frame", "time"
    );
    if st.mid_stream {
        let (c, v) = (
            st_name(st, changes, Side::Client),
            st_name(st, changes, Side::Server),
        );
        s += &format!(
            "  {:>5}  {:<10} (capture starts mid-stream: client {c}, server {v})\n",
            st.first_frame, ""
        );
    }
    for c in changes {
        let text = cell(c);
        let (l, r) = match c.side {
            Side::Client => (text, String::new()),
            Side::Server => (String::new(), text),
        };
        let line = format!("  {:>5}  {:<10.6} {l:<width$}{r}", c.frame, c.time);
        s += line.trim_end();
        s.push('\n');
    }
    s += &format!(
        "  now: client {}, server {}\n",
        st.state(Side::Client),
        st.state(Side::Server)
    );
    s
}

/// The state an end was in when the capture started.
fn st_name(st: &StreamStates, changes: &[StateChange], side: Side) -> TcpState {
    changes
        .iter()
        .find(|c| c.side == side)
        .map(|c| c.from)
        .unwrap_or(st.state(side))
}
