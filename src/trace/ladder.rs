//! Ladder (sequence) diagrams of a TCP exchange, drawn as SVG.
//!
//! Students of a networks course draw the three-way handshake, segmentation and the
//! four-way teardown by hand as a "ladder": one vertical lifeline per host, time running
//! down, one sloped arrow per segment. This module draws that picture for a capture, so
//! the hand drawing can be checked against what was really on the wire.
//!
//! Data enters as a [`Ladder`]: the names of the two ends and, in capture order, the
//! segments (with Wireshark's flag and info text) and the TCP state changes of either
//! side, built by the caller from a capture. It leaves as one self-contained SVG document
//! from [`render_svg`]: no I/O, no script, no external references, every piece of text
//! XML-escaped, so the string can be written to a file or served to a browser as is.
//!
//! Rows follow item order rather than a time scale, so that a 1 µs gap and a 5 s gap are
//! both readable; the time is printed beside each arrow and idle gaps over a second get a
//! visible break. Long runs of bulk data are condensed into one band (see
//! [`LadderOptions`]) because 300 identical arrows teach nothing the first and last two
//! do not.

use std::collections::HashMap;
use std::fmt::Write as _;

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
    /// Wireshark's flag text: "SYN", "SYN, ACK", "PSH, ACK", "FIN, ACK", "RST, ACK"…
    pub flags: String,
    /// e.g. "Seq=0 Ack=1 Win=64240 Len=0 MSS=1460 WS=256 SACK_PERM".
    pub label: String,
    /// Payload bytes.
    pub len: usize,
    /// e.g. "GET / HTTP/1.1", "TCP Retransmission".
    pub note: Option<String>,
}

/// A TCP state change of one end of one stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateMark {
    pub time: f64,
    /// On the left lifeline (else the right one).
    pub left: bool,
    pub stream: usize,
    /// "SYN_SENT", "ESTABLISHED", "TIME_WAIT"…
    pub state: String,
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
    let rows = plan(&ladder.items, opts.condense_after, opts.max_items);
    draw(ladder, &rows)
}

/// Seconds of silence between two consecutive items above which an idle break is drawn.
const IDLE_GAP: f64 = 1.0;
/// The data segments kept on each side of a condensed band ([`Run`] tracks exactly two).
const KEEP: usize = 2;
/// Longest text drawn on one line, in characters: longer labels are cut with "…" so one
/// odd label cannot make the picture kilometres wide.
const MAX_TEXT: usize = 120;
const MAX_NAME: usize = 48;

// ---------------------------------------------------------------------------------------
// Classifying segments

/// What an arrow is drawn as; the order of the tests in [`Kind::of`] is the precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Syn,
    Fin,
    Rst,
    Data,
    Ack,
    Other,
}

impl Kind {
    fn of(s: &Segment) -> Kind {
        let flags = flag_list(&s.flags);
        let has = |f: &str| flags.iter().any(|x| x == f);
        // RST first: a RST ends the connection whatever else is set.
        if has("RST") {
            Kind::Rst
        } else if has("SYN") {
            Kind::Syn
        } else if has("FIN") {
            Kind::Fin
        } else if s.len > 0 {
            Kind::Data
        } else if has("ACK") {
            Kind::Ack
        } else {
            Kind::Other
        }
    }

    fn class(self) -> &'static str {
        match self {
            Kind::Syn => "syn",
            Kind::Fin => "fin",
            Kind::Rst => "rst",
            Kind::Data => "data",
            Kind::Ack => "ack",
            Kind::Other => "other",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Kind::Syn => "#1a7f37",
            Kind::Fin => "#8250df",
            Kind::Rst => "#cf222e",
            Kind::Data => "#0969da",
            Kind::Ack => "#6e7781",
            Kind::Other => "#24292f",
        }
    }

    const ALL: [Kind; 6] = [
        Kind::Syn,
        Kind::Fin,
        Kind::Rst,
        Kind::Data,
        Kind::Ack,
        Kind::Other,
    ];
}

/// "SYN, ACK" (or Wireshark's bracketed "[SYN, ACK]") → ["SYN", "ACK"].
fn flag_list(flags: &str) -> Vec<String> {
    flags
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|f| f.trim().to_ascii_uppercase())
        .filter(|f| !f.is_empty())
        .collect()
}

fn note_of(s: &Segment) -> Option<&str> {
    s.note.as_deref().map(str::trim).filter(|n| !n.is_empty())
}

/// Bulk data: payload, only ACK/PSH, nothing the dissector found worth a note. Only these
/// may disappear into a band; anything with a note (an HTTP request, a retransmission)
/// is the point of the picture.
fn is_bulk(s: &Segment) -> bool {
    let flags = flag_list(&s.flags);
    s.len > 0
        && note_of(s).is_none()
        && !flags.is_empty()
        && flags.iter().all(|f| f == "ACK" || f == "PSH")
}

fn is_pure_ack(s: &Segment) -> bool {
    s.len == 0 && note_of(s).is_none() && flag_list(&s.flags) == ["ACK"]
}

// ---------------------------------------------------------------------------------------
// Planning the rows

/// What a condensed band stands for.
#[derive(Debug, Clone, PartialEq)]
struct Band {
    stream: usize,
    from_left: bool,
    data: usize,
    bytes: u64,
    acks: usize,
    first_frame: u64,
    last_frame: u64,
    first_time: f64,
    last_time: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Row<'a> {
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
fn plan(items: &[Item], condense_after: usize, max_rows: usize) -> Vec<Row<'_>> {
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

// ---------------------------------------------------------------------------------------
// Text

/// XML-escapes `s` for text and attribute values alike. Characters XML 1.0 forbids
/// (most C0 controls) become U+FFFD, and line breaks become spaces: every label is one
/// line, and a stray control byte in a capture must not make the document unreadable.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                out.push(c)
            }
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// `s` cut to at most `max` characters, ending in "…" when cut.
fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Width of `s` drawn in a monospace font of `px` pixels. Every generic monospace font
/// (DejaVu Sans Mono, Liberation Mono, Courier) advances about 0.6 em a character, which
/// is what makes sizing the picture to its labels possible without measuring glyphs.
fn mono_w(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * MONO_ADVANCE
}

/// The same for the sans-serif title; its glyphs average a little under 0.6 em.
fn sans_w(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * 0.58
}

fn fmt_time(t: f64) -> String {
    if t.is_finite() {
        format!("{t:.6} s")
    } else {
        "? s".to_string()
    }
}

fn fmt_dur(d: f64) -> String {
    if !d.is_finite() {
        "?".to_string()
    } else if d < 0.001 {
        format!("{:.0} µs", d * 1e6)
    } else if d < 1.0 {
        format!("{:.1} ms", d * 1e3)
    } else {
        format!("{d:.1} s")
    }
}

fn fmt_bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1e3 {
        format!("{b} B")
    } else if b < 1e4 {
        format!("{:.1} KB", b / 1e3)
    } else if b < 1e6 {
        format!("{:.0} KB", b / 1e3)
    } else if b < 1e7 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} MB", b / 1e6)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The texts of one arrow.
struct SegText {
    /// "#3" when streams are interleaved (drawn with a space after it).
    tag: String,
    /// "[SYN, ACK]".
    flags: String,
    /// " Seq=0 Ack=1 …", cut so that tag + flags + rest fit [`MAX_TEXT`].
    rest: String,
    note: Option<String>,
    time: String,
    frame: String,
}

impl SegText {
    fn new(s: &Segment, multi: bool) -> Self {
        let tag = if multi {
            format!("#{}", s.stream)
        } else {
            String::new()
        };
        let flags = flag_list(&s.flags);
        let flags = if flags.is_empty() {
            "[none]".to_string()
        } else {
            clip(&format!("[{}]", flags.join(", ")), 40)
        };
        let room = MAX_TEXT.saturating_sub(tag.chars().count() + flags.chars().count() + 2);
        let label = clip(&s.label, room);
        let rest = if label.is_empty() {
            String::new()
        } else {
            format!(" {label}")
        };
        SegText {
            tag,
            flags,
            rest,
            note: note_of(s).map(|n| clip(n, MAX_TEXT)),
            time: fmt_time(s.time),
            frame: format!("frame {}", s.frame),
        }
    }

