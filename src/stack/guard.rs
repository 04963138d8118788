//! The edge guard: what a hostile or merely unlucky peer must not be able to do to a
//! connection, decided per segment before smoltcp sees it.
//!
//! Data in: a received segment of a known connection ([`Segment`]), the connection's
//! state and the guard's [`View`] of its sequence spaces. Data out: a [`Verdict`] —
//! hand it to smoltcp as it is, hand it over changed, answer it with a (challenge) ACK,
//! send our SYN-ACK again, drop it, or let a new connection take the pair. The stack
//! carries the verdict out and reports every non-trivial one as a
//! [`GuardAction`](super::GuardAction), so
//! the live trace, the lab report and the log name what happened.
//!
//! The rules, and who applies them:
//! - RFC 5961 §3 (RST): sequence number exactly RCV.NXT → smoltcp closes; inside the
//!   receive window → challenge ACK, the RST is dropped; outside → dropped. smoltcp closes
//!   on any in-window RST, so the guard decides.
//! - RFC 5961 §4 (SYN in a synchronized state): challenge ACK, whatever its sequence
//!   number. smoltcp ignores an in-window SYN silently.
//! - RFC 5961 §5 (ACK acceptability): an ACK beyond what we sent draws smoltcp's own
//!   challenge ACK (it does this right); one older than SND.UNA − MAX.SND.WND is dropped
//!   with an ACK (§5.2); one merely old (below SND.UNA, within the window) is harmless,
//!   but smoltcp discards the whole segment with it, data included — so the guard moves
//!   the ACK field up to SND.UNA and the data gets through.
//! - RFC 5961 §7: challenge ACKs are limited to [`CHALLENGE_ACK_LIMIT`] per second in
//!   all (Linux's `tcp_challenge_ack_limit`), on top of smoltcp's one per second per
//!   connection.
//! - RFC 7323 §5 (PAWS): a segment whose TSval is older than TS.Recent is dropped with
//!   an ACK; TS.Recent is taken only from acceptable segments (§4.3).
//! - A FIN beyond RCV.NXT (data missing before it) is due an immediate duplicate ACK
//!   (RFC 9293 §3.10.7.4); smoltcp drops such a FIN silently.
//! - A duplicate SYN in SYN-RECEIVED is answered with our SYN-ACK again, as Linux does
//!   (smoltcp waits for its retransmission timer).
//! - A SYN for a pair in TIME-WAIT whose sequence number is beyond the old connection's
//!   (or whose timestamp is newer) starts a new connection (RFC 6191, as Linux).
//! - Data or a FIN past the window our SYN-ACK offered is cut at its edge
//!   ([`syn_ack_overrun`]), with or without `--no-guard`: smoltcp 0.14 scales the
//!   SYN-ACK's window (which RFC 7323 §2.2 says is never scaled) when it judges the
//!   peer's next segments, so until it sends again it takes data up to 2^shift times past
//!   its buffer and later panics in `RingBuffer::enqueue_unallocated` — any peer could
//!   stop `taplab serve` with a SYN and ~47 segments. Found by fuzzing (`fuzz/`, target
//!   `frames`); `examples/smoltcp_syn_ack_window.rs` shows smoltcp on its own.
//!
//! A challenge ACK comes from smoltcp itself: the guard turns the offending segment into
//! one that smoltcp must find unacceptable (ACK only, no payload, sequence number just
//! below RCV.NXT), and smoltcp answers it with an ACK carrying its true SND.NXT,
//! RCV.NXT, window and SACK blocks. The guard's view needs RCV.NXT exactly: the stack
//! keeps it from the peer's ISN and the bytes smoltcp delivered in order.

use crate::tcp::{TcpFlags, TcpOption, TcpState, options};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetFrame, EthernetProtocol, Ipv4Packet, Ipv6Packet, TcpPacket};

/// Challenge ACKs sent per second at most, over all connections (RFC 5961 §7).
pub const CHALLENGE_ACK_LIMIT: u32 = 1000;

/// a < b in sequence space (RFC 9293 §3.4, modulo 2^32).
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

pub fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}

