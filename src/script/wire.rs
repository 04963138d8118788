//! Frames for the scripted peer: what the peer puts on the wire, and what our stack's
//! frames say, in the script's terms.
//!
//! Data in: an [`Injection`] (a `<` line with every number resolved to its wire value)
//! becomes an Ethernet/IPv4/TCP or Ethernet/IPv6/TCP frame from the peer ([`build`]),
//! with the options in the order the script wrote them ([`encode_options`]). Data out: a
//! frame our stack sent becomes a [`Seen`] segment ([`decode`]), its flags read as one
//! [`TcpFlags`] set and its options walked by [`crate::tcp::options()`], in wire order,
//! which the runner compares with a `>` line and prints in script syntax.

use super::parse::{Hex, TcpOpt, Val};
use crate::device::frame::tcp_span;
use crate::tcp::{TcpFlags, TcpOption, options};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol,
    Ipv4Address, Ipv4Packet, Ipv4Repr, Ipv6Address, Ipv6Packet, Ipv6Repr, TcpPacket, TcpSeqNumber,
};

/// The scripted peer: the host side of the lab's tap.
pub const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
pub const PEER_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);
pub const PEER_IP6: Ipv6Address = Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 0x100);
/// Our stack (the same addresses `taplab serve` uses).
pub const OUR_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);
pub const OUR_IP6: Ipv6Address = Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 1);
/// Ports when a line names none.
pub const DEFAULT_PORT: u16 = 80;
pub const DEFAULT_PEER_PORT: u16 = 40000;

/// Which IP the peer speaks: IPv4 by default, IPv6 with `--ipv6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpVersion {
    #[default]
    V4,
    V6,
}

impl IpVersion {
    /// The version `--ipv6` (given or not) chooses.
    pub fn from_ipv6_flag(ipv6: bool) -> IpVersion {
        if ipv6 { IpVersion::V6 } else { IpVersion::V4 }
    }

    /// The peer's address and ours.
    pub fn addrs(self) -> (IpAddress, IpAddress) {
        match self {
            IpVersion::V4 => (PEER_IP.into(), OUR_IP.into()),
            IpVersion::V6 => (PEER_IP6.into(), OUR_IP6.into()),
        }
    }
}

/// A segment for the peer to send, every field resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub ip: IpVersion,
    pub our_port: u16,
    pub peer_port: u16,
    pub flags: TcpFlags,
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
    pub flags: TcpFlags,
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
            + u32::from(self.flags.contains(TcpFlags::SYN))
            + u32::from(self.flags.contains(TcpFlags::FIN))
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
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const TCP_HEADER: usize = 20;
/// TCP Fast Open's magic in the experimental option (RFC 7413 §4.1.1).
const TFO_MAGIC: [u8; 2] = [0xf9, 0x89];