    fn width(&self) -> f64 {
        mono_w(
            &format!("{} {}{}", self.tag, self.flags, self.rest),
            LABEL_PX,
        )
    }
}

fn state_text(m: &StateMark, multi: bool) -> String {
    let name = clip(&m.state, 32);
    if multi {
        format!("#{} {name}", m.stream)
    } else {
        name
    }
}

/// The band's two lines: the summary, and where to find the hidden frames.
fn band_text(b: &Band, multi: bool) -> (String, String) {
    let tag = if multi {
        format!("#{} ", b.stream)
    } else {
        String::new()
    };
    let (data_dir, ack_dir) = if b.from_left {
        ("→", "←")
    } else {
        ("←", "→")
    };
    if b.data == 0 {
        // A run of pure ACKs alone (after a burst that ended with a note): its own band.
        let main = format!(
            "⋮ {tag}{} in {} ⋮",
            plural(b.acks, "more ACK", "more ACKs"),
            fmt_dur(b.last_time - b.first_time),
        );
        let detail = format!(
            "frames {}–{} not drawn · ACKs {data_dir}",
            b.first_frame, b.last_frame
        );
        return (main, detail);
    }
    let acks = if b.acks > 0 {
        format!(" and {}", plural(b.acks, "ACK", "ACKs"))
    } else {
        String::new()
    };
    let main = format!(
        "⋮ {tag}{} ({}){acks} in {} ⋮",
        plural(b.data, "more segment", "more segments"),
        fmt_bytes(b.bytes),
        fmt_dur(b.last_time - b.first_time),
    );
    let mut detail = format!(
        "frames {}–{} not drawn · data {data_dir}",
        b.first_frame, b.last_frame
    );
    if b.acks > 0 {
        let _ = write!(detail, " · ACKs {ack_dir}");
    }
    (main, detail)
}

fn idle_text(gap: f64) -> String {
    format!("… {} idle …", fmt_dur(gap))
}