/// What the guard knows of one connection, in smoltcp's sequence space (above the knobs
/// layer). Kept up to date by the stack from the segments passing both ways.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The peer's initial sequence number, from its SYN.
    pub peer_isn: u32,
    /// RCV.NXT: the next byte expected from the peer (exact: ISN + 1 + the bytes smoltcp
    /// delivered in order, + 1 once its FIN was taken).
    pub rcv_nxt: u32,
    /// Our ISN, SND.UNA and SND.NXT, from our SYN-ACK, the peer's ACKs and our segments.
    pub our_isn: Option<u32>,
    pub snd_una: u32,
    pub snd_nxt: u32,
    /// The largest window the peer advertised (scaled): MAX.SND.WND of RFC 5961.
    pub max_snd_wnd: u32,
    /// The peer's window shift once both sides agreed to scale.
    pub peer_shift: u8,
    /// Our shift as sent in our SYN-ACK (0 without scaling).
    pub our_shift: u8,
    /// The peer offered window scaling in its SYN.
    pub peer_offered_scale: bool,
    /// RCV.WND: the window we last advertised (scaled).
    pub rcv_wnd: u32,
    /// Last.ACK.sent (RFC 7323): the ACK number of our latest segment.
    pub last_ack_sent: u32,
    /// TS.Recent, once the peer's timestamps are in use.
    pub ts_recent: Option<u32>,
    /// Our SYN-ACK as it left smoltcp, while the handshake is not complete.
    pub syn_ack: Option<Box<[u8]>>,
    /// The peer's window (scaled) as last seen.
    pub peer_wnd: Option<u32>,
    /// A window reopened without covering the data in flight (see [`Stall`]).
    pub stall: Option<Stall>,
    /// The last segment we sent that set smoltcp's idea of the receive window was our
    /// SYN-ACK (see [`syn_ack_overrun`]).
    pub window_from_syn: bool,
}

/// smoltcp drops its retransmission timer when a zero window reopens (it stops the
/// zero-window probe timer by going idle, though data is in flight). If the new window
/// does not cover what is in flight, nothing is ever sent again: the peer dropped the
/// data beyond its closed window, and smoltcp neither sends new data (no room) nor
/// retransmits (no timer). The stack watches for that case and, if the peer has
/// acknowledged nothing more after [`STALL_WAIT`], hands smoltcp the window-reopening
/// ACK three more times: three duplicate ACKs, smoltcp's fast retransmission of the
/// first unacknowledged segment, and with it the retransmission timer, are back.
/// (`scripts/smoltcp/zero-window-stall.pkt` shows smoltcp on its own.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub at: smoltcp::time::Instant,
    /// SND.UNA when the window reopened.
    pub snd_una: u32,
    /// The reopening ACK, as smoltcp received it.
    pub ack_frame: Box<[u8]>,
}

/// How long after a window reopened without covering the data in flight the stack
/// waits for progress before it repairs smoltcp's retransmission timer: RFC 6298's
/// smallest RTO.
pub const STALL_WAIT: Duration = Duration::from_secs(1);

impl View {
    /// The view of a connection whose SYN is `syn`.
    pub fn from_syn(syn: &Segment) -> View {
        View {
            peer_isn: syn.seq,
            rcv_nxt: syn.seq.wrapping_add(1),
            peer_offered_scale: syn.wscale.is_some(),
            peer_shift: syn.wscale.unwrap_or(0).min(14),
            max_snd_wnd: u32::from(syn.window),
            ..View::default()
        }
    }

