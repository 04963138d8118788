//! Helpers shared by the unit tests: Ethernet/IPv4 frames carrying a TCP segment between
//! the server (192.168.69.1, 02:00:00:00:00:01) and the client (192.168.69.100,
//! 02:00:00:00:00:02), with valid checksums, built through `smoltcp::wire`.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Address,
    Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

pub const SERVER_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);
pub const CLIENT_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);
pub const SERVER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
pub const CLIENT_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

/// A segment with no options and a 1000-byte window; adjust with `TcpRepr { .., ..r }`.
pub fn segment(
    src_port: u16,
    dst_port: u16,
    control: TcpControl,
    seq: u32,
    ack: Option<u32>,
) -> TcpRepr<'static> {
    TcpRepr {
        src_port,
        dst_port,
        control,
        seq_number: TcpSeqNumber(seq as i32),
        ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
        window_len: 1000,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    }
}

/// The Ethernet frame carrying `tcp` from the server (`from_server`) or from the client.
pub fn frame(from_server: bool, tcp: &TcpRepr) -> Vec<u8> {
    let (src, dst, src_mac, dst_mac) = if from_server {
        (SERVER_IP, CLIENT_IP, SERVER_MAC, CLIENT_MAC)
    } else {
        (CLIENT_IP, SERVER_IP, CLIENT_MAC, SERVER_MAC)
    };
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut buf = vec![0; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut f);
    let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut p, &ChecksumCapabilities::default());
    let mut t = TcpPacket::new_unchecked(p.payload_mut());
    let caps = ChecksumCapabilities::default();
    tcp.emit(&mut t, &src.into(), &dst.into(), &caps);
    buf
}
