//! One frame's bytes in, its layers out: addresses, protocol name, the stateless part of
//! Wireshark's Info text, and for TCP the raw header fields the stream analysis needs
//! (flags as [`TcpFlags`], the options area for the shared walker).
//!
//! Parsing is smoltcp's (`smoltcp::wire`): every packet view is made with `new_checked`
//! or only read at offsets already checked against the buffer, so any bytes at all can
//! be passed in. What needs memory across frames (relative sequence numbers, analysis
//! flags, HTTP reassembly, echo request/reply pairs) is not done here but in
//! [`super::analyzer`], from the [`Dissected`] this returns.

use super::pcap::LinkType;
use crate::tcp::TcpFlags;
use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetAddress, EthernetFrame, Icmpv4Message, Icmpv4Packet,
    Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv4Address, Ipv4Packet, Ipv6Address, Ipv6ExtHeader,
    Ipv6Packet, TcpPacket, UdpPacket,
};
use std::net::IpAddr;

/// The raw TCP fields of one segment.
#[derive(Debug, Clone)]
pub struct TcpSeg<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    /// Payload length from the IP header (Wireshark's tcp.len), whatever was captured.
    pub seglen: u32,
    /// The captured payload bytes (at most `seglen`).
    pub payload: &'a [u8],
    /// The options area of the header, as it is (walk it with [`crate::tcp::options()`]).
    pub options: &'a [u8],
}

/// An ICMP or ICMPv6 echo, for pairing replies with their requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    pub v6: bool,
    pub request: bool,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u16,
    pub seq: u16,
    /// TTL or hop limit of the carrying IP packet.
    pub ttl: u8,
}

/// What needs state to finish: TCP and echoes; everything else is complete.
#[derive(Debug, Clone)]
pub enum Transport<'a> {
    None,
    Tcp(TcpSeg<'a>),
    Echo(Echo),
}

/// The stateless view of one frame. The text columns are Wireshark's for frames that are
/// neither TCP nor an echo; for those two, `transport` carries the fields and
/// [`super::analyzer`] finishes the row.
#[derive(Debug, Clone)]
pub struct Dissected<'a> {
    /// Source and Destination columns (empty where Wireshark leaves them blank).
    pub src: String,
    pub dst: String,
    pub protocol: String,
    pub info: String,
    pub transport: Transport<'a>,
}

impl<'a> Dissected<'a> {
    fn new(src: String, dst: String, protocol: &str, info: String) -> Self {
        Dissected {
            src,
            dst,
            protocol: protocol.into(),
            info,
            transport: Transport::None,
        }
    }
}

/// Wireshark resolves the broadcast address to "Broadcast" by default; other MACs are
/// shown as they are (taplab carries no vendor table).
fn mac_text(mac: &[u8]) -> String {
    if mac.len() == 6 && mac.iter().all(|b| *b == 0xff) {
        return "Broadcast".into();
    }
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;

/// Dissects one frame of the given link type.
pub fn dissect(link: LinkType, frame: &[u8]) -> Dissected<'_> {
    match link {
        LinkType::Ethernet => ethernet(frame),
        LinkType::RawIp => match frame.first().map(|b| b >> 4) {
            Some(4) => ipv4(frame),
            Some(6) => ipv6(frame),
            _ => malformed("Raw IP", "Unknown IP version"),
        },
        LinkType::RawIpv4 => ipv4(frame),
        LinkType::RawIpv6 => ipv6(frame),
        LinkType::LinuxSll => sll(frame, false),
        LinkType::LinuxSll2 => sll(frame, true),
        LinkType::Null => loopback(frame, false),
        LinkType::Loop => loopback(frame, true),
    }
}