    /// Takes note of a segment our stack sent on this connection.
    pub fn sent(&mut self, rec: &super::frame_io::TxRecord) {
        // An RST moves nothing of ours: smoltcp sends one in answer to an unacceptable
        // segment and keeps its window and sequence numbers as they were.
        if rec.flags.contains(TcpFlags::RST) {
            return;
        }
        let syn = rec.flags.contains(TcpFlags::SYN);
        // smoltcp's keep-alive (one byte at SND.NXT − 1, nothing in flight) carries a fake
        // segment and changes none of its state: not the window it judges the peer by.
        if !syn
            && self.our_isn.is_some()
            && rec.len <= 1
            && rec.seq == self.snd_nxt.wrapping_sub(1)
            && self.snd_una == self.snd_nxt
            && !rec.flags.contains(TcpFlags::FIN)
        {
            return;
        }
        // Any other segment sets smoltcp's window anew.
        self.window_from_syn = syn;
        if syn {
            self.our_isn = Some(rec.seq);
            self.snd_una = rec.seq;
            self.snd_nxt = rec.seq;
            self.our_shift = rec.wscale.unwrap_or(0).min(14);
            if rec.wscale.is_none() {
                self.peer_shift = 0;
            }
            self.syn_ack = rec.syn_frame.clone();
        }
        let end = rec
            .seq
            .wrapping_add(rec.len)
            .wrapping_add(u32::from(syn))
            .wrapping_add(u32::from(rec.flags.contains(TcpFlags::FIN)));
        if self.our_isn.is_some() && seq_lt(self.snd_nxt, end) {
            self.snd_nxt = end;
        }
        if rec.flags.contains(TcpFlags::ACK) {
            self.last_ack_sent = rec.ack;
            let shift = if syn { 0 } else { self.our_shift };
            self.rcv_wnd = u32::from(rec.window) << shift;
        }
    }

    /// Takes note of a segment smoltcp accepted (after the stack handed it over).
    pub fn received(&mut self, seg: &Segment) {
        if seg.flags.contains(TcpFlags::ACK)
            && seq_le(self.snd_una, seg.ack)
            && seq_le(seg.ack, self.snd_nxt)
        {
            self.snd_una = seg.ack;
        }
        if !seg.flags.contains(TcpFlags::SYN) {
            let wnd = u32::from(seg.window) << self.peer_shift;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
        }
        // RFC 7323 §4.3: TS.Recent from an acceptable segment that does not start
        // beyond what we acknowledged.
        if let Some(ts) = seg.tsval
            && seq_le(seg.seq, self.last_ack_sent)
            && self.ts_recent.is_none_or(|r| seq_le(r, ts))
        {
            self.ts_recent = Some(ts);
        }
    }
}

/// The header fields of a received segment the guard looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// Payload bytes.
    pub len: u32,
    pub tsval: Option<u32>,
    pub wscale: Option<u8>,
}

impl Segment {
    pub fn of(tcp: &TcpPacket<&[u8]>) -> Segment {
        let mut tsval = None;
        let mut wscale = None;
        for o in options(tcp.options()) {
            match o.option {
                TcpOption::Timestamps { val, .. } => tsval = Some(val),
                TcpOption::WindowScale(s) => wscale = Some(s),
                _ => {}
            }
        }
        Segment {
            flags: TcpFlags::of(tcp),
            seq: tcp.seq_number().0 as u32,
            ack: tcp.ack_number().0 as u32,
            window: tcp.window_len(),
            len: tcp.payload().len() as u32,
            tsval,
            wscale,
        }
    }
}

/// Why the guard acted, in the words of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Why {
    /// RFC 5961 §3.2: an RST inside the window but not at RCV.NXT.
    RstInWindow,
    /// An RST outside the receive window.
    RstOutOfWindow,
    /// RFC 5961 §4.2: a SYN on a synchronized connection.
    SynOnConnection,
    /// RFC 5961 §5.2: an ACK older than SND.UNA − MAX.SND.WND.
    AckTooOld,
    /// An ACK below SND.UNA but within the window, on a segment with data: moved up.
    OldAckWithData,
    /// RFC 7323 §5: PAWS, a timestamp older than TS.Recent.
    Paws,
    /// A FIN beyond RCV.NXT: a duplicate ACK is due.
    FinOutOfOrder,
    /// smoltcp lost its retransmission timer when a zero window reopened: three
    /// duplicate ACKs handed to it restart retransmission.
    RetransmitRepair,
    /// A duplicate SYN in SYN-RECEIVED: our SYN-ACK again.
    DuplicateSyn,
    /// A SYN for a pair in TIME-WAIT, beyond the old connection: a new connection.
    TimeWaitReuse,
    /// A SYN with a new ISN in SYN-RECEIVED: the peer started over.
    SynRestart,
    /// Data past the window our SYN-ACK offered: cut (a smoltcp 0.14 workaround).
    PastSynAckWindow,
    /// The challenge-ACK budget of this second is spent: dropped without an answer.
    ChallengeLimit,
}