fn cap_text(segments: usize, states: usize) -> String {
    match (segments, states) {
        (0, s) => format!(
            "… {} not drawn",
            plural(s, "more state change", "more state changes")
        ),
        (n, 0) => format!("… {} not drawn", plural(n, "more segment", "more segments")),
        (n, s) => format!(
            "… {} not drawn (and {})",
            plural(n, "more segment", "more segments"),
            plural(s, "state change", "state changes")
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Drawing

const MONO_ADVANCE: f64 = 0.61;
// Font sizes in pixels, the same as in STYLE: widths are estimated from them.
const LABEL_PX: f64 = 12.0;
const NOTE_PX: f64 = 11.0;
const TIME_PX: f64 = 11.0;
const FRAME_PX: f64 = 10.0;
const STATE_PX: f64 = 11.0;
const NAME_PX: f64 = 13.0;
const TITLE_PX: f64 = 17.0;
const SUB_PX: f64 = 11.0;
/// Room between a label's end and a lifeline.
const LABEL_PAD: f64 = 28.0;
/// Narrowest distance between the lifelines: short labels should still give arrows long
/// enough to read as "crossing the network".
const MIN_SPAN: f64 = 520.0;
/// How far an arrow falls while it crosses: a segment takes time to arrive.
const DROP: f64 = 10.0;
/// How far a band sticks out past the lifelines, so it visibly cuts both.
const BAND_OVERHANG: f64 = 30.0;
const BODY_TOP: f64 = 98.0;
const LEGEND_LINE: f64 = 24.0;

/// Colours for streams when several are interleaved, chosen apart from the arrow colours
/// (which say SYN/FIN/RST/data/ACK); a stream's number is always printed too, so the
/// palette may repeat.
const STREAM_COLOURS: [(&str, &str); 8] = [
    ("#bc4c00", "#fff1e5"),
    ("#0a7a7a", "#e0f5f5"),
    ("#a4106b", "#fdeaf5"),
    ("#5a6b00", "#f2f6dc"),
    ("#1f3a93", "#e6ebfa"),
    ("#8a4a10", "#f8ece0"),
    ("#6639ba", "#efe9fa"),
    ("#2f6f3e", "#e4f2e7"),
];

/// Streams in order of first appearance; a stream's colour slot is its position.
struct Streams {
    order: Vec<usize>,
    slot: HashMap<usize, usize>,
}

impl Streams {
    fn new(items: &[Item]) -> Self {
        let mut s = Streams {
            order: Vec::new(),
            slot: HashMap::new(),
        };
        for item in items {
            let id = match item {
                Item::Segment(x) => x.stream,
                Item::State(x) => x.stream,
            };
            if !s.slot.contains_key(&id) {
                s.slot.insert(id, s.order.len() % STREAM_COLOURS.len());
                s.order.push(id);
            }
        }
        s
    }

    fn class(&self, stream: usize) -> String {
        format!("sc{}", self.slot.get(&stream).copied().unwrap_or(0))
    }
}

fn state_box_w(text: &str) -> f64 {
    mono_w(text, STATE_PX) + 14.0
}

fn row_height(row: &Row<'_>) -> f64 {
    match row {
        Row::Seg(s) if note_of(s).is_some() => 54.0,
        Row::Seg(_) => 44.0,
        Row::States(_) => 28.0,
        Row::Band(_) => 56.0,
        Row::Idle(_) => 30.0,
        Row::Cap { .. } => 34.0,
    }
}

/// Writes into a String, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{ let _ = write!($out, $($arg)*); }};
}

/// Where things go, measured from the texts so that nothing overlaps: the span between
/// the lifelines fits the longest label, the margins fit the times and the state boxes.
struct Geometry {
    xl: f64,
    xr: f64,
    width: f64,
}

/// `min_w`: what the header and the legend need.
fn measure(ladder: &Ladder, rows: &[Row<'_>], multi: bool, min_w: f64) -> Geometry {
    let mut inner = MIN_SPAN - 2.0 * LABEL_PAD;
    let mut margin = BAND_OVERHANG + 14.0;
    let left_name = clip(&ladder.left, MAX_NAME);
    let right_name = clip(&ladder.right, MAX_NAME);
    for name in [&left_name, &right_name] {
        margin = margin.max(mono_w(name, NAME_PX) / 2.0 + 12.0);
    }
    for row in rows {
        match row {
            Row::Seg(s) => {
                let t = SegText::new(s, multi);
                inner = inner.max(t.width());
                if let Some(n) = &t.note {
                    inner = inner.max(mono_w(n, NOTE_PX));
                }
                margin = margin
                    .max(mono_w(&t.time, TIME_PX) + 12.0)
                    .max(mono_w(&t.frame, FRAME_PX) + 12.0);
            }
            Row::States(marks) => {
                for m in marks {
                    margin = margin.max(state_box_w(&state_text(m, multi)) / 2.0);
                }
            }
            Row::Band(b) => {
                let (main, detail) = band_text(b, multi);
                inner = inner
                    .max(mono_w(&main, LABEL_PX))
                    .max(mono_w(&detail, NOTE_PX));
            }
            Row::Idle(g) => inner = inner.max(mono_w(&idle_text(*g), LABEL_PX)),
            Row::Cap { segments, states } => {
                inner = inner.max(mono_w(&cap_text(*segments, *states), LABEL_PX))
            }
        }
    }
    let margin = (margin + 16.0).ceil();
    let span = (inner + 2.0 * LABEL_PAD).ceil();
    let width = (2.0 * margin + span).max(min_w).ceil();
    // Centre the lifelines when the title or legend made the picture wider.
    let xl = ((width - span) / 2.0).floor();
    Geometry {
        xl,
        xr: xl + span,
        width,
    }
}

const STYLE: &str = "\
text{font-family:monospace;font-size:12px;fill:#24292f}
.title{font-family:sans-serif;font-size:17px;font-weight:bold}
.sub{font-size:11px;fill:#57606a}
.who{font-size:13px;font-weight:bold;text-anchor:middle}
.whobox{fill:#f6f8fa;stroke:#24292f;stroke-width:1.2}
.life{stroke:#8c959f;stroke-width:1.5}
.lifegap{stroke:#8c959f;stroke-width:1.5;stroke-dasharray:1 5}
.brk{stroke:#57606a;stroke-width:1.5;fill:none}
.arrow{stroke-width:1.6;fill:none}
.label{text-anchor:middle}
.flags{font-weight:bold}
.tag{font-weight:bold}
.note{font-size:11px;font-style:italic;fill:#57606a;text-anchor:middle}
.time{font-size:11px}
.frame{font-size:10px;fill:#6e7781}
.syn .arrow,.fin .arrow,.rst .arrow{stroke-width:2.2}
.ack .arrow{stroke-width:1.2}
.state rect{fill:#fff8c5;stroke:#9a6700;stroke-width:1.2}
.state text{font-size:11px;text-anchor:middle;fill:#633c01}
.state.inf rect{fill:#ffffff;stroke-dasharray:4 2}
.state.inf text{font-style:italic}
.band rect{fill:#f6f8fa;stroke:#8c959f;stroke-dasharray:6 3}
.band text{text-anchor:middle}
.band .detail{font-size:11px;fill:#57606a}
.idle{font-style:italic;fill:#57606a;text-anchor:middle}
.cap{font-weight:bold;fill:#cf222e;text-anchor:middle}
.empty{font-style:italic;fill:#57606a;text-anchor:middle}
.legend text{font-size:11px;fill:#24292f}
";

fn style(multi: bool) -> String {
    let mut css = STYLE.to_string();
    for k in Kind::ALL {
        let (c, col) = (k.class(), k.colour());
        w!(
            css,
            ".{c} .arrow{{stroke:{col}}}.{c} .head,.{c} .dot{{fill:{col}}}.{c} .flags{{fill:{col}}}\n"
        );
    }
    if multi {
        for (i, (c, tint)) in STREAM_COLOURS.iter().enumerate() {
            w!(
                css,
                ".tag.sc{i}{{fill:{c}}}.state.sc{i} rect{{stroke:{c};fill:{tint}}}.state.inf.sc{i} rect{{fill:#ffffff}}.state.sc{i} text{{fill:{c}}}\n"
            );
        }
    }
    css
}

fn draw_segment(out: &mut String, s: &Segment, y: f64, g: &Geometry, multi: bool, st: &Streams) {
    let t = SegText::new(s, multi);
    let (x0, x1) = if s.from_left {
        (g.xl, g.xr)
    } else {
        (g.xr, g.xl)
    };
    let (y0, y1) = (y + 20.0, y + 20.0 + DROP);
    // Arrowhead along the slope; the line stops at its base so the stroke does not poke
    // through the tip.
    let (dx, dy) = (x1 - x0, y1 - y0);
    let len = (dx * dx + dy * dy).sqrt();
    let (ux, uy) = (dx / len, dy / len);
    let (bx, by) = (x1 - 10.0 * ux, y1 - 10.0 * uy);
    let (nx, ny) = (-uy * 4.5, ux * 4.5);
    let kind = Kind::of(s);
    w!(out, "<g class=\"seg {}\">", kind.class());
    w!(
        out,
        "<line class=\"arrow\" x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{bx:.1}\" y2=\"{by:.1}\"/>"
    );
    w!(
        out,
        "<path class=\"head\" d=\"M{x1:.1} {y1:.1}L{:.1} {:.1}L{:.1} {:.1}Z\"/>",
        bx + nx,
        by + ny,
        bx - nx,
        by - ny
    );
    w!(
        out,
        "<circle class=\"dot\" cx=\"{x0:.1}\" cy=\"{y0:.1}\" r=\"2.5\"/>"
    );
    let mid = (g.xl + g.xr) / 2.0;
    w!(
        out,
        "<text class=\"label\" x=\"{mid:.1}\" y=\"{:.1}\">",
        y + 14.0
    );
    if !t.tag.is_empty() {
        w!(
            out,
            // The space stays outside the tspan: renderers strip a tspan's trailing
            // space, which would glue "#3" to "[SYN]".
            "<tspan class=\"tag {}\">{}</tspan> ",
            st.class(s.stream),
            esc(&t.tag)
        );
    }
    w!(
        out,
        "<tspan class=\"flags\">{}</tspan>{}</text>",
        esc(&t.flags),
        esc(&t.rest)
    );
    if let Some(n) = &t.note {
        w!(
            out,
            "<text class=\"note\" x=\"{mid:.1}\" y=\"{:.1}\">{}</text>",
            y1 + 14.0,
            esc(n)
        );
    }
    // Frame and time in the sender's margin, where the arrow leaves.
    let (mx, anchor) = if s.from_left {
        (g.xl - 10.0, "end")
    } else {
        (g.xr + 10.0, "start")
    };
    w!(
        out,
        "<text class=\"time\" x=\"{mx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
        y0 + 4.0,
        esc(&t.time)
    );
    w!(
        out,
        "<text class=\"frame\" x=\"{mx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
        y0 + 16.0,
        esc(&t.frame)
    );
    out.push_str("</g>\n");
}

fn draw_state(out: &mut String, m: &StateMark, y: f64, g: &Geometry, multi: bool, st: &Streams) {
    let text = state_text(m, multi);
    let bw = state_box_w(&text);
    let cx = if m.left { g.xl } else { g.xr };
    let mut class = String::from("state");
    if m.inferred {
        class.push_str(" inf");
    }
    if multi {
        class.push(' ');
        class.push_str(&st.class(m.stream));
    }
    w!(
        out,
        "<g class=\"{class}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"18\" rx=\"4\"/>\
         <text x=\"{cx:.1}\" y=\"{:.1}\">{}</text></g>\n",
        cx - bw / 2.0,
        y + 5.0,
        y + 18.0,
        esc(&text)
    );
}

/// One legend entry: a small sample of the drawing, then its meaning.
enum Swatch {
    Arrow(Kind),
    State { inferred: bool },
    Stream(usize, usize),
    None,
}

const MAX_LEGEND_STREAMS: usize = 16;

fn legend_entries(streams: &Streams) -> Vec<(Swatch, String)> {
    let mut v = vec![
        (Swatch::Arrow(Kind::Syn), "SYN".to_string()),
        (Swatch::Arrow(Kind::Fin), "FIN".to_string()),
        (Swatch::Arrow(Kind::Rst), "RST".to_string()),
        (Swatch::Arrow(Kind::Data), "data".to_string()),
        (Swatch::Arrow(Kind::Ack), "pure ACK".to_string()),
        (
            Swatch::State { inferred: false },
            "state reported".to_string(),
        ),
        (
            Swatch::State { inferred: true },
            "state (inferred)".to_string(),
        ),
    ];
    if streams.order.len() > 1 {
        for (i, id) in streams.order.iter().enumerate().take(MAX_LEGEND_STREAMS) {
            v.push((
                Swatch::Stream(*id, i % STREAM_COLOURS.len()),
                format!("stream {id}"),
            ));
        }
        // Past a screenful the colours repeat anyway; every label still says "#N".
        let more = streams.order.len().saturating_sub(MAX_LEGEND_STREAMS);
        if more > 0 {
            v.push((
                Swatch::None,
                format!("… {}", plural(more, "more stream", "more streams")),
            ));
        }
    }
    v
}

fn swatch_w(s: &Swatch) -> f64 {
    match s {
        Swatch::Arrow(_) => 30.0,
        Swatch::State { .. } => state_box_w("STATE"),
        Swatch::Stream(id, _) => state_box_w(&format!("#{id}")),
        // No sample: the text starts where the sample would.
        Swatch::None => -6.0,
    }
}

fn entry_w(s: &Swatch, text: &str) -> f64 {
    swatch_w(s) + 6.0 + mono_w(text, 11.0) + 18.0
}

/// Lays the legend out in lines no wider than `width`; returns each entry's (x, line).
fn legend_layout(entries: &[(Swatch, String)], width: f64) -> (Vec<(f64, usize)>, usize) {
    let mut pos = Vec::with_capacity(entries.len());
    let (mut x, mut line) = (16.0, 0);
    for (s, text) in entries {
        let w = entry_w(s, text);
        if x > 16.0 && x + w > width - 8.0 {
            x = 16.0;
            line += 1;
        }
        pos.push((x, line));
        x += w;
    }
    (pos, if entries.is_empty() { 0 } else { line + 1 })
}

fn draw_legend(out: &mut String, entries: &[(Swatch, String)], top: f64, width: f64) {
    let (pos, _) = legend_layout(entries, width);
    out.push_str("<g class=\"legend\">");
    for ((s, text), (x, line)) in entries.iter().zip(pos) {
        let y = top + line as f64 * LEGEND_LINE;
        let sw = swatch_w(s);
        match s {
            Swatch::Arrow(k) => w!(
                out,
                "<g class=\"{}\"><line class=\"arrow sample\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
                 <path class=\"head sample\" d=\"M{:.1} {:.1}l-9 -4.5v9Z\"/></g>",
                k.class(),
                y + 8.0,
                x + sw - 8.0,
                y + 8.0,
                x + sw,
                y + 8.0
            ),
            Swatch::State { inferred } => w!(
                out,
                "<g class=\"state{}\"><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{sw:.1}\" height=\"16\" rx=\"4\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">STATE</text></g>",
                if *inferred { " inf" } else { "" },
                y,
                x + sw / 2.0,
                y + 12.0
            ),
            Swatch::Stream(id, slot) => w!(
                out,
                "<g class=\"state sc{slot}\"><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{sw:.1}\" height=\"16\" rx=\"4\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">#{id}</text></g>",
                y,
                x + sw / 2.0,
                y + 12.0
            ),
            Swatch::None => {}
        }
        w!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + sw + 6.0,
            y + 12.0,
            esc(text)
        );
    }
    out.push_str("</g>\n");
}

/// One line under the title: how much there is, over which times.
fn subtitle(ladder: &Ladder, streams: &Streams) -> String {
    let segs: Vec<&Segment> = ladder
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Segment(s) => Some(s),
            Item::State(_) => None,
        })
        .collect();
    let mut sub = format!(
        "{} · {}",
        plural(segs.len(), "segment", "segments"),
        plural(streams.order.len(), "stream", "streams")
    );
    if let (Some(a), Some(b)) = (segs.first(), segs.last()) {
        w!(sub, " · {} to {}", fmt_time(a.time), fmt_time(b.time));
    }
    sub.push_str(" · rows in capture order, not to time scale");
    sub
}

fn draw(ladder: &Ladder, rows: &[Row<'_>]) -> String {
    let streams = Streams::new(&ladder.items);
    let multi = streams.order.len() > 1;
    let entries = legend_entries(&streams);
    // The legend wraps, so it asks for no more width than its widest single entry.
    let legend_w = entries
        .iter()
        .map(|(s, t)| entry_w(s, t) + 32.0)
        .fold(0.0, f64::max);
    let title = clip(&ladder.title, MAX_TEXT);
    let title = if title.is_empty() {
        "TCP ladder".to_string()
    } else {
        title
    };
    let sub = subtitle(ladder, &streams);
    let min_w = legend_w
        .max(sans_w(&title, TITLE_PX) + 32.0)
        .max(mono_w(&sub, SUB_PX) + 32.0);
    let g = measure(ladder, rows, multi, min_w);

    let body_h: f64 = if rows.is_empty() {
        40.0
    } else {
        rows.iter().map(row_height).sum()
    };
    let body_end = BODY_TOP + body_h + 10.0;
    let legend_top = body_end + 22.0;
    let (_, legend_lines) = legend_layout(&entries, g.width);
    let height = (legend_top + legend_lines as f64 * LEGEND_LINE + 8.0).ceil();
    let width = g.width;

    let mut out = String::with_capacity(4096 + rows.len() * 600);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n"
    );
    w!(out, "<title>{}</title>\n", esc(&title));
    w!(out, "<style>\n{}</style>\n", style(multi));
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");

    // Header: title, a one-line summary, and the two hosts.
    w!(
        out,
        "<text class=\"title\" x=\"16\" y=\"28\">{}</text>\n",
        esc(&title)
    );
    w!(
        out,
        "<text class=\"sub\" x=\"16\" y=\"46\">{}</text>\n",
        esc(&sub)
    );
    for (x, name) in [(g.xl, &ladder.left), (g.xr, &ladder.right)] {
        let name = clip(name, MAX_NAME);
        let bw = mono_w(&name, NAME_PX) + 20.0;
        w!(
            out,
            "<rect class=\"whobox\" x=\"{:.1}\" y=\"60\" width=\"{bw:.1}\" height=\"26\" rx=\"5\"/>\
             <text class=\"who\" x=\"{x:.1}\" y=\"78\">{}</text>\n",
            x - bw / 2.0,
            esc(&name)
        );
    }

    // Lifelines, dotted across idle breaks.
    let mut gaps = Vec::new();
    let mut y = BODY_TOP;
    for row in rows {
        if let Row::Idle(_) = row {
            gaps.push((y + 3.0, y + row_height(row) - 3.0));
        }
        y += row_height(row);
    }
    for x in [g.xl, g.xr] {
        let mut from = 86.0;
        for &(a, b) in &gaps {
            w!(
                out,
                "<line class=\"life\" x1=\"{x:.1}\" y1=\"{from:.1}\" x2=\"{x:.1}\" y2=\"{a:.1}\"/>\
                 <line class=\"lifegap\" x1=\"{x:.1}\" y1=\"{a:.1}\" x2=\"{x:.1}\" y2=\"{b:.1}\"/>"
            );
            // The "//" break mark of a cut axis: time went on here, unshown.
            let m = (a + b) / 2.0;
            w!(
                out,
                "<path class=\"brk\" d=\"M{:.1} {:.1}l12 -5M{:.1} {:.1}l12 -5\"/>",
                x - 6.0,
                m,
                x - 6.0,
                m + 5.0
            );
            from = b;
        }
        w!(
            out,
            "<line class=\"life\" x1=\"{x:.1}\" y1=\"{from:.1}\" x2=\"{x:.1}\" y2=\"{body_end:.1}\"/>\
             <line class=\"life\" x1=\"{:.1}\" y1=\"{body_end:.1}\" x2=\"{:.1}\" y2=\"{body_end:.1}\"/>\n",
            x - 8.0,
            x + 8.0
        );
    }

    let mid = (g.xl + g.xr) / 2.0;
    if rows.is_empty() {
        w!(
            out,
            "<text class=\"empty\" x=\"{mid:.1}\" y=\"{:.1}\">no segments</text>\n",
            BODY_TOP + 24.0
        );
    }
    let mut y = BODY_TOP;
    for row in rows {
        match row {
            Row::Seg(s) => draw_segment(&mut out, s, y, &g, multi, &streams),
            Row::States(marks) => {
                for m in marks {
                    draw_state(&mut out, m, y, &g, multi, &streams);
                }
            }
            Row::Band(b) => {
                let (main, detail) = band_text(b, multi);
                w!(
                    out,
                    "<g class=\"band\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"40\" rx=\"3\"/>\
                     <text x=\"{mid:.1}\" y=\"{:.1}\">{}</text>\
                     <text class=\"detail\" x=\"{mid:.1}\" y=\"{:.1}\">{}</text></g>\n",
                    g.xl - BAND_OVERHANG,
                    y + 7.0,
                    g.xr - g.xl + 2.0 * BAND_OVERHANG,
                    y + 23.0,
                    esc(&main),
                    y + 39.0,
                    esc(&detail)
                );
            }
            Row::Idle(gap) => w!(
                out,
                "<text class=\"idle\" x=\"{mid:.1}\" y=\"{:.1}\">{}</text>\n",
                y + 19.0,
                esc(&idle_text(*gap))
            ),
            Row::Cap { segments, states } => w!(
                out,
                "<text class=\"cap\" x=\"{mid:.1}\" y=\"{:.1}\">{}</text>\n",
                y + 21.0,
                esc(&cap_text(*segments, *states))
            ),
        }
        y += row_height(row);
    }

    draw_legend(&mut out, &entries, legend_top, width);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod ack_run_tests {
    use super::*;

    fn ack(frame: u64) -> Item {
        Item::Segment(Segment {
            frame,
            time: frame as f64 * 1e-4,
            from_left: true,
            stream: 0,
            flags: "ACK".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds ladders item by item, numbering frames as a capture would.
    #[derive(Default)]
    struct B {
        items: Vec<Item>,
        frame: u64,
    }

    impl B {
        #[allow(clippy::too_many_arguments)]
        fn seg_in(
            &mut self,
            stream: usize,
            time: f64,
            from_left: bool,
            flags: &str,
            label: &str,
            len: usize,
            note: Option<&str>,
        ) -> &mut Self {
            self.frame += 1;
            self.items.push(Item::Segment(Segment {
                frame: self.frame,
                time,
                from_left,
                stream,
                flags: flags.to_string(),
                label: label.to_string(),
                len,
                note: note.map(str::to_string),
            }));
            self
        }

        fn seg(
            &mut self,
            time: f64,
            from_left: bool,
            flags: &str,
            label: &str,
            len: usize,
            note: Option<&str>,
        ) -> &mut Self {
            self.seg_in(0, time, from_left, flags, label, len, note)
        }

        fn state_in(
            &mut self,
            stream: usize,
            time: f64,
            left: bool,
            state: &str,
            inferred: bool,
        ) -> &mut Self {
            self.items.push(Item::State(StateMark {
                time,
                left,
                stream,
                state: state.to_string(),
                inferred,
            }));
            self
        }

        fn state(&mut self, time: f64, left: bool, state: &str) -> &mut Self {
            // As taplab sees it: the server's states come from its own stack, the
            // client's are deduced from the segments.
            self.state_in(0, time, left, state, left)
        }

        fn ladder(&self, title: &str) -> Ladder {
            Ladder {
                title: title.to_string(),
                left: "client 192.168.69.100".to_string(),
                right: "server 192.168.69.1:80".to_string(),
                items: self.items.clone(),
            }
        }
    }

    /// Handshake on stream `s` between `t` and `t + 0.0002`.
    fn handshake(b: &mut B, s: usize, t: f64) {
        b.state_in(s, t, true, "SYN_SENT", true)
            .seg_in(s, t, true, "SYN", "Seq=0 Win=64240 Len=0 MSS=1460", 0, None)
            .state_in(s, t, false, "SYN_RCVD", false)
            .seg_in(
                s,
                t + 0.0001,
                false,
                "SYN, ACK",
                "Seq=0 Ack=1 Len=0",
                0,
                None,
            )
            .state_in(s, t + 0.0001, true, "ESTABLISHED", true)
            .seg_in(s, t + 0.0002, true, "ACK", "Seq=1 Ack=1 Len=0", 0, None)
            .state_in(s, t + 0.0002, false, "ESTABLISHED", false);
    }

    /// The four-way close, client first.
    fn close(b: &mut B, t: f64) {
        b.state(t, true, "FIN_WAIT_1")
            .seg(t, true, "FIN, ACK", "Seq=77 Ack=1928 Len=0", 0, None)
            .state(t, false, "CLOSE_WAIT")
            .seg(t + 0.0001, false, "ACK", "Seq=1928 Ack=78 Len=0", 0, None)
            .state(t + 0.0001, true, "FIN_WAIT_2")
            .state(t + 0.0001, false, "LAST_ACK")
            .seg(
                t + 0.0002,
                false,
                "FIN, ACK",
                "Seq=1928 Ack=78 Len=0",
                0,
                None,
            )
            .state(t + 0.0002, true, "TIME_WAIT")
            .seg(t + 0.0003, true, "ACK", "Seq=78 Ack=1929 Len=0", 0, None)
            .state(t + 0.0003, false, "CLOSED");
    }

    /// A small page fetch: handshake, GET, a two-segment response, ACKs, close.
    fn page_fetch() -> Ladder {
        let mut b = B::default();
        handshake(&mut b, 0, 0.0);
        b.seg(
            0.0003,
            true,
            "PSH, ACK",
            "Seq=1 Ack=1 Len=76",
            76,
            Some("GET / HTTP/1.1"),
        )
        .seg(0.0004, false, "ACK", "Seq=1 Ack=77 Len=0", 0, None)
        .seg(0.0009, false, "ACK", "Seq=1 Ack=77 Len=1448", 1448, None)
        .seg(
            0.0010,
            false,
            "PSH, ACK",
            "Seq=1449 Ack=77 Len=479",
            479,
            Some("HTTP/1.1 200 OK (text/html)"),
        )
        .seg(0.0011, true, "ACK", "Seq=77 Ack=1928 Len=0", 0, None);
        close(&mut b, 0.002);
        b.ladder("GET /")
    }

    /// `n` bulk segments from the server, each second one ACKed by the client, after a
    /// handshake; then the client's final ACK is the last item.
    fn bulk(n: usize) -> Ladder {
        let mut b = B::default();
        handshake(&mut b, 0, 0.0);
        for i in 1..=n {
            let t = i as f64 * 0.0001;
            b.seg(t, false, "ACK", &format!("Len=1448 #{i}"), 1448, None);
            if i % 2 == 0 {
                b.seg(t + 0.00001, true, "ACK", &format!("ack #{i}"), 0, None);
            }
        }
        b.ladder("bulk")
    }

    fn arrows(svg: &str) -> usize {
        svg.matches("<line class=\"arrow\" ").count()
    }

    /// The y of the text element whose content ends in `needle` ("…>TEXT<").
    fn text_y(svg: &str, needle: &str) -> f64 {
        let at = svg.find(needle).unwrap_or_else(|| panic!("no {needle}"));
        let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
        let y = &tag[tag.find(" y=\"").unwrap() + 4..];
        y[..y.find('"').unwrap()].parse().unwrap()
    }

    fn render(l: &Ladder) -> String {
        let svg = render_svg(l, &LadderOptions::default());
        check_xml(&svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"));
        svg
    }

    // -----------------------------------------------------------------------------------
    // A small XML well-formedness checker: enough of XML 1.0 for what the renderer emits
    // (declaration, comments, elements, quoted attributes, text, entity references), and
    // strict about exactly the mistakes a hand-written SVG writer can make.

    fn check_entities(s: &str) -> Result<(), String> {
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            let after = &rest[i + 1..];
            let end = after
                .find(';')
                .ok_or_else(|| format!("unterminated & in {s:?}"))?;
            let name = &after[..end];
            let ok = match name {
                "amp" | "lt" | "gt" | "quot" | "apos" => true,
                _ => {
                    let code = if let Some(h) = name.strip_prefix("#x") {
                        u32::from_str_radix(h, 16).ok()
                    } else if let Some(d) = name.strip_prefix('#') {
                        d.parse().ok()
                    } else {
                        None
                    };
                    code.and_then(char::from_u32).is_some()
                }
            };
            if !ok {
                return Err(format!("bad entity &{name}; in {s:?}"));
            }
            rest = &after[end + 1..];
        }
        if s.contains('<') {
            return Err(format!("raw < in {s:?}"));
        }
        if let Some(c) = s.chars().find(|c| {
            (*c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
        }) {
            return Err(format!("character {c:?} is not allowed in XML"));
        }
        Ok(())
    }

    /// Length in bytes of the XML name at the start of `s` (0 if none).
    fn name_len(s: &str) -> usize {
        let start = |c: char| c.is_alphabetic() || c == '_' || c == ':';
        let more = |c: char| start(c) || c.is_alphanumeric() || c == '-' || c == '.';
        s.char_indices()
            .find(|&(i, c)| if i == 0 { !start(c) } else { !more(c) })
            .map_or(s.len(), |(i, _)| i)
    }

    fn check_xml(doc: &str) -> Result<(), String> {
        let mut rest = doc;
        if rest.starts_with("<?xml") {
            let end = rest.find("?>").ok_or("unclosed XML declaration")?;
            rest = &rest[end + 2..];
        }
        let mut stack: Vec<&str> = Vec::new();
        let mut roots = 0;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("<!--") {
                let end = r.find("-->").ok_or("unclosed comment")?;
                rest = &r[end + 3..];
            } else if let Some(r) = rest.strip_prefix("</") {
                let n = name_len(r);
                let name = &r[..n];
                let r = r[n..].trim_start();
                let r = r.strip_prefix('>').ok_or(format!("bad end tag </{name}"))?;
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
                rest = r;
            } else if let Some(r) = rest.strip_prefix('<') {
                let n = name_len(r);
                if n == 0 {
                    return Err(format!("bad tag at {:?}", &r[..r.len().min(20)]));
                }
                let name = &r[..n];
                if stack.is_empty() {
                    roots += 1;
                }
                let mut r = &r[n..];
                let mut seen = Vec::new();
                loop {
                    let t = r.trim_start();
                    if let Some(t) = t.strip_prefix("/>") {
                        r = t;
                        break;
                    }
                    if let Some(t) = t.strip_prefix('>') {
                        stack.push(name);
                        r = t;
                        break;
                    }
                    if t.len() == r.len() {
                        return Err(format!("no space before attribute in <{name}"));
                    }
                    let an = name_len(t);
                    if an == 0 {
                        return Err(format!(
                            "bad attribute in <{name}: {:?}",
                            &t[..t.len().min(20)]
                        ));
                    }
                    let attr = &t[..an];
                    if seen.contains(&attr) {
                        return Err(format!("duplicate {attr} in <{name}"));
                    }
                    seen.push(attr);
                    let t = t[an..].trim_start();
                    let t = t
                        .strip_prefix('=')
                        .ok_or(format!("{attr} without = in <{name}"))?;
                    let t = t.trim_start();
                    let q = t.chars().next().filter(|c| *c == '"' || *c == '\'');
                    let q = q.ok_or(format!("unquoted {attr} in <{name}"))?;
                    let end = t[1..]
                        .find(q)
                        .ok_or(format!("unclosed {attr} in <{name}"))?;
                    check_entities(&t[1..1 + end])?;
                    r = &t[end + 2..];
                }
                rest = r;
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                let text = &rest[..end];
                if stack.is_empty() && !text.trim().is_empty() {
                    return Err(format!("text outside the root: {text:?}"));
                }
                check_entities(text)?;
                rest = &rest[end..];
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(())
    }

    #[test]
    fn the_checker_catches_what_it_should() {
        assert!(
            check_xml("<?xml version=\"1.0\"?>\n<a x=\"1\" y='&amp;'><b/>t &lt; &#x2192;</a>\n")
                .is_ok()
        );
        for bad in [
            "<a><b></a></b>",
            "<a x=1/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a>&bogus;</a>",
            "<a>x & y</a>",
            "<a>x < y</a>",
            "<a x=\"<\"/>",
            "<a/><b/>",
            "<a>",
            "<a x=\"1\"y=\"2\"/>",
            "<a>\u{1}</a>",
            "text<a/>",
        ] {
            assert!(check_xml(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn default_options() {
        let o = LadderOptions::default();
        assert_eq!((o.condense_after, o.max_items), (6, 400));
    }

    #[test]
    fn a_page_fetch_has_one_arrow_per_segment_and_its_states() {
        let l = page_fetch();
        let svg = render(&l);
        assert_eq!(
            arrows(&svg),
            12,
            "3 handshake + GET + ACK + 2 data + ACK + 4 close"
        );
        assert_eq!(svg.matches("<path class=\"head\" ").count(), 12);
        assert_eq!(svg.matches("class=\"seg syn\"").count(), 2);
        assert_eq!(svg.matches("class=\"seg fin\"").count(), 2);
        assert_eq!(svg.matches("class=\"seg data\"").count(), 3);
        assert_eq!(svg.matches("class=\"seg ack\"").count(), 5);
        for state in [
            "SYN_SENT",
            "SYN_RCVD",
            "ESTABLISHED",
            "FIN_WAIT_1",
            "CLOSE_WAIT",
            "FIN_WAIT_2",
            "LAST_ACK",
            "TIME_WAIT",
            "CLOSED",
        ] {
            assert!(svg.contains(&format!(">{state}</text>")), "{state}");
        }
        // The client's states are inferred, the server's are not; plus one legend swatch each.
        assert_eq!(svg.matches("<g class=\"state inf\">").count(), 6);
        assert_eq!(svg.matches("<g class=\"state\">").count(), 6);
        assert!(svg.contains("state (inferred)"));
        assert!(svg.contains("[SYN, ACK]</tspan> Seq=0 Ack=1 Len=0"));
        assert!(svg.contains(">GET / HTTP/1.1</text>"));
        assert!(svg.contains(">frame 1</text>") && svg.contains(">0.000300 s</text>"));
        // FIN_WAIT_2 and LAST_ACK follow each other on different lifelines: one row.
        assert_eq!(text_y(&svg, ">FIN_WAIT_2<"), text_y(&svg, ">LAST_ACK<"));
        assert!(text_y(&svg, ">SYN_SENT<") < text_y(&svg, ">SYN_RCVD<"));
        assert!(!svg.contains("<g class=\"band\">") && !svg.contains("<text class=\"idle\""));
        assert!(svg.contains("<title>GET /</title>"));
        assert!(!svg.contains("<script") && !svg.contains("href"));
    }

    #[test]
    fn text_is_escaped() {
        let mut b = B::default();
        b.seg(
            0.0,
            true,
            "PSH, ACK",
            "Seq=1 <x> & \"q\" 'a' → ü\u{1}\nend",
            3,
            Some("a<b&c"),
        )
        .state_in(0, 0.0, true, "<EST&>", false);
        let mut l = b.ladder("a < b & \"c\"");
        l.left = "client <1>".to_string();
        let svg = render(&l);
        assert!(
            svg.contains(
                "Seq=1 &lt;x&gt; &amp; &quot;q&quot; &apos;a&apos; → ü\u{FFFD} end</text>"
            )
        );
        assert!(svg.contains(">a&lt;b&amp;c</text>"));
        assert!(svg.contains("<title>a &lt; b &amp; &quot;c&quot;</title>"));
        assert!(svg.contains(">client &lt;1&gt;</text>"));
        assert!(svg.contains(">&lt;EST&amp;&gt;</text>"));
        assert!(!svg.contains("<x>") && !svg.contains('\u{1}'));
    }

    #[test]
    fn long_labels_are_cut_and_widen_the_picture() {
        let mut b = B::default();
        b.seg(0.0, true, "ACK", &"x".repeat(500), 0, None);
        let svg = render(&b.ladder("wide"));
        assert!(svg.contains(&format!("{}…</text>", "x".repeat(112))));
        let short = render(&page_fetch());
        let width = |s: &str| -> f64 {
            let w = s.split("width=\"").nth(1).unwrap();
            w[..w.find('"').unwrap()].parse().unwrap()
        };
        assert!(width(&svg) > width(&short));
        assert!(width(&svg) < 1400.0, "{}", width(&svg));
    }

    #[test]
    fn a_300_segment_run_is_condensed_to_two_a_band_and_two() {
        let svg = render(&bulk(300));
        // 3 handshake + data 1, 2 + data 299, 300 + the ACK of 300 after the run.
        assert_eq!(arrows(&svg), 8);
        assert_eq!(svg.matches("<g class=\"band\">").count(), 1);
        // Hidden: data 3..=298 and the ACKs of 2, 4, …, 298.
        assert!(
            svg.contains("⋮ 296 more segments (429 KB) and 149 ACKs in 29.6 ms ⋮"),
            "{svg}"
        );
        assert!(svg.contains("frames 6–450 not drawn · data ← · ACKs →"));
        for shown in ["#1<", "#2<", "#299<", "#300<", "ack #300<"] {
            assert!(svg.contains(&format!("Len=1448 {shown}")) || svg.contains(shown));
        }
        assert!(!svg.contains("Len=1448 #3<") && !svg.contains("ack #2<"));
    }

    #[test]
    fn condensing_starts_just_past_condense_after() {
        let six = render(&bulk(6));
        assert_eq!(arrows(&six), 3 + 6 + 3);
        assert!(!six.contains("class=\"band\""));
        let seven = render(&bulk(7));
        // 2 + band + 2 + the ACK of 6 that lies between the last two.
        assert_eq!(arrows(&seven), 3 + 2 + 2 + 1);
        assert!(seven.contains("⋮ 3 more segments (4.3 KB) and 2 ACKs in "));
        let opts = LadderOptions {
            condense_after: 100,
            ..LadderOptions::default()
        };
        let svg = render_svg(&bulk(50), &opts);
        assert!(!svg.contains("class=\"band\""));
    }

    #[test]
    fn notes_flags_and_other_streams_are_never_condensed() {
        let mut b = B::default();
        for i in 0..20 {
            let note = (i == 10).then_some("TCP Retransmission");
            b.seg(i as f64 * 0.001, false, "ACK", "data", 1000, note);
        }
        b.seg(0.03, false, "FIN, PSH, ACK", "data", 1000, None);
        for i in 0..20 {
            b.seg(0.04 + i as f64 * 0.001, false, "ACK", "data", 1000, None);
            b.seg_in(
                1,
                0.04 + i as f64 * 0.001,
                true,
                "ACK",
                "other stream",
                0,
                None,
            );
        }
        let svg = render(&b.ladder("x"));
        // Two runs of 10 and 9 around the retransmission, each condensed; the FIN and the
        // interleaved run (broken at every step by stream 1) are drawn whole.
        assert_eq!(svg.matches("class=\"band\"").count(), 2);
        assert!(svg.contains("⋮ #0 6 more segments (6.0 KB) in "));
        assert!(svg.contains("⋮ #0 5 more segments (5.0 KB) in "));
        assert!(svg.contains(">TCP Retransmission</text>"));
        assert_eq!(arrows(&svg), 4 + 1 + 4 + 1 + 40);
    }

    #[test]
    fn idle_gaps_over_a_second_get_a_break() {
        let mut b = B::default();
        b.seg(0.0, true, "ACK", "a", 0, None)
            .seg(0.9, false, "ACK", "b", 0, None)
            .seg(5.9, true, "ACK", "c", 0, None)
            .state(6.0, true, "X")
            .state(8.5, true, "Y");
        let svg = render(&b.ladder("idle"));
        assert!(svg.contains(">… 5.0 s idle …</text>"));
        assert!(svg.contains(">… 2.5 s idle …</text>"));
        assert_eq!(svg.matches("class=\"idle\"").count(), 2);
        // Each break interrupts both lifelines.
        assert_eq!(svg.matches("<line class=\"lifegap\"").count(), 4);
        assert!(!render(&page_fetch()).contains("class=\"idle\""));
    }

    #[test]
    fn rows_are_capped() {
        let mut b = B::default();
        for i in 0..1000 {
            b.seg(i as f64 * 1e-4, i % 2 == 0, "ACK", "x", 0, Some("Dup ACK"));
        }
        b.state(0.2, true, "A")
            .state(0.2, false, "B")
            .state(0.3, true, "C");
        let l = b.ladder("cap");
        let opts = LadderOptions {
            max_items: 50,
            ..LadderOptions::default()
        };
        let svg = render_svg(&l, &opts);
        check_xml(&svg).unwrap();
        assert_eq!(arrows(&svg), 50);
        assert!(svg.contains(">… 950 more segments not drawn (and 3 state changes)</text>"));
        // The default cap of 400 rows.
        let svg = render(&l);
        assert_eq!(arrows(&svg), 400);
        assert!(svg.contains("… 600 more segments not drawn"));
        // A band counts as one row, and what it hides counts as not drawn when cut.
        let opts = LadderOptions {
            max_items: 5,
            ..LadderOptions::default()
        };
        let svg = render_svg(&bulk(300), &opts);
        assert!(svg.contains(">… 451 more segments not drawn (and 1 state change)</text>"));
        let opts = LadderOptions {
            max_items: 0,
            ..LadderOptions::default()
        };
        let svg = render_svg(&page_fetch(), &opts);
        check_xml(&svg).unwrap();
        assert_eq!(arrows(&svg), 0);
        assert!(svg.contains("… 12 more segments not drawn (and 10 state changes)"));
    }

    #[test]
    fn a_huge_capture_stays_cheap() {
        let mut b = B::default();
        for i in 0..200_000 {
            let from_left = i % 3 == 0;
            b.seg_in(i % 50, i as f64 * 1e-5, from_left, "ACK", "Len=0", 0, None);
        }
        let start = std::time::Instant::now();
        let svg = render(&b.ladder("huge"));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(arrows(&svg), 400);
        assert!(svg.contains(">… 199600 more segments not drawn</text>"));
        // The legend names the first 16 streams only.
        assert!(svg.contains(">stream 15</text>") && !svg.contains(">stream 16</text>"));
        assert!(svg.contains(">… 34 more streams</text>"));
        assert!(svg.len() < 1_000_000, "{} bytes", svg.len());
    }

    #[test]
    fn interleaved_streams_are_tagged_and_coloured() {
        let mut b = B::default();
        handshake(&mut b, 3, 0.0);
        handshake(&mut b, 4, 0.00005);
        // Interleave the two handshakes as two parallel connections would be.
        let (s3, s4) = b.items.split_at(7);
        let mut items = Vec::new();
        for (x, y) in s3.iter().zip(s4) {
            items.push(x.clone());
            items.push(y.clone());
        }
        let l = Ladder {
            items,
            ..b.ladder("two connections")
        };
        let svg = render(&l);
        assert_eq!(arrows(&svg), 6);
        assert!(svg.contains("<tspan class=\"tag sc0\">#3</tspan> <tspan"));
        assert!(svg.contains("<tspan class=\"tag sc1\">#4</tspan> <tspan"));
        assert_eq!(svg.matches("<g class=\"state inf sc1\">").count(), 2);
        // Two marks and the legend's swatch.
        assert_eq!(svg.matches("<g class=\"state sc0\">").count(), 3);
        assert!(svg.contains(">#4 ESTABLISHED</text>"));
        assert!(svg.contains(">stream 3</text>") && svg.contains(">stream 4</text>"));
        assert!(svg.contains(".tag.sc1{fill:#0a7a7a}"));
        assert!(svg.contains("2 streams"));
        // One stream: no tags, no stream legend.
        let one = render(&page_fetch());
        assert!(!one.contains("class=\"tag") && !one.contains(">stream "));
    }

    #[test]
    fn an_empty_ladder_is_still_a_picture() {
        let svg = render(&Ladder::default());
        assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("viewBox=\"0 0 "));
        assert!(svg.contains("<title>TCP ladder</title>"));
        assert!(svg.contains(">no segments</text>"));
        assert_eq!(arrows(&svg), 0);
    }

    /// The lab's own exchange, as the tap captures it: `GET /` then `GET /intro.wav`,
    /// whose 260-segment response is condensed, then the client closes.
    fn sample() -> Ladder {
        let mut b = B::default();
        b.state(0.0, true, "CLOSED")
            .state(0.0, false, "LISTEN")
            .state(0.0, true, "SYN_SENT")
            .seg(
                0.0,
                true,
                "SYN",
                "Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM TSval=2941530637 TSecr=0 WS=1024",
                0,
                None,
            )
            .state(0.000_094, false, "SYN_RCVD")
            .seg(
                0.000_094,
                false,
                "SYN, ACK",
                "Seq=0 Ack=1 Win=65535 Len=0 MSS=1460 WS=128 SACK_PERM TSval=4102 TSecr=2941530637",
                0,
                None,
            )
            .state(0.000_121, true, "ESTABLISHED")
            .seg(
                0.000_121,
                true,
                "ACK",
                "Seq=1 Ack=1 Win=64512 Len=0 TSval=2941530637 TSecr=4102",
                0,
                None,
            )
            .state(0.000_121, false, "ESTABLISHED")
            .seg(
                0.000_315,
                true,
                "PSH, ACK",
                "Seq=1 Ack=1 Win=64512 Len=76 TSval=2941530637 TSecr=4102",
                76,
                Some("GET / HTTP/1.1"),
            )
            .seg(
                0.000_402,
                false,
                "ACK",
                "Seq=1 Ack=77 Win=65459 Len=0",
                0,
                None,
            )
            .seg(
                0.000_980,
                false,
                "ACK",
                "Seq=1 Ack=77 Win=65459 Len=1448",
                1448,
                None,
            )
            .seg(
                0.000_995,
                false,
                "PSH, ACK",
                "Seq=1449 Ack=77 Win=65459 Len=479",
                479,
                Some("HTTP/1.1 200 OK  (text/html)"),
            )
            .seg(
                0.001_030,
                true,
                "ACK",
                "Seq=77 Ack=1449 Win=63488 Len=0",
                0,
                None,
            )
            .seg(
                0.001_041,
                true,
                "ACK",
                "Seq=77 Ack=1928 Win=63488 Len=0",
                0,
                None,
            )
            .seg(
                4.203_110,
                true,
                "PSH, ACK",
                "Seq=77 Ack=1928 Win=64512 Len=83",
                83,
                Some("GET /intro.wav HTTP/1.1"),
            )
            .seg(
                4.203_190,
                false,
                "ACK",
                "Seq=1928 Ack=160 Win=65376 Len=0",
                0,
                None,
            );
        let mut seq = 1928;
        for i in 0..260 {
            let t = 4.2035 + i as f64 * 0.000_05;
            let last = i == 259;
            let len = if last { 733 } else { 1448 };
            let label = format!("Seq={seq} Ack=160 Win=65376 Len={len}");
            if last {
                b.seg(
                    t,
                    false,
                    "PSH, ACK",
                    &label,
                    len,
                    Some("HTTP/1.1 200 OK  (audio/x-wav)"),
                );
            } else {
                b.seg(t, false, "ACK", &label, len, None);
            }
            seq += len;
            if i % 2 == 1 || last {
                let ack = format!("Seq=160 Ack={seq} Win=64512 Len=0");
                b.seg(t + 0.000_02, true, "ACK", &ack, 0, None);
            }
        }
        let t = 4.2035 + 260.0 * 0.000_05 + 0.4;
        b.state(t, true, "FIN_WAIT_1")
            .seg(
                t,
                true,
                "FIN, ACK",
                &format!("Seq=160 Ack={seq} Win=64512 Len=0"),
                0,
                None,
            )
            .state(t + 0.000_08, false, "CLOSE_WAIT")
            .seg(
                t + 0.000_08,
                false,
                "ACK",
                &format!("Seq={seq} Ack=161 Win=65376 Len=0"),
                0,
                None,
            )
            .state(t + 0.000_08, true, "FIN_WAIT_2")
            .state(t + 0.000_3, false, "LAST_ACK")
            .seg(
                t + 0.000_3,
                false,
                "FIN, ACK",
                &format!("Seq={seq} Ack=161 Win=65376 Len=0"),
                0,
                None,
            )
            .state(t + 0.000_33, true, "TIME_WAIT")
            .seg(
                t + 0.000_33,
                true,
                "ACK",
                &format!("Seq=161 Ack={} Win=64512 Len=0", seq + 1),
                0,
                None,
            )
            .state(t + 0.000_33, false, "CLOSED");
        b.ladder("taplab: GET / and GET /intro.wav, then the client closes")
    }

    /// A browser's two parallel connections: stream 0 fetches the page, stream 1 a
    /// stylesheet and is then reset.
    fn two_streams() -> Ladder {
        let mut b = B::default();
        handshake(&mut b, 0, 0.0);
        handshake(&mut b, 1, 0.000_05);
        let (s0, s1) = b.items.split_at(7);
        let mut items = Vec::new();
        for (x, y) in s0.iter().zip(s1) {
            items.push(x.clone());
            items.push(y.clone());
        }
        b.items = items;
        b.seg_in(
            0,
            0.0004,
            true,
            "PSH, ACK",
            "Seq=1 Ack=1 Len=76",
            76,
            Some("GET / HTTP/1.1"),
        )
        .seg_in(
            1,
            0.0005,
            true,
            "PSH, ACK",
            "Seq=1 Ack=1 Len=84",
            84,
            Some("GET /style.css HTTP/1.1"),
        );
        for i in 0..8 {
            let t = 0.0006 + i as f64 * 0.000_1;
            b.seg_in(
                0,
                t,
                false,
                "ACK",
                &format!("Seq={} Ack=77 Len=1448", 1 + 1448 * i),
                1448,
                None,
            );
        }
        b.seg_in(0, 0.0015, true, "ACK", "Seq=77 Ack=11585 Len=0", 0, None)
            .seg_in(
                1,
                0.0016,
                false,
                "PSH, ACK",
                "Seq=1 Ack=85 Len=912",
                912,
                Some("HTTP/1.1 200 OK  (text/css)"),
            )
            .seg_in(1, 0.0017, true, "RST, ACK", "Seq=85 Ack=913 Len=0", 0, None)
            .state_in(1, 0.0017, true, "CLOSED", true)
            .state_in(1, 0.0017, false, "CLOSED", false);
        b.ladder("two connections, one reset")
    }

    /// Writes `svg` and, when rsvg-convert is installed, its rendering to
    /// target/test-artifacts/NAME.{svg,png} where a person can look at them; checks the
    /// rendering succeeded and returns the PNG.
    fn to_png(name: &str, svg: &str) -> Option<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        let (svg_path, png_path) = (
            dir.join(format!("{name}.svg")),
            dir.join(format!("{name}.png")),
        );
        std::fs::write(&svg_path, svg).unwrap();
        let have = std::process::Command::new("rsvg-convert")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have {
            eprintln!("rsvg-convert missing (Debian: librsvg2-bin): not rendering {svg_path:?}");
            return None;
        }
        let _ = std::fs::remove_file(&png_path);
        let out = std::process::Command::new("rsvg-convert")
            .arg("-o")
            .arg(&png_path)
            .arg(&svg_path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "rsvg-convert: {stderr}"
        );
        let png = std::fs::read(&png_path).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
            "{} bytes",
            png.len()
        );
        // IHDR: the PNG is as wide and tall as the SVG says.
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let (w, h) = (be(&png[16..20]), be(&png[20..24]));
        assert!(
            svg.contains(&format!("width=\"{w}\" height=\"{h}\"")),
            "{w}x{h}"
        );
        Some(png)
    }

    #[test]
    fn the_samples_render_to_png() {
        let svg = render(&sample());
        assert!(svg.contains("⋮ 255 more segments (369 KB) and 128 ACKs in 12.7 ms ⋮"));
        assert!(svg.contains(">… 4.2 s idle …</text>"));
        assert_eq!(arrows(&svg), 22);
        if let Some(png) = to_png("ladder", &svg) {
            let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let (w, h) = (be(&png[16..20]), be(&png[20..24]));
            assert!((900..1400).contains(&w) && h > 1000, "{w}x{h}");
        }
        let svg = render(&two_streams());
        assert_eq!(svg.matches("class=\"seg rst\"").count(), 1);
        assert!(
            svg.contains("⋮ #0 4 more segments (5.8 KB) in 300 µs ⋮"),
            "{svg}"
        );
        to_png("ladder-streams", &svg);
    }
}
