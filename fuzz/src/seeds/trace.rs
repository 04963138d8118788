//! The `trace` target's seeds: captures of a short HTTP exchange written in each format
//! and link type `taplab trace` reads — classic pcap in either byte order, µs and ns;
//! pcapng; Ethernet, raw IP and Linux cooked links — each preceded by the target's
//! options byte ([`crate::trace`]).

use super::frames::{Peer, arp_request, handshake_frames, ping, tcp_frame, tcp_reply};
use smoltcp::wire::TcpControl;

const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LINUX_SLL: u32 = 113;

/// An HTTP exchange on one connection, with times (µs): handshake, GET, a two-segment
/// response, the client's close, then a ping and an IPv6 connection reset.
pub fn exchange() -> Vec<(i64, Vec<u8>)> {
    let get: &[u8] = b"GET / HTTP/1.1\r\nHost: 192.168.69.1\r\n\r\n";
    let head: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\r\n";
    let body: &[u8] = b"<p>hello</p>";
    let c = |seq: u32| 1001 + seq;
    let s = |seq: u32| 5001 + seq;
    let (g, h, b) = (get.len() as u32, head.len() as u32, body.len() as u32);
    let port = 40000;
    let mut f = vec![(0, arp_request())];
    f.extend(handshake_frames().into_iter().map(|(t, fr)| (t + 10, fr)));
    let more = [
        tcp_frame(Peer::V4, port, TcpControl::Psh, c(0), Some(s(0)), get, true),
        tcp_reply(Peer::V4, port, TcpControl::None, s(0), Some(c(g)), head),
        tcp_reply(Peer::V4, port, TcpControl::Psh, s(h), Some(c(g)), body),
        tcp_frame(
            Peer::V4,
            port,
            TcpControl::None,
            c(g),
            Some(s(h + b)),
            &[],
            true,
        ),
        tcp_frame(
            Peer::V4,
            port,
            TcpControl::Fin,
            c(g),
            Some(s(h + b)),
            &[],
            true,
        ),
        tcp_reply(
            Peer::V4,
            port,
            TcpControl::Fin,
            s(h + b),
            Some(c(g + 1)),
            &[],
        ),
        tcp_frame(
            Peer::V4,
            port,
            TcpControl::None,
            c(g + 1),
            Some(s(h + b + 1)),
            &[],
            true,
        ),
        ping(Peer::V4, 1),
        tcp_frame(Peer::V6, 40001, TcpControl::Syn, 0, None, &[], true),
        tcp_reply(Peer::V6, 40001, TcpControl::Rst, 0, Some(1), &[]),
    ];
    f.extend(
        more.into_iter()
            .enumerate()
            .map(|(i, fr)| (1000 + 500 * i as i64, fr)),
    );
    f
}

/// A classic pcap file of Ethernet frames (little-endian µs, or big-endian ns).
pub fn pcap(frames: &[(i64, Vec<u8>)], big_endian_nanos: bool) -> Vec<u8> {
    pcap_link(frames, big_endian_nanos, LINKTYPE_ETHERNET)
}

fn pcap_link(frames: &[(i64, Vec<u8>)], big_endian_nanos: bool, link: u32) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian_nanos {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian_nanos {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend(u32b(if big_endian_nanos {
        0xa1b2_3c4d
    } else {
        0xa1b2_c3d4
    }));
    out.extend(u16b(2));
    out.extend(u16b(4));
    out.extend(u32b(0)); // thiszone
    out.extend(u32b(0)); // sigfigs
    out.extend(u32b(65535)); // snaplen
    out.extend(u32b(link));
    let start = 1_767_225_600i64;
    for (t, frame) in frames {
        let frac = if big_endian_nanos {
            t % 1_000_000 * 1000
        } else {
            t % 1_000_000
        };
        out.extend(u32b((start + t / 1_000_000) as u32));
        out.extend(u32b(frac as u32));
        out.extend(u32b(frame.len() as u32));
        out.extend(u32b(frame.len() as u32));
        out.extend_from_slice(frame);
    }
    out
}

/// A pcapng file: section header, one Ethernet interface (µs), enhanced packet blocks.
pub fn pcapng(frames: &[(i64, Vec<u8>)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        out.extend(kind.to_le_bytes());
        out.extend(total.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend(total.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend(0x1a2b_3c4du32.to_le_bytes());
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes()); // section length unknown
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend((LINKTYPE_ETHERNET as u16).to_le_bytes());
    idb.extend(0u16.to_le_bytes());
    idb.extend(65535u32.to_le_bytes());
    // if_tsresol = 6 (µs), then the end of options.
    idb.extend([9, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    block(&mut out, 1, &idb);
    let start = 1_767_225_600_000_000u64;
    for (t, frame) in frames {
        let ts = start + *t as u64;
        let mut epb = Vec::new();
        epb.extend(0u32.to_le_bytes());
        epb.extend(((ts >> 32) as u32).to_le_bytes());
        epb.extend((ts as u32).to_le_bytes());
        epb.extend((frame.len() as u32).to_le_bytes());
        epb.extend((frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(frame);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        block(&mut out, 6, &epb);
    }
    out
}

/// The frames without their Ethernet header (raw IP), or with a Linux cooked header in
/// its place (ARP frames are left out of the raw IP capture: they are not IP).
fn relinked(frames: &[(i64, Vec<u8>)], cooked: bool) -> Vec<(i64, Vec<u8>)> {
    frames
        .iter()
        .filter(|(_, f)| cooked || f[12..14] != [0x08, 0x06])
        .map(|(t, f)| {
            let mut out = Vec::new();
            if cooked {
                let outgoing = f[6..12] == taplab::network::SERVER_MAC.0;
                out.extend(if outgoing { [0u8, 4] } else { [0u8, 0] }); // packet type
                out.extend(1u16.to_be_bytes()); // ARPHRD_ETHER
                out.extend(6u16.to_be_bytes());
                out.extend_from_slice(&f[6..12]);
                out.extend([0, 0]);
                out.extend_from_slice(&f[12..14]);
            }
            out.extend_from_slice(&f[14..]);
            (*t, out)
        })
        .collect()
}

/// The `trace` target's seeds.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let frames = exchange();
    let with = |options: u8, file: Vec<u8>| {
        let mut v = vec![options];
        v.extend(file);
        v
    };
    let pcap_le = pcap(&frames, false);
    let mut cut = pcap_le.clone();
    cut.truncate(cut.len() - 7);
    vec![
        ("pcap-le-us".into(), with(0, pcap_le.clone())),
        (
            "pcap-be-ns-absolute-svg".into(),
            with(1 | 16, pcap(&frames, true)),
        ),
        ("pcapng".into(), with(0, pcapng(&frames))),
        ("pcapng-http-only".into(), with(2 | 4, pcapng(&frames))),
        (
            "raw-ip".into(),
            with(8, pcap_link(&relinked(&frames, false), false, LINKTYPE_RAW)),
        ),
        (
            "linux-cooked-stream0".into(),
            with(
                1 << 5,
                pcap_link(&relinked(&frames, true), false, LINKTYPE_LINUX_SLL),
            ),
        ),
        ("cut-short".into(), with(16, cut)),
    ]
}
