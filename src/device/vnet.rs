//! The virtio-net header a tap opened with `IFF_VNET_HDR` puts before every frame
//! (`serve --offload`), and the checksum work that goes with it.
//!
//! With offload the kernel and taplab hand each other frames as a NIC with checksum and
//! segmentation offload (TSO) does: a 10-byte `struct virtio_net_hdr` (legacy layout, in
//! the host's byte order) precedes each frame read from or written to the tap.
//!
//! - **Out** (taplab → kernel): a TCP segment's checksum field holds only the sum of its
//!   pseudo-header ([`fill_partial_checksum`], what Linux leaves for a NIC that sums the
//!   rest); the header says `NEEDS_CSUM` from the TCP header on, and for a segment longer
//!   than the MSS smoltcp asked for (`PacketMeta::segmentation_offload_size`) it says
//!   `GSO_TCPV4`/`GSO_TCPV6` with that size, so the kernel treats it as the train of
//!   MSS-sized segments it stands for ([`VnetHeader::for_frame`]).
//! - **In** (kernel → taplab): the kernel may leave a checksum partial (`NEEDS_CSUM`)
//!   and may hand over a large (GSO) TCP segment of up to 64 KiB. The checksum is
//!   completed here ([`complete_checksum`]) so every layer above (knobs, guard, smoltcp,
//!   captures) sees an ordinary, valid frame; a large segment is passed up as one segment,
//!   as Linux's GRO would, which smoltcp takes like any other.

use crate::device::frame::tcp_span;
use smoltcp::wire::{IpAddress, IpProtocol, TcpPacket, checksum};

