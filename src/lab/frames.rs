//! What the lab's captured frames say, read with `smoltcp::wire`: per frame its protocol,
//! and for TCP the stream (connection), flags, relative numbers, options, payload length
//! and the things Wireshark's analysis would flag (retransmission, window update, zero
//! window, duplicate ACK…).
//!
//! Frames enter as [`Captured`] (time and bytes, in capture order, as the pcap holds them);
//! [`analyze`] returns one [`Frame`] per captured frame. The scenarios' checks, the SVG
//! ladder's labels and the lab's own listing ([`listing`]) are built from them.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress,
    IpEndpoint, IpProtocol, Ipv4Packet, Ipv6Packet, TcpControl, TcpPacket, TcpRepr,
};
use std::fmt::Write as _;

/// One frame as captured.
#[derive(Debug, Clone)]
pub struct Captured {
    pub time: Instant,
    pub frame: Vec<u8>,
}

/// Something Wireshark's TCP analysis would say about a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    Retransmission,
    /// Data beyond what was seen so far: an earlier segment never reached the capture.
    PreviousNotCaptured,
    WindowUpdate,
    ZeroWindow,
    ZeroWindowProbe,
    DupAck,
}

impl Note {
    pub fn text(self) -> &'static str {
        match self {
            Note::Retransmission => "TCP Retransmission",
            Note::PreviousNotCaptured => "TCP Previous segment not captured",
            Note::WindowUpdate => "TCP Window Update",
            Note::ZeroWindow => "TCP ZeroWindow",
            Note::ZeroWindowProbe => "TCP ZeroWindowProbe",
            Note::DupAck => "TCP Dup ACK",
        }
    }
}

/// A TCP segment, read.
#[derive(Debug, Clone)]
pub struct Seg {
    /// Sent by the client (else by the server).
    pub from_client: bool,
    /// Connection index, in order of first appearance (Wireshark's tcp.stream).
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
    /// Relative to each side's initial sequence number (0 for the SYN).
    pub rel_seq: u32,
    pub rel_ack: u32,
    /// The window field, and the window in bytes (scaled once both SYNs agreed).
    pub win_field: u16,
    pub win: u64,
    pub len: usize,
    pub mss: Option<u16>,
    pub ws: Option<u8>,
    pub sack_perm: bool,
    pub ts: Option<(u32, u32)>,
    /// SACK blocks, relative.
    pub sack: Vec<(u32, u32)>,
    pub notes: Vec<Note>,
    /// The first line of an HTTP message starting in this segment.
    pub http: Option<String>,
    pub checksum_ok: bool,
}

impl Seg {
    /// Wireshark's flag text: "SYN, ACK", "FIN, PSH, ACK".
    pub fn flags(&self) -> String {
        let mut f = Vec::new();
        if self.fin {
            f.push("FIN");
        }
        if self.syn {
            f.push("SYN");
        }
        if self.rst {
            f.push("RST");
        }
        if self.psh {
            f.push("PSH");
        }
        if self.ack {
            f.push("ACK");
        }
        f.join(", ")
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
        for (l, r) in &self.sack {
            let _ = write!(s, " SLE={l} SRE={r}");
        }
        s
    }

