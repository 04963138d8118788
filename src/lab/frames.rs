//! What the lab's captured frames say: each frame's listing row from
//! [`crate::trace::Analyzer`] (Wireshark's listing and TCP analysis: retransmissions,
//! window updates, zero windows, dup ACKs…), and for TCP a [`Seg`]: the analyzer's
//! values as the scenarios' checks and the SVG ladder read them — who sent it, flags,
//! raw and relative numbers, SYN options, the analysis marks, the first line of an HTTP
//! message that starts in it. Nothing is parsed twice: a [`Seg`] is taken from the
//! row's [`TcpRow`].
//!
//! Frames enter as [`Captured`] (time and bytes, in capture order, as the pcap holds them);
//! [`analyze`] returns one [`Frame`] per captured frame, and [`listing`] the listing text.

use crate::tcp::TcpFlags;
use crate::trace::{Analyzer, LinkType, ListingOptions, Mark, Row, TcpRow};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpEndpoint};
use std::fmt::Write as _;

/// One frame as captured.
#[derive(Debug, Clone)]
pub struct Captured {
    pub time: Instant,
    pub frame: Vec<u8>,
}

/// A TCP segment as the checks read it.
#[derive(Debug, Clone)]
pub struct Seg {
    /// Sent by the client (else by the server).
    pub from_client: bool,
    /// Connection index (Wireshark's tcp.stream).
    pub stream: usize,
    pub src: IpEndpoint,
    pub dst: IpEndpoint,
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    /// Raw sequence and acknowledgement numbers as on the wire.
    pub seq: u32,
    pub ack_no: u32,
    /// Relative to each side's initial sequence number, as the listing shows them.
    pub rel_seq: u32,
    pub rel_ack: u32,
    pub flag_set: TcpFlags,
    /// The window field, and the window in bytes (scaled once both SYNs agreed).
    pub win_field: u16,
    pub win: u64,
    pub len: usize,
    pub mss: Option<u16>,
    pub ws: Option<u8>,
    pub sack_perm: bool,
    pub ts: Option<(u32, u32)>,
    /// Wireshark's analysis of it, as the listing prints it left to right.
    pub marks: Vec<Mark>,
    /// The first line of an HTTP message starting in this segment, with its media type
    /// in parentheses as Wireshark writes it: `HTTP/1.1 200 OK  (text/html)`.
    pub http: Option<String>,
}

impl Seg {
    /// Takes what the checks read from the analyzer's row.
    fn of(t: &TcpRow, from_client: bool) -> Seg {
        let http = t
            .http
            .as_ref()
            .and_then(|h| h.head_at_start())
            .map(|h| match h.media_type() {
                Some(mt) if h.line.starts_with("HTTP/") => format!("{}  ({mt})", h.line),
                _ => h.line.clone(),
            });
        Seg {
            from_client,
            stream: t.stream,
            src: t.src_endpoint(),
            dst: t.dst_endpoint(),
            syn: t.has(TcpFlags::SYN),
            ack: t.has(TcpFlags::ACK),
            fin: t.has(TcpFlags::FIN),
            rst: t.has(TcpFlags::RST),
            psh: t.has(TcpFlags::PSH),
            seq: t.raw_seq,
            ack_no: t.raw_ack.unwrap_or(0),
            rel_seq: t.seq,
            rel_ack: t.ack.unwrap_or(0),
            flag_set: t.flags,
            win_field: t.win_field,
            win: t.win,
            len: t.len,
            mss: t.mss(),
            ws: t.window_scale(),
            sack_perm: t.sack_permitted(),
            ts: t.timestamps(),
            marks: t.marks.clone(),
            http,
        }
    }

    /// Wireshark's flag text: "SYN, ACK", "FIN, PSH, ACK".
    pub fn flags(&self) -> String {
        self.flag_set.wireshark()
    }