/// BSD loopback (DLT_NULL, DLT_LOOP): a 4-byte address family, then the IP packet.
/// DLT_LOOP's family is big-endian; DLT_NULL's is in the byte order of the machine that
/// captured, which Wireshark guesses as we do here: families are small numbers, so a
/// value with any of its upper 16 bits set was written in the other order. IPv6 is 24
/// (NetBSD, OpenBSD; what Npcap writes), 28 (FreeBSD) or 30 (macOS); Wireshark takes no
/// other number for IPv6 (not Linux's 10, and 23 is IPX to it), and neither do we.
fn loopback(frame: &[u8], network_order: bool) -> Dissected<'_> {
    let Some(head) = frame.first_chunk::<4>() else {
        return malformed("NULL", "frame shorter than its 4-byte header");
    };
    let family = match u32::from_le_bytes(*head) {
        le if !network_order && le & 0xffff_0000 == 0 => le,
        _ => u32::from_be_bytes(*head),
    };
    let packet = &frame[4..];
    match family {
        2 => ipv4(packet),
        24 | 28 | 30 => ipv6(packet),
        // Wireshark's words, with the number it does not say.
        _ => Dissected::new(
            String::new(),
            String::new(),
            "NULL",
            format!("Null/Loopback: unknown address family {family}"),
        ),
    }
}

fn malformed(protocol: &str, what: &str) -> Dissected<'static> {
    Dissected::new(
        String::new(),
        String::new(),
        protocol,
        format!("[Malformed Packet: {what}]"),
    )
}

fn ethernet(frame: &[u8]) -> Dissected<'_> {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return malformed("Ethernet", "frame shorter than its 14-byte header");
    };
    let (src, dst) = (eth.src_addr(), eth.dst_addr());
    let mut ethertype = u16::from(eth.ethertype());
    let mut payload = eth.payload();
    // One 802.1Q tag: look through it.
    if ethertype == ETHERTYPE_VLAN && payload.len() >= 4 {
        ethertype = u16::from_be_bytes([payload[2], payload[3]]);
        payload = &payload[4..];
    }
    network(ethertype, payload, src.as_bytes(), Some(dst))
}

/// The protocol carried in an Ethernet or cooked frame; `lladdr_src` and `lladdr_dst` are
/// what ARP's Source and Destination columns show.
fn network<'a>(
    ethertype: u16,
    payload: &'a [u8],
    lladdr_src: &[u8],
    lladdr_dst: Option<EthernetAddress>,
) -> Dissected<'a> {
    match ethertype {
        ETHERTYPE_IPV4 => ipv4(payload),
        ETHERTYPE_IPV6 => ipv6(payload),
        ETHERTYPE_ARP => arp(payload, lladdr_src, lladdr_dst),
        other => Dissected::new(
            mac_text(lladdr_src),
            lladdr_dst
                .map(|d| mac_text(d.as_bytes()))
                .unwrap_or_default(),
            &format!("0x{other:04x}"),
            "Ethernet II".into(),
        ),
    }
}

/// Linux cooked capture: v1 (16-byte header, protocol at the end) or v2 (20 bytes,
/// protocol first).
fn sll(frame: &[u8], v2: bool) -> Dissected<'_> {
    let (hdr, proto_at, halen_at, addr_at) = if v2 { (20, 0, 11, 12) } else { (16, 14, 4, 6) };
    if frame.len() < hdr {
        return malformed("SLL", "frame shorter than the cooked header");
    }
    let ethertype = u16::from_be_bytes([frame[proto_at], frame[proto_at + 1]]);
    let halen = if v2 {
        usize::from(frame[halen_at])
    } else {
        usize::from(u16::from_be_bytes([frame[halen_at], frame[halen_at + 1]]))
    }
    .min(8);
    network(
        ethertype,
        &frame[hdr..],
        &frame[addr_at..addr_at + halen],
        None,
    )
}

fn arp<'a>(
    payload: &'a [u8],
    lladdr_src: &[u8],
    lladdr_dst: Option<EthernetAddress>,
) -> Dissected<'a> {
    let src = mac_text(lladdr_src);
    let dst = lladdr_dst
        .map(|d| mac_text(d.as_bytes()))
        .unwrap_or_default();
    let Ok(p) = ArpPacket::new_checked(payload) else {
        return Dissected::new(src, dst, "ARP", "[Malformed Packet]".into());
    };
    if p.hardware_len() != 6 || p.protocol_len() != 4 {
        return Dissected::new(src, dst, "ARP", "Unknown ARP (not Ethernet/IPv4)".into());
    }
    let ip = |b: &[u8]| Ipv4Address::new(b[0], b[1], b[2], b[3]);
    let (spa, tpa) = (ip(p.source_protocol_addr()), ip(p.target_protocol_addr()));
    let sha = mac_text(p.source_hardware_addr());
    let info = match p.operation() {
        ArpOperation::Request if spa == tpa => format!("Gratuitous ARP for {tpa} (Request)"),
        ArpOperation::Request if spa.is_unspecified() => format!("Who has {tpa}? (ARP Probe)"),
        ArpOperation::Request => format!("Who has {tpa}? Tell {spa}"),
        ArpOperation::Reply if spa == tpa => format!("Gratuitous ARP for {spa} (Reply)"),
        ArpOperation::Reply => format!("{spa} is at {sha}"),
        ArpOperation::Unknown(op) => format!("Unknown ARP opcode 0x{op:04x}"),
    };
    Dissected::new(src, dst, "ARP", info)
}