    /// The listing's Info column.
    pub fn info(&self) -> String {
        let mut s = String::new();
        for n in &self.notes {
            let _ = write!(s, "[{}] ", n.text());
        }
        let _ = write!(
            s,
            "{} → {} [{}] Seq={}",
            self.src.port,
            self.dst.port,
            self.flags(),
            self.rel_seq
        );
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
        for (l, r) in &self.sack {
            let _ = write!(s, " SLE={l} SRE={r}");
        }
        if let Some((v, e)) = self.ts {
            let _ = write!(s, " TSval={v} TSecr={e}");
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
    /// ARP, ICMP, anything else: protocol name and a one-line description.
    Other {
        protocol: &'static str,
        src: String,
        dst: String,
        info: String,
    },
}

/// One captured frame, read.
#[derive(Debug, Clone)]
pub struct Frame {
    /// 1-based, as in the pcap and the listing.
    pub no: usize,
    pub time: Instant,
    pub len: usize,
    pub kind: Kind,
}

impl Frame {
    pub fn tcp(&self) -> Option<&Seg> {
        match &self.kind {
            Kind::Tcp(s) => Some(s),
            Kind::Other { .. } => None,
        }
    }
}

/// Per direction of a stream: what was seen so far.
#[derive(Debug, Clone, Default)]
struct Dir {
    isn: Option<u32>,
    /// Highest sequence number end seen (raw).
    next_seq: Option<u32>,
    last_ack: Option<u32>,
    last_win: Option<u64>,
    ws: Option<u8>,
    syn_seen: bool,
}

#[derive(Debug, Clone)]
struct Stream {
    client: IpEndpoint,
    server: IpEndpoint,
    /// [from client, from server].
    dirs: [Dir; 2],
    ended: bool,
    fins: [bool; 2],
}

/// `a` is after `b` in sequence space.
fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Reads every frame. `server_mac` tells the server's frames from the client's.
pub fn analyze(frames: &[Captured], server_mac: EthernetAddress) -> Vec<Frame> {
    let mut streams: Vec<Stream> = Vec::new();
    let mut out = Vec::with_capacity(frames.len());
    for (i, c) in frames.iter().enumerate() {
        let kind = match tcp_of(&c.frame) {
            Some((src, dst, repr, checksum_ok)) => {
                let from_server = c.frame.get(6..12) == Some(&server_mac.0[..]);
                Kind::Tcp(Box::new(segment(
                    &mut streams,
                    src,
                    dst,
                    &repr,
                    !from_server,
                    checksum_ok,
                )))
            }
            None => other(&c.frame),
        };
        out.push(Frame {
            no: i + 1,
            time: c.time,
            len: c.frame.len(),
            kind,
        });
    }
    out
}

fn segment(
    streams: &mut Vec<Stream>,
    src: IpEndpoint,
    dst: IpEndpoint,
    repr: &TcpRepr,
    from_client: bool,
    checksum_ok: bool,
) -> Seg {
    let (client, server) = if from_client { (src, dst) } else { (dst, src) };
    let is_new_syn = repr.control == TcpControl::Syn && repr.ack_number.is_none();
    // The latest stream on this 4-tuple; a new SYN after it ended starts another.
    let found = streams
        .iter()
        .rposition(|s| s.client == client && s.server == server);
    let stream = match found {
        Some(i) if !(is_new_syn && streams[i].ended) => i,
        _ => {
            streams.push(Stream {
                client,
                server,
                dirs: [Dir::default(), Dir::default()],
                ended: false,
                fins: [false, false],
            });
            streams.len() - 1
        }
    };
    let st = &mut streams[stream];
    let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
    let syn = repr.control == TcpControl::Syn;
    let fin = repr.control == TcpControl::Fin;
    let rst = repr.control == TcpControl::Rst;
    let seq = repr.seq_number.0 as u32;
    let ack_no = repr.ack_number.map_or(0, |a| a.0 as u32);
    let len = repr.payload.len();
    if syn {
        st.dirs[me].isn = Some(seq);
        st.dirs[me].ws = repr.window_scale;
        st.dirs[me].syn_seen = true;
    }
    if st.dirs[me].isn.is_none() {
        st.dirs[me].isn = Some(seq.wrapping_sub(0));
    }
    let isn = st.dirs[me].isn.unwrap_or(seq);
    let peer_isn = st.dirs[peer].isn.unwrap_or(ack_no.wrapping_sub(1));
    let scaling = st.dirs[0].syn_seen
        && st.dirs[1].syn_seen
        && st.dirs[0].ws.is_some()
        && st.dirs[1].ws.is_some();
    let shift = if scaling && !syn {
        st.dirs[me].ws.unwrap_or(0).min(14)
    } else {
        0
    };
    let win = (repr.window_len as u64) << shift;
    let seq_end = seq
        .wrapping_add(len as u32)
        .wrapping_add(syn as u32)
        .wrapping_add(fin as u32);

    let mut notes = Vec::new();
    let d = &st.dirs[me];
    let peer_win_zero = st.dirs[peer].last_win == Some(0);
    let plain = !syn && !fin && !rst;
    let probe = len == 1 && peer_win_zero && plain;
    if probe {
        notes.push(Note::ZeroWindowProbe);
    } else if let Some(next) = d.next_seq {
        if (len > 0 || syn || fin) && !seq_gt(seq_end, next) {
            notes.push(Note::Retransmission);
        } else if seq_gt(seq, next) && !rst {
            notes.push(Note::PreviousNotCaptured);
        }
    }
    if plain && repr.window_len == 0 {
        notes.push(Note::ZeroWindow);
    }
    if plain && len == 0 && repr.ack_number.is_some() && Some(seq) == d.next_seq {
        if Some(ack_no) == d.last_ack && d.last_win.is_some_and(|w| w != win) && win != 0 {
            notes.push(Note::WindowUpdate);
        } else if Some(ack_no) == d.last_ack
            && d.last_win == Some(win)
            && st.dirs[peer].next_seq.is_some_and(|n| seq_gt(n, ack_no))
        {
            notes.push(Note::DupAck);
        }
    }
    let d = &mut st.dirs[me];
    if d.next_seq.is_none_or(|n| seq_gt(seq_end, n)) {
        d.next_seq = Some(seq_end);
    }
    if repr.ack_number.is_some() {
        d.last_ack = Some(ack_no);
    }
    d.last_win = Some(win);
    if fin {
        st.fins[me] = true;
    }
    if rst || (st.fins[0] && st.fins[1]) {
        st.ended = true;
    }

    let sack = repr
        .sack_ranges
        .iter()
        .flatten()
        .map(|&(l, r)| (l.wrapping_sub(peer_isn), r.wrapping_sub(peer_isn)))
        .collect();
    Seg {
        from_client,
        stream,
        src,
        dst,
        syn,
        ack: repr.ack_number.is_some(),
        fin,
        rst,
        psh: repr.control == TcpControl::Psh,
        seq,
        ack_no,
        rel_seq: seq.wrapping_sub(isn),
        rel_ack: if repr.ack_number.is_some() {
            ack_no.wrapping_sub(peer_isn)
        } else {
            0
        },
        win_field: repr.window_len,
        win,
        len,
        mss: repr.max_seg_size,
        ws: repr.window_scale,
        sack_perm: repr.sack_permitted,
        ts: repr.timestamp.map(|t| (t.tsval, t.tsecr)),
        sack,
        notes,
        http: http_line(repr.payload),
        checksum_ok,
    }
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
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (src, dst, payload): (IpAddress, IpAddress, &[u8]) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(frame.get(14..)?).ok()?;
            if ip.next_header() != IpProtocol::Tcp || ip.more_frags() || ip.frag_offset() != 0 {
                return None;
            }
            let (hl, tl) = (ip.header_len() as usize, ip.total_len() as usize);
            (
                ip.src_addr().into(),
                ip.dst_addr().into(),
                frame.get(14 + hl..14 + tl)?,
            )
        }
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(frame.get(14..)?).ok()?;
            if ip.next_header() != IpProtocol::Tcp {
                return None;
            }
            let len = ip.payload_len() as usize;
            (
                ip.src_addr().into(),
                ip.dst_addr().into(),
                frame.get(54..54 + len)?,
            )
        }
        _ => return None,
    };
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