impl Why {
    /// The trace's words for it.
    pub fn text(self) -> &'static str {
        match self {
            Why::RstInWindow => "RST in window but not at RCV.NXT: challenge ACK (RFC 5961 §3)",
            Why::RstOutOfWindow => "RST outside the receive window: dropped (RFC 5961 §3)",
            Why::SynOnConnection => "SYN on a synchronized connection: challenge ACK (RFC 5961 §4)",
            Why::AckTooOld => {
                "ACK older than SND.UNA - MAX.SND.WND: dropped, ACK sent (RFC 5961 §5)"
            }
            Why::OldAckWithData => {
                "old but acceptable ACK on data: ACK field moved to SND.UNA so the data is kept"
            }
            Why::Paws => "timestamp older than TS.Recent: dropped, ACK sent (PAWS, RFC 7323 §5)",
            Why::FinOutOfOrder => "FIN beyond RCV.NXT: duplicate ACK",
            Why::RetransmitRepair => {
                "window reopened short of the data in flight and nothing moved: smoltcp's retransmission restarted (three duplicate ACKs)"
            }
            Why::DuplicateSyn => "duplicate SYN in SYN-RECEIVED: SYN-ACK sent again",
            Why::TimeWaitReuse => "SYN beyond the TIME-WAIT connection: new connection (RFC 6191)",
            Why::SynRestart => {
                "SYN with a new ISN in SYN-RECEIVED: the half-open connection starts over"
            }
            Why::ChallengeLimit => "challenge-ACK limit reached: dropped (RFC 5961 §7)",
            Why::PastSynAckWindow => {
                "data past the window our SYN-ACK offered: cut at its edge (smoltcp would take it past its buffer)"
            }
        }
    }
}

/// What to do with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Hand it over with its ACK field set to this value.
    FixAck(u32, Why),
    /// Hand over only the first this-many payload bytes, without a FIN.
    Trim(u32, Why),
    /// Turn it into a segment smoltcp answers with an ACK, and hand that over.
    Challenge(Why),
    /// Send our SYN-ACK again; drop the segment.
    ResendSynAck(Why),
    Drop(Why),
    /// Free the old connection on this pair and treat the segment as a new SYN.
    Replace(Why),
}

/// The guard's state across connections: the challenge-ACK budget.
#[derive(Debug)]
pub struct Guard {
    window_start: Instant,
    challenges: u32,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            window_start: Instant::ZERO,
            challenges: 0,
        }
    }
}

impl Guard {
    /// Decides what becomes of `seg`, received on a connection in `state`.
    pub fn decide(&mut self, state: TcpState, view: &View, seg: &Segment, now: Instant) -> Verdict {
        let v = decide(state, view, seg);
        match v {
            Verdict::Challenge(_) if !self.spend(now) => Verdict::Drop(Why::ChallengeLimit),
            v => v,
        }
    }

    /// Takes one challenge ACK from this second's budget; false when none is left.
    fn spend(&mut self, now: Instant) -> bool {
        if now - self.window_start >= Duration::from_secs(1) || now < self.window_start {
            self.window_start = now;
            self.challenges = 0;
        }
        if self.challenges >= CHALLENGE_ACK_LIMIT {
            return false;
        }
        self.challenges += 1;
        true
    }
}

