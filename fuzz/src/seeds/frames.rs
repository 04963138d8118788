//! Frames between the peer (192.168.69.100 / fdaa::100, 02:00:00:00:00:02) and our server
//! (192.168.69.1 / fdaa::1, 02:00:00:00:00:01), built with `smoltcp::wire` and valid
//! checksums; and the `frames` target's seeds made of them.
//!
//! The seeds are short conversations a browser or an attacker has with the server: a
//! GET on a keep-alive connection, the client closing first, RSTs in and out of the
//! window (with and without the edge guard), a SYN burst past a small backlog to a full
//! server, a SYN to a closed port, ARP, ping, UDP, and the same over IPv6, under several
//! configuration headers ([`crate::knobs`]). ACK numbers of the peer's segments are
//! written relative to our ISN (control flag 1), as the target lets them be.

use crate::knobs::HEADER;
use crate::records::{Control, encode};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpAddress, IpProtocol,
    Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    TcpTimestampRepr, UdpPacket, UdpRepr,
};
use taplab::network::{HOST_MAC, HOST_V4, HOST_V6, HTTP_PORT, SERVER_MAC, SERVER_V4, SERVER_V6};

/// The IP version the peer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    V4,
    V6,
}

impl Peer {
    /// The peer's MAC (the source of its frames).
    pub fn mac(self) -> EthernetAddress {
        HOST_MAC
    }

    fn addrs(self) -> (IpAddress, IpAddress) {
        match self {
            Peer::V4 => (HOST_V4.into(), SERVER_V4.into()),
            Peer::V6 => (HOST_V6.into(), SERVER_V6.into()),
        }
    }
}

/// An IP packet in an Ethernet frame, the payload written by `fill` into its slice.
fn ip_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: IpAddress,
    dst: IpAddress,
    proto: IpProtocol,
    payload_len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Vec<u8> {
    let (ethertype, ip_len) = match src {
        IpAddress::Ipv4(_) => (EthernetProtocol::Ipv4, 20),
        IpAddress::Ipv6(_) => (EthernetProtocol::Ipv6, 40),
    };
    let mut buf = vec![0u8; 14 + ip_len + payload_len];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype,
    }
    .emit(&mut eth);
    match (src, dst) {
        (IpAddress::Ipv4(s), IpAddress::Ipv4(d)) => {
            let mut p = Ipv4Packet::new_unchecked(eth.payload_mut());
            Ipv4Repr {
                src_addr: s,
                dst_addr: d,
                next_header: proto,
                payload_len,
                hop_limit: 64,
            }
            .emit(&mut p, &ChecksumCapabilities::default());
            fill(p.payload_mut());
        }
        (IpAddress::Ipv6(s), IpAddress::Ipv6(d)) => {
            let mut p = Ipv6Packet::new_unchecked(eth.payload_mut());
            Ipv6Repr {
                src_addr: s,
                dst_addr: d,
                next_header: proto,
                payload_len,
                hop_limit: 64,
            }
            .emit(&mut p);
            fill(p.payload_mut());
        }
        _ => unreachable!("the addresses of one packet share a family"),
    }
    buf
}

/// A TCP segment from the peer (`to_server`) or from our server. With `options`, a SYN
/// carries Linux's options (MSS 1460, SACK permitted, timestamps, window scale 7) and
/// every segment a timestamp.
#[allow(clippy::too_many_arguments)]
fn tcp(
    peer: Peer,
    to_server: bool,
    peer_port: u16,
    control: TcpControl,
    seq: u32,
    ack: Option<u32>,
    payload: &[u8],
    options: bool,
) -> Vec<u8> {
    let (p, s) = peer.addrs();
    let (src, dst, src_mac, dst_mac, src_port, dst_port) = if to_server {
        (p, s, HOST_MAC, SERVER_MAC, peer_port, HTTP_PORT)
    } else {
        (s, p, SERVER_MAC, HOST_MAC, HTTP_PORT, peer_port)
    };
    let syn = control == TcpControl::Syn;
    let repr = TcpRepr {
        src_port,
        dst_port,
        control,
        seq_number: TcpSeqNumber(seq as i32),
        ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
        window_len: 64240,
        window_scale: (syn && options).then_some(7),
        max_seg_size: (syn && options).then_some(1460),
        sack_permitted: syn && options,
        sack_ranges: [None; 3],
        timestamp: options.then(|| TcpTimestampRepr::new(1_000_000 + seq % 1000, 0)),
        payload,
    };
    ip_frame(
        src_mac,
        dst_mac,
        src,
        dst,
        IpProtocol::Tcp,
        repr.buffer_len(),
        |b| {
            repr.emit(
                &mut TcpPacket::new_unchecked(b),
                &src,
                &dst,
                &ChecksumCapabilities::default(),
            )
        },
    )
}