/// Where an IP packet's transport data is and what it is.
struct IpLayer<'a> {
    src: IpAddr,
    dst: IpAddr,
    proto: IpProtocol,
    ttl: u8,
    /// Transport bytes per the IP length fields.
    len: usize,
    /// Transport bytes captured (at most `len`).
    data: &'a [u8],
}

fn ipv4(b: &[u8]) -> Dissected<'_> {
    // new_checked refuses a packet cut by a snap length; the fixed header is enough to
    // read the fields, and the payload is sliced by hand within what is there.
    if b.len() < 20 {
        return malformed("IPv4", "shorter than an IPv4 header");
    }
    let p = Ipv4Packet::new_unchecked(b);
    let hl = usize::from(p.header_len());
    let total = usize::from(p.total_len());
    let (src, dst) = (IpAddr::V4(p.src_addr()), IpAddr::V4(p.dst_addr()));
    if p.version() != 4 || hl < 20 || hl > b.len() || total < hl {
        let mut d = Dissected::new(
            src.to_string(),
            dst.to_string(),
            "IPv4",
            "[Malformed Packet: bad IPv4 header length]".into(),
        );
        if p.version() != 4 {
            d.info = "[Malformed Packet: not IPv4]".into();
        }
        return d;
    }
    let proto = p.next_header();
    if p.more_frags() || p.frag_offset() != 0 {
        return Dissected::new(
            src.to_string(),
            dst.to_string(),
            "IPv4",
            format!(
                "Fragmented IP protocol (proto={} {}, off={}, ID={:04x})",
                proto_name(proto),
                u8::from(proto),
                p.frag_offset(),
                p.ident()
            ),
        );
    }
    let end = total.min(b.len());
    transport(IpLayer {
        src,
        dst,
        proto,
        ttl: p.hop_limit(),
        len: total - hl,
        data: &b[hl..end],
    })
}

fn ipv6(b: &[u8]) -> Dissected<'_> {
    if b.len() < 40 {
        return malformed("IPv6", "shorter than an IPv6 header");
    }
    let p = Ipv6Packet::new_unchecked(b);
    let (src, dst) = (IpAddr::V6(p.src_addr()), IpAddr::V6(p.dst_addr()));
    if p.version() != 6 {
        return Dissected::new(
            src.to_string(),
            dst.to_string(),
            "IPv6",
            "[Malformed Packet: not IPv6]".into(),
        );
    }
    let mut len = usize::from(p.payload_len());
    let mut data = &b[40..(40 + len).min(b.len())];
    let mut proto = p.next_header();
    // Walk the extension headers (MLD reports carry a hop-by-hop header).
    for _ in 0..8 {
        match proto {
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                let Ok(h) = Ipv6ExtHeader::new_checked(data) else {
                    return Dissected::new(
                        src.to_string(),
                        dst.to_string(),
                        "IPv6",
                        "[Malformed Packet: extension header]".into(),
                    );
                };
                let skip = (usize::from(h.header_len()) + 1) * 8;
                proto = h.next_header();
                data = data.get(skip..).unwrap_or(&[]);
                len = len.saturating_sub(skip);
            }
            IpProtocol::Ipv6Frag => {
                return Dissected::new(
                    src.to_string(),
                    dst.to_string(),
                    "IPv6",
                    "IPv6 fragment".into(),
                );
            }
            _ => break,
        }
    }
    transport(IpLayer {
        src,
        dst,
        proto,
        ttl: p.hop_limit(),
        len,
        data,
    })
}

