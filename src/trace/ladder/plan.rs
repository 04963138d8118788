//! Planning a ladder: which items become rows, and which are condensed.
//!
//! Segments are classified by their flags ([`Kind`]); long runs of bulk data (and of
//! pure ACKs) shrink to their first two and last two segments around one [`Band`];
//! silences over [`IDLE_GAP`] become an idle break; at most `max_rows` rows are kept and
//! the rest counted. Items go in as a slice, [`Row`]s come out, borrowing them.

use super::{Item, Segment, StateMark};
use crate::tcp::TcpFlags;

/// Seconds of silence between two consecutive items above which an idle break is drawn.
pub const IDLE_GAP: f64 = 1.0;
/// The data segments kept on each side of a condensed band ([`Run`] tracks exactly two).
const KEEP: usize = 2;

/// What an arrow is drawn as; the order of the tests in [`Kind::of`] is the precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Syn,
    Fin,
    Rst,
    Data,
    Ack,
    Other,
}

impl Kind {
    pub fn of(s: &Segment) -> Kind {
        let has = |f: TcpFlags| s.flags.contains(f);
        // RST first: a RST ends the connection whatever else is set.
        if has(TcpFlags::RST) {
            Kind::Rst
        } else if has(TcpFlags::SYN) {
            Kind::Syn
        } else if has(TcpFlags::FIN) {
            Kind::Fin
        } else if s.len > 0 {
            Kind::Data
        } else if has(TcpFlags::ACK) {
            Kind::Ack
        } else {
            Kind::Other
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Kind::Syn => "syn",
            Kind::Fin => "fin",
            Kind::Rst => "rst",
            Kind::Data => "data",
            Kind::Ack => "ack",
            Kind::Other => "other",
        }
    }

    pub fn colour(self) -> &'static str {
        match self {
            Kind::Syn => "#1a7f37",
            Kind::Fin => "#8250df",
            Kind::Rst => "#cf222e",
            Kind::Data => "#0969da",
            Kind::Ack => "#6e7781",
            Kind::Other => "#24292f",
        }
    }

    pub const ALL: [Kind; 6] = [
        Kind::Syn,
        Kind::Fin,
        Kind::Rst,
        Kind::Data,
        Kind::Ack,
        Kind::Other,
    ];
}

pub fn note_of(s: &Segment) -> Option<&str> {
    s.note.as_deref().map(str::trim).filter(|n| !n.is_empty())
}

/// Bulk data: payload, only ACK/PSH, nothing the dissector found worth a note. Only these
/// may disappear into a band; anything with a note (an HTTP request, a retransmission)
/// is the point of the picture.
fn is_bulk(s: &Segment) -> bool {
    s.len > 0
        && note_of(s).is_none()
        && !s.flags.is_empty()
        && (TcpFlags::ACK | TcpFlags::PSH).contains(s.flags)
}

fn is_pure_ack(s: &Segment) -> bool {
    s.len == 0 && note_of(s).is_none() && s.flags == TcpFlags::ACK
}

/// What a condensed band stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub stream: usize,
    pub from_left: bool,
    pub data: usize,
    pub bytes: u64,
    pub acks: usize,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_time: f64,
    pub last_time: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    Seg(&'a Segment),
    /// State changes drawn side by side: at most one per lifeline.
    States(Vec<&'a StateMark>),
    Band(Band),
    /// Seconds of silence.
    Idle(f64),
    /// What the row cap left out.
    Cap {
        segments: usize,
        states: usize,
    },
}

impl Row<'_> {
    /// Idle breaks are decoration between rows, not rows of their own.
    fn counts(&self) -> bool {
        !matches!(self, Row::Idle(_))
    }
}

/// Turns items into rows as they come, so memory stays bounded by the row cap however
/// long the capture is.
struct Planner<'a> {
    rows: Vec<Row<'a>>,
    last_time: Option<f64>,
    max_rows: usize,
    drawn: usize,
    /// Segments and state changes past the cap, once it is reached.
    cut: Option<(usize, usize)>,
}

impl<'a> Planner<'a> {
    fn new(max_rows: usize) -> Self {
        Planner {
            rows: Vec::new(),
            last_time: None,
            max_rows,
            drawn: 0,
            cut: None,
        }
    }

    fn push(&mut self, row: Row<'a>) {
        let (segments, states) = match &row {
            Row::Seg(_) => (1, 0),
            Row::States(m) => (0, m.len()),
            Row::Band(b) => (b.data + b.acks, 0),
            Row::Idle(_) | Row::Cap { .. } => (0, 0),
        };
        if self.cut.is_none() && row.counts() && self.drawn == self.max_rows {
            // An idle break just before the cut would lead nowhere.
            while matches!(self.rows.last(), Some(Row::Idle(_))) {
                self.rows.pop();
            }
            self.cut = Some((0, 0));
        }
        match &mut self.cut {
            Some((seg, st)) => {
                *seg += segments;
                *st += states;
            }
            None => {
                self.drawn += usize::from(row.counts());
                self.rows.push(row);
            }
        }
    }

    fn time(&mut self, t: f64) {
        if let Some(prev) = self.last_time
            && t - prev > IDLE_GAP
        {
            self.push(Row::Idle(t - prev));
        }
        if t.is_finite() {
            self.last_time = Some(t);
        }
    }

    fn item(&mut self, item: &'a Item) {
        match item {
            Item::Segment(s) => {
                self.time(s.time);
                self.push(Row::Seg(s));
            }
            Item::State(m) => {
                self.time(m.time);
                // Changes that follow each other share a row when they are on different
                // lifelines (the client's FIN_WAIT_2 beside the server's LAST_ACK).
                if self.cut.is_none()
                    && let Some(Row::States(marks)) = self.rows.last_mut()
                    && marks.iter().all(|o| o.left != m.left)
                {
                    marks.push(m);
                } else {
                    self.push(Row::States(vec![m]));
                }
            }
        }
    }