/// A segment from the peer to port 80 from `peer_port`.
pub fn tcp_frame(
    peer: Peer,
    peer_port: u16,
    control: TcpControl,
    seq: u32,
    ack: Option<u32>,
    payload: &[u8],
    options: bool,
) -> Vec<u8> {
    tcp(peer, true, peer_port, control, seq, ack, payload, options)
}

/// A segment from our server to the peer's `peer_port`.
pub fn tcp_reply(
    peer: Peer,
    peer_port: u16,
    control: TcpControl,
    seq: u32,
    ack: Option<u32>,
    payload: &[u8],
) -> Vec<u8> {
    tcp(peer, false, peer_port, control, seq, ack, payload, false)
}

/// The peer's ARP request for our MAC.
pub fn arp_request() -> Vec<u8> {
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: HOST_MAC,
        source_protocol_addr: HOST_V4,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: SERVER_V4,
    };
    let mut buf = vec![0u8; 14 + arp.buffer_len()];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: HOST_MAC,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut eth);
    arp.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    buf
}

/// The peer's ping (ICMP or ICMPv6 echo request).
pub fn ping(peer: Peer, seq: u16) -> Vec<u8> {
    let data = b"taplab fuzz ping";
    let (src, dst) = peer.addrs();
    match (src, dst) {
        (IpAddress::Ipv4(_), _) => {
            let r = Icmpv4Repr::EchoRequest {
                ident: 7,
                seq_no: seq,
                data,
            };
            ip_frame(
                HOST_MAC,
                SERVER_MAC,
                src,
                dst,
                IpProtocol::Icmp,
                r.buffer_len(),
                |b| {
                    r.emit(
                        &mut Icmpv4Packet::new_unchecked(b),
                        &ChecksumCapabilities::default(),
                    )
                },
            )
        }
        (IpAddress::Ipv6(s), IpAddress::Ipv6(d)) => {
            let r = Icmpv6Repr::EchoRequest {
                ident: 7,
                seq_no: seq,
                data,
            };
            ip_frame(
                HOST_MAC,
                SERVER_MAC,
                src,
                dst,
                IpProtocol::Icmpv6,
                r.buffer_len(),
                |b| {
                    r.emit(
                        &s,
                        &d,
                        &mut Icmpv6Packet::new_unchecked(b),
                        &ChecksumCapabilities::default(),
                    )
                },
            )
        }
        _ => unreachable!("the addresses of one packet share a family"),
    }
}

/// A UDP datagram from the peer to a port nobody serves (smoltcp answers port
/// unreachable).
pub fn udp(peer: Peer) -> Vec<u8> {
    let (src, dst) = peer.addrs();
    let payload = b"anyone?";
    let r = UdpRepr {
        src_port: 5353,
        dst_port: 53,
    };
    ip_frame(
        HOST_MAC,
        SERVER_MAC,
        src,
        dst,
        IpProtocol::Udp,
        8 + payload.len(),
        |b| {
            r.emit(
                &mut UdpPacket::new_unchecked(b),
                &src,
                &dst,
                payload.len(),
                |p| p.copy_from_slice(payload),
                &ChecksumCapabilities::default(),
            )
        },
    )
}

/// A three-way handshake as a capture would show it: SYN, SYN-ACK, ACK, with times (µs).
pub fn handshake_frames() -> Vec<(i64, Vec<u8>)> {
    vec![
        (
            0,
            tcp_frame(Peer::V4, 40000, TcpControl::Syn, 1000, None, &[], true),
        ),
        (
            120,
            tcp_reply(Peer::V4, 40000, TcpControl::Syn, 5000, Some(1001), &[]),
        ),
        (
            250,
            tcp_frame(
                Peer::V4,
                40000,
                TcpControl::None,
                1001,
                Some(5001),
                &[],
                true,
            ),
        ),
    ]
}

/// A `frames` input being written: the knob header, then records.
struct Input(Vec<u8>);

/// How a record is delivered.
#[derive(Clone, Copy)]
struct How {
    /// Time step after it (index into records::STEPS).
    step: u8,
    /// ACK relative to our ISN (flag 1; the checksum is then recomputed).
    relative: bool,
    /// Queue it with the next one (flag 2).
    batch: bool,
}

