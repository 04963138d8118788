//! The in-memory wire under the scripted run: a smoltcp [`Device`] with two queues
//! instead of a tap.
//!
//! Frames enter from the runner ([`Wire::inject`], the peer's segments) and leave into
//! [`Wire::take`] with the instant our stack sent them. ARP is resolved here so that
//! scripts never mention it, and ARP frames in either direction are never shown to the
//! runner:
//! - before the peer's first IPv4 frame, the peer asks for our MAC (who-has
//!   192.168.69.1), as the kernel does on tap0 before its first SYN. smoltcp answers and
//!   learns the peer's MAC from the request — which is why, on a tap, a SYN to a closed
//!   port gets its RST at once: smoltcp sends that stateless reply only if it already
//!   knows where to send it;
//! - an ARP request from our stack for the peer's address is answered at once with the
//!   peer's MAC (the reply is queued for the stack like any received frame).
//!
//! Nothing is pre-filled: the stack learns the peer's MAC through ARP, as on a tap.
//!
//! The queues live behind an `Rc<RefCell<..>>` shared by the device and the runner,
//! because the device itself ends up at the bottom of the middleware chain (capture,
//! knobs layer), where the runner cannot reach it.

use super::wire::{OUR_IP, PEER_IP, PEER_MAC};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Ipv4Address,
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
    /// The peer has asked for our MAC.
    asked: bool,
}

impl Wire {
    /// Queues a frame from the peer (after the peer's ARP request, the first time).
    pub fn inject(&mut self, frame: Vec<u8>) {
        if !self.asked {
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

    /// A frame the stack sends: ARP is answered or dropped, the rest kept.
    fn sent(&mut self, now: Instant, frame: Vec<u8>) {
        if let Ok(eth) = EthernetFrame::new_checked(&frame[..])
            && eth.ethertype() == EthernetProtocol::Arp
        {
            if let Some(reply) = arp_reply(&eth) {
                self.arp_replies += 1;
                self.rx.push_back(reply);
            }
            return;
        }
        self.tx.push_back((now, frame));
    }
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