    /// `hidden` is the middle of a run: bulk segments one way and pure ACKs the other.
    fn band(&mut self, hidden: &'a [Item]) {
        let mut segs = hidden.iter().filter_map(|i| match i {
            Item::Segment(s) => Some(s),
            Item::State(_) => None,
        });
        let Some(first) = segs.next() else { return };
        let mut b = Band {
            stream: first.stream,
            from_left: first.from_left,
            data: 0,
            bytes: 0,
            acks: 0,
            first_frame: first.frame,
            last_frame: first.frame,
            first_time: first.time,
            last_time: first.time,
        };
        for s in std::iter::once(first).chain(segs) {
            if s.len > 0 {
                // The data's direction is the band's, even when an ACK comes first.
                b.from_left = s.from_left;
                b.data += 1;
                b.bytes += s.len as u64;
            } else {
                b.acks += 1;
            }
            b.last_frame = s.frame;
            b.last_time = s.time;
        }
        self.time(b.first_time);
        if b.last_time.is_finite() {
            self.last_time = Some(b.last_time);
        }
        self.push(Row::Band(b));
    }

    fn finish(mut self) -> Vec<Row<'a>> {
        if let Some((segments, states)) = self.cut {
            self.rows.push(Row::Cap { segments, states });
        }
        self.rows
    }
}

/// Where the data segments of a run lie (indices into the items).
struct Run {
    count: usize,
    second: usize,
    before_last: usize,
    last: usize,
}

/// The maximal run starting at `start` (a bulk segment): bulk segments of its stream and
/// direction, with pure ACKs of that stream going the other way allowed between them.
/// Anything else ends the run.
fn data_run(items: &[Item], start: usize, head: &Segment) -> Run {
    let mut run = Run {
        count: 1,
        second: start,
        before_last: start,
        last: start,
    };
    for (k, item) in items.iter().enumerate().skip(start + 1) {
        match item {
            Item::Segment(s)
                if s.stream == head.stream && s.from_left == head.from_left && is_bulk(s) =>
            {
                run.count += 1;
                if run.count == 2 {
                    run.second = k;
                }
                run.before_last = run.last;
                run.last = k;
            }
            Item::Segment(s)
                if s.stream == head.stream && s.from_left != head.from_left && is_pure_ack(s) => {}
            _ => break,
        }
    }
    run
}

/// The rows to draw: runs condensed, idle gaps marked, at most `max_rows` rows.
pub fn plan(items: &[Item], condense_after: usize, max_rows: usize) -> Vec<Row<'_>> {
    let mut p = Planner::new(max_rows);
    let mut i = 0;
    while i < items.len() {
        if let Item::Segment(s) = &items[i]
            && is_bulk(s)
        {
            let run = data_run(items, i, s);
            // Condense only when the band hides at least one data segment (KEEP = 2 each
            // side: the run's first two and last two).
            if run.count > condense_after && run.count > 2 * KEEP {
                items[i..=run.second].iter().for_each(|it| p.item(it));
                p.band(&items[run.second + 1..run.before_last]);
                items[run.before_last..=run.last]
                    .iter()
                    .for_each(|it| p.item(it));
            } else {
                // A shorter run is drawn whole; any run starting inside it is shorter
                // still, so skipping past it keeps planning linear.
                items[i..=run.last].iter().for_each(|it| p.item(it));
            }
            // Pure ACKs after the last data segment are not part of the run.
            i = run.last + 1;
            continue;
        }
        if let Item::Segment(s) = &items[i]
            && is_pure_ack(s)
        {
            // A long run of pure ACKs one way (e.g. after a burst that ended with a
            // [TCP Window Full]) condenses like data: first two, a band, last two.
            let mut end = i;
            while let Some(Item::Segment(n)) = items.get(end + 1)
                && n.stream == s.stream
                && n.from_left == s.from_left
                && is_pure_ack(n)
            {
                end += 1;
            }
            let count = end - i + 1;
            if count > condense_after && count > 2 * KEEP {
                items[i..i + KEEP].iter().for_each(|it| p.item(it));
                p.band(&items[i + KEEP..=end - KEEP]);
                items[end + 1 - KEEP..=end].iter().for_each(|it| p.item(it));
            } else {
                items[i..=end].iter().for_each(|it| p.item(it));
            }
            i = end + 1;
            continue;
        }
        p.item(&items[i]);
        i += 1;
    }
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::super::text::band_text;
    use super::*;

    fn ack(frame: u64) -> Item {
        Item::Segment(Segment {
            frame,
            time: frame as f64 * 1e-4,
            from_left: true,
            stream: 0,
            flags: TcpFlags::ACK,
            label: format!("Seq=1 Ack={frame} Win=100 Len=0"),
            len: 0,
            note: None,
        })
    }

    #[test]
    fn a_long_run_of_pure_acks_condenses_into_its_own_band() {
        let items: Vec<Item> = (1..=30).map(ack).collect();
        let rows = plan(&items, 6, 400);
        let bands: Vec<&Band> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Band(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(bands.len(), 1);
        assert_eq!((bands[0].data, bands[0].acks), (0, 26));
        assert_eq!(rows.len(), 5, "2 + band + 2");
        let (main, detail) = band_text(bands[0], false);
        assert!(main.contains("26 more ACKs"), "{main}");
        assert!(
            detail.contains("frames 3–28") && detail.contains("ACKs →"),
            "{detail}"
        );
        // Six or fewer are drawn as they are.
        assert_eq!(plan(&items[..6], 6, 400).len(), 6);
    }
}
