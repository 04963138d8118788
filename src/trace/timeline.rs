//! The TCP state of both ends of each stream, inferred from the segments that pass.
//!
//! Rows of the listing go in ([`StateTracker::push`]); out come the [`StateChange`]s
//! that row caused, each naming the stream, the frame and its time, the side (client:
//! the end that sent the first SYN; server: the other), the transition and its
//! [`Cause`]. Every change
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
//! The same [`StateChange`] carries the live server's real socket states (without an
//! inference). At most [`MAX_TRACKED`] streams are kept; the oldest finished one goes
//! first.

use super::http::HTTP_PORTS;
use super::row::{Row, TcpRow};
use crate::tcp::{Cause, Inferred, Side, StateChange, TcpFlags, TcpState, endpoint_text};
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;
use std::collections::HashMap;

/// Streams whose states are tracked at once.
pub const MAX_TRACKED: usize = 4096;

/// A stream as the tracker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStates {
    pub stream: usize,
    pub client: IpEndpoint,
    pub server: IpEndpoint,
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
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.streams.len()
    }

    /// The state changes the row's segment causes (none for rows that are not TCP).
    pub fn push(&mut self, row: &Row) -> Vec<StateChange> {
        let Some(t) = row.tcp() else {
            return Vec::new();
        };
        let (syn, ack_flag, fin, rst) = (
            t.has(TcpFlags::SYN),
            t.has(TcpFlags::ACK),
            t.has(TcpFlags::FIN),
            t.has(TcpFlags::RST),
        );
        let src = t.src_endpoint();
        if !self.streams.contains_key(&t.stream) {
            self.open(t, row.no);
        }
        let Some(st) = self.streams.get_mut(&t.stream) else {
            return Vec::new();
        };
        st.last_frame = row.no;
        let me = if st.client == src { 0 } else { 1 };
        let peer = 1 - me;
        let sides = [Side::Client, Side::Server];
        let time = Instant::from_micros(row.time_us);
        let mut out = Vec::new();
        let mut go = |st: &mut StreamStates, who: usize, to: TcpState, cause: Cause| {
            let from = st.states[who];
            if from == to {
                return;
            }
            st.states[who] = to;
            let ends = [st.client, st.server];
            out.push(StateChange {
                time,
                side: sides[who],
                local: ends[who],
                remote: ends[1 - who],
                from,
                to,
                frame: Some(row.no),
                inferred: Some(Inferred {
                    stream: st.stream,
                    cause,
                }),
            });
        };
        use Cause::*;
        use TcpState::*;

        if rst {
            go(st, me, Closed, ItsRst);
            go(st, peer, Closed, PeersRst);
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
                go(st, me, SynSent, ItsSyn);
            }
            if !ack_flag && st.states[peer] == Listen {
                go(st, peer, SynReceived, SynSeen);
            }
        }
        if fin && st.fin_end[me].is_none() {
            st.fin_end[me] = Some(seg_end);
            match st.states[me] {
                SynSent | SynReceived | Established => go(st, me, FinWait1, ItsFin),
                CloseWait if st.fin_end[peer].is_some() && !covers(ack, st.fin_end[peer]) => {
                    // Sent before the peer's FIN arrived: the FINs crossed.
                    go(st, me, Closing, ItsFinCrossedPeers)
                }
                CloseWait => go(st, me, LastAck, ItsFin),
                _ => {}
            }
        }
        // What the segment tells the receiver: ACKs first, then the FIN.
        if syn && ack_flag && st.states[peer] == SynSent {
            go(st, peer, Established, SynAckSeen);
        }
        if ack_flag {
            if st.states[peer] == SynReceived && covers(ack, st.syn_end[peer]) {
                go(st, peer, Established, AckOfItsSynAck);
            }
            if covers(ack, st.fin_end[peer]) {
                match st.states[peer] {
                    FinWait1 => go(st, peer, FinWait2, AckOfItsFin),
                    Closing => go(st, peer, TimeWait, AckOfItsFin),
                    LastAck => go(st, peer, Closed, AckOfItsFin),
                    _ => {}
                }
            }
        }
        if fin && st.fin_end[me] == Some(seg_end) {
            match st.states[peer] {
                SynSent | SynReceived | Established => go(st, peer, CloseWait, PeersFin),
                FinWait1 => go(st, peer, Closing, PeersFinBeforeAckOfItsOwn),
                FinWait2 => go(st, peer, TimeWait, PeersFin),
                _ => {}
            }
        }
        out
    }

    /// Starts tracking the stream of `t` (frame `no` its first): who is the client, and
    /// in which states the ends are when the capture first shows them.
    fn open(&mut self, t: &TcpRow, no: u64) {
        self.make_room();
        let (src, dst) = (t.src_endpoint(), t.dst_endpoint());
        let (syn, ack) = (t.has(TcpFlags::SYN), t.has(TcpFlags::ACK));
        let (client, server, states, mid) = if syn && !ack {
            (src, dst, [TcpState::Closed, TcpState::Listen], false)
        } else if syn {
            // The SYN was missed: the SYN-ACK's receiver is the client.
            (dst, src, [TcpState::SynSent, TcpState::SynReceived], true)
        } else {
            let is_server = |p: u16| HTTP_PORTS.contains(&p);
            let src_serves = match (is_server(t.src_port), is_server(t.dst_port)) {
                (true, false) => true,
                (false, true) => false,
                _ => t.src_port < t.dst_port,
            };
            let (c, s) = if src_serves { (dst, src) } else { (src, dst) };
            (c, s, [TcpState::Established; 2], true)
        };
        self.streams.insert(
            t.stream,
            StreamStates {
                stream: t.stream,
                client,
                server,
                mid_stream: mid,
                first_frame: no,
                states,
                syn_end: [None; 2],
                fin_end: [None; 2],
                last_frame: no,
            },
        );
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

/// The timeline block of one stream, as `taplab trace` prints it; times in seconds
/// since `t0_us` (the capture's first frame, µs since the epoch).
pub fn render_stream(st: &StreamStates, changes: &[StateChange], t0_us: i64) -> String {
    let cause = |c: &StateChange| c.inferred.map_or("socket state", |i| i.cause.text());
    let cell = |c: &StateChange| format!("{} → {} ({})", c.from, c.to, cause(c));
    let (client, server) = (endpoint_text(st.client), endpoint_text(st.server));
    let head_c = format!("client ({client})");
    let head_s = format!("server ({server})");
    let width = changes
        .iter()
        .filter(|c| c.side == Side::Client)
        .map(|c| cell(c).chars().count())
        .chain([head_c.chars().count()])
        .max()
        .unwrap_or(0)
        + 3;
    let mut s = format!(
        "Stream {}: {client} ↔ {server} (states inferred from the segments)\n",
        st.stream
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
        let time = (c.time.total_micros() - t0_us) as f64 / 1e6;
        let frame = c.frame.unwrap_or(0);
        let line = format!("  {frame:>5}  {time:<10.6} {l:<width$}{r}");
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
