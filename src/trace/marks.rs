//! Wireshark's TCP analysis marks — `[TCP Retransmission]`, `[TCP Dup ACK 12#1]`,
//! `[TCP Window Update]` — as values.
//!
//! The sequence analysis of [`super::tcp`] finds them as bits; `Mark::list` turns the
//! bits into the marks in the order the listing prints them, left to right. Everything
//! that reads a capture's analysis (the lab's checks, the ladder's notes, the listing)
//! matches on [`Mark`]; only the listing and the pictures turn one into text (`Display`).

use std::fmt;

/// One analysis mark of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mark {
    /// A SYN (or SYN-ACK) with a new initial sequence number on a known port pair.
    PortNumbersReused,
    Retransmission,
    FastRetransmission,
    /// Data the receiver had already acknowledged.
    SpuriousRetransmission,
    OutOfOrder,
    /// A segment beyond the next expected sequence number: one before it was lost (or
    /// not captured).
    PreviousSegmentNotCaptured,
    /// An acknowledgment of data the capture never showed.
    AckedUnseenSegment,
    WindowUpdate,
    WindowFull,
    KeepAlive,
    KeepAliveAck,
    /// The `count`th duplicate of the acknowledgment first sent in frame `frame`.
    DupAck {
        frame: u64,
        count: u32,
    },
    ZeroWindowProbe,
    ZeroWindow,
    ZeroWindowProbeAck,
}

/// The analysis bits of [`super::tcp`], with the mark each stands for, in the order
/// Wireshark prepends them to Info (so the last one found is printed first).
pub(crate) mod bit {
    pub const REUSED_PORTS: u32 = 1 << 0;
    pub const RETRANSMISSION: u32 = 1 << 1;
    pub const FAST_RETRANSMISSION: u32 = 1 << 2;
    pub const SPURIOUS_RETRANSMISSION: u32 = 1 << 3;
    pub const OUT_OF_ORDER: u32 = 1 << 4;
    pub const LOST_PACKET: u32 = 1 << 5;
    pub const ACK_LOST_PACKET: u32 = 1 << 6;
    pub const WINDOW_UPDATE: u32 = 1 << 7;
    pub const WINDOW_FULL: u32 = 1 << 8;
    pub const KEEP_ALIVE: u32 = 1 << 9;
    pub const KEEP_ALIVE_ACK: u32 = 1 << 10;
    pub const DUPLICATE_ACK: u32 = 1 << 11;
    pub const ZERO_WINDOW_PROBE: u32 = 1 << 12;
    pub const ZERO_WINDOW: u32 = 1 << 13;
    pub const ZERO_WINDOW_PROBE_ACK: u32 = 1 << 14;
}

impl Mark {
    /// The marks of analysis `bits` (with the duplicate ACK's numbers, if any), left to
    /// right as printed.
    pub(crate) fn list(bits: u32, dup: Option<(u64, u32)>) -> Vec<Mark> {
        use bit::*;
        let (frame, count) = dup.unwrap_or((0, 0));
        let order = [
            (REUSED_PORTS, Mark::PortNumbersReused),
            (RETRANSMISSION, Mark::Retransmission),
            (FAST_RETRANSMISSION, Mark::FastRetransmission),
            (SPURIOUS_RETRANSMISSION, Mark::SpuriousRetransmission),
            (OUT_OF_ORDER, Mark::OutOfOrder),
            (LOST_PACKET, Mark::PreviousSegmentNotCaptured),
            (ACK_LOST_PACKET, Mark::AckedUnseenSegment),
            (WINDOW_UPDATE, Mark::WindowUpdate),
            (WINDOW_FULL, Mark::WindowFull),
            (KEEP_ALIVE, Mark::KeepAlive),
            (KEEP_ALIVE_ACK, Mark::KeepAliveAck),
            (DUPLICATE_ACK, Mark::DupAck { frame, count }),
            (ZERO_WINDOW_PROBE, Mark::ZeroWindowProbe),
            (ZERO_WINDOW, Mark::ZeroWindow),
            (ZERO_WINDOW_PROBE_ACK, Mark::ZeroWindowProbeAck),
        ];
        // Each is prepended in this order, so the last one ends up first.
        order
            .iter()
            .rev()
            .filter(|(b, _)| bits & b != 0)
            .map(|(_, m)| *m)
            .collect()
    }

    /// Any of the three retransmission marks.
    pub fn is_retransmission(&self) -> bool {
        matches!(
            self,
            Mark::Retransmission | Mark::FastRetransmission | Mark::SpuriousRetransmission
        )
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Mark::PortNumbersReused => "TCP Port numbers reused",
            Mark::Retransmission => "TCP Retransmission",
            Mark::FastRetransmission => "TCP Fast Retransmission",
            Mark::SpuriousRetransmission => "TCP Spurious Retransmission",
            Mark::OutOfOrder => "TCP Out-Of-Order",
            Mark::PreviousSegmentNotCaptured => "TCP Previous segment not captured",
            Mark::AckedUnseenSegment => "TCP ACKed unseen segment",
            Mark::WindowUpdate => "TCP Window Update",
            Mark::WindowFull => "TCP Window Full",
            Mark::KeepAlive => "TCP Keep-Alive",
            Mark::KeepAliveAck => "TCP Keep-Alive ACK",
            Mark::DupAck { frame, count } => return write!(f, "TCP Dup ACK {frame}#{count}"),
            Mark::ZeroWindowProbe => "TCP ZeroWindowProbe",
            Mark::ZeroWindow => "TCP ZeroWindow",
            Mark::ZeroWindowProbeAck => "TCP ZeroWindowProbeAck",
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_in_print_order() {
        let l = Mark::list(
            bit::REUSED_PORTS | bit::LOST_PACKET | bit::DUPLICATE_ACK,
            Some((12, 3)),
        );
        assert_eq!(
            l,
            [
                Mark::DupAck {
                    frame: 12,
                    count: 3
                },
                Mark::PreviousSegmentNotCaptured,
                Mark::PortNumbersReused
            ]
        );
        assert_eq!(l[0].to_string(), "TCP Dup ACK 12#3");
        assert!(Mark::FastRetransmission.is_retransmission());
        assert!(!Mark::OutOfOrder.is_retransmission());
        assert!(Mark::list(0, None).is_empty());
    }
}
