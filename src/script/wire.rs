//! Frames for the scripted peer: what the peer puts on the wire, and what our stack's
//! frames say, in the script's terms.
//!
//! Data in: an [`Injection`] (a `<` line with every number resolved to its wire value)
//! becomes an Ethernet/IPv4/TCP frame from the peer ([`build`]), with the options in the
//! order the script wrote them. Data out: a frame our stack sent becomes a [`Seen`]
//! segment ([`decode`]), options in wire order, which the runner compares with a `>`
//! line and prints in script syntax.

use super::parse::{Flags, TcpOpt, Val};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol,
    Ipv4Address, Ipv4Packet, Ipv4Repr, TcpPacket, TcpSeqNumber,
};

/// The scripted peer: the host side of the lab's tap.
pub const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
pub const PEER_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);
/// Our stack (the same addresses `taplab serve` uses).
pub const OUR_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);
/// Ports when a line names none.
pub const DEFAULT_PORT: u16 = 80;
pub const DEFAULT_PEER_PORT: u16 = 40000;

/// A segment for the peer to send, every field resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub our_port: u16,
    pub peer_port: u16,
    pub flags: Flags,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    /// Options in script order; values all `Val::Is`.
    pub options: Vec<TcpOpt>,
    pub payload: Vec<u8>,
}

/// A TCP segment our stack sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub our_port: u16,
    pub peer_port: u16,
    pub flags: Flags,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    pub options: Vec<TcpOpt>,
    pub payload: Vec<u8>,
}

impl Seen {
    /// The sequence space the segment takes: payload plus one each for SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32
            + self.flags.has(Flags::SYN) as u32
            + self.flags.has(Flags::FIN) as u32
    }

    /// Our TS value, if the segment carries timestamps.
    pub fn tsval(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            TcpOpt::Ts {
                val: Val::Is(v), ..
            } => Some(*v),
            _ => None,
        })
    }
}

const ETH_HEADER: usize = 14;
const IP_HEADER: usize = 20;
const TCP_HEADER: usize = 20;

