//! The devices the stack hands smoltcp: one received frame at a time, and a transmit
//! path that notes what leaves.
//!
//! smoltcp takes frames from a `Device` and looks for the socket that accepts each among
//! all the sockets it is given — linear in their number. The stack therefore reads each
//! frame itself, decides which one socket it concerns, and gives smoltcp a
//! [`OneFrame`] device holding just that frame, with a socket set holding just that
//! socket (see the module doc of [`super`]). The reply smoltcp makes to the frame leaves
//! through the real device's transmit token, which comes with the frame.
//!
//! Everything our stack transmits, in reply or later, passes a [`Noted`] token that
//! records the TCP header fields the edge guard needs ([`TxRecord`]), in smoltcp's
//! sequence space (the knobs layer below rewrites for the wire afterwards). When the
//! device completes TCP checksums (`serve --offload`), the token also leaves in each
//! segment's checksum field the pseudo-header sum the device expects, as Linux does for
//! a NIC with checksum offload, so the capture below shows what tcpdump on the tap shows.

use crate::device::frame::tcp_span;
use crate::tcp::{TcpFlags, TcpOption, options};
use smoltcp::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{IpEndpoint, TcpPacket};

/// The TCP fields of a segment our stack sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    pub local: IpEndpoint,
    pub remote: IpEndpoint,
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// Payload bytes.
    pub len: u32,
    /// The window-scale option (our SYN-ACK), if present.
    pub wscale: Option<u8>,
    /// The whole frame, kept for a SYN-ACK only (the guard may send it again).
    pub syn_frame: Option<Box<[u8]>>,
}

impl TxRecord {
    /// The record of a frame if it carries TCP.
    pub fn of(frame: &[u8]) -> Option<TxRecord> {
        let span = tcp_span(frame)?;
        let tcp = TcpPacket::new_checked(&frame[span.range.clone()]).ok()?;
        let flags = TcpFlags::of(&tcp);
        let wscale = if flags.contains(TcpFlags::SYN) {
            options(tcp.options()).find_map(|o| match o.option {
                TcpOption::WindowScale(s) => Some(s),
                _ => None,
            })
        } else {
            None
        };
        Some(TxRecord {
            local: IpEndpoint::new(span.src, tcp.src_port()),
            remote: IpEndpoint::new(span.dst, tcp.dst_port()),
            flags,
            seq: tcp.seq_number().0 as u32,
            ack: tcp.ack_number().0 as u32,
            window: tcp.window_len(),
            len: (span.range.len() - tcp.header_len() as usize) as u32,
            wscale,
            syn_frame: (flags.contains(TcpFlags::SYN | TcpFlags::ACK))
                .then(|| frame.to_vec().into_boxed_slice()),
        })
    }
}

/// What our stack sent during one call.
#[derive(Debug, Default)]
pub struct TxLog {
    pub records: Vec<TxRecord>,
    /// An ARP request or an IPv6 neighbor solicitation left: a socket waits for an
    /// answer before it can send.
    pub solicited: bool,
    /// The device completes TCP checksums: segments leave with the pseudo-header sum.
    partial_checksums: bool,
}

impl TxLog {
    /// `partial_checksums`: the device computes TCP checksums (smoltcp leaves them 0).
    pub fn new(partial_checksums: bool) -> TxLog {
        TxLog {
            partial_checksums,
            ..TxLog::default()
        }
    }

    /// A frame smoltcp wrote: finished for the device and noted.
    fn sent(&mut self, frame: &mut [u8]) {
        if self.partial_checksums {
            crate::device::vnet::fill_partial_checksum(frame);
        }
        self.note(frame);
    }

    fn note(&mut self, frame: &[u8]) {
        if let Some(rec) = TxRecord::of(frame) {
            self.records.push(rec);
        } else if is_solicitation(frame) {
            self.solicited = true;
        }
    }
}

/// An ARP request, or an ICMPv6 neighbor solicitation (type 135).
fn is_solicitation(frame: &[u8]) -> bool {
    match frame.get(12..14) {
        Some([0x08, 0x06]) => frame.get(20..22) == Some(&[0, 1]),
        Some([0x86, 0xdd]) => frame.get(20) == Some(&58) && frame.get(54) == Some(&135),
        _ => false,
    }
}

/// A transmit token that records what it sent.
pub struct Noted<'l, T> {
    pub inner: T,
    pub log: &'l mut TxLog,
}

impl<T: TxToken> TxToken for Noted<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let log = self.log;
        self.inner.consume(len, |buf| {
            let r = f(buf);
            log.sent(buf);
            r
        })
    }

    fn set_meta(&mut self, meta: smoltcp::phy::PacketMeta) {
        self.inner.set_meta(meta)
    }
}

/// One received frame (already read from the real device), and the transmit token that
/// came with it, as a device smoltcp can poll once.
pub struct OneFrame<'f, 'l, T> {
    pub frame: Option<&'f [u8]>,
    pub tx: Option<T>,
    pub log: &'l mut TxLog,
    pub caps: DeviceCapabilities,
}

pub struct FrameRx<'f>(&'f [u8]);

impl RxToken for FrameRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl<T: TxToken> Device for OneFrame<'_, '_, T> {
    type RxToken<'a>
        = FrameRx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = Noted<'a, T>
    where
        Self: 'a;

    fn receive(&mut self, _: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = self.frame.take()?;
        let inner = self.tx.take()?;
        Some((
            FrameRx(frame),
            Noted {
                inner,
                log: self.log,
            },
        ))
    }

    fn transmit(&mut self, _: Instant) -> Option<Self::TxToken<'_>> {
        // Only the reply to the frame, through its own token.
        let inner = self.tx.take()?;
        Some(Noted {
            inner,
            log: self.log,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.caps.clone()
    }
}

/// The real device for egress: nothing to receive, every transmission noted.
pub struct Transmit<'d, 'l, D> {
    pub inner: &'d mut D,
    pub log: &'l mut TxLog,
}

impl<D: Device> Device for Transmit<'_, '_, D> {
    type RxToken<'a>
        = FrameRx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = Noted<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, _: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        None
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        let inner = self.inner.transmit(now)?;
        Some(Noted {
            inner,
            log: self.log,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

/// A transmit token whose frame goes nowhere: for segments the stack hands smoltcp that
/// call for no answer (the duplicate ACKs of a stall repair).
pub struct Discard;

impl TxToken for Discard {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        f(&mut vec![0; len])
    }
}
