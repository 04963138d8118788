//! Byte-level help for the `frames` target: making a mutated frame pass the length and
//! checksum checks, numbering its ACK relative to our ISN, and checking what our stack
//! sends.
//!
//! A mutation almost always breaks a checksum, and smoltcp drops such a frame before any
//! interesting code sees it (the targets are built without `cfg(fuzzing)`, so the
//! checks are as in `taplab serve`). So for the records that ask for it ([`fix`]), the
//! harness recomputes what a sender would: the IP length field from the frame's size,
//! the IPv4 header checksum, and the TCP, UDP, ICMP or ICMPv6 checksum (with the pseudo
//! header). IPv6 extension headers are not walked: the fuzzer can still send them, only
//! without this help. Every function here takes any bytes and never panics on them.
//!
//! [`check_sent`] is the target's oracle on the way out: every frame our stack sends
//! must be a well-formed Ethernet frame from our MAC, no larger than the MTU allows, with
//! IP lengths that match and every checksum right (what Wireshark flags otherwise).

use smoltcp::wire::{
    EthernetAddress, Icmpv4Packet, Icmpv6Packet, IpAddress, IpProtocol, Ipv4Packet, Ipv6Packet,
    TcpPacket, TcpSeqNumber, UdpPacket,
};

const ETH_HEADER: usize = 14;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];

/// Where the IP header and the transport segment are in a frame.
struct Layout {
    src: IpAddress,
    dst: IpAddress,
    proto: IpProtocol,
    /// The transport segment (header and payload), as the IP header delimits it.
    transport: std::ops::Range<usize>,
}

/// The IPv4 or IPv6 packet in an Ethernet frame, with its transport segment: None when
/// the frame is not IP, or its headers do not fit, or (IPv4) it is a fragment.
fn layout(frame: &[u8]) -> Option<Layout> {
    let ip = frame.get(ETH_HEADER..)?;
    match frame.get(12..14)? {
        t if t == ETHERTYPE_IPV4 => {
            let p = Ipv4Packet::new_checked(ip).ok()?;
            if p.version() != 4 || p.more_frags() || p.frag_offset() != 0 {
                return None;
            }
            let start = ETH_HEADER + p.header_len() as usize;
            let end = ETH_HEADER + p.total_len() as usize;
            Some(Layout {
                src: IpAddress::Ipv4(p.src_addr()),
                dst: IpAddress::Ipv4(p.dst_addr()),
                proto: p.next_header(),
                transport: start..end,
            })
        }
        t if t == ETHERTYPE_IPV6 => {
            let p = Ipv6Packet::new_checked(ip).ok()?;
            if p.version() != 6 {
                return None;
            }
            let start = ETH_HEADER + 40;
            Some(Layout {
                src: IpAddress::Ipv6(p.src_addr()),
                dst: IpAddress::Ipv6(p.dst_addr()),
                proto: p.next_header(),
                transport: start..start + p.payload_len() as usize,
            })
        }
        _ => None,
    }
}

/// Sets the IP length field (IPv4 total length, IPv6 payload length) from the frame's
/// size, as far as the field can say it.
fn fix_ip_length(frame: &mut [u8]) {
    let Some(ethertype) = frame.get(12..14).map(|t| [t[0], t[1]]) else {
        return;
    };
    let start = ETH_HEADER.min(frame.len());
    let ip = &mut frame[start..];
    let len = ip.len().min(usize::from(u16::MAX)) as u16;
    if ethertype == ETHERTYPE_IPV4 && ip.len() >= 20 {
        let header = usize::from(ip[0] & 0x0f) * 4;
        if header >= 20 && header <= ip.len() {
            Ipv4Packet::new_unchecked(&mut ip[..]).set_total_len(len);
        }
    } else if ethertype == ETHERTYPE_IPV6 && ip.len() >= 40 {
        Ipv6Packet::new_unchecked(&mut ip[..]).set_payload_len(len.saturating_sub(40));
    }
}