/// The rules of the module doc, without the rate limit.
pub fn decide(state: TcpState, view: &View, seg: &Segment) -> Verdict {
    let f = seg.flags;
    let syn = f.contains(TcpFlags::SYN);
    let rst = f.contains(TcpFlags::RST);
    let ack = f.contains(TcpFlags::ACK);
    match state {
        TcpState::SynReceived => {
            if syn && !ack && !rst {
                return if seg.seq == view.peer_isn {
                    Verdict::ResendSynAck(Why::DuplicateSyn)
                } else {
                    Verdict::Replace(Why::SynRestart)
                };
            }
            if rst && seg.seq != view.rcv_nxt {
                // Not exact: a blind RST must not undo the handshake. Inside the window
                // the peer is told where we are, as in a synchronized state (§3.2).
                return if in_window(view, seg.seq) {
                    Verdict::ResendSynAck(Why::RstInWindow)
                } else {
                    Verdict::Drop(Why::RstOutOfWindow)
                };
            }
            Verdict::Pass
        }
        TcpState::TimeWait if syn && !ack && !rst => {
            let newer_ts =
                matches!((seg.tsval, view.ts_recent), (Some(t), Some(r)) if seq_lt(r, t));
            if seq_lt(view.rcv_nxt, seg.seq) || newer_ts {
                Verdict::Replace(Why::TimeWaitReuse)
            } else {
                Verdict::Pass
            }
        }
        s if s.is_synchronized() || s == TcpState::TimeWait => synchronized(view, seg),
        _ => Verdict::Pass,
    }
}

/// How many payload bytes of `seg` smoltcp may see, if it must not see them all: the
/// segment goes past the window our SYN-ACK offered while smoltcp still judges by that
/// SYN-ACK (the module doc). RFC 9293 §3.10.7.4: only the part inside the window is
/// processed; its FIN, beyond the edge, is not. None: hand it over whole.
pub fn syn_ack_overrun(view: &View, seg: &Segment) -> Option<u32> {
    // Without scaling smoltcp's edge is the true one.
    if !view.window_from_syn || view.our_shift == 0 || seg.flags.contains(TcpFlags::RST) {
        return None;
    }
    let edge = view.last_ack_sent.wrapping_add(view.rcv_wnd);
    let end = seg
        .seq
        .wrapping_add(seg.len)
        .wrapping_add(u32::from(seg.flags.contains(TcpFlags::FIN)));
    if seq_le(end, edge) {
        return None;
    }
    let room = edge.wrapping_sub(seg.seq) as i32;
    Some((room.max(0) as u32).min(seg.len))
}

/// RFC 9293 §3.10.7.4's acceptability test: does the segment fall in the window?
pub fn acceptable(view: &View, seg: &Segment) -> bool {
    if seg.len == 0 {
        return if view.rcv_wnd == 0 {
            seg.seq == view.rcv_nxt
        } else {
            in_window(view, seg.seq)
        };
    }
    view.rcv_wnd > 0
        && (in_window(view, seg.seq) || in_window(view, seg.seq.wrapping_add(seg.len - 1)))
}

/// RCV.NXT ≤ seq < RCV.NXT + RCV.WND (a zero window accepts only RCV.NXT itself).
fn in_window(view: &View, seq: u32) -> bool {
    seq.wrapping_sub(view.rcv_nxt) < view.rcv_wnd.max(1)
}

fn synchronized(view: &View, seg: &Segment) -> Verdict {
    let f = seg.flags;
    if f.contains(TcpFlags::RST) {
        return if seg.seq == view.rcv_nxt {
            Verdict::Pass
        } else if in_window(view, seg.seq) {
            Verdict::Challenge(Why::RstInWindow)
        } else {
            Verdict::Drop(Why::RstOutOfWindow)
        };
    }
    if f.contains(TcpFlags::SYN) {
        return Verdict::Challenge(Why::SynOnConnection);
    }
    if let (Some(ts), Some(recent)) = (seg.tsval, view.ts_recent)
        && seq_lt(ts, recent)
    {
        return Verdict::Challenge(Why::Paws);
    }
    if f.contains(TcpFlags::ACK) && view.our_isn.is_some() && seq_lt(seg.ack, view.snd_una) {
        let oldest = view.snd_una.wrapping_sub(view.max_snd_wnd);
        if seq_lt(seg.ack, oldest) {
            return Verdict::Challenge(Why::AckTooOld);
        }
        if seg.len > 0 || f.contains(TcpFlags::FIN) {
            return Verdict::FixAck(view.snd_una, Why::OldAckWithData);
        }
    }
    if f.contains(TcpFlags::FIN) && seg.len == 0 && seq_lt(view.rcv_nxt, seg.seq) {
        return Verdict::Challenge(Why::FinOutOfOrder);
    }
    Verdict::Pass
}