const NOW: How = How {
    step: 2,
    relative: false,
    batch: false,
};
const REL: How = How {
    step: 3,
    relative: true,
    batch: false,
};

impl Input {
    fn new(header: [u8; HEADER]) -> Input {
        Input(header.to_vec())
    }

    fn add(mut self, how: How, frame: Vec<u8>) -> Input {
        let control = Control::new(how.step, [false, how.relative, how.batch]);
        encode(&mut self.0, control, &frame);
        self
    }

    /// Time passes with no frame (an empty record: the device takes nothing).
    fn wait(self, step: u8) -> Input {
        let how = How {
            step,
            relative: false,
            batch: false,
        };
        self.add(how, Vec::new())
    }
}

const GET: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 192.168.69.1\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n";
const GET_BIG: &[u8] = b"GET /big.bin HTTP/1.1\r\nHost: 192.168.69.1\r\nRange: bytes=0-\r\n\r\n";

/// A client on `port` (ISN 1000): handshake, then `request`, ACKing `acked` bytes of
/// the response, then the client's FIN and the last ACK.
fn conversation(mut input: Input, peer: Peer, port: u16, request: &[u8], acked: &[u32]) -> Input {
    let s = |seq: u32| 1000u32.wrapping_add(seq);
    input = input
        .add(
            NOW,
            tcp_frame(peer, port, TcpControl::Syn, s(0), None, &[], true),
        )
        .add(
            REL,
            tcp_frame(peer, port, TcpControl::None, s(1), Some(1), &[], true),
        )
        .add(
            REL,
            tcp_frame(peer, port, TcpControl::Psh, s(1), Some(1), request, true),
        );
    let after = s(1 + request.len() as u32);
    for &a in acked {
        input = input.add(
            REL,
            tcp_frame(peer, port, TcpControl::None, after, Some(1 + a), &[], true),
        );
    }
    let last = 1 + acked.last().copied().unwrap_or(0);
    input
        .add(
            REL,
            tcp_frame(peer, port, TcpControl::Fin, after, Some(last), &[], true),
        )
        .add(
            How { step: 8, ..REL },
            tcp_frame(
                peer,
                port,
                TcpControl::None,
                after.wrapping_add(1),
                Some(last + 1),
                &[],
                true,
            ),
        )
}

/// The `frames` target's seeds.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Input)> = vec![
        (
            "get-client-closes".into(),
            conversation(Input::new([0; HEADER]), Peer::V4, 40000, GET, &[]),
        ),
        (
            "get-ipv6".into(),
            conversation(Input::new([0; HEADER]), Peer::V6, 40001, GET, &[]),
        ),
        // The big file with partial ACKs, under a fixed ISN near 2^32 (wraps), MSS 536,
        // Reno, no timestamps, and our window scaled (--window 65536: shift 1).
        (
            "big-file-isn-wrap".into(),
            conversation(
                Input::new([0b1000_0010, 0b0010_1000, 0, 1]),
                Peer::V4,
                40002,
                GET_BIG,
                &[536, 4000, 9000, 20000],
            ),
        ),
        // Server closes first after each response, FIN separate, abort; one connection
        // at most.
        (
            "server-first-abort".into(),
            conversation(
                Input::new([0b0011_0100, 0, 1, 0]),
                Peer::V4,
                40003,
                GET,
                &[],
            ),
        ),
    ];
    // The keep-alive connection idles until the server's FIN (idle:1), then the peer is
    // silent past keep-alive and peer-silence timeouts.
    let idle = Input::new([0b0000_1100, 0, 0, 0])
        .add(
            NOW,
            tcp_frame(Peer::V4, 40004, TcpControl::Syn, 7, None, &[], true),
        )
        .add(
            REL,
            tcp_frame(Peer::V4, 40004, TcpControl::None, 8, Some(1), &[], true),
        )
        .wait(9)
        .wait(13)
        .wait(14);
    out.push(("idle-then-silent".into(), idle));
    // RSTs, with the edge guard (RFC 5961) and without it (--no-guard: smoltcp alone).
    out.push(("rst-kinds".into(), rst_kinds(0)));
    out.push(("rst-kinds-no-guard".into(), rst_kinds(0b1000_0000)));
    out.push(("syn-burst-small-backlog".into(), syn_burst()));
    // ARP, ping, UDP to a closed port, a SYN to port 81 (RST), over both versions.
    let mut misc = Input::new([0; HEADER])
        .add(NOW, arp_request())
        .add(NOW, ping(Peer::V4, 1))
        .add(NOW, udp(Peer::V4))
        .add(NOW, ping(Peer::V6, 2))
        .add(NOW, udp(Peer::V6));
    let mut closed = tcp_frame(Peer::V4, 40006, TcpControl::Syn, 1, None, &[], true);
    let at = 14 + 20 + 2;
    closed[at..at + 2].copy_from_slice(&81u16.to_be_bytes());
    misc = misc.add(
        How {
            relative: true,
            ..NOW
        },
        closed,
    );
    out.push(("arp-ping-udp-closed-port".into(), misc));
    // Data before the handshake completes, out-of-order data, a window probe, into a
    // 1024-byte window.
    let ooo = Input::new([0, 0b1000_0001, 0b10, 2])
        .add(
            NOW,
            tcp_frame(Peer::V4, 40007, TcpControl::Syn, 0, None, &[], true),
        )
        .add(
            REL,
            tcp_frame(
                Peer::V4,
                40007,
                TcpControl::Psh,
                1 + 16,
                Some(1),
                &GET[16..],
                true,
            ),
        )
        .add(
            REL,
            tcp_frame(
                Peer::V4,
                40007,
                TcpControl::None,
                1,
                Some(1),
                &GET[..16],
                true,
            ),
        )
        .add(
            REL,
            tcp_frame(
                Peer::V4,
                40007,
                TcpControl::None,
                1 + GET.len() as u32,
                Some(1),
                &[],
                true,
            ),
        )
        .wait(10);
    out.push(("out-of-order-request".into(), ooo));
    out.into_iter().map(|(n, i)| (n, i.0)).collect()
}

