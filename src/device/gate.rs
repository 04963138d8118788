//! A middleware that holds back connection attempts while the listening pool is empty.
//!
//! smoltcp answers a SYN that no socket listens for with RST. For a port that *is*
//! served but whose pool of listening sockets is momentarily all in use, that would tell
//! the browser "connection refused". A kernel server does something else when its accept
//! backlog is full: it drops the SYN, and the client retransmits it a second later, by
//! which time a socket has usually come free. [`SynGate`] does the same: while `admit` is
//! false, a SYN (without ACK) to `port` is swallowed before smoltcp sees it. Everything else
//! passes untouched, so a SYN to a port nobody serves still gets smoltcp's RST.

use super::frame::tcp_span;
use smoltcp::phy::{Device, DeviceCapabilities, RxToken};
use smoltcp::time::Instant;
use smoltcp::wire::TcpPacket;
use std::cell::Cell;

/// Wraps a device for one poll; the stack builds it with the pool's current state.
pub struct SynGate<'d, D: Device> {
    pub inner: &'d mut D,
    pub port: u16,
    pub admit: bool,
    /// SYNs held back during this poll (the stack frees a socket when there were some).
    pub refused: Cell<u32>,
}

impl<D: Device> Device for SynGate<'_, D> {
    type RxToken<'a>
        = GateRxToken<'a, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let hold_syn_to = (!self.admit).then_some(self.port);
        let refused = &self.refused;
        let (rx, tx) = self.inner.receive(now)?;
        Some((
            GateRxToken {
                inner: rx,
                hold_syn_to,
                refused,
            },
            tx,
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        self.inner.transmit(now)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

pub struct GateRxToken<'a, T> {
    inner: T,
    hold_syn_to: Option<u16>,
    refused: &'a Cell<u32>,
}

impl<T: RxToken> RxToken for GateRxToken<'_, T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let (hold, refused) = (self.hold_syn_to, self.refused);
        self.inner.consume(|frame| match hold {
            Some(port) if is_syn_to(frame, port) => {
                refused.set(refused.get() + 1);
                log::warn!(
                    "all listening sockets busy (--max-conns): dropped a SYN to port {port}; \
                     the client will retransmit it"
                );
                // smoltcp counts an empty frame as processed and ignores it.
                f(&[])
            }
            _ => f(frame),
        })
    }
}

/// True if `frame` is an Ethernet frame carrying a TCP SYN without ACK to `port`.
pub fn is_syn_to(frame: &[u8], port: u16) -> bool {
    tcp_span(frame)
        .and_then(|s| TcpPacket::new_checked(&frame[s.range]).ok())
        .is_some_and(|t| t.syn() && !t.ack() && t.dst_port() == port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{frame as build, segment};
    use smoltcp::wire::TcpControl;

    fn frame(control: TcpControl, ack: bool, dst_port: u16) -> Vec<u8> {
        build(
            false,
            &segment(40000, dst_port, control, 1, ack.then_some(1)),
        )
    }

    #[test]
    fn recognises_only_a_bare_syn_to_the_port() {
        assert!(is_syn_to(&frame(TcpControl::Syn, false, 80), 80));
        assert!(!is_syn_to(&frame(TcpControl::Syn, true, 80), 80));
        assert!(!is_syn_to(&frame(TcpControl::Syn, false, 81), 80));
        assert!(!is_syn_to(&frame(TcpControl::None, true, 80), 80));
        assert!(!is_syn_to(&[0u8; 3], 80));
        let mut cut = frame(TcpControl::Syn, false, 80);
        cut.truncate(30);
        assert!(!is_syn_to(&cut, 80));
    }
}
