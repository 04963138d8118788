//! Ladder (sequence) diagrams of a TCP exchange, drawn as SVG.
//!
//! Students of a networks course draw the three-way handshake, segmentation and the
//! four-way teardown by hand as a "ladder": one vertical lifeline per host, time running
//! down, one sloped arrow per segment. This module draws that picture for a capture, so
//! the hand drawing can be checked against what was really on the wire.
//!
//! Data enters as a [`Ladder`]: the names of the two ends and, in capture order, the
//! segments (flags as [`TcpFlags`], the label the caller wants beside the arrow) and the
//! TCP state changes of either side, built by the caller from a capture
//! (`trace::picture` for `taplab trace --svg`, the lab for `taplab lab --svg`). It leaves
//! as one self-contained SVG document from [`render_svg`]: no I/O, no script, no external
//! references, every piece of text XML-escaped, so the string can be written to a file or
//! served to a browser as is.
//!
//! The work is done in three steps, one file each: `plan.rs` classifies the segments and
//! turns items into the rows to draw (condensing runs, marking idle gaps, capping the
//! count); `layout.rs` measures the texts (`text.rs` writes them) and places lifelines,
//! rows and legend; `svg.rs` writes the document.
//!
//! Rows follow item order rather than a time scale, so that a 1 µs gap and a 5 s gap are
//! both readable; the time is printed beside each arrow and idle gaps over a second get a
//! visible break. Long runs of bulk data are condensed into one band (see
//! [`LadderOptions`]) because 300 identical arrows teach nothing the first and last two
//! do not.

mod layout;
mod plan;
mod svg;
#[cfg(test)]
mod tests;
mod text;

use crate::tcp::{TcpFlags, TcpState};

/// One exchange between two hosts, to be drawn as a ladder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ladder {
    pub title: String,
    /// Left lifeline's heading, e.g. "client 192.168.69.100".
    pub left: String,
    /// Right lifeline's heading, e.g. "server 192.168.69.1:80".
    pub right: String,
    /// Segments and state changes, in time (capture) order.
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Segment(Segment),
    State(StateMark),
}

/// One TCP segment as a dissector reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segment {
    /// Frame number in the capture.
    pub frame: u64,
    /// Seconds since the start of the capture.
    pub time: f64,
    /// Direction: sent by the left host (to the right one).
    pub from_left: bool,
    /// TCP stream (connection) index; several streams may be interleaved.
    pub stream: usize,
    pub flags: TcpFlags,
    /// e.g. "Seq=0 Ack=1 Win=64240 Len=0 MSS=1460 WS=256 SACK_PERM".
    pub label: String,
    /// Payload bytes.
    pub len: usize,
    /// e.g. "GET / HTTP/1.1", "TCP Retransmission".
    pub note: Option<String>,
}

/// A TCP state change of one end of one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMark {
    pub time: f64,
    /// On the left lifeline (else the right one).
    pub left: bool,
    pub stream: usize,
    pub state: TcpState,
    /// Deduced from the segments rather than reported by that end's stack.
    pub inferred: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LadderOptions {
    /// A run of more data segments than this (same stream and direction, only ACK/PSH
    /// flags, no note, possibly interleaved with pure ACKs going back) is drawn as its
    /// first two and last two data segments around one summary band.
    pub condense_after: usize,
    /// Hard cap on the rows drawn (arrows, state rows, bands), so a huge capture still
    /// gives a picture a browser can show.
    pub max_items: usize,
}

impl Default for LadderOptions {
    fn default() -> Self {
        LadderOptions {
            condense_after: 6,
            max_items: 400,
        }
    }
}

/// Draws `ladder` as a standalone SVG document.
pub fn render_svg(ladder: &Ladder, opts: &LadderOptions) -> String {
    let rows = plan::plan(&ladder.items, opts.condense_after, opts.max_items);
    svg::draw(ladder, &rows)
}
