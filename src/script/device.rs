//! The in-memory wire under the scripted run: a smoltcp [`Device`] with two queues
//! instead of a tap.
//!
//! Frames enter from the runner ([`Wire::inject`], the peer's segments) and leave into
//! [`Wire::take`] with the instant our stack sent them. Address resolution — ARP for
//! IPv4, neighbor discovery (NDP, RFC 4861) for IPv6 — is done here so that scripts never
//! mention it, and its frames in either direction are never shown to the runner:
//! - before the peer's first IPv4 frame, the peer asks for our MAC (who-has
//!   192.168.69.1), as the kernel does on tap0 before its first SYN; before its first
//!   IPv6 frame it sends a neighbor solicitation for fdaa::1 with its own MAC in it, as
//!   the kernel does too. smoltcp answers and learns the peer's MAC from the question —
//!   which is why, on a tap, a SYN to a closed port gets its RST at once: smoltcp sends
//!   that stateless reply only if it already knows where to send it;
//! - an ARP request or a neighbor solicitation from our stack for the peer's address is
//!   answered at once with the peer's MAC (the reply is queued for the stack like any
//!   received frame).
//!
//! Nothing is pre-filled: the stack learns the peer's MAC as on a tap. Other frames our
//! stack sends that are not TCP (MLD reports) are kept; the runner skips them.
//!
//! The queues live behind an `Rc<RefCell<..>>` shared by the device and the runner,
//! because the device itself ends up at the bottom of the middleware chain (capture,
//! knobs layer), where the runner cannot reach it.

use super::wire::{OUR_IP, OUR_IP6, PEER_IP, PEER_IP6, PEER_MAC};
use smoltcp::phy::{ChecksumCapabilities, Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Address, Ipv6Address, Ipv6Packet,
    Ipv6Repr, NdiscNeighborFlags, NdiscRepr,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Both directions of the wire.
#[derive(Debug, Default)]
pub struct Wire {
    /// Frames waiting for the stack to receive them.
    rx: VecDeque<Vec<u8>>,
    /// Frames the stack sent (ARP removed), with when it sent them.
    tx: VecDeque<(Instant, Vec<u8>)>,
    /// ARP requests answered, for the tests.
    pub arp_replies: usize,
    /// Neighbor solicitations answered, for the tests.
    pub ndp_replies: usize,
    /// The peer has asked for our MAC over IPv4 (ARP) and over IPv6 (NDP).
    asked: bool,
    asked6: bool,
}

impl Wire {
    /// Queues a frame from the peer (after the peer's ARP request or neighbor
    /// solicitation, the first time it sends over IPv4 or IPv6).
    pub fn inject(&mut self, frame: Vec<u8>) {
        let ethertype = EthernetFrame::new_checked(&frame[..]).map(|e| e.ethertype());
        if ethertype == Ok(EthernetProtocol::Ipv6) {
            if !self.asked6 {
                self.asked6 = true;
                self.rx.push_back(solicit_our_mac());
            }
        } else if !self.asked {
            self.asked = true;
            self.rx.push_back(arp_frame(
                ArpOperation::Request,
                EthernetAddress::BROADCAST,
                EthernetAddress([0; 6]),
                OUR_IP,
            ));
        }
        self.rx.push_back(frame);
    }

    /// Skips the peer's ARP request before its first frame (tests of the other path).
    #[cfg(test)]
    pub fn assume_peer_asked(&mut self) {
        self.asked = true;
        self.asked6 = true;
    }

    /// True while the stack has frames to receive.
    pub fn has_rx(&self) -> bool {
        !self.rx.is_empty()
    }

    /// The oldest frame the stack sent that nobody has taken yet.
    pub fn take(&mut self) -> Option<(Instant, Vec<u8>)> {
        self.tx.pop_front()
    }

    /// True if the stack sent something not yet taken.
    pub fn has_tx(&self) -> bool {
        !self.tx.is_empty()
    }

    /// A frame the stack sends: ARP and neighbor discovery are answered or dropped, the
    /// rest kept.
    fn sent(&mut self, now: Instant, frame: Vec<u8>) {
        if let Ok(eth) = EthernetFrame::new_checked(&frame[..]) {
            if eth.ethertype() == EthernetProtocol::Arp {
                if let Some(reply) = arp_reply(&eth) {
                    self.arp_replies += 1;
                    self.rx.push_back(reply);
                }
                return;
            }
            match ndisc(&eth) {
                NdpFrame::Unrelated => {}
                NdpFrame::Other => return,
                NdpFrame::SolicitsPeer { eth_src, ip_src } => {
                    self.ndp_replies += 1;
                    self.rx.push_back(advertise_peer(eth_src, ip_src));
                    return;
                }
            }
        }
        self.tx.push_back((now, frame));
    }
}

/// What a frame from our stack is, as far as neighbor discovery goes.
enum NdpFrame {
    Unrelated,
    /// A solicitation for the peer's address: answer it to these addresses.
    SolicitsPeer {
        eth_src: EthernetAddress,
        ip_src: Ipv6Address,
    },
    /// Any other neighbor discovery message (our advertisement, a solicitation for
    /// someone else, a router solicitation): dropped.
    Other,
}

fn ndisc(eth: &EthernetFrame<&[u8]>) -> NdpFrame {
    if eth.ethertype() != EthernetProtocol::Ipv6 {
        return NdpFrame::Unrelated;
    }
    let Ok(ip) = Ipv6Packet::new_checked(eth.payload()) else {
        return NdpFrame::Unrelated;
    };
    if ip.next_header() != IpProtocol::Icmpv6 {
        return NdpFrame::Unrelated;
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let Ok(icmp) = Icmpv6Packet::new_checked(ip.payload()) else {
        return NdpFrame::Unrelated;
    };
    match Icmpv6Repr::parse(&src, &dst, &icmp, &ChecksumCapabilities::default()) {
        Ok(Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target_addr, .. }))
            if target_addr == PEER_IP6 =>
        {
            NdpFrame::SolicitsPeer {
                eth_src: eth.src_addr(),
                ip_src: src,
            }
        }
        Ok(Icmpv6Repr::Ndisc(_)) => NdpFrame::Other,
        _ => NdpFrame::Unrelated,
    }
}

