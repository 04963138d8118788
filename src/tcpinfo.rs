//! What each connection looked like on the wire, for `/tcpinfo`: "how this page reached
//! you".
//!
//! Frames enter through [`ConnTable`]'s [`FrameObserver`] implementation, at the capture
//! point (so sequence numbers are the raw ones on the wire, after the knobs layer): the
//! SYN and SYN-ACK give both ISNs and the options each side offered (read with the
//! shared option walker, `crate::tcp::options`); every segment counts towards the
//! totals and the first [`MAX_SEGMENTS`] are kept for a small ladder, flags as
//! [`TcpFlags`], each data segment with the bytes in flight after it as Wireshark counts
//! them ([`crate::trace::flight`]). Our side's real TCP states enter from the stack
//! ([`ConnTable::state_change`]). What leaves is [`ConnTable::json`]: one connection as
//! JSON, with the knobs in force (text is made only there), served by the route
//! [`TcpInfo`], which the server asks before the site for each request.
//!
//! The table is bounded: at most `capacity` connections, the oldest closed ones forgotten
//! first.

use crate::device::capture::FrameObserver;
use crate::device::frame::tcp_span;
use crate::knobs::TcpKnobs;
use crate::tcp::{StateChange, TcpFlags, TcpOption, TcpState, TupleKey, options};
use crate::trace::flight::Flight;
use serde_json::{Value, json};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpEndpoint, TcpPacket};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

/// Segments of a connection kept for its ladder (the rest are only counted).
pub const MAX_SEGMENTS: usize = 48;

/// (our endpoint, the peer's endpoint).
pub type ConnKey = (IpEndpoint, IpEndpoint);

/// The options one side put in its SYN or SYN-ACK.
#[derive(Debug, Clone, Default)]
struct SynInfo {
    isn: u32,
    mss: Option<u16>,
    wscale: Option<u8>,
    sack_permitted: bool,
    timestamps: bool,
    window: u16,
}

impl SynInfo {
    fn from(tcp: &TcpPacket<&[u8]>) -> SynInfo {
        let mut info = SynInfo {
            isn: tcp.seq_number().0 as u32,
            window: tcp.window_len(),
            ..SynInfo::default()
        };
        for o in options(tcp.options()) {
            match o.option {
                TcpOption::Mss(m) => info.mss = Some(m),
                TcpOption::WindowScale(w) => info.wscale = Some(w),
                TcpOption::SackPermitted => info.sack_permitted = true,
                TcpOption::Timestamps { .. } => info.timestamps = true,
                _ => {}
            }
        }
        info
    }

    fn json(&self, ep: IpEndpoint) -> Value {
        json!({
            "address": ep.addr.to_string(),
            "port": ep.port,
            "isn": self.isn,
            "mss": self.mss,
            "wscale": self.wscale,
            "sack_permitted": self.sack_permitted,
            "timestamps": self.timestamps,
            "syn_window": self.window,
        })
    }
}

#[derive(Debug, Clone)]
struct SegmentRecord {
    time: Instant,
    outgoing: bool,
    flags: TcpFlags,
    seq: u32,
    ack: Option<u32>,
    len: usize,
    window: u16,
    /// Bytes in flight in its direction after it (data segments).
    in_flight: Option<u32>,
}

#[derive(Debug, Clone)]
struct ConnRecord {
    first_seen: Instant,
    peer_syn: Option<SynInfo>,
    our_syn: Option<SynInfo>,
    segments_in: u64,
    segments_out: u64,
    bytes_in: u64,
    bytes_out: u64,
    segments: Vec<SegmentRecord>,
    states: Vec<(Instant, TcpState)>,
    closed: bool,
    /// Data in flight from the peer ([0]) and from us ([1]), while segments are listed.
    flights: [Flight; 2],
    /// The next sequence number expected from each (a segment beyond it follows a gap).
    next: [Option<u32>; 2],
}

