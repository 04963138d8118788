//! What the lab's captured frames say: each frame's listing row from
//! [`crate::trace::Analyzer`] (Wireshark's listing and TCP analysis: retransmissions,
//! window updates, zero windows, dup ACKs…), and for TCP a [`Seg`] with what the
//! scenarios' checks and the SVG ladder need — who sent it, flags, relative numbers,
//! SYN options, the first line of an HTTP message that starts in it.
//!
//! Frames enter as [`Captured`] (time and bytes, in capture order, as the pcap holds them);
//! [`analyze`] returns one [`Frame`] per captured frame, and [`listing`] the listing text.

use crate::device::frame::tcp_span;
use crate::trace::{Analyzer, LinkType, ListingOptions, Row};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpEndpoint, TcpControl, TcpPacket, TcpRepr};
use std::fmt::Write as _;

/// One frame as captured.
#[derive(Debug, Clone)]
pub struct Captured {
    pub time: Instant,
    pub frame: Vec<u8>,
}

/// The marks of Wireshark's TCP analysis the checks look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// "TCP Retransmission", "TCP Fast Retransmission" or "TCP Spurious Retransmission".
    Retransmission,
    PreviousNotCaptured,
    WindowUpdate,
    ZeroWindow,
    ZeroWindowProbe,
    DupAck,
}

impl Note {
    /// The note for one of the analysis texts of a listing row.
    fn of(text: &str) -> Option<Note> {
        Some(match text {
            "TCP Retransmission" | "TCP Fast Retransmission" | "TCP Spurious Retransmission" => {
                Note::Retransmission
            }
            "TCP Previous segment not captured" => Note::PreviousNotCaptured,
            "TCP Window Update" => Note::WindowUpdate,
            "TCP ZeroWindow" => Note::ZeroWindow,
            "TCP ZeroWindowProbe" => Note::ZeroWindowProbe,
            t if t.starts_with("TCP Dup ACK") => Note::DupAck,
            _ => return None,
        })
    }
}

/// A TCP segment, read.
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
    /// Wireshark's flag text: "SYN, ACK", "FIN, PSH, ACK".
    pub flags: String,
    /// The window field, and the window in bytes (scaled once both SYNs agreed).
    pub win_field: u16,
    pub win: u64,
    pub len: usize,
    pub mss: Option<u16>,
    pub ws: Option<u8>,
    pub sack_perm: bool,
    pub ts: Option<(u32, u32)>,
    pub notes: Vec<Note>,
    /// The listing's bracketed analysis texts ("TCP Retransmission", "TCP Dup ACK 12#1"…).
    pub analysis: Vec<String>,
    /// The first line of an HTTP message starting in this segment.
    pub http: Option<String>,
    pub checksum_ok: bool,
}

impl Seg {
    pub fn flags(&self) -> String {
        self.flags.clone()
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

    pub fn has(&self, note: Note) -> bool {
        self.notes.contains(&note)
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
    pub len: usize,
    pub kind: Kind,
    /// Its line in the listing.
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
        let kind = match (tcp_of(&c.frame), &row.tcp) {
            (Some((src, dst, repr, checksum_ok)), Some(t)) => {
                let from_client = c.frame.get(6..12) != Some(&server_mac.0[..]);
                Kind::Tcp(Box::new(Seg {
                    from_client,
                    stream: t.stream,
                    src,
                    dst,
                    syn: repr.control == TcpControl::Syn,
                    ack: repr.ack_number.is_some(),
                    fin: repr.control == TcpControl::Fin,
                    rst: repr.control == TcpControl::Rst,
                    psh: repr.control == TcpControl::Psh,
                    seq: repr.seq_number.0 as u32,
                    ack_no: repr.ack_number.map_or(0, |a| a.0 as u32),
                    rel_seq: t.seq,
                    rel_ack: t.ack.unwrap_or(0),
                    flags: t.flags.clone(),
                    win_field: repr.window_len,
                    win: t.win,
                    len: repr.payload.len(),
                    mss: repr.max_seg_size,
                    ws: repr.window_scale,
                    sack_perm: repr.sack_permitted,
                    ts: repr.timestamp.map(|t| (t.tsval, t.tsecr)),
                    notes: t.analysis.iter().filter_map(|a| Note::of(a)).collect(),
                    analysis: t.analysis.clone(),
                    http: http_line(repr.payload),
                    checksum_ok,
                }))
            }
            _ => Kind::Other,
        };
        out.push(Frame {
            no: i + 1,
            time: c.time,
            len: c.frame.len(),
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

/// The first line of an HTTP request or response at the start of `payload`, with the
/// Content-Type of a response in parentheses as Wireshark writes it.
fn http_line(payload: &[u8]) -> Option<String> {
    const METHODS: [&str; 8] = [
        "GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "HTTP/1.",
    ];
    if !METHODS.iter().any(|m| payload.starts_with(m.as_bytes())) {
        return None;
    }
    let end = payload.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&payload[..end]).into_owned();
    if !line.starts_with("HTTP/") {
        return Some(line);
    }
    let head_end = payload
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(payload.len());
    let head = String::from_utf8_lossy(&payload[..head_end]);
    let ctype = head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case("content-type")
            .then(|| v.trim().split(';').next().unwrap_or("").trim().to_string())
    });
    Some(match ctype {
        Some(t) if !t.is_empty() => format!("{line}  ({t})"),
        _ => line,
    })
}

/// (source, destination, TCP repr, checksum good) for a TCP frame. The repr is read
/// even when the checksum is bad, so a corrupted frame still shows what it claimed.
fn tcp_of(frame: &[u8]) -> Option<(IpEndpoint, IpEndpoint, TcpRepr<'_>, bool)> {
    let span = tcp_span(frame)?;
    let (src, dst) = (span.src, span.dst);
    let payload = &frame[span.range];
    let tcp = TcpPacket::new_checked(payload).ok()?;
    let ok = tcp.verify_checksum(&src, &dst);
    let repr = TcpRepr::parse(&tcp, &src, &dst, &ChecksumCapabilities::ignored()).ok()?;
    Some((
        IpEndpoint::new(src, repr.src_port),
        IpEndpoint::new(dst, repr.dst_port),
        repr,
        ok,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::{
        EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Address, Ipv4Packet,
        Ipv4Repr, TcpSeqNumber, TcpTimestampRepr,
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
        assert!(s[5].has(Note::Retransmission), "{}", listing(&a));
        assert!(s[6].has(Note::ZeroWindow));
        assert!(s[7].has(Note::WindowUpdate));
        assert!(s[9].has(Note::PreviousNotCaptured));
        assert!(s.iter().all(|x| x.stream == 0 && x.checksum_ok));
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