    /// "Seq=0 Ack=1 Win=65535 Len=0" plus the SYN options: the ladder's label.
    pub fn label(&self) -> String {
        let mut s = format!("Seq={}", self.rel_seq);
        if self.ack {
            let _ = write!(s, " Ack={}", self.rel_ack);
        }
        let _ = write!(s, " Win={} Len={}", self.win, self.len);
        if let Some(m) = self.mss {
            let _ = write!(s, " MSS={m}");
        }
        if self.sack_perm {
            s.push_str(" SACK_PERM");
        }
        if let Some(w) = self.ws {
            let _ = write!(s, " WS={}", 1u32 << w.min(14));
        }
        s
    }

    /// The analysis marked it so (for a duplicate ACK, any count).
    pub fn has(&self, mark: Mark) -> bool {
        self.marks.iter().any(|m| match (m, mark) {
            (Mark::DupAck { .. }, Mark::DupAck { .. }) => true,
            _ => *m == mark,
        })
    }

    /// Marked as a retransmission of any kind (plain, fast or spurious).
    pub fn retransmitted(&self) -> bool {
        self.marks.iter().any(Mark::is_retransmission)
    }
}

/// What a frame is.
#[derive(Debug, Clone)]
pub enum Kind {
    Tcp(Box<Seg>),
    /// ARP, ICMP, anything else (its row says what).
    Other,
}

/// One captured frame, read.
#[derive(Debug, Clone)]
pub struct Frame {
    /// 1-based, as in the pcap and the listing.
    pub no: usize,
    pub time: Instant,
    pub kind: Kind,
    /// Its row of the listing.
    pub row: Row,
}

impl Frame {
    pub fn tcp(&self) -> Option<&Seg> {
        match &self.kind {
            Kind::Tcp(s) => Some(s),
            Kind::Other => None,
        }
    }
}

/// Reads every frame. `server_mac` tells the server's frames from the client's.
pub fn analyze(frames: &[Captured], server_mac: EthernetAddress) -> Vec<Frame> {
    let mut analyzer = Analyzer::new(ListingOptions { absolute: false });
    let mut out = Vec::with_capacity(frames.len());
    for (i, c) in frames.iter().enumerate() {
        let row = analyzer.push(c.time.total_micros(), LinkType::Ethernet, &c.frame);
        let kind = match row.tcp() {
            Some(t) => {
                let from_client = c.frame.get(6..12) != Some(&server_mac.0[..]);
                Kind::Tcp(Box::new(Seg::of(t, from_client)))
            }
            None => Kind::Other,
        };
        out.push(Frame {
            no: i + 1,
            time: c.time,
            kind,
            row,
        });
    }
    out
}

