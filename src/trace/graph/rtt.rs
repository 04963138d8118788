//! Round-trip time samples by Karn's rule, from one direction's segments and the other
//! direction's acknowledgments.
//!
//! The events of a [`Stream`] go in, in capture order; [`samples`] returns one sample per
//! acknowledgment that covers new data: the time from the first transmission of the
//! last segment it covers whole to the acknowledgment. An acknowledgment that covers any
//! data sent more than once gives none (Karn's rule: one cannot tell which transmission
//! it answers). SYN and FIN take one sequence number, so the handshake gives the first
//! sample. What a sample measures depends on where the capture was taken: at the
//! sender, the whole round trip; at the receiver, only its own part.

use super::record::{Event, Stream, note};
use std::collections::VecDeque;

fn gt(x: u32, y: u32) -> bool {
    (x.wrapping_sub(y) as i32) > 0
}

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The acknowledgment's frame and time (µs since the capture's first frame).
    pub frame: u64,
    pub time_us: i64,
    /// The round trip, µs.
    pub rtt_us: i64,
}

/// A stretch of sequence space sent and not yet acknowledged.
#[derive(Debug)]
struct Sent {
    end: u32,
    time_us: i64,
    /// Some of it was sent more than once.
    ambiguous: bool,
}

/// The samples of the stream's data direction, in capture order.
pub fn samples(stream: &Stream) -> Vec<Sample> {
    let d = stream.dir.index();
    let mut sent: VecDeque<(u32, Sent)> = VecDeque::new();
    let mut high: Option<u32> = None;
    let mut una: Option<u32> = None;
    let mut out = Vec::new();
    for e in stream.events {
        if e.dir == d {
            note_sent(&mut sent, &mut high, e);
            continue;
        }
        let Some(a) = e.ack else { continue };
        if una.is_some_and(|u| !gt(a, u)) {
            continue;
        }
        una = Some(a);
        let mut last = None;
        let mut ambiguous = false;
        while let Some((_, s)) = sent.front() {
            if gt(s.end, a) {
                break;
            }
            ambiguous |= s.ambiguous;
            last = Some(s.time_us);
            sent.pop_front();
        }
        if let Some(t) = last
            && !ambiguous
        {
            out.push(Sample {
                frame: e.frame,
                time_us: e.time_us,
                rtt_us: e.time_us - t,
            });
        }
    }
    out
}

/// A segment of the data direction: new sequence space is remembered; space sent before
/// makes what it overlaps ambiguous.
fn note_sent(sent: &mut VecDeque<(u32, Sent)>, high: &mut Option<u32>, e: &Event) {
    let (start, end) = (e.seq, e.end());
    if start == end {
        return;
    }
    let h = *high.get_or_insert(start);
    // Marked a retransmission: its first transmission was not captured, perhaps.
    let resent = gt(h, start) || e.has(note::RETRANSMISSION);
    if resent {
        for (s, x) in sent.iter_mut() {
            if gt(end, *s) && gt(x.end, start) {
                x.ambiguous = true;
            }
        }
    }
    if gt(end, h) {
        sent.push_back((
            if gt(h, start) { h } else { start },
            Sent {
                end,
                time_us: e.time_us,
                ambiguous: resent,
            },
        ));
        *high = Some(end);
    }
}