/// RSTs: one in the window but not at RCV.NXT, one blind (out of window), one exact;
/// `guard_bit` is the header's `--no-guard` bit (byte 2, bit 7) or 0.
fn rst_kinds(guard_bit: u8) -> Input {
    Input::new([0b0000_0001, 0, guard_bit, 0])
        .add(
            NOW,
            tcp_frame(Peer::V4, 40005, TcpControl::Syn, 100, None, &[], false),
        )
        .add(
            REL,
            tcp_frame(Peer::V4, 40005, TcpControl::None, 101, Some(1), &[], false),
        )
        .add(
            NOW,
            tcp_frame(
                Peer::V4,
                40005,
                TcpControl::Rst,
                3_000_000,
                None,
                &[],
                false,
            ),
        )
        .add(
            NOW,
            tcp_frame(Peer::V4, 40005, TcpControl::Rst, 500, None, &[], false),
        )
        .add(
            REL,
            tcp_frame(Peer::V4, 40005, TcpControl::Psh, 101, Some(1), GET, false),
        )
        .add(
            NOW,
            tcp_frame(Peer::V4, 40005, TcpControl::Syn, 9, None, &[], false),
        )
        .add(
            NOW,
            tcp_frame(
                Peer::V4,
                40005,
                TcpControl::Rst,
                101 + GET.len() as u32,
                None,
                &[],
                false,
            ),
        )
}

/// Six SYNs from ports 41000–41005 in one batch to a backlog of two and one connection
/// at most: each SYN past the second evicts the oldest half-open connection. Then 41000
/// (evicted long ago) and the last two complete their handshakes and send a GET: only
/// 41004 is served; 41005's handshake finds the server full, and 41000's connection is
/// gone.
fn syn_burst() -> Input {
    let mut burst = Input::new([0, 0, 0b0100_0001, 0]);
    for port in 41000..41006u16 {
        let how = How {
            step: 0,
            relative: false,
            batch: port != 41005,
        };
        burst = burst.add(how, syn_from(port));
    }
    for port in [41000u16, 41004, 41005] {
        let seq = u32::from(port) + 1;
        burst = burst
            .add(
                REL,
                tcp_frame(Peer::V4, port, TcpControl::None, seq, Some(1), &[], true),
            )
            .add(
                REL,
                tcp_frame(Peer::V4, port, TcpControl::Psh, seq, Some(1), GET, true),
            );
    }
    burst.wait(8).wait(12)
}

fn syn_from(port: u16) -> Vec<u8> {
    tcp_frame(
        Peer::V4,
        port,
        TcpControl::Syn,
        u32::from(port),
        None,
        &[],
        true,
    )
}