/// The listing: `No. Time Source Destination Protocol Length Info`, as `taplab trace`
/// (and tshark) print it, times in seconds since the first frame.
pub fn listing(frames: &[Frame]) -> String {
    let mut out = Row::header();
    out.push('\n');
    for f in frames {
        out.push_str(&f.row.line());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Address, Ipv4Packet,
        Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber, TcpTimestampRepr,
    };

    const C: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);
    const S: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);
    const SMAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const CMAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    fn seg(
        from_client: bool,
        control: TcpControl,
        seq: u32,
        ack: Option<u32>,
        win: u16,
        payload: &[u8],
    ) -> Captured {
        let (sa, da, sp, dp, sm, dm) = if from_client {
            (C, S, 40000, 80, CMAC, SMAC)
        } else {
            (S, C, 80, 40000, SMAC, CMAC)
        };
        let tcp = TcpRepr {
            src_port: sp,
            dst_port: dp,
            control,
            seq_number: TcpSeqNumber(seq as i32),
            ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
            window_len: win,
            window_scale: (control == TcpControl::Syn).then_some(if from_client { 7 } else { 1 }),
            max_seg_size: (control == TcpControl::Syn).then_some(1460),
            sack_permitted: control == TcpControl::Syn,
            sack_ranges: [None; 3],
            timestamp: Some(TcpTimestampRepr::new(5, 0)),
            payload,
        };
        let ip = Ipv4Repr {
            src_addr: sa,
            dst_addr: da,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut buf = vec![0u8; 14 + 20 + tcp.buffer_len()];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        EthernetRepr {
            src_addr: sm,
            dst_addr: dm,
            ethertype: EthernetProtocol::Ipv4,
        }
        .emit(&mut f);
        let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
        ip.emit(&mut p, &ChecksumCapabilities::default());
        let mut t = TcpPacket::new_unchecked(p.payload_mut());
        tcp.emit(
            &mut t,
            &sa.into(),
            &da.into(),
            &ChecksumCapabilities::default(),
        );
        Captured {
            time: Instant::from_millis(1000),
            frame: buf,
        }
    }

    #[test]
    fn relative_numbers_scaling_and_notes() {
        use TcpControl::{Psh, Syn};
        let plain = TcpControl::None;
        let frames = vec![
            seg(true, Syn, 1000, None, 65535, &[]),
            seg(false, Syn, 5000, Some(1001), 65535, &[]),
            seg(true, plain, 1001, Some(5001), 512, &[]),
            seg(
                true,
                Psh,
                1001,
                Some(5001),
                512,
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            ),
            seg(
                false,
                plain,
                5001,
                Some(1028),
                100,
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\nhi",
            ),
            // The same segment again, whole: a retransmission.
            seg(
                false,
                plain,
                5001,
                Some(1028),
                100,
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\nhi",
            ),
            seg(true, plain, 1028, Some(5062), 0, &[]),
            seg(true, plain, 1028, Some(5062), 600, &[]),
            seg(true, plain, 1028, Some(5062), 600, &[]),
            seg(false, plain, 5100, Some(1028), 100, b"x"),
        ];
        // 100 ms apart, so that a segment sent again is a retransmission, not out of order.
        let frames: Vec<Captured> = frames
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                c.time = Instant::from_millis(1000 + 100 * i as i64);
                c
            })
            .collect();
        let a = analyze(&frames, SMAC);
        let s: Vec<&Seg> = a.iter().map(|f| f.tcp().unwrap()).collect();
        assert!(s[0].from_client && !s[1].from_client);
        assert_eq!(
            (s[1].rel_seq, s[1].rel_ack, s[1].flags().as_str()),
            (0, 1, "SYN, ACK")
        );
        assert_eq!(s[2].win, 512 << 7, "client's window scaled by its shift 7");
        assert_eq!(s[0].win, 65535, "SYN windows are never scaled");
        assert_eq!(s[3].http.as_deref(), Some("GET / HTTP/1.1"));
        assert_eq!(s[4].http.as_deref(), Some("HTTP/1.1 200 OK  (text/html)"));
        assert!(s[5].retransmitted(), "{}", listing(&a));
        assert!(s[6].has(Mark::ZeroWindow));
        assert!(s[7].has(Mark::WindowUpdate));
        assert!(s[9].has(Mark::PreviousSegmentNotCaptured));
        assert!(s.iter().all(|x| x.stream == 0));
        // The listing is `taplab trace`'s: the same rows, header first.
        let l = listing(&a);
        assert!(l.starts_with(&Row::header()), "{l}");
        assert_eq!(l.lines().count(), frames.len() + 1);
        assert!(
            l.contains("40000 → 80 [SYN] Seq=0 Win=65535 Len=0 MSS=1460"),
            "{l}"
        );
        assert!(l.contains("[TCP Retransmission]"), "{l}");
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut frames = vec![seg(true, TcpControl::Syn, 1, None, 100, &[])];
        let good = frames[0].frame.clone();
        for n in 0..good.len() {
            frames.push(Captured {
                time: Instant::from_millis(0),
                frame: good[..n].to_vec(),
            });
            let mut bad = good.clone();
            bad[n] ^= 0x55;
            frames.push(Captured {
                time: Instant::from_millis(0),
                frame: bad,
            });
        }
        let a = analyze(&frames, SMAC);
        assert_eq!(a.len(), frames.len());
        let _ = listing(&a);
    }
}