impl ConnRecord {
    /// Follows the segment into its direction's flight (and its ACK out of the other's)
    /// and returns the bytes in flight after it.
    fn in_flight(
        &mut self,
        outgoing: bool,
        tcp: &TcpPacket<&[u8]>,
        flags: TcpFlags,
    ) -> Option<u32> {
        let d = usize::from(outgoing);
        let seq = tcp.seq_number().0 as u32;
        let len = tcp.payload().len() as u32;
        let ctl = flags.intersects(TcpFlags::SYN | TcpFlags::FIN);
        let gap = !flags.contains(TcpFlags::RST)
            && self.next[d].is_some_and(|n| (seq.wrapping_sub(n) as i32) > 0);
        let end = seq.wrapping_add(len).wrapping_add(u32::from(ctl));
        if self.next[d].is_none_or(|n| (end.wrapping_sub(n) as i32) > 0) {
            self.next[d] = Some(end);
        }
        let (peer, us) = self.flights.split_at_mut(1);
        let (f, r) = if outgoing {
            (&mut us[0], &mut peer[0])
        } else {
            (&mut peer[0], &mut us[0])
        };
        f.sent(seq, len, ctl, gap, true);
        f.options(tcp.options());
        if flags.contains(TcpFlags::ACK) {
            r.acked(tcp.ack_number().0 as u32);
        }
        let syn = if outgoing {
            &self.our_syn
        } else {
            &self.peer_syn
        };
        f.bytes(syn.as_ref().map_or(0, |s| s.isn), len, r)
    }
}

/// Connections seen on the wire, by (our endpoint, peer endpoint).
///
/// Every frame passes here, so each costs O(1): one hash look-up (of the tuple packed as
/// a [`TupleKey`]), no checksum (the record
/// shows what was on the wire; smoltcp drops a corrupt segment anyway), and eviction from
/// two queues of keys in arrival order — closed connections first, then the oldest —
/// rather than a search of the table (a SYN flood must not make every frame scan it).
pub struct ConnTable {
    mac: EthernetAddress,
    capacity: usize,
    conns: HashMap<TupleKey, ConnRecord>,
    /// Keys in arrival order, and the keys of closed connections in closing order, each
    /// with the record's first-seen time (a stale entry names a record that is gone or
    /// was made again later).
    arrived: VecDeque<(TupleKey, Instant)>,
    closed: VecDeque<(TupleKey, Instant)>,
}

/// (source, destination, TCP header) of a frame carrying a TCP segment.
fn tcp_of(frame: &[u8]) -> Option<(IpAddress, IpAddress, TcpPacket<&[u8]>)> {
    let span = tcp_span(frame)?;
    let tcp = TcpPacket::new_checked(&frame[span.range]).ok()?;
    Some((span.src, span.dst, tcp))
}

impl ConnTable {
    /// `mac` tells our frames from the peer's.
    pub fn new(mac: EthernetAddress, capacity: usize) -> ConnTable {
        ConnTable {
            mac,
            capacity: capacity.max(1),
            conns: HashMap::new(),
            arrived: VecDeque::new(),
            closed: VecDeque::new(),
        }
    }

    fn record(&mut self, key: TupleKey, now: Instant) -> &mut ConnRecord {
        // Only a full table costs a second look-up.
        if self.conns.len() >= self.capacity && !self.conns.contains_key(&key) {
            while self.conns.len() >= self.capacity && self.evict_one() {}
        }
        let vacant = match self.conns.entry(key) {
            Entry::Occupied(e) => return e.into_mut(),
            Entry::Vacant(e) => e,
        };
        self.arrived.push_back((key, now));
        vacant.insert(ConnRecord {
            first_seen: now,
            peer_syn: None,
            our_syn: None,
            segments_in: 0,
            segments_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            segments: Vec::new(),
            states: Vec::new(),
            closed: false,
            flights: Default::default(),
            next: [None; 2],
        })
    }

    /// Forgets the record that should go first: a closed one, else the oldest. False if
    /// the queues are empty.
    fn evict_one(&mut self) -> bool {
        for queue in [&mut self.closed, &mut self.arrived] {
            while let Some((key, first)) = queue.pop_front() {
                if self.conns.get(&key).is_some_and(|r| r.first_seen == first) {
                    self.conns.remove(&key);
                    return true;
                }
            }
        }
        false
    }