fn proto_name(p: IpProtocol) -> &'static str {
    match p {
        IpProtocol::Tcp => "TCP",
        IpProtocol::Udp => "UDP",
        IpProtocol::Icmp => "ICMP",
        IpProtocol::Icmpv6 => "ICMPv6",
        IpProtocol::Igmp => "IGMP",
        _ => "Unknown",
    }
}

fn transport(ip: IpLayer<'_>) -> Dissected<'_> {
    if ip.proto == IpProtocol::Tcp {
        return tcp(&ip);
    }
    let (src, dst) = (ip.src.to_string(), ip.dst.to_string());
    match ip.proto {
        IpProtocol::Udp => match UdpPacket::new_checked(ip.data) {
            Ok(u) => Dissected::new(
                src,
                dst,
                "UDP",
                format!(
                    "{} → {} Len={}",
                    u.src_port(),
                    u.dst_port(),
                    usize::from(u.len()).saturating_sub(8)
                ),
            ),
            Err(_) => Dissected::new(src, dst, "UDP", "[Malformed Packet]".into()),
        },
        IpProtocol::Icmp => icmpv4(&ip, src, dst),
        IpProtocol::Icmpv6 => icmpv6(&ip, src, dst),
        IpProtocol::Igmp => Dissected::new(
            src,
            dst,
            "IGMP",
            "Internet Group Management Protocol".into(),
        ),
        other => {
            let v = if ip.src.is_ipv4() { "IPv4" } else { "IPv6" };
            Dissected::new(src, dst, v, format!("IP protocol {}", u8::from(other)))
        }
    }
}

fn tcp<'a>(ip: &IpLayer<'a>) -> Dissected<'a> {
    let Ok(t) = TcpPacket::new_checked(ip.data) else {
        return Dissected::new(
            ip.src.to_string(),
            ip.dst.to_string(),
            "TCP",
            "[Malformed Packet: TCP header]".into(),
        );
    };
    let hl = usize::from(t.header_len());
    let raw = ip.data;
    let seglen = ip.len.saturating_sub(hl) as u32;
    let payload = &raw[hl..raw.len().min(hl + seglen as usize)];
    let seg = TcpSeg {
        src: ip.src,
        dst: ip.dst,
        sport: t.src_port(),
        dport: t.dst_port(),
        seq: t.seq_number().0 as u32,
        ack: t.ack_number().0 as u32,
        flags: TcpFlags::of(&t),
        window: t.window_len(),
        urgent: t.urgent_at(),
        seglen,
        payload,
        // new_checked made sure the header (options included) is within the bytes.
        options: &raw[20..hl],
    };
    Dissected {
        src: String::new(),
        dst: String::new(),
        protocol: "TCP".into(),
        info: String::new(),
        transport: Transport::Tcp(seg),
    }
}

/// An echo request or reply (ICMP or ICMPv6): the listing pairs them later.
fn echo<'a>(
    ip: &IpLayer<'a>,
    src: String,
    dst: String,
    v6: bool,
    request: bool,
    id: u16,
    seq: u16,
) -> Dissected<'a> {
    let mut d = Dissected::new(src, dst, if v6 { "ICMPv6" } else { "ICMP" }, String::new());
    d.transport = Transport::Echo(Echo {
        v6,
        request,
        src: ip.src,
        dst: ip.dst,
        id,
        seq,
        ttl: ip.ttl,
    });
    d
}

fn icmpv4<'a>(ip: &IpLayer<'a>, src: String, dst: String) -> Dissected<'a> {
    let Ok(p) = Icmpv4Packet::new_checked(ip.data) else {
        return Dissected::new(src, dst, "ICMP", "[Malformed Packet]".into());
    };
    let code = p.msg_code();
    let info = match p.msg_type() {
        t @ (Icmpv4Message::EchoRequest | Icmpv4Message::EchoReply) => {
            let (id, seq) = (p.echo_ident(), p.echo_seq_no());
            return echo(
                ip,
                src,
                dst,
                false,
                t == Icmpv4Message::EchoRequest,
                id,
                seq,
            );
        }
        Icmpv4Message::DstUnreachable => {
            let why = match code {
                0 => "Network unreachable",
                1 => "Host unreachable",
                2 => "Protocol unreachable",
                3 => "Port unreachable",
                4 => "Fragmentation needed",
                13 => "Communication administratively filtered",
                _ => "Unknown code",
            };
            format!("Destination unreachable ({why})")
        }
        Icmpv4Message::TimeExceeded => match code {
            0 => "Time-to-live exceeded (Time to live exceeded in transit)".into(),
            _ => "Time-to-live exceeded (Fragment reassembly time exceeded)".into(),
        },
        Icmpv4Message::Redirect => "Redirect".into(),
        other => format!("Type {} code {code}", u8::from(other)),
    };
    Dissected::new(src, dst, "ICMP", info)
}

