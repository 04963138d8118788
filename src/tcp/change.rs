//! One end of one TCP connection changing state: the one type for a state change, whether
//! a socket reported it or the trace inferred it from segments.
//!
//! Real changes enter from the stack (`server::Server` reports its sockets', the lab
//! client its own): they name the end's local and remote endpoints and, in the lab, the
//! captured frame whose arrival caused them. Inferred changes enter from
//! `trace::StateTracker`, which reads them off the segments at a capture point: they add
//! the stream (tshark's `tcp.stream`) and the [`Cause`]. Both leave the same way: the live
//! trace, the lab's timelines, `taplab trace --states`, the ladder pictures and `/tcpinfo`
//! print them.

use super::{Side, TcpState};
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;
use std::fmt;

/// One end of a connection going from one state to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    /// When: the capture time of the frame that caused it, or when the stack noticed.
    pub time: Instant,
    /// Which end changed: the one that opened the connection, or the one that accepted it.
    pub side: Side,
    /// The end that changed state, and its peer.
    pub local: IpEndpoint,
    pub remote: IpEndpoint,
    pub from: TcpState,
    pub to: TcpState,
    /// The captured frame (numbered from 1) whose segment caused it; None when the end's
    /// own application or a timer did (or nobody counted frames).
    pub frame: Option<u64>,
    /// Set when the change was inferred from segments rather than reported by the socket.
    pub inferred: Option<Inferred>,
}

/// What an inferred change rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inferred {
    /// The stream (tshark's `tcp.stream`) the segment belongs to.
    pub stream: usize,
    pub cause: Cause,
}

/// The segment that moved an end, from that end's point of view ("its" FIN: one it sent;
/// the "peer's" FIN: one it received).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    ItsSyn,
    SynSeen,
    SynAckSeen,
    AckOfItsSynAck,
    ItsFin,
    /// Its FIN was sent before the peer's FIN arrived: the FINs crossed.
    ItsFinCrossedPeers,
    AckOfItsFin,
    PeersFin,
    /// The peer's FIN arrived before the ACK of its own (simultaneous close).
    PeersFinBeforeAckOfItsOwn,
    ItsRst,
    PeersRst,
}

impl Cause {
    /// The words the timelines print.
    pub fn text(self) -> &'static str {
        match self {
            Cause::ItsSyn => "its SYN",
            Cause::SynSeen => "SYN seen",
            Cause::SynAckSeen => "SYN-ACK seen",
            Cause::AckOfItsSynAck => "ACK of its SYN-ACK",
            Cause::ItsFin => "its FIN",
            Cause::ItsFinCrossedPeers => "its FIN crossed the peer's",
            Cause::AckOfItsFin => "ACK of its FIN",
            Cause::PeersFin => "peer's FIN",
            Cause::PeersFinBeforeAckOfItsOwn => "peer's FIN before the ACK of its own",
            Cause::ItsRst => "its RST",
            Cause::PeersRst => "peer's RST",
        }
    }

    /// Caused by a segment the end sent itself (rather than one it received): a ladder
    /// draws such a change above that segment's arrow, the others below it.
    pub fn by_its_own_segment(self) -> bool {
        matches!(
            self,
            Cause::ItsSyn | Cause::ItsFin | Cause::ItsFinCrossedPeers | Cause::ItsRst
        )
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl StateChange {
    /// The stream of an inferred change.
    pub fn stream(&self) -> Option<usize> {
        self.inferred.map(|i| i.stream)
    }

    /// The connection's client end, whichever end changed.
    pub fn client(&self) -> IpEndpoint {
        match self.side {
            Side::Client => self.local,
            Side::Server => self.remote,
        }
    }
}

/// An endpoint as the listing and the timelines write it: `192.168.69.1:80`,
/// `[fdaa::1]:80` (smoltcp's own Display leaves IPv6 addresses unbracketed).
pub fn endpoint_text(ep: IpEndpoint) -> String {
    std::net::SocketAddr::from(ep).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_read_as_the_timelines_print_them() {
        assert_eq!(Cause::PeersFin.to_string(), "peer's FIN");
        assert!(Cause::ItsFin.by_its_own_segment());
        assert!(!Cause::AckOfItsFin.by_its_own_segment());
        let ep = |s: &str| s.parse::<std::net::SocketAddr>().unwrap().into();
        assert_eq!(endpoint_text(ep("[fdaa::1]:80")), "[fdaa::1]:80");
        assert_eq!(endpoint_text(ep("192.168.69.1:80")), "192.168.69.1:80");
        let c = StateChange {
            time: Instant::ZERO,
            side: Side::Server,
            local: ep("192.168.69.1:80"),
            remote: ep("192.168.69.100:40000"),
            from: TcpState::Listen,
            to: TcpState::SynReceived,
            frame: Some(1),
            inferred: Some(Inferred {
                stream: 3,
                cause: Cause::SynSeen,
            }),
        };
        assert_eq!(c.client().port, 40000);
        assert_eq!(c.stream(), Some(3));
    }
}