    /// Marks a record closed (it goes first when the table is full).
    fn close(&mut self, key: TupleKey) {
        if let Some(r) = self.conns.get_mut(&key)
            && !r.closed
        {
            r.closed = true;
            self.closed.push_back((key, r.first_seen));
        }
    }

    /// One of our sockets changed state (smoltcp's real states, reported by the stack).
    pub fn state_change(&mut self, c: &StateChange) {
        let key = TupleKey::new(c.local, c.remote);
        let r = self.record(key, c.time);
        if r.states.is_empty() {
            r.states.push((c.time, c.from));
        }
        r.states.push((c.time, c.to));
        if matches!(c.to, TcpState::Closed | TcpState::TimeWait) {
            self.close(key);
        }
    }

    /// One connection as JSON (None if it was never seen).
    pub fn json(&self, key: ConnKey, knobs: &TcpKnobs, now: Instant) -> Option<Value> {
        let r = self.conns.get(&TupleKey::new(key.0, key.1))?;
        let (ours, peer) = key;
        let (our_isn, peer_isn) = (
            r.our_syn.as_ref().map_or(0, |s| s.isn),
            r.peer_syn.as_ref().map_or(0, |s| s.isn),
        );
        let ms = |t: Instant| (t - r.first_seen).total_micros() as f64 / 1000.0;
        let segments: Vec<Value> = r
            .segments
            .iter()
            .map(|s| {
                // Relative numbers, as Wireshark shows them.
                let (seq_base, ack_base) = if s.outgoing {
                    (our_isn, peer_isn)
                } else {
                    (peer_isn, our_isn)
                };
                json!({
                    "t_ms": ms(s.time),
                    "from": if s.outgoing { "server" } else { "client" },
                    "flags": s.flags.wireshark(),
                    "seq": s.seq.wrapping_sub(seq_base),
                    "ack": s.ack.map(|a| a.wrapping_sub(ack_base)),
                    "len": s.len,
                    "win": s.window,
                    "in_flight": s.in_flight,
                })
            })
            .collect();
        let both = |f: fn(&SynInfo) -> bool| matches!((&r.peer_syn, &r.our_syn), (Some(p), Some(o)) if f(p) && f(o));
        let scaling = matches!((&r.peer_syn, &r.our_syn), (Some(p), Some(o)) if p.wscale.is_some() && o.wscale.is_some());
        Some(json!({
            "client": r.peer_syn.as_ref().map_or_else(|| json!({"address": peer.addr.to_string(), "port": peer.port}), |s| s.json(peer)),
            "server": r.our_syn.as_ref().map_or_else(|| json!({"address": ours.addr.to_string(), "port": ours.port}), |s| s.json(ours)),
            "negotiated": {
                "mss_client_sends": r.our_syn.as_ref().and_then(|s| s.mss),
                "mss_server_sends": r.peer_syn.as_ref().and_then(|s| s.mss).map(|m| knobs.mss.map_or(m, |k| k.min(m))),
                "window_scaling": scaling,
                "client_shift": if scaling { r.peer_syn.as_ref().and_then(|s| s.wscale) } else { None },
                "server_shift": if scaling { r.our_syn.as_ref().and_then(|s| s.wscale) } else { None },
                "sack": both(|s| s.sack_permitted),
                "timestamps": both(|s| s.timestamps),
            },
            "knobs": knobs.to_json(),
            "so_far": {
                "ms": ms(now),
                "segments_from_client": r.segments_in,
                "segments_to_client": r.segments_out,
                "bytes_from_client": r.bytes_in,
                "bytes_to_client": r.bytes_out,
            },
            "server_states": r.states.iter().map(|(t, s)| json!({"t_ms": ms(*t), "state": s.name()})).collect::<Vec<_>>(),
            "segments": segments,
            "segments_not_listed": (r.segments_in + r.segments_out).saturating_sub(r.segments.len() as u64),
        }))
    }
}