fn other(frame: &[u8]) -> Kind {
    let unknown = |info: String| Kind::Other {
        protocol: "Ethernet",
        src: String::new(),
        dst: String::new(),
        info,
    };
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return unknown("malformed frame".into());
    };
    let mac = |a: EthernetAddress| {
        a.0.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let (esrc, edst) = (mac(eth.src_addr()), mac(eth.dst_addr()));
    match eth.ethertype() {
        EthernetProtocol::Arp => {
            let repr = ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p));
            match repr {
                Ok(ArpRepr::EthernetIpv4 {
                    operation,
                    source_hardware_addr,
                    source_protocol_addr,
                    target_protocol_addr,
                    ..
                }) => Kind::Other {
                    protocol: "ARP",
                    src: esrc,
                    dst: if edst == "ff:ff:ff:ff:ff:ff" {
                        "Broadcast".into()
                    } else {
                        edst
                    },
                    info: match operation {
                        ArpOperation::Request => {
                            format!("Who has {target_protocol_addr}? Tell {source_protocol_addr}")
                        }
                        ArpOperation::Reply => {
                            format!("{source_protocol_addr} is at {}", mac(source_hardware_addr))
                        }
                        _ => "ARP".into(),
                    },
                },
                _ => unknown("malformed ARP".into()),
            }
        }
        EthernetProtocol::Ipv4 => match Ipv4Packet::new_checked(eth.payload()) {
            Ok(ip) => Kind::Other {
                protocol: if ip.next_header() == IpProtocol::Icmp {
                    "ICMP"
                } else {
                    "IPv4"
                },
                src: ip.src_addr().to_string(),
                dst: ip.dst_addr().to_string(),
                info: format!("{}", ip.next_header()),
            },
            Err(_) => unknown("malformed IPv4".into()),
        },
        EthernetProtocol::Ipv6 => match Ipv6Packet::new_checked(eth.payload()) {
            Ok(ip) => Kind::Other {
                protocol: if ip.next_header() == IpProtocol::Icmpv6 {
                    "ICMPv6"
                } else {
                    "IPv6"
                },
                src: ip.src_addr().to_string(),
                dst: ip.dst_addr().to_string(),
                info: icmpv6_info(ip.payload()).unwrap_or_else(|| format!("{}", ip.next_header())),
            },
            Err(_) => unknown("malformed IPv6".into()),
        },
        t => unknown(format!("ethertype {t}")),
    }
}