/// Recomputes the checksums of an IP frame: the IPv4 header's, and the transport
/// segment's for TCP, UDP, ICMP and ICMPv6. With `lengths`, first sets the IP (and UDP)
/// length fields from the frame's size. Anything else is left as it is.
pub fn fix(frame: &mut [u8], lengths: bool) {
    if lengths {
        fix_ip_length(frame);
    }
    let Some(l) = layout(frame) else {
        return;
    };
    if frame[12..14] == ETHERTYPE_IPV4 {
        Ipv4Packet::new_unchecked(&mut frame[ETH_HEADER..]).fill_checksum();
    }
    let Some(seg) = frame.get_mut(l.transport.clone()) else {
        return;
    };
    match (l.proto, l.src, l.dst) {
        (IpProtocol::Tcp, _, _) => {
            if let Ok(mut p) = TcpPacket::new_checked(&mut seg[..]) {
                p.fill_checksum(&l.src, &l.dst);
            }
        }
        (IpProtocol::Udp, _, _) => {
            if lengths && seg.len() >= 8 && seg.len() <= usize::from(u16::MAX) {
                let len = seg.len() as u16;
                UdpPacket::new_unchecked(&mut seg[..]).set_len(len);
            }
            if let Ok(mut p) = UdpPacket::new_checked(&mut seg[..]) {
                p.fill_checksum(&l.src, &l.dst);
            }
        }
        (IpProtocol::Icmp, IpAddress::Ipv4(_), _) => {
            if let Ok(mut p) = Icmpv4Packet::new_checked(&mut seg[..]) {
                p.fill_checksum();
            }
        }
        (IpProtocol::Icmpv6, IpAddress::Ipv6(src), IpAddress::Ipv6(dst)) => {
            if let Ok(mut p) = Icmpv6Packet::new_checked(&mut seg[..]) {
                p.fill_checksum(&src, &dst);
            }
        }
        _ => {}
    }
}

/// The peer's port and our ISN, if the frame is a SYN-ACK from our stack.
pub fn our_syn_ack(frame: &[u8]) -> Option<(u16, u32)> {
    let l = layout(frame).filter(|l| l.proto == IpProtocol::Tcp)?;
    let p = TcpPacket::new_checked(frame.get(l.transport)?).ok()?;
    (p.syn() && p.ack()).then(|| (p.dst_port(), p.seq_number().0 as u32))
}

/// Adds `base(source port)` to the ACK number of a TCP segment, so that the fuzzer can
/// write ACK numbers relative to the ISN our stack chose for the connection. Leaves the
/// checksum to [`fix`]. False when the frame is not TCP.
pub fn relative_ack(frame: &mut [u8], base: impl Fn(u16) -> u32) -> bool {
    let Some(l) = layout(frame).filter(|l| l.proto == IpProtocol::Tcp) else {
        return false;
    };
    let Some(seg) = frame.get_mut(l.transport) else {
        return false;
    };
    let Ok(mut p) = TcpPacket::new_checked(&mut seg[..]) else {
        return false;
    };
    // Wrapping, as sequence numbers do (smoltcp's `+` refuses more than 2^31).
    let ack = p.ack_number().0.wrapping_add(base(p.src_port()) as i32);
    p.set_ack_number(TcpSeqNumber(ack));
    true
}