impl FrameObserver for ConnTable {
    fn frame(&mut self, time: Instant, frame: &[u8]) {
        let Some((src, dst, tcp)) = tcp_of(frame) else {
            return;
        };
        let flags = TcpFlags::of(&tcp);
        let outgoing = frame.get(6..12) == Some(&self.mac.0[..]);
        let (from, to) = (
            IpEndpoint::new(src, tcp.src_port()),
            IpEndpoint::new(dst, tcp.dst_port()),
        );
        let key = if outgoing {
            TupleKey::new(from, to)
        } else {
            TupleKey::new(to, from)
        };
        // A new connection on a recycled 4-tuple starts a new record.
        if flags & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN && !outgoing {
            self.conns.remove(&key);
        }
        let r = self.record(key, time);
        if flags.contains(TcpFlags::SYN) {
            let info = SynInfo::from(&tcp);
            if outgoing {
                r.our_syn = Some(info);
            } else {
                r.peer_syn = Some(info);
            }
        }
        let len = tcp.payload().len();
        if outgoing {
            r.segments_out += 1;
            r.bytes_out += len as u64;
        } else {
            r.segments_in += 1;
            r.bytes_in += len as u64;
        }
        if r.segments.len() < MAX_SEGMENTS {
            let in_flight = r.in_flight(outgoing, &tcp, flags);
            r.segments.push(SegmentRecord {
                time,
                outgoing,
                flags,
                seq: tcp.seq_number().0 as u32,
                ack: flags
                    .contains(TcpFlags::ACK)
                    .then_some(tcp.ack_number().0 as u32),
                len,
                window: tcp.window_len(),
                in_flight,
            });
            if r.segments.len() == MAX_SEGMENTS {
                // Nothing more is listed: no need to follow the flights.
                r.flights = Default::default();
            }
        }
        if flags.contains(TcpFlags::RST) {
            self.close(key);
        }
    }
}

/// `/tcpinfo`: the wire record of the connection that asks.
pub struct TcpInfo<'a> {
    pub table: &'a std::cell::RefCell<ConnTable>,
    pub key: ConnKey,
    pub knobs: &'a TcpKnobs,
    pub now: Instant,
}

