//! Bytes in flight: how much data one direction of a TCP connection has sent that the
//! other has not acknowledged yet, as Wireshark's `tcp.analysis.bytes_in_flight`.
//!
//! A [`Flight`] belongs to one direction. Each segment that direction sends goes in
//! ([`Flight::sent`]), with whether the analysis found a gap before it; each
//! acknowledgment from the other direction takes out what it covers ([`Flight::acked`]);
//! the SACK blocks of the other direction's latest segment are subtracted. What comes
//! out ([`Flight::bytes`]) is a number per data segment, or none. The rules are tshark
//! 4.0's, re-derived from its output and checked against it on lossy captures (see
//! tests/trace.rs):
//!
//! - every segment with data, SYN or FIN is remembered as the range it occupies; an
//!   acknowledgment removes the ranges it covers whole and trims the one it splits;
//! - a data segment's value is the span from the lowest remembered start to the highest
//!   remembered end (relative numbers, compared as plain unsigned values), less the bytes
//!   in the SACK blocks of the other direction's latest segment; 0, or 2·10⁹ and more,
//!   counts as none;
//! - after a gap ("previous segment not captured") there is none until the other
//!   direction acknowledges something, since the capture missed what was sent;
//! - segments without data (pure ACKs, a lone SYN or FIN) have none.
//!
//! Memory is bounded: a direction remembers at most [`MAX_UNACKED`] ranges (tshark's own
//! limit: more are only unacknowledged if the capture misses the ACKs), and the caller
//! may refuse new ones beyond a budget of its own.

use crate::tcp::{TcpOption, options};

/// Most unacknowledged ranges one direction remembers (as tshark).
pub const MAX_UNACKED: usize = 10_000;

/// Most SACK blocks a segment can carry (40 option bytes).
const MAX_SACKS: usize = 4;

/// Values from this on are not shown (tshark's sanity bound).
const SANE: u32 = 2_000_000_000;

fn gt(x: u32, y: u32) -> bool {
    (x.wrapping_sub(y) as i32) > 0
}

/// One direction's data in flight.
#[derive(Debug, Clone, Default)]
pub struct Flight {
    /// Ranges sent and not yet wholly acknowledged: (first unacknowledged, next) sequence
    /// numbers, in the order sent.
    unacked: Vec<(u32, u32)>,
    /// The SACK blocks of this direction's latest segment: they tell what the other
    /// direction's receiver holds.
    sacks: [(u32, u32); MAX_SACKS],
    n_sacks: usize,
    /// A gap was seen and no acknowledgment since.
    suspended: bool,
}

impl Flight {
    /// Ranges remembered now.
    pub fn len(&self) -> usize {
        self.unacked.len()
    }

    /// Unused but kept: clippy's `len_without_is_empty` asks for it beside a public `len`.
    pub fn is_empty(&self) -> bool {
        self.unacked.is_empty()
    }

    /// This direction sent a segment: `seq`, `len` payload bytes, `syn_or_fin` (each
    /// takes a sequence number), `gap`: it starts beyond the next expected number.
    /// `room`: whether the caller's budget allows one more range.
    pub fn sent(&mut self, seq: u32, len: u32, syn_or_fin: bool, gap: bool, room: bool) {
        if gap {
            self.suspended = true;
        }
        if (len > 0 || syn_or_fin) && room && self.unacked.len() < MAX_UNACKED {
            let next = seq.wrapping_add(len).wrapping_add(u32::from(syn_or_fin));
            self.unacked.push((seq, next));
        }
    }

    /// This direction's segment carried these options: its SACK blocks (none if it had
    /// none) replace the ones kept.
    pub fn options(&mut self, area: &[u8]) {
        self.n_sacks = 0;
        for o in options(area) {
            if let TcpOption::Sack(blocks) = o.option {
                for b in blocks.iter() {
                    if self.n_sacks < MAX_SACKS {
                        self.sacks[self.n_sacks] = b;
                        self.n_sacks += 1;
                    }
                }
            }
        }
    }

    /// The other direction acknowledged everything before `ack`.
    pub fn acked(&mut self, ack: u32) {
        self.suspended = false;
        self.unacked.retain_mut(|r| {
            if ack == r.1 || !gt(r.1, ack) {
                return false;
            }
            if gt(ack, r.0) {
                r.0 = ack;
            }
            true
        });
    }