/// The peer's neighbor solicitation for our address, sent to its solicited-node
/// multicast group (RFC 4291 §2.7.1) with the peer's MAC as source link-layer address.
fn solicit_our_mac() -> Vec<u8> {
    let o = OUR_IP6.octets();
    let group = Ipv6Address::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    );
    let g = group.octets();
    let eth_dst = EthernetAddress([0x33, 0x33, g[12], g[13], g[14], g[15]]);
    let ns = NdiscRepr::NeighborSolicit {
        target_addr: OUR_IP6,
        lladdr: Some(PEER_MAC.into()),
    };
    ndisc_frame(eth_dst, group, ns)
}

/// The peer's answer to a solicitation for its address.
fn advertise_peer(eth_dst: EthernetAddress, ip_dst: Ipv6Address) -> Vec<u8> {
    let na = NdiscRepr::NeighborAdvert {
        flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
        target_addr: PEER_IP6,
        lladdr: Some(PEER_MAC.into()),
    };
    ndisc_frame(eth_dst, ip_dst, na)
}

/// A neighbor discovery frame from the peer (hop limit 255, as RFC 4861 §7.1 demands).
fn ndisc_frame(eth_dst: EthernetAddress, ip_dst: Ipv6Address, repr: NdiscRepr) -> Vec<u8> {
    let icmp = Icmpv6Repr::Ndisc(repr);
    let ip = Ipv6Repr {
        src_addr: PEER_IP6,
        dst_addr: ip_dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp.buffer_len(),
        hop_limit: 255,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: eth_dst,
        ethertype: EthernetProtocol::Ipv6,
    };
    let mut buf = vec![0u8; eth.buffer_len() + ip.buffer_len() + icmp.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    let mut packet = Ipv6Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet);
    icmp.emit(
        &PEER_IP6,
        &ip_dst,
        &mut Icmpv6Packet::new_unchecked(packet.payload_mut()),
        &ChecksumCapabilities::default(),
    );
    buf
}

/// The peer's answer to an ARP request for its address, as a frame.
fn arp_reply(eth: &EthernetFrame<&[u8]>) -> Option<Vec<u8>> {
    let packet = ArpPacket::new_checked(eth.payload()).ok()?;
    let ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr,
        source_protocol_addr,
        target_protocol_addr,
        ..
    } = ArpRepr::parse(&packet).ok()?
    else {
        return None;
    };
    if target_protocol_addr != PEER_IP {
        return None;
    }
    Some(arp_frame(
        ArpOperation::Reply,
        source_hardware_addr,
        source_hardware_addr,
        source_protocol_addr,
    ))
}