impl crate::http::Generator for TcpInfo<'_> {
    fn generate(&self, path: &str) -> Option<crate::http::Generated> {
        if path != "/tcpinfo" {
            return None;
        }
        let json = self.table.borrow().json(self.key, self.knobs, self.now)?;
        let mut body = serde_json::to_vec_pretty(&json).ok()?;
        body.push(b'\n');
        Some(crate::http::Generated {
            content_type: "application/json",
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{self, CLIENT_IP as PEER, SERVER_IP as US, SERVER_MAC as MAC, segment};
    use smoltcp::wire::{TcpControl, TcpRepr};

    fn frame(
        outgoing: bool,
        control: TcpControl,
        seq: u32,
        ack: Option<u32>,
        payload: &'static [u8],
        mss: Option<u16>,
    ) -> Vec<u8> {
        frame_port(40000, outgoing, control, seq, ack, payload, mss)
    }

    fn frame_port(
        port: u16,
        outgoing: bool,
        control: TcpControl,
        seq: u32,
        ack: Option<u32>,
        payload: &'static [u8],
        mss: Option<u16>,
    ) -> Vec<u8> {
        let (sp, dp) = if outgoing { (80, port) } else { (port, 80) };
        let tcp = TcpRepr {
            window_len: 500,
            window_scale: mss.map(|_| 7),
            max_seg_size: mss,
            sack_permitted: mss.is_some(),
            payload,
            ..segment(sp, dp, control, seq, ack)
        };
        testutil::frame(outgoing, &tcp)
    }

    #[test]
    fn a_connection_as_json() {
        let mut table = ConnTable::new(MAC, 8);
        let t = |ms| Instant::from_millis(ms);
        table.frame(
            t(0),
            &frame(false, TcpControl::Syn, 5000, None, &[], Some(1460)),
        );
        table.frame(
            t(1),
            &frame(true, TcpControl::Syn, 1000, Some(5001), &[], Some(536)),
        );
        table.frame(
            t(2),
            &frame(false, TcpControl::None, 5001, Some(1001), &[], None),
        );
        table.frame(
            t(3),
            &frame(false, TcpControl::Psh, 5001, Some(1001), b"GET /", None),
        );
        let key = (
            IpEndpoint::new(US.into(), 80),
            IpEndpoint::new(PEER.into(), 40000),
        );
        table.state_change(&StateChange {
            time: t(2),
            side: crate::tcp::Side::Server,
            local: key.0,
            remote: key.1,
            from: TcpState::SynReceived,
            to: TcpState::Established,
            frame: None,
            inferred: None,
        });
        let j = table.json(key, &TcpKnobs::default(), t(4)).unwrap();
        assert_eq!(j["client"]["isn"], 5000);
        assert_eq!(j["server"]["isn"], 1000);
        assert_eq!(j["server"]["mss"], 536);
        assert_eq!(j["negotiated"]["mss_client_sends"], 536);
        assert_eq!(j["negotiated"]["window_scaling"], true);
        assert_eq!(j["so_far"]["segments_from_client"], 3);
        assert_eq!(j["so_far"]["bytes_from_client"], 5);
        let segs = j["segments"].as_array().unwrap();
        assert_eq!(segs.len(), 4);
        assert_eq!(segs[1]["flags"], "SYN, ACK");
        assert_eq!(
            (segs[1]["seq"].as_u64(), segs[1]["ack"].as_u64()),
            (Some(0), Some(1))
        );
        assert_eq!(
            (segs[3]["seq"].as_u64(), segs[3]["len"].as_u64()),
            (Some(1), Some(5))
        );
        // The request's 5 bytes are in flight (nothing acknowledged them yet); segments
        // without data have no value.
        assert_eq!(segs[3]["in_flight"], 5);
        assert!(segs[2]["in_flight"].is_null());
        assert_eq!(j["server_states"][0]["state"], "SYN_RCVD");
        assert_eq!(j["server_states"][1]["state"], "ESTABLISHED");
        assert!(
            table
                .json((key.1, key.0), &TcpKnobs::default(), t(4))
                .is_none()
        );
    }

    #[test]
    fn bounded_and_garbage_proof() {
        let mut table = ConnTable::new(MAC, 2);
        for port in 0..5u16 {
            let f = frame_port(
                41000 + port,
                false,
                TcpControl::Syn,
                1,
                None,
                &[],
                Some(1460),
            );
            table.frame(Instant::from_millis(port as i64), &f);
            assert_eq!(table.conns.len(), (port as usize + 1).min(2));
        }
        table.frame(Instant::from_millis(9), &[0u8; 7]);
        table.frame(Instant::from_millis(9), &[0xffu8; 80]);
    }

    #[test]
    fn a_full_table_forgets_closed_connections_first() {
        let mut table = ConnTable::new(MAC, 2);
        let syn = |port| frame_port(port, false, TcpControl::Syn, 1, None, &[], Some(1460));
        let t = Instant::from_millis;
        table.frame(t(1), &syn(41001));
        table.frame(t(2), &syn(41002));
        // The newer one is reset: it goes before the older, open one.
        let rst = frame_port(41002, false, TcpControl::Rst, 2, None, &[], None);
        table.frame(t(3), &rst);
        table.frame(t(4), &syn(41003));
        let peer = |port| IpEndpoint::new(PEER.into(), port);
        let us = IpEndpoint::new(US.into(), 80);
        assert!(table.conns.contains_key(&TupleKey::new(us, peer(41001))));
        assert!(!table.conns.contains_key(&TupleKey::new(us, peer(41002))));
        // Now none is closed: the oldest goes.
        table.frame(t(5), &syn(41004));
        assert!(!table.conns.contains_key(&TupleKey::new(us, peer(41001))));
        assert!(table.conns.contains_key(&TupleKey::new(us, peer(41003))));
        assert!(table.conns.contains_key(&TupleKey::new(us, peer(41004))));
    }
}