/// Encodes options in the given order, padded with zeros (EOL) to a multiple of 4.
/// Wildcards encode as 0 (the runner resolves them first; an MD5 wildcard is zeros).
pub fn encode_options(options: &[TcpOpt]) -> Vec<u8> {
    use crate::tcp::options::kind;
    let v32 = |v: &Val<u32>| v.value().unwrap_or(0).to_be_bytes();
    let hex = |v: &Val<Hex>| v.value().unwrap_or_default();
    let mut out = Vec::new();
    for o in options {
        match o {
            TcpOpt::Nop => out.push(kind::NOP),
            TcpOpt::Eol => out.push(kind::EOL),
            TcpOpt::Mss(v) => {
                out.extend_from_slice(&[kind::MSS, 4]);
                out.extend_from_slice(&v.value().unwrap_or(0).to_be_bytes());
            }
            TcpOpt::Wscale(v) => out.extend_from_slice(&[kind::WSCALE, 3, v.value().unwrap_or(0)]),
            TcpOpt::SackOk => out.extend_from_slice(&[kind::SACK_PERM, 2]),
            TcpOpt::Ts { val, ecr } => {
                out.extend_from_slice(&[kind::TIMESTAMPS, 10]);
                out.extend_from_slice(&v32(val));
                out.extend_from_slice(&v32(ecr));
            }
            TcpOpt::Sack(blocks) => {
                out.extend_from_slice(&[kind::SACK, (2 + 8 * blocks.len()) as u8]);
                for (a, b) in blocks {
                    out.extend_from_slice(&v32(a));
                    out.extend_from_slice(&v32(b));
                }
            }
            TcpOpt::FastOpen {
                cookie,
                experimental,
            } => {
                let cookie = hex(cookie);
                let cookie = cookie.as_slice();
                if *experimental {
                    out.extend_from_slice(&[kind::EXPERIMENT, (4 + cookie.len()) as u8]);
                    out.extend_from_slice(&TFO_MAGIC);
                } else {
                    out.extend_from_slice(&[kind::FAST_OPEN, (2 + cookie.len()) as u8]);
                }
                out.extend_from_slice(cookie);
            }
            TcpOpt::Md5(digest) => {
                let mut d = [0u8; 16];
                let given = hex(digest);
                let n = given.as_slice().len().min(16);
                d[..n].copy_from_slice(&given.as_slice()[..n]);
                out.extend_from_slice(&[kind::MD5, 18]);
                out.extend_from_slice(&d);
            }
            TcpOpt::Unknown { kind, data } => {
                out.extend_from_slice(&[*kind, (2 + data.len()) as u8]);
                out.extend_from_slice(data);
            }
            TcpOpt::Malformed { kind } => out.push(*kind),
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

/// Options in wire order, in the script's terms. EOL ends the list (the zero padding
/// after it is not shown); a malformed option ends it too.
pub fn decode_options(area: &[u8]) -> Vec<TcpOpt> {
    options(area).map(|o| script_option(o.option)).collect()
}

/// One option from the walker as the script writes it.
fn script_option(o: TcpOption) -> TcpOpt {
    let unknown = |data: &[u8]| TcpOpt::Unknown {
        kind: o.kind(),
        data: data.to_vec(),
    };
    match o {
        TcpOption::Eol => TcpOpt::Eol,
        TcpOption::Nop => TcpOpt::Nop,
        TcpOption::Mss(v) => TcpOpt::Mss(Val::Is(v)),
        TcpOption::WindowScale(v) => TcpOpt::Wscale(Val::Is(v)),
        TcpOption::SackPermitted => TcpOpt::SackOk,
        TcpOption::Sack(blocks) => TcpOpt::Sack(
            blocks
                .iter()
                .map(|(a, b)| (Val::Is(a), Val::Is(b)))
                .collect(),
        ),
        TcpOption::Timestamps { val, ecr } => TcpOpt::Ts {
            val: Val::Is(val),
            ecr: Val::Is(ecr),
        },
        TcpOption::Md5(d) => Hex::new(d).map_or_else(|| unknown(d), |h| TcpOpt::Md5(Val::Is(h))),
        TcpOption::FastOpen {
            cookie,
            experimental,
        } => match Hex::new(cookie) {
            Some(h) => TcpOpt::FastOpen {
                cookie: Val::Is(h),
                experimental,
            },
            // An experimental option with TFO's magic but a cookie too long for TFO.
            None => unknown(cookie),
        },
        // The script has no words for AccECN: shown by kind, matched by nothing.
        TcpOption::AccEcn { counters, .. } => unknown(counters),
        TcpOption::Unknown { kind, data } => TcpOpt::Unknown {
            kind,
            data: data.to_vec(),
        },
        TcpOption::Malformed { kind } => TcpOpt::Malformed { kind },
    }
}

/// The whole frame the peer sends for `seg`. `None` if the options do not fit a TCP
/// header (the parser already refuses that; this keeps the builder total).
pub fn build(seg: &Injection) -> Option<Vec<u8>> {
    let options = encode_options(&seg.options);
    if options.len() > 40 {
        return None;
    }
    let tcp_len = TCP_HEADER + options.len() + seg.payload.len();
    let (ethertype, ip_len) = match seg.ip {
        IpVersion::V4 => (EthernetProtocol::Ipv4, IPV4_HEADER),
        IpVersion::V6 => (EthernetProtocol::Ipv6, IPV6_HEADER),
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: crate::serve::MAC,
        ethertype,
    };
    let mut buf = vec![0u8; ETH_HEADER + ip_len + tcp_len];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    let tcp_bytes = match seg.ip {
        IpVersion::V4 => {
            let ip = Ipv4Repr {
                src_addr: PEER_IP,
                dst_addr: OUR_IP,
                next_header: IpProtocol::Tcp,
                payload_len: tcp_len,
                hop_limit: 64,
            };
            let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
            ip.emit(&mut packet, &ChecksumCapabilities::default());
            &mut buf[ETH_HEADER + IPV4_HEADER..]
        }
        IpVersion::V6 => {
            let ip = Ipv6Repr {
                src_addr: PEER_IP6,
                dst_addr: OUR_IP6,
                next_header: IpProtocol::Tcp,
                payload_len: tcp_len,
                hop_limit: 64,
            };
            ip.emit(&mut Ipv6Packet::new_unchecked(frame.payload_mut()));
            &mut buf[ETH_HEADER + IPV6_HEADER..]
        }
    };
    let mut tcp = TcpPacket::new_unchecked(tcp_bytes);
    tcp.set_src_port(seg.peer_port);
    tcp.set_dst_port(seg.our_port);
    tcp.set_seq_number(TcpSeqNumber(seg.seq as i32));
    let ack = if seg.flags.contains(TcpFlags::ACK) {
        seg.ack
    } else {
        0
    };
    tcp.set_ack_number(TcpSeqNumber(ack as i32));
    tcp.set_header_len((TCP_HEADER + options.len()) as u8);
    set_flags(&mut tcp, seg.flags);
    tcp.set_window_len(seg.win);
    tcp.set_urgent_at(0);
    tcp.options_mut().copy_from_slice(&options);
    tcp.payload_mut().copy_from_slice(&seg.payload);
    let (peer, ours) = seg.ip.addrs();
    tcp.fill_checksum(&peer, &ours);
    Some(buf)
}

/// Writes the flag bits a script can name (the reserved bits stay clear).
fn set_flags(tcp: &mut TcpPacket<&mut [u8]>, f: TcpFlags) {
    tcp.clear_flags();
    tcp.set_fin(f.contains(TcpFlags::FIN));
    tcp.set_syn(f.contains(TcpFlags::SYN));
    tcp.set_rst(f.contains(TcpFlags::RST));
    tcp.set_psh(f.contains(TcpFlags::PSH));
    tcp.set_ack(f.contains(TcpFlags::ACK));
    tcp.set_urg(f.contains(TcpFlags::URG));
    tcp.set_ece(f.contains(TcpFlags::ECE));
    tcp.set_cwr(f.contains(TcpFlags::CWR));
    tcp.set_ns(f.contains(TcpFlags::AE));
}

/// The TCP segment in a frame our stack sent to the peer (over IPv4 or IPv6); `None`
/// for anything else (ARP, ICMP, neighbor discovery, a frame to another address).
pub fn decode(frame: &[u8]) -> Option<Seen> {
    let span = tcp_span(frame)?;
    if span.dst != IpAddress::Ipv4(PEER_IP) && span.dst != IpAddress::Ipv6(PEER_IP6) {
        return None;
    }
    let tcp = TcpPacket::new_checked(frame.get(span.range)?).ok()?;
    Some(Seen {
        our_port: tcp.src_port(),
        peer_port: tcp.dst_port(),
        flags: TcpFlags::of(&tcp),
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
            ip: IpVersion::V4,
            our_port: 80,
            peer_port: 40000,
            flags: TcpFlags::SYN,
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

    /// The TCP segment of a frame `build` made, checksums verified on the way.
    fn tcp_of(frame: &[u8]) -> (IpAddress, IpAddress, TcpPacket<&[u8]>) {
        let span = tcp_span(frame).unwrap();
        let tcp = TcpPacket::new_checked(&frame[span.range]).unwrap();
        assert!(tcp.verify_checksum(&span.src, &span.dst));
        (span.src, span.dst, tcp)
    }

    #[test]
    fn built_frames_are_valid_for_smoltcp_with_options_in_script_order() {
        let frame = build(&syn()).unwrap();
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.src_addr(), PEER_MAC);
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum());
        let (s, d, tcp) = tcp_of(&frame);
        assert_eq!((s, d), (PEER_IP.into(), OUR_IP.into()));
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
    fn ipv6_frames_go_from_fdaa_100_to_fdaa_1() {
        let inj = Injection {
            ip: IpVersion::V6,
            ..syn()
        };
        let frame = build(&inj).unwrap();
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.ethertype(), EthernetProtocol::Ipv6);
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        assert_eq!(ip.hop_limit(), 64);
        let (s, d, tcp) = tcp_of(&frame);
        assert_eq!(s.to_string(), "fdaa::100");
        assert_eq!(d.to_string(), "fdaa::1");
        let repr = TcpRepr::parse(&tcp, &s, &d, &ChecksumCapabilities::default()).unwrap();
        assert_eq!(repr.max_seg_size, Some(1460));
        assert_eq!(frame.len(), 14 + 40 + 40);
    }

    /// `inj` as our stack would have sent it: addresses swapped (decode() only reads
    /// frames to the peer), checksum left as it was (decode() does not check it).
    fn as_sent(inj: &Injection) -> Vec<u8> {
        let mut frame = build(inj).unwrap();
        let (src, dst) = match inj.ip {
            IpVersion::V4 => (14 + 12..14 + 16, 14 + 16..14 + 20),
            IpVersion::V6 => (14 + 8..14 + 24, 14 + 24..14 + 40),
        };
        let (a, b) = (frame[src.clone()].to_vec(), frame[dst.clone()].to_vec());
        frame[src].copy_from_slice(&b);
        frame[dst].copy_from_slice(&a);
        frame
    }

    #[test]
    fn decode_reads_back_what_build_wrote() {
        for ip in [IpVersion::V4, IpVersion::V6] {
            let mut inj = syn();
            inj.ip = ip;
            inj.flags = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK;
            inj.ack = 77;
            inj.payload = b"hello".to_vec();
            inj.options = vec![TcpOpt::Nop, TcpOpt::Sack(vec![(Val::Is(1), Val::Is(2))])];
            let frame = as_sent(&inj);
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
            // What build() wrote goes to our stack, not to the peer: not ours to read.
            assert_eq!(decode(&build(&inj).unwrap()), None);
        }
        assert_eq!(decode(&as_sent(&syn())[..20]), None);
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn fast_open_and_md5_encode_as_their_kinds_and_decode_back() {
        let cookie = Val::Is(Hex::new(&[0xde, 0xad, 0xbe, 0xef]).unwrap());
        let digest = Val::Is(Hex::new(&[9; 16]).unwrap());
        let opts = vec![
            TcpOpt::FastOpen {
                cookie,
                experimental: false,
            },
            TcpOpt::FastOpen {
                cookie: Val::Is(Hex::default()),
                experimental: true,
            },
            TcpOpt::Md5(digest),
        ];
        let bytes = encode_options(&opts);
        assert_eq!(&bytes[..6], &[34, 6, 0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(&bytes[6..10], &[254, 4, 0xf9, 0x89]);
        assert_eq!(&bytes[10..12], &[19, 18]);
        assert_eq!(bytes.len(), 28);
        assert_eq!(decode_options(&bytes), opts);
        // A bare `md5` in a `<` line is resolved to zeros; a wildcard encodes as zeros.
        assert_eq!(encode_options(&[TcpOpt::Md5(Val::Any)])[2..18], [0; 16]);
    }

    #[test]
    fn odd_options_decode_without_panicking() {
        assert_eq!(
            decode_options(&[2, 4, 1]),
            vec![TcpOpt::Malformed { kind: 2 }]
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
        assert_eq!(
            decode_options(&[172, 4, 1, 2]),
            vec![TcpOpt::Unknown {
                kind: 172,
                data: vec![1, 2]
            }]
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