/// An ARP frame from the peer: to `eth_dst`, about `target_hw`/`target_ip`.
fn arp_frame(
    operation: ArpOperation,
    eth_dst: EthernetAddress,
    target_hw: EthernetAddress,
    target_ip: Ipv4Address,
) -> Vec<u8> {
    let arp = ArpRepr::EthernetIpv4 {
        operation,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER_IP,
        target_hardware_addr: target_hw,
        target_protocol_addr: target_ip,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: eth_dst,
        ethertype: EthernetProtocol::Arp,
    };
    let mut buf = vec![0u8; eth.buffer_len() + arp.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    buf
}

/// The device: an Ethernet link of the given IP MTU over a shared [`Wire`].
pub struct ScriptDevice {
    wire: Rc<RefCell<Wire>>,
    mtu: usize,
}

impl ScriptDevice {
    pub fn new(wire: Rc<RefCell<Wire>>, mtu: usize) -> Self {
        ScriptDevice { wire, mtu }
    }
}

impl Device for ScriptDevice {
    type RxToken<'a> = ScriptRxToken;
    type TxToken<'a> = ScriptTxToken<'a>;

    fn receive(&mut self, now: Instant) -> Option<(ScriptRxToken, ScriptTxToken<'_>)> {
        let frame = self.wire.borrow_mut().rx.pop_front()?;
        Some((
            ScriptRxToken { frame },
            ScriptTxToken {
                wire: &self.wire,
                now,
            },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<ScriptTxToken<'_>> {
        Some(ScriptTxToken {
            wire: &self.wire,
            now,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + 14;
        caps
    }
}

pub struct ScriptRxToken {
    frame: Vec<u8>,
}

impl RxToken for ScriptRxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame)
    }
}

pub struct ScriptTxToken<'a> {
    wire: &'a Rc<RefCell<Wire>>,
    now: Instant,
}

impl TxToken for ScriptTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.wire.borrow_mut().sent(self.now, buf);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_from_stack(target: Ipv4Address) -> Vec<u8> {
        let arp = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: crate::serve::MAC,
            source_protocol_addr: OUR_IP,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        let eth = EthernetRepr {
            src_addr: crate::serve::MAC,
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EthernetProtocol::Arp,
        };
        let mut buf = vec![0u8; eth.buffer_len() + arp.buffer_len()];
        let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.emit(&mut frame);
        arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
        buf
    }

    fn parse_arp(frame: &[u8]) -> ArpRepr {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap()
    }

    #[test]
    fn the_peer_answers_arp_for_its_address_only_and_hides_it() {
        let mut wire = Wire::default();
        wire.sent(Instant::ZERO, request_from_stack(PEER_IP));
        assert!(!wire.has_tx(), "ARP is never shown to the script");
        let reply = wire.rx.pop_front().unwrap();
        assert_eq!(
            parse_arp(&reply),
            ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Reply,
                source_hardware_addr: PEER_MAC,
                source_protocol_addr: PEER_IP,
                target_hardware_addr: crate::serve::MAC,
                target_protocol_addr: OUR_IP,
            }
        );
        wire.sent(
            Instant::ZERO,
            request_from_stack(Ipv4Address::new(192, 168, 69, 7)),
        );
        assert!(!wire.has_rx() && !wire.has_tx());
        assert_eq!(wire.arp_replies, 1);
        // Anything else is kept, with its time.
        wire.sent(Instant::from_millis(5), vec![1, 2, 3]);
        assert_eq!(wire.take(), Some((Instant::from_millis(5), vec![1, 2, 3])));
    }

    /// A neighbor discovery frame from our stack (the peer's builder, addresses swapped).
    fn ndisc_from_stack(eth_dst: EthernetAddress, ip_dst: Ipv6Address, repr: NdiscRepr) -> Vec<u8> {
        let mut frame = ndisc_frame(eth_dst, ip_dst, repr);
        let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
        eth.set_src_addr(crate::serve::MAC);
        let mut ip = Ipv6Packet::new_unchecked(eth.payload_mut());
        ip.set_src_addr(OUR_IP6);
        let icmp_repr = Icmpv6Repr::Ndisc(repr);
        icmp_repr.emit(
            &OUR_IP6,
            &ip_dst,
            &mut Icmpv6Packet::new_unchecked(ip.payload_mut()),
            &ChecksumCapabilities::default(),
        );
        frame
    }

    fn parse_ndisc(frame: &[u8]) -> (Ipv6Address, Ipv6Address, NdiscRepr<'_>) {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        assert_eq!(eth.src_addr(), PEER_MAC);
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        assert_eq!(ip.hop_limit(), 255);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let payload = &frame[14 + 40..];
        let icmp = Icmpv6Packet::new_checked(payload).unwrap();
        match Icmpv6Repr::parse(&src, &dst, &icmp, &ChecksumCapabilities::default()).unwrap() {
            Icmpv6Repr::Ndisc(r) => (src, dst, r),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn over_ipv6_the_peer_solicits_our_mac_and_answers_for_its_own() {
        let mut wire = Wire::default();
        let mut v6 = vec![0u8; 60];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        wire.inject(v6.clone());
        wire.inject(v6.clone());
        // First the solicitation, to fdaa::1's solicited-node group, with the peer's MAC.
        let ns = wire.rx.pop_front().unwrap();
        assert_eq!(&ns[..6], &[0x33, 0x33, 0xff, 0, 0, 1]);
        let (src, dst, repr) = parse_ndisc(&ns);
        assert_eq!(
            (src.to_string(), dst.to_string()),
            ("fdaa::100".into(), "ff02::1:ff00:1".into())
        );
        assert_eq!(
            repr,
            NdiscRepr::NeighborSolicit {
                target_addr: OUR_IP6,
                lladdr: Some(PEER_MAC.into())
            }
        );
        assert_eq!(wire.rx.pop_front(), Some(v6.clone()));
        assert_eq!(wire.rx.pop_front(), Some(v6));
        assert!(!wire.has_rx());

        // Our stack asks for the peer's MAC: answered, and hidden from the script.
        let group = Ipv6Address::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 0x0100);
        let ask = NdiscRepr::NeighborSolicit {
            target_addr: PEER_IP6,
            lladdr: Some(crate::serve::MAC.into()),
        };
        let to_group = EthernetAddress([0x33, 0x33, 0xff, 0, 1, 0]);
        wire.sent(Instant::ZERO, ndisc_from_stack(to_group, group, ask));
        assert!(!wire.has_tx());
        assert_eq!(wire.ndp_replies, 1);
        let na = wire.rx.pop_front().unwrap();
        assert_eq!(&na[..6], &crate::serve::MAC.0);
        let (src, dst, repr) = parse_ndisc(&na);
        assert_eq!((src, dst), (PEER_IP6, OUR_IP6));
        assert_eq!(
            repr,
            NdiscRepr::NeighborAdvert {
                flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
                target_addr: PEER_IP6,
                lladdr: Some(PEER_MAC.into())
            }
        );
        // A solicitation for another address, and our own advertisement: dropped.
        let other = NdiscRepr::NeighborSolicit {
            target_addr: Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 7),
            lladdr: None,
        };
        wire.sent(Instant::ZERO, ndisc_from_stack(to_group, group, other));
        let ours = NdiscRepr::NeighborAdvert {
            flags: NdiscNeighborFlags::SOLICITED,
            target_addr: OUR_IP6,
            lladdr: Some(crate::serve::MAC.into()),
        };
        wire.sent(Instant::ZERO, ndisc_from_stack(PEER_MAC, PEER_IP6, ours));
        assert!(!wire.has_rx() && !wire.has_tx());
        assert_eq!(wire.ndp_replies, 1);
    }

    #[test]
    fn the_peer_asks_for_our_mac_before_its_first_frame_only() {
        let mut wire = Wire::default();
        wire.inject(vec![9; 60]);
        wire.inject(vec![8; 60]);
        let ask = wire.rx.pop_front().unwrap();
        match parse_arp(&ask) {
            ArpRepr::EthernetIpv4 {
                operation,
                source_hardware_addr,
                target_protocol_addr,
                ..
            } => {
                assert_eq!(operation, ArpOperation::Request);
                assert_eq!(source_hardware_addr, PEER_MAC);
                assert_eq!(target_protocol_addr, OUR_IP);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(wire.rx.pop_front(), Some(vec![9; 60]));
        assert_eq!(wire.rx.pop_front(), Some(vec![8; 60]));
        assert!(!wire.has_rx());
    }
}