/// Rewrites the TCP segment of `frame` (Ethernet, IPv4 or IPv6) in place; `change` edits
/// the header; the payload is cut to its first `keep` bytes when `keep` is given.
/// Lengths and checksums are made right. Returns the frame's new length (None if it is
/// not a TCP frame it can edit).
pub fn rewrite(
    frame: &mut [u8],
    keep: Option<usize>,
    change: impl FnOnce(&mut TcpPacket<&mut [u8]>),
) -> Option<usize> {
    let span = crate::device::frame::tcp_span(frame)?;
    let (src, dst) = (span.src, span.dst);
    let tcp_start = span.range.start;
    let header_len = TcpPacket::new_checked(&frame[span.range.clone()])
        .ok()?
        .header_len() as usize;
    let tcp_len = keep.map_or(span.range.len(), |k| (header_len + k).min(span.range.len()));
    let eth = EthernetFrame::new_checked(&mut frame[..]).ok()?;
    match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let mut ip = Ipv4Packet::new_checked(&mut frame[14..]).ok()?;
            let total = ip.header_len() as usize + tcp_len;
            ip.set_total_len(total as u16);
            ip.fill_checksum();
        }
        EthernetProtocol::Ipv6 => {
            let mut ip = Ipv6Packet::new_checked(&mut frame[14..]).ok()?;
            ip.set_payload_len(tcp_len as u16);
        }
        _ => return None,
    }
    let mut tcp = TcpPacket::new_unchecked(&mut frame[tcp_start..tcp_start + tcp_len]);
    change(&mut tcp);
    tcp.fill_checksum(&src, &dst);
    Some(tcp_start + tcp_len)
}

