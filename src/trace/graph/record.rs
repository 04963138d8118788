//! What the graphs keep of a capture: one small [`Event`] per TCP segment of the streams
//! in scope, taken from the typed rows, and per stream the bytes each direction carried.
//!
//! Rows enter one at a time ([`Recorder::push`], every row of the capture, so that times
//! count from its first frame as the listing's do). What leaves is one [`Stream`]: the
//! connection asked for (or the one that carried the most data), its direction of data
//! (asked for, or the one that carried more), and its events in capture order — the
//! kinds of [`super::kinds`] draw from nothing else.
//!
//! Memory is bounded: at most [`MAX_EVENTS`] events are kept over all streams (56 bytes
//! each, plus 8 per SACK block); past that, later segments are left out, and the stream
//! says from which frame on ([`Stream::cut_after`]), so the picture can say it too.

use crate::tcp::TcpFlags;
use crate::trace::{Mark, Row};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Most events kept over all streams (under 45 MB): a transfer of some 700 MB.
pub const MAX_EVENTS: usize = 500_000;

/// Analysis marks the graphs show, as bits of [`Event::notes`].
pub mod note {
    /// A retransmission of any kind (plain, fast, spurious).
    pub const RETRANSMISSION: u8 = 1 << 0;
    pub const DUP_ACK: u8 = 1 << 1;
    pub const ZERO_WINDOW: u8 = 1 << 2;
    pub const OUT_OF_ORDER: u8 = 1 << 3;
    /// "Previous segment not captured": the capture missed what came before.
    pub const GAP: u8 = 1 << 4;
}

/// One TCP segment, as the graphs read it (numbers relative to each direction's base).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub frame: u64,
    /// µs since the capture's first frame.
    pub time_us: i64,
    /// 0: sent by the end that sent the stream's first segment (the client); 1: the other.
    pub dir: u8,
    pub notes: u8,
    pub flags: TcpFlags,
    pub seq: u32,
    pub len: u32,
    /// The acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    /// The advertised window in bytes (scaled), capped at `u32::MAX`.
    pub win: u32,
    pub in_flight: Option<u32>,
    /// Its SACK blocks: `sacks[first..first + count]` of the recorder.
    sack_first: u32,
    sack_count: u8,
}

impl Event {
    pub fn has(&self, note: u8) -> bool {
        self.notes & note != 0
    }

    /// Sequence space the segment occupies: its data, plus one for a SYN or FIN.
    pub fn end(&self) -> u32 {
        let ctl = self.flags.intersects(TcpFlags::SYN | TcpFlags::FIN);
        self.seq.wrapping_add(self.len).wrapping_add(u32::from(ctl))
    }

    /// Seconds since the capture's first frame.
    pub fn time(&self) -> f64 {
        self.time_us as f64 / 1e6
    }
}

/// One endpoint of a stream.
pub type End = (IpAddr, u16);

/// What is kept of one stream.
#[derive(Debug, Clone)]
struct Kept {
    ends: [End; 2],
    /// Payload bytes each direction sent (every segment counted, kept or not).
    bytes: [u64; 2],
    events: Vec<Event>,
}

/// Which direction's data to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the end that sent the stream's first segment (its SYN, normally).
    Client,
    /// Sent by the other end.
    Server,
}

impl Direction {
    pub fn index(self) -> u8 {
        match self {
            Direction::Client => 0,
            Direction::Server => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Direction::Client => "client",
            Direction::Server => "server",
        }
    }
}

/// The events of the streams in scope, bounded.
#[derive(Debug, Default)]
pub struct Recorder {
    only: Option<usize>,
    first_us: Option<i64>,
    streams: BTreeMap<usize, Kept>,
    sacks: Vec<(u32, u32)>,
    kept: usize,
    /// Most events kept ([`MAX_EVENTS`]).
    cap: usize,
    /// The last frame whose event was kept, once the bound was reached.
    cut_after: Option<u64>,
}

/// One stream, ready to draw: data flows from `ends[dir]` to the other end.
#[derive(Debug)]
pub struct Stream<'a> {
    pub number: usize,
    pub ends: [End; 2],
    pub dir: Direction,
    /// Whether the direction was chosen (by most data) rather than asked for.
    pub dir_chosen: bool,
    pub bytes: [u64; 2],
    pub events: &'a [Event],
    sacks: &'a [(u32, u32)],
    /// Events after this frame were not kept (memory bound).
    pub cut_after: Option<u64>,
}

