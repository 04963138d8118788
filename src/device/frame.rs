//! Finding the TCP segment inside an Ethernet frame: the one parser the middlewares and
//! observers share (the stack's admission and guard, the knobs layer, `/tcpinfo`'s wire
//! record, step mode, the lab client's and the script's
//! frame readers). It only locates; callers view the bytes with `smoltcp::wire::TcpPacket`,
//! read-only or mutably, and check checksums as they need.

use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, Ipv6Packet,
};
use std::ops::Range;

/// Where a TCP segment lies in a frame, and between which addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSpan {
    pub src: IpAddress,
    pub dst: IpAddress,
    /// The segment's bytes (TCP header and payload) within the frame.
    pub range: Range<usize>,
}

/// The TCP segment of an Ethernet frame carrying IPv4 (unfragmented) or IPv6 (TCP as
/// the next header); None for anything else or anything cut short.
pub fn tcp_span(frame: &[u8]) -> Option<TcpSpan> {
    const ETH: usize = 14;
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (src, dst, range) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(frame.get(ETH..)?).ok()?;
            if ip.next_header() != IpProtocol::Tcp || ip.more_frags() || ip.frag_offset() != 0 {
                return None;
            }
            let (hl, tl) = (ip.header_len() as usize, ip.total_len() as usize);
            (
                ip.src_addr().into(),
                ip.dst_addr().into(),
                ETH + hl..ETH + tl,
            )
        }
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(frame.get(ETH..)?).ok()?;
            if ip.next_header() != IpProtocol::Tcp {
                return None;
            }
            let start = ETH + 40;
            (
                ip.src_addr().into(),
                ip.dst_addr().into(),
                start..start + ip.payload_len() as usize,
            )
        }
        _ => return None,
    };
    // new_checked above bounds the IP packet by the frame; the TCP range must fit too.
    frame.get(range.clone())?;
    Some(TcpSpan { src, dst, range })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{CLIENT_IP, SERVER_IP, frame, segment};
    use smoltcp::wire::{TcpControl, TcpPacket};

    #[test]
    fn finds_the_segment_and_refuses_the_rest() {
        let f = frame(false, &segment(40000, 80, TcpControl::Syn, 1, None));
        let span = tcp_span(&f).unwrap();
        assert_eq!((span.src, span.dst), (CLIENT_IP.into(), SERVER_IP.into()));
        let tcp = TcpPacket::new_checked(&f[span.range]).unwrap();
        assert!(tcp.syn() && tcp.dst_port() == 80);
        assert!(tcp_span(&f[..30]).is_none());
        assert!(tcp_span(&[0u8; 3]).is_none());
        let mut arp = f.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(tcp_span(&arp).is_none());
    }
}