/// Checks a frame our stack sent: Ethernet from `mac`, at most `mtu` bytes of IP, the IP
/// length fields equal to what the frame carries, and every checksum right. Err says
/// what is wrong.
pub fn check_sent(frame: &[u8], mac: EthernetAddress, mtu: usize) -> Result<(), String> {
    if frame.len() < ETH_HEADER {
        return Err(format!("a frame of {} bytes", frame.len()));
    }
    if frame[6..12] != mac.0 {
        return Err(format!("source MAC {:02x?} is not ours", &frame[6..12]));
    }
    let ip_len = frame.len() - ETH_HEADER;
    if ip_len > mtu {
        return Err(format!("{ip_len} bytes of IP, more than the MTU {mtu}"));
    }
    let ethertype = [frame[12], frame[13]];
    if ethertype == ETHERTYPE_ARP {
        return Ok(());
    }
    if ethertype != ETHERTYPE_IPV4 && ethertype != ETHERTYPE_IPV6 {
        return Err(format!("ethertype {ethertype:02x?}"));
    }
    let Some(l) = layout(frame) else {
        return Err("an IP header that does not parse".into());
    };
    if l.transport.end != frame.len() {
        return Err(format!(
            "the IP length says {} bytes, the frame carries {ip_len}",
            l.transport.end - ETH_HEADER
        ));
    }
    let mut copy = frame.to_vec();
    fix(&mut copy, false);
    if copy != frame {
        let at = copy
            .iter()
            .zip(frame)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(format!("a wrong checksum (first difference at byte {at})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeds::frames::{Peer, tcp_frame};
    use smoltcp::wire::TcpControl;

    #[test]
    fn a_mutated_segment_is_repaired_to_the_bytes_a_sender_would_send() {
        let good = tcp_frame(Peer::V4, 40000, TcpControl::Syn, 7, None, &[], true);
        let mut bad = good.clone();
        bad[14 + 2] ^= 0x10; // IPv4 total length
        bad[14 + 10] ^= 0xff; // IPv4 header checksum
        let tcp = 14 + 20;
        bad[tcp + 16] ^= 0x55; // TCP checksum
        fix(&mut bad, true);
        assert_eq!(bad, good);
        assert_eq!(check_sent(&good, Peer::V4.mac(), 1500), Ok(()));

        let good6 = tcp_frame(Peer::V6, 40000, TcpControl::None, 7, Some(1), b"GET", true);
        let mut bad6 = good6.clone();
        bad6[14 + 4] = 0xff; // IPv6 payload length
        bad6[14 + 40 + 17] ^= 1; // TCP checksum
        fix(&mut bad6, true);
        assert_eq!(bad6, good6);
    }

    #[test]
    fn the_oracle_names_a_wrong_checksum_and_a_wrong_length() {
        let good = tcp_frame(Peer::V4, 40000, TcpControl::Syn, 7, None, &[], true);
        let mut bad = good.clone();
        bad[14 + 20 + 16] ^= 1;
        let e = check_sent(&bad, Peer::V4.mac(), 1500).unwrap_err();
        assert!(e.contains("wrong checksum"), "{e}");
        let mut long = good.clone();
        long.push(0);
        let e = check_sent(&long, Peer::V4.mac(), 1500).unwrap_err();
        assert!(e.contains("the frame carries"), "{e}");
        let e = check_sent(&good, EthernetAddress([2, 0, 0, 0, 0, 9]), 1500).unwrap_err();
        assert!(e.contains("not ours"), "{e}");
    }

    #[test]
    fn acks_are_made_relative_to_the_connections_isn() {
        let mut f = tcp_frame(Peer::V4, 40001, TcpControl::None, 1, Some(1), &[], true);
        assert!(relative_ack(&mut f, |port| if port == 40001 {
            1000
        } else {
            0
        }));
        fix(&mut f, false);
        let l = layout(&f).unwrap();
        let p = TcpPacket::new_checked(&f[l.transport]).unwrap();
        assert_eq!(p.ack_number().0, 1001);
        assert!(p.verify_checksum(&l.src, &l.dst));
    }

    #[test]
    fn any_bytes_are_taken_without_panicking() {
        let seed = tcp_frame(Peer::V6, 1, TcpControl::Fin, 1, Some(1), b"x", true);
        for len in 0..seed.len() {
            for flip in [0u8, 0x0f, 0xf0, 0xff] {
                let mut f = seed[..len].to_vec();
                if let Some(b) = f.last_mut() {
                    *b ^= flip;
                }
                fix(&mut f, true);
                let _ = relative_ack(&mut f, |_| u32::MAX);
                let _ = check_sent(&f, Peer::V6.mac(), 1500);
                let _ = our_syn_ack(&f);
            }
        }
    }
}