fn icmpv6_info(p: &[u8]) -> Option<String> {
    match *p.first()? {
        135 => Some(format!(
            "Neighbor Solicitation for {}",
            smoltcp::wire::Ipv6Address::from_octets(p.get(8..24)?.try_into().ok()?)
        )),
        136 => Some(format!(
            "Neighbor Advertisement {}",
            smoltcp::wire::Ipv6Address::from_octets(p.get(8..24)?.try_into().ok()?)
        )),
        t => Some(format!("ICMPv6 type {t}")),
    }
}

/// The lab's own Wireshark-style listing: `No. Time Source Destination Protocol Length
/// Info`, times in seconds since the first frame.
pub fn listing(frames: &[Frame]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5} {:>10} {:<17} {:<17} {:<8} {:>6} Info",
        "No.", "Time", "Source", "Destination", "Protocol", "Length"
    );
    let t0 = frames.first().map(|f| f.time);
    for f in frames {
        let t = t0.map_or(0, |t0| (f.time - t0).total_micros());
        let time = format!("{}.{:06}", t / 1_000_000, t % 1_000_000);
        let (proto, src, dst, info) = match &f.kind {
            Kind::Tcp(s) => {
                let mut info = s.info();
                let proto = match &s.http {
                    Some(h) => {
                        info = format!("{h}  [{info}]");
                        "HTTP"
                    }
                    None => "TCP",
                };
                if !s.checksum_ok {
                    info.push_str(" [TCP CHECKSUM INCORRECT]");
                }
                (proto, s.src.addr.to_string(), s.dst.addr.to_string(), info)
            }
            Kind::Other {
                protocol,
                src,
                dst,
                info,
            } => (*protocol, src.clone(), dst.clone(), info.clone()),
        };
        let _ = writeln!(
            out,
            "{:>5} {:>10} {:<17} {:<17} {:<8} {:>6} {}",
            f.no, time, src, dst, proto, f.len, info
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::{EthernetRepr, Ipv4Address, Ipv4Repr, TcpSeqNumber, TcpTimestampRepr};

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
            seg(false, plain, 5001, Some(1028), 100, b"HTTP/1.1 200 OK\r\n"),
            seg(true, plain, 1028, Some(5018), 0, &[]),
            seg(true, plain, 1028, Some(5018), 600, &[]),
            seg(true, plain, 1028, Some(5018), 600, &[]),
            seg(false, plain, 5100, Some(1028), 100, b"x"),
        ];
        let a = analyze(&frames, SMAC);
        let s: Vec<&Seg> = a.iter().map(|f| f.tcp().unwrap()).collect();
        assert_eq!(
            (s[1].rel_seq, s[1].rel_ack, s[1].flags().as_str()),
            (0, 1, "SYN, ACK")
        );
        assert_eq!(s[2].win, 512 << 7, "client's window scaled by its shift 7");
        assert_eq!(s[0].win, 65535, "SYN windows are never scaled");
        assert_eq!(s[3].http.as_deref(), Some("GET / HTTP/1.1"));
        assert_eq!(s[4].http.as_deref(), Some("HTTP/1.1 200 OK  (text/html)"));
        assert!(s[5].has(Note::Retransmission));
        assert!(s[6].has(Note::ZeroWindow));
        assert!(s[7].has(Note::WindowUpdate));
        assert!(s[8].has(Note::DupAck) || s[8].notes.is_empty());
        assert!(s[9].has(Note::PreviousNotCaptured));
        assert!(s.iter().all(|x| x.stream == 0 && x.checksum_ok));
        let l = listing(&a);
        assert!(l.starts_with("  No.       Time Source"), "{l}");
        assert!(
            l.contains(
                "40000 → 80 [SYN] Seq=0 Win=65535 Len=0 MSS=1460 SACK_PERM TSval=5 TSecr=0 WS=128"
            ),
            "{l}"
        );
        assert!(
            l.contains("[TCP Retransmission] 80 → 40000 [ACK] Seq=1 Ack=28"),
            "{l}"
        );
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