/// Turns a segment into one smoltcp finds unacceptable and answers with an ACK: ACK flag
/// only, no payload, acknowledging SND.NXT (always acceptable), sequence number two below
/// RCV.NXT (one below is smoltcp's keep-alive case; both draw the same ACK).
pub fn into_challenge(frame: &mut [u8], view: &View) -> Option<usize> {
    let (seq, ack) = (view.rcv_nxt.wrapping_sub(2), view.snd_nxt);
    rewrite(frame, Some(0), |tcp| {
        tcp.set_syn(false);
        tcp.set_rst(false);
        tcp.set_fin(false);
        tcp.set_psh(false);
        tcp.set_urg(false);
        tcp.set_ack(true);
        tcp.set_seq_number(smoltcp::wire::TcpSeqNumber(seq as i32));
        tcp.set_ack_number(smoltcp::wire::TcpSeqNumber(ack as i32));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View {
            peer_isn: 999,
            rcv_nxt: 1000,
            our_isn: Some(5000),
            snd_una: 6000,
            snd_nxt: 7000,
            max_snd_wnd: 500,
            rcv_wnd: 100,
            last_ack_sent: 1000,
            ..View::default()
        }
    }

    fn seg(flags: TcpFlags, seq: u32, ack: u32, len: u32) -> Segment {
        Segment {
            flags,
            seq,
            ack,
            window: 100,
            len,
            tsval: None,
            wscale: None,
        }
    }

    const EST: TcpState = TcpState::Established;

    #[test]
    fn rst_exact_in_window_and_outside() {
        let v = view();
        assert_eq!(
            decide(EST, &v, &seg(TcpFlags::RST, 1000, 0, 0)),
            Verdict::Pass
        );
        assert_eq!(
            decide(EST, &v, &seg(TcpFlags::RST, 1050, 0, 0)),
            Verdict::Challenge(Why::RstInWindow)
        );
        assert_eq!(
            decide(EST, &v, &seg(TcpFlags::RST, 1100, 0, 0)),
            Verdict::Drop(Why::RstOutOfWindow)
        );
        assert_eq!(
            decide(EST, &v, &seg(TcpFlags::RST, 999, 0, 0)),
            Verdict::Drop(Why::RstOutOfWindow)
        );
    }

    #[test]
    fn syn_on_a_connection_and_in_the_handshake() {
        let v = view();
        let syn = seg(TcpFlags::SYN, 12345, 0, 0);
        assert_eq!(
            decide(EST, &v, &syn),
            Verdict::Challenge(Why::SynOnConnection)
        );
        assert_eq!(
            decide(TcpState::SynReceived, &v, &seg(TcpFlags::SYN, 999, 0, 0)),
            Verdict::ResendSynAck(Why::DuplicateSyn)
        );
        assert_eq!(
            decide(TcpState::SynReceived, &v, &syn),
            Verdict::Replace(Why::SynRestart)
        );
        assert_eq!(
            decide(TcpState::TimeWait, &v, &seg(TcpFlags::SYN, 2000, 0, 0)),
            Verdict::Replace(Why::TimeWaitReuse)
        );
        assert_eq!(
            decide(TcpState::TimeWait, &v, &seg(TcpFlags::SYN, 900, 0, 0)),
            Verdict::Pass
        );
    }

    #[test]
    fn ack_acceptability() {
        let v = view();
        let a = TcpFlags::ACK;
        assert_eq!(decide(EST, &v, &seg(a, 1000, 6500, 10)), Verdict::Pass);
        assert_eq!(
            decide(EST, &v, &seg(a, 1000, 5800, 10)),
            Verdict::FixAck(6000, Why::OldAckWithData)
        );
        assert_eq!(decide(EST, &v, &seg(a, 1000, 5800, 0)), Verdict::Pass);
        assert_eq!(
            decide(EST, &v, &seg(a, 1000, 5400, 0)),
            Verdict::Challenge(Why::AckTooOld)
        );
        // Beyond SND.NXT: smoltcp's own challenge ACK.
        assert_eq!(decide(EST, &v, &seg(a, 1000, 9000, 0)), Verdict::Pass);
    }

    #[test]
    fn paws_and_out_of_order_fin() {
        let mut v = view();
        v.ts_recent = Some(500);
        let mut s = seg(TcpFlags::ACK, 1000, 6500, 10);
        s.tsval = Some(400);
        assert_eq!(decide(EST, &v, &s), Verdict::Challenge(Why::Paws));
        s.tsval = Some(600);
        assert_eq!(decide(EST, &v, &s), Verdict::Pass);
        let fin = seg(TcpFlags::FIN | TcpFlags::ACK, 1020, 6500, 0);
        assert_eq!(
            decide(EST, &v, &fin),
            Verdict::Challenge(Why::FinOutOfOrder)
        );
        let fin = seg(TcpFlags::FIN | TcpFlags::ACK, 1000, 6500, 0);
        assert_eq!(decide(EST, &v, &fin), Verdict::Pass);
    }

    #[test]
    fn sequence_comparisons_wrap() {
        assert!(seq_lt(u32::MAX - 5, 3));
        assert!(!seq_lt(3, u32::MAX - 5));
        assert!(seq_le(7, 7));
        let mut v = view();
        v.rcv_nxt = u32::MAX - 10;
        assert!(in_window(&v, 20));
        assert!(!in_window(&v, 200));
    }

    #[test]
    fn challenge_budget_per_second() {
        let mut g = Guard::default();
        let v = view();
        let syn = seg(TcpFlags::SYN, 1, 0, 0);
        let t = Instant::from_secs(10);
        for _ in 0..CHALLENGE_ACK_LIMIT {
            assert!(matches!(g.decide(EST, &v, &syn, t), Verdict::Challenge(_)));
        }
        assert_eq!(
            g.decide(EST, &v, &syn, t),
            Verdict::Drop(Why::ChallengeLimit)
        );
        let later = t + Duration::from_secs(1);
        assert!(matches!(
            g.decide(EST, &v, &syn, later),
            Verdict::Challenge(_)
        ));
    }

    #[test]
    fn a_challenge_segment_is_an_empty_ack_below_the_window() {
        use crate::testutil::{frame, segment};
        use smoltcp::wire::{Ipv4Packet, TcpControl};
        let mut f = frame(
            false,
            &segment(40000, 80, TcpControl::Rst, 1050, Some(6000)),
        );
        f.extend_from_slice(&[]);
        let n = into_challenge(&mut f, &view()).unwrap();
        let ip = Ipv4Packet::new_checked(&f[14..n]).unwrap();
        assert!(ip.verify_checksum());
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.ack() && !tcp.rst() && !tcp.syn() && tcp.payload().is_empty());
        assert_eq!(tcp.seq_number().0 as u32, 998);
        assert_eq!(tcp.ack_number().0 as u32, 7000);
        assert!(tcp.verify_checksum(&ip.src_addr().into(), &ip.dst_addr().into()));
    }

    fn record(
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        window: u16,
    ) -> super::super::frame_io::TxRecord {
        let ep =
            smoltcp::wire::IpEndpoint::new(smoltcp::wire::Ipv4Address::new(10, 0, 0, 1).into(), 80);
        super::super::frame_io::TxRecord {
            local: ep,
            remote: ep,
            flags,
            seq,
            ack,
            window,
            len: 0,
            wscale: flags.contains(TcpFlags::SYN).then_some(1),
            syn_frame: None,
        }
    }

    #[test]
    fn data_past_the_syn_acks_window_is_cut_until_we_send_again() {
        let mut syn = seg(TcpFlags::SYN, 1000, 0, 0);
        syn.wscale = Some(7);
        let mut v = View::from_syn(&syn);
        let data = |seq: u32, len: u32, fin: bool| {
            let f = if fin {
                TcpFlags::ACK | TcpFlags::FIN
            } else {
                TcpFlags::ACK
            };
            seg(f, seq, 5001, len)
        };
        let edge = 1001 + 65535;
        // Before our SYN-ACK nothing is cut.
        assert_eq!(syn_ack_overrun(&v, &data(edge, 6, false)), None);
        v.sent(&record(TcpFlags::SYN | TcpFlags::ACK, 5000, 1001, 65535));
        // Inside the window: whole, FIN included.
        assert_eq!(syn_ack_overrun(&v, &data(edge - 10, 10, false)), None);
        assert_eq!(syn_ack_overrun(&v, &data(edge - 10, 9, true)), None);
        // Entirely past it: nothing of it; straddling: the part inside, no FIN.
        assert_eq!(syn_ack_overrun(&v, &data(edge, 6, false)), Some(0));
        assert_eq!(syn_ack_overrun(&v, &data(edge - 4, 10, true)), Some(4));
        assert_eq!(syn_ack_overrun(&v, &data(edge - 4, 4, true)), Some(4));
        // An RST passes as it is.
        assert_eq!(
            syn_ack_overrun(&v, &seg(TcpFlags::RST, edge + 9, 0, 0)),
            None
        );
        // Our RST and a keep-alive (at our ISN, after the handshake's ACK) leave smoltcp's
        // window as it was.
        v.received(&seg(TcpFlags::ACK, 1001, 5001, 0));
        v.sent(&record(TcpFlags::RST, 7, 0, 0));
        v.sent(&record(TcpFlags::ACK, 5000, 1001, 32768));
        assert_eq!(syn_ack_overrun(&v, &data(edge, 6, false)), Some(0));
        // Our next real segment makes smoltcp's own edge right again.
        v.sent(&record(TcpFlags::ACK, 5001, 1001, 32768));
        assert_eq!(syn_ack_overrun(&v, &data(edge, 6, false)), None);
    }

    #[test]
    fn without_scaling_nothing_is_cut() {
        let mut v = View::from_syn(&seg(TcpFlags::SYN, 1000, 0, 0));
        let mut rec = record(TcpFlags::SYN | TcpFlags::ACK, 5000, 1001, 16384);
        rec.wscale = None;
        v.sent(&rec);
        assert_eq!(
            syn_ack_overrun(&v, &seg(TcpFlags::ACK, 1001 + 16384, 5001, 6)),
            None
        );
    }
}