/// Bytes of the header (`struct virtio_net_hdr` without `num_buffers`).
pub const LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: sum from `csum_start` to the end, store the result at
/// `csum_start + csum_offset`.
const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_*`.
const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
/// Where the checksum lies in a TCP header.
const TCP_CHECKSUM_AT: u16 = 16;

/// One `struct virtio_net_hdr`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VnetHeader {
    pub flags: u8,
    pub gso_type: u8,
    /// Bytes of headers (Ethernet, IP, TCP) before the payload of a GSO frame.
    pub hdr_len: u16,
    /// The segment size a GSO frame is cut into.
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

impl VnetHeader {
    /// The header at the start of `bytes`; None if they are too few.
    pub fn parse(bytes: &[u8]) -> Option<VnetHeader> {
        let b = bytes.get(..LEN)?;
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Some(VnetHeader {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        })
    }

    /// The header's bytes.
    pub fn bytes(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }

    /// True if the kernel left the checksum for us to complete.
    pub fn needs_checksum(&self) -> bool {
        self.flags & F_NEEDS_CSUM != 0
    }

    /// The header for a frame we send whose TCP checksum (if it carries TCP) holds the
    /// pseudo-header sum. `segment_size`: the MSS smoltcp asked the device to cut the
    /// segment into, if it did; a segment whose payload is no longer goes as it is.
    pub fn for_frame(frame: &[u8], segment_size: Option<u16>) -> VnetHeader {
        let Some(span) = tcp_span(frame) else {
            // ARP, ICMP: complete as smoltcp made them.
            return VnetHeader::default();
        };
        let Ok(start) = u16::try_from(span.range.start) else {
            return VnetHeader::default();
        };
        let mut h = VnetHeader {
            flags: F_NEEDS_CSUM,
            csum_start: start,
            csum_offset: TCP_CHECKSUM_AT,
            ..VnetHeader::default()
        };
        let Ok(tcp) = TcpPacket::new_checked(&frame[span.range.clone()]) else {
            return h;
        };
        let headers = span.range.start + usize::from(tcp.header_len());
        let payload = span.range.end - headers;
        if let Some(mss) = segment_size.filter(|&m| m > 0 && payload > usize::from(m)) {
            h.gso_type = match span.src {
                IpAddress::Ipv4(_) => GSO_TCPV4,
                IpAddress::Ipv6(_) => GSO_TCPV6,
            };
            h.gso_size = mss;
            // At most 14 + 60 + 60 bytes: fits.
            h.hdr_len = headers as u16;
        } else {
            h.gso_type = GSO_NONE;
        }
        h
    }
}

/// Puts the sum of a TCP segment's pseudo-header (addresses, protocol, length) in its
/// checksum field, not complemented: the partial checksum a device that sums the rest
/// expects (Linux's CHECKSUM_PARTIAL). False if the frame carries no TCP.
pub fn fill_partial_checksum(frame: &mut [u8]) -> bool {
    let Some(span) = tcp_span(frame) else {
        return false;
    };
    let len = span.range.len();
    let Ok(mut tcp) = TcpPacket::new_checked(&mut frame[span.range]) else {
        return false;
    };
    let sum = checksum::pseudo_header(&span.src, &span.dst, IpProtocol::Tcp, len as u32);
    tcp.set_checksum(sum);
    true
}

/// Completes a checksum the kernel left partial: the one's-complement sum of the bytes
/// from `start` to the end of the IP packet (the field at `start + offset` holds the
/// pseudo-header sum), complemented, stored at `start + offset`. False (frame untouched)
/// if the places lie outside the packet.
pub fn complete_checksum(frame: &mut [u8], start: u16, offset: u16) -> bool {
    let (start, at) = (usize::from(start), usize::from(start) + usize::from(offset));
    // The end of the IP packet: an Ethernet frame may carry padding after it.
    let end = tcp_span(frame).map_or(frame.len(), |s| s.range.end);
    if at + 2 > end || start >= end {
        return false;
    }
    let sum = !checksum::data(&frame[start..end]);
    frame[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{CLIENT_IP, SERVER_IP, frame, segment};
    use smoltcp::wire::TcpControl;

    fn data_segment(payload: &'static [u8]) -> Vec<u8> {
        let mut s = segment(80, 40000, TcpControl::Psh, 1, Some(1));
        s.payload = payload;
        frame(true, &s)
    }

    fn checksum_holds(f: &[u8]) -> bool {
        let span = tcp_span(f).unwrap();
        TcpPacket::new_checked(&f[span.range])
            .unwrap()
            .verify_checksum(&SERVER_IP.into(), &CLIENT_IP.into())
    }

    #[test]
    fn a_partial_checksum_completed_as_the_kernel_would_is_the_full_one() {
        for payload in [&b""[..], b"x", b"hello, world", &[0xff; 1001]] {
            let mut f = data_segment(payload);
            assert!(checksum_holds(&f));
            assert!(fill_partial_checksum(&mut f));
            let h = VnetHeader::for_frame(&f, None);
            assert!(h.needs_checksum());
            assert_eq!((h.csum_start, h.csum_offset), (34, 16));
            assert!(complete_checksum(&mut f, h.csum_start, h.csum_offset));
            assert!(checksum_holds(&f), "payload of {} bytes", payload.len());
        }
    }

    #[test]
    fn a_segment_longer_than_its_mss_goes_as_gso() {
        let mut f = data_segment(&[7; 3000]);
        fill_partial_checksum(&mut f);
        let h = VnetHeader::for_frame(&f, Some(1460));
        assert_eq!((h.gso_type, h.gso_size, h.hdr_len), (GSO_TCPV4, 1460, 54));
        // No longer than the MSS, or no size asked for: one plain segment.
        assert_eq!(VnetHeader::for_frame(&f, Some(3000)).gso_type, GSO_NONE);
        assert_eq!(VnetHeader::for_frame(&f, None).gso_type, GSO_NONE);
        // Not TCP (ARP here): nothing to do.
        let arp = [0u8; 42];
        assert_eq!(
            VnetHeader::for_frame(&arp, Some(1460)),
            VnetHeader::default()
        );
    }

    #[test]
    fn the_header_reads_back_and_bad_places_are_refused() {
        let h = VnetHeader {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV6,
            hdr_len: 74,
            gso_size: 1440,
            csum_start: 54,
            csum_offset: 16,
        };
        assert_eq!(VnetHeader::parse(&h.bytes()), Some(h));
        assert_eq!(VnetHeader::parse(&[0; 9]), None);
        let mut f = data_segment(b"abc");
        let before = f.clone();
        assert!(!complete_checksum(&mut f, 60_000, 16));
        assert!(!complete_checksum(&mut f, 34, 60_000));
        assert_eq!(f, before);
    }
}