    /// Bytes in flight after this direction sent a segment of `len` bytes (none for a
    /// segment without data), with `base` this direction's relative-number base and
    /// `peer` the other direction (whose SACK blocks count as received).
    pub fn bytes(&self, base: u32, len: u32, peer: &Flight) -> Option<u32> {
        if len == 0 || self.suspended {
            return None;
        }
        let newest = self.unacked.last()?;
        let rel = |s: u32| s.wrapping_sub(base);
        let (mut first, mut last) = (rel(newest.0), rel(newest.1));
        for &(s, n) in &self.unacked {
            first = first.min(rel(s));
            last = last.max(rel(n));
        }
        let sacked = peer.sacks[..peer.n_sacks]
            .iter()
            .fold(0u32, |acc, (l, r)| acc.wrapping_add(r.wrapping_sub(*l)));
        let v = last.wrapping_sub(first).wrapping_sub(sacked);
        (v > 0 && v < SANE).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sack(blocks: &[(u32, u32)]) -> Vec<u8> {
        let mut o = vec![1, 1, 5, 2 + 8 * blocks.len() as u8];
        for (l, r) in blocks {
            o.extend(l.to_be_bytes());
            o.extend(r.to_be_bytes());
        }
        o
    }

    #[test]
    fn a_window_of_data_grows_and_shrinks_with_the_acks() {
        let (mut d, mut a) = (Flight::default(), Flight::default());
        let base = 1000;
        d.sent(1000, 0, true, false, true); // the SYN
        a.options(&[]);
        d.acked(1001);
        assert!(d.is_empty());
        for i in 0..4 {
            d.sent(1001 + i * 100, 100, false, false, true);
            assert_eq!(d.bytes(base, 100, &a), Some(100 * (i + 1)));
        }
        d.acked(1201);
        assert_eq!(d.len(), 2);
        // An ACK inside a segment trims it.
        d.acked(1250);
        d.sent(1401, 50, false, false, true);
        assert_eq!(d.bytes(base, 50, &a), Some(1451 - 1250));
        // An older ACK changes nothing.
        d.acked(1101);
        assert_eq!(d.bytes(base, 50, &a), Some(201));
        // A pure ACK has no value.
        assert_eq!(d.bytes(base, 0, &a), None);
    }

    #[test]
    fn sacked_bytes_count_as_received_and_a_gap_suspends_the_count() {
        let (mut d, mut a) = (Flight::default(), Flight::default());
        for i in 0..5 {
            d.sent(1 + i * 100, 100, false, false, true);
        }
        a.options(&sack(&[(201, 301), (401, 501)]));
        d.acked(101);
        assert_eq!(d.bytes(0, 100, &a), Some(400 - 200));
        // A segment from the receiver without SACK blocks forgets them.
        a.options(&[1, 1, 1, 1]);
        assert_eq!(d.bytes(0, 100, &a), Some(400));
        // A gap: nothing until the next acknowledgment.
        d.sent(601, 100, false, true, true);
        assert_eq!(d.bytes(0, 100, &a), None);
        d.acked(201);
        assert_eq!(d.bytes(0, 100, &a), Some(500));
    }

    #[test]
    fn bounded_and_never_absurd() {
        let (mut d, a) = (Flight::default(), Flight::default());
        for i in 0..(MAX_UNACKED as u32 + 50) {
            d.sent(i * 10, 10, false, false, true);
        }
        assert_eq!(d.len(), MAX_UNACKED);
        let mut e = Flight::default();
        e.sent(5, 10, false, false, false);
        assert!(e.is_empty(), "no room: not remembered");
        // More bytes SACKed than sent (blocks below the ACK, say) wraps past the
        // sanity bound: not shown.
        let mut w = Flight::default();
        w.sent(10, 10, false, false, true);
        let mut s = Flight::default();
        s.options(&sack(&[(1000, 2000)]));
        assert_eq!(w.bytes(0, 10, &a), Some(10));
        assert_eq!(w.bytes(0, 10, &s), None);
    }
}