/// Encodes options in the given order, padded with zeros (EOL) to a multiple of 4.
/// Wildcards encode as 0 (the runner resolves them first).
pub fn encode_options(options: &[TcpOpt]) -> Vec<u8> {
    let v32 = |v: &Val<u32>| v.value().unwrap_or(0).to_be_bytes();
    let mut out = Vec::new();
    for o in options {
        match o {
            TcpOpt::Nop => out.push(1),
            TcpOpt::Eol => out.push(0),
            TcpOpt::Mss(v) => {
                out.extend_from_slice(&[2, 4]);
                out.extend_from_slice(&v.value().unwrap_or(0).to_be_bytes());
            }
            TcpOpt::Wscale(v) => out.extend_from_slice(&[3, 3, v.value().unwrap_or(0)]),
            TcpOpt::SackOk => out.extend_from_slice(&[4, 2]),
            TcpOpt::Ts { val, ecr } => {
                out.extend_from_slice(&[8, 10]);
                out.extend_from_slice(&v32(val));
                out.extend_from_slice(&v32(ecr));
            }
            TcpOpt::Sack(blocks) => {
                out.extend_from_slice(&[5, (2 + 8 * blocks.len()) as u8]);
                for (a, b) in blocks {
                    out.extend_from_slice(&v32(a));
                    out.extend_from_slice(&v32(b));
                }
            }
            TcpOpt::Unknown { kind, data } => {
                out.extend_from_slice(&[*kind, (2 + data.len()) as u8]);
                out.extend_from_slice(data);
            }
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

/// Decodes options in wire order. EOL ends the list (the zero padding after it is not
/// shown); an option whose length is malformed ends it as an unknown option.
pub fn decode_options(bytes: &[u8]) -> Vec<TcpOpt> {
    let mut out = Vec::new();
    let mut i = 0;
    let be32 = |b: &[u8]| Val::Is(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    while i < bytes.len() {
        match bytes[i] {
            0 => {
                out.push(TcpOpt::Eol);
                break;
            }
            1 => {
                out.push(TcpOpt::Nop);
                i += 1;
            }
            kind => {
                let len = bytes.get(i + 1).copied().unwrap_or(0) as usize;
                if len < 2 || i + len > bytes.len() {
                    out.push(TcpOpt::Unknown {
                        kind,
                        data: bytes[(i + 2).min(bytes.len())..].to_vec(),
                    });
                    break;
                }
                let body = &bytes[i + 2..i + len];
                out.push(match (kind, len) {
                    (2, 4) => TcpOpt::Mss(Val::Is(u16::from_be_bytes([body[0], body[1]]))),
                    (3, 3) => TcpOpt::Wscale(Val::Is(body[0])),
                    (4, 2) => TcpOpt::SackOk,
                    (8, 10) => TcpOpt::Ts {
                        val: be32(&body[0..4]),
                        ecr: be32(&body[4..8]),
                    },
                    (5, n) if n >= 10 && (n - 2) % 8 == 0 => TcpOpt::Sack(
                        body.chunks_exact(8)
                            .map(|c| (be32(&c[0..4]), be32(&c[4..8])))
                            .collect(),
                    ),
                    _ => TcpOpt::Unknown {
                        kind,
                        data: body.to_vec(),
                    },
                });
                i += len;
            }
        }
    }
    out
}

/// The whole frame the peer sends for `seg`. `None` if the options do not fit a TCP
/// header (the parser already refuses that; this keeps the builder total).
pub fn build(seg: &Injection) -> Option<Vec<u8>> {
    let options = encode_options(&seg.options);
    if options.len() > 40 {
        return None;
    }
    let tcp_len = TCP_HEADER + options.len() + seg.payload.len();
    let ip = Ipv4Repr {
        src_addr: PEER_IP,
        dst_addr: OUR_IP,
        next_header: IpProtocol::Tcp,
        payload_len: tcp_len,
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: crate::serve::MAC,
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut buf = vec![0u8; ETH_HEADER + IP_HEADER + tcp_len];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet, &ChecksumCapabilities::default());
    let mut tcp = TcpPacket::new_unchecked(packet.payload_mut());
    tcp.set_src_port(seg.peer_port);
    tcp.set_dst_port(seg.our_port);
    tcp.set_seq_number(TcpSeqNumber(seg.seq as i32));
    tcp.set_ack_number(TcpSeqNumber(if seg.flags.has(Flags::ACK) {
        seg.ack as i32
    } else {
        0
    }));
    tcp.set_header_len((TCP_HEADER + options.len()) as u8);
    tcp.clear_flags();
    let f = seg.flags;
    tcp.set_fin(f.has(Flags::FIN));
    tcp.set_syn(f.has(Flags::SYN));
    tcp.set_rst(f.has(Flags::RST));
    tcp.set_psh(f.has(Flags::PSH));
    tcp.set_ack(f.has(Flags::ACK));
    tcp.set_urg(f.has(Flags::URG));
    tcp.set_ece(f.has(Flags::ECE));
    tcp.set_cwr(f.has(Flags::CWR));
    tcp.set_window_len(seg.win);
    tcp.set_urgent_at(0);
    tcp.options_mut().copy_from_slice(&options);
    tcp.payload_mut().copy_from_slice(&seg.payload);
    tcp.fill_checksum(&IpAddress::Ipv4(PEER_IP), &IpAddress::Ipv4(OUR_IP));
    Some(buf)
}

/// The TCP segment in a frame our stack sent to the peer; `None` for anything else
/// (IPv6, ICMP, a frame to another address).
pub fn decode(frame: &[u8]) -> Option<Seen> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Tcp || ip.dst_addr() != PEER_IP {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let mut bits = 0u8;
    for (on, bit) in [
        (tcp.fin(), Flags::FIN),
        (tcp.syn(), Flags::SYN),
        (tcp.rst(), Flags::RST),
        (tcp.psh(), Flags::PSH),
        (tcp.ack(), Flags::ACK),
        (tcp.urg(), Flags::URG),
        (tcp.ece(), Flags::ECE),
        (tcp.cwr(), Flags::CWR),
    ] {
        if on {
            bits |= bit;
        }
    }
    Some(Seen {
        our_port: tcp.src_port(),
        peer_port: tcp.dst_port(),
        flags: Flags(bits),
        seq: tcp.seq_number().0 as u32,
        ack: tcp.ack_number().0 as u32,
        win: tcp.window_len(),
        options: decode_options(tcp.options()),
        payload: tcp.payload().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::TcpRepr;

    fn syn() -> Injection {
        Injection {
            our_port: 80,
            peer_port: 40000,
            flags: Flags(Flags::SYN),
            seq: 4_000_000_000,
            ack: 0,
            win: 65535,
            options: vec![
                TcpOpt::Mss(Val::Is(1460)),
                TcpOpt::SackOk,
                TcpOpt::Nop,
                TcpOpt::Wscale(Val::Is(7)),
                TcpOpt::Ts {
                    val: Val::Is(7),
                    ecr: Val::Is(0),
                },
            ],
            payload: vec![],
        }
    }

    #[test]
    fn built_frames_are_valid_for_smoltcp_with_options_in_script_order() {
        let frame = build(&syn()).unwrap();
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.src_addr(), PEER_MAC);
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum());
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        let (s, d) = (IpAddress::Ipv4(PEER_IP), IpAddress::Ipv4(OUR_IP));
        assert!(tcp.verify_checksum(&s, &d));
        let repr = TcpRepr::parse(&tcp, &s, &d, &ChecksumCapabilities::default()).unwrap();
        assert_eq!(repr.max_seg_size, Some(1460));
        assert_eq!(repr.window_scale, Some(7));
        assert!(repr.sack_permitted);
        assert_eq!(repr.seq_number, TcpSeqNumber(4_000_000_000u32 as i32));
        // 4 + 2 + 1 + 3 + 10 = 20 bytes: no padding needed.
        assert_eq!(tcp.header_len(), 40);
        assert_eq!(&tcp.options()[..7], &[2, 4, 0x05, 0xb4, 4, 2, 1]);
    }

    #[test]
    fn decode_reads_back_what_build_wrote() {
        // decode() only reads frames to the peer: swap the addresses as our stack would.
        let mut inj = syn();
        inj.flags = Flags(Flags::FIN | Flags::PSH | Flags::ACK);
        inj.ack = 77;
        inj.payload = b"hello".to_vec();
        inj.options = vec![TcpOpt::Nop, TcpOpt::Sack(vec![(Val::Is(1), Val::Is(2))])];
        let mut frame = build(&inj).unwrap();
        {
            let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
            let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
            ip.set_src_addr(OUR_IP);
            ip.set_dst_addr(PEER_IP);
        }
        let seen = decode(&frame).unwrap();
        assert_eq!(seen.flags, inj.flags);
        assert_eq!(seen.seq, inj.seq);
        assert_eq!(seen.ack, 77);
        assert_eq!(seen.payload, b"hello");
        assert_eq!(seen.seq_len(), 6);
        // 1 + 10 = 11, padded to 12 with one zero: shown as `eol`.
        assert_eq!(
            seen.options,
            vec![
                TcpOpt::Nop,
                TcpOpt::Sack(vec![(Val::Is(1), Val::Is(2))]),
                TcpOpt::Eol
            ]
        );
        assert_eq!(decode(&frame[..20]), None);
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn odd_options_decode_without_panicking() {
        assert_eq!(
            decode_options(&[2, 4, 1]),
            vec![TcpOpt::Unknown {
                kind: 2,
                data: vec![1]
            }]
        );
        assert_eq!(
            decode_options(&[30, 3, 9, 1]),
            vec![
                TcpOpt::Unknown {
                    kind: 30,
                    data: vec![9]
                },
                TcpOpt::Nop
            ]
        );
        assert_eq!(decode_options(&[5, 3, 0]).len(), 1);
        assert_eq!(decode_options(&[7]).len(), 1);
        for b in 0..=255u8 {
            for l in 0..=12u8 {
                let _ = decode_options(&[b, l, 0, 0, 0, 0, 0, 0, 0, 0]);
            }
        }
    }
}