fn icmpv6<'a>(ip: &IpLayer<'a>, src: String, dst: String) -> Dissected<'a> {
    let Ok(p) = Icmpv6Packet::new_checked(ip.data) else {
        return Dissected::new(src, dst, "ICMPv6", "[Malformed Packet]".into());
    };
    let b = ip.data;
    // Neighbour discovery: the (source/target) link-layer address option, if any.
    let lladdr = |from: usize, want: u8| -> Option<String> {
        let mut opts = b.get(from..)?;
        while opts.len() >= 8 {
            let len = usize::from(opts[1]) * 8;
            if len == 0 || len > opts.len() {
                return None;
            }
            if opts[0] == want {
                return Some(mac_text(&opts[2..8]));
            }
            opts = &opts[len..];
        }
        None
    };
    let target = || -> Option<Ipv6Address> {
        let t: [u8; 16] = b.get(8..24)?.try_into().ok()?;
        Some(Ipv6Address::from(t))
    };
    let info = match p.msg_type() {
        t @ (Icmpv6Message::EchoRequest | Icmpv6Message::EchoReply) => {
            let (id, seq) = (p.echo_ident(), p.echo_seq_no());
            return echo(ip, src, dst, true, t == Icmpv6Message::EchoRequest, id, seq);
        }
        Icmpv6Message::RouterSolicit => match lladdr(8, 1) {
            Some(m) => format!("Router Solicitation from {m}"),
            None => "Router Solicitation".into(),
        },
        Icmpv6Message::RouterAdvert => match lladdr(16, 1) {
            Some(m) => format!("Router Advertisement from {m}"),
            None => "Router Advertisement".into(),
        },
        Icmpv6Message::NeighborSolicit => {
            let t = target().map(|t| t.to_string()).unwrap_or_default();
            match lladdr(24, 1) {
                Some(m) => format!("Neighbor Solicitation for {t} from {m}"),
                None => format!("Neighbor Solicitation for {t}"),
            }
        }
        Icmpv6Message::NeighborAdvert => {
            let t = target().map(|t| t.to_string()).unwrap_or_default();
            let f = b.get(4).copied().unwrap_or(0);
            let flags: Vec<&str> = [(0x80, "rtr"), (0x40, "sol"), (0x20, "ovr")]
                .iter()
                .filter(|(bit, _)| f & bit != 0)
                .map(|(_, n)| *n)
                .collect();
            let mut s = format!("Neighbor Advertisement {t}");
            if !flags.is_empty() {
                s += &format!(" ({})", flags.join(", "));
            }
            if let Some(m) = lladdr(24, 2) {
                s += &format!(" is at {m}");
            }
            s
        }
        Icmpv6Message::MldQuery => "Multicast Listener Query".into(),
        Icmpv6Message::MldReport => "Multicast Listener Report Message v2".into(),
        Icmpv6Message::DstUnreachable => {
            let why = match p.msg_code() {
                0 => "no route to destination",
                1 => "Administratively prohibited",
                3 => "Address unreachable",
                4 => "Port unreachable",
                _ => "Unknown code",
            };
            format!("Destination Unreachable ({why})")
        }
        Icmpv6Message::PktTooBig => "Packet Too Big".into(),
        Icmpv6Message::TimeExceeded => "Time Exceeded (hop limit exceeded in transit)".into(),
        other => match u8::from(other) {
            131 => "Multicast Listener Report".into(),
            132 => "Multicast listener done".into(),
            t => format!("Unknown ICMPv6 type {t}"),
        },
    };
    Dissected::new(src, dst, "ICMPv6", info)
}