impl Stream<'_> {
    /// The SACK blocks of an event (relative to the other direction's base).
    pub fn sacks(&self, e: &Event) -> &[(u32, u32)] {
        let first = e.sack_first as usize;
        self.sacks
            .get(first..first + usize::from(e.sack_count))
            .unwrap_or(&[])
    }

    /// Events sent in the data direction.
    pub fn data(&self) -> impl Iterator<Item = &Event> {
        let d = self.dir.index();
        self.events.iter().filter(move |e| e.dir == d)
    }

    /// Events sent by the receiver of the data.
    pub fn acks(&self) -> impl Iterator<Item = &Event> {
        let d = self.dir.index();
        self.events.iter().filter(move |e| e.dir != d)
    }

    /// "192.168.69.1:80 → 192.168.69.100:39302".
    pub fn flow_text(&self) -> String {
        let d = usize::from(self.dir.index());
        format!(
            "{} → {}",
            end_text(self.ends[d]),
            end_text(self.ends[1 - d])
        )
    }
}

fn end_text((ip, port): End) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

impl Recorder {
    /// Keeps every stream, or `only` the one numbered so.
    pub fn new(only: Option<usize>) -> Self {
        Recorder::with_cap(only, MAX_EVENTS)
    }

    /// [`Recorder::new`] keeping at most `cap` events.
    pub fn with_cap(only: Option<usize>, cap: usize) -> Self {
        Recorder {
            only,
            cap,
            ..Recorder::default()
        }
    }

    /// One row of the capture (every row, TCP or not).
    pub fn push(&mut self, row: &Row) {
        let first = *self.first_us.get_or_insert(row.time_us);
        let Some(t) = row.tcp() else { return };
        if self.only.is_some_and(|s| s != t.stream) {
            return;
        }
        let dir = t.dir.min(1);
        let k = self.streams.entry(t.stream).or_insert_with(|| {
            let a = (t.src, t.src_port);
            let b = (t.dst, t.dst_port);
            Kept {
                ends: if dir == 0 { [a, b] } else { [b, a] },
                bytes: [0; 2],
                events: Vec::new(),
            }
        });
        k.bytes[dir] += t.len as u64;
        if self.kept >= self.cap {
            if self.cut_after.is_none() {
                self.cut_after = Some(row.no.saturating_sub(1));
            }
            return;
        }
        let mut notes = 0;
        for m in &t.marks {
            notes |= match m {
                m if m.is_retransmission() => note::RETRANSMISSION,
                Mark::DupAck { .. } => note::DUP_ACK,
                Mark::ZeroWindow => note::ZERO_WINDOW,
                Mark::OutOfOrder => note::OUT_OF_ORDER,
                Mark::PreviousSegmentNotCaptured => note::GAP,
                _ => 0,
            };
        }
        let sack_first = self.sacks.len() as u32;
        self.sacks.extend(t.rel_sacks().take(4));
        let sack_count = (self.sacks.len() as u32 - sack_first) as u8;
        k.events.push(Event {
            frame: row.no,
            time_us: row.time_us.saturating_sub(first),
            dir: dir as u8,
            notes,
            flags: t.flags,
            seq: t.rel_seq(),
            len: t.len.min(u32::MAX as usize) as u32,
            ack: t.rel_ack(),
            win: t.win.min(u64::from(u32::MAX)) as u32,
            in_flight: t.in_flight,
            sack_first,
            sack_count,
        });
        self.kept += 1;
    }

    /// The stream to draw: `stream`, or the one that carried the most payload (the
    /// lowest number among equals); its direction: `dir`, or the one that carried more
    /// (the server's among equals: a response is what one graphs).
    pub fn stream(
        &self,
        stream: Option<usize>,
        dir: Option<Direction>,
    ) -> Result<Stream<'_>, String> {
        let (number, k) = match stream {
            Some(n) => self
                .streams
                .get_key_value(&n)
                .ok_or_else(|| format!("there is no TCP stream {n} to graph"))?,
            None => self
                .streams
                .iter()
                .max_by(|a, b| {
                    let total = |k: &Kept| k.bytes[0] + k.bytes[1];
                    // The lowest number wins a tie: compare it reversed.
                    total(a.1).cmp(&total(b.1)).then(b.0.cmp(a.0))
                })
                .ok_or("there is no TCP stream to graph")?,
        };
        let chosen = if k.bytes[0] > k.bytes[1] {
            Direction::Client
        } else {
            Direction::Server
        };
        Ok(Stream {
            number: *number,
            ends: k.ends,
            dir: dir.unwrap_or(chosen),
            dir_chosen: dir.is_none(),
            bytes: k.bytes,
            events: &k.events,
            sacks: &self.sacks,
            cut_after: self.cut_after,
        })
    }
}
